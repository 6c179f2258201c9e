"""C2SP signed notes, checkpoints and witness cosignatures.

* signed-note: a UTF-8 text ending in a newline, a blank line, then lines
  ``— <key name> <base64(key hash (4 bytes) || signature)>``.  An Ed25519 key
  hash is the first four bytes of ``SHA-256(name || "\\n" || 0x01 || pubkey)``;
  verifier keys are written ``<name>+<hash hex>+<base64(0x01 || pubkey)>``.
* tlog-checkpoint: the note text is the log's origin, the tree size in
  decimal and the base64 root hash, one per line, then optional extension lines.
* tlog-cosignature (``cosignature/v1``): a witness signs
  ``"cosignature/v1\\ntime <unix seconds>\\n" || checkpoint text`` with Ed25519;
  its key hash uses the algorithm byte 0x04 and the signature field is
  ``timestamp (8 bytes, big-endian) || signature``.

Unknown signatures on a note are ignored (a note may carry cosignatures from
witnesses the reader does not know); a signature from a *known* key that does
not verify is an error, never silently skipped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from shared_core.crypto._secret import SecretBytes
from shared_core.crypto._signing import Ed25519SigningKey, Ed25519VerifyKey
from shared_core.errors import CryptoError, ValidationError

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "Checkpoint",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "VerifiedNote",
    "cosign",
    "generate_note_key",
    "open_note",
    "sign_note",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
_MAX_SIGNATURES = 100
_NAME_RE = re.compile(r"^[^\s+]+$")
_SIG_PREFIX = "\u2014 "


def _check_name(name: str) -> None:
    if not name or not _NAME_RE.match(name):
        raise ValidationError(
            f"key name {name!r} is empty or contains a space or '+'",
            field="key_name",
            hint="use a name like example.com/log",
        )


def _key_hash(name: str, alg: int, public: bytes) -> int:
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public).digest()
    value: int = struct.unpack(">I", digest[:4])[0]
    return value


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{what} is not valid base64", field=what) from None


@dataclass(frozen=True)
class NoteVerifier:
    """A public key that checks note signatures (Ed25519 or cosignature/v1)."""

    name: str
    key: Ed25519VerifyKey
    alg: int = ALG_ED25519

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.alg not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise ValidationError(f"unsupported note key algorithm {self.alg}", field="alg")

    @property
    def key_hash(self) -> int:
        return _key_hash(self.name, self.alg, self.key.public_bytes_raw())

    def encode(self) -> str:
        """The verifier key string ``name+hash+base64(alg||key)``."""
        blob = base64.b64encode(bytes([self.alg]) + self.key.public_bytes_raw()).decode()
        return f"{self.name}+{self.key_hash:08x}+{blob}"

    @classmethod
    def parse(cls, text: str) -> NoteVerifier:
        """Parse a verifier key string; the embedded hash must match."""
        parts = text.strip().split("+", 2)  # base64 may itself contain '+'
        if len(parts) != 3:
            raise ValidationError(
                "a verifier key is name+hash+key", field="verifier_key", hint="copy it whole"
            )
        name, hash_hex, blob_b64 = parts
        blob = _b64decode(blob_b64, "verifier_key")
        if len(blob) != 33 or blob[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise ValidationError("verifier key is not an Ed25519 key", field="verifier_key")
        verifier = cls(name, Ed25519VerifyKey(blob[1:]), blob[0])
        if not re.fullmatch(r"[0-9a-f]{8}", hash_hex) or int(hash_hex, 16) != verifier.key_hash:
            raise ValidationError(
                "verifier key hash does not match its name and key", field="verifier_key"
            )
        return verifier

    def verify_signature(self, text: bytes, sig: bytes) -> int | None:
        """Check ``sig`` over ``text``; returns the cosignature timestamp, if any."""
        if self.alg == ALG_COSIGNATURE_V1:
            if len(sig) != 72:
                raise CryptoError(f"cosignature from {self.name} has the wrong length")
            (timestamp,) = struct.unpack(">Q", sig[:8])
            message = b"cosignature/v1\ntime %d\n" % timestamp + text
            try:
                self.key.verify(message, sig[8:])
            except CryptoError:
                raise CryptoError(f"cosignature from {self.name} does not verify") from None
            return int(timestamp)
        try:
            self.key.verify(text, sig)
        except CryptoError:
            raise CryptoError(f"note signature from {self.name} does not verify") from None
        return None


@dataclass
class NoteSigner:
    """A private key that signs notes; ``alg`` 0x04 makes cosignature/v1 signatures."""

    name: str
    key: Ed25519SigningKey
    alg: int = ALG_ED25519

    def __post_init__(self) -> None:
        _check_name(self.name)

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.key.verify_key, self.alg)

    def encode(self) -> SecretBytes:
        """The signer key string ``PRIVATE+KEY+name+hash+base64(alg||seed)``."""
        with self.key.seed() as seed:
            blob = base64.b64encode(bytes([self.alg]) + seed.reveal()).decode()
        text = f"PRIVATE+KEY+{self.name}+{self.verifier.key_hash:08x}+{blob}"
        return SecretBytes(text.encode())

    @classmethod
    def parse(cls, text: str | bytes | SecretBytes) -> NoteSigner:
        raw = text.reveal() if isinstance(text, SecretBytes) else text
        value = raw.decode() if isinstance(raw, bytes) else raw
        parts = value.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise ValidationError("a signer key is PRIVATE+KEY+name+hash+key", field="signer_key")
        blob = _b64decode(parts[4], "signer_key")
        if len(blob) != 33 or blob[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise ValidationError("signer key is not an Ed25519 key", field="signer_key")
        signer = cls(parts[2], Ed25519SigningKey(blob[1:]), blob[0])
        if parts[3] != f"{signer.verifier.key_hash:08x}":
            raise ValidationError("signer key hash does not match", field="signer_key")
        return signer

    def signature(self, text: bytes, timestamp: int | None = None) -> bytes:
        if self.alg == ALG_COSIGNATURE_V1:
            if timestamp is None:
                raise ValidationError("a cosignature needs a timestamp", field="timestamp")
            message = b"cosignature/v1\ntime %d\n" % timestamp + text
            return struct.pack(">Q", timestamp) + self.key.sign(message)
        return self.key.sign(text)


def generate_note_key(name: str, alg: int = ALG_ED25519) -> NoteSigner:
    """A fresh signer for ``name`` (a log origin or a witness name)."""
    return NoteSigner(name, Ed25519SigningKey.generate(), alg)


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_hash: int
    sig: bytes

    def line(self) -> str:
        blob = base64.b64encode(struct.pack(">I", self.key_hash) + self.sig).decode()
        return f"{_SIG_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True)
class Note:
    """A note's text and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...] = field(default=())

    def encode(self) -> bytes:
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode("utf-8")

    @classmethod
    def parse(cls, data: bytes | str) -> Note:
        """Split a signed note into text and signatures; malformed input is a ValidationError."""
        if isinstance(data, bytes):
            try:
                value = data.decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationError("signed note is not UTF-8", field="note") from None
        else:
            value = data
        split = value.rfind("\n\n")
        if split < 0:
            raise ValidationError(
                "signed note has no blank line before its signatures", field="note"
            )
        text = value[: split + 1]
        sig_block = value[split + 2 :]
        if not sig_block.endswith("\n"):
            raise ValidationError("signed note does not end with a newline", field="note")
        signatures = []
        for line in sig_block[:-1].split("\n"):
            if not line.startswith(_SIG_PREFIX):
                raise ValidationError("signature line does not start with an em dash", field="note")
            name, _, blob_b64 = line[len(_SIG_PREFIX) :].rpartition(" ")
            _check_name(name)
            blob = _b64decode(blob_b64, "note_signature")
            if len(blob) < 5:
                raise ValidationError("signature is too short", field="note_signature")
            (key_hash,) = struct.unpack(">I", blob[:4])
            signatures.append(NoteSignature(name, key_hash, blob[4:]))
        if len(signatures) > _MAX_SIGNATURES:
            raise ValidationError("signed note has too many signatures", field="note")
        if not signatures:
            raise ValidationError("signed note has no signatures", field="note")
        return cls(text, tuple(signatures))


def sign_note(text: str, signers: Sequence[NoteSigner], *, timestamp: int | None = None) -> bytes:
    """Sign ``text`` (which must end in a newline) with every signer."""
    if not text.endswith("\n"):
        raise ValidationError("note text must end with a newline", field="note")
    if "\n\n" in text:
        raise ValidationError("note text must not contain blank lines", field="note")
    body = text.encode("utf-8")
    sigs = tuple(
        NoteSignature(s.name, s.verifier.key_hash, s.signature(body, timestamp)) for s in signers
    )
    return Note(text, sigs).encode()


@dataclass(frozen=True)
class VerifiedNote:
    text: str
    verified_by: tuple[str, ...]
    cosignature_times: dict[str, int]
    note: Note


def open_note(
    data: bytes | str, verifiers: Iterable[NoteVerifier], *, require: Sequence[str] = ()
) -> VerifiedNote:
    """Verify a signed note against known keys.

    Args:
        verifiers: known keys; signatures from unknown keys are ignored.
        require: names whose valid signature must be present (besides at least one).

    Raises:
        CryptoError: no known key signed it, a known key's signature fails, or a
            required name did not sign.
    """
    note = Note.parse(data)
    known = {(v.name, v.key_hash): v for v in verifiers}
    body = note.text.encode("utf-8")
    verified: list[str] = []
    times: dict[str, int] = {}
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_hash))
        if verifier is None:
            continue
        timestamp = verifier.verify_signature(body, sig.sig)
        verified.append(sig.name)
        if timestamp is not None:
            times[sig.name] = timestamp
    if not verified:
        raise CryptoError(
            "signed note has no signature from a known key",
            hint="add the signer's verifier key",
        )
    missing = [name for name in require if name not in verified]
    if missing:
        raise CryptoError(f"signed note lacks a signature from {', '.join(missing)}")
    return VerifiedNote(note.text, tuple(verified), times, note)


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog-checkpoint body: origin, size, root hash, extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise ValidationError("checkpoint origin must be one non-empty line", field="origin")
        if self.size < 0:
            raise ValidationError("checkpoint size must be non-negative", field="size")
        if len(self.root_hash) != 32:
            raise ValidationError("checkpoint root hash must be 32 bytes", field="root_hash")
        for ext in self.extensions:
            if not ext or "\n" in ext:
                raise ValidationError("extension lines must be non-empty lines", field="extensions")

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    def sign(self, signers: Sequence[NoteSigner]) -> bytes:
        return sign_note(self.text(), signers)

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise ValidationError("checkpoint text must end with a newline", field="checkpoint")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise ValidationError("a checkpoint has at least three lines", field="checkpoint")
        origin, size_text, root_b64, *extensions = lines
        if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size_text):
            raise ValidationError(
                f"checkpoint size {size_text!r} is not a decimal number", field="size"
            )
        return cls(origin, int(size_text), _b64decode(root_b64, "root_hash"), tuple(extensions))

    @classmethod
    def open(
        cls, data: bytes | str, verifiers: Iterable[NoteVerifier], *, origin: str | None = None
    ) -> tuple[Checkpoint, VerifiedNote]:
        """Verify a signed checkpoint; the log's own key must be among the verifiers."""
        verified = open_note(data, verifiers)
        checkpoint = cls.from_text(verified.text)
        if origin is not None and checkpoint.origin != origin:
            raise CryptoError(
                f"checkpoint is for origin {checkpoint.origin!r}, expected {origin!r}"
            )
        return checkpoint, verified


def cosign(
    checkpoint_note: bytes | str, witness: NoteSigner, log: NoteVerifier, timestamp: int
) -> bytes:
    """A witness's cosignature line added to a checkpoint signed by ``log``.

    The witness checks the log's signature first: a witness never cosigns what
    the log did not sign.
    """
    if witness.alg != ALG_COSIGNATURE_V1:
        raise ValidationError("witness keys use cosignature/v1 (alg 0x04)", field="alg")
    verified = open_note(checkpoint_note, [log], require=[log.name])
    body = verified.text.encode("utf-8")
    sig = NoteSignature(witness.name, witness.verifier.key_hash, witness.signature(body, timestamp))
    return Note(verified.text, (*verified.note.signatures, sig)).encode()

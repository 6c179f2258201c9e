"""C2SP signed notes, checkpoints and witness cosignatures."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_core.crypto import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    MerkleTree,
    Note,
    NoteSigner,
    NoteVerifier,
    cosign,
    generate_note_key,
    open_note,
    sign_note,
)
from shared_core.errors import CryptoError, ValidationError


class TestSignedNote:
    def test_verifier_key_string_round_trips(self) -> None:
        """A verifier key string parses back to the same name, hash and key."""
        signer = generate_note_key("example.com/log")
        text = signer.verifier.encode()
        name, hash_hex, blob = text.split("+", 2)
        assert name == "example.com/log"
        assert int(hash_hex, 16) == signer.verifier.key_hash
        assert base64.b64decode(blob)[0] == 0x01
        assert NoteVerifier.parse(text) == signer.verifier

    def test_signer_key_string_round_trips(self) -> None:
        """A signer key string parses back to a signer with the same verifier."""
        signer = generate_note_key("witness.example", ALG_COSIGNATURE_V1)
        encoded = signer.encode()
        assert encoded.reveal().startswith(b"PRIVATE+KEY+witness.example+")
        assert NoteSigner.parse(encoded).verifier == signer.verifier

    def test_tampered_hash_in_verifier_string_is_rejected(self) -> None:
        """A verifier string whose hash does not match its key is refused."""
        name, hash_hex, blob = generate_note_key("a").verifier.encode().split("+", 2)
        bad = f"{name}+{int(hash_hex, 16) ^ 1:08x}+{blob}"
        with pytest.raises(ValidationError):
            NoteVerifier.parse(bad)

    def test_sign_and_open(self) -> None:
        """A note signed by a known key opens; unknown signatures are ignored."""
        log, other = generate_note_key("log"), generate_note_key("other")
        data = sign_note("hello\nworld\n", [log, other])
        assert data.decode().count("\u2014 ") == 2
        opened = open_note(data, [log.verifier])
        assert opened.text == "hello\nworld\n"
        assert opened.verified_by == ("log",)

    def test_modified_text_fails(self) -> None:
        """Changing one character of the text breaks the known key's signature."""
        log = generate_note_key("log")
        data = sign_note("hello\n", [log]).replace(b"hello", b"hellO")
        with pytest.raises(CryptoError):
            open_note(data, [log.verifier])

    def test_no_known_signer_fails(self) -> None:
        """A note signed only by strangers does not open."""
        data = sign_note("x\n", [generate_note_key("stranger")])
        with pytest.raises(CryptoError):
            open_note(data, [generate_note_key("log").verifier])

    @given(st.binary(max_size=300))
    @settings(max_examples=300)
    def test_arbitrary_bytes_never_crash_the_parser(self, data: bytes) -> None:
        """Any bytes either parse as a note or raise ValidationError."""
        with contextlib.suppress(ValidationError):
            Note.parse(data)

    @given(st.text(max_size=120))
    @settings(max_examples=300)
    def test_arbitrary_text_never_crashes_open(self, text: str) -> None:
        """Opening arbitrary text raises only our errors."""
        with contextlib.suppress(ValidationError, CryptoError):
            open_note(text, [generate_note_key("log").verifier])


class TestCheckpoint:
    def test_checkpoint_text_format(self) -> None:
        """The body is origin, decimal size and base64 root, one per line."""
        tree = MerkleTree([b"a", b"b", b"c"])
        checkpoint = Checkpoint("example.com/log", 3, tree.root())
        lines = checkpoint.text().splitlines()
        assert lines == ["example.com/log", "3", base64.b64encode(tree.root()).decode()]

    def test_signed_checkpoint_opens_and_checks_origin(self) -> None:
        """A signed checkpoint round-trips; a wrong expected origin is refused."""
        log = generate_note_key("example.com/log")
        checkpoint = Checkpoint("example.com/log", 7, b"\x11" * 32, ("ext line",))
        data = checkpoint.sign([log])
        opened, _ = Checkpoint.open(data, [log.verifier], origin="example.com/log")
        assert opened == checkpoint
        with pytest.raises(CryptoError):
            Checkpoint.open(data, [log.verifier], origin="other/log")

    def test_witness_cosignature(self) -> None:
        """A witness cosigns a log-signed checkpoint; the timestamp is recovered."""
        log = generate_note_key("example.com/log")
        witness = generate_note_key("witness.example", ALG_COSIGNATURE_V1)
        data = Checkpoint("example.com/log", 1, b"\x22" * 32).sign([log])
        cosigned = cosign(data, witness, log.verifier, timestamp=1_700_000_000)
        opened = open_note(cosigned, [log.verifier, witness.verifier], require=["witness.example"])
        assert opened.cosignature_times == {"witness.example": 1_700_000_000}
        assert set(opened.verified_by) == {"example.com/log", "witness.example"}

    def test_witness_refuses_unsigned_checkpoint(self) -> None:
        """A witness never cosigns what the log did not sign."""
        log = generate_note_key("example.com/log")
        impostor = generate_note_key("example.com/log")
        witness = generate_note_key("w", ALG_COSIGNATURE_V1)
        data = Checkpoint("example.com/log", 1, b"\x22" * 32).sign([impostor])
        with pytest.raises(CryptoError):
            cosign(data, witness, log.verifier, timestamp=1)

    def test_bad_checkpoint_bodies(self) -> None:
        """Malformed sizes, roots and line counts are validation errors."""
        for text in ("a\n", "a\n-1\nAAAA\n", "a\n01\n" + "A" * 44 + "\n", "a\n1\n!!\n"):
            with pytest.raises(ValidationError):
                Checkpoint.from_text(text)

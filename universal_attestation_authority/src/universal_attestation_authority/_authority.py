"""The authority: issues attestations, keeps their keys, logs every one.

A data directory holds everything::

    <data_dir>/uaa.sqlite3        entries, attestations, key records, checkpoints
    <data_dir>/log.key            the log's note signer (C2SP signed-note key), 0600
    <data_dir>/keys/<keyid>.pem   attestation signing keys (PKCS#8), 0600

Issuing signs the canonical Statement into a DSSE envelope with every
current key (or the ones asked for), and appends a :class:`LogEntry` in the
same SQLite transaction as the attestation row: an attestation is issued if
and only if it is logged.  Many statements can be issued in one call, which
shares one transaction (the batching that makes the library path fast).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final, NamedTuple

from shared_core.crypto import (
    ALG_ED25519,
    Algorithm,
    Envelope,
    NoteSigner,
    NoteVerifier,
    SecretBytes,
    SigningKey,
    generate_note_key,
    generate_signing_key,
    read_private_key,
    write_private_key,
)
from shared_core.errors import CoreError
from universal_attestation_authority._bundle import Bundle, LogEvidence
from universal_attestation_authority._clock import format_time, utcnow
from universal_attestation_authority._entry import EntryWriter
from universal_attestation_authority._keyring import KeyRecord, Keyring, KeyStatus
from universal_attestation_authority._log import Cosigner, TransparencyLog
from universal_attestation_authority._signer import PAE_PREFIX, PayloadSigner
from universal_attestation_authority._statement import PAYLOAD_TYPE, Statement
from universal_attestation_authority._store import (
    AttestationRow,
    CheckpointRow,
    EntryRows,
    SqliteStore,
    subject_key,
)
from universal_attestation_authority.errors import (
    AttestationError,
    AttestationKeyError,
    AttestationLogError,
    AttestationStoreError,
)

__all__ = ["Authority", "IssuedAttestation"]

DB_NAME: Final = "uaa.sqlite3"
LOG_KEY_NAME: Final = "log.key"


class IssuedAttestation(NamedTuple):
    """An issued (and logged) attestation.

    The envelope is kept as the JSON text that was stored and is parsed only
    when :attr:`envelope` is asked for: issuing many attestations need not
    build objects nobody reads.  A named tuple (immutable, compared by value)
    rather than a frozen dataclass: one is made per issued attestation, and
    a frozen dataclass's ``__init__`` cost twice as much.
    """

    id: str
    log_index: int
    envelope_json: str
    integrated_time: str

    @property
    def envelope(self) -> Envelope:
        """The DSSE envelope (parsed on each access; keep the result if you need it often)."""
        return Envelope.from_json(self.envelope_json)


@dataclass(frozen=True)
class _SignedBatch:
    """A batch signed and encoded, not yet committed (see ``Authority._sign_batch``).

    Kept as parallel lists (position ``p`` is the ``p``-th unique statement)
    so that the commit can build its rows with ``zip`` rather than a Python
    loop per attestation.
    """

    when: str
    ids: list[str]
    """The attestation id of every statement, in input order (duplicates kept)."""
    fresh: dict[str, int]
    """Unique id -> its position, in first-seen order."""
    envelopes: list[str] = field(default_factory=list)
    entries: list[bytes] = field(default_factory=list)
    leaves: list[bytes] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)
    """``_store.attestation_key`` of each unique id."""
    subject_keys: list[tuple[int, int]] = field(default_factory=list)
    """``(_store.subject_key(algorithm, digest), position)`` of every subject digest."""


class Authority:
    """An attestation authority rooted at ``data_dir`` (see the module docstring).

    Raises:
        AttestationStoreError: ``data_dir`` was never initialised (``uaa init``).
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        cosigner: Cosigner | None = None,
        witness_quorum: int = 2,
    ) -> None:
        self.data_dir = Path(data_dir)
        log_key = self.data_dir / LOG_KEY_NAME
        if not log_key.is_file():
            raise AttestationStoreError(
                f"{str(self.data_dir)!r} is not an initialised authority (no {LOG_KEY_NAME})",
                hint="run 'uaa init --origin NAME' first, or pass --data-dir",
                path=str(self.data_dir),
            )
        self.store = SqliteStore(self.data_dir / DB_NAME)
        self.log_signer = _read_note_signer(log_key)
        self.log = TransparencyLog(
            self.store, self.log_signer, cosigner=cosigner, witness_quorum=witness_quorum
        )
        self._keys_lock = threading.Lock()
        self._signing_keys: dict[str, SigningKey] = {}

    @classmethod
    def init(
        cls,
        data_dir: str | Path,
        origin: str,
        *,
        algorithm: Algorithm | str = Algorithm.ED25519,
        key_name: str = "attestation-1",
    ) -> Authority:
        """Create a new authority: a log key for ``origin`` and a first signing key.

        Raises:
            AttestationStoreError: ``data_dir`` already holds an authority.
        """
        directory = Path(data_dir)
        log_key = directory / LOG_KEY_NAME
        if log_key.exists():
            raise AttestationStoreError(
                f"{str(directory)!r} already holds an authority",
                hint="use another --data-dir, or keep using this one",
                path=str(directory),
            )
        try:
            signer = generate_note_key(origin, ALG_ED25519)
        except CoreError as exc:
            raise AttestationError(
                f"log origin {origin!r} is not usable: {exc.message}",
                hint="use a name like attest.example.com/log (no spaces or '+')",
            ) from None
        directory.mkdir(parents=True, exist_ok=True)
        _write_secret(log_key, signer.encode())
        authority = cls(directory)
        authority.store.set_meta("origin", origin)
        authority.generate_key(key_name, algorithm)
        return authority

    def close(self) -> None:
        for key in self._signing_keys.values():
            key.close()
        self._signing_keys.clear()
        self.store.close()

    def __enter__(self) -> Authority:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- keys -------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return self.log_signer.name

    @property
    def log_verifier(self) -> NoteVerifier:
        return self.log_signer.verifier

    @property
    def keyring(self) -> Keyring:
        ring = Keyring()
        for record, _ in self.store.key_rows():
            ring.add(KeyRecord.from_dict(record, where=f"stored key {record.get('name')}"))
        return ring

    def _private_key_files(self) -> dict[str, str | None]:
        return {record["keyid"]: path for record, path in self.store.key_rows()}

    def generate_key(
        self,
        name: str,
        algorithm: Algorithm | str = Algorithm.ED25519,
        *,
        valid_from: datetime | None = None,
    ) -> KeyRecord:
        """Create a signing key, store it 0600 and register it as valid from now."""
        try:
            key = generate_signing_key(algorithm)
        except ValueError:
            raise AttestationKeyError(
                f"unknown key algorithm {algorithm!r}", hint="use ed25519 or ecdsa-p256"
            ) from None
        return self._register(key, name, valid_from=valid_from)

    def import_key(self, path: str | Path, name: str) -> KeyRecord:
        """Register an existing PEM private key (copied into the data directory)."""
        try:
            key = read_private_key(path)
        except CoreError as exc:
            raise AttestationKeyError(exc.message, hint=exc.hint, path=str(path)) from None
        return self._register(key, name)

    def _register(
        self, key: SigningKey, name: str, *, valid_from: datetime | None = None
    ) -> KeyRecord:
        record = KeyRecord.from_verify_key(key.verify_key, name, valid_from=valid_from)
        self.keyring.add(record)  # refuses duplicates before anything is written
        path = self.data_dir / "keys" / f"{record.keyid}.pem"
        write_private_key(path, key, overwrite=True)
        self.store.put_key(record.to_dict(), str(path))
        with self._keys_lock:
            self._signing_keys[record.keyid] = key
        return record

    def export_private_key(self, ref: str, path: str | Path) -> KeyRecord:
        """Write key ``ref``'s private key as PKCS#8 PEM (0600) to ``path`` (never overwrites).

        Raises:
            AttestationKeyError: unknown key or no private key stored for it.
        """
        record = self.keyring.resolve(ref)
        try:
            write_private_key(path, self._signing_key(record.keyid))
        except CoreError as exc:
            raise AttestationKeyError(exc.message, hint=exc.hint, path=str(path)) from None
        return record

    def rotate(
        self,
        old: str,
        new_name: str,
        *,
        algorithm: Algorithm | str = Algorithm.ED25519,
        at: datetime | None = None,
    ) -> tuple[KeyRecord, KeyRecord]:
        """Retire key ``old`` and make a new key current from ``at`` (default now)."""
        instant = at or utcnow()
        ring = self.keyring
        previous = ring.resolve(old)
        key = generate_signing_key(algorithm)
        candidate = KeyRecord.from_verify_key(key.verify_key, new_name, valid_from=instant)
        retired, added = ring.rotate(previous.keyid, candidate, at=instant)
        path = self.data_dir / "keys" / f"{added.keyid}.pem"
        write_private_key(path, key, overwrite=True)
        self.store.put_key(added.to_dict(), str(path))
        self.store.put_key(retired.to_dict(), None)
        with self._keys_lock:
            self._signing_keys[added.keyid] = key
        return retired, added

    def revoke(self, ref: str, *, at: datetime | None = None, reason: str = "") -> KeyRecord:
        """Distrust a key from ``at`` (default now) on; published with the keyring."""
        record = self.keyring.revoke(ref, at=at, reason=reason)
        self.store.put_key(record.to_dict(), None)
        return record

    def _signing_key(self, keyid: str) -> SigningKey:
        with self._keys_lock:
            key = self._signing_keys.get(keyid)
            if key is not None:
                return key
            path = self._private_key_files().get(keyid)
            if path is None:
                raise AttestationKeyError(
                    f"no private key is stored for key {keyid[:16]}...",
                    hint="import it with 'uaa keys import'",
                )
            try:
                key = read_private_key(path)
            except CoreError as exc:
                raise AttestationKeyError(exc.message, hint=exc.hint, path=path) from None
            self._signing_keys[keyid] = key
            return key

    def signing_keys(
        self, refs: Sequence[str] = (), *, at: datetime | None = None
    ) -> list[tuple[KeyRecord, SigningKey]]:
        """The keys to sign with: ``refs`` (names/keyids), or every key current at ``at``.

        Raises:
            AttestationKeyError: a named key is not valid now, or none is.
        """
        when = at or utcnow()
        ring = self.keyring
        records = [ring.resolve(r) for r in refs] if refs else ring.current(when)
        for record in records:
            status = record.status_at(when)
            if status is not KeyStatus.VALID:
                raise AttestationKeyError(
                    f"cannot sign with {record.describe_status(when)}",
                    hint="sign with a current key ('uaa keys list')",
                )
        if not records:
            raise AttestationKeyError(
                "no signing key is current", hint="generate one with 'uaa keys generate NAME'"
            )
        return [(r, self._signing_key(r.keyid)) for r in records]

    # -- issuing ----------------------------------------------------------------

    def issue(self, statement: Statement, *, keys: Sequence[str] = ()) -> IssuedAttestation:
        """Sign ``statement`` and log it; returns once it is durable."""
        return self.issue_many([statement], keys=keys)[0]

    def issue_many(
        self, statements: Iterable[Statement], *, keys: Sequence[str] = ()
    ) -> list[IssuedAttestation]:
        """Sign and log many statements in one transaction (all or none).

        Returns once that transaction is committed (durable, ``synchronous=FULL``);
        a checkpoint covering the entries is published separately
        (:meth:`publish`).  Issuing is idempotent: a statement already issued
        (same attestation id) returns the stored attestation instead of being
        logged twice.
        """
        return self._commit_batch(self._sign_batch(list(statements), keys))

    def _sign_batch(self, statements: Sequence[Statement], keys: Sequence[str]) -> _SignedBatch:
        # The hot path the issuing benchmark measures: each statement is
        # serialised once, its PAE built once (hashed once for the id, signed
        # once per key); no database access beyond reading the keyring.
        now = utcnow()
        when = format_time(now)
        signer = PayloadSigner([(r.keyid, k) for r, k in self.signing_keys(keys, at=now)])
        writer = EntryWriter(when, PAYLOAD_TYPE, signer.keyids)
        batch = _SignedBatch(when, [], {})
        ids, fresh = batch.ids, batch.fresh
        add_envelope, add_entry = batch.envelopes.append, batch.entries.append
        add_leaf, add_key = batch.leaves.append, batch.keys.append
        add_subject = batch.subject_keys.append
        prefix, sign, encode = PAE_PREFIX, signer.sign_json, writer.encode
        sha256 = hashlib.sha256
        for statement in statements:
            payload = statement.canonical_bytes()
            message = b"%s%d %s" % (prefix, len(payload), payload)  # PayloadSigner.pae
            ident = sha256(message).hexdigest()  # PayloadSigner.attestation_id
            ids.append(ident)
            if ident in fresh:
                continue
            position = fresh[ident] = len(fresh)
            envelope_json, signatures = sign(payload, message)
            data = encode(ident, statement.predicate_type, signatures)
            add_envelope(envelope_json)
            add_entry(data)
            add_leaf(sha256(b"\x00" + data).digest())  # hash_leaf(data)
            add_key(int(ident[:15], 16))  # attestation_key(ident)
            # Read while the statement is still in the CPU cache from
            # serialising it: the commit would miss it again.
            for subject in statement.subject:
                for alg, digest in subject.digest.items():
                    add_subject((subject_key(alg, digest), position))
        return batch

    def _commit_batch(self, batch: _SignedBatch) -> list[IssuedAttestation]:
        # One transaction: look for attestations already issued (inside the
        # transaction, so two issuers of one statement cannot both log it),
        # then insert the rest with one executemany per table.
        fresh, envelopes, when = batch.fresh, batch.envelopes, batch.when
        issued: dict[str, IssuedAttestation] = {}
        indexes: list[int] = []  # log index of each position

        def build(start: int) -> EntryRows:
            issued.clear()
            for row in self.store.attestations_by_key(batch.keys, fresh):
                issued[row.id] = _issued(row)
            count = len(fresh)
            indexes[:] = range(start, start + count)
            if not issued:  # the common case: every statement is new
                return EntryRows(
                    list(zip(indexes, batch.leaves, batch.entries, envelopes, strict=True)),
                    list(zip(batch.keys, indexes, strict=True)),
                    [(key, start + position) for key, position in batch.subject_keys],
                )
            new = [p for ident, p in fresh.items() if ident not in issued]
            for offset, position in enumerate(new):
                indexes[position] = start + offset
            kept = set(new)
            return EntryRows(
                [(indexes[p], batch.leaves[p], batch.entries[p], envelopes[p]) for p in new],
                [(batch.keys[p], indexes[p]) for p in new],
                [(key, indexes[p]) for key, p in batch.subject_keys if p in kept],
            )

        self.log.commit_rows(build)
        # tuple.__new__ makes the named tuples without a Python-level
        # __new__ call per attestation (a third of the cost).
        made = map(
            tuple.__new__,
            itertools.repeat(IssuedAttestation),
            zip(fresh, indexes, envelopes, itertools.repeat(when)),
        )
        if not issued and len(batch.ids) == len(fresh):  # all new, no repeats: input order
            return list(made)
        for item in made:
            issued.setdefault(item[0], item)
        return [issued[i] for i in batch.ids]

    def publish(self) -> CheckpointRow:
        """Publish a checkpoint covering every issued attestation (see TransparencyLog)."""
        return self.log.publish()

    def bundle(self, attestation: str, *, size: int | None = None) -> Bundle:
        """The attestation with its log evidence against the latest (or given) checkpoint.

        Raises:
            AttestationLogError: unknown attestation, or not yet covered by a checkpoint.
        """
        row = self.store.attestation(attestation)
        if row is None:
            raise AttestationLogError(
                f"no attestation with id {attestation[:64]!r}",
                hint="check the id ('uaa attest' printed it)",
            )
        envelope = Envelope.from_json(row.envelope)
        checkpoint = (
            self.store.checkpoint(size) if size is not None else self.store.latest_checkpoint()
        )
        if checkpoint is None or checkpoint.size <= row.log_index:
            return Bundle(envelope)
        tree_size, proof = self.log.inclusion_proof(row.log_index, checkpoint.size)
        entry = self.store.entry(row.log_index)
        if entry is None:
            raise AttestationStoreError(f"log entry {row.log_index} is missing from the store")
        return Bundle(
            envelope, LogEvidence(row.log_index, entry, tree_size, tuple(proof), checkpoint.note)
        )


def _issued(row: AttestationRow) -> IssuedAttestation:
    return IssuedAttestation(row.id, row.log_index, row.envelope, row.integrated_time)


def _write_secret(path: Path, secret: SecretBytes) -> None:
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle, secret:
        handle.write(secret.reveal() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def _read_note_signer(path: Path) -> NoteSigner:
    try:
        with SecretBytes(path.read_bytes().strip()) as text:
            return NoteSigner.parse(text)
    except OSError as exc:
        raise AttestationStoreError(
            f"cannot read the log key {str(path)!r}: {exc.strerror}", path=str(path)
        ) from None
    except CoreError as exc:
        raise AttestationKeyError(
            f"the log key {str(path)!r} is not a signed-note key: {exc.message}", path=str(path)
        ) from None

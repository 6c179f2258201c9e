"""Witnesses: cosign a log's checkpoints only if they are consistent (C2SP tlog-witness).

The witness side (:class:`Witness`) implements the ``add-checkpoint`` request
of C2SP tlog-witness.  The body is::

    old <size the log believes the witness has>
    <base64 consistency proof hash>
    ...
    <blank line>
    <signed checkpoint note>

and the answers are ``200`` with the cosignature line(s) (``cosignature/v1``),
``409 Conflict`` with ``text/x.tlog.size`` when ``old`` is not the size the
witness has (the log retries with a proof from that size), ``403`` when the
log's signature is wrong, ``404`` for an unknown log, ``422`` when the
consistency proof fails, ``400`` for malformed requests.

A *split view* (a checkpoint of the size the witness has but with another
root, or a larger one that does not extend it) is recorded with both notes as
evidence and never cosigned.

The log side (:class:`WitnessPool`) posts each new checkpoint to every
configured witness, follows 409s once, verifies every returned cosignature
with the witness's key, and hands back the good lines.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

from shared_core.crypto import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    Note,
    NoteSigner,
    NoteVerifier,
    open_note,
    verify_consistency,
)
from shared_core.errors import CoreError
from shared_core.logging import get_logger
from universal_attestation_authority._clock import format_time, utcnow
from universal_attestation_authority._store import SqliteStore
from universal_attestation_authority.errors import (
    AttestationInputError,
    AttestationSplitViewError,
    AttestationStoreError,
    AttestationWitnessError,
)

__all__ = [
    "SIZE_CONTENT_TYPE",
    "SplitViewEvidence",
    "Witness",
    "WitnessEndpoint",
    "WitnessPool",
    "WitnessResponse",
    "encode_add_checkpoint",
    "parse_add_checkpoint",
]

SIZE_CONTENT_TYPE: Final = "text/x.tlog.size"
MAX_REQUEST_BYTES: Final = 64 * 1024
_log = get_logger("universal_attestation_authority.witness")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    note BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS split_views (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    seen_note BLOB NOT NULL,
    offered_note BLOB NOT NULL
);
"""


def encode_add_checkpoint(old: int, proof: Sequence[bytes], note: bytes) -> bytes:
    """The body of an ``add-checkpoint`` request."""
    lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n").encode() + note


def parse_add_checkpoint(body: bytes) -> tuple[int, list[bytes], bytes]:
    """``(old, proof, note)`` from an ``add-checkpoint`` body.

    Raises:
        AttestationInputError: malformed.
    """
    if len(body) > MAX_REQUEST_BYTES:
        raise AttestationInputError("add-checkpoint body is larger than 64 KiB")
    head, sep, note = body.partition(b"\n\n")
    if not sep:
        raise AttestationInputError("add-checkpoint body has no blank line before the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise AttestationInputError("add-checkpoint header is not ASCII") from None
    first = lines[0]
    if (
        not first.startswith("old ")
        or not first[4:].isdigit()
        or (first[4:] != "0" and first[4] == "0")
    ):
        raise AttestationInputError("add-checkpoint must start with 'old <size>'")
    if len(lines) - 1 > 63:
        raise AttestationInputError("consistency proof has more than 63 hashes")
    proof: list[bytes] = []
    for line in lines[1:]:
        try:
            value = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            raise AttestationInputError("consistency proof line is not base64") from None
        if len(value) != 32:
            raise AttestationInputError("consistency proof hash is not 32 bytes")
        proof.append(value)
    return int(first[4:]), proof, note


@dataclass(frozen=True)
class WitnessResponse:
    """An HTTP answer: status, content type and body."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class SplitViewEvidence:
    """Two checkpoints of one origin that cannot both be honest."""

    origin: str
    detected_at: str
    kind: str
    detail: str
    seen_note: str
    offered_note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "detected_at": self.detected_at,
            "kind": self.kind,
            "detail": self.detail,
            "seen_checkpoint": self.seen_note,
            "offered_checkpoint": self.offered_note,
        }


class Witness:
    """A witness: remembers each log's latest checkpoint and cosigns consistent growth.

    Args:
        state: SQLite file with the witness's view of each log.
        signer: the witness key (``cosignature/v1``, alg 0x04).
        logs: verifier keys of the logs it witnesses; their names are the origins.
        clock: Unix seconds for the cosignature timestamp (tests pin it).
    """

    def __init__(
        self,
        state: str | Path,
        signer: NoteSigner,
        logs: Sequence[NoteVerifier],
        *,
        clock: Callable[[], int] | None = None,
    ) -> None:
        if signer.alg != ALG_COSIGNATURE_V1:
            raise AttestationInputError(
                "a witness key must be a cosignature/v1 key",
                hint="create it with 'uaa witness init'",
            )
        self.signer = signer
        self.logs = {v.name: v for v in logs}
        self._clock = clock or (lambda: int(time.time()))
        self._lock = threading.Lock()
        self.path = Path(state)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise AttestationStoreError(
                f"cannot open witness state {str(self.path)!r}: {exc}", path=str(self.path)
            ) from None

    def close(self) -> None:
        self._db.close()

    def latest(self, origin: str) -> tuple[int, bytes, bytes] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT size, root_hash, note FROM latest WHERE origin = ?", (origin,)
            ).fetchone()
        return (int(row[0]), bytes(row[1]), bytes(row[2])) if row else None

    def split_views(self) -> list[SplitViewEvidence]:
        with self._lock:
            rows = self._db.execute(
                "SELECT origin, detected_at, kind, detail, seen_note, offered_note FROM split_views ORDER BY id"
            ).fetchall()
        return [
            SplitViewEvidence(
                r[0],
                r[1],
                r[2],
                r[3],
                bytes(r[4]).decode(errors="replace"),
                bytes(r[5]).decode(errors="replace"),
            )
            for r in rows
        ]

    def _record_split(
        self, origin: str, kind: str, detail: str, seen: bytes, offered: bytes
    ) -> None:
        self._db.execute(
            "INSERT INTO split_views(origin, detected_at, kind, detail, seen_note, offered_note) VALUES (?, ?, ?, ?, ?, ?)",
            (origin, format_time(utcnow()), kind, detail, seen, offered),
        )
        _log.warning("split view detected", origin=origin, kind=kind, detail=detail)

    def add_checkpoint(self, body: bytes) -> WitnessResponse:
        """Handle one ``add-checkpoint`` request (never raises for bad input)."""
        try:
            old, proof, note = parse_add_checkpoint(body)
            parsed = Note.parse(note)
            checkpoint = Checkpoint.from_text(parsed.text)
        except CoreError as exc:
            return WitnessResponse(400, f"{exc.message}\n".encode())
        log = self.logs.get(checkpoint.origin)
        if log is None:
            return WitnessResponse(404, f"unknown log origin {checkpoint.origin!r}\n".encode())
        try:
            open_note(note, [log], require=[log.name])
        except CoreError as exc:
            return WitnessResponse(403, f"checkpoint signature: {exc.message}\n".encode())
        if old > checkpoint.size:
            return WitnessResponse(400, b"old size is larger than the checkpoint size\n")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                response = self._advance(checkpoint, old, proof, note)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return response

    def _advance(
        self, checkpoint: Checkpoint, old: int, proof: list[bytes], note: bytes
    ) -> WitnessResponse:
        row = self._db.execute(
            "SELECT size, root_hash, note FROM latest WHERE origin = ?", (checkpoint.origin,)
        ).fetchone()
        size, root, seen = (int(row[0]), bytes(row[1]), bytes(row[2])) if row else (0, b"", b"")
        if row is not None and checkpoint.size == size and checkpoint.root_hash != root:
            self._record_split(
                checkpoint.origin,
                "same-size-different-root",
                f"two checkpoints of size {size} with different roots",
                seen,
                note,
            )
            return WitnessResponse(409, f"{size}\n".encode(), SIZE_CONTENT_TYPE)
        if old != size:
            return WitnessResponse(409, f"{size}\n".encode(), SIZE_CONTENT_TYPE)
        if row is not None and checkpoint.size < size:
            return WitnessResponse(409, f"{size}\n".encode(), SIZE_CONTENT_TYPE)
        if row is not None and checkpoint.size > size:
            try:
                verify_consistency(size, checkpoint.size, proof, root, checkpoint.root_hash)
            except CoreError as exc:
                self._record_split(
                    checkpoint.origin,
                    "inconsistent-extension",
                    f"checkpoint of size {checkpoint.size} does not extend size {size}: {exc.message}",
                    seen,
                    note,
                )
                return WitnessResponse(422, f"consistency proof: {exc.message}\n".encode())
        elif row is None and proof:
            return WitnessResponse(422, b"a first checkpoint takes an empty proof\n")
        self._db.execute(
            "INSERT OR REPLACE INTO latest(origin, size, root_hash, note) VALUES (?, ?, ?, ?)",
            (checkpoint.origin, checkpoint.size, checkpoint.root_hash, note),
        )
        text = checkpoint.text().encode()
        signature = self.signer.signature(text, self._clock())
        encoded = base64.b64encode(
            self.signer.verifier.key_hash.to_bytes(4, "big") + signature
        ).decode()
        return WitnessResponse(200, f"\u2014 {self.signer.name} {encoded}\n".encode())


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness the log asks: its base URL and cosignature verifier key."""

    url: str
    verifier: NoteVerifier

    @classmethod
    def parse(cls, url: str, key: str) -> WitnessEndpoint:
        try:
            verifier = NoteVerifier.parse(key)
        except CoreError as exc:
            raise AttestationInputError(
                f"witness key for {url!r}: {exc.message}", hint="copy it from 'uaa witness init'"
            ) from None
        if verifier.alg != ALG_COSIGNATURE_V1:
            raise AttestationInputError(f"witness key for {url!r} is not a cosignature/v1 key")
        return cls(url.rstrip("/"), verifier)


class WitnessPool:
    """The log side: asks every witness to cosign, returns the verified lines.

    Args:
        endpoints: the witnesses.
        store: remembers the size each witness last cosigned (the ``old`` to send).
        timeout: seconds per request.
        transport: an httpx transport (tests may pass one; default real HTTP).
    """

    def __init__(
        self,
        endpoints: Sequence[WitnessEndpoint],
        store: SqliteStore,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.endpoints = list(endpoints)
        self.store = store
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __call__(
        self, note: bytes, size: int, proof_for: Callable[[int], list[bytes]]
    ) -> list[str]:
        """Ask every witness at once; return the verified cosignature lines, in endpoint order."""

        def ask(endpoint: WitnessEndpoint) -> str | None:
            try:
                return self._ask(endpoint, note, size, proof_for)
            except AttestationWitnessError as exc:
                _log.warning("witness did not cosign", witness=endpoint.url, reason=exc.message)
                return None

        with ThreadPoolExecutor(max_workers=max(1, len(self.endpoints))) as pool:
            answers = list(pool.map(ask, self.endpoints))
        return [line for line in answers if line is not None]

    def _ask(
        self,
        endpoint: WitnessEndpoint,
        note: bytes,
        size: int,
        proof_for: Callable[[int], list[bytes]],
    ) -> str:
        name = endpoint.verifier.name
        old = min(self.store.witness_size(name), size)
        for _attempt in range(2):
            body = encode_add_checkpoint(old, proof_for(old) if old else [], note)
            try:
                response = self._client.post(
                    f"{endpoint.url}/add-checkpoint",
                    content=body,
                    headers={"Content-Type": "text/plain"},
                )
            except httpx.HTTPError as exc:
                raise AttestationWitnessError(
                    f"witness {endpoint.url} unreachable: {exc}"
                ) from None
            if response.status_code == 409 and response.headers.get("content-type", "").startswith(
                SIZE_CONTENT_TYPE
            ):
                text = response.text.strip()
                if not text.isdigit() or int(text) > size:
                    raise AttestationSplitViewError(
                        f"witness {name} has seen size {text[:20]}, larger than ours ({size})",
                        hint="the witness saw a different (forked?) view of this log",
                    )
                if int(text) == old:
                    raise AttestationSplitViewError(
                        f"witness {name} refused a checkpoint of size {size}: it holds another root",
                        hint="the witness saw a different (forked?) view of this log",
                    )
                old = int(text)
                continue
            if response.status_code != 200:
                raise AttestationWitnessError(
                    f"witness {name} answered {response.status_code}: {response.text.strip()[:200]}"
                )
            line = response.text
            if not line.endswith("\n") or line.count("\n") != 1:
                raise AttestationWitnessError(f"witness {name} returned a malformed cosignature")
            try:
                verified = open_note(note + line.encode(), [endpoint.verifier], require=[name])
            except CoreError as exc:
                raise AttestationWitnessError(
                    f"witness {name} cosignature: {exc.message}"
                ) from None
            if name not in verified.cosignature_times:
                raise AttestationWitnessError(
                    f"witness {name} did not return a cosignature/v1 line"
                )
            self.store.set_witness_size(name, size)
            return line
        raise AttestationWitnessError(f"witness {name} kept answering 409")

"""What one log entry records about an issued attestation.

An entry is small, canonical JSON (it must fit tlog-tiles' 64 KiB entry
limit whatever the statement's size)::

    {"id": <hex SHA-256 of the envelope's PAE>,
     "integratedTime": "2026-01-31T12:00:00.123456Z",
     "payloadType": "application/vnd.in-toto+json",
     "predicateType": "https://slsa.dev/provenance/v1",
     "signatures": [{"keyid": "...", "sig": <hex SHA-256 of the signature bytes>}],
     "v": 1}

The ``integratedTime`` is the log's clock when it accepted the entry: because
the entry is under the Merkle root, which the log signs and witnesses
cosign, it is the trusted *signing time* against which key validity periods
and revocations are judged.  The signature digests pin exactly which
signatures were logged, so a signature added to the envelope later does not
count.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared_core.crypto import Envelope
from universal_attestation_authority._clock import format_time, parse_time
from universal_attestation_authority._statement import loads_json_strict
from universal_attestation_authority.errors import AttestationEnvelopeError, AttestationInputError

__all__ = ["EntryWriter", "LogEntry", "attestation_id", "encode_entry"]


def attestation_id(envelope: Envelope) -> str:
    """The attestation's identity: hex SHA-256 of its DSSE PAE (payload + type).

    Independent of signature encoding and of which keys signed, so revoking
    an attestation by id revokes it however it is re-wrapped.
    """
    return hashlib.sha256(envelope.pae()).hexdigest()


_quote: Callable[[str], str] = json.encoder.encode_basestring
"""A JSON string literal, exactly as ``json.dumps(..., ensure_ascii=False)`` writes it."""


def signature_digest(sig: bytes) -> str:
    return hashlib.sha256(sig).hexdigest()


def encode_entry(
    ident: str,
    integrated_time: str,
    payload_type: str,
    predicate_type: str,
    signatures: Sequence[tuple[str, str]],
) -> bytes:
    """The canonical bytes of an entry; ``signatures`` are ``(keyid, hex SHA-256 of sig)``.

    Byte-identical to ``json.dumps(entry.to_dict(), sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)`` (a test holds it to that),
    written field by field: it runs once per issued attestation, and the
    generic encoder cost as much as the entry's hash.
    """
    q = _quote
    sigs = ",".join(f'{{"keyid":{q(k)},"sig":{q(s)}}}' for k, s in signatures)
    return (
        f'{{"id":{q(ident)},"integratedTime":{q(integrated_time)},'
        f'"payloadType":{q(payload_type)},"predicateType":{q(predicate_type)},'
        f'"signatures":[{sigs}],"v":1}}'
    ).encode()


class EntryWriter:
    """:func:`encode_entry` for the entries of one issuing batch.

    They share the integrated time, payload type and signing keys, so those
    fragments are quoted once; per entry only the id, the predicate type and
    the signature digests are new.
    """

    def __init__(self, integrated_time: str, payload_type: str, keyids: Sequence[str]) -> None:
        q = _quote
        self._middle = (
            f',"integratedTime":{q(integrated_time)},"payloadType":{q(payload_type)},'
            '"predicateType":'
        )
        self._sig_heads = tuple(f'{{"keyid":{q(k)},"sig":"' for k in keyids)
        self._predicate_types: dict[str, str] = {}

    def encode(self, ident: str, predicate_type: str, signatures: Sequence[bytes]) -> bytes:
        """The entry for attestation ``ident`` with these signatures (one per keyid, in order)."""
        quoted = self._predicate_types.get(predicate_type)
        if quoted is None:
            quoted = self._predicate_types[predicate_type] = _quote(predicate_type)
        sha256 = hashlib.sha256
        if len(signatures) == 1 == len(self._sig_heads):  # the common case: one format
            digest = sha256(signatures[0]).hexdigest()
            return (
                f'{{"id":{_quote(ident)}{self._middle}{quoted},'
                f'"signatures":[{self._sig_heads[0]}{digest}"}}],"v":1}}'
            ).encode()
        sigs = ",".join(
            head + sha256(sig).hexdigest() + '"}'
            for head, sig in zip(self._sig_heads, signatures, strict=True)
        )
        return (
            '{"id":' + _quote(ident) + self._middle + quoted + ',"signatures":[' + sigs + '],"v":1}'
        ).encode()


@dataclass(frozen=True)
class LogEntry:
    """The parsed content of one log entry."""

    id: str
    integrated_time: datetime
    payload_type: str
    predicate_type: str
    signatures: tuple[tuple[str, str], ...]

    @classmethod
    def for_envelope(
        cls, envelope: Envelope, predicate_type: str, integrated_time: datetime
    ) -> LogEntry:
        return cls(
            id=attestation_id(envelope),
            integrated_time=integrated_time,
            payload_type=envelope.payload_type,
            predicate_type=predicate_type,
            signatures=tuple((s.keyid or "", signature_digest(s.sig)) for s in envelope.signatures),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "integratedTime": format_time(self.integrated_time),
            "payloadType": self.payload_type,
            "predicateType": self.predicate_type,
            "signatures": [{"keyid": k, "sig": s} for k, s in self.signatures],
            "v": 1,
        }

    def to_bytes(self) -> bytes:
        """Canonical JSON (sorted keys, compact, UTF-8): see :func:`encode_entry`."""
        return encode_entry(
            self.id,
            format_time(self.integrated_time),
            self.payload_type,
            self.predicate_type,
            self.signatures,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> LogEntry:
        """Parse an entry.

        Raises:
            AttestationEnvelopeError: not a version-1 uaa log entry.
        """
        try:
            doc = loads_json_strict(data, what="log entry")
        except AttestationInputError as exc:
            raise AttestationEnvelopeError(exc.message, hint=exc.hint) from None
        if not isinstance(doc, dict) or doc.get("v") != 1:
            raise AttestationEnvelopeError("log entry is not a version-1 uaa entry")
        sigs = doc.get("signatures")
        ident, payload_type = doc.get("id"), doc.get("payloadType")
        predicate_type, when_text = doc.get("predicateType"), doc.get("integratedTime")
        try:
            when = (
                parse_time(when_text, field="integratedTime")
                if isinstance(when_text, str)
                else None
            )
        except AttestationInputError:
            when = None
        if not (
            isinstance(sigs, list)
            and all(
                isinstance(s, dict)
                and isinstance(s.get("keyid"), str)
                and isinstance(s.get("sig"), str)
                for s in sigs
            )
            and isinstance(ident, str)
            and isinstance(payload_type, str)
            and isinstance(predicate_type, str)
            and when is not None
        ):
            raise AttestationEnvelopeError(
                "log entry lacks id, integratedTime, payloadType, predicateType or signatures",
                hint="the entry does not come from a uaa log",
            ) from None
        signatures = tuple((s["keyid"], s["sig"]) for s in sigs)
        return cls(ident, when, payload_type, predicate_type, signatures)

    def logged_signature(self, keyid: str | None, sig: bytes) -> bool:
        """Whether this exact signature (by digest) was logged."""
        digest = signature_digest(sig)
        return any(s == digest and (not keyid or not k or k == keyid) for k, s in self.signatures)

    def keyids(self) -> Sequence[str]:
        return [k for k, _ in self.signatures]

"""The attestation bundle: an envelope with everything needed to verify it offline.

Like a Sigstore bundle, it carries the DSSE envelope, the log entry that
records it, the inclusion proof and the signed (and cosigned) checkpoint the
proof leads to::

    {"mediaType": "application/vnd.uaa.bundle.v1+json",
     "dsseEnvelope": {...},
     "logEntry": {"logIndex": 7, "entry": <base64>, "treeSize": 9,
                  "inclusionProof": [<base64 hash>, ...], "checkpoint": "<signed note>"}}

A bare DSSE envelope is also accepted wherever a bundle is (it then has no log
evidence, which a policy requiring the log rejects).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Final

from shared_core.crypto import Envelope, b64decode_any
from shared_core.errors import CoreError
from universal_attestation_authority._statement import loads_json_strict
from universal_attestation_authority.errors import AttestationEnvelopeError, AttestationInputError

__all__ = ["BUNDLE_MEDIA_TYPE", "Bundle", "LogEvidence"]

BUNDLE_MEDIA_TYPE: Final = "application/vnd.uaa.bundle.v1+json"
MAX_BUNDLE_BYTES: Final = 8 * 1024 * 1024
MAX_SIGNATURES: Final = 64
"""Signatures per envelope: each may be tried against every policy key, so bound the work."""


@dataclass(frozen=True)
class LogEvidence:
    """Where the attestation sits in the log, and the proof of it."""

    log_index: int
    entry: bytes
    tree_size: int
    inclusion_proof: tuple[bytes, ...]
    checkpoint: bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "logIndex": self.log_index,
            "entry": base64.b64encode(self.entry).decode(),
            "treeSize": self.tree_size,
            "inclusionProof": [base64.b64encode(h).decode() for h in self.inclusion_proof],
            "checkpoint": self.checkpoint.decode("utf-8"),
        }

    @classmethod
    def from_dict(cls, data: Any) -> LogEvidence:
        if not isinstance(data, dict):
            raise AttestationEnvelopeError("logEntry must be an object", field="logEntry")
        index, size = data.get("logIndex"), data.get("treeSize")
        proof, checkpoint = data.get("inclusionProof"), data.get("checkpoint")
        if (
            not (isinstance(index, int) and isinstance(size, int) and not isinstance(index, bool))
            or index < 0
            or size <= index
        ):
            raise AttestationEnvelopeError(
                "logEntry needs integers logIndex and treeSize with logIndex < treeSize",
                field="logEntry",
            )
        if not isinstance(proof, list) or len(proof) > 64 or not isinstance(checkpoint, str):
            raise AttestationEnvelopeError(
                "logEntry needs an inclusionProof list and a checkpoint note", field="logEntry"
            )
        try:
            hashes = tuple(b64decode_any(h, "inclusionProof") for h in proof)
            entry = b64decode_any(data.get("entry"), "entry")
        except CoreError as exc:
            raise AttestationEnvelopeError(f"logEntry: {exc.message}", field="logEntry") from None
        return cls(index, entry, size, hashes, checkpoint.encode("utf-8"))


@dataclass(frozen=True)
class Bundle:
    """A DSSE envelope and, optionally, its log evidence."""

    envelope: Envelope
    log: LogEvidence | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "mediaType": BUNDLE_MEDIA_TYPE,
            "dsseEnvelope": self.envelope.to_dict(),
        }
        if self.log is not None:
            data["logEntry"] = self.log.to_dict()
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> Bundle:
        """A bundle, or a bare DSSE envelope, from decoded JSON.

        Raises:
            AttestationEnvelopeError: neither shape, or malformed base64/fields.
        """
        if not isinstance(data, dict):
            raise AttestationEnvelopeError(
                "expected a JSON object (a uaa bundle or a DSSE envelope)",
                hint="pass the file 'uaa attest' wrote",
            )
        if "mediaType" in data:
            if data["mediaType"] != BUNDLE_MEDIA_TYPE:
                raise AttestationEnvelopeError(
                    f"unsupported bundle mediaType {str(data['mediaType'])[:60]!r}",
                    hint=f"expected {BUNDLE_MEDIA_TYPE}",
                )
            envelope_data = data.get("dsseEnvelope")
            log_data = data.get("logEntry")
        else:
            envelope_data, log_data = data, None
        if not isinstance(envelope_data, dict):
            raise AttestationEnvelopeError(
                "dsseEnvelope must be a JSON object", field="dsseEnvelope"
            )
        signatures = envelope_data.get("signatures")
        if isinstance(signatures, list) and len(signatures) > MAX_SIGNATURES:
            raise AttestationEnvelopeError(
                f"envelope has {len(signatures)} signatures; at most {MAX_SIGNATURES} are accepted",
                hint="an attestation needs one signature per signing key",
            )
        try:
            envelope = Envelope.from_dict(envelope_data)
        except CoreError as exc:
            raise AttestationEnvelopeError(
                f"not a DSSE envelope: {exc.message}",
                hint="a DSSE envelope has payload, payloadType and signatures",
            ) from None
        log = LogEvidence.from_dict(log_data) if log_data is not None else None
        return cls(envelope, log)

    @classmethod
    def from_json(cls, text: bytes | str, *, source: str = "bundle") -> Bundle:
        if len(text) > MAX_BUNDLE_BYTES:
            raise AttestationEnvelopeError(f"{source} is larger than 8 MiB")
        try:
            data = loads_json_strict(text, what=source)
        except AttestationInputError as exc:
            raise AttestationEnvelopeError(exc.message, hint=exc.hint) from None
        return cls.from_dict(data)

"""DSSE: the Dead Simple Signing Envelope (secure-systems-lab/dsse, protocol v1).

Signatures cover the pre-authentication encoding
``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`` rather than the JSON
envelope, so nothing about JSON canonicalisation can change what was signed.
Base64 in envelopes is accepted in both the standard and the URL-safe
alphabet, padded or not; we always write standard, padded base64.

Verification counts *distinct trusted keys* with a valid signature, so one
key signing twice never satisfies a threshold of two; signatures without a
``keyid`` are tried against every trusted key.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared_core.crypto._signing import SigningKey, VerifyKey
from shared_core.errors import CryptoError, ValidationError

__all__ = [
    "DSSE_IN_TOTO_PAYLOAD_TYPE",
    "Envelope",
    "EnvelopeSignature",
    "b64decode_any",
    "pae",
    "sign_envelope",
    "verify_envelope",
]

DSSE_IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE v1 pre-authentication encoding of ``payload``."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def b64decode_any(text: object, what: str = "value") -> bytes:
    """Decode standard or URL-safe base64, with or without padding."""
    if not isinstance(text, str):
        raise ValidationError(f"{what} must be a base64 string", field=what)
    cleaned = text.strip()
    if "-" in cleaned or "_" in cleaned:
        cleaned = cleaned.replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(
            f"{what} is not valid base64", field=what, hint="use standard or URL-safe base64"
        ) from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class EnvelopeSignature:
    sig: bytes
    keyid: str | None = None

    def to_dict(self) -> dict[str, str]:
        data = {"sig": _b64(self.sig)}
        if self.keyid:
            data["keyid"] = self.keyid
        return data


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope: payload bytes, their type, and signatures over ``pae``."""

    payload: bytes
    payload_type: str
    signatures: tuple[EnvelopeSignature, ...] = field(default=())

    def pae(self) -> bytes:
        return pae(self.payload_type, self.payload)

    def to_dict(self) -> dict[str, Any]:
        return {
            "payload": _b64(self.payload),
            "payloadType": self.payload_type,
            "signatures": [s.to_dict() for s in self.signatures],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Envelope:
        """Parse an envelope; anything malformed raises ``ValidationError``."""
        if not isinstance(data, Mapping):
            raise ValidationError("a DSSE envelope must be a JSON object", field="envelope")
        payload_type = data.get("payloadType")
        if not isinstance(payload_type, str):
            raise ValidationError("DSSE envelope has no string 'payloadType'", field="payloadType")
        payload = b64decode_any(data.get("payload", None), "payload")
        raw_sigs = data.get("signatures")
        if not isinstance(raw_sigs, list):
            raise ValidationError("DSSE envelope has no 'signatures' list", field="signatures")
        signatures = []
        for i, raw in enumerate(raw_sigs):
            if not isinstance(raw, Mapping):
                raise ValidationError(f"signature {i} is not an object", field="signatures")
            keyid = raw.get("keyid")
            if keyid is not None and not isinstance(keyid, str):
                raise ValidationError(f"signature {i} has a non-string keyid", field="keyid")
            signatures.append(
                EnvelopeSignature(b64decode_any(raw.get("sig"), "sig"), keyid or None)
            )
        return cls(payload, payload_type, tuple(signatures))

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError(f"DSSE envelope is not JSON: {exc}", field="envelope") from None
        return cls.from_dict(data)


def sign_envelope(
    payload: bytes,
    payload_type: str,
    keys: Sequence[SigningKey],
    keyids: Sequence[str | None] | None = None,
) -> Envelope:
    """Sign ``payload`` with every key; ``keyids`` default to each key's ``key_id``."""
    if not keys:
        raise CryptoError("at least one signing key is needed", hint="pass a signing key")
    if not payload_type:
        raise ValidationError("payload type must not be empty", field="payloadType")
    message = pae(payload_type, payload)
    ids = list(keyids) if keyids is not None else [k.verify_key.key_id for k in keys]
    if len(ids) != len(keys):
        raise ValidationError("one keyid per key is needed", field="keyids")
    sigs = tuple(EnvelopeSignature(k.sign(message), kid) for k, kid in zip(keys, ids, strict=True))
    return Envelope(payload, payload_type, sigs)


def verify_envelope(
    envelope: Envelope,
    trusted: Mapping[str, VerifyKey],
    *,
    threshold: int = 1,
    payload_types: Sequence[str] | None = None,
) -> list[str]:
    """Check ``envelope`` against trusted keys; return the key IDs that signed it.

    Args:
        trusted: key ID -> verify key.  A signature with a ``keyid`` is checked
            against that key only; one without is tried against all of them.
        threshold: how many *distinct* trusted keys must have signed.
        payload_types: if given, the envelope's type must be one of them.

    Raises:
        CryptoError: fewer than ``threshold`` distinct trusted keys signed, or
            the payload type is not accepted.
    """
    if threshold < 1:
        raise ValidationError("threshold must be at least 1", field="threshold")
    if not envelope.payload_type:
        raise CryptoError("DSSE envelope has an empty payload type")
    if payload_types is not None and envelope.payload_type not in payload_types:
        raise CryptoError(
            f"payload type {envelope.payload_type!r} is not accepted",
            hint=f"expected one of: {', '.join(payload_types)}",
        )
    message = envelope.pae()
    accepted: list[str] = []
    for signature in envelope.signatures:
        if signature.keyid is not None:
            candidates = (
                [(signature.keyid, trusted[signature.keyid])] if signature.keyid in trusted else []
            )
        else:
            candidates = list(trusted.items())
        for keyid, key in candidates:
            if keyid in accepted:
                continue
            if key.is_valid(message, signature.sig):
                accepted.append(keyid)
                break
    if len(accepted) < threshold:
        raise CryptoError(
            f"DSSE envelope has {len(accepted)} valid signature(s) from distinct trusted keys, "
            f"{threshold} required",
            hint="check the trusted keys and that the payload was not modified",
        )
    return accepted

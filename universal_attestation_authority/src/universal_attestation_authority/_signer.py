"""Signing in-toto payloads into DSSE envelopes on the issuing hot path.

:func:`shared_core.crypto.sign_envelope` is general (any payload type, any
key, an :class:`~shared_core.crypto.Envelope` object out); issuing signs
thousands of statements of one payload type with the same few keys, and
the profile showed the generality costing as much as the signature.  A
:class:`PayloadSigner` is built once per batch and, per statement:

* prepends a precomputed PAE prefix (``DSSEv1 28 application/vnd.in-toto+json``)
  instead of re-encoding the payload type;
* signs Ed25519 with libsodium's ``crypto_sign`` (PyNaCl's public bindings)
  on the expanded secret key, skipping the wrapper objects of
  ``nacl.signing.SigningKey.sign``; ECDSA keys go through their own ``sign``;
* hashes the PAE once, for the attestation id;
* writes the envelope JSON directly, byte-identical to
  :meth:`Envelope.to_json` (a test holds it to that).

The signatures are the same bytes the general path makes: Ed25519 is
deterministic, and both call the same libsodium function.
"""

from __future__ import annotations

import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import nacl.bindings

from shared_core.crypto import Ed25519SigningKey, Envelope, EnvelopeSignature, SigningKey
from universal_attestation_authority._statement import PAYLOAD_TYPE

__all__ = ["PAE_PREFIX", "PayloadSigner", "SignedPayload"]

_TYPE_BYTES: Final = PAYLOAD_TYPE.encode("utf-8")
PAE_PREFIX: Final = b"DSSEv1 %d %s " % (len(_TYPE_BYTES), _TYPE_BYTES)
"""The DSSE pre-authentication encoding up to the payload length, for PAYLOAD_TYPE."""

_crypto_sign = nacl.bindings.crypto_sign

_b64 = binascii.b2a_base64
_TYPE_JSON: Final = json.dumps(PAYLOAD_TYPE)
_ENVELOPE_HEAD: Final = '{"payload":"'
_ENVELOPE_MIDDLE: Final = '","payloadType":' + _TYPE_JSON + ',"signatures":['


@dataclass(frozen=True, slots=True)
class SignedPayload:
    """One signed payload: what the log entry and the attestation row need."""

    id: str
    """Hex SHA-256 of the PAE: the attestation id (see ``_entry.attestation_id``)."""
    payload: bytes
    signatures: tuple[bytes, ...]
    """One signature per signer key, in the signer's key order."""
    envelope_json: str
    """The DSSE envelope, exactly as :meth:`Envelope.to_json` writes it."""


class PayloadSigner:
    """Signs in-toto payloads with a fixed list of ``(keyid, key)``.

    Holds the Ed25519 keys' expanded secret keys as bytes for its lifetime
    (as PyNaCl's own ``SigningKey`` does); build one per batch and drop it.
    """

    def __init__(self, keys: Sequence[tuple[str, SigningKey]]) -> None:
        self.keyids: tuple[str, ...] = tuple(keyid for keyid, _ in keys)
        if not self.keyids or not all(self.keyids):
            raise ValueError("a PayloadSigner needs at least one key, each with a keyid")
        self._sign: list[Callable[[bytes], bytes]] = []
        self._secret: list[bytes | None] = []
        for _, key in keys:
            if isinstance(key, Ed25519SigningKey):
                with key.seed() as seed:
                    _public, secret = nacl.bindings.crypto_sign_seed_keypair(seed.reveal())
                self._secret.append(secret)
            else:
                self._secret.append(None)
            self._sign.append(key.sign)
        # The JSON fragment before each signature's base64: keyid first (sorted keys).
        self._sig_heads = tuple('{"keyid":' + json.dumps(k) + ',"sig":"' for k in self.keyids)
        self._single = self._secret[0] if len(self._secret) == 1 else None

    @staticmethod
    def pae(payload: bytes) -> bytes:
        """The DSSE PAE of ``payload`` as an in-toto statement: what is signed."""
        return b"%s%d %s" % (PAE_PREFIX, len(payload), payload)

    @staticmethod
    def attestation_id(message: bytes) -> str:
        """The attestation id of a PAE ``message``: its hex SHA-256."""
        return hashlib.sha256(message).hexdigest()

    def sign(self, payload: bytes, message: bytes, ident: str) -> SignedPayload:
        """Sign ``payload`` (canonical statement bytes) with every key.

        ``message`` is :meth:`pae` of the payload and ``ident`` its
        :meth:`attestation_id`: the caller computed both to look for an
        earlier issue of the same statement before paying for signatures.
        """
        envelope_json, signatures = self.sign_json(payload, message)
        return SignedPayload(ident, payload, signatures, envelope_json)

    def sign_json(self, payload: bytes, message: bytes) -> tuple[str, tuple[bytes, ...]]:
        """:meth:`sign` without the wrapper object: ``(envelope JSON, signatures)``.

        What the issuing loop calls once per statement.
        """
        b64 = _b64
        if self._single is not None:  # one Ed25519 key, the common case: no loops
            sig = _crypto_sign(message, self._single)[:64]
            return (
                f'{{"payload":"{b64(payload, newline=False).decode("ascii")}",'
                f'"payloadType":{_TYPE_JSON},"signatures":[{self._sig_heads[0]}'
                f'{b64(sig, newline=False).decode("ascii")}"}}]}}',
                (sig,),
            )
        signatures = tuple(
            _crypto_sign(message, secret)[:64] if secret is not None else sign(message)
            for secret, sign in zip(self._secret, self._sign, strict=True)
        )
        sigs = ",".join(
            head + b64(sig, newline=False).decode("ascii") + '"}'
            for head, sig in zip(self._sig_heads, signatures, strict=True)
        )
        return (
            _ENVELOPE_HEAD
            + b64(payload, newline=False).decode("ascii")
            + _ENVELOPE_MIDDLE
            + sigs
            + "]}",
            signatures,
        )

    def envelope(self, signed: SignedPayload) -> Envelope:
        """``signed`` as an :class:`Envelope` object."""
        return Envelope(
            signed.payload,
            PAYLOAD_TYPE,
            tuple(
                EnvelopeSignature(sig, keyid)
                for sig, keyid in zip(signed.signatures, self.keyids, strict=True)
            ),
        )

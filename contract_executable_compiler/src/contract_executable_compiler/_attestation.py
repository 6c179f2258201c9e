"""Signing and verifying compiled bytecode with DSSE envelopes (shared_core.crypto).

The signed payload is a small JSON statement naming the bytecode's SHA-256
(the content hash from the file header), its kind, and for contracts the
name and version.  Verification checks the signature against trusted keys
*and* that the statement's digest is the digest of the file at hand, so an
envelope for one program never vouches for another.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from contract_executable_compiler._bytecode import unpack
from contract_executable_compiler.errors import ContractInputError
from shared_core.crypto import Envelope, SigningKey, VerifyKey, sign_envelope, verify_envelope

__all__ = ["PAYLOAD_TYPE", "sign_bytecode", "verify_bytecode"]

PAYLOAD_TYPE: Final = "application/vnd.cec.bytecode+json"
_STATEMENT_TYPE: Final = "https://contract-executable-compiler/bytecode/v1"


def statement_for(data: bytes) -> dict[str, Any]:
    """The statement a signature over ``data`` (a bytecode file) attests."""
    kind, value, digest = unpack(data)
    statement: dict[str, Any] = {
        "_type": _STATEMENT_TYPE,
        "kind": "contract" if kind == 1 else "expression",
        "sha256": digest,
    }
    if kind == 1:
        statement["contract"] = value["name"]
        statement["version"] = value["version"]
    return statement


def sign_bytecode(data: bytes, key: SigningKey) -> Envelope:
    """A DSSE envelope attesting the bytecode file ``data``."""
    payload = json.dumps(statement_for(data), sort_keys=True, separators=(",", ":")).encode()
    return sign_envelope(payload, PAYLOAD_TYPE, [key])


def verify_bytecode(
    data: bytes, envelope: Envelope, trusted: Mapping[str, VerifyKey]
) -> dict[str, Any]:
    """Check the envelope's signature and that it attests exactly ``data``; returns the statement.

    Raises:
        CryptoError: no trusted key signed the envelope.
        ContractInputError: the envelope attests another file or is malformed.
    """
    verify_envelope(envelope, trusted, payload_types=[PAYLOAD_TYPE])
    try:
        signed = json.loads(envelope.payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ContractInputError("the envelope's payload is not a JSON statement") from None
    expected = statement_for(data)
    if not isinstance(signed, dict) or signed.get("sha256") != expected["sha256"]:
        raise ContractInputError(
            "the envelope attests a different bytecode file",
            hint="verify the file the envelope was made for, or sign this one",
        )
    if signed != expected:
        raise ContractInputError("the envelope's statement does not match the bytecode file")
    return expected

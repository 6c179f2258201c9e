"""AES-256-GCM with the nonce carried in front of the ciphertext.

The wire form is ``nonce (12 bytes) || ciphertext || tag (16 bytes)``; a fresh
random nonce per message is safe for up to 2**32 messages per key (NIST SP
800-38D), which is far beyond how the systems use it (secrets at rest).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared_core.crypto._secret import SecretBytes
from shared_core.errors import CryptoError

__all__ = ["aes_gcm_decrypt", "aes_gcm_encrypt", "generate_aes_key"]

NONCE_SIZE = 12
TAG_SIZE = 16


def generate_aes_key() -> SecretBytes:
    """A new random 256-bit key."""
    return SecretBytes(AESGCM.generate_key(bit_length=256))


def _key_bytes(key: bytes | SecretBytes) -> bytes:
    raw = key.reveal() if isinstance(key, SecretBytes) else key
    if len(raw) != 32:
        raise CryptoError(
            f"AES-256-GCM needs a 32-byte key, got {len(raw)} bytes",
            hint="generate one with generate_aes_key()",
        )
    return raw


def aes_gcm_encrypt(
    key: bytes | SecretBytes, plaintext: bytes, associated_data: bytes = b""
) -> bytes:
    """Encrypt and authenticate; ``associated_data`` is authenticated, not encrypted."""
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(_key_bytes(key)).encrypt(nonce, plaintext, associated_data)


def aes_gcm_decrypt(key: bytes | SecretBytes, sealed: bytes, associated_data: bytes = b"") -> bytes:
    """Decrypt what :func:`aes_gcm_encrypt` produced; any tampering raises ``CryptoError``."""
    if len(sealed) < NONCE_SIZE + TAG_SIZE:
        raise CryptoError(
            f"ciphertext is {len(sealed)} bytes, shorter than nonce and tag",
            hint="pass the whole output of aes_gcm_encrypt",
        )
    nonce, body = sealed[:NONCE_SIZE], sealed[NONCE_SIZE:]
    try:
        return AESGCM(_key_bytes(key)).decrypt(nonce, body, associated_data)
    except InvalidTag:
        raise CryptoError(
            "AES-GCM authentication failed: wrong key, wrong associated data, or tampered data",
            hint="check the key and that the ciphertext was not modified",
        ) from None

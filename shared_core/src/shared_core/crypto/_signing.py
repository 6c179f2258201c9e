"""Ed25519 and ECDSA P-256 behind one interface.

Ed25519 goes through PyNaCl (libsodium), which signs and verifies 1.5-2.5x
faster than ``cryptography`` here; ECDSA P-256 (SHA-256, DER signatures, as
DSSE and Sigstore use them) goes through ``cryptography``.  Both expose the
same small surface: :class:`SigningKey` signs, :class:`VerifyKey` verifies and
has a stable ``key_id`` (hex SHA-256 of the SubjectPublicKeyInfo DER), and both
serialise to PEM.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import StrEnum
from typing import ClassVar, Self

import nacl.exceptions
import nacl.signing
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shared_core.crypto._hashing import sha256
from shared_core.crypto._secret import SecretBytes
from shared_core.errors import CryptoError

__all__ = [
    "Algorithm",
    "EcdsaP256SigningKey",
    "EcdsaP256VerifyKey",
    "Ed25519SigningKey",
    "Ed25519VerifyKey",
    "SigningKey",
    "VerifyKey",
    "generate_signing_key",
    "load_private_pem",
    "load_public_pem",
]


class Algorithm(StrEnum):
    ED25519 = "ed25519"
    ECDSA_P256 = "ecdsa-p256"


class VerifyKey(ABC):
    """A public key that checks signatures."""

    algorithm: ClassVar[Algorithm]

    @abstractmethod
    def verify(self, message: bytes, signature: bytes) -> None:
        """Return if ``signature`` is valid for ``message``; raise ``CryptoError`` otherwise."""

    def is_valid(self, message: bytes, signature: bytes) -> bool:
        """``verify`` as a boolean, for callers that count valid signatures."""
        try:
            self.verify(message, signature)
        except CryptoError:
            return False
        return True

    @abstractmethod
    def public_bytes_raw(self) -> bytes:
        """Ed25519: the 32-byte key; P-256: the 65-byte uncompressed point."""

    @abstractmethod
    def _crypto_key(self) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey: ...

    def to_pem(self) -> bytes:
        return self._crypto_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def to_der(self) -> bytes:
        return self._crypto_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def key_id(self) -> str:
        """Hex SHA-256 of the SubjectPublicKeyInfo DER: stable across formats."""
        return sha256(self.to_der()).hex()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VerifyKey):
            return NotImplemented
        return self.algorithm == other.algorithm and self.to_der() == other.to_der()

    def __hash__(self) -> int:
        return hash((self.algorithm, self.to_der()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key_id={self.key_id[:16]}...)"


class SigningKey(ABC):
    """A private key that signs; ``close()`` wipes what we hold of it."""

    algorithm: ClassVar[Algorithm]

    @abstractmethod
    def sign(self, message: bytes) -> bytes: ...

    @property
    @abstractmethod
    def verify_key(self) -> VerifyKey: ...

    @abstractmethod
    def to_pem(self) -> bytes:
        """PKCS#8 PEM, unencrypted (file permissions protect it, see keyfiles)."""

    @abstractmethod
    def close(self) -> None:
        """Wipe the key material we own (best effort, see SecretBytes)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key_id={self.verify_key.key_id[:16]}...)"


class Ed25519VerifyKey(VerifyKey):
    algorithm = Algorithm.ED25519

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise CryptoError(
                f"an Ed25519 public key is 32 bytes, got {len(raw)}",
                hint="pass the raw key, or load a PEM file with load_public_pem",
            )
        self._raw = bytes(raw)
        self._nacl = nacl.signing.VerifyKey(self._raw)

    def verify(self, message: bytes, signature: bytes) -> None:
        if len(signature) != 64:
            raise CryptoError(f"an Ed25519 signature is 64 bytes, got {len(signature)}")
        try:
            self._nacl.verify(message, signature)
        except nacl.exceptions.BadSignatureError:
            raise CryptoError("Ed25519 signature does not verify", key_id=self.key_id) from None

    def public_bytes_raw(self) -> bytes:
        return self._raw

    def _crypto_key(self) -> ed25519.Ed25519PublicKey:
        return ed25519.Ed25519PublicKey.from_public_bytes(self._raw)


class Ed25519SigningKey(SigningKey):
    algorithm = Algorithm.ED25519

    def __init__(self, seed: bytes | SecretBytes) -> None:
        self._seed = seed if isinstance(seed, SecretBytes) else SecretBytes(seed)
        if len(self._seed) != 32:
            raise CryptoError(
                f"an Ed25519 private key seed is 32 bytes, got {len(self._seed)}",
                hint="generate one with Ed25519SigningKey.generate()",
            )
        self._nacl = nacl.signing.SigningKey(self._seed.reveal())
        self._verify = Ed25519VerifyKey(bytes(self._nacl.verify_key))

    @classmethod
    def generate(cls) -> Ed25519SigningKey:
        return cls(bytes(nacl.signing.SigningKey.generate()))

    def seed(self) -> SecretBytes:
        """The 32-byte seed (RFC 8032 private key), as a wipeable copy."""
        return SecretBytes(self._seed.reveal())

    def sign(self, message: bytes) -> bytes:
        return bytes(self._nacl.sign(message).signature)

    @property
    def verify_key(self) -> Ed25519VerifyKey:
        return self._verify

    def to_pem(self) -> bytes:
        key = ed25519.Ed25519PrivateKey.from_private_bytes(self._seed.reveal())
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def close(self) -> None:
        self._seed.close()


class EcdsaP256VerifyKey(VerifyKey):
    algorithm = Algorithm.ECDSA_P256

    def __init__(self, key: ec.EllipticCurvePublicKey) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise CryptoError(f"expected a P-256 key, got curve {key.curve.name}")
        self._key = key

    @classmethod
    def from_raw(cls, point: bytes) -> EcdsaP256VerifyKey:
        try:
            return cls(ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point))
        except ValueError as exc:
            raise CryptoError(f"not a P-256 point: {exc}") from exc

    def verify(self, message: bytes, signature: bytes) -> None:
        try:
            self._key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            raise CryptoError("ECDSA P-256 signature does not verify", key_id=self.key_id) from None

    def public_bytes_raw(self) -> bytes:
        return self._key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def _crypto_key(self) -> ec.EllipticCurvePublicKey:
        return self._key


class EcdsaP256SigningKey(SigningKey):
    algorithm = Algorithm.ECDSA_P256

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise CryptoError(f"expected a P-256 key, got curve {key.curve.name}")
        self._key: ec.EllipticCurvePrivateKey | None = key
        self._verify = EcdsaP256VerifyKey(key.public_key())

    @classmethod
    def generate(cls) -> EcdsaP256SigningKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    def _live(self) -> ec.EllipticCurvePrivateKey:
        if self._key is None:
            raise CryptoError("signing key was closed", hint="keep the key open while signing")
        return self._key

    def sign(self, message: bytes) -> bytes:
        """A DER-encoded ECDSA signature over SHA-256(message)."""
        return self._live().sign(message, ec.ECDSA(hashes.SHA256()))

    @property
    def verify_key(self) -> EcdsaP256VerifyKey:
        return self._verify

    def to_pem(self) -> bytes:
        return self._live().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def close(self) -> None:
        # OpenSSL owns the scalar and frees (cleanses) it when the object dies.
        self._key = None


def generate_signing_key(algorithm: Algorithm | str = Algorithm.ED25519) -> SigningKey:
    """A new key of the given algorithm (Ed25519 by default)."""
    algo = Algorithm(algorithm)
    if algo is Algorithm.ED25519:
        return Ed25519SigningKey.generate()
    return EcdsaP256SigningKey.generate()


def load_private_pem(data: bytes) -> SigningKey:
    """A signing key from PKCS#8 (or traditional EC) PEM."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CryptoError(
            f"not an unencrypted PEM private key: {exc}",
            hint="expected '-----BEGIN PRIVATE KEY-----' (PKCS#8), Ed25519 or P-256",
        ) from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Ed25519SigningKey(
            key.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
        )
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return EcdsaP256SigningKey(key)
    raise CryptoError(
        f"unsupported private key type {type(key).__name__}",
        hint="use an Ed25519 or ECDSA P-256 key",
    )


def load_public_pem(data: bytes) -> VerifyKey:
    """A verify key from SubjectPublicKeyInfo PEM."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise CryptoError(
            f"not a PEM public key: {exc}",
            hint="expected '-----BEGIN PUBLIC KEY-----'",
        ) from None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return Ed25519VerifyKey(
            key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
    if isinstance(key, ec.EllipticCurvePublicKey):
        return EcdsaP256VerifyKey(key)
    raise CryptoError(
        f"unsupported public key type {type(key).__name__}",
        hint="use an Ed25519 or ECDSA P-256 key",
    )

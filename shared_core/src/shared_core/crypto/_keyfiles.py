"""Key files on disk: PEM or raw, with the permissions a private key deserves.

Private keys are written ``0600`` atomically (temporary file, fsync, rename) so
a crash never leaves a half-written key, and reading refuses a private key
that group or others can read, as OpenSSH does: a leaked key is worse than a
failed start.  Raw files hold the 32-byte Ed25519 seed, as binary or hex.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from shared_core.crypto._signing import (
    Ed25519SigningKey,
    Ed25519VerifyKey,
    SigningKey,
    VerifyKey,
    load_private_pem,
    load_public_pem,
)
from shared_core.errors import CryptoError, IoError

__all__ = ["read_private_key", "read_public_key", "write_private_key", "write_public_key"]

K = TypeVar("K", SigningKey, VerifyKey)


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise IoError(
            f"cannot write key file {str(path)!r}: {exc.strerror}",
            path=str(path),
            hint="check that the directory exists and is writable",
        ) from exc


def write_private_key(path: str | Path, key: SigningKey, *, overwrite: bool = False) -> Path:
    """Write ``key`` as PKCS#8 PEM with mode 0600; refuses to replace a key unless asked."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise IoError(
            f"key file {str(p)!r} already exists",
            path=str(p),
            hint="choose another path or pass overwrite=True (--force)",
        )
    _atomic_write(p, key.to_pem(), 0o600)
    return p


def write_public_key(path: str | Path, key: VerifyKey, *, overwrite: bool = True) -> Path:
    """Write ``key`` as SubjectPublicKeyInfo PEM with mode 0644."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise IoError(f"key file {str(p)!r} already exists", path=str(p))
    _atomic_write(p, key.to_pem(), 0o644)
    return p


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise IoError(
            f"key file {str(path)!r} does not exist", path=str(path), hint="check the path"
        ) from None
    except OSError as exc:
        raise IoError(
            f"cannot read key file {str(path)!r}: {exc.strerror}",
            path=str(path),
            hint="check the file's permissions",
        ) from exc


def _check_private_permissions(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise IoError(f"cannot stat {str(path)!r}: {exc.strerror}", path=str(path)) from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CryptoError(
            f"private key file {str(path)!r} is accessible by group or others "
            f"(mode {stat.S_IMODE(mode):04o})",
            path=str(path),
            hint=f"run: chmod 600 {path}",
        )


def _decode_raw(data: bytes) -> bytes | None:
    stripped = data.strip()
    if len(data) == 32:
        return data
    if len(stripped) == 64:
        try:
            return bytes.fromhex(stripped.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return None
    return None


def _load_key(
    p: Path,
    from_pem: Callable[[bytes], K],
    from_raw: Callable[[bytes], K],
    what: str,
    hint: str,
) -> K:
    """PEM if the file has a PEM header, else 32 raw or 64 hex bytes; errors name the file."""
    data = _read(p)
    if b"-----BEGIN" in data:
        try:
            return from_pem(data)
        except CryptoError as exc:
            raise CryptoError(exc.message, path=str(p), hint=exc.hint) from None
    raw = _decode_raw(data)
    if raw is None:
        raise CryptoError(f"{str(p)!r} is neither {what}", path=str(p), hint=hint)
    return from_raw(raw)


def read_private_key(path: str | Path, *, check_permissions: bool = True) -> SigningKey:
    """Read a PEM private key, or a raw/hex Ed25519 seed; checks it is 0600 first."""
    p = Path(path)
    if check_permissions:
        _check_private_permissions(p)
    return _load_key(
        p,
        load_private_pem,
        Ed25519SigningKey,
        "a PEM private key nor a 32-byte Ed25519 seed",
        "write keys with write_private_key (or the CLI's keygen)",
    )


def read_public_key(path: str | Path) -> VerifyKey:
    """Read a PEM public key, or a raw/hex 32-byte Ed25519 public key."""
    return _load_key(
        Path(path),
        load_public_pem,
        Ed25519VerifyKey,
        "a PEM public key nor a 32-byte Ed25519 key",
        "export public keys as PEM",
    )

"""SHA-256 and BLAKE3, the two digests the systems agree on.

SHA-256 is what interoperable formats require (RFC 9162 trees, DSSE key IDs,
C2SP key hashes); BLAKE3 is for our own content addressing (caches, model
files), where its speed matters and nothing outside needs to recompute it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import blake3 as _blake3

from shared_core.errors import IoError

__all__ = ["blake3_digest", "blake3_file", "sha256", "sha256_file"]

_CHUNK = 1 << 20


def sha256(data: bytes) -> bytes:
    """The 32-byte SHA-256 digest of ``data``."""
    return hashlib.sha256(data).digest()


def blake3_digest(data: bytes, length: int = 32) -> bytes:
    """The BLAKE3 digest of ``data`` (``length`` bytes, 32 by default)."""
    return bytes(_blake3.blake3(data).digest(length))


def _read_chunks(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IoError(
            f"cannot read {str(path)!r}: {exc.strerror}", path=str(path), hint="check the path"
        ) from exc


def sha256_file(path: str | Path) -> bytes:
    """SHA-256 of a file's contents, read in chunks."""
    p = Path(path)
    digest = hashlib.sha256()
    try:
        with p.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise IoError(
            f"cannot read {str(p)!r}: {exc.strerror}", path=str(p), hint="check the path"
        ) from exc
    return digest.digest()


def blake3_file(path: str | Path) -> bytes:
    """BLAKE3 of a file's contents (32 bytes), using blake3's multithreaded mmap reader."""
    p = Path(path)
    try:
        return bytes(_blake3.blake3(max_threads=_blake3.blake3.AUTO).update_mmap(p).digest())
    except OSError as exc:
        raise IoError(
            f"cannot read {str(p)!r}: {exc.strerror}", path=str(p), hint="check the path"
        ) from exc
    except ValueError:  # empty files cannot be mmapped on every platform
        return blake3_digest(_read_chunks(p))

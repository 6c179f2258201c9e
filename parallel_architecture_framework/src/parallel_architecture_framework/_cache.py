"""Result caching by content hash: the blake3 of the function and its inputs.

The key of a call is ``blake3(function identity, cache_version, canonical
inputs)``.  The function identity is its module, qualified name and compiled
code (bytecode, constants and names, recursively through nested code objects),
so editing the body changes the key while moving the file does not.  Inputs
are encoded canonically: dictionaries and sets are ordered by the encoding of
their items, so ``{"a", "b"}`` hashes the same in every process whatever the
hash seed; objects without a canonical form fall back to their pickle.

The :class:`ResultStore` keeps one file per key under a directory, written to
a temporary name and renamed into place so a crash never leaves half a result
that a later run would read.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import blake3

from parallel_architecture_framework.errors import ParallelCacheError, ParallelInputError

__all__ = ["ResultStore", "cache_key"]

_MISSING = object()


def _code_identity(code: types.CodeType, out: blake3.blake3) -> None:
    out.update(code.co_code)
    out.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_identity(const, out)
        else:
            out.update(repr(const).encode())


def _function_identity(func: Callable[..., Any], out: blake3.blake3) -> None:
    import functools

    if isinstance(func, functools.partial):
        out.update(b"partial")
        _function_identity(func.func, out)
        _encode((func.args, func.keywords), out)
        return
    out.update(str(getattr(func, "__module__", "")).encode())
    out.update(b"\0")
    out.update(str(getattr(func, "__qualname__", type(func).__qualname__)).encode())
    code = getattr(func, "__code__", None)
    if isinstance(code, types.CodeType):
        _code_identity(code, out)


def _encode(value: Any, out: blake3.blake3) -> None:
    """Feed a canonical, type-tagged encoding of ``value`` into ``out``."""
    if value is None or isinstance(value, bool):
        out.update(b"c" + repr(value).encode())
    elif isinstance(value, int):
        raw = str(value).encode()
        out.update(b"i" + struct.pack("<I", len(raw)) + raw)
    elif isinstance(value, float):
        out.update(b"f" + struct.pack("<d", value))
    elif isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")
        out.update(b"s" + struct.pack("<Q", len(raw)) + raw)
    elif isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        out.update(b"b" + struct.pack("<Q", len(raw)) + raw)
    elif isinstance(value, list | tuple):
        out.update((b"l" if isinstance(value, list) else b"t") + struct.pack("<Q", len(value)))
        for item in value:
            _encode(item, out)
    elif isinstance(value, Mapping):
        items = sorted((_digest(k), _digest(v)) for k, v in value.items())
        out.update(b"d" + struct.pack("<Q", len(items)))
        for key_digest, value_digest in items:
            out.update(key_digest + value_digest)
    elif isinstance(value, set | frozenset):
        digests = sorted(_digest(item) for item in value)
        out.update(b"S" + struct.pack("<Q", len(digests)) + b"".join(digests))
    else:
        _encode_object(value, out)


def _encode_object(value: Any, out: blake3.blake3) -> None:
    kind = type(value)
    out.update(b"o" + f"{kind.__module__}.{kind.__qualname__}".encode())
    tobytes = getattr(value, "tobytes", None)
    if callable(tobytes) and hasattr(value, "dtype") and hasattr(value, "shape"):
        # numpy-like arrays: dtype, shape and raw data define the value
        out.update(str(value.dtype).encode() + repr(value.shape).encode())
        out.update(bytes(tobytes()))
        return
    if callable(value) and hasattr(value, "__code__"):
        _function_identity(value, out)
        return
    try:
        raw = pickle.dumps(value, protocol=5)
    except Exception as exc:
        raise ParallelInputError(
            f"cannot hash an input of type {kind.__qualname__} for the result cache: {exc}",
            field="cache",
            hint="pass picklable inputs to cached tasks, or declare the task with cache=False",
        ) from exc
    out.update(struct.pack("<Q", len(raw)) + raw)


def _digest(value: Any) -> bytes:
    hasher = blake3.blake3()
    _encode(value, hasher)
    digest: bytes = hasher.digest()
    return digest


def cache_key(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any], version: str = ""
) -> str:
    """The hex blake3 key of calling ``func(*args, **kwargs)`` (inputs already resolved)."""
    hasher = blake3.blake3()
    hasher.update(b"paf-cache-v1\0")
    _function_identity(func, hasher)
    hasher.update(b"\0" + version.encode() + b"\0")
    _encode(args, hasher)
    _encode(dict(kwargs), hasher)
    hexdigest: str = hasher.hexdigest()
    return hexdigest


class ResultStore:
    """A directory of pickled results, one file per cache key.

    Safe for concurrent writers on one machine: each write goes to a temporary
    file in the same directory and is renamed over the final name.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ParallelInputError(
                f"cache key {key!r} is not a 64-digit hex blake3 digest",
                field="key",
                hint="use cache_key() to make keys",
            )
        return self.root / key[:2] / key

    def get(self, key: str, default: Any = _MISSING) -> Any:
        """The stored result, or ``default``; raises ``KeyError`` when absent and no default."""
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            if default is _MISSING:
                raise KeyError(key) from None
            return default
        except OSError as exc:
            raise ParallelCacheError(
                f"cannot read cached result {path}: {exc.strerror}",
                path=str(path),
                hint="check the cache directory's permissions, or clear it",
            ) from exc
        try:
            return pickle.loads(raw)  # noqa: S301 - the store is local and written only by us
        except Exception as exc:
            raise ParallelCacheError(
                f"cached result {path} is corrupt: {exc}",
                path=str(path),
                hint=f"delete {path} (or the whole cache directory) and rerun",
            ) from exc

    def __contains__(self, key: str) -> bool:
        return self._path(key).is_file()

    def put(self, key: str, value: Any) -> bool:
        """Store ``value``; returns False (and stores nothing) when it cannot be pickled."""
        path = self._path(key)
        try:
            raw = pickle.dumps(value, protocol=5)
        except Exception:
            return False
        try:
            import tempfile

            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(raw)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise ParallelCacheError(
                f"cannot write cached result under {self.root}: {exc.strerror}",
                path=str(self.root),
                hint="choose a writable cache directory with cache_dir",
            ) from exc
        return True

    def clear(self) -> int:
        """Delete every stored result; returns how many were removed."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for shard in self.root.iterdir():
            if shard.is_dir() and len(shard.name) == 2:
                for entry in shard.iterdir():
                    entry.unlink(missing_ok=True)
                    removed += 1
                with contextlib.suppress(OSError):
                    shard.rmdir()
        return removed

    def __len__(self) -> int:
        if not self.root.is_dir():
            return 0
        return sum(
            1
            for shard in self.root.iterdir()
            if shard.is_dir()
            for entry in shard.iterdir()
            if not entry.name.startswith(".tmp-")
        )

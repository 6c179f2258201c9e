"""Secret bytes that are wiped when closed.

Python copies bytes freely (slicing, C libraries that keep their own copy), so
wiping is best effort: :class:`SecretBytes` zeroes the one buffer we own on
``close()`` / ``with`` exit / garbage collection, which keeps key material out
of core dumps and long-lived heaps in the common case.  It is not a guarantee
against an attacker who can read process memory.
"""

from __future__ import annotations

import hmac
from types import TracebackType
from typing import Self

from shared_core.errors import CryptoError

__all__ = ["SecretBytes"]


class SecretBytes:
    """A mutable buffer for key material; ``repr`` never shows the contents."""

    __slots__ = ("_buf", "_closed")

    def __init__(self, data: bytes | bytearray) -> None:
        self._buf = bytearray(data)
        self._closed = False

    def reveal(self) -> bytes:
        """A copy of the secret, for an API that needs ``bytes``."""
        if self._closed:
            raise CryptoError("secret was already wiped", hint="keep the key open while using it")
        return bytes(self._buf)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Overwrite the buffer with zeros; later ``reveal()`` calls fail."""
        for i in range(len(self._buf)):
            self._buf[i] = 0
        self._closed = True

    def __len__(self) -> int:
        return len(self._buf)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretBytes):
            return NotImplemented
        return hmac.compare_digest(bytes(self._buf), bytes(other._buf))

    def __hash__(self) -> int:
        raise TypeError("SecretBytes is not hashable")

    def __repr__(self) -> str:
        state = "wiped" if self._closed else f"{len(self._buf)} bytes"
        return f"SecretBytes(<{state}>)"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()

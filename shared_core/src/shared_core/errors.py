"""The one error hierarchy every system raises.

The architecture's root error is ``SystemError``; in Python that name is a
builtin, so the root here is :class:`CoreError`.  Kinds mirror the
architecture's enum, and each kind also subclasses the builtin it refines so
callers that only know the standard library still catch it sensibly::

    CoreError                       exit 3 unless a kind says otherwise
    ├── IoError(OSError)            exit 1  reading or writing a file, socket, device
    ├── ConfigError(ValueError)     exit 2  a setting is missing or invalid
    ├── CryptoError                 exit 1  signing, verification, key handling
    ├── ConcurrencyError            exit 1  timeouts, cancellation, exhausted retries
    │   └── DeadlineExceededError(TimeoutError)
    ├── ValidationError(ValueError) exit 2  input that does not have the expected shape
    └── SystemSpecificError         exit 1  the base of each system's own errors

Every error carries a human message, structured ``context`` fields, an
optional remediation ``hint`` and an ``exit_code`` the CLI returns.  ``to_dict``
and ``to_json`` give the same content for telemetry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar

__all__ = [
    "ConcurrencyError",
    "ConfigError",
    "CoreError",
    "CryptoError",
    "DeadlineExceededError",
    "ErrorKind",
    "ExitCode",
    "IoError",
    "SystemSpecificError",
    "ValidationError",
]


class ExitCode:
    """Process exit codes shared by every CLI (CONVENTIONS.md)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    INTERNAL = 3


class ErrorKind(StrEnum):
    """The architecture's error kinds."""

    IO = "io"
    CONFIG = "config"
    CRYPTO = "crypto"
    CONCURRENCY = "concurrency"
    VALIDATION = "validation"
    SYSTEM_SPECIFIC = "system_specific"
    INTERNAL = "internal"


def _jsonable(value: Any) -> Any:
    """Return ``value`` in a form ``json.dumps`` accepts, without losing it."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


class CoreError(Exception):
    """Root of every error raised by shared_core and the systems.

    Args:
        message: what went wrong, in one sentence, for a human.
        hint: what the user can do about it.
        **context: structured fields (a path, a key, a line number) kept for
            telemetry and rendered by the CLI.
    """

    kind: ClassVar[ErrorKind] = ErrorKind.INTERNAL
    exit_code: ClassVar[int] = ExitCode.INTERNAL
    default_hint: ClassVar[str | None] = None

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        self.context: dict[str, Any] = {k: v for k, v in context.items() if v is not None}

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process pools; keep keyword-only fields when pickled.
        return (_rebuild_error, (type(self), self.message, self.hint, self.context))

    @property
    def where(self) -> str | None:
        """A ``path:line:column`` style location when the context has one."""
        path = self.context.get("path")
        if path is None:
            return None
        parts = [str(path)]
        parts.extend(str(self.context[key]) for key in ("line", "column") if key in self.context)
        return ":".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data, for logs, telemetry and ``--json`` output."""
        data: dict[str, Any] = {
            "error": type(self).__name__,
            "kind": self.kind.value,
            "message": self.message,
            "exit_code": self.exit_code,
        }
        if self.hint:
            data["hint"] = self.hint
        if self.context:
            data["context"] = _jsonable(self.context)
        if self.__cause__ is not None:
            data["cause"] = f"{type(self.__cause__).__name__}: {self.__cause__}"
        return data

    def to_json(self) -> str:
        """``to_dict`` as one line of JSON."""
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)

    def one_line(self) -> str:
        """``what (where) — hint`` in a single line, as the CLI prints it."""
        text = self.message.replace("\n", " ")
        where = self.where
        if where and where not in text:
            text = f"{text} ({where})"
        if self.hint:
            text = f"{text}; hint: {self.hint}"
        return text


def _rebuild_error(
    cls: type[CoreError], message: str, hint: str | None, context: dict[str, Any]
) -> CoreError:
    err = cls.__new__(cls)
    CoreError.__init__(err, message, hint=hint, **context)
    Exception.__init__(err, message)
    return err


class IoError(CoreError, OSError):
    """A file, socket or device could not be read or written."""

    kind = ErrorKind.IO
    exit_code = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        CoreError.__init__(self, message, hint=hint, **context)


class ConfigError(CoreError, ValueError):
    """A configuration value is missing or invalid; ``key`` and ``source`` say which."""

    kind = ErrorKind.CONFIG
    exit_code = ExitCode.USAGE


class CryptoError(CoreError):
    """Signing, verification, encryption or key handling failed."""

    kind = ErrorKind.CRYPTO
    exit_code = ExitCode.FAILED


class ConcurrencyError(CoreError):
    """Work could not finish: a timeout, a cancellation, retries exhausted."""

    kind = ErrorKind.CONCURRENCY
    exit_code = ExitCode.FAILED


class DeadlineExceededError(ConcurrencyError, TimeoutError):
    """A deadline passed before the operation finished."""

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        CoreError.__init__(self, message, hint=hint, **context)


class ValidationError(CoreError, ValueError):
    """Input does not have the expected shape; ``field`` names where."""

    kind = ErrorKind.VALIDATION
    exit_code = ExitCode.USAGE


class SystemSpecificError(CoreError):
    """Base class of each system's own ``<System>Error``."""

    kind = ErrorKind.SYSTEM_SPECIFIC
    exit_code = ExitCode.FAILED

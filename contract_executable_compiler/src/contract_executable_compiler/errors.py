"""Errors raised by contract_executable_compiler.

Every error is a :class:`ContractError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code.  Subclasses are named
``Contract<Operation>Error`` and are added with the features that raise them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = [
    "ContractBytecodeError",
    "ContractCompileError",
    "ContractError",
    "ContractEvalError",
    "ContractGasError",
    "ContractInputError",
    "ContractRunError",
]


class ContractError(SystemSpecificError):
    """Base of every contract_executable_compiler error (exit code 1)."""


class ContractInputError(ContractError, ValidationError):
    """Input given to contract_executable_compiler is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind


class ContractCompileError(ContractInputError):
    """Source that does not parse or type-check; carries the diagnostics (exit code 2).

    ``diagnostics`` holds every :class:`Diagnostic` found and ``source`` the
    :class:`Source` they point into, so callers can render them in full.
    """

    def __init__(
        self,
        message: str,
        *,
        diagnostics: Sequence[Any] = (),
        source: Any = None,
        hint: str | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, hint=hint, **context)
        self.diagnostics = list(diagnostics)
        self.source = source


class ContractBytecodeError(ContractInputError):
    """A bytecode file that is corrupted, foreign or of another format version (exit code 2)."""


class ContractEvalError(ContractError):
    """A CEL expression evaluated to an error value (exit code 1)."""


class ContractGasError(ContractError):
    """A run used more gas than its limit; nothing it did was kept (exit code 1)."""


class ContractRunError(ContractError):
    """A contract run failed its checks: a precondition, postcondition or authorisation (exit 1)."""

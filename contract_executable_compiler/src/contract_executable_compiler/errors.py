"""Errors raised by contract_executable_compiler.

Every error is a :class:`ContractError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code.  Subclasses are named
``Contract<Operation>Error`` and are added with the features that raise them.
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = ["ContractError", "ContractInputError"]


class ContractError(SystemSpecificError):
    """Base of every contract_executable_compiler error (exit code 1)."""


class ContractInputError(ContractError, ValidationError):
    """Input given to contract_executable_compiler is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind

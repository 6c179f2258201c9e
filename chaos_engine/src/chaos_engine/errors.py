"""Errors raised by chaos_engine.

Every error is a :class:`ChaosError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code.  Subclasses are named
``Chaos<Operation>Error`` and are added with the features that raise them.
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = ["ChaosError", "ChaosInputError"]


class ChaosError(SystemSpecificError):
    """Base of every chaos_engine error (exit code 1)."""


class ChaosInputError(ChaosError, ValidationError):
    """Input given to chaos_engine is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind

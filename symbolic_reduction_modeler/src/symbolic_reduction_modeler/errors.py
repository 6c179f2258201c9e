"""Errors raised by symbolic_reduction_modeler.

Every error is a :class:`SymbolicError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code.  Subclasses are named
``Symbolic<Operation>Error`` and are added with the features that raise them.
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = ["SymbolicError", "SymbolicInputError", "SymbolicMathError", "SymbolicSyntaxError"]


class SymbolicError(SystemSpecificError):
    """Base of every symbolic_reduction_modeler error (exit code 1)."""


class SymbolicInputError(SymbolicError, ValidationError):
    """Input given to symbolic_reduction_modeler is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind


class SymbolicSyntaxError(SymbolicInputError):
    """Infix text could not be parsed; ``column`` says where (exit code 2)."""


class SymbolicMathError(SymbolicError):
    """The mathematics is undefined: division by zero, log of a non-positive number (exit code 1)."""

"""Errors raised by dynamic_semantic_lattice_engine.

Every error is a :class:`LatticeError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code.  Subclasses are named
``Lattice<Operation>Error`` and are added with the features that raise them.
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = ["LatticeError", "LatticeInputError"]


class LatticeError(SystemSpecificError):
    """Base of every dynamic_semantic_lattice_engine error (exit code 1)."""


class LatticeInputError(LatticeError, ValidationError):
    """Input given to dynamic_semantic_lattice_engine is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind

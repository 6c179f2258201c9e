"""Errors raised by parallel_architecture_framework.

Every error is a :class:`ParallelError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code.  Subclasses are named
``Parallel<Operation>Error`` and are added with the features that raise them.
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = ["ParallelError", "ParallelInputError"]


class ParallelError(SystemSpecificError):
    """Base of every parallel_architecture_framework error (exit code 1)."""


class ParallelInputError(ParallelError, ValidationError):
    """Input given to parallel_architecture_framework is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind

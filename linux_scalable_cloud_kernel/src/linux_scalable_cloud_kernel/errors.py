"""Errors raised by linux_scalable_cloud_kernel.

Every error is a :class:`KernelToolkitError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code.  Subclasses are named
``KernelToolkit<Operation>Error`` and are added with the features that raise them.
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = ["KernelToolkitError", "KernelToolkitInputError", "KernelToolkitParseError"]


class KernelToolkitError(SystemSpecificError):
    """Base of every linux_scalable_cloud_kernel error (exit code 1)."""


class KernelToolkitInputError(KernelToolkitError, ValidationError):
    """Input given to linux_scalable_cloud_kernel is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind


class KernelToolkitParseError(KernelToolkitInputError):
    """A /proc or /sys file (or a fixture standing for one) is malformed; ``path`` and ``line`` say where."""

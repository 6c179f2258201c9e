"""Errors raised by universal_attestation_authority.

Every error is a :class:`AttestationError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code.  Subclasses are named
``Attestation<Operation>Error`` and are added with the features that raise them.
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = ["AttestationError", "AttestationInputError"]


class AttestationError(SystemSpecificError):
    """Base of every universal_attestation_authority error (exit code 1)."""


class AttestationInputError(AttestationError, ValidationError):
    """Input given to universal_attestation_authority is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind

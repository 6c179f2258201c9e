"""Errors raised by universal_attestation_authority.

Every error is a :class:`AttestationError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code::

    AttestationError                      exit 1
    ├── AttestationInputError(ValueError) exit 2  malformed input of any kind
    │   ├── AttestationStatementError             not an in-toto Statement v1
    │   ├── AttestationPolicyError                a policy file that cannot be used
    │   ├── AttestationEnvelopeError              not a DSSE envelope / bundle
    │   └── AttestationTileError                  a tile path or tile body that is malformed
    ├── AttestationKeyError                       unknown key, bad key file, bad rotation
    ├── AttestationVerifyError                    a verification failed; ``rule`` names the rule
    ├── AttestationLogError                       the transparency log refused or is inconsistent
    │   └── AttestationProofError                 an inclusion/consistency proof does not check
    ├── AttestationStoreError                     the SQLite store cannot be read or written
    ├── AttestationWitnessError                   a witness refused to cosign
    │   └── AttestationSplitViewError             two incompatible views of one log were seen
    ├── AttestationAuthError                      issuing without valid credentials
    └── AttestationTlsError                       the authority's TLS CA is missing or unusable
"""

from __future__ import annotations

from typing import Any

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = [
    "AttestationAuthError",
    "AttestationEnvelopeError",
    "AttestationError",
    "AttestationInputError",
    "AttestationKeyError",
    "AttestationLogError",
    "AttestationPolicyError",
    "AttestationProofError",
    "AttestationSplitViewError",
    "AttestationStatementError",
    "AttestationStoreError",
    "AttestationTileError",
    "AttestationTlsError",
    "AttestationVerifyError",
    "AttestationWitnessError",
]


class AttestationError(SystemSpecificError):
    """Base of every universal_attestation_authority error (exit code 1)."""


class AttestationInputError(AttestationError, ValidationError):
    """Input given to universal_attestation_authority is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind


class AttestationStatementError(AttestationInputError):
    """A document is not a valid in-toto Statement v1."""


class AttestationPolicyError(AttestationInputError):
    """A policy file cannot be parsed or refers to something that does not exist."""


class AttestationEnvelopeError(AttestationInputError):
    """A DSSE envelope or attestation bundle is malformed."""


class AttestationTileError(AttestationInputError):
    """A tlog-tiles path, tile body or entry bundle is malformed."""


class AttestationKeyError(AttestationError):
    """A key is unknown, unreadable, or a rotation/revocation is not allowed."""


class AttestationVerifyError(AttestationError):
    """Verification failed; ``rule`` and ``check`` name exactly what failed.

    Args:
        message: the first (most relevant) failure, for a human.
        failures: every failure found, as plain dicts (rule, check, detail).
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        failures: list[dict[str, Any]] | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, hint=hint, **context)
        self.failures: list[dict[str, Any]] = list(failures or [])
        if self.failures:
            self.context["failures"] = self.failures


class AttestationLogError(AttestationError):
    """The transparency log refused an operation or found itself inconsistent."""


class AttestationProofError(AttestationLogError):
    """An inclusion or consistency proof does not verify."""


class AttestationStoreError(AttestationError):
    """The SQLite store cannot be opened, read or written."""


class AttestationWitnessError(AttestationError):
    """A witness refused to cosign a checkpoint, or could not be reached."""


class AttestationSplitViewError(AttestationWitnessError):
    """Two checkpoints of one log cannot both be honest: a split view (fork)."""


class AttestationAuthError(AttestationError):
    """Issuing was attempted without a valid API token or client certificate."""


class AttestationTlsError(AttestationError):
    """The authority's own TLS CA is missing, unusable, or a certificate file cannot be written."""

"""Errors raised by cross_domain_auto_learner.

Every error is a :class:`LearnerError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code::

    LearnerError (exit 1)
    ├── LearnerInputError (exit 2): malformed input: files, arguments, arrays
    │   └── LearnerModelFormatError: a model file is corrupted, foreign or incompatible
    ├── LearnerModelSignatureError: a model's signature is missing or does not verify
    └── LearnerDomainError: the domain registry cannot do what was asked
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = [
    "LearnerDomainError",
    "LearnerError",
    "LearnerInputError",
    "LearnerModelFormatError",
    "LearnerModelSignatureError",
]


class LearnerError(SystemSpecificError):
    """Base of every cross_domain_auto_learner error (exit code 1)."""


class LearnerInputError(LearnerError, ValidationError):
    """Input given to cross_domain_auto_learner is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind


class LearnerModelFormatError(LearnerInputError):
    """A model file is corrupted, truncated, foreign or from an incompatible version."""


class LearnerModelSignatureError(LearnerError):
    """A model file's signature is missing or does not verify (exit code 1)."""


class LearnerDomainError(LearnerError):
    """The domain registry cannot do what was asked (unknown domain, nothing to transfer from)."""

"""Errors raised by cross_domain_auto_learner.

Every error is a :class:`LearnerError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code.  Subclasses are named
``Learner<Operation>Error`` and are added with the features that raise them.
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = ["LearnerError", "LearnerInputError"]


class LearnerError(SystemSpecificError):
    """Base of every cross_domain_auto_learner error (exit code 1)."""


class LearnerInputError(LearnerError, ValidationError):
    """Input given to cross_domain_auto_learner is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind

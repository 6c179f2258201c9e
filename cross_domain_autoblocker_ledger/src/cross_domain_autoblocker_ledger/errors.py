"""Errors raised by cross_domain_autoblocker_ledger.

Every error is a :class:`LedgerError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code.  Subclasses are named
``Ledger<Operation>Error`` and are added with the features that raise them.
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = ["LedgerError", "LedgerInputError"]


class LedgerError(SystemSpecificError):
    """Base of every cross_domain_autoblocker_ledger error (exit code 1)."""


class LedgerInputError(LedgerError, ValidationError):
    """Input given to cross_domain_autoblocker_ledger is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind

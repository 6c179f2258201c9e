"""Errors raised by cross_domain_autoblocker_ledger.

Every error is a :class:`LedgerError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code::

    LedgerError                         exit 1
    ├── LedgerInputError(ValueError)    exit 2  malformed input: a file, an address, a flag
    │   └── LedgerScenarioError         exit 2  a scenario or jail file is invalid
    ├── LedgerIngestError               exit 1  a log could not be read
    ├── LedgerDecisionError             exit 1  a decision cannot be applied (unknown id, ...)
    ├── LedgerStoreError                exit 1  the SQLite store failed
    ├── LedgerReplicationError          exit 1  the NATS JetStream stream is unreachable in time
    └── LedgerIntegrityError            exit 1  stored history does not match its checkpoints
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = [
    "LedgerDecisionError",
    "LedgerError",
    "LedgerIngestError",
    "LedgerInputError",
    "LedgerIntegrityError",
    "LedgerReplicationError",
    "LedgerScenarioError",
    "LedgerStoreError",
]


class LedgerError(SystemSpecificError):
    """Base of every cross_domain_autoblocker_ledger error (exit code 1)."""


class LedgerInputError(LedgerError, ValidationError):
    """Input given to cross_domain_autoblocker_ledger is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind


class LedgerScenarioError(LedgerInputError):
    """A scenario (YAML) or jail (fail2ban INI) definition is invalid."""


class LedgerIngestError(LedgerError):
    """A log file or stream could not be read."""


class LedgerDecisionError(LedgerError):
    """A decision cannot be added, found or deleted."""


class LedgerStoreError(LedgerError):
    """The SQLite store could not be opened, read or written."""


class LedgerIntegrityError(LedgerError):
    """The stored ledger does not match its own hashes or signed checkpoints."""


class LedgerReplicationError(LedgerError):
    """The replication stream could not be reached, created or consumed in time."""

"""Detect offenders across domains, record decisions in a replicated tamper-evident ledger, answer 'is X blocked?' fast."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cross_domain_autoblocker_ledger")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from cross_domain_autoblocker_ledger.config import LedgerSettings
from cross_domain_autoblocker_ledger.errors import LedgerError, LedgerInputError

__all__ = ["LedgerError", "LedgerInputError", "LedgerSettings", "__version__"]

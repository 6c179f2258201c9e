"""The ``cross_domain_autoblocker_ledger`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from cross_domain_autoblocker_ledger import __version__
from cross_domain_autoblocker_ledger.config import LedgerSettings
from shared_core.cli import CliApp

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="cross_domain_autoblocker_ledger",
    version=__version__,
    settings_cls=LedgerSettings,
    description="Detect offenders across domains, record decisions in a replicated tamper-evident ledger, answer 'is X blocked?' fast.",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

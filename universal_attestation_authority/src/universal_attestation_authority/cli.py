"""The ``universal_attestation_authority`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from shared_core.cli import CliApp
from universal_attestation_authority import __version__
from universal_attestation_authority.config import AttestationSettings

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="universal_attestation_authority",
    version=__version__,
    settings_cls=AttestationSettings,
    description="in-toto attestations in DSSE envelopes, a C2SP transparency log with witnesses, and an HTTP service.",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

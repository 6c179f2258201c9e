"""The ``chaos_engine`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from chaos_engine import __version__
from chaos_engine.config import ChaosEngineSettings
from shared_core.cli import CliApp

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="chaos_engine",
    version=__version__,
    settings_cls=ChaosEngineSettings,
    description="Fault injection and resilience experiments: Chaos Toolkit-compatible experiments, a Toxiproxy-compatible fault proxy, host faults that roll back.",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

"""The ``parallel_architecture_framework`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from parallel_architecture_framework import __version__
from parallel_architecture_framework.config import ParallelSettings
from shared_core.cli import CliApp

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="parallel_architecture_framework",
    version=__version__,
    settings_cls=ParallelSettings,
    description="Task graphs that run unchanged on a local pool or on Dask distributed.",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

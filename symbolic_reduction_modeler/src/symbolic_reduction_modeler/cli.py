"""The ``symbolic_reduction_modeler`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from shared_core.cli import CliApp
from symbolic_reduction_modeler import __version__
from symbolic_reduction_modeler.config import SymbolicSettings

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="symbolic_reduction_modeler",
    version=__version__,
    settings_cls=SymbolicSettings,
    description="A computer algebra engine for algebraic reduction on a FLINT core.",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

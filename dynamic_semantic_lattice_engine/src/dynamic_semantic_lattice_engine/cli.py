"""The ``dynamic_semantic_lattice_engine`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from dynamic_semantic_lattice_engine import __version__
from dynamic_semantic_lattice_engine.config import LatticeEngineSettings
from shared_core.cli import CliApp

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="dynamic_semantic_lattice_engine",
    version=__version__,
    settings_cls=LatticeEngineSettings,
    description="A Datalog-with-lattices reasoner over RDF and relations: incremental, mergeable, with concept lattices.",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

"""The ``contract_executable_compiler`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from contract_executable_compiler import __version__
from contract_executable_compiler.config import ContractCompilerSettings
from shared_core.cli import CliApp

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="contract_executable_compiler",
    version=__version__,
    settings_cls=ContractCompilerSettings,
    description="A compiler for executable contracts: a typed contract language with CEL expressions, compiled to a gas-metered deterministic VM.",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

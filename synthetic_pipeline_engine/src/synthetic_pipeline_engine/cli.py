"""The ``synthetic_pipeline_engine`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from shared_core.cli import CliApp
from synthetic_pipeline_engine import __version__
from synthetic_pipeline_engine.config import PipelineSettings

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="synthetic_pipeline_engine",
    version=__version__,
    settings_cls=PipelineSettings,
    description="Declarative data pipelines with caching and lineage, and synthetic data that keeps the statistics of the real thing.",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

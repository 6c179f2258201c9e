"""The ``cross_domain_auto_learner`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from cross_domain_auto_learner import __version__
from cross_domain_auto_learner.config import AutoLearnerSettings
from shared_core.cli import CliApp

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="cross_domain_auto_learner",
    version=__version__,
    settings_cls=AutoLearnerSettings,
    description="Online learners with drift adaptation, automatic model selection and transfer between domains.",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

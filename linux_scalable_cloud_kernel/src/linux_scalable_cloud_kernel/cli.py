"""The ``linux_scalable_cloud_kernel`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from linux_scalable_cloud_kernel import __version__
from linux_scalable_cloud_kernel.config import KernelToolkitSettings
from shared_core.cli import CliApp

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="linux_scalable_cloud_kernel",
    version=__version__,
    settings_cls=KernelToolkitSettings,
    description="A kernel module for source-address blocklists and the userspace toolkit around it: node metrics, cgroups, tuning profiles, module control.",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

"""The ``shared_core`` command line: the shared tools, usable on their own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, NoReturn

from shared_core import __version__
from shared_core.cli import CliApp
from shared_core.config import CoreSettings, settings_config

__all__ = ["SharedCoreSettings", "app", "main", "run"]


class SharedCoreSettings(CoreSettings):
    """Settings of the ``shared_core`` command itself."""

    system: ClassVar[str] = "shared_core"
    model_config = settings_config("shared_core")


app = CliApp(
    prog="shared_core",
    version=__version__,
    settings_cls=SharedCoreSettings,
    description="Shared foundations of the internal-tools systems: keys, signatures, "
    "DSSE envelopes, Merkle proofs and signed checkpoints from the command line.",
)


def main(argv: Sequence[str] | None = None) -> int:
    return app.main(argv)


def run() -> NoReturn:
    app.run()

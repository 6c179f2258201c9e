"""Settings of symbolic_reduction_modeler: defaults < TOML file < ``SYMBOLIC_REDUCTION_MODELER_*`` environment < CLI flags."""

from __future__ import annotations

from typing import ClassVar

from shared_core.config import CoreSettings, settings_config

__all__ = ["SymbolicSettings"]


class SymbolicSettings(CoreSettings):
    """Settings of symbolic_reduction_modeler; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "symbolic_reduction_modeler"
    model_config = settings_config("symbolic_reduction_modeler")

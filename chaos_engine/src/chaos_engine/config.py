"""Settings of chaos_engine: defaults < TOML file < ``CHAOS_ENGINE_*`` environment < CLI flags."""

from __future__ import annotations

from typing import ClassVar

from shared_core.config import CoreSettings, settings_config

__all__ = ["ChaosEngineSettings"]


class ChaosEngineSettings(CoreSettings):
    """Settings of chaos_engine; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "chaos_engine"
    model_config = settings_config("chaos_engine")

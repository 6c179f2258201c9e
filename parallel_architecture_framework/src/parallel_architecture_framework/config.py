"""Settings of parallel_architecture_framework: defaults < TOML file < ``PARALLEL_ARCHITECTURE_FRAMEWORK_*`` environment < CLI flags."""

from __future__ import annotations

from typing import ClassVar

from shared_core.config import CoreSettings, settings_config

__all__ = ["ParallelSettings"]


class ParallelSettings(CoreSettings):
    """Settings of parallel_architecture_framework; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "parallel_architecture_framework"
    model_config = settings_config("parallel_architecture_framework")

"""Settings of dynamic_semantic_lattice_engine: defaults < TOML file < ``DYNAMIC_SEMANTIC_LATTICE_ENGINE_*`` environment < CLI flags."""

from __future__ import annotations

from typing import ClassVar

from shared_core.config import CoreSettings, settings_config

__all__ = ["LatticeEngineSettings"]


class LatticeEngineSettings(CoreSettings):
    """Settings of dynamic_semantic_lattice_engine; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "dynamic_semantic_lattice_engine"
    model_config = settings_config("dynamic_semantic_lattice_engine")

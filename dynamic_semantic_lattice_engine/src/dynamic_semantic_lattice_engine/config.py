"""Settings of dynamic_semantic_lattice_engine: defaults < TOML file < ``DYNAMIC_SEMANTIC_LATTICE_ENGINE_*`` environment < CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from shared_core.config import CoreSettings, settings_config

__all__ = ["LatticeEngineSettings"]


class LatticeEngineSettings(CoreSettings):
    """Settings of dynamic_semantic_lattice_engine; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "dynamic_semantic_lattice_engine"
    model_config = settings_config("dynamic_semantic_lattice_engine")

    store: Path = Field(
        default=Path("dsle.sqlite"),
        description="SQLite file holding the knowledge base between commands",
    )
    replica: str = Field(
        default="",
        description="this replica's name in last-writer-wins stamps (default: host-pid at creation)",
    )
    query_limit: int = Field(
        default=1000, ge=0, description="most answers a query prints (0: no limit)"
    )

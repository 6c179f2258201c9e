"""Settings of synthetic_pipeline_engine: defaults < TOML file < ``SYNTHETIC_PIPELINE_ENGINE_*`` environment < CLI flags."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared_core.config import CoreSettings, settings_config

__all__ = ["PipelineSettings"]


class PipelineSettings(CoreSettings):
    """Settings of synthetic_pipeline_engine; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "synthetic_pipeline_engine"
    model_config = settings_config("synthetic_pipeline_engine")

    state_dir: str | None = Field(
        default=None,
        description="where run history, cache and lineage live (default: .spe beside the pipeline file, or ./.spe)",
    )
    workers: int = Field(
        default=2, ge=1, le=256, description="stages run at once (threads or worker processes)"
    )
    executor: Literal["local", "paf:threads", "paf:processes"] = Field(
        default="local",
        description="where stages run: local threads, or parallel_architecture_framework's "
        "threads or processes (needs the paf extra)",
    )

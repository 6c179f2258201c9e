"""Settings of parallel_architecture_framework: defaults < TOML file < ``PARALLEL_ARCHITECTURE_FRAMEWORK_*`` environment < CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from shared_core.config import CoreSettings, settings_config

__all__ = ["ParallelSettings"]


class ParallelSettings(CoreSettings):
    """Settings of parallel_architecture_framework; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "parallel_architecture_framework"
    model_config = settings_config("parallel_architecture_framework")

    executor: str = Field(
        "processes",
        description="where tasks run: processes, threads, async, dask, or dask://HOST:PORT",
    )
    workers: int | None = Field(
        None, ge=1, description="worker count (default: the cores available to this process)"
    )
    max_in_flight: int | None = Field(
        None, ge=1, description="most task attempts handed to the executor at once"
    )
    max_pending: int | None = Field(
        None, ge=1, description="most unsettled tasks before submitting blocks (backpressure)"
    )
    cache_dir: Path | None = Field(
        None,
        description="result store of cache=True tasks (default: ~/.cache/parallel_architecture_framework)",
    )
    cluster_state: Path | None = Field(
        None, description="where 'cluster start' records the processes it started"
    )

"""Settings of linux_scalable_cloud_kernel: defaults < TOML file < ``LINUX_SCALABLE_CLOUD_KERNEL_*`` environment < CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from shared_core.config import CoreSettings, settings_config

__all__ = ["KernelToolkitSettings"]


class KernelToolkitSettings(CoreSettings):
    """Settings of linux_scalable_cloud_kernel; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "linux_scalable_cloud_kernel"
    model_config = settings_config("linux_scalable_cloud_kernel")

    root: Path = Field(
        default=Path("/"),
        description="filesystem root holding proc/ and sys/ (a fixture tree in tests)",
    )
    state_dir: Path = Field(
        default=Path("/var/lib/lsck"),
        description="where tuning snapshots are kept for rollback",
    )
    cgroup_mount: Path | None = Field(
        default=None,
        description="cgroup2 mount point (default: found in ROOT/proc/self/mountinfo)",
    )

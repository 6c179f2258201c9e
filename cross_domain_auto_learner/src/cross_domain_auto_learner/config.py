"""Settings of cross_domain_auto_learner: defaults < TOML file < ``CROSS_DOMAIN_AUTO_LEARNER_*`` environment < CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from shared_core.config import CoreSettings, settings_config

__all__ = ["AutoLearnerSettings"]


class AutoLearnerSettings(CoreSettings):
    """Settings of cross_domain_auto_learner; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "cross_domain_auto_learner"
    model_config = settings_config("cross_domain_auto_learner")

    batch_size: int = Field(64, ge=1, description="examples per learn/predict step")
    window: int = Field(1000, ge=1, description="width of windowed metrics, in examples")
    seed: int = Field(42, description="seed of synthetic streams and randomised learners")
    synthetic_samples: int = Field(10000, ge=1, description="length of synthetic:NAME streams")
    registry: Path = Field(
        Path.home() / ".local" / "share" / "cross_domain_auto_learner" / "domains.json",
        description="domain registry file",
    )

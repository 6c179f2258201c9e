"""Settings of cross_domain_auto_learner: defaults < TOML file < ``CROSS_DOMAIN_AUTO_LEARNER_*`` environment < CLI flags."""

from __future__ import annotations

from typing import ClassVar

from shared_core.config import CoreSettings, settings_config

__all__ = ["AutoLearnerSettings"]


class AutoLearnerSettings(CoreSettings):
    """Settings of cross_domain_auto_learner; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "cross_domain_auto_learner"
    model_config = settings_config("cross_domain_auto_learner")

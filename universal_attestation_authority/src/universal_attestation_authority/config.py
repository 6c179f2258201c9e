"""Settings of universal_attestation_authority: defaults < TOML file < ``UNIVERSAL_ATTESTATION_AUTHORITY_*`` environment < CLI flags."""

from __future__ import annotations

from typing import ClassVar

from shared_core.config import CoreSettings, settings_config

__all__ = ["AttestationSettings"]


class AttestationSettings(CoreSettings):
    """Settings of universal_attestation_authority; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "universal_attestation_authority"
    model_config = settings_config("universal_attestation_authority")

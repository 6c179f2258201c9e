"""Settings of cross_domain_autoblocker_ledger: defaults < TOML file < ``CROSS_DOMAIN_AUTOBLOCKER_LEDGER_*`` environment < CLI flags."""

from __future__ import annotations

from typing import ClassVar

from shared_core.config import CoreSettings, settings_config

__all__ = ["LedgerSettings"]


class LedgerSettings(CoreSettings):
    """Settings of cross_domain_autoblocker_ledger; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "cross_domain_autoblocker_ledger"
    model_config = settings_config("cross_domain_autoblocker_ledger")

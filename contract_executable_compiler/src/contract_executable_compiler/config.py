"""Settings of contract_executable_compiler: defaults < TOML file < ``CONTRACT_EXECUTABLE_COMPILER_*`` environment < CLI flags."""

from __future__ import annotations

from typing import ClassVar

from shared_core.config import CoreSettings, settings_config

__all__ = ["ContractCompilerSettings"]


class ContractCompilerSettings(CoreSettings):
    """Settings of contract_executable_compiler; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "contract_executable_compiler"
    model_config = settings_config("contract_executable_compiler")

"""Settings of contract_executable_compiler: defaults < TOML file < ``CONTRACT_EXECUTABLE_COMPILER_*`` environment < CLI flags."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared_core.config import CoreSettings, settings_config

__all__ = ["ContractCompilerSettings"]


class ContractCompilerSettings(CoreSettings):
    """Settings of contract_executable_compiler; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "contract_executable_compiler"
    model_config = settings_config("contract_executable_compiler")

    gas_limit: int = Field(
        default=1_000_000,
        ge=1,
        description="gas each contract step (or expression evaluation) may use before it stops",
    )
    max_iterations: int = Field(
        default=10_000,
        ge=1,
        le=10_000_000,
        description="longest list or map a comprehension may iterate over (bounds static gas)",
    )

"""Fault injection and resilience experiments: Chaos Toolkit-compatible experiments, a Toxiproxy-compatible fault proxy, host faults that roll back."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chaos_engine")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from chaos_engine.config import ChaosEngineSettings
from chaos_engine.errors import ChaosError, ChaosInputError

__all__ = ["ChaosEngineSettings", "ChaosError", "ChaosInputError", "__version__"]

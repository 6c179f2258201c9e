"""Declarative data pipelines with caching and lineage, and synthetic data that keeps the statistics of the real thing."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("synthetic_pipeline_engine")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from synthetic_pipeline_engine.config import PipelineSettings
from synthetic_pipeline_engine.errors import PipelineError, PipelineInputError

__all__ = ["PipelineError", "PipelineInputError", "PipelineSettings", "__version__"]

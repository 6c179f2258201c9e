"""Task graphs that run unchanged on a local pool or on Dask distributed."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("parallel_architecture_framework")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from parallel_architecture_framework.config import ParallelSettings
from parallel_architecture_framework.errors import ParallelError, ParallelInputError

__all__ = ["ParallelError", "ParallelInputError", "ParallelSettings", "__version__"]

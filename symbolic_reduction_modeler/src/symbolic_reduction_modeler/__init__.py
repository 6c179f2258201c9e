"""A computer algebra engine for algebraic reduction on a FLINT core."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("symbolic_reduction_modeler")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from symbolic_reduction_modeler.config import SymbolicSettings
from symbolic_reduction_modeler.errors import SymbolicError, SymbolicInputError

__all__ = ["SymbolicError", "SymbolicInputError", "SymbolicSettings", "__version__"]

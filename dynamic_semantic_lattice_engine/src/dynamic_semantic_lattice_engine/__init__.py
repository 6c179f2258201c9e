"""A Datalog-with-lattices reasoner over RDF and relations: incremental, mergeable, with concept lattices."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dynamic_semantic_lattice_engine")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from dynamic_semantic_lattice_engine.config import LatticeEngineSettings
from dynamic_semantic_lattice_engine.errors import LatticeError, LatticeInputError

__all__ = ["LatticeEngineSettings", "LatticeError", "LatticeInputError", "__version__"]

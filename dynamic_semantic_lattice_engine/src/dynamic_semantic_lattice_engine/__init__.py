"""A Datalog-with-lattices reasoner over RDF and relations: incremental, mergeable, with concept lattices."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dynamic_semantic_lattice_engine")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from dynamic_semantic_lattice_engine._engine import Derivation, Engine, EvaluationStats
from dynamic_semantic_lattice_engine._fca import Concept, ConceptLattice, FormalContext
from dynamic_semantic_lattice_engine._knowledge import KnowledgeBase
from dynamic_semantic_lattice_engine._lattice import (
    FiniteLattice,
    Interval,
    IntervalLattice,
    LastWriterWins,
    Lattice,
    MaxLattice,
    MinLattice,
    SetUnionLattice,
    Stamp,
    UserLattice,
    builtin_lattice,
    check_lattice_laws,
    check_monotone,
)
from dynamic_semantic_lattice_engine._maintenance import insert, recompute, retract
from dynamic_semantic_lattice_engine._parser import parse_atom, parse_program, parse_query
from dynamic_semantic_lattice_engine._portable import PortableEvaluator, SafetyViolationError
from dynamic_semantic_lattice_engine._program import Program
from dynamic_semantic_lattice_engine._rulesets import ruleset
from dynamic_semantic_lattice_engine._terms import TermDictionary
from dynamic_semantic_lattice_engine.config import LatticeEngineSettings
from dynamic_semantic_lattice_engine.errors import (
    LatticeContextError,
    LatticeDeltaError,
    LatticeError,
    LatticeEvaluationError,
    LatticeInputError,
    LatticeLawError,
    LatticeParseError,
    LatticeProgramError,
    LatticeRdfError,
    LatticeStoreError,
    LatticeStoreFormatError,
)

SemanticLattice = KnowledgeBase
"""The architecture's name for a knowledge base (``insert``/``merge``/``get``)."""

__all__ = [
    "Concept",
    "ConceptLattice",
    "Derivation",
    "Engine",
    "EvaluationStats",
    "FiniteLattice",
    "FormalContext",
    "Interval",
    "IntervalLattice",
    "KnowledgeBase",
    "LastWriterWins",
    "Lattice",
    "LatticeContextError",
    "LatticeDeltaError",
    "LatticeEngineSettings",
    "LatticeError",
    "LatticeEvaluationError",
    "LatticeInputError",
    "LatticeLawError",
    "LatticeParseError",
    "LatticeProgramError",
    "LatticeRdfError",
    "LatticeStoreError",
    "LatticeStoreFormatError",
    "MaxLattice",
    "MinLattice",
    "PortableEvaluator",
    "Program",
    "SafetyViolationError",
    "SemanticLattice",
    "SetUnionLattice",
    "Stamp",
    "TermDictionary",
    "UserLattice",
    "__version__",
    "builtin_lattice",
    "check_lattice_laws",
    "check_monotone",
    "insert",
    "parse_atom",
    "parse_program",
    "parse_query",
    "recompute",
    "retract",
    "ruleset",
]

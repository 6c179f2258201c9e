"""Errors raised by dynamic_semantic_lattice_engine.

Every error is a :class:`LatticeError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code::

    LatticeError                       exit 1
    ├── LatticeInputError(ValueError)  exit 2  malformed input of any kind
    │   ├── LatticeParseError          a Datalog program or query does not parse
    │   ├── LatticeRdfError            an RDF document does not parse / cannot be written
    │   ├── LatticeContextError        a formal context (CSV) is malformed
    │   ├── LatticeProgramError        a program parses but is not valid (arity, unsafe, unstratifiable)
    │   ├── LatticeDeltaError          a replica delta document is malformed
    │   └── LatticeStoreFormatError    ``--store`` names a file that is not a dsle store
    ├── LatticeLawError                a user lattice breaks a lattice law
    ├── LatticeStoreError              the persisted store cannot be read or written
    └── LatticeEvaluationError         evaluation failed (e.g. an arithmetic error in a rule)
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = [
    "LatticeContextError",
    "LatticeDeltaError",
    "LatticeError",
    "LatticeEvaluationError",
    "LatticeInputError",
    "LatticeLawError",
    "LatticeParseError",
    "LatticeProgramError",
    "LatticeRdfError",
    "LatticeStoreError",
    "LatticeStoreFormatError",
]


class LatticeError(SystemSpecificError):
    """Base of every dynamic_semantic_lattice_engine error (exit code 1)."""


class LatticeInputError(LatticeError, ValidationError):
    """Input given to dynamic_semantic_lattice_engine is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind


class LatticeParseError(LatticeInputError):
    """A Datalog program, rule or query does not parse; context names line and column."""


class LatticeRdfError(LatticeInputError):
    """An RDF document cannot be parsed in the stated format, or cannot be serialised."""


class LatticeContextError(LatticeInputError):
    """A formal context for concept analysis is malformed."""


class LatticeProgramError(LatticeInputError):
    """A program parses but cannot run: arity mismatch, unsafe variable, unstratifiable."""


class LatticeDeltaError(LatticeInputError):
    """A replica delta (export/import document) is malformed or of an unknown version."""


class LatticeLawError(LatticeError):
    """A user-defined lattice violates a lattice law, so the engine refuses to trust it."""


class LatticeStoreError(LatticeError):
    """The persisted knowledge base cannot be opened, read or written."""


class LatticeEvaluationError(LatticeError):
    """Evaluating a program failed at run time (for example a division by zero in a rule)."""


class LatticeStoreFormatError(LatticeInputError, LatticeStoreError):
    """The store path names something that is not a dsle SQLite store (bad input, exit code 2).

    Both a store error (callers catching :class:`LatticeStoreError` still see
    it) and an input error: the user pointed ``--store`` at the wrong file,
    which nothing the engine does can fix.
    """

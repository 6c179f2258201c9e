"""Errors raised by synthetic_pipeline_engine.

Every error is a :class:`PipelineError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code::

    PipelineError                      exit 1
    ├── PipelineInputError(ValueError) exit 2  a malformed pipeline, schema, table or flag
    │   ├── PipelineSpecError                  the pipeline file itself (names the stage)
    │   ├── PipelineDagError                   cycles, missing inputs, type mismatches
    │   └── PipelineSchemaError                a generator schema
    ├── PipelineStageError                     a stage raised; ``stage`` says which
    │   └── PipelineStageTimeoutError          a stage ran past its ``timeout``
    ├── PipelineValidationError                expectations failed on a stage's data
    ├── PipelineStoreError                     the run history / cache could not be used
    └── PipelineModelError                     fitting or sampling a synthesizer failed
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = [
    "PipelineDagError",
    "PipelineError",
    "PipelineInputError",
    "PipelineModelError",
    "PipelineSchemaError",
    "PipelineSpecError",
    "PipelineStageError",
    "PipelineStageTimeoutError",
    "PipelineStoreError",
    "PipelineValidationError",
]


class PipelineError(SystemSpecificError):
    """Base of every synthetic_pipeline_engine error (exit code 1)."""


class PipelineInputError(PipelineError, ValidationError):
    """Input given to synthetic_pipeline_engine is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind


class PipelineSpecError(PipelineInputError):
    """A pipeline declaration is malformed; ``stage`` names the stage when known."""


class PipelineDagError(PipelineInputError):
    """The stage graph is unusable: a cycle, a missing input or a type mismatch."""


class PipelineSchemaError(PipelineInputError):
    """A synthetic-data schema is malformed; ``table`` and ``column`` say where."""


class PipelineStageError(PipelineError):
    """A stage failed after its retries; ``stage`` names it."""


class PipelineStageTimeoutError(PipelineStageError):
    """A stage attempt ran longer than its ``timeout``."""


class PipelineValidationError(PipelineError):
    """A validator stage's expectations did not hold on the data."""


class PipelineStoreError(PipelineError):
    """The run-history database or the cache directory could not be used."""


class PipelineModelError(PipelineError):
    """A synthesizer could not be fitted, saved, loaded or sampled."""

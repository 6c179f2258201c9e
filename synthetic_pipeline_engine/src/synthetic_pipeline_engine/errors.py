"""Errors raised by synthetic_pipeline_engine.

Every error is a :class:`PipelineError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code.  Subclasses are named
``Pipeline<Operation>Error`` and are added with the features that raise them.
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = ["PipelineError", "PipelineInputError"]


class PipelineError(SystemSpecificError):
    """Base of every synthetic_pipeline_engine error (exit code 1)."""


class PipelineInputError(PipelineError, ValidationError):
    """Input given to synthetic_pipeline_engine is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind

"""Errors raised by chaos_engine.

Every error is a :class:`ChaosError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code::

    ChaosError                        exit 1
    ├── ChaosInputError(ValueError)   exit 2  malformed input
    │   └── ChaosExperimentError      exit 2  an experiment file that is not valid; ``path`` names where
    ├── ChaosActivityError            exit 1  a provider failed (the journal records it; never reaches a user)
    ├── ChaosProxyError               exit 1  the fault proxy could not do what was asked
    └── ChaosFaultError               exit 1  a host fault could not be injected or undone
        └── ChaosFaultRefusedError    exit 2  a fault's target is outside what the experiment allows
"""

from __future__ import annotations

from shared_core.errors import SystemSpecificError, ValidationError

__all__ = [
    "ChaosActivityError",
    "ChaosError",
    "ChaosExperimentError",
    "ChaosFaultError",
    "ChaosFaultRefusedError",
    "ChaosInputError",
    "ChaosProxyError",
]


class ChaosError(SystemSpecificError):
    """Base of every chaos_engine error (exit code 1)."""


class ChaosInputError(ChaosError, ValidationError):
    """Input given to chaos_engine is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind


class ChaosExperimentError(ChaosInputError):
    """An experiment file is not valid; ``context['path']`` is the JSON path of the fault."""

    @property
    def where(self) -> str | None:
        file = self.context.get("file")
        path = self.context.get("path")
        if file is None and path is None:
            return None
        return ":".join(str(p) for p in (file, path) if p is not None)


class ChaosActivityError(ChaosError):
    """A probe or action failed; the runner records it in the journal as ``failed``."""


class ChaosProxyError(ChaosError):
    """The fault proxy could not do what was asked (bind a port, reach an upstream)."""


class ChaosFaultError(ChaosError):
    """A host fault could not be injected, or its undo failed."""


class ChaosFaultRefusedError(ChaosFaultError, ValueError):
    """A fault's target is outside what the experiment's configuration allows (exit code 2)."""

    exit_code = ValidationError.exit_code

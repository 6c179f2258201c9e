"""Errors raised by parallel_architecture_framework.

Every error is a :class:`ParallelError`, itself a
:class:`shared_core.errors.SystemSpecificError`, so the CLI renders it as one
line with a hint and the right exit code::

    ParallelError                          exit 1
    ├── ParallelInputError(ValueError)     exit 2  bad input: a spec, a graph, a setting
    │   └── ParallelResourceError          a task asks for more than any worker has
    ├── ParallelTaskError                  a task raised; ``__cause__`` is its exception
    ├── ParallelDependencyError            a dependency failed; ``chain`` names the path
    ├── ParallelCancelledError             the task was cancelled before it finished
    ├── ParallelTimeoutError(TimeoutError) a task or a gather passed its deadline
    ├── ParallelWorkerLostError            the worker died too often while running a task
    ├── ParallelExecutorError              an executor cannot start or has shut down
    └── ParallelCacheError(OSError)        the result store cannot be read or written
"""

from __future__ import annotations

from typing import Any

from shared_core.errors import (
    ConcurrencyError,
    CoreError,
    DeadlineExceededError,
    IoError,
    SystemSpecificError,
    ValidationError,
)

__all__ = [
    "ParallelCacheError",
    "ParallelCancelledError",
    "ParallelDependencyError",
    "ParallelError",
    "ParallelExecutorError",
    "ParallelInputError",
    "ParallelResourceError",
    "ParallelTaskError",
    "ParallelTimeoutError",
    "ParallelWorkerLostError",
]


class ParallelError(SystemSpecificError):
    """Base of every parallel_architecture_framework error (exit code 1)."""


class ParallelInputError(ParallelError, ValidationError):
    """Input given to parallel_architecture_framework is malformed (exit code 2)."""

    exit_code = ValidationError.exit_code
    kind = ValidationError.kind


class ParallelResourceError(ParallelInputError):
    """A task declares resources (cpu, memory, tags) that no worker of the executor offers."""


class ParallelTaskError(ParallelError):
    """A task raised an exception after its retries; the original is ``__cause__``."""


class ParallelDependencyError(ParallelError):
    """A task never ran because a task it depends on failed or was cancelled.

    ``context["chain"]`` lists task keys from the failed root to this task.
    """


class ParallelCancelledError(ParallelError):
    """A task was cancelled (by the caller, or because the run is shutting down)."""

    kind = ConcurrencyError.kind


class ParallelTimeoutError(ParallelError, DeadlineExceededError):
    """A task attempt or a gather did not finish before its deadline."""

    kind = ConcurrencyError.kind

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        CoreError.__init__(self, message, hint=hint, **context)


class ParallelWorkerLostError(ParallelError):
    """The worker running a task died more times than the task's ``max_worker_losses``."""


class ParallelExecutorError(ParallelError):
    """An executor could not start, is not installed, or was used after shutdown."""


class ParallelCacheError(ParallelError, IoError):
    """The local result store could not be read or written."""

    kind = IoError.kind

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        CoreError.__init__(self, message, hint=hint, **context)

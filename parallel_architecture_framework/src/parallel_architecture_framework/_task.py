"""Tasks: plain functions with the policy a scheduler needs to run them well.

A :class:`Task` wraps a sync or async function with what the scheduler must
know and the function itself cannot say: the resources one call occupies, how
often to retry and how long to wait between attempts, a per-attempt timeout,
whether its result may be cached, and a relative cost that feeds critical-path
priorities.  Calling a task calls the function directly (tasks stay plain
functions, testable without any executor); submitting it to a
:class:`~parallel_architecture_framework.Client` schedules it.
"""

from __future__ import annotations

import functools
import inspect
import math
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, ParamSpec, TypeVar, overload

from parallel_architecture_framework.errors import ParallelInputError

__all__ = ["Resources", "RetryPolicy", "Task", "task"]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Resources:
    """What one running call occupies, or what one worker offers.

    Args:
        cpu: cores (fractions allowed); a worker offers one per slot by default.
        memory: bytes; ``0`` means the task does not declare memory.
        tags: named capabilities a worker must offer (``{"gpu"}``); counted, not shared.
    """

    cpu: float = 1.0
    memory: int = 0
    tags: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cpu) and self.cpu >= 0):
            raise ParallelInputError(
                f"resource cpu={self.cpu!r} is not a non-negative number",
                field="cpu",
                hint="declare cpu as a count of cores, e.g. 1 or 0.5",
            )
        if self.memory < 0:
            raise ParallelInputError(
                f"resource memory={self.memory!r} is negative",
                field="memory",
                hint="declare memory in bytes, e.g. 2**30 for 1 GiB",
            )
        for name, amount in self.tags.items():
            if not (math.isfinite(amount) and amount >= 0):
                raise ParallelInputError(
                    f"resource tag {name!r}={amount!r} is not a non-negative number",
                    field="tags",
                    hint="give each tag a count, e.g. {'gpu': 1}",
                )

    def fits(self, free: Resources) -> bool:
        """Whether a call needing ``self`` fits in ``free``."""
        if self.cpu > free.cpu + 1e-9 or self.memory > free.memory:
            return False
        return all(amount <= free.tags.get(name, 0.0) + 1e-9 for name, amount in self.tags.items())

    def __add__(self, other: Resources) -> Resources:
        tags = dict(self.tags)
        for name, amount in other.tags.items():
            tags[name] = tags.get(name, 0.0) + amount
        return Resources(self.cpu + other.cpu, self.memory + other.memory, tags)

    def __sub__(self, other: Resources) -> Resources:
        tags = dict(self.tags)
        for name, amount in other.tags.items():
            tags[name] = tags.get(name, 0.0) - amount
        return Resources(max(self.cpu - other.cpu, 0.0), max(self.memory - other.memory, 0), tags)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a failing attempt is retried: exponential backoff with full jitter.

    The delay before retry ``n`` (1-based) is a uniform draw from
    ``[0, min(max_delay, base_delay * multiplier**(n-1))]`` when ``jitter`` is
    set, else exactly that bound.  Only exceptions that are instances of
    ``retry_on`` are retried; anything else fails the task at once.
    """

    retries: int = 0
    base_delay: float = 0.05
    multiplier: float = 2.0
    max_delay: float = 5.0
    jitter: bool = True
    retry_on: tuple[type[BaseException], ...] = (Exception,)

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ParallelInputError(
                f"retries={self.retries} is negative", field="retries", hint="use 0 or more"
            )
        if self.base_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise ParallelInputError(
                "backoff delays must be >= 0 and the multiplier >= 1",
                field="backoff",
                hint="e.g. base_delay=0.05, multiplier=2, max_delay=5",
            )

    def delay(self, retry: int, draw: float) -> float:
        """Seconds to wait before retry number ``retry``; ``draw`` is uniform in [0, 1)."""
        bound = min(self.max_delay, self.base_delay * self.multiplier ** max(retry - 1, 0))
        return bound * draw if self.jitter else bound


@dataclass(frozen=True, slots=True)
class Task(Generic[P, R]):
    """A function plus its scheduling policy; call it like the function.

    Attributes:
        func: the sync or async function.
        name: a readable prefix for task keys (default: the function's name).
        resources: what one call occupies on a worker; ``None`` (undeclared)
            means the task is bounded only by the executor's slots.
        retry: the retry policy.
        timeout: seconds one attempt may run; ``None`` for no limit.
        cache: whether results are stored by the content hash of function and inputs.
        cache_version: bump it to invalidate cached results when behaviour
            changes without the code changing (e.g. a data file it reads).
        cost: a relative run-time estimate used for critical-path priorities.
        max_worker_losses: how many times a worker may die under this task
            before the task fails with ``ParallelWorkerLostError``.
    """

    func: Callable[P, R]
    name: str
    resources: Resources | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float | None = None
    cache: bool = False
    cache_version: str = ""
    cost: float = 1.0
    max_worker_losses: int = 3
    is_async: bool = field(init=False, repr=False, compare=False)
    """Whether the function is a coroutine function (computed once, at declaration)."""

    def __post_init__(self) -> None:
        if not callable(self.func):
            raise ParallelInputError(
                f"task {self.name!r} wraps {type(self.func).__name__}, which is not callable",
                hint="decorate a function with @task",
            )
        if self.timeout is not None and not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise ParallelInputError(
                f"timeout={self.timeout!r} for task {self.name!r} is not a positive number",
                field="timeout",
                hint="give seconds, e.g. timeout=30, or None for no limit",
            )
        if not (self.cost > 0 and math.isfinite(self.cost)):
            raise ParallelInputError(
                f"cost={self.cost!r} for task {self.name!r} is not a positive number",
                field="cost",
                hint="cost is a relative estimate, e.g. 1 for typical and 10 for heavy",
            )
        if self.max_worker_losses < 0:
            raise ParallelInputError(
                f"max_worker_losses={self.max_worker_losses} is negative",
                field="max_worker_losses",
                hint="use 0 or more",
            )
        func = self.func.func if isinstance(self.func, functools.partial) else self.func
        object.__setattr__(self, "is_async", inspect.iscoroutinefunction(func))

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.func(*args, **kwargs)

    def with_options(self, **changes: Any) -> Task[P, R]:
        """A copy with some options changed (``resources``, ``timeout``, ...)."""
        return replace(self, **changes)


def as_task(func: Callable[..., Any] | Task[Any, Any]) -> Task[Any, Any]:
    """``func`` itself when it is a :class:`Task`, else a task with default policy."""
    if isinstance(func, Task):
        return func
    try:
        cached = _DEFAULT_TASKS.get(func)
    except TypeError:  # unhashable or not weak-referenceable: wrap afresh
        return Task(func, _name_of(func))
    if cached is not None:
        return cached
    made: Task[Any, Any] = Task(func, _name_of(func))
    try:
        _DEFAULT_TASKS[func] = made
    except TypeError:  # callables without weak references are wrapped afresh each time
        return made
    return made


_DEFAULT_TASKS: weakref.WeakKeyDictionary[Callable[..., Any], Task[Any, Any]] = (
    weakref.WeakKeyDictionary()
)


def _name_of(func: Callable[..., Any]) -> str:
    if isinstance(func, functools.partial):
        return _name_of(func.func)
    return str(getattr(func, "__name__", None) or type(func).__name__)


@overload
def task(func: Callable[P, R], /) -> Task[P, R]: ...


@overload
def task(
    *,
    name: str | None = None,
    resources: Resources | None = None,
    retries: int = 0,
    backoff: float = 0.05,
    max_backoff: float = 5.0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    timeout: float | None = None,
    cache: bool = False,
    cache_version: str = "",
    cost: float = 1.0,
    max_worker_losses: int = 3,
) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    resources: Resources | None = None,
    retries: int = 0,
    backoff: float = 0.05,
    max_backoff: float = 5.0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    timeout: float | None = None,
    cache: bool = False,
    cache_version: str = "",
    cost: float = 1.0,
    max_worker_losses: int = 3,
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Declare a task: ``@task`` or ``@task(retries=3, timeout=10, cache=True)``.

    Args:
        name: prefix of task keys; default the function's ``__name__``.
        resources: what one call occupies; undeclared tasks are bounded by slots only.
        retries: extra attempts after a failure that matches ``retry_on``.
        backoff: base delay in seconds of the exponential backoff (full jitter).
        max_backoff: cap of one backoff delay.
        retry_on: exception types worth retrying.
        timeout: seconds one attempt may run.
        cache: store results by the blake3 hash of function and inputs.
        cache_version: part of the cache key; bump to invalidate.
        cost: relative run-time estimate for critical-path priorities.
        max_worker_losses: worker deaths tolerated before the task fails.
    """

    def decorate(f: Callable[P, R]) -> Task[P, R]:
        return Task(
            f,
            name or _name_of(f),
            resources,
            RetryPolicy(retries, backoff, 2.0, max_backoff, True, retry_on),
            timeout,
            cache,
            cache_version,
            cost,
            max_worker_losses,
        )

    if func is not None:
        return decorate(func)
    return decorate

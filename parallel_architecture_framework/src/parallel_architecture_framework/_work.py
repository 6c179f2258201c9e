"""One attempt of one task, as every executor runs it, and what it reports back.

This module is what worker processes import, so it stays light: the standard
library, ``anyio`` only when a coroutine function is run, and the package's
errors.  A :class:`WorkItem` carries the resolved call; :func:`run_item` runs
it with the task context set (so the body can observe cancellation) and
returns an :class:`Outcome`, never raising.
"""

from __future__ import annotations

import contextvars
import functools
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, NamedTuple

from parallel_architecture_framework.errors import ParallelCancelledError

__all__ = [
    "InputsNotReady",
    "Outcome",
    "PendingInput",
    "TaskContext",
    "WorkItem",
    "current_task",
    "requeued",
    "run_item",
    "run_with_inputs",
    "skipped",
]


class WorkItem:
    """One attempt of a task with its inputs resolved, ready for any executor.

    ``cancel_path`` lets a driver reach an attempt running in another process
    on the same machine: the executor creates that file to ask it to stop,
    and :attr:`TaskContext.cancelled` checks for it (one ``stat`` per check).
    """

    __slots__ = (
        "args",
        "attempt",
        "cancel_path",
        "cancelled",
        "func",
        "handle",
        "inputs",
        "is_async",
        "key",
        "kwargs",
        "priority",
        "remote",
        "timeout",
    )

    def __init__(  # noqa: PLR0917 - built only by the scheduler, on the hot path
        self,
        key: str,
        attempt: int,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        is_async: bool,
        timeout: float | None,
        priority: float,
    ) -> None:
        self.key = key
        self.attempt = attempt
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.is_async = is_async
        self.timeout = timeout
        self.priority = priority
        self.cancelled = False
        self.cancel_path: str | None = None
        # ``(key, value)`` of each dependency whose value is in ``args``/``kwargs``:
        # lets an executor send a reference instead of a value its worker holds.
        self.inputs: tuple[tuple[str, Any], ...] = ()
        # Items of dependencies still running on an executor that carries
        # dependencies (Dask, Ray): their values are :class:`PendingInput`
        # markers in ``args``/``kwargs``, and the executor hands the worker
        # their outcomes through its own references (``handle``).
        self.remote: tuple[WorkItem, ...] = ()
        self.handle: Any = None

    @property
    def cancel_requested(self) -> bool:
        """Whether cancellation was asked for, here or (through ``cancel_path``) by the driver."""
        if self.cancelled:
            return True
        path = self.cancel_path
        if path is not None and os.path.exists(path):
            self.cancelled = True
            return True
        return False

    def __getstate__(self) -> tuple[Any, ...]:
        return (
            self.key,
            self.attempt,
            self.func,
            self.args,
            self.kwargs,
            self.is_async,
            self.timeout,
            self.priority,
            self.cancel_path,
        )

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        (
            self.key,
            self.attempt,
            self.func,
            self.args,
            self.kwargs,
            self.is_async,
            self.timeout,
            self.priority,
            self.cancel_path,
        ) = state
        self.cancelled = False
        self.inputs = ()
        self.remote = ()
        self.handle = None


class PendingInput:
    """Stands in a call's arguments for the value of a dependency still running remotely."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def __reduce__(self) -> tuple[type[PendingInput], tuple[str]]:
        return (PendingInput, (self.key,))

    def __repr__(self) -> str:
        return f"<PendingInput {self.key}>"


class InputsNotReady(Exception):  # noqa: N818 - a state, not a failure of the task
    """An attempt started remotely before a dependency succeeded; the scheduler queues it again.

    Reported (never raised to users) when a dependency's attempt failed, was
    cancelled or lost its worker: that dependency is retried or fails on its
    own, and this attempt does not count as one of the task's attempts.
    """


class Outcome(NamedTuple):
    """What one attempt produced.

    Exactly one outcome is reported per dispatched :class:`WorkItem`.
    ``lost`` means the worker died and the attempt must be re-run elsewhere;
    otherwise ``ok`` tells whether ``value`` or ``error`` is meaningful.
    A named tuple rather than a class: the process pool builds one per task
    from the row a worker sent (``Outcome._make``), at C speed.
    """

    key: str
    attempt: int
    ok: bool
    value: Any = None
    error: BaseException | None = None
    remote_traceback: str | None = None
    started: float = 0.0
    finished: float = 0.0
    worker: str = ""
    lost: bool = False
    cache_hit: bool = False


class TaskContext:
    """What a running task can ask about itself: its key, attempt and cancellation.

    Obtain it with :func:`current_task` inside a task body.  Cancellation is
    cooperative on threads and processes: a long loop should call
    :meth:`raise_if_cancelled` between steps.
    """

    __slots__ = ("_item",)

    def __init__(self, item: WorkItem) -> None:
        self._item = item

    @property
    def key(self) -> str:
        """The task's key, e.g. ``inc-12``."""
        return self._item.key

    @property
    def attempt(self) -> int:
        """1 for the first attempt, 2 for the first retry, ..."""
        return self._item.attempt

    @property
    def cancelled(self) -> bool:
        """Whether the scheduler asked this attempt to stop (cancel or timeout)."""
        return self._item.cancel_requested

    def raise_if_cancelled(self) -> None:
        """Raise :class:`ParallelCancelledError` when cancellation was requested."""
        if self._item.cancel_requested:
            raise ParallelCancelledError(
                f"task {self._item.key} was cancelled",
                key=self._item.key,
                hint="the caller cancelled it or its deadline passed",
            )


_new_outcome = functools.partial(tuple.__new__, Outcome)

_CURRENT: contextvars.ContextVar[TaskContext | None] = contextvars.ContextVar(
    "paf_current_task", default=None
)


def current_task() -> TaskContext | None:
    """The :class:`TaskContext` of the task running in this thread, or ``None`` outside one."""
    return _CURRENT.get()


_WORKER_ID = ""


def worker_name() -> str:
    """``host:pid:thread`` of the calling thread, naming where an attempt ran."""
    global _WORKER_ID  # noqa: PLW0603 - computed once per process
    if not _WORKER_ID:
        _WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
    return f"{_WORKER_ID}:{threading.current_thread().name}"


def run_item(item: WorkItem, worker: str | None = None) -> Outcome:
    """Run one attempt in the calling thread; exceptions become a failed :class:`Outcome`."""
    token = _CURRENT.set(TaskContext(item))
    started = time.time()
    try:
        if item.is_async:
            import anyio

            value = anyio.run(functools.partial(item.func, *item.args, **item.kwargs))
        else:
            value = item.func(*item.args, **item.kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the task's failure (even SystemExit) is data for the scheduler
        return Outcome(
            item.key,
            item.attempt,
            False,
            error=exc,
            remote_traceback="".join(traceback.format_exception(exc)),
            started=started,
            finished=time.time(),
            worker=worker or worker_name(),
        )
    finally:
        _CURRENT.reset(token)
    # Every field in order, built in C: this runs once per task on every executor.
    return _new_outcome(
        (
            item.key,
            item.attempt,
            True,
            value,
            None,
            None,
            started,
            time.time(),
            worker or worker_name(),
            False,
            False,
        )
    )


def run_with_inputs(item: WorkItem, replies: list[Outcome]) -> Outcome:
    """Run ``item`` once the outcomes of its remote dependencies (``replies``,
    in ``item.remote`` order as sent by the driver) are known.

    Their values replace the :class:`PendingInput` markers; if any of them did
    not succeed the task is not run and the outcome says :class:`InputsNotReady`.
    """
    values: dict[str, Any] = {}
    for reply in replies:
        if not reply.ok:
            return Outcome(
                item.key,
                item.attempt,
                False,
                error=InputsNotReady(f"input {reply.key} of {item.key} did not succeed"),
                worker=worker_name(),
            )
        values[reply.key] = reply.value
    item.args = _fill(item.args, values)
    item.kwargs = _fill(item.kwargs, values)
    return run_item(item)


def _fill(value: Any, values: dict[str, Any]) -> Any:
    """``value`` with every :class:`PendingInput` inside lists, tuples and dicts replaced."""
    if type(value) is PendingInput:
        return values[value.key]
    if type(value) in (list, tuple):
        return type(value)(_fill(v, values) for v in value)
    if type(value) is dict:
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def requeued(item: WorkItem, error: BaseException | None) -> Outcome:
    """The outcome of an item whose remote inputs the executor could not deliver."""
    return Outcome(
        item.key,
        item.attempt,
        False,
        error=InputsNotReady(f"the inputs of {item.key} were not delivered: {error!r}"),
    )


def skipped(item: WorkItem, worker: str) -> Outcome:
    """The outcome of an item cancelled before it started: reported, never run."""
    now = time.time()
    error = ParallelCancelledError(
        f"task {item.key} was cancelled before it started",
        key=item.key,
        hint="submit it again if needed",
    )
    return Outcome(
        item.key, item.attempt, False, error=error, started=now, finished=now, worker=worker
    )

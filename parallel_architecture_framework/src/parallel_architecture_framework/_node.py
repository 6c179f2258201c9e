"""Task records: the scheduler's node per task, its states, and argument walking.

A :class:`Node` is created per submitted task and lives as long as its client:
its timing and dependency links feed the run summary and the critical path.
:func:`find_instances` and :func:`substitute` walk call arguments (inside
lists, tuples and dicts) to find futures or graph nodes and swap them for
values.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from parallel_architecture_framework._task import Task

if TYPE_CHECKING:
    from parallel_architecture_framework._future import Future
    from parallel_architecture_framework._work import WorkItem

__all__ = [
    "CANCELLED_STATE",
    "DONE",
    "FAILED_STATE",
    "READY",
    "RETRY",
    "RUNNING",
    "STATE_NAMES",
    "WAITING",
    "Node",
    "find_instances",
    "substitute",
]

WAITING, READY, RUNNING, RETRY, DONE, FAILED_STATE, CANCELLED_STATE = range(7)
STATE_NAMES = ("waiting", "ready", "running", "retry", "done", "failed", "cancelled")


class Node:
    """The scheduler's record of one task (its timing feeds the run summary)."""

    __slots__ = (
        "args",
        "attempt",
        "cache_hit",
        "cache_key",
        "dependants",
        "deps",
        "finished",
        "future",
        "item",
        "key",
        "kwargs",
        "losses",
        "priority",
        "started",
        "state",
        "submitted",
        "task",
        "waiting",
        "worker",
    )

    def __init__(
        self, key: str, task: Task[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self.key = key
        self.task = task
        self.args = args
        self.kwargs = kwargs
        # Most tasks have no inputs or no dependants: the shared empty tuple
        # until a first one arrives keeps two lists per task away from the
        # garbage collector, whose passes over every node a client ever ran
        # were a third of the driver's time per task on long runs.
        self.deps: Sequence[Node] = ()
        self.dependants: list[Node] | tuple[()] = ()
        self.waiting = 0
        self.state = WAITING
        self.priority = task.cost
        self.attempt = 0
        self.losses = 0
        self.future: Future[Any] | None = None
        self.item: WorkItem | None = None
        self.submitted = time.time()
        self.started = 0.0
        self.finished = 0.0
        self.worker = ""
        self.cache_hit = False
        self.cache_key = ""


def substitute(value: Any, fn: Callable[[Any], Any], kinds: tuple[type, ...]) -> Any:
    """``value`` with every instance of ``kinds`` inside lists, tuples and dicts replaced by ``fn``."""
    if isinstance(value, kinds):
        return fn(value)
    if type(value) in (list, tuple):
        return type(value)(substitute(v, fn, kinds) for v in value)
    if type(value) is dict:
        return {k: substitute(v, fn, kinds) for k, v in value.items()}
    return value


def find_instances(value: Any, kinds: tuple[type, ...], out: list[Any]) -> None:
    """Append every instance of ``kinds`` found inside lists, tuples and dicts to ``out``."""
    if isinstance(value, kinds):
        out.append(value)
    elif type(value) in (list, tuple):
        for v in value:
            find_instances(v, kinds, out)
    elif type(value) is dict:
        for v in value.values():
            find_instances(v, kinds, out)

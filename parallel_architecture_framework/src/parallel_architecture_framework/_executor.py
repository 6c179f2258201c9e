"""The one interface every executor implements, and how a spec string picks one.

An executor runs :class:`~parallel_architecture_framework._work.WorkItem`\\ s and
reports exactly one :class:`~parallel_architecture_framework._work.Outcome` per
item through the ``report`` callback it was started with, from any thread.
It never decides *what* runs next: ordering (critical-path priorities),
retries, timeouts, caching, resource admission and failure propagation live
in the scheduler, so the same graph behaves the same on every executor.
"""

from __future__ import annotations

import contextlib
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import ModuleType
from typing import Any

from parallel_architecture_framework._task import Resources
from parallel_architecture_framework._work import Outcome, WorkItem
from parallel_architecture_framework.errors import ParallelInputError

__all__ = [
    "CancelFiles",
    "Executor",
    "ReportFn",
    "SendableFunctions",
    "default_workers",
    "make_executor",
]

ReportFn = Callable[[list[Outcome]], None]


def default_workers() -> int:
    """The cores this process may use (its CPU affinity), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


class Executor(ABC):
    """Runs work items somewhere and reports their outcomes.

    Subclasses implement :meth:`start`, :meth:`submit` and :meth:`shutdown`;
    they may refine :meth:`max_in_flight` (how many items the scheduler should
    hand over at once), :meth:`capacity` (the resources all workers offer
    together) and :meth:`cancel` (how a running item is asked to stop).
    """

    name: str = "executor"
    #: Whether :meth:`submit` accepts items whose ``remote`` inputs are still
    #: running on this executor and delivers their outcomes to the worker
    #: itself (see :func:`~parallel_architecture_framework._work.run_with_inputs`).
    carries_dependencies: bool = False

    def __init__(self, workers: int | None = None, *, resources: Resources | None = None) -> None:
        if workers is not None and workers < 1:
            raise ParallelInputError(
                f"workers={workers} must be at least 1",
                field="workers",
                hint="omit it to use one worker per available core",
            )
        self.workers = workers if workers is not None else default_workers()
        self.resources = resources
        self._report: ReportFn | None = None

    @abstractmethod
    def start(self, report: ReportFn) -> None:
        """Acquire workers; ``report`` receives outcomes from any thread."""

    @abstractmethod
    def submit(self, items: list[WorkItem]) -> None:
        """Start running ``items`` (already in priority order); must not block on their run."""

    @abstractmethod
    def shutdown(self) -> None:
        """Release every worker, thread, process and socket the executor holds."""

    def max_in_flight(self) -> int:
        """How many submitted-but-unreported items keep this executor busy."""
        return self.workers

    def capacity(self) -> Resources:
        """What the workers offer together, for tasks that declare resources.

        Defaults to one cpu per worker and the machine's memory; pass
        ``resources=`` to the executor to declare tags such as ``{"gpu": 1}``.
        """
        if self.resources is not None:
            return self.resources
        return Resources(cpu=float(self.workers), memory=_total_memory(), tags={})

    def cancel(self, item: WorkItem) -> None:
        """Ask a running item to stop; the default sets the cooperative flag."""
        item.cancelled = True

    def describe(self) -> str:
        """A short human description, e.g. ``threads(4)``."""
        return f"{self.name}({self.workers})"


def cancel_path(root: str, key: str, attempt: int) -> str:
    """The marker file asking attempt ``attempt`` of task ``key`` to stop."""
    return os.path.join(root, f"{key}.{attempt}")


class CancelFiles:
    """A private directory of cancellation markers for attempts running in other processes.

    Workers on this machine check ``WorkItem.cancel_path``; creating the file
    is how :meth:`Executor.cancel` reaches them.
    """

    def __init__(self) -> None:
        import tempfile

        self.root = tempfile.mkdtemp(prefix="paf-cancel-")

    def assign(self, item: WorkItem) -> None:
        """Give ``item`` its marker path (not created until cancelled)."""
        item.cancel_path = cancel_path(self.root, item.key, item.attempt)

    def cancel(self, item: WorkItem) -> None:
        """Create the marker so the running attempt sees ``cancelled``."""
        item.cancelled = True
        if item.cancel_path is None:
            self.assign(item)
        if item.cancel_path is not None:
            with contextlib.suppress(OSError), open(item.cancel_path, "x"):
                pass

    def close(self) -> None:
        """Remove the directory and every marker in it."""
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)


class SendableFunctions:
    """Makes functions travel to other interpreters, by value when needed.

    cloudpickle sends a function by reference (module and name) when its
    module is importable, which a fresh worker can resolve, and by value
    otherwise.  A module imported from a path a worker cannot resolve by name
    (a script's helper, a test file loaded by path) looks importable here but
    is not there: such modules are registered to travel by value.
    """

    def __init__(self) -> None:
        self._checked: dict[str, bool] = {}

    def prepare(self, func: Any) -> None:
        """Register ``func``'s module for pickling by value if workers cannot import it."""
        func = getattr(func, "func", func)  # functools.partial
        module_name = getattr(func, "__module__", None)
        if not module_name or module_name in self._checked:
            return
        module = sys.modules.get(module_name)
        needs_value = module is not None and not importable_by_name(module)
        self._checked[module_name] = needs_value
        if needs_value and module is not None:
            import cloudpickle  # type: ignore[import-untyped,unused-ignore]  # ships no type hints

            cloudpickle.register_pickle_by_value(module)

    def by_value(self, module_name: str) -> bool:
        """Whether :meth:`prepare` registered ``module_name`` to travel by value."""
        return self._checked.get(module_name, False)


def importable_by_name(module: ModuleType) -> bool:
    """Whether a fresh interpreter with our ``sys.path`` finds ``module`` under its name."""
    name = module.__name__
    if name == "__main__":
        return True  # cloudpickle already sends __main__ functions by value
    file = getattr(module, "__file__", None)
    if not file:
        return True  # built-in or namespace module
    path = os.path.abspath(file)
    top = name.partition(".")[0]
    if top == name:
        folders = {os.path.abspath(entry or os.curdir) for entry in sys.path}
        return os.path.dirname(path) in folders
    root = sys.modules.get(top)
    roots = getattr(root, "__path__", None) or []
    return any(path.startswith(os.path.abspath(entry) + os.sep) for entry in roots)


def _total_memory() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 2**62


def make_executor(spec: str | Executor | None, workers: int | None = None) -> Executor:
    """An executor from a spec: ``processes`` (default), ``threads``, ``async``, ``dask``,
    ``dask://HOST:PORT`` or ``tcp://HOST:PORT`` (an existing Dask scheduler), ``ray`` or
    ``ray://HOST:PORT`` (an existing Ray cluster).

    ``local`` is an alias of ``processes``.
    """
    if isinstance(spec, Executor):
        return spec
    name = (spec or "processes").strip()
    lowered = name.lower()
    if lowered in ("processes", "process", "local"):
        from parallel_architecture_framework._processes import ProcessExecutor

        return ProcessExecutor(workers)
    if lowered in ("threads", "thread"):
        from parallel_architecture_framework._threads import ThreadExecutor

        return ThreadExecutor(workers)
    if lowered in ("async", "anyio"):
        from parallel_architecture_framework._async import AsyncExecutor

        return AsyncExecutor(workers)
    if lowered == "dask" or lowered.startswith(("dask://", "tcp://")):
        from parallel_architecture_framework._dask import DaskExecutor

        address = None
        if lowered.startswith("dask://"):
            address = "tcp://" + name[len("dask://") :]
        elif lowered.startswith("tcp://"):
            address = name
        return DaskExecutor(address=address, workers=workers)
    if lowered == "ray" or lowered.startswith("ray://"):
        from parallel_architecture_framework._ray import RayExecutor

        return RayExecutor(address=name if lowered.startswith("ray://") else None, workers=workers)
    raise ParallelInputError(
        f"unknown executor {name!r}",
        field="executor",
        hint="use processes, threads, async, dask, dask://HOST:PORT, ray or ray://HOST:PORT",
    )

"""Task graphs that run unchanged on a local pool or on Dask distributed.

The public API::

    from parallel_architecture_framework import Client, task

    @task(retries=2, timeout=30, cache=True)
    def double(x: int) -> int:
        return 2 * x

    with Client("processes") as client:          # or "threads", "async", "dask", "dask://host:8786"
        futures = client.map(double, range(100))
        total = client.reduce(lambda a, b: a + b, futures)
        print(total.result())

Everything else (executors, graphs, summaries, errors) is re-exported here;
the private ``_*`` modules are implementation.
"""

from typing import TYPE_CHECKING, Any

from parallel_architecture_framework._cache import ResultStore, cache_key
from parallel_architecture_framework._client import Client, as_completed, gather
from parallel_architecture_framework._executor import Executor, make_executor
from parallel_architecture_framework._future import Future
from parallel_architecture_framework._graph import Graph, GraphNode
from parallel_architecture_framework._summary import RunSummary, TaskRecord
from parallel_architecture_framework._task import Resources, RetryPolicy, Task, task
from parallel_architecture_framework._work import Outcome, TaskContext, WorkItem, current_task
from parallel_architecture_framework.errors import (
    ParallelCacheError,
    ParallelCancelledError,
    ParallelDependencyError,
    ParallelError,
    ParallelExecutorError,
    ParallelInputError,
    ParallelResourceError,
    ParallelTaskError,
    ParallelTimeoutError,
    ParallelWorkerLostError,
)

if TYPE_CHECKING:
    from parallel_architecture_framework._async import AsyncExecutor
    from parallel_architecture_framework._dask import DaskExecutor
    from parallel_architecture_framework._processes import ProcessExecutor
    from parallel_architecture_framework._ray import RayExecutor
    from parallel_architecture_framework._threads import ThreadExecutor
    from parallel_architecture_framework.config import ParallelSettings

    __version__: str

__all__ = [
    "AsyncExecutor",
    "Client",
    "DaskExecutor",
    "Executor",
    "Future",
    "Graph",
    "GraphNode",
    "Outcome",
    "ParallelCacheError",
    "ParallelCancelledError",
    "ParallelDependencyError",
    "ParallelError",
    "ParallelExecutorError",
    "ParallelInputError",
    "ParallelResourceError",
    "ParallelSettings",
    "ParallelTaskError",
    "ParallelTimeoutError",
    "ParallelWorkerLostError",
    "ProcessExecutor",
    "RayExecutor",
    "Resources",
    "ResultStore",
    "RetryPolicy",
    "RunSummary",
    "Task",
    "TaskContext",
    "TaskRecord",
    "ThreadExecutor",
    "WorkItem",
    "__version__",
    "as_completed",
    "cache_key",
    "current_task",
    "gather",
    "make_executor",
    "task",
]

# Imported on first use: settings pull in pydantic, executors pull in
# multiprocessing, anyio or Dask; `import parallel_architecture_framework` stays fast.
_LAZY = {
    "AsyncExecutor": "parallel_architecture_framework._async",
    "DaskExecutor": "parallel_architecture_framework._dask",
    "ProcessExecutor": "parallel_architecture_framework._processes",
    "RayExecutor": "parallel_architecture_framework._ray",
    "ThreadExecutor": "parallel_architecture_framework._threads",
    "ParallelSettings": "parallel_architecture_framework.config",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("parallel_architecture_framework")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0.0.0"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value = _version()
        globals()[name] = value
        return value
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'parallel_architecture_framework' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value

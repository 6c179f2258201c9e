"""The client: the one object users hold to run tasks on an executor.

``Client`` turns calls into scheduler nodes and hands back futures; it owns a
scheduler, an executor, the optional result store and the run's telemetry.
Everything submitted through one client may depend on anything submitted
before through the same client.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from parallel_architecture_framework._cache import ResultStore
from parallel_architecture_framework._executor import Executor, make_executor
from parallel_architecture_framework._future import Future, add_done_callbacks
from parallel_architecture_framework._graph import Graph, GraphNode
from parallel_architecture_framework._observe import RunObserver
from parallel_architecture_framework._scheduler import Scheduler
from parallel_architecture_framework._summary import RunSummary, summarize
from parallel_architecture_framework._task import Task, as_task
from parallel_architecture_framework.errors import ParallelInputError, ParallelTimeoutError

__all__ = ["Client", "as_completed", "gather"]

T = TypeVar("T")
_CHUNK = 512


class Client:
    """Run tasks on one executor; a context manager that waits for its work on exit.

    Args:
        executor: ``"processes"`` (default: a process pool batching tiny
            tasks), ``"threads"``, ``"async"`` (anyio), ``"dask"`` (a local Dask
            cluster), ``"dask://HOST:PORT"``, or an :class:`Executor` instance.
        workers: worker count (default: the cores available to this process).
        max_in_flight: most items handed to the executor at once.
        max_pending: most unsettled tasks; ``submit``/``map`` block beyond it.
        cache_dir: directory of the result store for ``cache=True`` tasks
            (default ``$XDG_CACHE_HOME/parallel_architecture_framework``).
        metrics: collect Prometheus metrics (see :attr:`metrics`).
        trace: record an OpenTelemetry span per task; ``None`` records them
            when an SDK tracer provider is installed (``setup_tracing``).
        seed: seeds retry jitter, for reproducible runs.
    """

    def __init__(
        self,
        executor: str | Executor | None = None,
        *,
        workers: int | None = None,
        max_in_flight: int | None = None,
        max_pending: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        metrics: bool = True,
        trace: bool | None = None,
        seed: int | None = None,
    ) -> None:
        self.executor = make_executor(executor, workers)
        self.store = ResultStore(Path(cache_dir) if cache_dir is not None else default_cache_dir())
        self._observer = RunObserver(metrics=metrics, trace=trace)
        self._scheduler = Scheduler(
            self.executor,
            max_in_flight=max_in_flight,
            max_pending=max_pending,
            store=self.store,
            on_settle=self._observer.on_settle,
            seed=seed,
        )
        self._observer.bind(self._scheduler)
        self._started = time.time()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(cancel=exc_type is not None)

    def close(self, *, cancel: bool = False) -> None:
        """Wait for (or with ``cancel=True`` cancel) unsettled tasks, then release the executor."""
        self._scheduler.close(cancel=cancel)

    def __repr__(self) -> str:
        return f"<Client {self.executor.describe()} unsettled={self._scheduler.unsettled}>"

    # ------------------------------------------------------------------ submission

    def submit(
        self, fn: Callable[..., T] | Task[Any, T], /, *args: Any, **kwargs: Any
    ) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)``; futures among the arguments are dependencies."""
        future: Future[T] = self._scheduler.add([(as_task(fn), args, kwargs, None)])[0]
        return future

    def map(
        self, fn: Callable[..., T] | Task[Any, T], /, *iterables: Iterable[Any], **kwargs: Any
    ) -> list[Future[T]]:
        """One task per element (zipped over several iterables); ``kwargs`` go to every call.

        Iterables are consumed lazily in chunks, so with ``max_pending`` a
        long generator is throttled instead of materialised.
        """
        task = as_task(fn)
        futures: list[Future[T]] = []
        calls = zip(*iterables, strict=False)
        while True:
            chunk = [(task, values, kwargs, None) for values in itertools.islice(calls, _CHUNK)]
            if not chunk:
                return futures
            futures.extend(self._scheduler.add(chunk))

    def reduce(
        self, fn: Callable[[Any, Any], T] | Task[Any, T], items: Iterable[Any], /
    ) -> Future[T]:
        """Combine ``items`` (futures or values) pairwise in a balanced tree; ``fn`` must be associative."""
        task = as_task(fn)
        level = list(items)
        if not level:
            raise ParallelInputError(
                "cannot reduce an empty sequence", hint="pass at least one item"
            )
        if len(level) == 1:
            only = level[0]
            if isinstance(only, Future):
                return only
            return self.submit(_identity, only)
        while len(level) > 1:
            pairs: list[tuple[Task[Any, Any], tuple[Any, ...], dict[str, Any], float | None]] = [
                (task, (level[i], level[i + 1]), {}, None) for i in range(0, len(level) - 1, 2)
            ]
            merged: list[Any] = list(self._scheduler.add(pairs))
            if len(level) % 2:
                merged.append(level[-1])
            level = merged
        result: Future[T] = level[0]
        return result

    def compute(self, graph: Graph) -> list[Future[Any]]:
        """Submit a whole graph with exact critical-path priorities; one future per node, in order."""
        priorities = graph.priorities()
        futures: list[Future[Any]] = []

        def to_future(node: GraphNode) -> Future[Any]:
            if node.graph is not graph:
                raise ParallelInputError(
                    "a node of another graph was found", hint="compute each graph on its own"
                )
            return futures[node.index]

        for start in range(0, len(graph.nodes), _CHUNK):
            specs = [
                (node.task, node.args, node.kwargs, priorities[node.index])
                for node in graph.nodes[start : start + _CHUNK]
            ]
            self._scheduler.add(specs, out=futures, translate=(GraphNode, to_future))
        return futures

    def run(self, graph: Graph, *, timeout: float | None = None) -> list[Any]:
        """Compute ``graph`` and return every node's result, in node order."""
        return gather(self.compute(graph), timeout=timeout)

    # ------------------------------------------------------------------ waiting

    def gather(
        self,
        futures: Sequence[Future[T]],
        *,
        timeout: float | None = None,
        errors: Literal["raise", "return"] = "raise",
        cancel_on_timeout: bool = True,
    ) -> list[Any]:
        """See :func:`gather`."""
        return gather(futures, timeout=timeout, errors=errors, cancel_on_timeout=cancel_on_timeout)

    def as_completed(
        self, futures: Iterable[Future[T]], *, timeout: float | None = None
    ) -> Iterator[Future[T]]:
        """See :func:`as_completed`."""
        return as_completed(futures, timeout=timeout)

    def cancel(self, futures: Iterable[Future[Any]]) -> int:
        """Cancel tasks (and their dependants); returns how many were still unsettled."""
        return self._scheduler.cancel(futures)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted task settled; False when ``timeout`` passed first."""
        return self._scheduler.wait_idle(timeout)

    # ------------------------------------------------------------------ reporting

    def summary(self) -> RunSummary:
        """Counts, per-task timing and the critical path of everything run so far."""
        with self._scheduler.lock:
            nodes = list(self._scheduler.nodes.values())
        return summarize(nodes, self.executor.describe(), self._started)

    @property
    def metrics(self) -> Any:
        """The client's :class:`shared_core.telemetry.Metrics` (``None`` when disabled)."""
        return self._observer.metrics

    def counts(self) -> dict[str, int]:
        """How many tasks are in each state (waiting, ready, running, retry, done, failed, cancelled)."""
        return self._scheduler.counts()


def _identity(value: T) -> T:
    return value


def default_cache_dir() -> Path:
    """``$PARALLEL_ARCHITECTURE_FRAMEWORK_CACHE_DIR``, else ``$XDG_CACHE_HOME/parallel_architecture_framework``."""
    explicit = os.environ.get("PARALLEL_ARCHITECTURE_FRAMEWORK_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "parallel_architecture_framework"


def gather(
    futures: Sequence[Future[T]],
    *,
    timeout: float | None = None,
    errors: Literal["raise", "return"] = "raise",
    cancel_on_timeout: bool = True,
) -> list[Any]:
    """Wait for all ``futures`` and return their results in order.

    Args:
        timeout: seconds to wait in total; past it, raises
            :class:`ParallelTimeoutError` (naming how many are unfinished) and,
            with ``cancel_on_timeout``, cancels the unfinished ones.
        errors: ``"raise"`` raises the first error as soon as any task fails;
            ``"return"`` puts exceptions in the result list instead.
    """
    futures = list(futures)
    remaining = [len(futures)]
    lock = threading.Lock()
    wake = threading.Event()
    first_error: list[Future[Any]] = []

    def settled(future: Future[Any]) -> None:
        with lock:
            remaining[0] -= 1
            if future._error is not None and errors == "raise" and not first_error:
                first_error.append(future)
            if remaining[0] == 0 or first_error:
                wake.set()

    if futures:
        add_done_callbacks(futures, settled)
        if not wake.wait(timeout):
            unfinished = [f for f in futures if not f.done()]
            if cancel_on_timeout and unfinished:
                unfinished[0]._scheduler.cancel(unfinished)
            raise ParallelTimeoutError(
                f"gather timed out after {timeout} s with {len(unfinished)} of {len(futures)} tasks unfinished"
                + (f" (first: {unfinished[0].key})" if unfinished else ""),
                unfinished=len(unfinished),
                hint="raise the timeout"
                + ("; the unfinished tasks were cancelled" if cancel_on_timeout else ""),
            )
    if first_error:
        first_error[0].result()
    if errors == "return":
        return [f._value if f._error is None else f._error for f in futures]
    return [f.result() for f in futures]


def as_completed(
    futures: Iterable[Future[T]], *, timeout: float | None = None
) -> Iterator[Future[T]]:
    """Yield futures as they settle (finished, failed or cancelled), fastest first.

    Raises :class:`ParallelTimeoutError` when ``timeout`` seconds pass (counted
    from the first ``next``) before all have settled.
    """
    futures = list(futures)
    done: queue.SimpleQueue[Future[T]] = queue.SimpleQueue()
    add_done_callbacks(futures, done.put)
    deadline = None if timeout is None else time.monotonic() + timeout
    for count in range(len(futures)):
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        try:
            yield done.get(timeout=remaining)
        except queue.Empty:
            raise ParallelTimeoutError(
                f"as_completed timed out after {timeout} s with {len(futures) - count} of {len(futures)} tasks unfinished",
                unfinished=len(futures) - count,
                hint="raise the timeout, or cancel the remaining futures",
            ) from None

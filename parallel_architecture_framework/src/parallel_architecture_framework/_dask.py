"""Dask distributed as an executor, for graphs bigger than one machine.

Needs the ``dask`` extra (``pip install parallel_architecture_framework[dask]``).
The executor either connects to a running scheduler (``address``) or starts a
``LocalCluster`` on loopback that it owns and closes.  Each attempt becomes
one Dask task with a unique key; our scheduler still decides order, retries,
timeouts, caching and failure propagation, so a graph behaves the same here as
on the local executors.  Dask's own fault tolerance re-runs a task whose worker
died; if Dask gives up (``KilledWorker``), the attempt is reported lost and our
scheduler re-submits it, up to the task's ``max_worker_losses``.

By default (``early_start=True``) a task whose inputs are still running on
Dask is handed over at once, and each batch the scheduler hands over goes to
Dask as one low-level task graph (``client.get(graph, keys, sync=False)``)
whose tasks name their inputs' Dask keys: Dask resolves the dependencies on
its workers and orders the graph itself, as for a graph a Dask user submits.
Results come back with one ``gather`` per batch of finished tasks.

Cooperative cancellation reaches running attempts when the workers share this
machine (a local cluster, or a scheduler on loopback) through cancellation
files; on a remote cluster a cancelled attempt's Dask task is cancelled, and a
running one finishes with its result discarded.
"""

from __future__ import annotations

import contextlib
import itertools
import pickle
import threading
import time
import uuid
import warnings
from typing import Any

from parallel_architecture_framework._executor import (
    CancelFiles,
    Executor,
    ReportFn,
    SendableFunctions,
)
from parallel_architecture_framework._task import Resources
from parallel_architecture_framework._work import (
    Outcome,
    WorkItem,
    requeued,
    run_item,
    run_with_inputs,
    skipped,
)
from parallel_architecture_framework.errors import ParallelExecutorError

__all__ = ["DaskExecutor"]


# Dask errors meaning the worker (not the task) failed: the attempt is re-run.
_LOST = frozenset(
    {"KilledWorker", "CommClosedError", "FutureCancelledError", "CancelledError", "TimeoutError"}
)
_MISSING = object()
# The collector waits this long for more tasks to finish before fetching
# fewer than _BATCH results: one gather of many results costs the client's
# event loop (which a LocalCluster's scheduler shares) about what a gather of
# one does.
_WINDOW = 0.005
_BATCH = 64
# Seconds to wait for one result Dask reported done but a batched gather could not fetch.
_RESULT_TIMEOUT = 60.0


def _run_on_dask(payload: bytes, *inputs: bytes) -> bytes:
    """Worker side: the item travels pre-pickled by cloudpickle, because Dask's
    own serialiser pickles nested functions by reference and a worker cannot
    import functions of scripts or test files by name.  ``inputs`` are the
    replies of the dependencies it was started before (Dask resolved them)."""
    import cloudpickle  # type: ignore[import-untyped,unused-ignore]  # ships no type hints

    item: WorkItem = pickle.loads(payload)  # noqa: S301 - sent by our driver
    if inputs:
        replies = [pickle.loads(reply) for reply in inputs]  # noqa: S301 - our workers' replies
        outcome = run_with_inputs(item, replies)
    else:
        outcome = run_item(item)
    return bytes(cloudpickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))


class DaskExecutor(Executor):
    """Run tasks on a Dask distributed cluster.

    Args:
        address: ``tcp://host:port`` of a running scheduler; ``None`` starts a
            ``LocalCluster`` bound to 127.0.0.1 that this executor owns.
        workers: worker count of the local cluster (default: available cores).
        processes: local cluster workers as processes (True) or threads in this process.
        threads_per_worker: threads of each local worker.
        client: an existing ``distributed.Client`` to use (not closed by us).
        early_start: hand Dask a task as soon as its inputs are running there
            (Dask passes the values between workers), each batch as one task
            graph, instead of once they are done (one ``client.map`` per
            layer).  On by default: it cost the driver about a quarter less
            CPU per task on a LocalCluster (docs/BENCHMARKS.md).
    """

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        processes: bool = True,
        threads_per_worker: int = 1,
        client: Any = None,
        early_start: bool = True,
    ) -> None:
        super().__init__(workers)
        self.carries_dependencies = early_start
        self.address = address
        self.processes = processes
        self.threads_per_worker = threads_per_worker
        self.client: Any = client
        self._owns_client = client is None
        self._cluster: Any = None
        self._futures: dict[tuple[str, int], Any] = {}
        self._token = uuid.uuid4().hex[:12]
        self._serial = itertools.count()  # an early start queued again reuses its attempt number
        self._slots = 0
        self._cancel_files: CancelFiles | None = None
        self._sendable = SendableFunctions()
        self._items: dict[str, WorkItem] = {}
        self._completed: Any = None
        self._collector: threading.Thread | None = None
        self._stopping = False
        self._direct = False

    def describe(self) -> str:
        where = self.address or ("local processes" if self.processes else "local threads")
        return f"dask({where}, {self._slots or self.workers} threads)"

    def start(self, report: ReportFn) -> None:
        try:
            import distributed  # type: ignore[import-not-found,unused-ignore]  # optional extra
        except ImportError as exc:
            raise ParallelExecutorError(
                "the dask executor needs Dask distributed, which is not installed",
                hint="pip install 'parallel_architecture_framework[dask]'",
            ) from exc
        self._report = report
        if self.client is None:
            try:
                if self.address is None:
                    self._cluster = distributed.LocalCluster(  # type: ignore[no-untyped-call,unused-ignore]
                        n_workers=self.workers,
                        threads_per_worker=self.threads_per_worker,
                        processes=self.processes,
                        host="127.0.0.1",
                        protocol="tcp://",
                        dashboard_address="127.0.0.1:0",  # an ephemeral loopback port: 8787 may be taken
                        scheduler_port=0,
                    )
                    self.client = distributed.Client(  # type: ignore[no-untyped-call,unused-ignore]
                        self._cluster, set_as_default=False
                    )
                else:
                    self.client = distributed.Client(  # type: ignore[no-untyped-call,unused-ignore]
                        self.address, set_as_default=False, timeout=10
                    )
            except OSError as exc:
                self.shutdown()
                raise ParallelExecutorError(
                    f"cannot reach the Dask scheduler at {self.address}: {exc}",
                    address=self.address,
                    hint="start one with 'paf cluster start', or check the address",
                ) from exc
        if self.address is None or _on_loopback(self.address):
            self._cancel_files = CancelFiles()  # workers share this machine's filesystem
        self._completed = distributed.as_completed(  # type: ignore[no-untyped-call,unused-ignore]
            [], loop=self.client.loop, with_results=False, raise_errors=False
        )
        # Workers on this machine are reachable: fetch results from them
        # directly instead of through the scheduler (one hop and one copy less).
        self._direct = _on_loopback(str(self.client.scheduler.address))
        self._stopping = False
        self._collector = threading.Thread(
            target=self._collect, name="paf-dask-collector", daemon=True
        )
        self._collector.start()
        info = self.client.scheduler_info()
        self._slots = (
            sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()) or self.workers
        )

    def max_in_flight(self) -> int:
        # Dask queues on its own scheduler and orders by the priorities that travel
        # with the tasks: hand it whole batches, as a Dask user would, rather
        # than refilling a short queue one round trip at a time.
        return max(1024 * self._slots, 4096)

    def capacity(self) -> Resources:
        return Resources(cpu=float(max(self._slots, 1)), memory=2**62, tags={})

    def submit(self, items: list[WorkItem]) -> None:
        if self.client is None:
            raise ParallelExecutorError(
                "the dask executor is not running", hint="submit through a Client"
            )
        unsent: list[WorkItem] = []
        if self.carries_dependencies:
            # Early start: every item handed over now goes to Dask as one
            # low-level graph, dependencies included, the way a Dask user
            # submits a graph; Dask orders it and moves the values between
            # workers.
            wired: list[WorkItem] = []
            in_graph: set[int] = set()
            for item in items:
                self._prepare(item)
                if any(dep.handle is None and id(dep) not in in_graph for dep in item.remote):
                    unsent.append(item)  # an input this executor never got: cannot be wired
                    continue
                wired.append(item)
                in_graph.add(id(item))
            if wired:
                self._send_graph(wired)
        else:
            # One client.map per run of items of equal priority (a graph's
            # layer): Dask then gets one graph update for many tasks instead
            # of one message per task.
            batch: list[WorkItem] = []
            priority = 0
            for item in items:
                self._prepare(item)
                level = round(item.priority)
                if batch and level != priority:
                    self._send(batch, priority)
                    batch = []
                batch.append(item)
                priority = level
            if batch:
                self._send(batch, priority)
        if unsent and self._report is not None:
            self._report([requeued(item, None) for item in unsent])

    def _prepare(self, item: WorkItem) -> None:
        self._sendable.prepare(item.func)
        if self._cancel_files is not None:
            self._cancel_files.assign(item)

    def _send(self, batch: list[WorkItem], priority: int) -> None:
        import cloudpickle  # type: ignore[import-untyped,unused-ignore]  # ships no type hints

        futures = self.client.map(
            _run_on_dask,
            [cloudpickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL) for item in batch],
            key=[
                f"{item.key}-a{item.attempt}-{self._token}-{next(self._serial)}" for item in batch
            ],
            pure=False,
            priority=priority,
        )
        self._track(batch, futures)

    def _send_graph(self, batch: list[WorkItem]) -> None:
        """Hand Dask a whole subgraph in one low-level graph, as ``client.get`` of
        a task dict does: one graph update for every task, and Dask resolves the
        dependencies (an input sent earlier is named by its Dask key, which our
        future keeps alive on the scheduler)."""
        import cloudpickle  # type: ignore[import-untyped,unused-ignore]  # ships no type hints
        from dask._task_spec import Task, TaskRef  # type: ignore[import-not-found,unused-ignore]

        graph: dict[str, Any] = {}
        keys: list[str] = []
        dask_key: dict[int, str] = {}
        for item in batch:
            key = f"{item.key}-a{item.attempt}-{self._token}-{next(self._serial)}"
            dask_key[id(item)] = key
            refs = [TaskRef(dask_key.get(id(dep)) or dep.handle.key) for dep in item.remote]
            graph[key] = Task(
                key,
                _run_on_dask,
                cloudpickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL),
                *refs,
            )
            keys.append(key)
        # fifo_timeout as client.map's: a graph sent later than 100 ms after
        # the previous one runs after it (client.get's default, 60 s, would
        # mix the orders Dask gave each graph on its own).
        futures = self.client.get(graph, keys, sync=False, fifo_timeout="100ms")
        self._track(batch, futures)

    def _track(self, batch: list[WorkItem], futures: list[Any]) -> None:
        for item, future in zip(batch, futures, strict=True):
            item.handle = future
            self._futures[(item.key, item.attempt)] = future
            self._items[future.key] = item
        assert self._completed is not None  # noqa: S101 - started
        self._completed.update(futures)

    def _collect(self) -> None:
        """Collector thread: report attempts as Dask finishes them, in batches.

        Results are fetched with one ``gather`` per batch of finished
        futures: fetching each future's result on its own (what
        ``as_completed(with_results=True)`` does) costs a client-scheduler and
        a scheduler-worker round trip per task, which made paf on Dask 0.6x of
        Dask itself on no-op tasks.
        """
        completed = self._completed
        assert completed is not None  # noqa: S101 - started
        condition = completed.thread_condition
        while True:
            batch = completed.next_batch(block=False)
            if not batch:
                if self._stopping:
                    return
                with condition:
                    condition.wait(timeout=0.05)
                continue
            if len(batch) < _BATCH and len(self._items) > len(batch):
                # Others are still running: let a few more finish.  When these
                # are the last (a graph's layer waiting on them), report now.
                time.sleep(_WINDOW)
                batch += completed.next_batch(block=False)
            self._report_batch(batch)

    def _report_batch(self, batch: list[Any]) -> None:
        assert self._report is not None  # noqa: S101 - started
        pairs = []
        for future in batch:
            item = self._items.pop(future.key, None)
            if item is None:
                continue
            self._futures.pop((item.key, item.attempt), None)
            pairs.append((item, future))
        finished = [future for _, future in pairs if future.status == "finished"]
        results: dict[str, Any] = {}
        if finished:
            try:
                values = self.client.gather(finished, errors="raise", direct=self._direct)
            except Exception:  # one of them went wrong: fetch each on its own
                values = None
            if values is not None:
                results = {
                    future.key: value for future, value in zip(finished, values, strict=True)
                }
        outcomes = [
            self._outcome(item, future, results.get(future.key, _MISSING)) for item, future in pairs
        ]
        if outcomes:
            self._report(outcomes)

    def _outcome(self, item: WorkItem, future: Any, result: Any) -> Outcome:
        if result is _MISSING:
            try:
                result = future.result(timeout=_RESULT_TIMEOUT)
            except BaseException as exc:  # asyncio.CancelledError too: classified below
                result = exc
        status = future.status
        if status == "finished" and isinstance(result, bytes):
            try:
                outcome: Outcome = pickle.loads(result)  # noqa: S301 - our own workers' replies
                return outcome
            except Exception as exc:
                return Outcome(item.key, item.attempt, False, error=exc)
        if item.cancelled:
            return skipped(item, "dask")
        if item.remote:  # an input's Dask task failed, was cancelled or lost: wait for its retry
            return requeued(item, result if isinstance(result, BaseException) else None)
        if status == "cancelled":
            return skipped(item, "dask")
        # an error: our wrapper never raises, so Dask itself failed
        error = result if isinstance(result, BaseException) else None
        if error is None or type(error).__name__ in _LOST:  # unknown: assume the worker
            return Outcome(item.key, item.attempt, False, lost=True, error=error)
        # e.g. the task could not be deserialised on the worker
        return Outcome(item.key, item.attempt, False, error=error)

    def cancel(self, item: WorkItem) -> None:
        if self._cancel_files is not None:
            self._cancel_files.cancel(item)
        item.cancelled = True
        future = self._futures.get((item.key, item.attempt))
        if future is not None and self.client is not None:
            with contextlib.suppress(Exception):
                self.client.cancel(future)

    def shutdown(self) -> None:
        if self._collector is not None:
            self._stopping = True
            self._collector.join()
            self._collector = None
        client, cluster = self.client, self._cluster
        self._cluster = None
        if self._owns_client:
            self.client = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            if client is not None and self._owns_client:
                client.close()
            if cluster is not None:
                cluster.close()
        if self._cancel_files is not None:
            self._cancel_files.close()
            self._cancel_files = None


def _on_loopback(address: str) -> bool:
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")

"""Ray as an executor, for users whose cluster is a Ray cluster.

Needs the ``ray`` extra (``pip install parallel_architecture_framework[ray]``).
The executor joins the Ray runtime this process already has (``ray.init``
called by the user), connects to ``address``, or starts a local one on
loopback that it owns and shuts down.  Each attempt becomes one Ray task
(``max_retries=0``: our scheduler, not Ray, decides about retries, so a task
behaves the same here as on every other executor).  A task whose worker died
(``WorkerCrashedError``, ``NodeDiedError``, ``OwnerDiedError``) is reported
lost and re-submitted by our scheduler up to its ``max_worker_losses``.

Each task function becomes one Ray remote function, exported to the workers
once (as a Ray user's ``@ray.remote`` function is), instead of travelling
pickled with every attempt.  With ``early_start=True`` a task whose inputs
are still running on Ray is started with their references, so Ray hands the
values from worker to worker.

Ray calls back as each attempt finishes (``ObjectRef.future``); one thread
reports those in batches, so a slow task never holds up the report of a fast
one and nothing polls over everything in flight.

Cooperative cancellation reaches running attempts through cancellation files
when the workers share this machine (a local runtime); ``ray.cancel`` removes
an attempt that has not started.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import sys
import threading
from collections.abc import Callable
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

__all__ = ["RayExecutor"]

# Ray errors meaning the worker or node (not the task) failed: the attempt is re-run.
_LOST = frozenset(
    {
        "WorkerCrashedError",
        "NodeDiedError",
        "OwnerDiedError",
        "ObjectLostError",
        "LocalRayletDiedError",
    }
)


_as_outcome = functools.partial(tuple.__new__, Outcome)


def _ray_task(func: Callable[..., Any]) -> Callable[..., tuple[Any, ...]]:
    """The worker side of ``func``: run one attempt from its call tuple.

    ``inputs`` are the outcomes of the dependencies the attempt was started
    before (Ray resolved their references).  A task's own exception is data
    in the outcome, never a Ray task error.
    """

    def paf_task(call: tuple[Any, ...], *inputs: tuple[Any, ...]) -> tuple[Any, ...]:
        key, attempt, args, kwargs, is_async, timeout, cancel_file = call
        item = WorkItem(key, attempt, func, args, kwargs, is_async, timeout, 0.0)
        item.cancel_path = cancel_file
        if inputs:
            outcome = run_with_inputs(item, [_as_outcome(reply) for reply in inputs])
        else:
            outcome = run_item(item)
        # A plain tuple: Ray serialises it faster than a named tuple class.
        return tuple(outcome)

    paf_task.__name__ = paf_task.__qualname__ = getattr(func, "__name__", "paf_task")
    return paf_task


class RayExecutor(Executor):
    """Run tasks on Ray.

    Args:
        address: a Ray cluster to connect to (``ray://host:port`` or
            ``host:port``); ``None`` uses the runtime this process already
            started, or starts a local one that this executor owns.
        workers: CPUs of a local runtime this executor starts (default: available cores).
        early_start: hand Ray a task as soon as its inputs are running there
            (Ray passes the values between workers) instead of once they are
            done.  Off by default: on a local runtime it measured slower
            (docs/BENCHMARKS.md).
    """

    name = "ray"

    def __init__(
        self, address: str | None = None, *, workers: int | None = None, early_start: bool = False
    ) -> None:
        super().__init__(workers)
        self.address = address
        self.carries_dependencies = early_start
        self._ray: Any = None
        self._running = False
        # id(func) -> (func, its Ray remote function); func is kept so its id stays unique.
        self._remotes: dict[int, tuple[Any, Any]] = {}
        self._finished: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._owns_runtime = False
        self._slots = 0
        self._lock = threading.Lock()
        self._refs: dict[Any, WorkItem] = {}
        self._by_item: dict[tuple[str, int], Any] = {}
        self._sendable = SendableFunctions()
        self._cancel_files: CancelFiles | None = None
        self._collector: threading.Thread | None = None

    def describe(self) -> str:
        return f"ray({self.address or 'local'}, {self._slots or self.workers} cpus)"

    def start(self, report: ReportFn) -> None:
        try:
            import ray  # type: ignore[import-not-found,unused-ignore]  # optional extra
        except ImportError as exc:
            raise ParallelExecutorError(
                "the ray executor needs Ray, which is not installed",
                hint="pip install 'parallel_architecture_framework[ray]'",
            ) from exc
        self._report = report
        self._ray = ray
        if not ray.is_initialized():
            try:
                if self.address is None:
                    ray.init(
                        num_cpus=self.workers,
                        include_dashboard=False,
                        log_to_driver=False,
                        configure_logging=False,
                    )
                else:
                    ray.init(address=self.address, log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ParallelExecutorError(
                    f"cannot start or reach Ray at {self.address or 'a new local runtime'}: {exc}",
                    address=self.address,
                    hint="check the address, or call ray.init() yourself before creating the Client",
                ) from exc
            self._owns_runtime = True
        self._running = True
        resources = ray.cluster_resources()  # type: ignore[no-untyped-call,unused-ignore]
        self._slots = int(resources.get("CPU", self.workers))
        if self.address is None:
            self._cancel_files = CancelFiles()  # a local runtime shares our filesystem
        self._collector = threading.Thread(
            target=self._collect, name="paf-ray-collector", daemon=True
        )
        self._collector.start()

    def max_in_flight(self) -> int:
        # Ray queues on its own scheduler: hand it whole batches, as a Ray user
        # would, rather than refilling a short queue one round trip at a time.
        return max(512 * self._slots, 2048)

    def capacity(self) -> Resources:
        return Resources(cpu=float(max(self._slots, 1)), memory=2**62, tags={})

    def submit(self, items: list[WorkItem]) -> None:
        if not self._running:
            raise ParallelExecutorError(
                "the ray executor is not running", hint="submit through a Client"
            )
        submitted = []
        unsent = []
        for item in items:
            if self._cancel_files is not None:
                self._cancel_files.assign(item)
            if any(dep.handle is None for dep in item.remote):
                unsent.append(item)  # an input this executor never got: cannot be wired
                continue
            call = (
                item.key,
                item.attempt,
                item.args,
                item.kwargs,
                item.is_async,
                item.timeout,
                item.cancel_path,
            )
            # Ray resolves the inputs' references to their outcomes on the worker.
            ref = self._remote_of(item.func).remote(call, *[dep.handle for dep in item.remote])
            item.handle = ref
            submitted.append((item, ref))
        if unsent and self._report is not None:
            self._report([requeued(item, None) for item in unsent])
        with self._lock:
            for item, ref in submitted:
                self._refs[ref] = item
                self._by_item[(item.key, item.attempt)] = ref
        finished = self._finished
        for _, ref in submitted:
            ref.future().add_done_callback(lambda done, ref=ref: finished.put((ref, done)))

    def _remote_of(self, func: Callable[..., Any]) -> Any:
        """The Ray remote function running ``func`` (made, and exported, once per function)."""
        known = self._remotes.get(id(func))
        if known is not None and known[0] is func:
            return known[1]
        self._sendable.prepare(func)
        module = sys.modules.get(getattr(getattr(func, "func", func), "__module__", "") or "")
        if module is not None and self._sendable.by_value(module.__name__):
            # Ray pickles with its own copy of cloudpickle: tell it too.
            self._ray.cloudpickle.register_pickle_by_value(module)
        remote = self._ray.remote(max_retries=0)(_ray_task(func))
        self._remotes[id(func)] = (func, remote)
        return remote

    def _collect(self) -> None:
        """Collector thread: report attempts as Ray finishes them, in batches."""
        finished = self._finished
        while True:
            first = finished.get()
            if first is None:
                return
            batch = [first]
            with contextlib.suppress(queue.Empty):
                while len(batch) < 4096:
                    entry = finished.get_nowait()
                    if entry is None:
                        finished.put(None)  # seen again once this batch is reported
                        break
                    batch.append(entry)
            with self._lock:
                reported = []
                for ref, done in batch:
                    item = self._refs.pop(ref, None)
                    if item is not None:
                        self._by_item.pop((item.key, item.attempt), None)
                        reported.append(self._outcome(item, done))
            if reported:
                assert self._report is not None  # noqa: S101 - started
                self._report(reported)

    def _outcome(self, item: WorkItem, done: Any) -> Outcome:
        """The outcome of a finished attempt from Ray's future for it."""
        ray = self._ray
        try:
            result = done.result()
        except ray.exceptions.RayError as exc:
            if item.cancelled:
                return skipped(item, "ray")
            if item.remote:  # an input's Ray task failed, was cancelled or lost: wait for its retry
                return requeued(item, exc)
            if isinstance(exc, ray.exceptions.TaskCancelledError):
                return skipped(item, "ray")
            if type(exc).__name__ in _LOST:
                return Outcome(item.key, item.attempt, False, lost=True, error=exc)
            return Outcome(item.key, item.attempt, False, error=exc)
        except Exception as exc:  # e.g. the result could not be deserialised here
            return Outcome(item.key, item.attempt, False, error=exc)
        if type(result) is tuple and len(result) == len(Outcome._fields):
            return _as_outcome(result)
        if not isinstance(result, Outcome):
            return Outcome(
                item.key,
                item.attempt,
                False,
                error=ParallelExecutorError(
                    f"unexpected reply from Ray for {item.key}: {result!r}"
                ),
            )
        return result

    def cancel(self, item: WorkItem) -> None:
        if self._cancel_files is not None:
            self._cancel_files.cancel(item)
        item.cancelled = True
        with self._lock:
            ref = self._by_item.get((item.key, item.attempt))
        if ref is not None and self._ray is not None:
            with contextlib.suppress(Exception):
                self._ray.cancel(ref, force=False)

    def shutdown(self) -> None:
        self._running = False
        if self._collector is not None:
            self._finished.put(None)
            self._collector.join()
            self._collector = None
        self._remotes.clear()
        if self._ray is not None and self._owns_runtime:
            self._ray.shutdown()
            self._owns_runtime = False
        if self._cancel_files is not None:
            self._cancel_files.close()
            self._cancel_files = None

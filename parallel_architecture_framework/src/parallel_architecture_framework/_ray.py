"""Ray as an executor, for users whose cluster is a Ray cluster.

Needs the ``ray`` extra (``pip install parallel_architecture_framework[ray]``).
The executor joins the Ray runtime this process already has (``ray.init``
called by the user), connects to ``address``, or starts a local one on
loopback that it owns and shuts down.  Each attempt becomes one Ray task
(``max_retries=0``: our scheduler, not Ray, decides about retries, so a task
behaves the same here as on every other executor).  A task whose worker died
(``WorkerCrashedError``, ``NodeDiedError``, ``OwnerDiedError``) is reported
lost and re-submitted by our scheduler up to its ``max_worker_losses``.

Results are collected by one thread with ``ray.wait`` over everything in
flight, so a slow task never holds up the report of a fast one.

Cooperative cancellation reaches running attempts through cancellation files
when the workers share this machine (a local runtime); ``ray.cancel`` removes
an attempt that has not started.
"""

from __future__ import annotations

import contextlib
import pickle
import threading
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


def _run_on_ray(payload: bytes, *inputs: bytes) -> bytes:
    """Worker side: the item travels pre-pickled by cloudpickle (functions of
    scripts and test files by value), and the outcome comes back the same way,
    so a task's own exception is data, never a Ray task error.  ``inputs`` are
    the replies of the dependencies it was started before (Ray resolved them)."""
    import cloudpickle  # type: ignore[import-untyped,unused-ignore]  # ships no type hints

    item: WorkItem = pickle.loads(payload)  # noqa: S301 - sent by our driver
    if inputs:
        replies = [pickle.loads(reply) for reply in inputs]  # noqa: S301 - our workers' replies
        outcome = run_with_inputs(item, replies)
    else:
        outcome = run_item(item)
    return bytes(cloudpickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))


class RayExecutor(Executor):
    """Run tasks on Ray.

    Args:
        address: a Ray cluster to connect to (``ray://host:port`` or
            ``host:port``); ``None`` uses the runtime this process already
            started, or starts a local one that this executor owns.
        workers: CPUs of a local runtime this executor starts (default: available cores).
    """

    name = "ray"
    carries_dependencies = True

    def __init__(self, address: str | None = None, *, workers: int | None = None) -> None:
        super().__init__(workers)
        self.address = address
        self._ray: Any = None
        self._remote: Any = None
        self._owns_runtime = False
        self._slots = 0
        self._lock = threading.Lock()
        self._refs: dict[Any, WorkItem] = {}
        self._by_item: dict[tuple[str, int], Any] = {}
        self._sendable = SendableFunctions()
        self._cancel_files: CancelFiles | None = None
        self._collector: threading.Thread | None = None
        self._stopping = False
        self._changed = threading.Condition(self._lock)

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
        self._remote = ray.remote(max_retries=0)(_run_on_ray)
        resources = ray.cluster_resources()  # type: ignore[no-untyped-call,unused-ignore]
        self._slots = int(resources.get("CPU", self.workers))
        if self.address is None:
            self._cancel_files = CancelFiles()  # a local runtime shares our filesystem
        self._stopping = False
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
        if self._remote is None:
            raise ParallelExecutorError(
                "the ray executor is not running", hint="submit through a Client"
            )
        import cloudpickle  # type: ignore[import-untyped,unused-ignore]  # ships no type hints

        submitted = []
        unsent = []
        for item in items:
            self._sendable.prepare(item.func)
            if self._cancel_files is not None:
                self._cancel_files.assign(item)
            if any(dep.handle is None for dep in item.remote):
                unsent.append(item)  # an input this executor never got: cannot be wired
                continue
            payload = cloudpickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
            # Ray resolves the inputs' references to their replies on the worker.
            item.handle = self._remote.remote(payload, *[dep.handle for dep in item.remote])
            submitted.append((item, item.handle))
        if unsent and self._report is not None:
            self._report([requeued(item, None) for item in unsent])
        with self._lock:
            for item, ref in submitted:
                self._refs[ref] = item
                self._by_item[(item.key, item.attempt)] = ref
            self._changed.notify()

    def _collect(self) -> None:
        """Collector thread: report attempts as Ray finishes them, in batches."""
        ray = self._ray
        while True:
            with self._lock:
                while not self._refs and not self._stopping:
                    self._changed.wait()
                if self._stopping:
                    return
                pending = list(self._refs)
            done, rest = ray.wait(pending, num_returns=1, timeout=0.05)
            if not done:
                continue
            if rest:  # and whatever else is ready now, without waiting
                more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
                done += more
            with self._lock:
                finished = [(ref, self._refs.pop(ref)) for ref in done if ref in self._refs]
                for _, item in finished:
                    self._by_item.pop((item.key, item.attempt), None)
            outcomes = self._outcomes(finished)
            if outcomes:
                assert self._report is not None  # noqa: S101 - started
                self._report(outcomes)

    def _outcomes(self, finished: list[tuple[Any, WorkItem]]) -> list[Outcome]:
        """One ``ray.get`` for the whole batch; one per reference only if that fails."""
        try:
            results = self._ray.get([ref for ref, _ in finished])
        except Exception:  # one of them is an error: sort them out one by one
            return [self._outcome(item, ref) for ref, item in finished]
        return [
            self._decode(item, result) for (_, item), result in zip(finished, results, strict=True)
        ]

    def _outcome(self, item: WorkItem, ref: Any) -> Outcome:
        ray = self._ray
        try:
            result = ray.get(ref)
        except ray.exceptions.RayError as exc:
            if item.cancelled:
                return skipped(item, "ray")
            if item.remote:  # an input's Ray task failed, was cancelled or lost: wait for its retry
                return requeued(item, exc)
            if isinstance(exc, ray.exceptions.TaskCancelledError):
                return skipped(item, "ray")
            name = type(exc).__name__
            if name in _LOST:
                return Outcome(item.key, item.attempt, False, lost=True, error=exc)
            return Outcome(item.key, item.attempt, False, error=exc)
        return self._decode(item, result)

    def _decode(self, item: WorkItem, result: Any) -> Outcome:
        try:
            outcome: Outcome = pickle.loads(result)  # noqa: S301 - our own workers' replies
        except Exception as exc:
            return Outcome(item.key, item.attempt, False, error=exc)
        return outcome

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
        if self._collector is not None:
            with self._lock:
                self._stopping = True
                self._changed.notify()
            self._collector.join()
            self._collector = None
        if self._ray is not None and self._owns_runtime:
            self._ray.shutdown()
            self._owns_runtime = False
        self._remote = None
        if self._cancel_files is not None:
            self._cancel_files.close()
            self._cancel_files = None

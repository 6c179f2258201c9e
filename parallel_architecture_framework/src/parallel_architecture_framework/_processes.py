"""A process pool that batches tiny tasks: the default executor.

Sending one task per message costs a pickle round trip and a queue hop per
task (about 150 µs), which dwarfs a task that runs for 5 µs.  This executor
measures how long tasks take (an exponentially weighted mean) and packs as
many into one message as fit in ``target_batch_seconds`` of work, never more
than an equal share per worker, so tiny tasks run at near-loop speed and long
ones still spread one per worker.  Tasks with a timeout travel alone so their
deadline is not spent waiting behind others.

Functions travel by cloudpickle: functions of importable modules by reference,
functions of ``__main__`` or of modules a fresh interpreter cannot import
(scripts, test files) by value.  Workers start with ``forkserver`` where the
platform has it (safe with threads in the parent), else ``spawn``.

A worker that dies (killed, segfault, out of memory) breaks the pool: every
attempt in flight is reported *lost*, the pool is replaced, and the scheduler
re-runs those attempts on the new workers.

Cancellation is cooperative through a marker file per attempt (see
:class:`~parallel_architecture_framework._executor.CancelFiles`): a task that
polls ``current_task().cancelled`` stops soon after ``future.cancel()`` or its
timeout; one that never polls runs to completion and its result is discarded.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import pickle
import threading
from concurrent.futures import Future as CfFuture
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from parallel_architecture_framework._executor import (
    CancelFiles,
    Executor,
    ReportFn,
    SendableFunctions,
    cancel_path,
)
from parallel_architecture_framework._task import Resources
from parallel_architecture_framework._work import Outcome, WorkItem, run_item, skipped, worker_name
from parallel_architecture_framework.errors import (
    ParallelExecutorError,
    ParallelInputError,
    ParallelTaskError,
)

__all__ = ["ProcessExecutor"]


class ProcessExecutor(Executor):
    """Run tasks in ``workers`` processes, batching tiny ones.

    Args:
        workers: process count (default: available cores).
        start_method: ``forkserver`` (default where available), ``spawn`` or ``fork``.
        target_batch_seconds: work packed into one message once task times are known.
        max_batch: upper bound of tasks per message.
    """

    name = "processes"

    def __init__(
        self,
        workers: int | None = None,
        *,
        start_method: str | None = None,
        target_batch_seconds: float = 0.02,
        max_batch: int = 2048,
        resources: Resources | None = None,
    ) -> None:
        super().__init__(workers, resources=resources)
        methods = multiprocessing.get_all_start_methods()
        if start_method is None:
            start_method = "forkserver" if "forkserver" in methods else "spawn"
        if start_method not in methods:
            raise ParallelInputError(
                f"start method {start_method!r} is not available here",
                field="start_method",
                hint=f"use one of {', '.join(methods)}",
            )
        if target_batch_seconds <= 0 or max_batch < 1:
            raise ParallelInputError(
                "target_batch_seconds must be > 0 and max_batch >= 1",
                field="batching",
                hint="the defaults (0.02 s, 2048) suit most workloads",
            )
        self.start_method = start_method
        self.target_batch_seconds = target_batch_seconds
        self.max_batch = max_batch
        self._pool: ProcessPoolExecutor | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self._mean_seconds: float | None = None
        self._sendable = SendableFunctions()
        self._pending: list[WorkItem] = []
        self._alone: list[WorkItem] = []
        self._messages = 0
        self._cancel_files: CancelFiles | None = None
        self.pools_started = 0

    def start(self, report: ReportFn) -> None:
        if self._pool is not None:
            raise ParallelExecutorError(
                "this process executor is already started", hint="use one executor per client"
            )
        self._report = report
        self._cancel_files = CancelFiles()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        self.pools_started += 1
        context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            _preload_worker_module(context)
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=context)

    def batch_size(self) -> int:
        """Tasks per message given the measured mean task time (1 until measured)."""
        mean = self._mean_seconds
        if mean is None:
            return 1
        return max(1, min(self.max_batch, int(self.target_batch_seconds / max(mean, 1e-7))))

    def max_in_flight(self) -> int:
        return 2 * self.workers * self.batch_size()

    def submit(self, items: list[WorkItem]) -> None:
        if self._pool is None:
            raise ParallelExecutorError(
                "the process executor is not running", hint="submit through a Client"
            )
        prepared = None
        for item in items:
            if item.func is not prepared:  # runs of one function are common (map)
                self._sendable.prepare(item.func)
                prepared = item.func
        with self._lock:
            for item in items:
                (self._alone if item.timeout is not None else self._pending).append(item)
        self._flush()

    def _flush(self) -> None:
        """Send pending items while fewer than ``workers + 1`` messages are in flight.

        Holding items back while every worker is busy lets the items that
        become ready meanwhile travel together: a DAG whose completions each
        release a few tasks then costs one message per completion, not one
        per task.
        """
        while True:
            with self._lock:
                free = self.workers + 1 - self._messages
                if free <= 0 or not (self._pending or self._alone):
                    return
                if self._alone:
                    batch = [self._alone.pop(0)]
                else:
                    size = max(1, min(self.batch_size(), math.ceil(len(self._pending) / free)))
                    batch, self._pending = self._pending[:size], self._pending[size:]
                self._messages += 1
            self._send(batch)

    def _send(self, batch: list[WorkItem]) -> None:
        import cloudpickle  # type: ignore[import-untyped,unused-ignore]  # ships no type hints

        cancel_root = self._cancel_files.root if self._cancel_files is not None else None
        try:
            payload = cloudpickle.dumps(
                (
                    cancel_root,
                    [
                        (i.key, i.attempt, i.func, i.args, i.kwargs, i.is_async, i.timeout)
                        for i in batch
                    ],
                ),
                protocol=pickle.HIGHEST_PROTOCOL,
            )
        except Exception as exc:
            if len(batch) > 1:  # find the culprit; the others still run
                with self._lock:
                    self._messages += len(batch) - 1
                for item in batch:
                    self._send([item])
                return
            self._message_done()
            self._fail(
                batch,
                ParallelTaskError(
                    f"cannot send task {batch[0].key} to a worker process: {exc}",
                    key=batch[0].key,
                    hint="pass picklable arguments, or use the threads executor",
                ),
            )
            return
        with self._lock:
            pool, generation = self._pool, self._generation
        if pool is None:
            self._message_done()
            self._fail(
                batch,
                ParallelExecutorError(
                    "the process executor was shut down", hint="create a new Client"
                ),
            )
            return
        try:
            future = pool.submit(_run_batch, payload)
        except BrokenProcessPool:
            self._message_done()
            self._lost(batch, generation)
            return
        except RuntimeError as exc:  # submitted after shutdown
            self._message_done()
            self._fail(
                batch,
                ParallelExecutorError(
                    f"the process pool is shut down: {exc}", hint="create a new Client"
                ),
            )
            return
        future.add_done_callback(functools.partial(self._done, batch, generation))

    def _fail(self, batch: list[WorkItem], error: BaseException) -> None:
        assert self._report is not None  # noqa: S101 - started
        self._report([Outcome(item.key, item.attempt, False, error=error) for item in batch])

    def _lost(self, batch: list[WorkItem], generation: int) -> None:
        with self._lock:
            if generation == self._generation and self._pool is not None:
                old = self._pool
                self._pool = self._new_pool()
                self._generation += 1
                old.shutdown(wait=False, cancel_futures=True)
        assert self._report is not None  # noqa: S101 - started
        self._report([Outcome(item.key, item.attempt, False, lost=True) for item in batch])

    def _done(self, batch: list[WorkItem], generation: int, future: CfFuture[bytes]) -> None:
        self._message_done()
        try:
            worker, rows = pickle.loads(future.result())  # noqa: S301 - our own workers' replies
            outcomes = [
                Outcome(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], worker) for r in rows
            ]
        except BrokenProcessPool:
            self._lost(batch, generation)
            return
        except Exception as exc:  # the reply could not be decoded: fail these items visibly
            self._fail(
                batch,
                ParallelTaskError(
                    f"worker reply for {len(batch)} task(s) could not be decoded: {exc}",
                    hint="return picklable values from tasks",
                ),
            )
            return
        total = sum(o.finished - o.started for o in outcomes)
        mean = total / max(len(outcomes), 1)
        previous = self._mean_seconds
        self._mean_seconds = mean if previous is None else 0.8 * previous + 0.2 * mean
        assert self._report is not None  # noqa: S101 - started
        self._report(outcomes)
        self._flush()

    def _message_done(self) -> None:
        with self._lock:
            self._messages = max(self._messages - 1, 0)

    def cancel(self, item: WorkItem) -> None:
        """Ask a running attempt to stop through its cancellation file (cooperative)."""
        if self._cancel_files is not None:
            self._cancel_files.cancel(item)
        else:
            item.cancelled = True

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self._generation += 1
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if self._cancel_files is not None:
            self._cancel_files.close()
            self._cancel_files = None

    def worker_pids(self) -> list[int]:
        """Process ids of the current pool's live workers (for monitoring and tests)."""
        with self._lock:
            pool = self._pool
        processes = getattr(pool, "_processes", None) or {}
        return sorted(pid for pid, proc in processes.items() if proc.is_alive())


def _preload_worker_module(context: Any) -> None:
    """Have the forkserver import our worker code once, before it starts.

    Every worker is forked from the server, so each then starts with this
    module (and cloudpickle) already imported instead of importing it on its
    first task.  The default preload (``__main__``) is kept.  Once the server
    runs, its preload list can no longer change, so this is a no-op then.
    """
    from multiprocessing import forkserver

    if getattr(forkserver._forkserver, "_forkserver_pid", None) is None:
        context.set_forkserver_preload(["__main__", "cloudpickle", __name__])


def _run_batch(payload: bytes) -> bytes:
    """Worker side: run a batch; reply ``(worker, rows)`` with one plain tuple per outcome.

    Calls and outcomes travel as tuples of plain values, not objects: the
    pickler then runs at C speed instead of calling back into Python for every
    item, which is what makes thousands of tiny tasks per message cheap.
    Values or errors that cannot be pickled are degraded one by one.
    """
    import cloudpickle  # type: ignore[import-untyped,unused-ignore]  # ships no type hints

    worker = worker_name()
    rows = []
    cancel_root, calls = pickle.loads(payload)  # noqa: S301 - sent by our driver
    for call in calls:
        item = WorkItem(call[0], call[1], call[2], call[3], call[4], call[5], call[6], 0.0)
        if cancel_root is not None:
            item.cancel_path = cancel_path(cancel_root, item.key, item.attempt)
        outcome = skipped(item, worker) if item.cancel_requested else run_item(item, worker)
        rows.append(_row(outcome))
    try:
        return bytes(cloudpickle.dumps((worker, rows), protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # one value or error cannot travel: degrade just those
        safe = []
        for row in rows:
            try:
                cloudpickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL)
                safe.append(row)
            except Exception as exc:
                key, _, ok, _, error = row[:5]
                what = "result" if ok else f"error {type(error).__name__}: {error}"
                replacement = ParallelTaskError(
                    f"task {key}'s {what} cannot be sent back from its worker: {exc}",
                    key=key,
                    hint="return picklable values, or use the threads executor",
                )
                safe.append((row[0], row[1], False, None, replacement, *row[5:]))
        return bytes(cloudpickle.dumps((worker, safe), protocol=pickle.HIGHEST_PROTOCOL))


def _row(outcome: Outcome) -> tuple[Any, ...]:
    """The fields of an outcome (but its worker) in constructor order."""
    return (
        outcome.key,
        outcome.attempt,
        outcome.ok,
        outcome.value,
        outcome.error,
        outcome.remote_traceback,
        outcome.started,
        outcome.finished,
    )

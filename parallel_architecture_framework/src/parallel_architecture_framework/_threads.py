"""In-process threads: the lowest overhead per task, for I/O-bound work or code
that releases the GIL (NumPy, compression, hashing).

Each worker thread takes the next item from one shared queue, so an idle
worker always takes the highest-priority ready item (the queue is fed in
priority order by the scheduler): idle workers never wait while work is queued
elsewhere, which is what work stealing buys a multi-queue design.
"""

from __future__ import annotations

import queue
import threading

from parallel_architecture_framework._executor import Executor, ReportFn
from parallel_architecture_framework._task import Resources
from parallel_architecture_framework._work import WorkItem, run_item, skipped, worker_name
from parallel_architecture_framework.errors import ParallelExecutorError

__all__ = ["ThreadExecutor"]


class ThreadExecutor(Executor):
    """Run tasks on ``workers`` daemon threads of this process.

    Cancellation is cooperative: a running task sees
    ``current_task().cancelled`` become true.
    """

    name = "threads"

    def __init__(self, workers: int | None = None, *, resources: Resources | None = None) -> None:
        super().__init__(workers, resources=resources)
        self._queue: queue.SimpleQueue[WorkItem | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def start(self, report: ReportFn) -> None:
        if self._threads:
            raise ParallelExecutorError(
                "this thread executor is already started", hint="use one executor per client"
            )
        self._report = report
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"paf-thread-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        get = self._queue.get
        report = self._report
        assert report is not None  # noqa: S101 - set before threads start
        name = worker_name()
        while True:
            item = get()
            if item is None:
                return
            report([skipped(item, name) if item.cancelled else run_item(item, name)])

    def submit(self, items: list[WorkItem]) -> None:
        if not self._threads:
            raise ParallelExecutorError(
                "the thread executor is not running", hint="submit through a Client"
            )
        put = self._queue.put
        for item in items:
            put(item)

    def shutdown(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()
        self._threads.clear()

"""An anyio event loop for async tasks (and sync ones on its worker threads).

Thousands of coroutines can wait on I/O at once on one thread; the executor
lets ``concurrency`` of them be in flight.  Unlike threads and processes,
cancellation and timeouts here are real: each attempt runs in its own cancel
scope, so ``future.cancel()`` or a passed deadline interrupts the coroutine at
its next ``await``.  Sync functions submitted here run on anyio worker threads
(at most ``workers`` at a time) with cooperative cancellation.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from anyio.abc import TaskGroup, TaskStatus

from parallel_architecture_framework._executor import Executor, ReportFn
from parallel_architecture_framework._work import (
    _CURRENT,
    Outcome,
    TaskContext,
    WorkItem,
    worker_name,
)
from parallel_architecture_framework.errors import (
    ParallelCancelledError,
    ParallelExecutorError,
    ParallelInputError,
    ParallelTimeoutError,
)

__all__ = ["AsyncExecutor"]


class AsyncExecutor(Executor):
    """Run tasks on one anyio event loop in a background thread.

    Args:
        workers: threads for sync functions (default: available cores).
        concurrency: coroutines in flight at once (default 256).
        backend: ``asyncio`` or ``trio`` (if installed).
    """

    name = "async"

    def __init__(
        self, workers: int | None = None, *, concurrency: int = 256, backend: str = "asyncio"
    ) -> None:
        super().__init__(workers)
        if concurrency < 1:
            raise ParallelInputError(
                f"concurrency={concurrency} must be at least 1",
                field="concurrency",
                hint="e.g. 256",
            )
        self.concurrency = concurrency
        self.backend = backend
        self._portal_cm: Any = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._group: TaskGroup | None = None
        self._stop: anyio.Event | None = None
        self._serving: Any = None
        self._loop_thread: int | None = None
        self._scopes: dict[tuple[str, int], anyio.CancelScope] = {}
        self._threads: anyio.CapacityLimiter | None = None

    def describe(self) -> str:
        return f"async({self.concurrency} coroutines, {self.workers} threads)"

    def max_in_flight(self) -> int:
        return self.concurrency

    def start(self, report: ReportFn) -> None:
        if self._portal is not None:
            raise ParallelExecutorError(
                "this async executor is already started", hint="use one executor per client"
            )
        self._report = report
        self._portal_cm = anyio.from_thread.start_blocking_portal(self.backend, name="paf-async")
        self._portal = self._portal_cm.__enter__()
        self._serving, self._group = self._portal.start_task(self._serve)

    async def _serve(self, *, task_status: TaskStatus[TaskGroup]) -> None:
        self._loop_thread = threading.get_ident()
        self._threads = anyio.CapacityLimiter(self.workers)
        self._stop = anyio.Event()
        async with anyio.create_task_group() as group:
            task_status.started(group)
            await self._stop.wait()
            group.cancel_scope.cancel()

    def _in_loop(self) -> bool:
        return threading.get_ident() == self._loop_thread

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a sync ``fn`` on the loop thread, from any thread."""
        if self._in_loop():
            fn(*args)
        elif self._portal is not None:
            with contextlib.suppress(RuntimeError):  # the loop already stopped
                self._portal.call(fn, *args)

    def submit(self, items: list[WorkItem]) -> None:
        if self._group is None:
            raise ParallelExecutorError(
                "the async executor is not running", hint="submit through a Client"
            )
        self._call(self._spawn, items)

    def _spawn(self, items: list[WorkItem]) -> None:
        assert self._group is not None  # noqa: S101 - started
        for item in items:
            self._group.start_soon(self._run, item, name=item.key)

    async def _run(self, item: WorkItem) -> None:
        assert self._report is not None  # noqa: S101 - started
        assert self._threads is not None  # noqa: S101 - started
        token = _CURRENT.set(TaskContext(item))
        started = time.time()
        worker = worker_name()
        outcome: Outcome
        try:
            with anyio.CancelScope() as scope:
                self._scopes[(item.key, item.attempt)] = scope
                if item.cancelled:
                    scope.cancel()
                with (
                    anyio.fail_after(item.timeout)
                    if item.timeout is not None
                    else contextlib.nullcontext()
                ):
                    if item.is_async:
                        value = await item.func(*item.args, **item.kwargs)
                    else:
                        call = functools.partial(item.func, *item.args, **item.kwargs)
                        value = await anyio.to_thread.run_sync(
                            call, limiter=self._threads, abandon_on_cancel=True
                        )
            if scope.cancelled_caught:
                raise ParallelCancelledError(  # noqa: TRY301 - reported like any task failure
                    f"task {item.key} was cancelled while running",
                    key=item.key,
                    hint="submit it again if needed",
                )
            outcome = Outcome(
                item.key,
                item.attempt,
                True,
                value=value,
                started=started,
                finished=time.time(),
                worker=worker,
            )
        except TimeoutError:
            error = ParallelTimeoutError(
                f"task {item.key} attempt {item.attempt} ran longer than its timeout of {item.timeout} s",
                key=item.key,
                hint="raise the task's timeout",
            )
            outcome = Outcome(
                item.key,
                item.attempt,
                False,
                error=error,
                started=started,
                finished=time.time(),
                worker=worker,
            )
        except Exception as exc:
            outcome = Outcome(
                item.key,
                item.attempt,
                False,
                error=exc,
                remote_traceback="".join(traceback.format_exception(exc)),
                started=started,
                finished=time.time(),
                worker=worker,
            )
        finally:
            self._scopes.pop((item.key, item.attempt), None)
            _CURRENT.reset(token)
        self._report([outcome])

    def cancel(self, item: WorkItem) -> None:
        item.cancelled = True

        def cancel_scope() -> None:
            scope = self._scopes.get((item.key, item.attempt))
            if scope is not None:
                scope.cancel()

        self._call(cancel_scope)

    def shutdown(self) -> None:
        portal, self._portal = self._portal, None
        if portal is None:
            return
        stop = self._stop
        if stop is not None:
            with contextlib.suppress(RuntimeError):
                portal.call(stop.set)
        if self._serving is not None:
            with contextlib.suppress(Exception):
                self._serving.result()
        self._group = None
        self._portal_cm.__exit__(None, None, None)

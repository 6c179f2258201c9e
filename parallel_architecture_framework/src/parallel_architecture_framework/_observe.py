"""Telemetry of a run: Prometheus metrics and one OpenTelemetry span per task.

Both are recorded from the driver when a task settles, using the start and end
times its worker measured, so they work the same on every executor and need no
context propagation into worker processes or Dask workers.  Gauges are read
from the scheduler's counters at scrape time, costing nothing per task.

Spans are recorded when ``trace=True``, or by default whenever an SDK tracer
provider is installed (``shared_core.telemetry.setup_tracing``); with the
no-op provider they are skipped entirely to keep per-task overhead low.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parallel_architecture_framework._node import Node
    from parallel_architecture_framework._scheduler import Scheduler

__all__ = ["RunObserver"]

SYSTEM = "parallel_architecture_framework"
_LATENCY_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0)


class RunObserver:
    """Updates metrics and records spans for settled tasks."""

    def __init__(self, *, metrics: bool, trace: bool | None) -> None:
        self.metrics: Any = None
        self._trace_setting = trace
        self._tracer: Any = None
        self._parent: Any = None
        if metrics:
            from shared_core.telemetry import Metrics

            self.metrics = Metrics(SYSTEM)
            self._done = self.metrics.counter(
                "tasks_done_total", "tasks that finished successfully"
            )
            self._failed = self.metrics.counter(
                "tasks_failed_total", "tasks that failed after their retries"
            )
            self._cancelled = self.metrics.counter(
                "tasks_cancelled_total", "tasks cancelled, directly or because a dependency failed"
            )
            self._cache_hits = self.metrics.counter(
                "cache_hits_total", "results served from the result store"
            )
            self._latency = self.metrics.histogram(
                "task_duration_seconds",
                "run time of the last attempt of each task",
                buckets=_LATENCY_BUCKETS,
            )
        self._tracing_enabled()

    def _tracing_enabled(self) -> bool:
        if self._tracer is not None:
            return True
        if self._trace_setting is False:
            return False
        from opentelemetry import context, trace

        provider = trace.get_tracer_provider()
        if self._trace_setting is None and type(provider).__module__.startswith(
            "opentelemetry.trace"
        ):
            return False  # the API's no-op or proxy provider: nothing would be recorded
        self._tracer = trace.get_tracer(SYSTEM)
        self._parent = context.get_current()
        return True

    def bind(self, scheduler: Scheduler) -> None:
        """Expose the scheduler's live counts as gauges."""
        if self.metrics is None:
            return
        queued = self.metrics.gauge("tasks_queued_count", "tasks submitted and not yet running")
        running = self.metrics.gauge("tasks_running_count", "task attempts handed to the executor")
        queued.set_function(lambda: max(scheduler.unsettled - scheduler.in_flight, 0))
        running.set_function(lambda: scheduler.in_flight)

    def on_settle(self, nodes: list[Node]) -> None:
        """Record settled tasks (called by the scheduler outside its lock)."""
        from parallel_architecture_framework._node import CANCELLED_STATE, DONE

        if self.metrics is not None:
            done = failed = cancelled = hits = 0
            observe = self._latency.observe
            for node in nodes:
                if node.state == DONE:
                    done += 1
                    if node.cache_hit:
                        hits += 1
                    else:
                        observe(max(node.finished - node.started, 0.0))
                elif node.state == CANCELLED_STATE:
                    cancelled += 1
                else:
                    failed += 1
            if done:
                self._done.inc(done)
            if failed:
                self._failed.inc(failed)
            if cancelled:
                self._cancelled.inc(cancelled)
            if hits:
                self._cache_hits.inc(hits)
        if self._tracer is not None:
            self._spans(nodes)

    def _spans(self, nodes: list[Node]) -> None:
        from opentelemetry.trace import Status, StatusCode

        from parallel_architecture_framework._node import DONE, STATE_NAMES

        for node in nodes:
            start = node.started or node.submitted
            end = max(node.finished, start)
            span = self._tracer.start_span(
                f"paf.task {node.task.name}",
                context=self._parent,
                start_time=int(start * 1e9),
                attributes={
                    "paf.task.key": node.key,
                    "paf.task.name": node.task.name,
                    "paf.task.state": STATE_NAMES[node.state],
                    "paf.task.attempts": node.attempt,
                    "paf.task.worker": node.worker,
                    "paf.task.cache_hit": node.cache_hit,
                    "paf.task.deps": len(node.deps),
                },
            )
            if node.state != DONE and node.future is not None and node.future._error is not None:
                error = node.future._error
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            span.end(end_time=int(end * 1e9))

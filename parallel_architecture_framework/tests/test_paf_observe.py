"""Observability: Prometheus metrics, a span per task, and the run summary."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from parallel_architecture_framework import Client, task
from shared_core.telemetry import TelemetryHandle, setup_tracing


def inc(x: int) -> int:
    return x + 1


def boom(x: int) -> int:
    raise ValueError("boom")


@pytest.fixture
def tracing() -> Iterator[TelemetryHandle]:
    handle = setup_tracing("paf-test")
    yield handle
    handle.shutdown()


def _sample(client: Client, name: str) -> float:
    value = client.metrics.registry.get_sample_value(name)
    assert value is not None, name
    return float(value)


class TestMetrics:
    def test_counters_histogram_and_gauges(self, tmp_path: Path) -> None:
        """done/failed/cancelled counters, latency histogram and live gauges match the run."""
        started, release = threading.Event(), threading.Event()

        def gate() -> None:
            started.set()
            release.wait(10)

        with Client("threads", workers=1, cache_dir=tmp_path) as client:
            blocker = client.submit(gate)
            assert started.wait(10)
            queued = client.map(inc, range(3))
            assert _sample(client, "parallel_architecture_framework_tasks_running_count") == 1
            assert _sample(client, "parallel_architecture_framework_tasks_queued_count") == 3
            release.set()
            client.gather([blocker, *queued], timeout=30)
            failing = client.submit(boom, 1)
            dependant = client.submit(inc, failing)
            client.wait(timeout=30)
        assert dependant.cancelled()
        prefix = "parallel_architecture_framework_"
        assert _sample(client, prefix + "tasks_done_total") == 4
        assert _sample(client, prefix + "tasks_failed_total") == 1
        assert _sample(client, prefix + "tasks_cancelled_total") == 1
        assert _sample(client, prefix + "task_duration_seconds_count") == 4
        assert _sample(client, prefix + "tasks_running_count") == 0
        text = client.metrics.exposition().decode()
        assert "parallel_architecture_framework_task_duration_seconds_bucket" in text

    def test_cache_hits_counted(self, tmp_path: Path) -> None:
        """Results served from the store count as cache hits, not as run time."""
        cached = task(inc, cache=True)
        with Client("threads", workers=1, cache_dir=tmp_path) as client:
            client.submit(cached, 1).result(timeout=30)
            client.submit(cached, 1).result(timeout=30)
        assert _sample(client, "parallel_architecture_framework_cache_hits_total") == 1
        assert _sample(client, "parallel_architecture_framework_task_duration_seconds_count") == 1


class TestSpans:
    @pytest.mark.parametrize("executor", ["threads", "processes"])
    def test_one_span_per_task(
        self, executor: str, tmp_path: Path, tracing: TelemetryHandle
    ) -> None:
        """Each settled task is one span with its key, state and worker; failures are errors."""
        with Client(executor, workers=1, cache_dir=tmp_path) as client:
            ok = client.submit(inc, 1)
            bad = client.submit(boom, 2)
            client.wait(timeout=30)
        spans = {
            s.attributes["paf.task.key"]: s
            for s in tracing.finished_spans()
            if s.name.startswith("paf.task")
        }
        assert set(spans) == {ok.key, bad.key}
        good = spans[ok.key]
        assert good.attributes["paf.task.state"] == "done"
        assert str(good.attributes["paf.task.worker"]).count(":") >= 2
        assert good.end_time is not None
        assert good.start_time is not None
        assert good.end_time >= good.start_time
        failed = spans[bad.key]
        assert failed.attributes["paf.task.state"] == "failed"
        assert not failed.status.is_ok
        assert "boom" in str(failed.status.description)

    def test_no_spans_when_disabled(self, tmp_path: Path, tracing: TelemetryHandle) -> None:
        """trace=False records nothing even with a provider installed."""
        with Client("threads", workers=1, cache_dir=tmp_path, trace=False) as client:
            client.submit(inc, 1).result(timeout=30)
        assert not [s for s in tracing.finished_spans() if s.name.startswith("paf.task")]


def _step(previous: object, hold: threading.Event | None = None) -> int:
    if hold is not None:
        hold.wait(0.05)  # a measurable duration for the critical path, not synchronisation
    return 1


class TestSummary:
    def test_critical_path_follows_the_long_chain(self, tmp_path: Path) -> None:
        """The measured critical path is the chain of slow dependent tasks."""
        hold = threading.Event()
        with Client("threads", workers=2, cache_dir=tmp_path) as client:
            a = client.submit(_step, None, hold)
            b = client.submit(_step, a, hold)
            c = client.submit(_step, b, hold)
            quick = client.map(_step, range(5))
            client.gather([c, *quick], timeout=30)
            summary = client.summary()
        assert summary.critical_path == (a.key, b.key, c.key)
        assert summary.critical_path_seconds >= 0.15
        assert summary.counts["done"] == 8
        data = summary.to_dict(tasks=True)
        assert data["critical_path"] == [a.key, b.key, c.key]
        assert len(data["tasks"]) == 8
        assert f"{a.key} -> {b.key} -> {c.key}" in summary.render()

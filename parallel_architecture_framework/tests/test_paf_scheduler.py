"""Scheduling behaviour: priorities, resources, backpressure, cancellation, lost workers."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from parallel_architecture_framework import (
    Client,
    Graph,
    ParallelResourceError,
    ParallelWorkerLostError,
    ProcessExecutor,
    Resources,
    ThreadExecutor,
    current_task,
    task,
)


class Recorder:
    """Thread-safe log of what ran and the highest concurrency seen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.order: list[str] = []
        self.running = 0
        self.peak = 0

    def wait_running(self, count: int, timeout: float = 20.0) -> bool:
        """Block until ``count`` tasks run at once (an event, not a sleep)."""
        with self.changed:
            return self.changed.wait_for(lambda: self.running >= count, timeout)

    def run(self, name: str, hold: threading.Event | None = None) -> str:
        with self.lock:
            self.order.append(name)
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.changed.notify_all()
        if hold is not None:
            hold.wait(10)
        with self.lock:
            self.running -= 1
        return name


def gate(started: threading.Event, release: threading.Event) -> str:
    started.set()
    release.wait(10)
    return "gate"


class TestPriorities:
    def test_critical_path_runs_first(self, tmp_path: Path) -> None:
        """With one worker, the head of the longest chain runs before independent tasks."""
        log = Recorder()
        started, release = threading.Event(), threading.Event()
        graph = Graph()
        for name in ("x1", "x2", "x3"):
            graph.add(log.run, name)
        c1 = graph.add(log.run, "c1")
        c2 = graph.add(lambda _prev: log.run("c2"), c1)
        graph.add(lambda _prev: log.run("c3"), c2)
        with Client("threads", workers=1, cache_dir=tmp_path) as client:
            blocker = client.submit(gate, started, release)
            assert started.wait(10)
            futures = client.compute(graph)
            release.set()
            client.gather([blocker, *futures], timeout=30)
        assert log.order[:2] == ["c1", "c2"]
        assert sorted(log.order) == ["c1", "c2", "c3", "x1", "x2", "x3"]

    def test_declared_cost_raises_priority(self, tmp_path: Path) -> None:
        """Among ready tasks, a task declared costlier starts first."""
        log = Recorder()
        heavy = task(log.run, name="heavy", cost=50)
        started, release = threading.Event(), threading.Event()
        with Client("threads", workers=1, cache_dir=tmp_path) as client:
            blocker = client.submit(gate, started, release)
            assert started.wait(10)
            light = client.map(log.run, ["a", "b", "c"])
            big = client.submit(heavy, "H")
            release.set()
            client.gather([blocker, big, *light], timeout=30)
        assert log.order[0] == "H"

    def test_graph_priorities_and_critical_path(self) -> None:
        """Graph priorities are the costliest path below each node."""
        graph = Graph()
        a = graph.add(task(abs, cost=2), 1)
        b = graph.add(task(abs, cost=3), a)
        c = graph.add(task(abs, cost=1), a)
        d = graph.add(task(max, cost=1), b, c)
        assert graph.priorities() == [6.0, 4.0, 2.0, 1.0]
        assert graph.critical_path() == [a, b, d]


class TestResources:
    def test_declared_cpu_limits_concurrency(self, tmp_path: Path) -> None:
        """Tasks needing 2 cpus on a 4-cpu executor never run more than 2 at once."""
        log = Recorder()
        hold = threading.Event()
        wide = task(log.run, resources=Resources(cpu=2))
        with Client(ThreadExecutor(4), cache_dir=tmp_path) as client:
            futures = [client.submit(wide, f"t{i}", hold) for i in range(6)]
            assert log.wait_running(2)
            hold.set()
            client.gather(futures, timeout=30)
        assert log.peak == 2
        assert len(log.order) == 6

    def test_tags_admit_one_at_a_time(self, tmp_path: Path) -> None:
        """A custom tag offered once serialises the tasks that need it."""
        log = Recorder()
        hold = threading.Event()
        gpu = task(log.run, resources=Resources(cpu=0, tags={"gpu": 1}))
        executor = ThreadExecutor(3, resources=Resources(cpu=3, memory=2**30, tags={"gpu": 1}))
        with Client(executor, cache_dir=tmp_path) as client:
            futures = [client.submit(gpu, f"g{i}", hold) for i in range(3)]
            assert log.wait_running(1)
            hold.set()
            client.gather(futures, timeout=30)
        assert log.peak == 1

    def test_impossible_request_is_rejected(self, tmp_path: Path) -> None:
        """A task asking for more than the executor has fails at submit with a hint."""
        greedy = task(abs, resources=Resources(cpu=64))
        with (
            Client("threads", workers=2, cache_dir=tmp_path) as client,
            pytest.raises(ParallelResourceError, match="offers at most") as caught,
        ):
            client.submit(greedy, -1)
        assert caught.value.exit_code == 2


class TestBackpressure:
    def test_max_in_flight_bounds_concurrency(self, tmp_path: Path) -> None:
        """max_in_flight=2 on 4 threads keeps at most 2 tasks running."""
        log = Recorder()
        hold = threading.Event()
        with Client("threads", workers=4, max_in_flight=2, cache_dir=tmp_path) as client:
            futures = [client.submit(log.run, f"t{i}", hold) for i in range(6)]
            assert log.wait_running(2)
            hold.set()
            client.gather(futures, timeout=30)
        assert log.peak == 2

    def test_submit_blocks_at_max_pending(self, tmp_path: Path) -> None:
        """With max_pending=2, a third submit waits until a task settles."""
        started, release = threading.Event(), threading.Event()
        submitted = threading.Event()
        with Client("threads", workers=1, max_pending=2, cache_dir=tmp_path) as client:
            first = client.submit(gate, started, release)
            second = client.submit(abs, -2)
            assert started.wait(10)

            def producer() -> None:
                client.submit(abs, -3)
                submitted.set()

            thread = threading.Thread(target=producer)
            thread.start()
            assert not submitted.wait(0.2)
            assert client.counts()["done"] == 0
            release.set()
            assert submitted.wait(10)
            thread.join()
            assert client.gather([first, second], timeout=30) == ["gate", 2]


def _loop_until_cancelled(marker: str) -> str:
    Path(marker + ".started").touch()
    context = current_task()
    assert context is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if context.cancelled:
            Path(marker + ".stopped").touch()
            return "stopped"
        time.sleep(0.002)
    return "ran out"


class TestCancellation:
    @pytest.mark.parametrize("executor", ["threads", "processes"])
    def test_cancel_reaches_running_task(self, executor: str, tmp_path: Path) -> None:
        """Cancelling a running task makes current_task().cancelled true inside it."""
        marker = str(tmp_path / "task")
        client = Client(executor, workers=1, cache_dir=tmp_path / "cache")
        future = client.submit(_loop_until_cancelled, marker)
        deadline = time.monotonic() + 20
        while not Path(marker + ".started").exists() and time.monotonic() < deadline:
            time.sleep(0.002)  # polling the task's side effect, not a blind sleep
        assert future.cancel()
        assert future.cancelled()
        client.close()  # waits for the executor to drain: the task must have noticed
        assert Path(marker + ".stopped").exists()

    def test_cancel_pending_never_runs(self, tmp_path: Path) -> None:
        """A cancelled pending task and its dependants never run."""
        log = Recorder()
        started, release = threading.Event(), threading.Event()
        with Client("threads", workers=1, cache_dir=tmp_path) as client:
            blocker = client.submit(gate, started, release)
            assert started.wait(10)
            queued = client.submit(log.run, "queued")
            after = client.submit(lambda _: log.run("after"), queued)
            assert client.cancel([queued]) == 1
            release.set()
            assert blocker.result(timeout=30) == "gate"
        assert log.order == []
        assert after.cancelled()
        assert f"chain: {queued.key} -> {after.key}" in str(after.exception())


def _die_once(marker: str, value: int) -> int:
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return value * 10
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
    return -1


def _die_always(value: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return value


class TestLostWorkers:
    def test_killed_worker_tasks_rerun(self, tmp_path: Path) -> None:
        """A worker killed mid-graph: its tasks are re-run on a new pool and the graph completes."""
        executor = ProcessExecutor(2)
        with Client(executor, cache_dir=tmp_path / "cache") as client:
            before = client.map(abs, range(-10, 0))
            victim = client.submit(_die_once, str(tmp_path / "died"), 4)
            after = client.submit(lambda a, b: a + sum(b), victim, before)
            assert after.result(timeout=60) == 40 + sum(range(1, 11))
            record = next(r for r in client.summary().tasks if r.key == victim.key)
        assert record.attempts == 2
        assert executor.workers_started == 3  # two, then one replacement

    def test_poison_task_fails_after_max_losses(self, tmp_path: Path) -> None:
        """A task that always kills its worker fails with ParallelWorkerLostError."""
        poison = task(_die_always, max_worker_losses=1)
        with Client(ProcessExecutor(1), cache_dir=tmp_path / "cache") as client:
            future = client.submit(poison, 1)
            with pytest.raises(ParallelWorkerLostError, match="lost its worker 2 times"):
                future.result(timeout=60)

"""Nothing is left behind: threads, processes and sockets are released after a run."""

from __future__ import annotations

import operator
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from parallel_architecture_framework import Client, Graph, ParallelExecutorError, make_executor


def inc(x: int) -> int:
    return x + 1


def _graph() -> Graph:
    graph = Graph()
    graph.reduce(operator.add, graph.map(inc, range(50)))
    return graph


class TestNoLeaks:
    @pytest.mark.parametrize("executor", ["threads", "processes", "async"])
    def test_local_executors_release_everything(
        self, executor: str, tmp_path: Path, leak_check: Any
    ) -> None:
        """After close, no thread, child process or socket of the run remains."""
        with Client(executor, workers=2, cache_dir=tmp_path) as client:
            assert client.run(_graph(), timeout=60)[-1] == sum(range(1, 51))

    def test_dask_local_cluster_releases_everything(self, tmp_path: Path, leak_check: Any) -> None:
        """A Dask LocalCluster the client started is closed with it: threads, ports, processes."""
        pytest.importorskip("distributed")
        from parallel_architecture_framework import DaskExecutor

        with Client(DaskExecutor(workers=1, processes=False), cache_dir=tmp_path) as client:
            assert client.run(_graph(), timeout=60)[-1] == sum(range(1, 51))

    def test_leak_check_names_a_thread_that_stays_and_forgives_one_that_exits(self) -> None:
        """The check fails on a thread still alive after the grace, not on one already exiting."""
        from parallel_architecture_framework.testing import LeakCheck

        check = LeakCheck()
        stop = threading.Event()
        stays = threading.Thread(target=stop.wait, name="left-behind", daemon=True)
        exiting = threading.Thread(
            target=time.sleep, args=(0.2,), name="on-its-way-out", daemon=True
        )
        stays.start()
        exiting.start()
        try:
            with pytest.raises(AssertionError, match=r"'threads': \['left-behind'\]"):
                check.assert_clean(grace=1.0)
        finally:
            stop.set()
            stays.join()
        check.assert_clean(grace=1.0)

    def test_closed_client_refuses_work(self, tmp_path: Path) -> None:
        """Submitting after close is a clear error, not a hang."""
        client = Client("threads", workers=1, cache_dir=tmp_path)
        client.close()
        with pytest.raises(ParallelExecutorError, match="closed"):
            client.submit(inc, 1)

    def test_unknown_executor_is_input_error(self) -> None:
        """An unknown executor name is rejected with the valid choices."""
        with pytest.raises(ValueError, match="unknown executor 'gpu-farm'") as caught:
            make_executor("gpu-farm")
        assert "dask://HOST:PORT" in str(caught.value.hint)  # type: ignore[attr-defined]


def _inc(x: int) -> int:
    return x + 1


def _join(value: int, others: list[int]) -> int:
    return value + sum(others)


def _kill_worker_once(marker: str, value: int) -> int:
    """Kill the worker process running this on the first attempt; succeed on the re-run."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return value * 2
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
    return -1


@pytest.mark.slow
# A killed Dask worker leaves its nanny's sockets to the garbage collector;
# that is Dask's bookkeeping, not ours (our own clean-up is checked above).
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_dask_worker_killed_mid_graph(tmp_path: Path) -> None:
    """On a LocalCluster of worker processes, a task whose worker dies is re-run and the graph completes."""
    pytest.importorskip("distributed")
    from parallel_architecture_framework import DaskExecutor

    with Client(DaskExecutor(workers=2, processes=True), cache_dir=tmp_path) as client:
        firsts = client.map(_inc, range(10))
        victim = client.submit(_kill_worker_once, str(tmp_path / "died"), 21)
        joined = client.submit(_join, victim, firsts)
        assert joined.result(timeout=120) == 42 + sum(range(1, 11))
    assert (tmp_path / "died").exists()


def test_ray_worker_killed_mid_graph(tmp_path: Path, ray_runtime: None) -> None:
    """On Ray, a task whose worker process dies is re-run by our scheduler and the graph completes."""
    with Client("ray", cache_dir=tmp_path) as client:
        firsts = client.map(_inc, range(10))
        victim = client.submit(_kill_worker_once, str(tmp_path / "died"), 21)
        joined = client.submit(_join, victim, firsts)
        assert joined.result(timeout=120) == 42 + sum(range(1, 11))
        record = next(r for r in client.summary().tasks if r.key == victim.key)
    assert record.attempts == 2
    assert (tmp_path / "died").exists()

"""Fixtures of the parallel_architecture_framework tests: executors and a leak check."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from parallel_architecture_framework import Client

EXECUTORS = ["threads", "processes", "async", "dask"]


def _children() -> set[int]:
    pids: set[int] = set()
    task_dir = Path(f"/proc/{os.getpid()}/task")
    for task in task_dir.iterdir():
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    # multiprocessing's forkserver is a process-wide singleton shared by every
    # pool of this interpreter, started once and kept on purpose.
    from multiprocessing import forkserver

    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    pids.discard(server)  # type: ignore[arg-type]
    return {p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in _state(p)}


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def _sockets() -> set[str]:
    found: set[str] = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


# Dask keeps process-wide helper threads alive after every client closes
# (its offload executor and the profiler's watcher); they are not ours to stop.
_GLOBAL_THREAD_PREFIXES = ("Dask-Offload", "Profile", "AsyncProcess", "TCP-Executor", "asyncio_")


def _threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if not t.name.startswith(_GLOBAL_THREAD_PREFIXES)}


class LeakCheck:
    """Snapshot of threads, child processes and sockets, compared after a run."""

    def __init__(self) -> None:
        self.threads = _threads()
        self.children = _children()
        self.sockets = _sockets()

    def assert_clean(self) -> None:
        leaked_threads = [t.name for t in _threads() - self.threads if t.is_alive()]
        leaked_children = sorted(_children() - self.children)
        leaked_sockets = sorted(_sockets() - self.sockets)
        assert not leaked_threads, f"threads leaked: {leaked_threads}"
        assert not leaked_children, f"child processes leaked: {leaked_children}"
        assert not leaked_sockets, f"sockets leaked: {leaked_sockets}"


@pytest.fixture
def leak_check() -> Iterator[LeakCheck]:
    """Fails the test when it leaves a thread, child process or socket behind."""
    check = LeakCheck()
    yield check
    check.assert_clean()


@pytest.fixture(scope="session")
def dask_address() -> Iterator[str]:
    """A real Dask LocalCluster on loopback (2 in-process workers over TCP), shared by the session."""
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            host="127.0.0.1",
            protocol="tcp://",
            dashboard_address=None,
        )
    yield str(cluster.scheduler_address)
    cluster.close()


@pytest.fixture(params=EXECUTORS)
def make_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Client]]:
    """``make_client(**options)``: a client on the parametrised executor, closed after the test."""
    made: list[Client] = []
    name: str = request.param
    executor: Any = name
    if name == "dask":
        address = request.getfixturevalue("dask_address")
        executor = None

    def factory(**options: Any) -> Client:
        options.setdefault("cache_dir", tmp_path / "cache")
        options.setdefault("workers", 2)
        spec: Any = executor
        if name == "dask":
            from parallel_architecture_framework import DaskExecutor

            spec = DaskExecutor(address)
            options.pop("workers")
        client = Client(spec, **options)
        made.append(client)
        return client

    factory.executor_name = name  # type: ignore[attr-defined]
    yield factory
    for client in made:
        client.close(cancel=True)

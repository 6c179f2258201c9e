"""Fixtures of the parallel_architecture_framework tests: executors and a leak check."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from parallel_architecture_framework import Client
from parallel_architecture_framework.testing import LeakCheck

EXECUTORS = ["threads", "processes", "async", "dask", "ray"]


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
            dashboard_address="127.0.0.1:0",  # an ephemeral loopback port: 8787 may be taken
        )
    yield str(cluster.scheduler_address)
    cluster.close()


@pytest.fixture(scope="session")
def ray_runtime() -> Iterator[None]:
    """One local Ray runtime (2 CPUs, loopback) shared by the session: it takes seconds to start.

    Under ``uv run`` Ray would otherwise re-create the project's environment
    for its workers from a copy of the working tree (its uv integration);
    the tests want workers on this very interpreter, so that is switched
    off before Ray reads its settings at import.
    """
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    ray = pytest.importorskip("ray")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(params=EXECUTORS)
def make_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Client]]:
    """``make_client(**options)``: a client on the parametrised executor, closed after the test."""
    made: list[Client] = []
    name: str = request.param
    executor: Any = name
    if name == "dask":
        address = request.getfixturevalue("dask_address")
        executor = None
    if name == "ray":
        request.getfixturevalue("ray_runtime")

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

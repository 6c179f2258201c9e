"""One suite, every executor: the same graph gives the same results on each."""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from parallel_architecture_framework import (
    Client,
    Graph,
    ParallelCancelledError,
    ParallelDependencyError,
    ParallelTimeoutError,
    current_task,
    task,
)

MakeClient = Callable[..., Client]


def inc(x: int) -> int:
    return x + 1


def add(a: int, b: int) -> int:
    return a + b


def square(x: int) -> int:
    return x * x


async def async_double(x: int) -> int:
    await anyio.sleep(0)
    return 2 * x


def boom(x: int) -> int:
    raise ValueError(f"boom {x}")


def total(values: list[int], scale: int = 1) -> int:
    return sum(values) * scale


def build_graph() -> Graph:
    """A diamond, a fan-out/fan-in over nested arguments, and a tree reduction."""
    graph = Graph()
    a = graph.add(inc, 1)
    b = graph.add(square, a)
    c = graph.add(async_double, a)
    d = graph.add(add, b, c)
    leaves = graph.map(square, range(10))
    fan_in = graph.add(total, leaves, scale=d)
    graph.reduce(add, [fan_in, d, *graph.map(inc, range(5))])
    return graph


EXPECTED_LAST = (285 * 8) + 8 + sum(range(1, 6))


class TestSameResults:
    def test_graph_results_identical(self, make_client: MakeClient) -> None:
        """The reference graph gives the same values on every executor."""
        graph = build_graph()
        with make_client() as client:
            results = client.run(graph, timeout=60)
        assert results[:4] == [2, 4, 4, 8]
        assert results[-1] == EXPECTED_LAST

    def test_future_arguments_are_dependencies(self, make_client: MakeClient) -> None:
        """A future passed as an argument (also nested) is resolved to its value."""
        with make_client() as client:
            first = client.submit(inc, 1)
            second = client.submit(add, first, client.submit(inc, first))
            nested = client.submit(total, [first, second], scale=first)
            assert second.result(timeout=30) == 5
            assert nested.result(timeout=30) == (2 + 5) * 2

    def test_map_and_tree_reduce(self, make_client: MakeClient) -> None:
        """map then a tree reduce sums like the builtin."""
        with make_client() as client:
            squares = client.map(square, range(101))
            assert client.reduce(operator.add, squares).result(timeout=60) == sum(
                x * x for x in range(101)
            )
            assert client.reduce(operator.add, [5]).result(timeout=30) == 5

    def test_async_tasks_run_everywhere(self, make_client: MakeClient) -> None:
        """Coroutine functions are awaited on every executor."""
        with make_client() as client:
            assert client.gather(client.map(async_double, range(8)), timeout=30) == [
                2 * x for x in range(8)
            ]

    def test_as_completed_yields_every_future(self, make_client: MakeClient) -> None:
        """as_completed yields each future once, all settled."""
        with make_client() as client:
            futures = client.map(inc, range(20))
            seen = list(client.as_completed(futures, timeout=60))
        assert sorted(f.key for f in seen) == sorted(f.key for f in futures)
        assert all(f.done() for f in seen)
        assert sorted(f.result() for f in seen) == list(range(1, 21))


class TestFailures:
    def test_dependants_cancelled_with_chain(self, make_client: MakeClient) -> None:
        """A failing task's dependants are cancelled with an error naming the chain."""
        with make_client() as client:
            root = client.submit(boom, 3)
            middle = client.submit(inc, root)
            leaf = client.submit(add, middle, 1)
            unrelated = client.submit(inc, 41)
            with pytest.raises(ValueError, match="boom 3"):
                root.result(timeout=30)
            with pytest.raises(ParallelDependencyError) as caught:
                leaf.result(timeout=30)
            assert unrelated.result(timeout=30) == 42
        error = caught.value
        assert error.context["chain"] == [root.key, middle.key, leaf.key]
        assert f"{root.key} -> {middle.key} -> {leaf.key}" in str(error)
        assert "ValueError: boom 3" in str(error)
        assert isinstance(error.__cause__, ValueError)
        assert middle.cancelled()
        assert leaf.cancelled()

    def test_submitting_on_failed_future_fails_at_once(self, make_client: MakeClient) -> None:
        """Depending on an already failed future cancels the new task with the chain."""
        with make_client() as client:
            root = client.submit(boom, 1)
            client.wait(timeout=30)
            late = client.submit(inc, root)
            with pytest.raises(ParallelDependencyError, match=root.key):
                late.result(timeout=5)

    def test_retries_then_success(self, make_client: MakeClient, tmp_path: Path) -> None:
        """A task failing twice succeeds on its third attempt when allowed two retries."""
        flaky = task(_flaky, retries=2, backoff=0.001)
        with make_client(seed=1) as client:
            future = client.submit(flaky, str(tmp_path / "attempts"), 2)
            assert future.result(timeout=30) == 3
        assert client.summary().tasks[0].attempts == 3

    def test_dependants_of_a_retried_task_get_its_final_value(
        self, make_client: MakeClient, tmp_path: Path
    ) -> None:
        """Dependants (started early on Dask and Ray) run on the successful attempt's value,
        once each, and their own attempt count is untouched by the input's retries."""
        flaky = task(_flaky, retries=2, backoff=0.001)
        with make_client(seed=1) as client:
            upstream = client.submit(flaky, str(tmp_path / "attempts"), 2)
            middle = client.submit(inc, upstream)
            nested = client.submit(total, [upstream, middle], scale=middle)
            assert nested.result(timeout=60) == (3 + 4) * 4
            records = {r.key: r for r in client.summary().tasks}
        assert records[upstream.key].attempts == 3
        assert records[middle.key].attempts == 1
        assert records[nested.key].attempts == 1

    def test_dependants_of_a_retried_graph_node(
        self, make_client: MakeClient, tmp_path: Path
    ) -> None:
        """The same through a graph submitted at once: every layer sees the final value."""
        graph = Graph()
        root = graph.add(task(_flaky, retries=1, backoff=0.001), str(tmp_path / "attempts"), 1)
        layer = [graph.add(add, root, i) for i in range(6)]
        graph.reduce(add, layer)
        with make_client(seed=1) as client:
            results = client.run(graph, timeout=60)
        assert results[0] == 2
        assert results[1:7] == [2 + i for i in range(6)]
        assert results[-1] == sum(2 + i for i in range(6))

    def test_retries_exhausted(self, make_client: MakeClient, tmp_path: Path) -> None:
        """Retries stop after the declared count and the last error is raised."""
        flaky = task(_flaky, retries=1, backoff=0.001)
        with make_client(seed=1) as client:
            future = client.submit(flaky, str(tmp_path / "attempts"), 5)
            with pytest.raises(RuntimeError, match="attempt 2"):
                future.result(timeout=30)

    def test_gather_errors_return(self, make_client: MakeClient) -> None:
        """gather(errors='return') keeps exceptions in place of results."""
        with make_client() as client:
            results = client.gather(
                [client.submit(inc, 1), client.submit(boom, 2)], errors="return", timeout=30
            )
        assert results[0] == 2
        assert isinstance(results[1], ValueError)


def _flaky(path: str, failures: int) -> int:
    marker = Path(path)
    count = int(marker.read_text()) + 1 if marker.exists() else 1
    marker.write_text(str(count))
    if count <= failures:
        raise RuntimeError(f"attempt {count} failed")
    return count


class TestCaching:
    def test_second_run_comes_from_store(self, make_client: MakeClient, tmp_path: Path) -> None:
        """A cached task runs once; the same inputs later are served from the store."""
        counted = task(_count_calls, cache=True)
        log = tmp_path / "calls"
        with make_client() as client:
            assert client.submit(counted, str(log), 7).result(timeout=30) == 49
            client.wait(timeout=30)
            assert client.submit(counted, str(log), 7).result(timeout=30) == 49
            assert client.submit(counted, str(log), 8).result(timeout=30) == 64
            records = client.summary().tasks
        assert log.read_text().split() == ["7", "8"]
        assert [r.cache_hit for r in records] == [False, True, False]
        assert len(client.store) == 2


def _count_calls(log: str, x: int) -> int:
    with open(log, "a") as handle:
        handle.write(f"{x}\n")
    return x * x


class TestTimeoutsAndCancellation:
    def test_task_timeout(self, make_client: MakeClient) -> None:
        """A task running past its timeout fails with ParallelTimeoutError and is asked to stop."""
        slow = task(_wait_for_cancel, timeout=0.2)
        with make_client() as client:
            future = client.submit(slow, 10.0)
            with pytest.raises(ParallelTimeoutError, match=r"timeout of 0\.2 s"):
                future.result(timeout=30)

    def test_gather_timeout_cancels(self, make_client: MakeClient) -> None:
        """gather past its timeout raises and cancels what is unfinished."""
        with make_client() as client:
            slow = client.submit(_wait_for_cancel, 10.0)
            quick = client.submit(inc, 1)
            assert quick.result(timeout=30) == 2
            with pytest.raises(ParallelTimeoutError, match="1 of 2 tasks unfinished"):
                client.gather([quick, slow], timeout=0.2)
            assert slow.cancelled()
            with pytest.raises(ParallelCancelledError):
                slow.result()

    def test_as_completed_timeout(self, make_client: MakeClient) -> None:
        """as_completed raises once its deadline passes with work unfinished."""
        with make_client() as client:
            slow = client.submit(_wait_for_cancel, 10.0)
            with pytest.raises(ParallelTimeoutError, match="1 of 1"):
                list(client.as_completed([slow], timeout=0.1))
            slow.cancel()


def _wait_for_cancel(limit: float) -> str:
    """Poll cooperatively for cancellation; processes cannot be reached, so stop at ``limit``."""
    context = current_task()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if context is not None and context.cancelled:
            return "stopped"
        time.sleep(0.005)
    return "ran out"


@pytest.fixture(params=["dask", "dask-waiting", "ray"])
def early_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Client]]:
    """Clients on Dask or Ray with early start on (tasks go out while their inputs
    still run; on Dask each batch as one task graph), and on Dask with it off
    (``dask-waiting``: inputs done on the driver first, one ``client.map`` per layer)."""
    made: list[Client] = []

    def factory(**options: Any) -> Client:
        options.setdefault("cache_dir", tmp_path / "cache")
        executor: Any
        if request.param.startswith("dask"):
            from parallel_architecture_framework import DaskExecutor

            executor = DaskExecutor(
                request.getfixturevalue("dask_address"), early_start=request.param == "dask"
            )
        else:
            from parallel_architecture_framework import RayExecutor

            request.getfixturevalue("ray_runtime")
            executor = RayExecutor(early_start=True)
        client = Client(executor, **options)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close(cancel=True)


class TestEarlyStart:
    """The same results when Dask or Ray resolve dependencies themselves."""

    def test_graph_results_identical(self, early_client: MakeClient) -> None:
        graph = build_graph()
        with early_client() as client:
            results = client.run(graph, timeout=60)
        assert results[-1] == EXPECTED_LAST

    def test_dependants_of_a_retried_task(self, early_client: MakeClient, tmp_path: Path) -> None:
        """Dependants started before their input's retry run once, on the final value."""
        flaky = task(_flaky, retries=2, backoff=0.001)
        with early_client(seed=1) as client:
            upstream = client.submit(flaky, str(tmp_path / "attempts"), 2)
            middle = client.submit(inc, upstream)
            nested = client.submit(total, [upstream, middle], scale=middle)
            assert nested.result(timeout=60) == (3 + 4) * 4
            records = {r.key: r for r in client.summary().tasks}
        assert records[upstream.key].attempts == 3
        assert records[middle.key].attempts == 1
        assert records[nested.key].attempts == 1

    def test_failure_cancels_dependants_with_chain(self, early_client: MakeClient) -> None:
        with early_client() as client:
            root = client.submit(boom, 3)
            leaf = client.submit(add, client.submit(inc, root), 1)
            with pytest.raises(ParallelDependencyError) as caught:
                leaf.result(timeout=60)
        assert caught.value.context["chain"][0] == root.key
        assert leaf.cancelled()

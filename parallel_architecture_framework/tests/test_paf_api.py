"""The public surface, task declarations, the cache key and the result store."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import parallel_architecture_framework as paf
from parallel_architecture_framework import (
    ParallelCacheError,
    ParallelInputError,
    Resources,
    ResultStore,
    RetryPolicy,
    cache_key,
    task,
)
from parallel_architecture_framework._target import parse_target


class TestExports:
    def test_all_is_complete_and_importable(self) -> None:
        """Every name in __all__ resolves, and every public class or function is listed."""
        for name in paf.__all__:
            assert getattr(paf, name) is not None, name
        public = {
            name
            for name, value in vars(paf).items()
            if not name.startswith("_")
            and callable(value)
            and getattr(value, "__module__", "").startswith("parallel_architecture_framework")
        }
        assert public <= set(paf.__all__), public - set(paf.__all__)

    def test_star_import(self) -> None:
        """``from parallel_architecture_framework import *`` gives exactly __all__."""
        namespace: dict[str, object] = {}
        exec("from parallel_architecture_framework import *", namespace)  # noqa: S102 - fixed literal
        assert set(paf.__all__) <= set(namespace)

    def test_import_is_light(self) -> None:
        """Importing the package loads no settings, process, event-loop or Dask machinery."""
        import subprocess
        import sys

        code = (
            "import sys, parallel_architecture_framework; "
            "print(sorted(m for m in ('pydantic', 'multiprocessing', 'anyio', 'dask', 'distributed', "
            "'opentelemetry.sdk', 'prometheus_client') if m in sys.modules))"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert proc.stdout.strip() == "[]"

    def test_errors_exit_codes(self) -> None:
        """Input errors exit 2, run failures exit 1; timeouts are also TimeoutError."""
        assert paf.ParallelInputError("x").exit_code == 2
        assert paf.ParallelResourceError("x").exit_code == 2
        assert paf.ParallelTaskError("x").exit_code == 1
        assert paf.ParallelDependencyError("x").exit_code == 1
        assert isinstance(paf.ParallelTimeoutError("x"), TimeoutError)
        assert isinstance(paf.ParallelCacheError("x"), OSError)


class TestDeclarations:
    def test_task_keeps_function_callable(self) -> None:
        """A task is still a plain function when called."""

        @task(
            retries=2,
            timeout=5,
            cache=True,
            cost=3,
            resources=Resources(cpu=0.5, memory=1024, tags={"gpu": 1}),
        )
        def double(x: int) -> int:
            return 2 * x

        assert double(4) == 8
        assert double.retry.retries == 2
        assert double.timeout == 5
        assert double.cache
        assert double.name == "double"
        assert double.with_options(timeout=1).timeout == 1

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"timeout": 0}, "timeout"),
            ({"cost": -1}, "cost"),
            ({"retries": -1}, "retries"),
            ({"max_worker_losses": -2}, "max_worker_losses"),
        ],
    )
    def test_invalid_options_are_input_errors(self, kwargs: dict[str, float], field: str) -> None:
        """Bad task options raise ParallelInputError naming the field."""
        with pytest.raises(ParallelInputError) as caught:
            task(abs, **kwargs)  # type: ignore[call-overload]
        assert caught.value.context["field"] == field

    def test_invalid_resources(self) -> None:
        """Negative or non-finite resources are rejected."""
        with pytest.raises(ParallelInputError, match="cpu"):
            Resources(cpu=float("nan"))
        with pytest.raises(ParallelInputError, match="memory"):
            Resources(memory=-1)
        with pytest.raises(ParallelInputError, match="gpu"):
            Resources(tags={"gpu": -1})

    def test_backoff_delays(self) -> None:
        """Backoff grows exponentially, is capped, and jitter scales it."""
        policy = RetryPolicy(retries=5, base_delay=0.1, multiplier=2, max_delay=0.5, jitter=False)
        assert [policy.delay(n, 0.5) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.4, 0.5]
        jittered = RetryPolicy(retries=5, base_delay=0.1, multiplier=2, max_delay=0.5)
        assert jittered.delay(2, 0.5) == pytest.approx(0.1)

    def test_resources_arithmetic(self) -> None:
        """fits/add/sub account cpu, memory and tags."""
        free = Resources(cpu=2, memory=100, tags={"gpu": 1})
        need = Resources(cpu=1, memory=60, tags={"gpu": 1})
        assert need.fits(free)
        left = free - need
        assert not need.fits(left)
        assert (left + need).fits(free)


def _plus(a: int, b: int = 0) -> int:
    return a + b


def _minus(a: int, b: int = 0) -> int:
    return a - b


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


class TestCacheKey:
    def test_depends_on_code_and_inputs(self) -> None:
        """Different functions, inputs or versions give different keys; equal ones the same."""
        base = cache_key(_plus, (1,), {"b": 2})
        assert base == cache_key(_plus, (1,), {"b": 2})
        assert len(base) == 64
        assert base != cache_key(_minus, (1,), {"b": 2})
        assert base != cache_key(_plus, (2,), {"b": 2})
        assert base != cache_key(_plus, (1,), {"b": 2}, version="2")
        assert cache_key(functools.partial(_plus, 1), (), {}) != cache_key(
            functools.partial(_plus, 2), (), {}
        )

    def test_type_tagged(self) -> None:
        """1, 1.0, '1', b'1' and True are different inputs."""
        keys = {cache_key(_plus, (value,), {}) for value in (1, 1.0, "1", b"1", True, [1], (1,))}
        assert len(keys) == 7

    @given(
        st.sets(st.text(max_size=8), max_size=8),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=6),
    )
    @settings(max_examples=60, deadline=None)
    def test_order_independent_for_sets_and_dicts(
        self, items: set[str], mapping: dict[str, int]
    ) -> None:
        """Sets and dicts hash the same whatever their iteration order."""
        reordered = dict(reversed(list(mapping.items())))
        rebuilt: set[str] = set()
        for item in sorted(items, reverse=True):
            rebuilt.add(item)
        assert cache_key(_plus, (items, mapping), {}) == cache_key(_plus, (rebuilt, reordered), {})

    @given(json_values)
    @settings(max_examples=50, deadline=None)
    def test_any_plain_value_hashes(self, value: object) -> None:
        """Arbitrary nested plain data always yields a 64-digit key, deterministically."""
        assert cache_key(_plus, (value,), {}) == cache_key(_plus, (value,), {})

    def test_unpicklable_input_is_input_error(self) -> None:
        """An input with no canonical form and no pickle is a clear input error."""
        import threading

        with pytest.raises(ParallelInputError, match="cannot hash an input"):
            cache_key(_plus, (threading.Lock(),), {})


class TestResultStore:
    def test_roundtrip_clear_len(self, tmp_path: Path) -> None:
        """put/get/contains/len/clear behave like a small mapping."""
        store = ResultStore(tmp_path)
        key = cache_key(_plus, (1,), {})
        assert store.get(key, None) is None
        with pytest.raises(KeyError):
            store.get(key)
        assert store.put(key, {"v": [1, 2]})
        assert key in store
        assert store.get(key) == {"v": [1, 2]}
        assert len(store) == 1
        assert store.clear() == 1
        assert len(store) == 0

    def test_corrupt_entry_is_cache_error(self, tmp_path: Path) -> None:
        """A damaged file is reported with its path and a fix."""
        store = ResultStore(tmp_path)
        key = "ab" * 32
        (tmp_path / "ab").mkdir()
        (tmp_path / "ab" / key).write_bytes(b"\x80\x05garbage")
        with pytest.raises(ParallelCacheError, match="corrupt") as caught:
            store.get(key)
        assert "delete" in str(caught.value.hint)

    @given(st.text(max_size=80))
    @settings(max_examples=50, deadline=None)
    def test_bad_keys_rejected(self, key: str) -> None:
        """Anything but a 64-digit lowercase hex key is an input error, never a path escape."""
        store = ResultStore("/nonexistent-paf-store")
        if len(key) == 64 and all(c in "0123456789abcdef" for c in key):
            assert store.get(key, None) is None
        else:
            with pytest.raises(ParallelInputError):
                store.get(key, None)

    def test_unpicklable_value_not_stored(self, tmp_path: Path) -> None:
        """A value that cannot be pickled is skipped, not half-written."""
        store = ResultStore(tmp_path)
        assert not store.put("cd" * 32, lambda: None)
        assert len(store) == 0


class TestTargetParsing:
    @given(st.text(max_size=60))
    @settings(max_examples=100, deadline=None)
    def test_arbitrary_spec_is_parsed_or_rejected(self, spec: str) -> None:
        """Any string either parses into (module, name) or raises ParallelInputError."""
        try:
            module, name = parse_target(spec)
        except ParallelInputError as exc:
            code = exc.exit_code
        else:
            assert spec == f"{module}:{name}"
            return
        assert code == 2

    def test_examples(self) -> None:
        """Dotted modules and .py paths are accepted."""
        assert parse_target("pkg.jobs:build") == ("pkg.jobs", "build")
        assert parse_target("./dir/jobs.py:build") == ("./dir/jobs.py", "build")
        with pytest.raises(ParallelInputError, match="not module:function"):
            parse_target("pkg.jobs")


class TestDecodersNeverCrash:
    @given(st.lists(st.text(max_size=20), max_size=5))
    @settings(max_examples=60, deadline=None)
    def test_cli_key_value_arguments(self, items: list[str]) -> None:
        """--arg parsing returns a dict or raises ParallelInputError, for any text."""
        from parallel_architecture_framework.cli import _parse_kv

        try:
            parsed = _parse_kv(items)
        except ParallelInputError as exc:
            message = str(exc)
        else:
            assert set(parsed) <= {item.partition("=")[0] for item in items}
            return
        assert "key=value" in message

    @given(st.binary(max_size=200))
    @settings(max_examples=60, deadline=None)
    def test_cluster_state_file(self, raw: bytes) -> None:
        """A damaged cluster state file is a ParallelInputError naming the file, never a crash."""
        import tempfile

        from parallel_architecture_framework._cluster import cluster_status

        with tempfile.TemporaryDirectory() as folder:
            state = Path(folder) / "cluster.json"
            state.write_bytes(raw)
            try:
                status = cluster_status(state)
            except ParallelInputError as exc:
                message = str(exc)
            else:
                assert "running" in status
                return
        assert str(state) in message

    @given(st.binary(max_size=64).filter(lambda raw: b"c" not in raw and b"\x93" not in raw))
    @settings(max_examples=60, deadline=None)
    def test_store_entry_bytes(self, raw: bytes) -> None:
        """Arbitrary bytes in a store entry load as a value or raise ParallelCacheError.

        (GLOBAL/STACK_GLOBAL opcodes are filtered out: the store is trusted
        local data, and a random import is not what this test is about.)
        """
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            store = ResultStore(folder)
            key = "ef" * 32
            (Path(folder) / "ef").mkdir()
            (Path(folder) / "ef" / key).write_bytes(raw)
            try:
                store.get(key)
            except ParallelCacheError as exc:
                message = str(exc)
            else:
                return
        assert key in message

    @pytest.mark.parametrize(
        "content",
        [
            '{"address": "tcp://x:1", "scheduler_pid": "1", "worker_pid": 2, "workers": 1, "log_dir": "/tmp"}',
            '{"address": 1, "scheduler_pid": 1, "worker_pid": 2, "workers": 1, "log_dir": "/tmp"}',
            "[1, 2]",
        ],
    )
    def test_cluster_state_wrong_shapes(self, content: str, tmp_path: Path) -> None:
        """Well-formed JSON of the wrong shape is rejected like a damaged file."""
        from parallel_architecture_framework._cluster import cluster_status

        state = tmp_path / "cluster.json"
        state.write_text(content)
        with pytest.raises(ParallelInputError, match="is not valid"):
            cluster_status(state)

"""The paf command line: run, bench, cluster, cache, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from parallel_architecture_framework.cli import main
from shared_core.testing import free_port, run_cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXPECTED_TOTAL = sum(x * x for x in range(400))

JOB = """
import operator
from parallel_architecture_framework import Graph, task

def square(x):
    return x * x

def build(n=10):
    graph = Graph()
    graph.reduce(operator.add, graph.map(square, range(n)))
    return graph

def with_client(client, n=3):
    return client.map(square, range(n))

def failing():
    graph = Graph()
    graph.add(int, "not a number")
    return graph
"""


@pytest.fixture
def job(tmp_path: Path) -> Path:
    path = tmp_path / "job.py"
    path.write_text(JOB)
    return path


class TestRun:
    @pytest.mark.parametrize("executor", ["threads", "processes"])
    def test_run_graph_json(self, job: Path, tmp_path: Path, executor: str) -> None:
        """paf run computes the graph's output and reports a summary as JSON."""
        result = run_cli(
            main,
            [
                "--json",
                "--cache-dir",
                str(tmp_path / "c"),
                "run",
                f"{job}:build",
                "--executor",
                executor,
                "--workers",
                "2",
                "--arg",
                "n=20",
                "--tasks",
            ],
        )
        assert result.code == 0, result.err
        data = json.loads(result.out)
        assert data["result"] == sum(x * x for x in range(20))
        assert data["summary"]["counts"]["done"] == 39
        assert data["summary"]["executor"] == f"{executor}(2)"
        assert len(data["summary"]["tasks"]) == 39

    def test_run_with_client_parameter(self, job: Path, tmp_path: Path) -> None:
        """A function taking ``client`` gets one; returned futures are gathered."""
        result = run_cli(
            main,
            [
                "--json",
                "--cache-dir",
                str(tmp_path),
                "run",
                f"{job}:with_client",
                "--executor",
                "threads",
            ],
        )
        assert result.code == 0, result.err
        assert json.loads(result.out)["result"] == [0, 1, 4]

    def test_human_output(self, job: Path, tmp_path: Path) -> None:
        """Without --json the result and the critical path are printed for people."""
        result = run_cli(
            main, ["--cache-dir", str(tmp_path), "run", f"{job}:build", "--executor", "threads"]
        )
        assert result.code == 0, result.err
        assert "result: 285" in result.out
        assert "critical path:" in result.out

    def test_progress_only_on_a_terminal(self, job: Path, tmp_path: Path) -> None:
        """On a tty the run draws a progress bar on stderr; piped, stderr stays empty."""
        argv = ["--cache-dir", str(tmp_path), "run", f"{job}:build", "--executor", "threads"]
        on_tty = run_cli(main, argv, tty=True)
        piped = run_cli(main, argv)
        assert on_tty.code == 0, on_tty.err
        assert "running" in on_tty.err
        assert piped.err == ""
        assert "result: 285" in piped.out

    def test_failing_task_exit_1(self, job: Path, tmp_path: Path) -> None:
        """A task's exception is one line naming the target and the error, exit code 1."""
        result = run_cli(
            main, ["--cache-dir", str(tmp_path), "run", f"{job}:failing", "--executor", "threads"]
        )
        assert result.code == 1
        assert result.err.count("\n") == 1
        assert f"{job}:failing failed: ValueError" in result.err

    @pytest.mark.parametrize(
        ("argv", "needle"),
        [
            (["run", "nocolon"], "not module:function"),
            (["run", "no_such_module_paf:f"], "cannot import module"),
            (["run", "json:no_such_function"], "has no attribute"),
            (["run", "/nonexistent/job.py:build"], "no such file"),
            (["run", "json:dumps", "--arg", "oops"], "not key=value"),
            (["run", "json:dumps", "--executor", "gpu-farm"], "unknown executor"),
            (["run", "json:dumps", "--workers", "0"], "at least 1"),
            (["bench", "--tasks", "0"], "at least 1"),
            (["cluster", "start", "--port", "70000"], "not a TCP port"),
        ],
    )
    def test_bad_input_one_line_exit_2(self, argv: list[str], needle: str, tmp_path: Path) -> None:
        """Bad input is one line (what, a hint) and exit code 2."""
        result = run_cli(
            main, ["--cache-dir", str(tmp_path), "--cluster-state", str(tmp_path / "c.json"), *argv]
        )
        assert result.code == 2, result.err
        assert result.err.count("\n") == 1
        assert needle in result.err
        assert "hint:" in result.err

    def test_syntax_error_names_line(self, tmp_path: Path) -> None:
        """A job file with a syntax error is reported with its path and line."""
        bad = tmp_path / "bad.py"
        bad.write_text("def build(:\n")
        result = run_cli(main, ["run", f"{bad}:build"])
        assert result.code == 2
        assert f"{bad}:1" in result.err


class TestOtherCommands:
    def test_bench_small(self) -> None:
        """paf bench reports throughput for each executor asked for."""
        result = run_cli(
            main,
            [
                "--json",
                "bench",
                "--tasks",
                "200",
                "--nodes",
                "100",
                "--executor",
                "threads",
                "--workers",
                "2",
            ],
        )
        assert result.code == 0, result.err
        rows = json.loads(result.out)["results"]
        assert [r["executor"] for r in rows] == ["threads"]
        assert rows[0]["noop_tasks_per_s"] > 0
        assert rows[0]["dag_nodes_per_s"] > 0

    def test_cache_info_and_clear(self, job: Path, tmp_path: Path) -> None:
        """cache info counts stored results; clear removes them."""
        store = tmp_path / "store"
        (store / "ab").mkdir(parents=True)
        (store / "ab" / ("ab" * 32)).write_bytes(b"x")
        info = run_cli(main, ["--json", "--cache-dir", str(store), "cache", "info"])
        assert json.loads(info.out)["results"] == 1
        cleared = run_cli(main, ["--json", "--cache-dir", str(store), "cache", "clear"])
        assert json.loads(cleared.out)["removed"] == 1

    def test_cluster_stop_without_start(self, tmp_path: Path) -> None:
        """Stopping when nothing was started says so, exit 2."""
        result = run_cli(main, ["--cluster-state", str(tmp_path / "c.json"), "cluster", "stop"])
        assert result.code == 2
        assert "paf cluster start" in result.err

    @pytest.mark.slow
    def test_cluster_start_run_stop(self, job: Path, tmp_path: Path) -> None:
        """cluster start gives a real Dask cluster of worker processes on loopback; paf run
        --executor dask://... uses it, and stop ends every process it started."""
        pytest.importorskip("distributed")
        state = tmp_path / "cluster.json"
        port = free_port()
        base = [
            sys.executable,
            "-m",
            "parallel_architecture_framework",
            "--cluster-state",
            str(state),
        ]
        started = subprocess.run(
            [*base, "--json", "cluster", "start", "--workers", "1", "--port", str(port)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert started.returncode == 0, started.stderr
        try:
            assert json.loads(started.stdout)["address"] == f"tcp://127.0.0.1:{port}"
            pids = json.loads(state.read_text())
            ran = run_cli(
                main,
                [
                    "--json",
                    "--cache-dir",
                    str(tmp_path / "c"),
                    "run",
                    f"{job}:build",
                    "--executor",
                    f"dask://127.0.0.1:{port}",
                ],
            )
            assert ran.code == 0, ran.err
            assert json.loads(ran.out)["result"] == 285
            status = run_cli(main, ["--json", "--cluster-state", str(state), "cluster", "status"])
            assert json.loads(status.out)["running"] is True
        finally:
            stopped = subprocess.run(
                [*base, "cluster", "stop"], capture_output=True, text=True, check=False, timeout=60
            )
        assert stopped.returncode == 0, stopped.stderr
        assert not state.exists()
        for pid in (pids["scheduler_pid"], pids["worker_pid"]):
            assert (
                not Path(f"/proc/{pid}").exists()
                or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]
            )


class TestExamples:
    def test_pipeline_example_runs(self) -> None:
        """examples/pipeline.py computes the expected total on threads."""
        proc = subprocess.run(
            [sys.executable, str(EXAMPLES / "pipeline.py"), "threads"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert f"total: {sum(x * x for x in range(800))}" in proc.stdout

    def test_pipeline_example_through_cli(self, tmp_path: Path) -> None:
        """The example's build function runs through paf run on processes."""
        result = run_cli(
            main,
            [
                "--json",
                "--cache-dir",
                str(tmp_path),
                "run",
                f"{EXAMPLES / 'pipeline.py'}:build",
                "--arg",
                "partitions=4",
            ],
        )
        assert result.code == 0, result.err
        assert json.loads(result.out)["result"] == EXPECTED_TOTAL

    def test_show_config_example(self) -> None:
        """examples/show_config.py prints the settings as JSON, including ours."""
        proc = subprocess.run(
            [sys.executable, str(EXAMPLES / "show_config.py")],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["values"]["executor"] == "processes"

"""``paf cluster start|stop|status``: a local Dask cluster that outlives the command.

``start`` launches ``dask scheduler`` and ``dask worker`` as detached
processes bound to loopback (by default), waits until the workers have
registered, and records their process ids, address and log files in a JSON
state file; ``stop`` terminates exactly those processes (SIGTERM, then
SIGKILL after a grace period) and removes the file.  Then
``paf run --executor dask://127.0.0.1:PORT`` uses the cluster.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from parallel_architecture_framework.errors import ParallelExecutorError, ParallelInputError

__all__ = ["ClusterState", "cluster_status", "start_cluster", "stop_cluster"]


@dataclass
class ClusterState:
    """What ``start`` recorded: enough for ``stop`` to find and end the processes."""

    address: str
    scheduler_pid: int
    worker_pid: int
    workers: int
    log_dir: str


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); treat it as gone
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _read(state_file: Path) -> ClusterState | None:
    try:
        data = json.loads(state_file.read_text())
        state = ClusterState(**data)
        if not (
            isinstance(state.address, str)
            and isinstance(state.log_dir, str)
            and all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0
                for v in (state.scheduler_pid, state.worker_pid, state.workers)
            )
        ):
            raise TypeError("fields have the wrong types")  # noqa: TRY301 - reported as invalid below
        return state
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ParallelInputError(
            f"cluster state file {state_file} is not valid: {exc}",
            path=str(state_file),
            hint="stop the processes by hand and delete the file",
        ) from exc


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def start_cluster(
    state_file: Path,
    *,
    workers: int,
    host: str = "127.0.0.1",
    port: int = 8786,
    timeout: float = 60.0,
) -> ClusterState:
    """Start a scheduler and ``workers`` single-threaded worker processes; returns the recorded state."""
    try:
        import distributed  # type: ignore[import-not-found,unused-ignore]  # optional extra
    except ImportError as exc:
        raise ParallelExecutorError(
            "a local cluster needs Dask distributed, which is not installed",
            hint="pip install 'parallel_architecture_framework[dask]'",
        ) from exc
    existing = _read(state_file)
    if existing is not None and _alive(existing.scheduler_pid):
        raise ParallelInputError(
            f"a cluster started here is already running at {existing.address}",
            path=str(state_file),
            hint="run 'paf cluster stop' first",
        )
    if _port_open(host, port):
        raise ParallelInputError(
            f"port {port} on {host} is already in use",
            field="port",
            hint="choose another with --port",
        )
    log_dir = state_file.parent / "cluster-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    address = f"tcp://{host}:{port}"
    common: dict[str, Any] = {"start_new_session": True, "stdin": subprocess.DEVNULL}
    with open(log_dir / "scheduler.log", "ab") as log:
        scheduler = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                host,
                "--port",
                str(port),
                "--no-dashboard",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            **common,
        )
    with open(log_dir / "workers.log", "ab") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                address,
                "--nworkers",
                str(workers),
                "--nthreads",
                "1",
                "--host",
                host,
                "--no-dashboard",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            **common,
        )
    state = ClusterState(address, scheduler.pid, worker.pid, workers, str(log_dir))
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(asdict(state)))
    deadline = time.monotonic() + timeout
    try:
        while not _port_open(host, port):
            if scheduler.poll() is not None or time.monotonic() > deadline:
                raise ParallelExecutorError(  # noqa: TRY301 - cleaned up by the handler below
                    f"the Dask scheduler did not start on {address}",
                    hint=f"see {log_dir / 'scheduler.log'}",
                )
            time.sleep(0.05)
        client = distributed.Client(  # type: ignore[no-untyped-call,unused-ignore]
            address, set_as_default=False, timeout=max(deadline - time.monotonic(), 1)
        )
        try:
            client.wait_for_workers(workers, timeout=max(deadline - time.monotonic(), 1))
        finally:
            client.close()  # type: ignore[no-untyped-call,unused-ignore]
    except Exception:
        stop_cluster(state_file)
        raise
    scheduler.returncode = 0  # detached on purpose: `stop` ends it, not our exit
    worker.returncode = 0
    return state


def _terminate(pid: int, grace: float) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def stop_cluster(state_file: Path, grace: float = 10.0) -> ClusterState | None:
    """End the processes ``start`` recorded (workers first); ``None`` if nothing was recorded."""
    state = _read(state_file)
    if state is None:
        return None
    _terminate(state.worker_pid, grace)
    _terminate(state.scheduler_pid, grace)
    state_file.unlink(missing_ok=True)
    return state


def cluster_status(state_file: Path) -> dict[str, Any]:
    """The recorded cluster and whether its processes are alive."""
    state = _read(state_file)
    if state is None:
        return {"running": False}
    return {
        "running": _alive(state.scheduler_pid),
        **asdict(state),
        "workers_alive": _alive(state.worker_pid),
    }

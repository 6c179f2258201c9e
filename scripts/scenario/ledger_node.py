"""The running ledger service: ``cdabl serve`` as a real process on loopback.

The chaos experiment kills it with SIGKILL, so it must be a process of its
own, not a thread.  Nodes are registered by name in :data:`NODES` so the
experiment's python actions (:mod:`scenario.probes`) can restart them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["NODES", "LedgerNode"]


class LedgerNode:
    """One ``cdabl serve`` process over a ledger directory, on a fixed loopback port."""

    def __init__(self, name: str, data_dir: Path, port: int, log_path: Path) -> None:
        self.name = name
        self.data_dir = data_dir
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"ledger node {self.name} is not running")
        return self.proc.pid

    def start(self, ready_within: float = 60.0) -> int:
        """Start the process and wait until it answers; returns its pid.

        Raises:
            RuntimeError: it exited, or did not answer within ``ready_within`` seconds.
        """
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cross_domain_autoblocker_ledger",
                    "--data-dir",
                    str(self.data_dir),
                    "--listen-host",
                    "127.0.0.1",
                    "--listen-port",
                    str(self.port),
                    "--log-level",
                    "warning",
                    "serve",
                ],
                stdout=log,
                stderr=log,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
        self.starts += 1
        deadline = time.monotonic() + ready_within
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"ledger node {self.name} exited with {self.proc.returncode}; see {self.log_path}"
                )
            try:
                ready = f"{self.url}/v1/ledger/checkpoint"  # http on loopback, built here
                with urllib.request.urlopen(ready, timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        return self.proc.pid
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"ledger node {self.name} did not answer within {ready_within}s")
            time.sleep(0.1)

    def reap(self) -> None:
        """Collect a process that was killed from outside (the chaos action)."""
        if self.proc is not None:
            self.proc.wait(timeout=30)
            self.proc = None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit; idempotent."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None


NODES: dict[str, LedgerNode] = {}
"""Running nodes by name, for the experiment's python actions."""

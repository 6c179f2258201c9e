"""The running ledger service: ``cdabl serve`` processes on loopback, and their NATS server.

The chaos experiment kills a node with SIGKILL, so each must be a process of
its own, not a thread.  Nodes are registered by name in :data:`NODES` so the
experiment's python actions (:mod:`scenario.probes`) can restart them.

With ``nats-server`` installed (Debian package ``nats-server``) the ledger is
replicated the way cdabl does it in production: every write goes through a
NATS JetStream stream (``shared_core.testing.NatsServer``, one server, stream replicas 1) and
every node applies it, so two nodes hold identical entries and the same root.
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
    """One ``cdabl serve`` process over a ledger directory, on a fixed loopback port.

    Args:
        nats_url: replicate through this NATS server (``--nats-servers``, one
            stream replica); ``None`` for a standalone node.
        expect_size: the node is ready once its checkpoint covers this many
            entries (a replica catching up answers before it has them all).
    """

    def __init__(
        self,
        name: str,
        data_dir: Path,
        port: int,
        log_path: Path,
        *,
        nats_url: str | None = None,
        expect_size: int = 0,
    ) -> None:
        self.name = name
        self.data_dir = data_dir
        self.port = port
        self.log_path = log_path
        self.nats_url = nats_url
        self.expect_size = expect_size
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
        self.spawn()
        return self.wait_ready(ready_within)

    def spawn(self) -> None:
        """Start the process without waiting (start several, then :meth:`wait_ready` each)."""
        argv = [
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
        ]
        if self.nats_url is not None:
            argv += ["--nats-servers", self.nats_url, "--nats-replicas", "1"]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*argv, "serve"],
                stdout=log,
                stderr=log,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
        self.starts += 1

    def wait_ready(self, ready_within: float = 60.0) -> int:
        """Wait until the node answers with a checkpoint of ``expect_size`` entries; its pid."""
        if self.proc is None:
            raise RuntimeError(f"ledger node {self.name} was not started")
        deadline = time.monotonic() + ready_within
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"ledger node {self.name} exited with {self.proc.returncode}; see {self.log_path}"
                )
            try:
                ready = f"{self.url}/v1/ledger/checkpoint"  # http on loopback, built here
                with urllib.request.urlopen(ready, timeout=2) as r:  # noqa: S310
                    note = r.read().decode("utf-8", "replace").split("\n")
                    if (
                        r.status == 200
                        and len(note) > 1
                        and note[1].isdigit()
                        and int(note[1]) >= self.expect_size
                    ):
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

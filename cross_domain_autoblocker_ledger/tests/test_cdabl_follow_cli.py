"""``ingest --follow`` as a process: it bans while the log grows and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest


@pytest.mark.slow
def test_follow_bans_while_the_log_grows(tmp_path: Path) -> None:
    """Lines appended to a followed log lead to a ban, announced on stdout; SIGTERM ends with a report."""
    log = tmp_path / "auth.log"
    log.write_text(
        "Jun  1 12:00:00 h sshd[1]: Accepted publickey for bob from 10.0.0.1 port 1 ssh2\n"
    )
    env = {
        **os.environ,
        "CROSS_DOMAIN_AUTOBLOCKER_LEDGER_DATA_DIR": str(tmp_path / "data"),
        "CROSS_DOMAIN_AUTOBLOCKER_LEDGER_TIMEZONE": "UTC",
    }
    with subprocess.Popen(
        [sys.executable, "-m", "cross_domain_autoblocker_ledger", "ingest", "--follow", str(log)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        stdout, stderr = proc.stdout, proc.stderr
        assert stdout is not None
        assert stderr is not None
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True)
        reader.start()
        try:
            with log.open("a") as handle:
                for i in range(8):
                    handle.write(
                        f"Jun  1 12:00:{i:02d} h sshd[{10 + i}]: Failed password for root from 203.0.113.44 port {i} ssh2\n"
                    )
            seen: list[str] = []
            while not any("203.0.113.44" in line for line in seen):
                seen.append(
                    lines.get(timeout=60)
                )  # a blocking read of the follower's own announcement
            assert any(
                line.startswith("decision 1: ban Ip:203.0.113.44 (cdabl/ssh-bf)") for line in seen
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        reader.join(timeout=10)
        errors = stderr.read()
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert proc.returncode == 0, errors
    assert any("1 new decisions" in line for line in rest)

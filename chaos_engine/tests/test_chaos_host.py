"""Host faults act, are measured, and always roll back: after each test nothing is left behind.

They need root and the tools (ip, nft, tc); without them every test here
skips with the reason.  The leak check runs after every test: no engine
namespace, nft table, cgroup, pending undo or child process may remain.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos_engine import actions, host
from chaos_engine.errors import ChaosFaultRefusedError
from chaos_engine.host._run import run_tool

pytestmark = [pytest.mark.root]

if os.geteuid() != 0:
    pytest.skip("host faults need root", allow_module_level=True)
for _tool in ("ip", "nft", "tc"):
    if shutil.which(_tool) is None:
        pytest.skip(
            f"'{_tool}' is not installed (see chaos_engine/system-packages.txt)",
            allow_module_level=True,
        )


def _children() -> set[int]:
    me = str(os.getpid())
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == me:
                out.add(int(entry.name))
    return out


def _host_tables() -> list[str]:
    return [
        ln
        for ln in run_tool("nft", "list", "tables", check=False).splitlines()
        if "chaos_engine" in ln
    ]


@pytest.fixture(autouse=True)
def leak_check() -> Iterator[None]:
    """Nothing the engine made outlives a test."""
    children = _children()
    yield
    assert host.UNDO.pending() == [], host.UNDO.pending()
    assert host.list_engine_namespaces() == []
    assert host.list_engine_cgroups() == []
    assert _host_tables() == []
    assert "tbf" not in run_tool(
        "tc", "qdisc", "show", check=False
    )  # no qdisc on the host's own interfaces
    deadline = time.monotonic() + 5
    while _children() - children and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _children() - children == set()


@pytest.fixture
def lab() -> Iterator[host.Lab]:
    the_lab = host.create_lab("t", ["a", "b"])
    yield the_lab
    host.UNDO.undo_all()


class TestNetwork:
    def test_lab_connects_and_is_removed(self, lab: host.Lab) -> None:
        """The lab's hosts reach each other; removing it removes every namespace."""
        assert host.list_engine_namespaces() == ["ce-t-a", "ce-t-b", "ce-t-hub"]
        assert host.udp_delivery("t", "a", "b", count=200) == 1.0
        lab.destroy()
        assert host.list_engine_namespaces() == []

    def test_even_loss_within_three_points(self, lab: host.Lab) -> None:
        """30% loss spread evenly, measured over 1,000 datagrams, is within 3 points of 30%."""
        token = host.packet_loss("t", "b", 30, direction="in", distribution="even")
        delivered = host.udp_delivery("t", "a", "b", count=1000)
        assert abs((1 - delivered) * 100 - 30) <= 3, delivered
        host.UNDO.undo(token)
        assert host.udp_delivery("t", "a", "b", count=200) == 1.0

    def test_random_loss_within_four_sigma(self, lab: host.Lab) -> None:
        """Independent 30% loss over 1,000 datagrams is within 4 sigma (5.8 points) of 30%.

        One sigma of a binomial(1000, 0.3) share is 1.45 points, so 3 points
        would fail one run in twenty by chance alone; ``even`` holds 3 points.
        """
        host.packet_loss("t", "b", 30, direction="in")
        delivered = host.udp_delivery("t", "a", "b", count=1000)
        assert abs((1 - delivered) * 100 - 30) <= 4 * 1.45, delivered

    def test_partition_drops_all_and_heals_within_a_second(self, lab: host.Lab) -> None:
        """A partition drops 100%; once undone, traffic flows again within 1 s."""
        token = host.partition("t", "a")
        assert host.udp_delivery("t", "a", "b", count=200, timeout=0.5) == 0.0
        assert host.udp_delivery("t", "b", "a", count=200, timeout=0.5) == 0.0
        start = time.monotonic()
        host.UNDO.undo(token)
        assert host.udp_delivery("t", "a", "b", count=100) == 1.0
        assert time.monotonic() - start < 1.0 + 0.5  # the probe itself takes ~0.3 s

    def test_bandwidth_qdisc_is_set_and_removed(self, lab: host.Lab) -> None:
        """A tbf qdisc is on the lab host's interface while the fault holds, and gone after."""
        token = host.limit_bandwidth("t", "a", "1mbit")
        assert "tbf" in run_tool("tc", "qdisc", "show", "dev", "eth0", namespace="ce-t-a")
        host.UNDO.undo(token)
        assert "tbf" not in run_tool("tc", "qdisc", "show", "dev", "eth0", namespace="ce-t-a")

    def test_refusals(self, lab: host.Lab) -> None:
        """Host interfaces, unknown labs and unknown hosts are refused with a clear error."""
        with pytest.raises(ChaosFaultRefusedError, match="host's own interface"):
            host.limit_bandwidth(None, None, "1mbit", interface="lo")
        with pytest.raises(ChaosFaultRefusedError, match="no lab"):
            host.packet_loss("nope", "a", 10)
        with pytest.raises(ChaosFaultRefusedError, match="not part of lab"):
            host.partition("t", "zz")
        with pytest.raises(ChaosFaultRefusedError):
            host.packet_loss("t", "a", 150)
        with pytest.raises(ChaosFaultRefusedError):
            host.create_lab("t", ["a"])


class TestProcesses:
    def test_stop_then_undo_continues(self) -> None:
        """A stopped process is continued by the undo."""
        child = subprocess.Popen(["sleep", "30"])
        try:
            host.signal_processes("stop", pid=child.pid)
            assert _wait_state(child.pid, "T")
            host.UNDO.undo_all()
            assert _wait_state(child.pid, "S")
        finally:
            host.UNDO.undo_all()
            child.kill()
            child.wait()

    def test_kill_by_pattern(self) -> None:
        """A pattern finds and kills the process."""
        child = subprocess.Popen(["sleep", "31.5"])
        try:
            deadline = time.monotonic() + 5
            while (
                b"31.5" not in Path(f"/proc/{child.pid}/cmdline").read_bytes()
            ):  # exec may lag the fork
                assert time.monotonic() < deadline
                time.sleep(0.005)
            assert host.signal_processes("kill", pattern=r"sleep 31\.5") == [child.pid]
            assert child.wait(timeout=5) == -signal.SIGKILL
        finally:
            child.kill()
            child.wait()

    def test_refuses_init_self_and_unlisted(self) -> None:
        """pid 1, the engine itself and targets outside the allowed list are refused."""
        with pytest.raises(ChaosFaultRefusedError, match="init"):
            host.signal_processes("kill", pid=1)
        with pytest.raises(ChaosFaultRefusedError):
            host.signal_processes("stop", pid=os.getpid())
        child = subprocess.Popen(["sleep", "30"])
        try:
            with pytest.raises(ChaosFaultRefusedError, match="allowed targets"):
                actions.kill_process(
                    pid=child.pid, configuration={"chaos_engine_allow": {"pids": [123456]}}
                )
            assert child.poll() is None
        finally:
            child.kill()
            child.wait()


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _wait_state(pid: int, state: str) -> bool:
    """Signals are delivered asynchronously: wait (bounded) for the process to reach ``state``."""
    deadline = time.monotonic() + 5
    while _state(pid) != state:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_BUSY = "while True: pass"


class TestCgroups:
    def test_freeze_and_thaw(self) -> None:
        """A frozen process gets no CPU; after the undo it runs again and the cgroup is gone."""
        child = subprocess.Popen([sys.executable, "-c", _BUSY])
        try:
            time.sleep(0.1)
            host.freeze([child.pid])  # returns once the kernel reports the group frozen
            before = _cpu_seconds(child.pid)
            time.sleep(0.3)
            assert _cpu_seconds(child.pid) - before < 0.02
            host.UNDO.undo_all()
            before = _cpu_seconds(child.pid)
            deadline = time.monotonic() + 10  # on a loaded machine a thawed process waits its turn
            while _cpu_seconds(child.pid) - before < 0.05:
                assert time.monotonic() < deadline, "the process did not run again after the thaw"
                time.sleep(0.05)
        finally:
            child.kill()
            child.wait()

    def test_cpu_quota(self) -> None:
        """A 20% quota keeps a busy process near 20% of a CPU."""
        child = subprocess.Popen([sys.executable, "-c", _BUSY])
        try:
            host.cpu_quota([child.pid], 20)
            before, start = _cpu_seconds(child.pid), time.monotonic()
            time.sleep(1.0)
            share = (_cpu_seconds(child.pid) - before) / (time.monotonic() - start)
            assert share <= 0.3, share
            host.UNDO.undo_all()
        finally:
            child.kill()
            child.wait()


class TestStress:
    def test_cpu_memory_disk_are_undone(self, tmp_path: Path) -> None:
        """Stress children and fill files exist while the fault holds and are gone after."""
        children = _children()
        host.stress_cpu(1, 30)
        host.stress_memory(20 << 20, 30)
        host.stress_disk(str(tmp_path), 5 << 20)
        stressors = _children() - children
        assert len(stressors) == 2
        assert sum(f.stat().st_size for f in tmp_path.iterdir()) == 5 << 20
        host.UNDO.undo_all()
        assert list(tmp_path.iterdir()) == []
        assert not stressors & _children()

    def test_limits(self, tmp_path: Path) -> None:
        """Stress beyond the hard limits is refused."""
        with pytest.raises(ChaosFaultRefusedError):
            host.stress_cpu(1000, 1)
        with pytest.raises(ChaosFaultRefusedError):
            host.stress_memory(1 << 50, 1)
        with pytest.raises(ChaosFaultRefusedError):
            host.stress_disk(str(tmp_path), 1 << 50)
        with pytest.raises(ChaosFaultRefusedError):
            host.stress_cpu(1, 10_000)


def _experiment(tmp_path: Path, pause: float) -> Path:
    exp = {
        "title": "a partition held while the run is interrupted",
        "description": "the engine undoes its faults on SIGTERM",
        "method": [
            {
                "type": "action",
                "name": "lab",
                "provider": {
                    "type": "python",
                    "module": "chaos_engine.actions",
                    "func": "create_lab",
                    "arguments": {"name": "sig", "hosts": ["a", "b"]},
                },
            },
            {
                "type": "action",
                "name": "cut",
                "provider": {
                    "type": "python",
                    "module": "chaos_engine.actions",
                    "func": "partition",
                    "arguments": {"lab": "sig", "host_name": "a"},
                },
                "pauses": {"after": pause},
            },
        ],
        "rollbacks": [],
    }
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(exp))
    return path


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_undoes_faults(tmp_path: Path, sig: signal.Signals) -> None:
    """SIGTERM/SIGINT during the method: the run stops, records ``interrupted`` and leaves no namespace."""
    journal = tmp_path / "journal.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaos_engine",
            "run",
            "--journal-path",
            str(journal),
            str(_experiment(tmp_path, 30)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while "ce-sig-a" not in host.list_engine_namespaces() or not _has_table("ce-sig-a"):
        assert time.monotonic() < deadline
        assert proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err.decode()
    data = json.loads(journal.read_text())
    assert data["status"] == "interrupted"
    assert [f["undone"] for f in data["chaos_engine"]["faults_undone"]] == [True, True]
    assert host.list_engine_namespaces() == []


def _has_table(namespace: str) -> bool:
    return "chaos_engine" in run_tool("nft", "list", "tables", namespace=namespace, check=False)


def test_experiment_end_undoes_and_reports(tmp_path: Path) -> None:
    """A run that ends normally undoes its faults and lists them in the journal and the report."""
    journal = tmp_path / "journal.json"
    html = tmp_path / "report.html"
    from chaos_engine.cli import main
    from shared_core.testing import run_cli

    result = run_cli(
        main,
        [
            "run",
            "--journal-path",
            str(journal),
            "--report-html",
            str(html),
            str(_experiment(tmp_path, 0)),
        ],
    )
    assert result.code == 0, result.err
    data = json.loads(journal.read_text())
    assert data["status"] == "completed"
    assert [f["fault"].split(" ")[0] for f in data["chaos_engine"]["faults_undone"]] == [
        "partition",
        "lab",
    ]
    assert "host fault undone" in html.read_text()

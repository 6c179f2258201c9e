"""Tuning profiles: inheritance, apply with snapshot, verify, rollback, dry-run."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linux_scalable_cloud_kernel import (
    KernelToolkitInputError,
    TuningError,
    list_profiles,
    load_profile,
    rollback,
)
from linux_scalable_cloud_kernel.cli import main
from shared_core.testing import run_cli

SYSCTLS = {
    "vm/dirty_ratio": "20",
    "vm/dirty_background_ratio": "10",
    "vm/swappiness": "60",
    "net/core/busy_read": "0",
    "net/core/busy_poll": "0",
    "net/ipv4/tcp_fastopen": "1",
    "kernel/numa_balancing": "0",
}


def fake_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for key, value in SYSCTLS.items():
        path = root / "proc/sys" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")
    thp = root / "sys/kernel/mm/transparent_hugepage/enabled"
    thp.parent.mkdir(parents=True)
    thp.write_text("always [madvise] never\n")
    gov = root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"
    gov.parent.mkdir(parents=True)
    gov.write_text("powersave\n")
    return root


class TestProfiles:
    def test_shipped_profiles(self) -> None:
        """The four shipped profiles are listed with summaries."""
        assert set(list_profiles()) == {
            "throughput-performance",
            "latency-performance",
            "network-latency",
            "virtual-guest",
        }

    def test_include_inheritance_child_wins(self) -> None:
        """network-latency inherits latency-performance and overrides nothing it does not set."""
        profile = load_profile("network-latency", cpus=2)
        values = {(s.section, s.key, s.path): s.value for s in profile.settings}
        assert values[("sysctl", "vm.dirty_ratio", "proc/sys/vm/dirty_ratio")] == "10"
        assert values[("sysctl", "net.core.busy_poll", "proc/sys/net/core/busy_poll")] == "50"
        assert (
            values[("vm", "transparent_hugepages", "sys/kernel/mm/transparent_hugepage/enabled")]
            == "never"
        )
        governors = [s for s in profile.settings if s.key == "governor"]
        assert [s.path for s in governors] == [
            "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
            "sys/devices/system/cpu/cpu1/cpufreq/scaling_governor",
        ]

    def test_include_cycle_is_an_error(self, tmp_path: Path) -> None:
        """Profiles that include each other are refused with the chain shown."""
        for name, parent in (("a", "b"), ("b", "a")):
            (tmp_path / name).mkdir()
            (tmp_path / name / "tuned.conf").write_text(f"[main]\ninclude={parent}\n")
        with pytest.raises(KernelToolkitInputError) as info:
            load_profile("a", extra_dirs=(tmp_path,))
        assert "a -> b -> a" in info.value.message

    def test_unknown_profile_lists_shipped(self) -> None:
        """An unknown name says which profiles exist."""
        with pytest.raises(KernelToolkitInputError) as info:
            load_profile("turbo")
        assert "virtual-guest" in (info.value.hint or "")

    @given(st.text(max_size=200))
    @settings(max_examples=100)
    def test_arbitrary_profile_text_only_raises_our_error(self, text: str) -> None:
        """Any tuned.conf text loads or raises KernelToolkitInputError."""
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            conf = Path(tmp) / "p" / "tuned.conf"
            conf.parent.mkdir()
            conf.write_text(text)
            with contextlib.suppress(KernelToolkitInputError):
                load_profile(str(conf), cpus=1)


class TestApplyVerifyRollback:
    def test_apply_snapshot_verify_rollback(self, tmp_path: Path) -> None:
        """apply writes and snapshots; verify finds drift; rollback restores the old values."""
        root = fake_root(tmp_path)
        snapshot = tmp_path / "state/snap.json"
        profile = load_profile("network-latency", cpus=1)
        changes = profile.apply(root, snapshot)
        statuses = {c.setting.key: c.status for c in changes}
        assert statuses["vm.swappiness"] == "change"
        assert statuses["kernel.numa_balancing"] == "same"
        assert statuses["energy_perf_bias"] == "missing"
        assert (root / "proc/sys/vm/swappiness").read_text() == "10\n"
        assert (
            root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"
        ).read_text() == "performance\n"
        assert json.loads(snapshot.read_text())["previous"]["proc/sys/vm/swappiness"] == "60"
        assert [c.status for c in profile.verify(root)] == ["missing"]
        (root / "proc/sys/vm/swappiness").write_text("61\n")
        drift = [c for c in profile.verify(root) if c.status == "change"]
        assert [(c.setting.key, c.current) for c in drift] == [("vm.swappiness", "61")]
        restored = rollback(root, snapshot)
        assert restored["proc/sys/vm/swappiness"] == "60"
        assert (root / "sys/kernel/mm/transparent_hugepage/enabled").read_text() == "madvise\n"
        assert not snapshot.exists()

    def test_rollback_without_snapshot(self, tmp_path: Path) -> None:
        """rollback with nothing applied is a clear error; a damaged snapshot is bad input."""
        with pytest.raises(TuningError):
            rollback(tmp_path, tmp_path / "none.json")
        damaged = tmp_path / "snap.json"
        damaged.write_text("[1, 2")
        with pytest.raises(KernelToolkitInputError):
            rollback(tmp_path, damaged)

    def test_cli_dry_run_changes_nothing(self, tmp_path: Path) -> None:
        """`tune apply --dry-run` shows the diff and writes nothing, not even a snapshot."""
        root = fake_root(tmp_path)
        state = tmp_path / "state"
        args = ["--root", str(root), "--state-dir", str(state)]
        result = run_cli(main, [*args, "tune", "apply", "latency-performance", "--dry-run"])
        assert result.code == 0, result.err
        assert "vm.swappiness: 60 -> 10" in result.out
        assert (root / "proc/sys/vm/swappiness").read_text() == "60\n"
        assert not state.exists()

    def test_cli_verify_exit_codes(self, tmp_path: Path) -> None:
        """verify exits 1 while settings drift and 0 once the profile holds."""
        root = fake_root(tmp_path)
        args = ["--root", str(root), "--state-dir", str(tmp_path / "state")]
        assert run_cli(main, [*args, "tune", "verify", "virtual-guest"]).code == 1
        assert run_cli(main, [*args, "tune", "apply", "virtual-guest"]).code == 0
        assert run_cli(main, [*args, "tune", "verify", "virtual-guest"]).code == 0
        assert run_cli(main, [*args, "tune", "rollback"]).code == 0
        assert (root / "proc/sys/vm/dirty_ratio").read_text() == "20\n"

"""cgroup v2 management on a fixture tree and on this machine's real cgroup2 mount."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from linux_scalable_cloud_kernel import (
    CgroupError,
    CgroupTree,
    KernelToolkitInputError,
    find_cgroup2_mount,
)
from linux_scalable_cloud_kernel.cli import main
from shared_core.testing import run_cli


def fixture_mount(tmp_path: Path, controllers: str = "cpu memory pids") -> Path:
    """A directory that looks like a cgroup2 root: controllers available, none enabled."""
    mount = tmp_path / "cgroup"
    mount.mkdir()
    (mount / "cgroup.controllers").write_text(controllers + "\n")
    (mount / "cgroup.subtree_control").write_text("\n")
    return mount


class TestFixtureTree:
    def test_mount_found_in_mountinfo_under_root(self, tmp_path: Path) -> None:
        """The cgroup2 line of mountinfo gives the mount point, even on a hybrid layout."""
        (tmp_path / "proc/self").mkdir(parents=True)
        (tmp_path / "proc/self/mountinfo").write_text(
            "30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
            "31 30 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
            "32 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
        )
        assert find_cgroup2_mount(tmp_path) == tmp_path / "sys/fs/cgroup/unified"

    def test_no_cgroup2_is_a_clear_error(self, tmp_path: Path) -> None:
        """Without a cgroup2 mount the error says how to get one."""
        (tmp_path / "proc/self").mkdir(parents=True)
        (tmp_path / "proc/self/mountinfo").write_text(
            "30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
        )
        with pytest.raises(CgroupError) as info:
            find_cgroup2_mount(tmp_path)
        assert "cgroup2" in (info.value.hint or "")

    def test_create_enables_controllers_in_parent(self, tmp_path: Path) -> None:
        """Creating with controllers writes +cpu +memory to the parent's subtree_control."""
        mount = fixture_mount(tmp_path)
        path = CgroupTree(mount).create("svc", ["cpu", "memory"])
        assert path.is_dir()
        assert (mount / "cgroup.subtree_control").read_text() == "+cpu +memory"

    def test_missing_controller_names_what_is_available(self, tmp_path: Path) -> None:
        """Asking for io where only cpu exists is refused, listing what is available."""
        mount = fixture_mount(tmp_path, controllers="cpu")
        with pytest.raises(CgroupError) as info:
            CgroupTree(mount).create("svc", ["io"])
        assert "available here: cpu" in (info.value.hint or "")
        assert not (mount / "svc").exists()

    def test_limits_are_validated_before_anything_is_written(self, tmp_path: Path) -> None:
        """One bad value means no limit file is touched."""
        mount = fixture_mount(tmp_path)
        tree = CgroupTree(mount)
        group = tree.create("svc")
        (group / "cpu.max").write_text("max 100000\n")
        (group / "memory.max").write_text("max\n")
        with pytest.raises(KernelToolkitInputError):
            tree.set_limits("svc", {"cpu.max": "50000 100000", "memory.max": "lots"})
        assert (group / "cpu.max").read_text() == "max 100000\n"
        tree.set_limits("svc", {"cpu.max": "50000 100000", "memory.max": "256M"})
        assert (group / "cpu.max").read_text() == "50000 100000\n"
        assert (group / "memory.max").read_text() == "256M\n"

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("cpu.weight", "0"),
            ("cpu.weight", "10001"),
            ("pids.max", "-1"),
            ("io.max", "8:0 rbps"),
            ("nope.max", "1"),
        ],
    )
    def test_bad_limits(self, tmp_path: Path, key: str, value: str) -> None:
        """Out-of-range weights, malformed io.max and unknown keys are input errors."""
        tree = CgroupTree(fixture_mount(tmp_path))
        tree.create("svc")
        with pytest.raises(KernelToolkitInputError):
            tree.set_limits("svc", {key: value})

    def test_limit_without_controller_explains(self, tmp_path: Path) -> None:
        """A limit whose controller is not enabled for the group says which to enable."""
        tree = CgroupTree(fixture_mount(tmp_path))
        tree.create("svc")
        with pytest.raises(CgroupError) as info:
            tree.set_limits("svc", {"io.max": "8:0 rbps=1048576"})
        assert "--controller io" in (info.value.hint or "")

    def test_names_cannot_escape_the_mount(self, tmp_path: Path) -> None:
        """'..' and odd characters are refused."""
        tree = CgroupTree(fixture_mount(tmp_path))
        for name in ("../etc", "a/../../b", "", "sp ace"):
            with pytest.raises(KernelToolkitInputError):
                tree.path(name)

    def test_stat_reads_what_exists(self, tmp_path: Path) -> None:
        """stat gathers flat-keyed files, single values, limits and pressure."""
        tree = CgroupTree(fixture_mount(tmp_path))
        group = tree.create("svc")
        (group / "cgroup.procs").write_text("12\n34\n")
        (group / "memory.current").write_text("4096\n")
        (group / "memory.events").write_text("low 0\nhigh 2\nmax 1\noom 0\noom_kill 0\n")
        (group / "memory.max").write_text("268435456\n")
        (group / "memory.pressure").write_text(
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        )
        stat = tree.stat("svc")
        assert stat["pids"] == [12, 34]
        assert stat["memory.current"] == 4096
        assert stat["memory.events"] == {"low": 0, "high": 2, "max": 1, "oom": 0, "oom_kill": 0}
        assert stat["memory.max"] == "268435456"
        assert stat["memory.pressure"] == {
            "some_seconds": 1.5,
            "full_seconds": 0.0,
            "some_avg10": 0.0,
        }

    def test_cli_bad_pair_is_exit_2(self, tmp_path: Path) -> None:
        """`cgroup set` with a malformed pair is one line and exit 2."""
        mount = fixture_mount(tmp_path)
        CgroupTree(mount).create("svc")
        result = run_cli(main, ["--cgroup-mount", str(mount), "cgroup", "set", "svc", "memory.max"])
        assert result.code == 2
        assert result.err.count("\n") == 1


def _real_tree() -> CgroupTree:
    if os.geteuid() != 0:
        pytest.skip("needs root to create cgroups")
    try:
        tree = CgroupTree.discover()
    except CgroupError as exc:
        pytest.skip(f"no cgroup v2 here: {exc}")
    if not os.access(tree.mount, os.W_OK):
        pytest.skip(f"{tree.mount} is not writable")
    return tree


@pytest.mark.root
class TestRealCgroup2:
    def test_run_command_inside_a_new_group(self) -> None:
        """`run` executes the command already inside the group, then the group is removed."""
        tree = _real_tree()
        name = f"lsck-test-{uuid.uuid4().hex[:8]}"
        try:
            result = subprocess.run(
                [sys.executable, "-m", "linux_scalable_cloud_kernel", "cgroup", "run", name, "--",
                 "sh", "-c", "grep '^0::' /proc/self/cgroup"],
                capture_output=True, text=True, check=False, timeout=60,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip().endswith(f"/{name}")
            assert tree.pids(name) == []
        finally:
            if tree.path(name).exists():
                tree.remove(name)
        assert not tree.path(name).exists()

    def test_move_and_stat_a_live_process(self) -> None:
        """A sleeping process moved into a group shows up in its stat; rm refuses while it lives."""
        tree = _real_tree()
        name = f"lsck-test-{uuid.uuid4().hex[:8]}"
        tree.create(name)
        proc = subprocess.Popen(["sleep", "30"])
        try:
            tree.move(name, proc.pid)
            assert tree.stat(name)["pids"] == [proc.pid]
            with pytest.raises(CgroupError):
                tree.remove(name)
        finally:
            proc.kill()
            proc.wait()
            parent_procs = tree.mount / "cgroup.procs"
            for pid in tree.pids(name):
                parent_procs.write_text(f"{pid}\n")
            tree.remove(name)

"""CPU quota and freeze/thaw of processes with cgroups (v2, or v1's cpu and freezer hierarchies).

The engine makes a cgroup of its own (``chaos_engine-<pid>-<n>``), moves the
targets into it and sets the limit; the undo, registered first, moves them
back to the cgroups they came from, thaws, and removes the cgroup.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from pathlib import Path

from chaos_engine.errors import ChaosFaultError, ChaosFaultRefusedError
from chaos_engine.host._run import need_root
from chaos_engine.host._undo import UNDO

__all__ = ["CGROUP_PREFIX", "cpu_quota", "freeze", "list_engine_cgroups"]

ROOT = Path("/sys/fs/cgroup")
CGROUP_PREFIX = "chaos_engine-"
_names = itertools.count(1)


def _v2_root() -> Path | None:
    for base in (ROOT, ROOT / "unified"):
        controllers = base / "cgroup.controllers"
        if controllers.exists():
            return base
    return None


def _hierarchy(controller: str) -> tuple[Path, bool]:
    """(mount point, is_v2) of the hierarchy that offers ``controller``."""
    v1 = ROOT / controller
    if (v1 / "tasks").exists():
        return v1, False
    v2 = _v2_root()
    if v2 is not None:
        if controller == "freezer":
            return v2, True
        if controller in (v2 / "cgroup.controllers").read_text().split():
            return v2, True
    raise ChaosFaultError(f"no cgroup hierarchy offers the {controller} controller")


def _origin(pid: int, base: Path, v2: bool, controller: str) -> Path:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hid, ctrls, path = line.split(":", 2)
        if (v2 and hid == "0") or (not v2 and controller in ctrls.split(",")):
            return base / path.lstrip("/")
    return base


def list_engine_cgroups() -> list[str]:
    """Cgroup directories the engine made that still exist."""
    found = []
    for base in (ROOT, ROOT / "unified", ROOT / "cpu", ROOT / "freezer"):
        with contextlib.suppress(OSError):
            found += [str(p) for p in base.iterdir() if p.name.startswith(CGROUP_PREFIX)]
    return sorted(found)


def _check(pids: list[int]) -> None:
    for pid in pids:
        if pid in (1, os.getpid()):
            raise ChaosFaultRefusedError(f"refusing to confine pid {pid}: init or this process")
        if not Path(f"/proc/{pid}").exists():
            raise ChaosFaultError(f"pid {pid} does not exist")


def _move(pid: int, group: Path) -> None:
    with contextlib.suppress(ProcessLookupError, FileNotFoundError):
        (group / "cgroup.procs").write_text(str(pid))


def _confine(pids: list[int], controller: str, description: str) -> tuple[Path, bool, int]:
    need_root(description)
    _check(pids)
    base, v2 = _hierarchy(controller)
    group = base / f"{CGROUP_PREFIX}{os.getpid()}-{next(_names)}"
    origins = {pid: _origin(pid, base, v2, controller) for pid in pids}

    def undo() -> None:
        if v2:
            with contextlib.suppress(OSError):
                (group / "cgroup.freeze").write_text("0")
        elif controller == "freezer":
            with contextlib.suppress(OSError):
                (group / "freezer.state").write_text("THAWED")
        for pid, origin in origins.items():
            _move(pid, origin if origin.exists() else base)
        for _ in range(50):
            try:
                group.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.01)
        group.rmdir()

    token = UNDO.register(
        f"{description} of pids {', '.join(map(str, pids))} (cgroup {group.name})", undo
    )
    try:
        group.mkdir()
        if v2 and controller == "cpu":
            with contextlib.suppress(OSError):
                (group.parent / "cgroup.subtree_control").write_text("+cpu")
        for pid in pids:
            _move(pid, group)
    except BaseException:
        UNDO.undo(token)
        raise
    return group, v2, token


def cpu_quota(pids: list[int], percent: float, period_us: int = 100_000) -> int:
    """Cap the targets to ``percent`` of one CPU; returns the undo token."""
    if not 1 <= percent <= 100 * (os.cpu_count() or 1):
        raise ChaosFaultRefusedError(f"cpu quota {percent}% is out of range")
    group, v2, token = _confine(pids, "cpu", f"cpu quota {percent}%")
    quota = int(period_us * percent / 100)
    try:
        if v2:
            (group / "cpu.max").write_text(f"{quota} {period_us}")
        else:
            (group / "cpu.cfs_period_us").write_text(str(period_us))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
    except BaseException:
        UNDO.undo(token)
        raise
    return token


def freeze(pids: list[int]) -> int:
    """Freeze the targets (thawed by the undo); returns the undo token."""
    group, v2, token = _confine(pids, "freezer", "freeze")
    try:
        if v2:
            (group / "cgroup.freeze").write_text("1")
        else:
            (group / "freezer.state").write_text("FROZEN")
        _wait_frozen(group, v2, pids)
    except BaseException:
        UNDO.undo(token)
        raise
    return token


def _frozen(group: Path, v2: bool) -> bool:
    if v2:
        return "frozen 1" in (group / "cgroup.events").read_text().splitlines()
    return (group / "freezer.state").read_text().strip() == "FROZEN"


def _wait_frozen(group: Path, v2: bool, pids: list[int], within: float = 5.0) -> None:
    """Return once the kernel reports the group frozen, as ``docker pause`` does.

    Freezing is asynchronous (the group is ``FREEZING`` until every task has stopped), so a
    step that runs right after the action would otherwise still see the targets running.  A
    task in uninterruptible sleep can hold the group in ``FREEZING``; that is an error here
    rather than a fault that silently is not there yet.
    """
    deadline = time.monotonic() + within
    while not _frozen(group, v2):
        if time.monotonic() > deadline:
            raise ChaosFaultError(
                f"pids {', '.join(map(str, pids))} did not freeze within {within:g} s",
                hint="a task in uninterruptible sleep (D state) cannot be frozen; retry later",
            )
        time.sleep(0.005)

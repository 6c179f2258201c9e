"""cgroup v2 management: groups, limits, processes, usage and pressure.

The unified hierarchy is found from ``/proc/self/mountinfo`` (under the same
root path as every other reader), so hybrid hosts that mount cgroup2 at
``/sys/fs/cgroup/unified`` work as pure v2 hosts do.  Limits are validated
before anything is written, and a controller that is not available in the
group's parent is reported as such (with the controllers that *are*
available) instead of the kernel's bare ``ENOENT``/``EINVAL``.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from linux_scalable_cloud_kernel._procfs import parse_pressure
from linux_scalable_cloud_kernel.errors import KernelToolkitError, KernelToolkitInputError

__all__ = ["LIMIT_FILES", "CgroupError", "CgroupTree", "find_cgroup2_mount"]

# file -> controller that provides it, and a validator for the value.
_MAX_OR_INT = r"(max|\d+)"
LIMIT_FILES: dict[str, tuple[str, re.Pattern[str]]] = {
    "cpu.max": ("cpu", re.compile(rf"^{_MAX_OR_INT}( \d+)?$")),
    "cpu.weight": ("cpu", re.compile(r"^([1-9]\d{0,3}|10000)$")),
    "memory.max": ("memory", re.compile(rf"^{_MAX_OR_INT}[KMG]?$")),
    "memory.high": ("memory", re.compile(rf"^{_MAX_OR_INT}[KMG]?$")),
    "io.max": (
        "io",
        re.compile(r"^\d+:\d+( (rbps|wbps|riops|wiops)=(max|\d+))+$"),
    ),
    "pids.max": ("pids", re.compile(rf"^{_MAX_OR_INT}$")),
}
_NAME = re.compile(r"^[A-Za-z0-9_.@-]+(/[A-Za-z0-9_.@-]+)*$")


class CgroupError(KernelToolkitError):
    """A cgroup operation failed on this host (missing v2, missing controller, kernel refusal)."""


def find_cgroup2_mount(root: Path = Path("/")) -> Path:
    """The cgroup2 mount point, read from ``proc/self/mountinfo`` under ``root``."""
    mountinfo = root / "proc/self/mountinfo"
    try:
        text = mountinfo.read_text()
    except OSError as exc:
        raise CgroupError(
            f"cannot read {mountinfo}: {exc.strerror}", hint="is /proc mounted?"
        ) from exc
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = left.split()
        if right.split()[:1] == ["cgroup2"] and len(fields) >= 5:
            return root / fields[4].lstrip("/")
    raise CgroupError(
        "cgroup v2 is not mounted on this host",
        hint="mount it (mount -t cgroup2 none /sys/fs/cgroup/unified) or boot with "
        "systemd.unified_cgroup_hierarchy=1",
    )


@dataclass(frozen=True)
class CgroupTree:
    """Operations on groups below one cgroup2 mount point."""

    mount: Path

    @classmethod
    def discover(cls, root: Path = Path("/")) -> CgroupTree:
        return cls(find_cgroup2_mount(root))

    def path(self, name: str) -> Path:
        if not _NAME.match(name) or ".." in name.split("/"):
            raise KernelToolkitInputError(
                f"invalid cgroup name {name!r}",
                hint="use letters, digits, '_', '-', '.', '@', and '/' between levels",
            )
        return self.mount / name

    def _read(self, path: Path) -> str:
        try:
            return path.read_text()
        except FileNotFoundError:
            raise CgroupError(f"{path} does not exist", path=str(path)) from None
        except OSError as exc:
            raise CgroupError(f"cannot read {path}: {exc.strerror}", path=str(path)) from exc

    def _write(self, path: Path, value: str) -> None:
        try:
            with path.open("w") as handle:
                handle.write(value)
        except FileNotFoundError:
            raise CgroupError(f"{path} does not exist", path=str(path)) from None
        except OSError as exc:
            raise CgroupError(
                f"the kernel refused {value.strip()!r} for {path}: {exc.strerror}",
                path=str(path),
                hint="check the value's format and that you are root",
            ) from exc

    def available_controllers(self, name: str | None = None) -> list[str]:
        """Controllers a group's children may enable (its ``cgroup.controllers``)."""
        base = self.mount if name is None else self.path(name)
        return self._read(base / "cgroup.controllers").split()

    def create(self, name: str, controllers: Sequence[str] = ()) -> Path:
        """Create a group (and its parents), enabling ``controllers`` on the way down."""
        target = self.path(name)
        parts = name.split("/")
        for depth in range(len(parts)):
            parent = self.mount.joinpath(*parts[:depth])
            if controllers:
                self._enable(parent, controllers)
            child = parent / parts[depth]
            try:
                child.mkdir(exist_ok=True)
            except OSError as exc:
                raise CgroupError(
                    f"cannot create {child}: {exc.strerror}", path=str(child), hint="run as root"
                ) from exc
        return target

    def _enable(self, parent: Path, controllers: Sequence[str]) -> None:
        available = self._read(parent / "cgroup.controllers").split()
        missing = [c for c in controllers if c not in available]
        if missing:
            raise CgroupError(
                f"controller(s) {', '.join(missing)} not available in {parent}",
                path=str(parent),
                hint=f"available here: {', '.join(available) or 'none'}; on a hybrid host the "
                "controllers are bound to cgroup v1 hierarchies",
            )
        enabled = self._read(parent / "cgroup.subtree_control").split()
        wanted = [c for c in controllers if c not in enabled]
        if wanted:
            self._write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))

    def set_limits(self, name: str, limits: Mapping[str, str]) -> None:
        """Validate every limit first, then write them; nothing is written if one is bad."""
        target = self.path(name)
        checked = []
        for key, raw in limits.items():
            if key not in LIMIT_FILES:
                raise KernelToolkitInputError(
                    f"unknown limit {key!r}", hint=f"use one of: {', '.join(LIMIT_FILES)}"
                )
            controller, pattern = LIMIT_FILES[key]
            value = raw.strip()
            if not pattern.match(value):
                raise KernelToolkitInputError(
                    f"invalid value {value!r} for {key}",
                    hint="see the kernel's cgroup-v2 documentation for the format",
                )
            checked.append((key, controller, value))
        for key, controller, value in checked:
            limit_file = target / key
            if not limit_file.exists():
                enabled = self._read(target.parent / "cgroup.subtree_control").split()
                raise CgroupError(
                    f"{key} is not available in {name}: the {controller} controller is not "
                    "enabled for it",
                    hint=f"enabled in its parent: {', '.join(enabled) or 'none'}; create the group "
                    f"with --controller {controller}",
                )
            self._write(limit_file, value + "\n")

    def move(self, name: str, pid: int) -> None:
        """Move process ``pid`` (all its threads) into the group."""
        self._write(self.path(name) / "cgroup.procs", f"{pid}\n")

    def pids(self, name: str) -> list[int]:
        return [int(p) for p in self._read(self.path(name) / "cgroup.procs").split()]

    def remove(self, name: str) -> None:
        """Remove an empty group (the kernel refuses while processes remain)."""
        target = self.path(name)
        try:
            target.rmdir()
        except FileNotFoundError:
            raise CgroupError(f"cgroup {name} does not exist", path=str(target)) from None
        except OSError as exc:
            raise CgroupError(
                f"cannot remove {name}: {exc.strerror}",
                path=str(target),
                hint="move or stop its processes and remove child groups first",
            ) from exc

    def stat(self, name: str) -> dict[str, object]:
        """Usage, events and pressure: whatever the enabled controllers provide."""
        target = self.path(name)
        if not target.is_dir():
            raise CgroupError(f"cgroup {name} does not exist", path=str(target))
        result: dict[str, object] = {"path": str(target), "pids": self.pids(name)}
        for flat in ("cgroup.stat", "cpu.stat", "memory.events", "memory.stat", "io.stat"):
            path = target / flat
            if path.exists():
                result[flat] = _flat_keyed(self._read(path))
        for single in ("memory.current", "memory.peak", "pids.current"):
            path = target / single
            if path.exists():
                text = self._read(path).strip()
                result[single] = int(text) if text.isdigit() else text
        for key in LIMIT_FILES:
            path = target / key
            if path.exists():
                result[key] = self._read(path).strip()
        for resource in ("cpu", "io", "memory"):
            path = target / f"{resource}.pressure"
            if path.exists():
                stats = parse_pressure(self._read(path), str(path))
                result[f"{resource}.pressure"] = {
                    "some_seconds": stats.some_seconds,
                    "full_seconds": stats.full_seconds,
                    "some_avg10": stats.some_avg10,
                }
        return result

    def run(self, name: str, argv: Sequence[str], limits: Mapping[str, str] | None = None) -> int:
        """Run ``argv`` inside a new group with ``limits`` (like ``systemd-run --scope``).

        The child moves itself into the group before ``exec``, so not one
        instruction of the command runs outside it.  Returns its exit status.
        """
        if not argv:
            raise KernelToolkitInputError(
                "no command given", hint="lsck cgroup run NAME -- CMD ..."
            )
        controllers = sorted({LIMIT_FILES[k][0] for k in (limits or {}) if k in LIMIT_FILES})
        self.create(name, controllers)
        if limits:
            self.set_limits(name, limits)
        procs = str(self.path(name) / "cgroup.procs")

        def enter_group() -> None:
            with open(procs, "w") as handle:  # runs in the child before exec
                handle.write(f"{os.getpid()}\n")

        try:
            completed = subprocess.run(
                list(argv), preexec_fn=enter_group, check=False
            )  # must run before exec
        except FileNotFoundError:
            raise KernelToolkitInputError(
                f"command not found: {argv[0]}", hint="give the full path"
            ) from None
        except subprocess.SubprocessError as exc:
            raise CgroupError(f"could not start the command in {name}: {exc}") from exc
        return completed.returncode


def _flat_keyed(text: str) -> dict[str, int | str]:
    values: dict[str, int | str] = {}
    for line in text.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            values[parts[0]] = int(parts[1]) if parts[1].strip().isdigit() else parts[1].strip()
    return values

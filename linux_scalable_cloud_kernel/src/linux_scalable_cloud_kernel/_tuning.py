"""Tuning profiles in tuned's format: apply with a snapshot, verify, roll back.

A profile is an INI file (``tuned.conf``) with ``[main] include=`` for
inheritance and the sections this toolkit applies: ``[sysctl]`` (keys as in
``sysctl.conf``), ``[sysfs]`` (absolute ``/sys`` paths), ``[vm]``
(``transparent_hugepages``) and ``[cpu]`` (``governor``, ``energy_perf_bias``
as sysfs writes per CPU).  Every setting becomes a :class:`Setting`: a file
under the root path and the value to write, so apply, verify and rollback are
one mechanism and run on fixture trees in tests.

Applying first reads every current value into a snapshot file; the snapshot
is written (atomically) before the first change, so a crash half-way can
still be rolled back.  Settings whose file does not exist on this kernel are
reported as skipped, never silently ignored.
"""

from __future__ import annotations

import configparser
import json
import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from linux_scalable_cloud_kernel.errors import KernelToolkitError, KernelToolkitInputError

__all__ = [
    "Profile",
    "ProfileChange",
    "Setting",
    "TuningError",
    "list_profiles",
    "load_profile",
    "rollback",
]

_APPLIED = ("sysctl", "sysfs", "vm", "cpu")
_MAX_INCLUDE_DEPTH = 10


class TuningError(KernelToolkitError):
    """A profile could not be applied, verified or rolled back."""


@dataclass(frozen=True)
class Setting:
    """One value to write to one file (relative to the root path)."""

    section: str
    key: str
    path: str
    value: str


@dataclass(frozen=True)
class ProfileChange:
    setting: Setting
    current: str | None
    status: str  # "change", "same", "missing"


def _profiles_dir() -> Path:
    return Path(str(resources.files("linux_scalable_cloud_kernel") / "profiles"))


def list_profiles(extra_dirs: tuple[Path, ...] = ()) -> dict[str, str]:
    """Shipped and extra profiles: name -> summary."""
    found: dict[str, str] = {}
    for base in (_profiles_dir(), *extra_dirs):
        if not base.is_dir():
            continue
        for conf in sorted(base.glob("*/tuned.conf")):
            parser = _parse(conf)
            found[conf.parent.name] = parser.get("main", "summary", fallback="")
    return found


def _parse(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive paths
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except OSError as exc:
        raise KernelToolkitInputError(
            f"cannot read profile {path}: {exc.strerror}", path=str(path)
        ) from exc
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise KernelToolkitInputError(
            f"profile {path} is not a valid tuned.conf: {str(exc).splitlines()[0]}",
            path=str(path),
            hint="sections like [sysctl] with key=value lines",
        ) from None
    return parser


def _find(name: str, extra_dirs: tuple[Path, ...]) -> Path:
    candidate = Path(name)
    if candidate.is_file():
        return candidate
    if (candidate / "tuned.conf").is_file():
        return candidate / "tuned.conf"
    for base in (*extra_dirs, _profiles_dir()):
        conf = base / name / "tuned.conf"
        if conf.is_file():
            return conf
    raise KernelToolkitInputError(
        f"no tuning profile named {name!r}",
        hint=f"shipped profiles: {', '.join(list_profiles(extra_dirs)) or 'none'}",
    )


@dataclass(frozen=True)
class Profile:
    """A resolved profile: its settings after ``include=`` inheritance (children win)."""

    name: str
    settings: tuple[Setting, ...]
    cpus: int = 0

    def changes(self, root: Path) -> list[ProfileChange]:
        """What applying would do: each setting with the value it replaces."""
        result = []
        for setting in self.settings:
            target = root / setting.path
            try:
                current: str | None = target.read_text().strip()
            except OSError:
                current = None
            if current is None:
                status = "missing"
            elif _normalise(setting.key, current) == _normalise(setting.key, setting.value):
                status = "same"
            else:
                status = "change"
            result.append(ProfileChange(setting, current, status))
        return result

    def apply(self, root: Path, snapshot: Path) -> list[ProfileChange]:
        """Write every setting that differs, after saving the old values to ``snapshot``."""
        changes = self.changes(root)
        # Save the selected value ("madvise" of "always [madvise] never"): that is what writes back.
        previous = {
            c.setting.path: _normalise(c.setting.key, c.current)
            for c in changes
            if c.status == "change" and c.current is not None
        }
        _atomic_json(snapshot, {"profile": self.name, "previous": previous})
        for change in changes:
            if change.status == "change":
                _write(root / change.setting.path, change.setting.value)
        return changes

    def verify(self, root: Path) -> list[ProfileChange]:
        """Settings that drifted from the profile (status ``change``) or are missing."""
        return [c for c in self.changes(root) if c.status != "same"]


def rollback(root: Path, snapshot: Path) -> dict[str, str]:
    """Restore the values saved by :meth:`Profile.apply`; returns what was restored."""
    try:
        data = json.loads(snapshot.read_text())
    except FileNotFoundError:
        raise TuningError(
            f"no snapshot at {snapshot}", hint="rollback needs a profile applied with this tool"
        ) from None
    except (ValueError, OSError) as exc:
        raise KernelToolkitInputError(
            f"snapshot {snapshot} is damaged: {exc}", path=str(snapshot)
        ) from None
    previous = data.get("previous") if isinstance(data, dict) else None
    if not isinstance(previous, dict):
        raise KernelToolkitInputError(
            f"snapshot {snapshot} is damaged: no 'previous' object", path=str(snapshot)
        )
    restored = {}
    for path, value in previous.items():
        if value is not None:
            _write(root / str(path), str(value))
            restored[str(path)] = str(value)
    snapshot.unlink()
    return restored


def _normalise(key: str, value: str) -> str:
    # Selection files show the active choice in brackets: "always [madvise] never".
    if "[" in value and "]" in value:
        return value[value.index("[") + 1 : value.index("]")]
    return " ".join(value.split())


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value + "\n")
    except OSError as exc:
        raise TuningError(
            f"cannot write {value!r} to {path}: {exc.strerror}",
            path=str(path),
            hint="run as root; some settings cannot change inside a container",
        ) from exc


def _atomic_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _settings_of(section: str, key: str, value: str, cpus: int) -> list[Setting]:
    if section == "sysctl":
        return [Setting(section, key, "proc/sys/" + key.replace(".", "/"), value)]
    if section == "sysfs":
        if not key.startswith("/sys/"):
            raise KernelToolkitInputError(
                f"[sysfs] key {key!r} is not a /sys path", hint="use absolute /sys/... paths"
            )
        return [Setting(section, key, key.lstrip("/"), value)]
    if section == "vm":
        if key != "transparent_hugepages":
            raise KernelToolkitInputError(
                f"[vm] option {key!r} is not supported", hint="transparent_hugepages"
            )
        return [Setting(section, key, "sys/kernel/mm/transparent_hugepage/enabled", value)]
    if key == "governor":
        leaf = "cpufreq/scaling_governor"
    elif key == "energy_perf_bias":
        leaf = "power/energy_perf_bias"
    else:
        raise KernelToolkitInputError(
            f"[cpu] option {key!r} is not supported", hint="governor or energy_perf_bias"
        )
    return [
        Setting(section, key, f"sys/devices/system/cpu/cpu{n}/{leaf}", value) for n in range(cpus)
    ]


def load_profile(name: str, extra_dirs: tuple[Path, ...] = (), cpus: int | None = None) -> Profile:
    """Load a profile by name or path, resolving ``include=`` chains (cycles are errors)."""
    cpu_count = cpus if cpus is not None else (os.cpu_count() or 1)
    merged: dict[tuple[str, str], str] = {}
    chain: list[str] = []

    def visit(profile_name: str) -> None:
        if profile_name in chain:
            raise KernelToolkitInputError(
                f"profile include cycle: {' -> '.join([*chain, profile_name])}"
            )
        if len(chain) >= _MAX_INCLUDE_DEPTH:
            raise KernelToolkitInputError("profile includes nest too deep")
        chain.append(profile_name)
        parser = _parse(_find(profile_name, extra_dirs))
        for parent in parser.get("main", "include", fallback="").split(","):
            if parent.strip():
                visit(parent.strip())
        for section in parser.sections():
            if section in _APPLIED:
                for key, value in parser.items(section):
                    merged[(section, key)] = value.strip()
        chain.pop()

    visit(name)
    settings = [
        s
        for (section, key), value in merged.items()
        for s in _settings_of(section, key, value, cpu_count)
    ]
    return Profile(Path(name).name if Path(name).exists() else name, tuple(settings), cpu_count)

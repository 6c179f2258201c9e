"""Parsers for the ``/proc`` and ``/sys`` files node metrics come from.

Each parser takes the file's text and returns plain data; :class:`NodeFiles`
finds the files under a root path, so tests run on fixture trees exactly as
the CLI runs on ``/``.  A malformed file raises
:class:`~linux_scalable_cloud_kernel.errors.KernelToolkitParseError` naming
the file and the line, never an ``IndexError`` or ``ValueError`` from deep
inside; a file the kernel does not provide (no PSI, no conntrack, no hwmon)
is simply absent from the result.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from linux_scalable_cloud_kernel.errors import KernelToolkitParseError

__all__ = [
    "CPU_MODES",
    "CpuTimes",
    "DiskStats",
    "NetDevStats",
    "NodeFiles",
    "PressureStats",
    "StatFile",
    "parse_diskstats",
    "parse_file_nr",
    "parse_loadavg",
    "parse_meminfo",
    "parse_net_dev",
    "parse_pressure",
    "parse_snmp",
    "parse_snmp6",
    "parse_sockstat",
    "parse_stat",
]

T = TypeVar("T")

CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
GUEST_MODES = ("user", "nice")  # /proc/stat's guest and guest_nice columns


def _fail(path: str, line: int, what: str) -> KernelToolkitParseError:
    return KernelToolkitParseError(
        f"cannot parse {path}: {what}",
        path=path,
        line=line,
        hint="the file is truncated or not from a Linux kernel; check the --root path",
    )


def _int(text: str, path: str, line: int) -> int:
    try:
        return int(text)
    except ValueError:
        raise _fail(path, line, f"expected an integer, got {text[:40]!r}") from None


@dataclass(frozen=True)
class CpuTimes:
    """Seconds spent per mode by one CPU (``cpu`` is ``None`` for the total)."""

    cpu: int | None
    seconds: dict[str, float]
    guest_seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StatFile:
    """What ``/proc/stat`` says: per-CPU times and the system counters."""

    cpus: list[CpuTimes]
    total: CpuTimes
    boot_time: int
    context_switches: int
    forks: int
    interrupts: int
    procs_running: int
    procs_blocked: int


def parse_stat(text: str, path: str = "/proc/stat", clock_ticks: int = 100) -> StatFile:
    """Parse ``/proc/stat``; times are converted from USER_HZ ticks to seconds."""
    cpus: list[CpuTimes] = []
    total: CpuTimes | None = None
    values: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        key = parts[0]
        if key.startswith("cpu"):
            if len(parts) < 5:
                raise _fail(path, number, "a cpu line has fewer than 4 fields")
            ticks = [_int(p, path, number) for p in parts[1 : 1 + len(CPU_MODES) + 2]]
            seconds = {mode: t / clock_ticks for mode, t in zip(CPU_MODES, ticks, strict=False)}
            guest = {
                mode: t / clock_ticks
                for mode, t in zip(GUEST_MODES, ticks[len(CPU_MODES) :], strict=False)
            }
            if key == "cpu":
                total = CpuTimes(None, seconds, guest)
            else:
                cpus.append(CpuTimes(_int(key[3:], path, number), seconds, guest))
        elif key in ("btime", "ctxt", "processes", "procs_running", "procs_blocked", "intr"):
            if len(parts) < 2:
                raise _fail(path, number, f"{key} has no value")
            values[key] = _int(parts[1], path, number)
    if total is None:
        raise _fail(path, 0, "no aggregate 'cpu' line")
    missing = {"btime", "ctxt", "processes"} - values.keys()
    if missing:
        raise _fail(path, 0, f"missing {', '.join(sorted(missing))}")
    return StatFile(
        cpus=cpus,
        total=total,
        boot_time=values["btime"],
        context_switches=values["ctxt"],
        forks=values["processes"],
        interrupts=values.get("intr", 0),
        procs_running=values.get("procs_running", 0),
        procs_blocked=values.get("procs_blocked", 0),
    )


_MEMINFO = re.compile(r"^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+(kB))?\s*$")


def parse_meminfo(text: str, path: str = "/proc/meminfo") -> dict[str, tuple[int, bool]]:
    """``/proc/meminfo`` as ``field -> (value, is_bytes)``; kB values become bytes."""
    result: dict[str, tuple[int, bool]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _MEMINFO.match(line)
        if match is None:
            raise _fail(path, number, f"unexpected line {line[:60]!r}")
        name, value, unit = match.groups()
        result[name] = (int(value) * 1024, True) if unit else (int(value), False)
    if "MemTotal" not in result:
        raise _fail(path, 0, "no MemTotal")
    return result


def parse_loadavg(text: str, path: str = "/proc/loadavg") -> tuple[float, float, float]:
    parts = text.split()
    if len(parts) < 3:
        raise _fail(path, 1, "fewer than three load averages")
    try:
        return float(parts[0]), float(parts[1]), float(parts[2])
    except ValueError:
        raise _fail(path, 1, "load averages are not numbers") from None


@dataclass(frozen=True)
class DiskStats:
    """One ``/proc/diskstats`` line, in node_exporter's units (bytes, seconds)."""

    device: str
    reads_completed: int
    reads_merged: int
    read_bytes: int
    read_seconds: float
    writes_completed: int
    writes_merged: int
    written_bytes: int
    write_seconds: float
    io_now: int
    io_seconds: float
    io_weighted_seconds: float
    discards_completed: int | None = None
    discards_merged: int | None = None
    discarded_sectors: int | None = None
    discard_seconds: float | None = None
    flush_requests: int | None = None
    flush_seconds: float | None = None


# node_exporter's default --collector.diskstats.device-exclude: partitions and RAM/loop devices.
DEFAULT_DISK_EXCLUDE = re.compile(r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$")
SECTOR = 512


def parse_diskstats(
    text: str, path: str = "/proc/diskstats", exclude: re.Pattern[str] | None = DEFAULT_DISK_EXCLUDE
) -> list[DiskStats]:
    disks = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 14:
            raise _fail(path, number, f"expected at least 14 fields, got {len(parts)}")
        device = parts[2]
        if exclude is not None and exclude.match(device):
            continue
        v = [_int(p, path, number) for p in parts[3:]]
        extra: dict[str, int | float] = {}
        if len(v) >= 15:
            extra = {
                "discards_completed": v[11],
                "discards_merged": v[12],
                "discarded_sectors": v[13],
                "discard_seconds": v[14] / 1000,
            }
        if len(v) >= 17:
            extra |= {"flush_requests": v[15], "flush_seconds": v[16] / 1000}
        disks.append(
            DiskStats(
                device,
                reads_completed=v[0],
                reads_merged=v[1],
                read_bytes=v[2] * SECTOR,
                read_seconds=v[3] / 1000,
                writes_completed=v[4],
                writes_merged=v[5],
                written_bytes=v[6] * SECTOR,
                write_seconds=v[7] / 1000,
                io_now=v[8],
                io_seconds=v[9] / 1000,
                io_weighted_seconds=v[10] / 1000,
                **extra,  # type: ignore[arg-type]  # keys are DiskStats fields
            )
        )
    return disks


NET_RECEIVE = ("bytes", "packets", "errs", "drop", "fifo", "frame", "compressed", "multicast")
NET_TRANSMIT = ("bytes", "packets", "errs", "drop", "fifo", "colls", "carrier", "compressed")


@dataclass(frozen=True)
class NetDevStats:
    device: str
    receive: dict[str, int]
    transmit: dict[str, int]


def parse_net_dev(text: str, path: str = "/proc/net/dev") -> list[NetDevStats]:
    lines = text.splitlines()
    if len(lines) < 2 or "|" not in lines[0]:
        raise _fail(path, 1, "missing the two header lines")
    devices = []
    for number, line in enumerate(lines[2:], 3):
        if not line.strip():
            continue
        name, sep, rest = line.partition(":")
        if not sep:
            raise _fail(path, number, "no ':' after the interface name")
        values = [_int(p, path, number) for p in rest.split()]
        if len(values) != 16:
            raise _fail(path, number, f"expected 16 counters, got {len(values)}")
        devices.append(
            NetDevStats(
                name.strip(),
                dict(zip(NET_RECEIVE, values[:8], strict=True)),
                dict(zip(NET_TRANSMIT, values[8:], strict=True)),
            )
        )
    return devices


def parse_snmp(text: str, path: str = "/proc/net/snmp") -> dict[str, int]:
    """``/proc/net/snmp`` or ``/proc/net/netstat`` as ``Proto_Field -> value``.

    The files alternate a header line and a value line per protocol.
    """
    result: dict[str, int] = {}
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) % 2:
        raise _fail(path, len(lines), "a header line has no value line")
    for index in range(0, len(lines), 2):
        header, values = lines[index].split(), lines[index + 1].split()
        if not header or header[0] != values[0] or not header[0].endswith(":"):
            raise _fail(path, index + 2, "header and value lines do not pair up")
        if len(header) != len(values):
            raise _fail(path, index + 2, "header and value lines differ in length")
        proto = header[0][:-1]
        for name, value in zip(header[1:], values[1:], strict=True):
            result[f"{proto}_{name}"] = _int(value, path, index + 2)
    return result


_SNMP6_PROTOS = ("UdpLite6", "Icmp6", "Udp6", "Ip6")


def parse_snmp6(text: str, path: str = "/proc/net/snmp6") -> dict[str, int]:
    """``/proc/net/snmp6`` (``Ip6InReceives 123`` per line) as ``Ip6_InReceives -> 123``."""
    result: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise _fail(path, number, "expected 'Name value'")
        name = parts[0]
        proto = next((p for p in _SNMP6_PROTOS if name.startswith(p)), None)
        key = f"{proto}_{name[len(proto) :]}" if proto else name
        result[key] = _int(parts[1], path, number)
    return result


def parse_sockstat(text: str, path: str = "/proc/net/sockstat") -> dict[str, dict[str, int]]:
    """``/proc/net/sockstat``: ``{"TCP": {"inuse": 11, ...}, "sockets": {"used": 38}}``."""
    result: dict[str, dict[str, int]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        proto, sep, rest = line.partition(":")
        parts = rest.split()
        if not sep or len(parts) % 2:
            raise _fail(path, number, "expected 'PROTO: key value ...'")
        result[proto] = {
            parts[i]: _int(parts[i + 1], path, number) for i in range(0, len(parts), 2)
        }
    return result


def parse_file_nr(text: str, path: str = "/proc/sys/fs/file-nr") -> tuple[int, int]:
    """``(allocated, maximum)`` file handles."""
    parts = text.split()
    if len(parts) != 3:
        raise _fail(path, 1, "expected three numbers")
    return _int(parts[0], path, 1), _int(parts[2], path, 1)


@dataclass(frozen=True)
class PressureStats:
    """PSI totals in seconds; ``full`` is ``None`` where the kernel has none (cpu on old kernels)."""

    some_seconds: float
    full_seconds: float | None
    some_avg10: float


def parse_pressure(text: str, path: str) -> PressureStats:
    totals: dict[str, float] = {}
    avg10: dict[str, float] = {}
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        kind = parts[0]
        fields = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if kind not in ("some", "full") or "total" not in fields:
            raise _fail(path, number, "expected 'some|full avg10=.. total=..'")
        totals[kind] = _int(fields["total"], path, number) / 1e6
        try:
            avg10[kind] = float(fields.get("avg10", "0"))
        except ValueError:
            raise _fail(path, number, "avg10 is not a number") from None
    if "some" not in totals:
        raise _fail(path, 0, "no 'some' line")
    return PressureStats(totals["some"], totals.get("full"), avg10["some"])


@dataclass
class NodeFiles:
    """Finds and parses the node's files under ``root`` (``/`` on a live system)."""

    root: Path = field(default_factory=lambda: Path("/"))
    clock_ticks: int = field(default_factory=lambda: os.sysconf("SC_CLK_TCK"))

    def path(self, relative: str) -> Path:
        return self.root / relative.lstrip("/")

    def read(self, relative: str) -> str | None:
        """The file's text, or ``None`` when this kernel does not provide it."""
        try:
            return self.path(relative).read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, NotADirectoryError):
            return None
        except PermissionError:
            return None
        except OSError as exc:
            raise KernelToolkitParseError(
                f"cannot read {relative}: {exc.strerror}", path=str(self.path(relative))
            ) from exc

    def _parsed(self, relative: str, parser: Callable[[str, str], T]) -> T | None:
        text = self.read(relative)
        return None if text is None else parser(text, str(self.path(relative)))

    def stat(self) -> StatFile | None:
        text = self.read("proc/stat")
        return (
            None
            if text is None
            else parse_stat(text, str(self.path("proc/stat")), self.clock_ticks)
        )

    def meminfo(self) -> dict[str, tuple[int, bool]] | None:
        return self._parsed("proc/meminfo", parse_meminfo)

    def loadavg(self) -> tuple[float, float, float] | None:
        return self._parsed("proc/loadavg", parse_loadavg)

    def diskstats(self) -> list[DiskStats] | None:
        return self._parsed("proc/diskstats", parse_diskstats)

    def net_dev(self) -> list[NetDevStats] | None:
        return self._parsed("proc/net/dev", parse_net_dev)

    def snmp(self) -> dict[str, int] | None:
        parts = [
            self._parsed("proc/net/snmp", parse_snmp),
            self._parsed("proc/net/netstat", parse_snmp),
            self._parsed("proc/net/snmp6", parse_snmp6),
        ]
        if all(part is None for part in parts):
            return None
        return {k: v for part in parts if part for k, v in part.items()}

    def sockstat(self) -> dict[str, dict[str, int]] | None:
        return self._parsed("proc/net/sockstat", parse_sockstat)

    def file_nr(self) -> tuple[int, int] | None:
        return self._parsed("proc/sys/fs/file-nr", parse_file_nr)

    def conntrack(self) -> tuple[int, int] | None:
        count = self.read("proc/sys/net/netfilter/nf_conntrack_count")
        limit = self.read("proc/sys/net/netfilter/nf_conntrack_max")
        if count is None or limit is None:
            return None
        where = str(self.path("proc/sys/net/netfilter/nf_conntrack_count"))
        return _int(count.strip(), where, 1), _int(limit.strip(), where, 1)

    def pressure(self) -> dict[str, PressureStats]:
        result = {}
        for resource in ("cpu", "io", "memory"):
            parsed = self._parsed(f"proc/pressure/{resource}", parse_pressure)
            if parsed is not None:
                result[resource] = parsed
        return result

    def hwmon_temperatures(self) -> list[tuple[str, str, float]]:
        """``(chip, sensor, celsius)`` for every ``temp*_input`` under /sys/class/hwmon."""
        base = self.path("sys/class/hwmon")
        found: list[tuple[str, str, float]] = []
        if not base.is_dir():
            return found
        for chip_dir in sorted(base.iterdir()):
            name = (self.read(f"sys/class/hwmon/{chip_dir.name}/name") or chip_dir.name).strip()
            for sensor in sorted(chip_dir.glob("temp*_input")):
                text = sensor.read_text().strip()
                found.append(
                    (name, sensor.name.removesuffix("_input"), _int(text, str(sensor), 1) / 1000)
                )
        return found

    def thermal_zones(self) -> list[tuple[str, str, float]]:
        """``(zone, type, celsius)`` for every /sys/class/thermal/thermal_zone*."""
        base = self.path("sys/class/thermal")
        found: list[tuple[str, str, float]] = []
        if not base.is_dir():
            return found
        for zone in sorted(base.glob("thermal_zone*")):
            temp = self.read(f"sys/class/thermal/{zone.name}/temp")
            if temp is None:
                continue
            kind = (self.read(f"sys/class/thermal/{zone.name}/type") or "unknown").strip()
            found.append(
                (
                    zone.name.removeprefix("thermal_zone"),
                    kind,
                    _int(temp.strip(), str(zone), 1) / 1000,
                )
            )
        return found

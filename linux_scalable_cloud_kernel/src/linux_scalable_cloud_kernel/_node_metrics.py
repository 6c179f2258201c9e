"""Node metrics with node_exporter's names, as Prometheus families or JSON.

One scrape reads every file once through :class:`NodeFiles` and yields
:class:`Sample` rows; the same rows become the Prometheus exposition (a
custom collector, so the registry never holds stale values), the ``--json``
dump, and, given two scrapes, per-second rates for counters.  Names and
labels follow node_exporter where the families overlap (``node_cpu_seconds_total``,
``node_memory_MemTotal_bytes``, ``node_network_receive_bytes_total``...), so
existing dashboards work unchanged.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from linux_scalable_cloud_kernel._procfs import CPU_MODES, NodeFiles
from linux_scalable_cloud_kernel._rules import read_module_rules

__all__ = [
    "NETSTAT_DEFAULT_FIELDS",
    "NodeCollector",
    "Sample",
    "Scrape",
    "rates",
    "scrape",
]

Kind = Literal["counter", "gauge"]

# node_exporter's default --collector.netstat.fields.
NETSTAT_DEFAULT_FIELDS = re.compile(
    r"^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)"
    r"|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)"
    r"|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)"
    r"|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$"
)
_MEMINFO_NAME = re.compile(r"[()]")


@dataclass(frozen=True)
class Sample:
    """One value of one metric family."""

    name: str
    kind: Kind
    help: str
    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass
class Scrape:
    """Every sample of one scrape and when it was taken (monotonic seconds)."""

    samples: list[Sample]
    taken_at: float
    families_missing: list[str] = field(default_factory=list)

    def families(self) -> dict[str, list[Sample]]:
        grouped: dict[str, list[Sample]] = {}
        for sample in self.samples:
            grouped.setdefault(sample.name, []).append(sample)
        return grouped

    def to_json(self) -> dict[str, object]:
        return {
            "families": {
                name: [{"labels": dict(s.labels), "value": s.value} for s in rows]
                for name, rows in self.families().items()
            },
            "missing": self.families_missing,
        }


class _Builder:
    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.missing: list[str] = []

    def add(self, name: str, kind: Kind, help_text: str, value: float, **labels: str) -> None:
        self.samples.append(Sample(name, kind, help_text, tuple(labels.items()), float(value)))


def _cpu(files: NodeFiles, out: _Builder) -> None:
    stat = files.stat()
    if stat is None:
        out.missing.append("cpu")
        return
    for cpu in stat.cpus:
        for mode in CPU_MODES:
            if mode in cpu.seconds:
                out.add(
                    "node_cpu_seconds_total",
                    "counter",
                    "Seconds the CPUs spent in each mode.",
                    cpu.seconds[mode],
                    cpu=str(cpu.cpu),
                    mode=mode,
                )
    for cpu in stat.cpus:
        for mode, value in cpu.guest_seconds.items():
            out.add(
                "node_cpu_guest_seconds_total",
                "counter",
                "Seconds the CPUs spent in guests (VMs) for each mode.",
                value,
                cpu=str(cpu.cpu),
                mode=mode,
            )
    out.add("node_boot_time_seconds", "gauge", "Node boot time, in unixtime.", stat.boot_time)
    out.add(
        "node_context_switches_total",
        "counter",
        "Total number of context switches.",
        stat.context_switches,
    )
    out.add("node_forks_total", "counter", "Total number of forks.", stat.forks)
    out.add("node_intr_total", "counter", "Total number of interrupts serviced.", stat.interrupts)
    out.add(
        "node_procs_running", "gauge", "Number of processes in runnable state.", stat.procs_running
    )
    out.add(
        "node_procs_blocked",
        "gauge",
        "Number of processes blocked waiting for I/O to complete.",
        stat.procs_blocked,
    )


def _memory(files: NodeFiles, out: _Builder) -> None:
    meminfo = files.meminfo()
    if meminfo is None:
        out.missing.append("meminfo")
        return
    for field_name, (value, is_bytes) in meminfo.items():
        base = _MEMINFO_NAME.sub("_", field_name).rstrip("_")
        name = f"node_memory_{base}_bytes" if is_bytes else f"node_memory_{base}"
        out.add(name, "gauge", f"Memory information field {base}.", value)


def _load(files: NodeFiles, out: _Builder) -> None:
    load = files.loadavg()
    if load is None:
        out.missing.append("loadavg")
        return
    for minutes, value in zip((1, 5, 15), load, strict=True):
        out.add(f"node_load{minutes}", "gauge", f"{minutes}m load average.", value)


_DISK_FIELDS: tuple[tuple[str, str, Kind, str], ...] = (
    (
        "reads_completed",
        "node_disk_reads_completed_total",
        "counter",
        "The total number of reads completed successfully.",
    ),
    (
        "reads_merged",
        "node_disk_reads_merged_total",
        "counter",
        "The total number of reads merged.",
    ),
    (
        "read_bytes",
        "node_disk_read_bytes_total",
        "counter",
        "The total number of bytes read successfully.",
    ),
    (
        "read_seconds",
        "node_disk_read_time_seconds_total",
        "counter",
        "The total number of seconds spent by all reads.",
    ),
    (
        "writes_completed",
        "node_disk_writes_completed_total",
        "counter",
        "The total number of writes completed successfully.",
    ),
    ("writes_merged", "node_disk_writes_merged_total", "counter", "The number of writes merged."),
    (
        "written_bytes",
        "node_disk_written_bytes_total",
        "counter",
        "The total number of bytes written successfully.",
    ),
    (
        "write_seconds",
        "node_disk_write_time_seconds_total",
        "counter",
        "This is the total number of seconds spent by all writes.",
    ),
    ("io_now", "node_disk_io_now", "gauge", "The number of I/Os currently in progress."),
    ("io_seconds", "node_disk_io_time_seconds_total", "counter", "Total seconds spent doing I/Os."),
    (
        "io_weighted_seconds",
        "node_disk_io_time_weighted_seconds_total",
        "counter",
        "The weighted # of seconds spent doing I/Os.",
    ),
    (
        "discards_completed",
        "node_disk_discards_completed_total",
        "counter",
        "The total number of discards completed successfully.",
    ),
    (
        "discards_merged",
        "node_disk_discards_merged_total",
        "counter",
        "The total number of discards merged.",
    ),
    (
        "discarded_sectors",
        "node_disk_discarded_sectors_total",
        "counter",
        "The total number of sectors discarded successfully.",
    ),
    (
        "discard_seconds",
        "node_disk_discard_time_seconds_total",
        "counter",
        "This is the total number of seconds spent by all discards.",
    ),
    (
        "flush_requests",
        "node_disk_flush_requests_total",
        "counter",
        "The total number of flush requests completed successfully.",
    ),
    (
        "flush_seconds",
        "node_disk_flush_requests_time_seconds_total",
        "counter",
        "This is the total number of seconds spent by all flush requests.",
    ),
)


def _disks(files: NodeFiles, out: _Builder) -> None:
    disks = files.diskstats()
    if disks is None:
        out.missing.append("diskstats")
        return
    for disk in disks:
        for attr, name, kind, help_text in _DISK_FIELDS:
            value = getattr(disk, attr)
            if value is not None:
                out.add(name, kind, help_text, value, device=disk.device)


def _network(files: NodeFiles, out: _Builder) -> None:
    devices = files.net_dev()
    if devices is None:
        out.missing.append("netdev")
    else:
        for dev in devices:
            for direction, counters in (("receive", dev.receive), ("transmit", dev.transmit)):
                for key, value in counters.items():
                    out.add(
                        f"node_network_{direction}_{key}_total",
                        "counter",
                        f"Network device statistic {direction}_{key}.",
                        value,
                        device=dev.device,
                    )
    snmp = files.snmp()
    if snmp is None:
        out.missing.append("netstat")
    else:
        for key, value in snmp.items():
            if NETSTAT_DEFAULT_FIELDS.match(key):
                out.add(f"node_netstat_{key}", "gauge", f"Statistic {key}.", value)
    sockstat = files.sockstat()
    if sockstat is None:
        out.missing.append("sockstat")
        return
    page_size = 4096
    for proto, values in sockstat.items():
        for key, value in values.items():
            if proto == "sockets":
                out.add(
                    f"node_sockstat_sockets_{key}",
                    "gauge",
                    f"Number of IPv4 sockets in state {key}.",
                    value,
                )
                continue
            out.add(
                f"node_sockstat_{proto}_{key}",
                "gauge",
                f"Number of {proto} sockets in state {key}.",
                value,
            )
            if key == "mem":
                out.add(
                    f"node_sockstat_{proto}_mem_bytes",
                    "gauge",
                    f"Bytes of memory used by {proto} sockets.",
                    value * page_size,
                )


def _kernel_tables(files: NodeFiles, out: _Builder) -> None:
    file_nr = files.file_nr()
    if file_nr is None:
        out.missing.append("filefd")
    else:
        out.add(
            "node_filefd_allocated", "gauge", "File descriptor statistics: allocated.", file_nr[0]
        )
        out.add("node_filefd_maximum", "gauge", "File descriptor statistics: maximum.", file_nr[1])
    conntrack = files.conntrack()
    if conntrack is None:
        out.missing.append("conntrack")
    else:
        out.add(
            "node_nf_conntrack_entries",
            "gauge",
            "Number of currently allocated flow entries for connection tracking.",
            conntrack[0],
        )
        out.add(
            "node_nf_conntrack_entries_limit",
            "gauge",
            "Maximum size of connection tracking table.",
            conntrack[1],
        )


def _pressure(files: NodeFiles, out: _Builder) -> None:
    pressure = files.pressure()
    if not pressure:
        out.missing.append("pressure")
        return
    for resource, stats in pressure.items():
        if resource == "cpu":
            out.add(
                "node_pressure_cpu_waiting_seconds_total",
                "counter",
                "Total time in seconds that processes have waited for CPU time.",
                stats.some_seconds,
            )
            continue
        out.add(
            f"node_pressure_{resource}_waiting_seconds_total",
            "counter",
            f"Total time in seconds that processes have waited for {resource}.",
            stats.some_seconds,
        )
        if stats.full_seconds is not None:
            out.add(
                f"node_pressure_{resource}_stalled_seconds_total",
                "counter",
                f"Total time in seconds no process could make progress due to {resource} congestion.",
                stats.full_seconds,
            )


def _thermal(files: NodeFiles, out: _Builder) -> None:
    for chip, sensor, celsius in files.hwmon_temperatures():
        out.add(
            "node_hwmon_temp_celsius",
            "gauge",
            "Hardware monitor for temperature (input).",
            celsius,
            chip=chip,
            sensor=sensor,
        )
    for zone, kind, celsius in files.thermal_zones():
        out.add(
            "node_thermal_zone_temp",
            "gauge",
            "Zone temperature in Celsius.",
            celsius,
            type=kind,
            zone=zone,
        )


def _blocklist(files: NodeFiles, out: _Builder) -> None:
    """The lsck module's per-rule counters, when the module is loaded."""
    path = files.path("proc/lsck/rules")
    if not path.exists():
        return
    for row in read_module_rules(path):
        rule = str(row["rule"])
        out.add(
            "lsck_rule_hits_total",
            "counter",
            "Packets dropped by a blocklist rule.",
            float(str(row["hits"])),
            rule=rule,
        )
        out.add(
            "lsck_rule_bytes_total",
            "counter",
            "Bytes dropped by a blocklist rule.",
            float(str(row["bytes"])),
            rule=rule,
        )


_COLLECTORS = (
    _cpu,
    _memory,
    _load,
    _disks,
    _network,
    _kernel_tables,
    _pressure,
    _thermal,
    _blocklist,
)


def scrape(files: NodeFiles | None = None) -> Scrape:
    """Read every source once and return all samples."""
    source = files if files is not None else NodeFiles()
    out = _Builder()
    for collect in _COLLECTORS:
        collect(source, out)
    return Scrape(out.samples, time.monotonic(), out.missing)


def rates(before: Scrape, after: Scrape) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Per-second rates of every counter present in both scrapes.

    A counter that went backwards (a device reset, a reboot between scrapes)
    yields no rate rather than a negative one, as Prometheus' ``rate()`` does.
    """
    elapsed = after.taken_at - before.taken_at
    if elapsed <= 0:
        return {}
    previous = {(s.name, s.labels): s.value for s in before.samples if s.kind == "counter"}
    result = {}
    for sample in after.samples:
        if sample.kind != "counter":
            continue
        key = (sample.name, sample.labels)
        if key in previous and sample.value >= previous[key]:
            result[key] = (sample.value - previous[key]) / elapsed
    return result


class NodeCollector(Collector):
    """A prometheus-client collector that scrapes the node on every collection."""

    def __init__(self, files: NodeFiles | None = None) -> None:
        self.files = files if files is not None else NodeFiles()

    def collect(self) -> Iterator[Metric]:
        yield from _families(scrape(self.files).samples)

    def describe(self) -> Iterable[Metric]:
        return ()


def _families(samples: list[Sample]) -> Iterator[Metric]:
    grouped: dict[str, list[Sample]] = {}
    for sample in samples:
        grouped.setdefault(sample.name, []).append(sample)
    for name, rows in grouped.items():
        label_names = [k for k, _ in rows[0].labels]
        family: CounterMetricFamily | GaugeMetricFamily
        if rows[0].kind == "counter":
            family = CounterMetricFamily(
                name.removesuffix("_total"), rows[0].help, labels=label_names
            )
        else:
            family = GaugeMetricFamily(name, rows[0].help, labels=label_names)
        for row in rows:
            family.add_metric([v for _, v in row.labels], row.value)
        yield family

"""The text of ``lsck top``: the rates that matter on one screen."""

from __future__ import annotations

from linux_scalable_cloud_kernel._node_metrics import Sample, Scrape

__all__ = ["render_top"]

RateKey = tuple[str, tuple[tuple[str, str], ...]]


def _sum_rates(rates: dict[RateKey, float], name: str, **match: str) -> float:
    return sum(
        value
        for (metric, labels), value in rates.items()
        if metric == name and all(dict(labels).get(k) == v for k, v in match.items())
    )


def _gauge(samples: list[Sample], name: str) -> float | None:
    return next((s.value for s in samples if s.name == name), None)


def _human_bytes(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024:
            return f"{value:6.1f} {unit}"
        value /= 1024
    return f"{value:6.1f} PiB"


def render_top(current: Scrape, rates: dict[RateKey, float]) -> str:
    """One screen: CPU busy share, load, memory, disk and network throughput, PSI."""
    cpu_total = _sum_rates(rates, "node_cpu_seconds_total")
    idle = _sum_rates(rates, "node_cpu_seconds_total", mode="idle") + _sum_rates(
        rates, "node_cpu_seconds_total", mode="iowait"
    )
    busy = 100.0 * (1 - idle / cpu_total) if cpu_total > 0 else 0.0
    total = _gauge(current.samples, "node_memory_MemTotal_bytes") or 0.0
    available = _gauge(current.samples, "node_memory_MemAvailable_bytes") or 0.0
    load1 = _gauge(current.samples, "node_load1") or 0.0
    lines = [
        f"cpu busy   {busy:5.1f} %    load1 {load1:.2f}",
        f"memory     {_human_bytes(total - available)} used of {_human_bytes(total)}",
        f"disk       read {_human_bytes(_sum_rates(rates, 'node_disk_read_bytes_total'))}/s"
        f"   write {_human_bytes(_sum_rates(rates, 'node_disk_written_bytes_total'))}/s",
        f"network    rx {_human_bytes(_sum_rates(rates, 'node_network_receive_bytes_total'))}/s"
        f"   tx {_human_bytes(_sum_rates(rates, 'node_network_transmit_bytes_total'))}/s",
    ]
    psi = [
        f"{resource} {100 * _sum_rates(rates, f'node_pressure_{resource}_waiting_seconds_total'):5.1f} %"
        for resource in ("cpu", "io", "memory")
        if any(k[0] == f"node_pressure_{resource}_waiting_seconds_total" for k in rates)
    ]
    if psi:
        lines.append("pressure   " + "   ".join(psi))
    return "\n".join(lines)

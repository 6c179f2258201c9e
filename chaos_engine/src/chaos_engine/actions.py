"""The engine's own fault actions and probes, for experiments' ``python`` providers.

Use them with ``"module": "chaos_engine.actions"``.  Each fault returns a
mapping with the ``undo`` token of what it did; ``revert`` undoes one, and
the runner undoes every fault left when the run ends.  What a fault may
touch comes from the experiment's configuration key ``chaos_engine_allow``::

    "configuration": {"chaos_engine_allow": {
        "pids": [1234], "process_patterns": ["my-service"], "host_interfaces": false}}

Process faults refuse every target not listed there when the key is given,
and always refuse pid 1 and the engine itself; network faults only act
inside namespaces the engine created unless ``host_interfaces`` is true.
"""

from __future__ import annotations

from typing import Any

from chaos_engine import host
from chaos_engine.errors import ChaosFaultRefusedError

__all__ = [
    "continue_process",
    "cpu_quota",
    "create_lab",
    "freeze",
    "heal",
    "kill_process",
    "limit_bandwidth",
    "packet_loss",
    "partition",
    "pending_faults",
    "revert",
    "revert_all",
    "stop_process",
    "stress_cpu",
    "stress_disk",
    "stress_memory",
    "udp_delivery",
]


def _allow(configuration: dict[str, Any] | None) -> dict[str, Any]:
    allow = (configuration or {}).get("chaos_engine_allow") or {}
    if not isinstance(allow, dict):
        raise ChaosFaultRefusedError("configuration.chaos_engine_allow must be a mapping")
    return allow


def _targets(configuration: dict[str, Any] | None) -> dict[str, Any]:
    allow = _allow(configuration)
    if "pids" not in allow and "process_patterns" not in allow:
        return {"allowed_pids": None, "allowed_patterns": None}
    return {
        "allowed_pids": list(allow.get("pids") or []),
        "allowed_patterns": list(allow.get("process_patterns") or []),
    }


def _pids(pid: int | None, pattern: str | None, configuration: dict[str, Any] | None) -> list[int]:
    if (pid is None) == (pattern is None):
        raise ChaosFaultRefusedError("give exactly one of pid or pattern")
    pids = [int(pid)] if pid is not None else host.find_processes(str(pattern))
    host.check_targets(pids, **_targets(configuration))
    return pids


def create_lab(name: str, hosts: list[str], subnet: str = "10.231.0.0/24") -> dict[str, Any]:
    """Network namespaces for ``hosts`` on one bridge; removed when the run ends."""
    lab = host.create_lab(name, list(hosts), subnet)
    return {"lab": lab.name, "hosts": dict(lab.hosts), "undo": lab.token}


def packet_loss(
    lab: str, host_name: str, percent: float, direction: str = "both"
) -> dict[str, Any]:
    """Drop ``percent`` of a lab host's packets with nftables."""
    return {"undo": host.packet_loss(lab, host_name, float(percent), direction)}


def partition(lab: str, host_name: str, others: list[str] | None = None) -> dict[str, Any]:
    """Cut a lab host off from the others (or from ``others``)."""
    return {"undo": host.partition(lab, host_name, others)}


def limit_bandwidth(
    rate: str,
    lab: str | None = None,
    host_name: str | None = None,
    interface: str = "eth0",
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A tc tbf bandwidth cap on a lab host (or, when allowed, a host interface)."""
    allowed = bool(_allow(configuration).get("host_interfaces", False))
    return {
        "undo": host.limit_bandwidth(
            lab, host_name, rate, interface=interface, allow_host_interfaces=allowed
        )
    }


def kill_process(
    pid: int | None = None, pattern: str | None = None, configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    """SIGKILL the targets (irreversible)."""
    return {"pids": host.signal_processes("kill", pid, pattern, **_targets(configuration))}


def stop_process(
    pid: int | None = None, pattern: str | None = None, configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    """SIGSTOP the targets; they get SIGCONT when reverted."""
    return {"pids": host.signal_processes("stop", pid, pattern, **_targets(configuration))}


def continue_process(
    pid: int | None = None, pattern: str | None = None, configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    """SIGCONT the targets."""
    return {"pids": host.signal_processes("continue", pid, pattern, **_targets(configuration))}


def cpu_quota(
    percent: float,
    pid: int | None = None,
    pattern: str | None = None,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Cap the targets to ``percent`` of a CPU with a cgroup."""
    pids = _pids(pid, pattern, configuration)
    return {"pids": pids, "undo": host.cpu_quota(pids, float(percent))}


def freeze(
    pid: int | None = None, pattern: str | None = None, configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Freeze the targets with a cgroup freezer (thawed when reverted)."""
    pids = _pids(pid, pattern, configuration)
    return {"pids": pids, "undo": host.freeze(pids)}


def stress_cpu(workers: int = 1, seconds: float = 10) -> dict[str, Any]:
    """Busy ``workers`` CPUs for ``seconds``."""
    return {"undo": host.stress_cpu(int(workers), float(seconds))}


def stress_memory(size_bytes: int, seconds: float = 10) -> dict[str, Any]:
    """Hold ``size_bytes`` of memory for ``seconds``."""
    return {"undo": host.stress_memory(int(size_bytes), float(seconds))}


def stress_disk(directory: str, size_bytes: int) -> dict[str, Any]:
    """Fill ``directory`` with ``size_bytes`` (the file is removed when reverted)."""
    return {"undo": host.stress_disk(directory, int(size_bytes))}


def udp_delivery(lab: str, source: str, target: str, count: int = 1000) -> float:
    """Probe: the share of UDP datagrams from ``source`` that reach ``target``."""
    return host.udp_delivery(lab, source, target, int(count))


def revert(undo: int) -> dict[str, Any]:
    """Undo one fault by its token (a rollback)."""
    record = host.UNDO.undo(int(undo))
    return (
        record.to_dict()
        if record is not None
        else {"undone": False, "reason": "nothing pending with that token"}
    )


def heal(lab: str) -> list[dict[str, Any]]:
    """Undo every network fault (loss, partition, bandwidth) on a lab's hosts, keeping the lab (a rollback)."""
    marker = f"{host.PREFIX}{lab}-"

    def on_lab(description: str) -> bool:
        return marker in description and not description.startswith(f"lab {lab}:")

    return [r.to_dict() for r in host.UNDO.undo_matching(on_lab)]


def revert_all() -> list[dict[str, Any]]:
    """Undo every pending fault, newest first (a rollback)."""
    return [r.to_dict() for r in host.UNDO.undo_all()]


def pending_faults() -> list[str]:
    """Probe: the faults in force now."""
    return host.UNDO.pending()

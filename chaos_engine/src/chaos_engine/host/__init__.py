"""Host faults on Linux that always roll back: network (namespaces, nftables, tc), processes, cgroups, stress.

Every fault registers its undo in :data:`UNDO` before it acts and returns
the undo's token; :func:`UNDO.undo` reverts one, and the experiment runner
reverts whatever is left when a run ends, however it ends (SIGTERM and
SIGINT included).  Faults need root; each refuses targets outside what it
was allowed, with :class:`~chaos_engine.errors.ChaosFaultRefusedError`.
"""

from chaos_engine.host._cgroup import CGROUP_PREFIX, cpu_quota, freeze, list_engine_cgroups
from chaos_engine.host._network import (
    PREFIX,
    Lab,
    create_lab,
    limit_bandwidth,
    list_engine_namespaces,
    packet_loss,
    partition,
)
from chaos_engine.host._probe import udp_delivery
from chaos_engine.host._process import check_targets, find_processes, signal_processes
from chaos_engine.host._run import is_root
from chaos_engine.host._stress import MAX_SECONDS, stress_cpu, stress_disk, stress_memory
from chaos_engine.host._undo import UNDO, UndoRecord, UndoRegistry, undo_on_signals

__all__ = [
    "CGROUP_PREFIX",
    "MAX_SECONDS",
    "PREFIX",
    "UNDO",
    "Lab",
    "UndoRecord",
    "UndoRegistry",
    "check_targets",
    "cpu_quota",
    "create_lab",
    "find_processes",
    "freeze",
    "is_root",
    "limit_bandwidth",
    "list_engine_cgroups",
    "list_engine_namespaces",
    "packet_loss",
    "partition",
    "signal_processes",
    "stress_cpu",
    "stress_disk",
    "stress_memory",
    "udp_delivery",
    "undo_on_signals",
]

"""A kernel module for source-address blocklists and the userspace toolkit around it.

This package is the userspace half: node metrics from ``/proc`` and ``/sys``
with node_exporter's names (Prometheus text, JSON, an HTTP endpoint, a live
view).  Every reader takes a root path so it runs on fixture trees as on ``/``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("linux_scalable_cloud_kernel")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from linux_scalable_cloud_kernel._cgroup import (
    LIMIT_FILES,
    CgroupError,
    CgroupTree,
    find_cgroup2_mount,
)
from linux_scalable_cloud_kernel._node_metrics import (
    NETSTAT_DEFAULT_FIELDS,
    NodeCollector,
    Sample,
    Scrape,
    rates,
    scrape,
)
from linux_scalable_cloud_kernel._procfs import (
    CPU_MODES,
    CpuTimes,
    DiskStats,
    NetDevStats,
    NodeFiles,
    PressureStats,
    StatFile,
    parse_diskstats,
    parse_file_nr,
    parse_loadavg,
    parse_meminfo,
    parse_net_dev,
    parse_pressure,
    parse_snmp,
    parse_snmp6,
    parse_sockstat,
    parse_stat,
)
from linux_scalable_cloud_kernel._rules import (
    NFT_TABLE,
    EnforcementError,
    Rule,
    apply_nftables,
    normalise_rules,
    parse_rules,
    push_to_module,
    read_module_rules,
    render_module_batch,
    render_nftables,
)
from linux_scalable_cloud_kernel._serve import parse_listen_address, serve_metrics
from linux_scalable_cloud_kernel._top import render_top
from linux_scalable_cloud_kernel._tuning import (
    Profile,
    ProfileChange,
    Setting,
    TuningError,
    list_profiles,
    load_profile,
    rollback,
)
from linux_scalable_cloud_kernel.config import KernelToolkitSettings
from linux_scalable_cloud_kernel.errors import (
    KernelToolkitError,
    KernelToolkitInputError,
    KernelToolkitParseError,
)

__all__ = [
    "CPU_MODES",
    "LIMIT_FILES",
    "NETSTAT_DEFAULT_FIELDS",
    "NFT_TABLE",
    "CgroupError",
    "CgroupTree",
    "CpuTimes",
    "DiskStats",
    "EnforcementError",
    "KernelToolkitError",
    "KernelToolkitInputError",
    "KernelToolkitParseError",
    "KernelToolkitSettings",
    "NetDevStats",
    "NodeCollector",
    "NodeFiles",
    "PressureStats",
    "Profile",
    "ProfileChange",
    "Rule",
    "Sample",
    "Scrape",
    "Setting",
    "StatFile",
    "TuningError",
    "__version__",
    "apply_nftables",
    "find_cgroup2_mount",
    "list_profiles",
    "load_profile",
    "normalise_rules",
    "parse_diskstats",
    "parse_file_nr",
    "parse_listen_address",
    "parse_loadavg",
    "parse_meminfo",
    "parse_net_dev",
    "parse_pressure",
    "parse_rules",
    "parse_snmp",
    "parse_snmp6",
    "parse_sockstat",
    "parse_stat",
    "push_to_module",
    "rates",
    "read_module_rules",
    "render_module_batch",
    "render_nftables",
    "render_top",
    "rollback",
    "scrape",
    "serve_metrics",
]

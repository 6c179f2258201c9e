"""Network faults inside network namespaces the engine creates: loss, partitions, bandwidth.

A *lab* is a set of namespaces (``ce-<lab>-<host>``), each joined by a veth
pair to a bridge in a hub namespace (``ce-<lab>-hub``), with addresses
``10.231.<n>.<i>/24``.  Loss and partitions are nftables rules in a table
of their own inside a host's namespace; bandwidth limits are tc ``tbf``
qdiscs on a host's interface.  Every fault registers its undo before it
acts.  Rules on the machine's own interfaces (outside the engine's
namespaces) are refused unless explicitly allowed.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import re
import threading
from dataclasses import dataclass, field

from chaos_engine.errors import ChaosFaultError, ChaosFaultRefusedError
from chaos_engine.host._run import need_root, run_tool
from chaos_engine.host._undo import UNDO

__all__ = [
    "PREFIX",
    "Lab",
    "create_lab",
    "limit_bandwidth",
    "list_engine_namespaces",
    "packet_loss",
    "partition",
]

PREFIX = "ce-"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,8}$")
_lock = threading.Lock()
_labs: dict[str, Lab] = {}
_tables = itertools.count(1)


@dataclass
class Lab:
    """Namespaces the engine made, their addresses and the undo that removes them."""

    name: str
    subnet: str
    hosts: dict[str, str] = field(default_factory=dict)  # host -> address
    token: int = 0

    def namespace(self, host: str) -> str:
        if host not in self.hosts:
            raise ChaosFaultRefusedError(
                f"host {host!r} is not part of lab {self.name!r}", hosts=sorted(self.hosts)
            )
        return f"{PREFIX}{self.name}-{host}"

    @property
    def hub(self) -> str:
        return f"{PREFIX}{self.name}-hub"

    def destroy(self) -> None:
        """Remove the lab now (its registered undo)."""
        UNDO.undo(self.token)


def list_engine_namespaces() -> list[str]:
    """Network namespaces whose name says the engine made them."""
    out = run_tool("ip", "netns", "list", check=False)
    return sorted(line.split()[0] for line in out.splitlines() if line.startswith(PREFIX))


def _delete_lab(lab: Lab) -> None:
    errors = []
    for ns in [lab.namespace(h) for h in lab.hosts] + [lab.hub]:
        try:
            run_tool("ip", "netns", "del", ns, check=False)
        except ChaosFaultError as exc:  # pragma: no cover - ip vanished
            errors.append(str(exc))
    with _lock:
        _labs.pop(lab.name, None)
    if errors:
        raise ChaosFaultError("; ".join(errors))


def create_lab(name: str, hosts: list[str], subnet: str = "10.231.0.0/24") -> Lab:
    """Create namespaces for ``hosts`` on one bridged subnet; undone with everything else."""
    need_root("creating network namespaces")
    if not _NAME.match(name) or any(not _NAME.match(h) or h == "hub" for h in hosts) or not hosts:
        raise ChaosFaultRefusedError(
            "lab and host names are 1-9 lowercase letters, digits or dashes ('hub' is reserved)",
            lab=name,
            hosts=hosts,
        )
    net = ipaddress.ip_network(subnet)
    if not net.is_private or net.num_addresses < len(hosts) + 2:
        raise ChaosFaultRefusedError(f"subnet {subnet} must be private and hold {len(hosts)} hosts")
    with _lock:
        if name in _labs:
            raise ChaosFaultRefusedError(f"lab {name!r} exists already")
        lab = Lab(name, subnet)
        _labs[name] = lab
    addresses = list(net.hosts())
    lab.hosts = {h: str(addresses[i]) for i, h in enumerate(hosts)}
    lab.token = UNDO.register(
        f"lab {name}: namespaces {', '.join(hosts)}", lambda: _delete_lab(lab)
    )
    try:
        run_tool("ip", "netns", "add", lab.hub)
        run_tool("ip", "link", "add", "br0", "type", "bridge", namespace=lab.hub)
        run_tool("ip", "link", "set", "br0", "up", namespace=lab.hub)
        for i, host in enumerate(hosts):
            ns = lab.namespace(host)
            run_tool("ip", "netns", "add", ns)
            run_tool("ip", "link", "set", "lo", "up", namespace=ns)
            peer = f"ceh{i}"
            run_tool(
                "ip", "link", "add", "eth0", "type", "veth", "peer", "name", peer, namespace=ns
            )
            run_tool("ip", "link", "set", peer, "netns", lab.hub, namespace=ns)
            run_tool("ip", "link", "set", peer, "master", "br0", namespace=lab.hub)
            run_tool("ip", "link", "set", peer, "up", namespace=lab.hub)
            run_tool(
                "ip",
                "addr",
                "add",
                f"{lab.hosts[host]}/{net.prefixlen}",
                "dev",
                "eth0",
                namespace=ns,
            )
            run_tool("ip", "link", "set", "eth0", "up", namespace=ns)
    except BaseException:
        UNDO.undo(lab.token)
        raise
    return lab


def _lab(name: str) -> Lab:
    with _lock:
        lab = _labs.get(name)
    if lab is None:
        raise ChaosFaultRefusedError(
            f"no lab {name!r}: faults only apply inside namespaces the engine created",
            hint="create it first with create_lab",
        )
    return lab


def _chain(hook: str, rules: list[str]) -> str:
    body = "".join(f"    {rule}\n" for rule in rules)
    return f"  chain {hook} {{ type filter hook {hook} priority -10; policy accept;\n{body}  }}\n"


def _table(namespace: str, description: str, inbound: list[str], outbound: list[str]) -> int:
    """Add an nft table holding ``inbound``/``outbound`` rules in ``namespace``; returns the undo token."""
    table = f"chaos_engine_{os.getpid()}_{next(_tables)}"
    token = UNDO.register(
        f"{description} (nft table {table} in {namespace})",
        lambda: run_tool("nft", "delete", "table", "inet", table, namespace=namespace),
    )
    script = f"table inet {table} {{\n{_chain('input', inbound)}{_chain('output', outbound)}}}\n"
    try:
        run_tool("nft", "-f", "-", namespace=namespace, stdin=script)
    except BaseException:
        UNDO.discard(token)
        raise
    return token


def packet_loss(
    lab: str, host: str, percent: float, direction: str = "both", distribution: str = "random"
) -> int:
    """Drop ``percent`` of the packets a lab host receives/sends (not loopback); returns the undo token.

    ``random`` drops each packet independently (nft ``numgen random``);
    ``even`` drops exactly ``percent`` of every 10,000 packets, spread evenly
    (``numgen inc``), for experiments that need the same loss every run.
    """
    need_root("packet loss")
    if not 0 <= percent <= 100:
        raise ChaosFaultRefusedError(f"loss percent {percent} is not between 0 and 100")
    if direction not in ("in", "out", "both"):
        raise ChaosFaultRefusedError("direction is 'in', 'out' or 'both'")
    if distribution not in ("random", "even"):
        raise ChaosFaultRefusedError("distribution is 'random' or 'even'")
    ns = _lab(lab).namespace(host)
    per_myriad = round(percent * 100)
    if distribution == "random":
        match = f"numgen random mod 10000 < {per_myriad}"
    else:
        # every packet whose running count crosses a multiple of 10000/per_myriad is dropped
        step = 10000 / per_myriad if per_myriad else 0
        drops = sorted({int(i * step) for i in range(per_myriad)}) if per_myriad else []
        match = (
            "numgen inc mod 10000 { " + ", ".join(map(str, drops)) + " }"
            if drops
            else "numgen inc mod 10000 10001"
        )
    inbound = [f'iifname "eth0" {match} counter drop'] if direction != "out" else []
    outbound = [f'oifname "eth0" {match} counter drop'] if direction != "in" else []
    return _table(
        ns,
        f"{percent}% packet loss on {lab}/{host} ({direction}, {distribution})",
        inbound,
        outbound,
    )


def partition(lab: str, host: str, others: list[str] | None = None) -> int:
    """Cut ``host`` off from ``others`` (default: every other lab host), both ways; returns the undo token."""
    need_root("a partition")
    the_lab = _lab(lab)
    ns = the_lab.namespace(host)
    peers = [h for h in (others or the_lab.hosts) if h != host]
    for peer in peers:
        the_lab.namespace(peer)  # refuses hosts outside the lab
    if not peers:
        raise ChaosFaultRefusedError("a partition needs at least one other host")
    addrs = ", ".join(the_lab.hosts[p] for p in peers)
    return _table(
        ns,
        f"partition of {lab}/{host} from {', '.join(peers)}",
        [f"ip saddr {{ {addrs} }} counter drop"],
        [f"ip daddr {{ {addrs} }} counter drop"],
    )


def limit_bandwidth(
    lab: str | None,
    host: str | None,
    rate: str,
    *,
    interface: str = "eth0",
    burst: str = "32kbit",
    latency: str = "50ms",
    allow_host_interfaces: bool = False,
) -> int:
    """A tc tbf qdisc capping egress to ``rate`` (``"1mbit"``); returns the undo token.

    Without a lab the qdisc goes on the machine's own ``interface``, which is
    refused unless ``allow_host_interfaces`` is true.
    """
    need_root("a bandwidth limit")
    if not re.fullmatch(r"\d+(\.\d+)?(bit|kbit|mbit|gbit|bps|kbps|mbps)", rate):
        raise ChaosFaultRefusedError(f"rate {rate!r} is not a tc rate such as 1mbit")
    if lab is None or host is None:
        if not allow_host_interfaces:
            raise ChaosFaultRefusedError(
                f"a bandwidth limit on the host's own interface {interface!r} is refused",
                hint="set allow_host_interfaces in the experiment configuration to allow it",
            )
        ns = None
    else:
        ns = _lab(lab).namespace(host)
    token = UNDO.register(
        f"bandwidth {rate} on {interface}" + (f" in {ns}" if ns else " (host)"),
        lambda: run_tool("tc", "qdisc", "del", "dev", interface, "root", namespace=ns),
    )
    try:
        run_tool(
            "tc",
            "qdisc",
            "add",
            "dev",
            interface,
            "root",
            "tbf",
            "rate",
            rate,
            "burst",
            burst,
            "latency",
            latency,
            namespace=ns,
        )
    except BaseException:
        UNDO.discard(token)
        raise
    return token

"""Blocklist rule sets, and the two places they are enforced.

A rule set is text, one rule a line: ``ADDR[/LEN] [ttl SECONDS]`` (``#``
comments and blank lines allowed) — the same grammar as the kernel module's
``add`` command.  A file of module commands (``flush`` / ``add ...`` lines, as
cross_domain_autoblocker_ledger's ``export lsck`` writes) is accepted too.  It is parsed completely
before anything is applied: one bad line rejects the whole set, naming the
line.

Enforcement:

* the kernel module, through ``/dev/lsck``: one ``write()`` carrying
  ``batch`` + the ``flush`` and ``add`` lines, which the module applies all
  or none;
* where the module is absent, nftables: a ``table inet lsck`` with interval
  sets for IPv4 and IPv6 (per-element timeouts for TTL rules) and a
  ``prerouting`` chain at priority -300 that drops their sources, loaded with
  one atomic ``nft -f`` transaction.

Overlapping rules (an address inside a banned range, nested ranges) mean
different things to the two.  The module keeps every rule: a lookup takes the
exact address, else the longest *live* prefix, so an address is dropped for
as long as any rule covering it lives, and each rule keeps its own counters
and can be deleted on its own; the batch therefore carries the rules as they
are.  An nftables interval set cannot hold overlapping elements at all (``nft``
refuses the whole script with "conflicting intervals"), so the nftables
renderer first normalises each family with :func:`normalise_rules` into
disjoint elements that drop exactly the same addresses for exactly as long:
each address keeps the longest ban that covers it.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from linux_scalable_cloud_kernel.errors import KernelToolkitError, KernelToolkitInputError

__all__ = [
    "NFT_TABLE",
    "EnforcementError",
    "Rule",
    "apply_nftables",
    "normalise_rules",
    "parse_rules",
    "push_to_module",
    "read_module_rules",
    "render_module_batch",
    "render_nftables",
]

NFT_TABLE = "lsck"
_MAX_TTL = 10 * 365 * 24 * 3600

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class EnforcementError(KernelToolkitError):
    """Rules could not be pushed to the module or to nftables."""


@dataclass(frozen=True)
class Rule:
    """One blocked source: a host or a prefix, optionally expiring after ``ttl`` seconds."""

    network: Network
    ttl: int | None = None

    def command(self) -> str:
        """The module's ``add`` line for this rule."""
        text = _network_text(self.network)
        return f"add {text}" + (f" ttl {self.ttl}" if self.ttl else "")


def _network_text(network: Network) -> str:
    full = 32 if network.version == 4 else 128
    return str(network.network_address) if network.prefixlen == full else str(network)


def parse_rules(text: str, source: str = "<rules>") -> list[Rule]:
    """Parse a rule set; the first bad line raises with its number.

    A network given twice is one rule with the longer ban (see :func:`_longer`).
    """
    rules: dict[Network, Rule] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if parts in (["flush"], ["batch"]):
            continue  # a module command file (cdabl's export): push always replaces the set
        if parts[0] == "add":
            parts = parts[1:]
            if not parts:
                raise KernelToolkitInputError(
                    "'add' without an address", path=source, line=number, hint="add ADDR[/LEN]"
                )
        ttl: int | None = None
        if len(parts) == 3 and parts[1] == "ttl":
            if not parts[2].isdigit() or not 0 < int(parts[2]) <= _MAX_TTL:
                raise KernelToolkitInputError(
                    f"invalid ttl {parts[2]!r}",
                    path=source,
                    line=number,
                    hint=f"a whole number of seconds, 1..{_MAX_TTL}",
                )
            ttl = int(parts[2])
        elif len(parts) != 1:
            raise KernelToolkitInputError(
                f"expected 'ADDR[/LEN] [ttl SECONDS]', got {line[:60]!r}",
                path=source,
                line=number,
                hint="one rule per line, e.g. 203.0.113.7 or 2001:db8::/32 ttl 600",
            )
        try:
            network = ipaddress.ip_network(parts[0], strict=True)
        except ValueError as exc:
            raise KernelToolkitInputError(
                f"not an address or prefix: {exc}",
                path=source,
                line=number,
                hint="host bits must be zero in a prefix (203.0.113.0/24, not 203.0.113.7/24)",
            ) from None
        rules[network] = _longer(rules.get(network), Rule(network, ttl))
    return list(rules.values())


def _ttl_key(ttl: int | None) -> float:
    """Order bans by how long they last: no ttl (permanent) outlasts any ttl."""
    return float("inf") if ttl is None else ttl


def _longer(kept: Rule | None, new: Rule) -> Rule:
    """Of two rules for the same network, the one that bans longer.

    A rule set is a set of bans, not a command sequence: naming a network twice
    means it is banned while either line says so (permanent beats any ttl),
    whichever line comes first.  The earlier rule keeps its place in the order.
    """
    if kept is None or _ttl_key(new.ttl) > _ttl_key(kept.ttl):
        return new
    return kept


def _dedupe(rules: Iterable[Rule]) -> list[Rule]:
    """One rule per network (the longest ban), in first-seen order."""
    by_network: dict[Network, Rule] = {}
    for rule in rules:
        by_network[rule.network] = _longer(by_network.get(rule.network), rule)
    return list(by_network.values())


def _pieces(rules: list[Rule]) -> Iterator[tuple[int, int, int | None, int]]:
    """Disjoint ``(first, last, ttl, cluster)`` address runs covering ``rules`` (one family).

    CIDR prefixes either nest or are disjoint, so the rules sorted by (start,
    prefix length) form a forest: each cluster is one outermost prefix with
    the rules nested inside it.  A stack of the open (enclosing) rules walks
    it; each run gets the longest ttl among the rules that cover it, i.e. the
    nested rule's own ttl when it outlasts its ancestors, else the ancestor's.
    """
    ordered = sorted(rules, key=lambda r: (int(r.network.network_address), r.network.prefixlen))
    stack: list[tuple[int, int | None]] = []  # (last address, effective ttl) of open rules
    cursor = 0
    cluster = -1
    for rule in ordered:
        first = int(rule.network.network_address)
        last = int(rule.network.broadcast_address)
        while stack and stack[-1][0] < first:
            end, ttl = stack.pop()
            if cursor <= end:
                yield cursor, end, ttl, cluster
                cursor = end + 1
        if not stack:
            cluster += 1
        elif cursor < first:
            yield cursor, first - 1, stack[-1][1], cluster
        cursor = first
        ttl = rule.ttl
        if stack and _ttl_key(stack[-1][1]) > _ttl_key(ttl):
            ttl = stack[-1][1]
        stack.append((last, ttl))
    while stack:
        end, ttl = stack.pop()
        if cursor <= end:
            yield cursor, end, ttl, cluster
            cursor = end + 1


def _normalise_family(rules: list[Rule], version: int) -> list[Rule]:
    """Join a cluster's touching runs of equal ttl, then write each run as prefixes."""
    address = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    runs: list[tuple[int, int, int | None, int]] = []
    for first, last, ttl, cluster in _pieces(rules):
        if runs and runs[-1][2] == ttl and runs[-1][3] == cluster and runs[-1][1] + 1 == first:
            runs[-1] = (runs[-1][0], last, ttl, cluster)
        else:
            runs.append((first, last, ttl, cluster))
    out: list[Rule] = []
    for first, last, ttl, _ in runs:
        # the fewest prefixes covering the run; one when the run is a rule's own prefix
        out.extend(
            Rule(network, ttl)
            for network in ipaddress.summarize_address_range(address(first), address(last))
        )
    return out


def normalise_rules(rules: Iterable[Rule]) -> list[Rule]:
    """Disjoint rules that drop the same addresses for as long as ``rules`` do, sorted.

    Needed wherever overlapping elements are refused (nftables interval sets).
    Per family, each address keeps the longest ban of the rules covering it
    (permanent beats any ttl).  So an address or range inside a range that
    bans at least as long disappears into it; one that outlasts its range is
    kept with its own timeout and the range is split around it into the
    fewest prefixes, so that the rest of the range still expires on time —
    merging everything into the range with the longest timeout (what
    ``ipaddress.collapse_addresses`` alone would suggest) would ban a whole
    /8 for ever because of one permanently banned host inside it.

    Rules that overlap nothing are returned unchanged, even when adjacent to
    another (``10.0.0.1`` and ``10.0.0.2`` stay two elements): nftables
    accepts adjacent intervals, and keeping them keeps one element per ban
    with its own timeout, as the rule set and the ledger export list them.
    """
    deduped = _dedupe(rules)
    return [
        *_normalise_family([r for r in deduped if r.network.version == 4], 4),
        *_normalise_family([r for r in deduped if r.network.version == 6], 6),
    ]


def render_module_batch(rules: Iterable[Rule]) -> str:
    """The single write that replaces the module's rules atomically.

    Overlapping rules go to the module as they are (see the module docstring:
    its longest-live-prefix lookup already drops an address while any rule
    covering it lives, and every rule keeps its own counters).  Only a
    network named twice is sent once, with the longer ban: the module would
    otherwise let the last ``add`` win (re-adding refreshes the ttl).
    """
    return "batch\nflush\n" + "".join(rule.command() + "\n" for rule in _dedupe(rules))


def _nft_duration(seconds: int) -> str:
    """A timeout in nft's ``1d2h3m4s`` form (as ``nft list`` prints it).

    Not plain seconds: nft 1.0.6 refuses a number of seconds above 99999999
    ("value too large"), and a ttl may be up to ten years.
    """
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _nft_elements(rules: list[Rule]) -> str:
    return ", ".join(
        _network_text(r.network) + (f" timeout {_nft_duration(r.ttl)}" if r.ttl else "")
        for r in rules
    )


def render_nftables(rules: Iterable[Rule], table: str = NFT_TABLE) -> str:
    """An ``nft -f`` script that (re)creates the table with exactly these rules.

    ``add table`` + ``delete table`` first makes the script idempotent (it
    works whether or not the table exists) inside one atomic transaction.
    The elements are :func:`normalise_rules` of the rules: an interval set
    refuses overlapping elements, so nested and duplicate rules are merged
    per family (each address keeping its longest ban) before rendering.
    """
    normal = normalise_rules(rules)
    v4 = [r for r in normal if r.network.version == 4]
    v6 = [r for r in normal if r.network.version == 6]
    lines = [
        f"add table inet {table}",
        f"delete table inet {table}",
        f"table inet {table} {{",
        "  set blocked4 {",
        "    type ipv4_addr; flags interval, timeout;",
    ]
    if v4:
        lines.append(f"    elements = {{ {_nft_elements(v4)} }}")
    lines += ["  }", "  set blocked6 {", "    type ipv6_addr; flags interval, timeout;"]
    if v6:
        lines.append(f"    elements = {{ {_nft_elements(v6)} }}")
    lines += [
        "  }",
        "  chain prerouting {",
        "    type filter hook prerouting priority -300; policy accept;",
        "    ip saddr @blocked4 counter drop",
        "    ip6 saddr @blocked6 counter drop",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def apply_nftables(rules: Iterable[Rule], netns: str | None = None) -> str:
    """Load the rules with one ``nft -f -`` transaction; returns the script applied."""
    nft = shutil.which("nft")
    if nft is None:
        raise EnforcementError(
            "neither the lsck module nor nft is available",
            hint="load the module, or install nftables (apt-get install nftables)",
        )
    script = render_nftables(rules)
    argv = [nft, "-f", "-"]
    if netns is not None:
        argv = ["ip", "netns", "exec", netns, *argv]
    proc = subprocess.run(argv, input=script, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise EnforcementError(
            f"nft rejected the rule set: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}",
            hint="run as root; the kernel needs nf_tables",
        )
    return script


def push_to_module(rules: Iterable[Rule], device: Path) -> int:
    """Replace the module's rules with one batch write; returns the number of rules."""
    batch = render_module_batch(rules)
    data = batch.encode()
    try:
        fd = os.open(device, os.O_WRONLY)  # never O_CREAT: a missing device means no module
        try:
            written = os.write(fd, data)
        finally:
            os.close(fd)
        if written != len(data):
            raise EnforcementError(
                f"the module took {written} of {len(data)} bytes of the batch",
                hint="raise the module's batch limit or push fewer rules",
            )
    except FileNotFoundError:
        raise EnforcementError(
            f"{device} does not exist: the lsck module is not loaded",
            hint="lsck module load, or push to nftables instead",
        ) from None
    except OSError as exc:
        raise EnforcementError(
            f"the module refused the batch: {exc.strerror}",
            path=str(device),
            hint="nothing was applied (batches are all or none); check the rules and the rule limit",
        ) from exc
    return batch.count("\nadd ")


def read_module_rules(proc_rules: Path) -> list[dict[str, object]]:
    """Parse ``/proc/lsck/rules``: ``RULE hits BYTES bytes BYTES expires SECONDS|never`` lines."""
    try:
        text = proc_rules.read_text()
    except FileNotFoundError:
        raise EnforcementError(
            f"{proc_rules} does not exist: the lsck module is not loaded",
            hint="lsck module load",
        ) from None
    rows: list[dict[str, object]] = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        fields = dict(zip(parts[1::2], parts[2::2], strict=False))
        try:
            rows.append(
                {
                    "rule": parts[0],
                    "hits": int(fields["hits"]),
                    "bytes": int(fields["bytes"]),
                    "expires": None
                    if fields.get("expires", "never") == "never"
                    else int(fields["expires"]),
                }
            )
        except (KeyError, ValueError):
            raise KernelToolkitInputError(
                f"unexpected line in {proc_rules}: {line[:60]!r}", path=str(proc_rules), line=number
            ) from None
    return rows

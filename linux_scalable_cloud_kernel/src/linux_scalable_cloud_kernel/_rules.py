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
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from linux_scalable_cloud_kernel.errors import KernelToolkitError, KernelToolkitInputError

__all__ = [
    "NFT_TABLE",
    "EnforcementError",
    "Rule",
    "apply_nftables",
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
    """Parse a rule set; the first bad line raises with its number."""
    rules: list[Rule] = []
    seen: set[Network] = set()
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
        if network in seen:
            continue
        seen.add(network)
        rules.append(Rule(network, ttl))
    return rules


def render_module_batch(rules: Iterable[Rule]) -> str:
    """The single write that replaces the module's rules atomically."""
    return "batch\nflush\n" + "".join(rule.command() + "\n" for rule in rules)


def _nft_elements(rules: list[Rule]) -> str:
    return ", ".join(
        _network_text(r.network) + (f" timeout {r.ttl}s" if r.ttl else "") for r in rules
    )


def render_nftables(rules: Iterable[Rule], table: str = NFT_TABLE) -> str:
    """An ``nft -f`` script that (re)creates the table with exactly these rules.

    ``add table`` + ``delete table`` first makes the script idempotent (it
    works whether or not the table exists) inside one atomic transaction.
    """
    ordered = sorted(
        rules,
        key=lambda r: (r.network.version, int(r.network.network_address), r.network.prefixlen),
    )
    v4 = [r for r in ordered if r.network.version == 4]
    v6 = [r for r in ordered if r.network.version == 6]
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

"""Exporters: the decisions as an nftables ruleset, and as the kernel module's rules.

**nftables** (``nft -f``): one table with four sets (``ipv4``/``ipv6`` ×
exact/range... merged with ``flags interval, timeout``: an interval set holds
both single addresses and prefixes), each element carrying its remaining
lifetime as a per-element ``timeout``, so the kernel expires bans on its own
even if this process stops; and a ``filter input`` chain at priority -10 that
drops packets whose source is in a set.  The ruleset first flushes its own
table (``table ...; delete table ...``), so it can be applied again and again.

**lsck** (linux_scalable_cloud_kernel's ``/dev/lsck`` commands, as its
issue specifies them): ``flush`` then one ``add ADDR[/LEN] [ttl SECONDS]``
per enforceable decision (no ``ttl`` for a permanent one), meant for the
module's all-or-nothing batch mode.

Only ``ban`` decisions on ``Ip``/``Range`` are enforceable in the kernel;
others are left to application bouncers (captcha, throttle, usernames).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable

from cross_domain_autoblocker_ledger._decision import Decision
from cross_domain_autoblocker_ledger.errors import LedgerInputError

__all__ = ["lsck_rules", "nft_ruleset"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


def _enforceable(
    decisions: Iterable[Decision], now: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Per family: network text → longest remaining lifetime (inf when permanent)."""
    v4: dict[str, float] = {}
    v6: dict[str, float] = {}
    for decision in decisions:
        if decision.type != "ban" or decision.scope not in ("Ip", "Range") or decision.until <= now:
            continue
        network = ipaddress.ip_network(decision.value, strict=False)
        target = v4 if network.version == 4 else v6
        text = (
            str(network.network_address)
            if network.prefixlen == network.max_prefixlen
            else str(network)
        )
        target[text] = max(target.get(text, 0.0), decision.until - now)
    return v4, v6


def _timeout(seconds: float) -> str:
    return "" if math.isinf(seconds) else f" timeout {max(1, math.ceil(seconds))}s"


def _collapse(elements: dict[str, float]) -> dict[str, float]:
    """Drop elements inside a covering prefix that lasts at least as long (nft refuses overlaps)."""
    nets = sorted(
        ((ipaddress.ip_network(k), v, k) for k, v in elements.items()),
        key=lambda item: (item[0].prefixlen, item[2]),
    )
    kept: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, float, str]] = []
    result: dict[str, float] = {}
    for net, ttl, text in nets:
        if any(net.subnet_of(parent) for parent, _, _ in kept if parent.version == net.version):  # type: ignore[arg-type]  # same version checked
            continue
        kept.append((net, ttl, text))
        result[text] = ttl
    return result


def nft_ruleset(
    decisions: Iterable[Decision], now: float, *, table: str = "cdabl", family: str = "inet"
) -> str:
    """An ``nft -f`` ruleset enforcing the active ban decisions.

    Overlapping entries (an address inside a banned range) are dropped in
    favour of the range, since an interval set cannot hold both.

    Raises:
        LedgerInputError: ``table`` is not a valid nftables identifier.
    """
    if not _NAME.match(table):
        raise LedgerInputError(
            f"{table!r} is not an nftables table name",
            field="table",
            hint="use letters, digits and _",
        )
    if family not in ("inet", "ip", "ip6"):
        raise LedgerInputError(
            f"{family!r} is not an nftables family for this ruleset",
            field="family",
            hint="use inet",
        )
    v4, v6 = _enforceable(decisions, now)
    v4, v6 = _collapse(v4), _collapse(v6)
    lines = [
        f"table {family} {table}",
        f"delete table {family} {table}",
        f"table {family} {table} {{",
    ]
    for name, kind, elements in (("blocked4", "ipv4_addr", v4), ("blocked6", "ipv6_addr", v6)):
        if family == "ip" and kind == "ipv6_addr":
            continue
        if family == "ip6" and kind == "ipv4_addr":
            continue
        lines += [
            f"    set {name} {{",
            f"        type {kind}",
            "        flags interval, timeout",
        ]
        if elements:
            items = [f"{k}{_timeout(v)}" for k, v in sorted(elements.items())]
            lines.append("        elements = { " + ",\n                     ".join(items) + " }")
        lines.append("    }")
    lines += [
        "    chain input {",
        "        type filter hook input priority -10; policy accept;",
    ]
    if family in ("inet", "ip"):
        lines.append("        ip saddr @blocked4 counter drop")
    if family in ("inet", "ip6"):
        lines.append("        ip6 saddr @blocked6 counter drop")
    lines += ["    }", "}"]
    return "\n".join(lines) + "\n"


def lsck_rules(decisions: Iterable[Decision], now: float, *, flush: bool = True) -> str:
    """Commands for linux_scalable_cloud_kernel's ``/dev/lsck``: ``add ADDR[/LEN] [ttl SECONDS]``.

    With ``flush`` (the default) the batch starts with ``flush``, so applying
    it replaces the module's list with exactly the active decisions.
    """
    v4, v6 = _enforceable(decisions, now)
    out: list[str] = ["flush"] if flush else []
    for elements in (v4, v6):
        for text, ttl in sorted(elements.items()):
            out.append(
                f"add {text}" if math.isinf(ttl) else f"add {text} ttl {max(1, math.ceil(ttl))}"
            )
    return "\n".join(out) + ("\n" if out else "")

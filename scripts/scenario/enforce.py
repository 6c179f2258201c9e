"""Step 4: lsck renders the decisions as an nftables set and as a kernel-module rule batch.

cdabl exports the active bans in the module's command syntax
(:func:`cross_domain_autoblocker_ledger.lsck_rules`); lsck parses them (whole,
before anything is applied) and renders both enforcement forms.  The batch is
written to ``/dev/lsck`` only where the module is loaded; otherwise both are
written to files and shown, and the result says so.  The nftables script is
never applied here: that needs root and would change this machine's firewall.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cross_domain_autoblocker_ledger import Decision

__all__ = ["MODULE_DEVICE", "EnforceResult", "enforce", "nft_set_elements"]

MODULE_DEVICE = Path("/dev/lsck")


@dataclass(frozen=True)
class EnforceResult:
    """What was rendered, where it went."""

    rules: int
    nft_path: Path
    batch_path: Path
    nft_elements: frozenset[str]
    applied: bool
    how: str


def nft_set_elements(script: str) -> frozenset[str]:
    """The addresses/prefixes in an nftables script's ``elements = { ... }`` (timeouts dropped)."""
    found: set[str] = set()
    for body in re.findall(r"elements\s*=\s*\{([^}]*)\}", script):
        for item in body.split(","):
            text = item.strip().split(" timeout ")[0].strip()
            if text:
                found.add(text)
    return frozenset(found)


def enforce(decisions: list[Decision], now: float, out_dir: Path) -> EnforceResult:
    """Render (and where possible apply) the bans; files go to ``out_dir``."""
    from cross_domain_autoblocker_ledger import lsck_rules
    from linux_scalable_cloud_kernel import (
        parse_rules,
        push_to_module,
        render_module_batch,
        render_nftables,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    commands = lsck_rules(decisions, now)
    (out_dir / "cdabl-export.lsck").write_text(commands, encoding="utf-8")
    rules = parse_rules(commands, source="cdabl export lsck")
    script = render_nftables(rules)
    batch = render_module_batch(rules)
    nft_path = out_dir / "blocklist.nft"
    batch_path = out_dir / "lsck.batch"
    nft_path.write_text(script, encoding="utf-8")
    batch_path.write_text(batch, encoding="utf-8")
    if MODULE_DEVICE.exists():
        count = push_to_module(rules, MODULE_DEVICE)
        applied, how = True, f"applied: {count} rules written to {MODULE_DEVICE} in one batch"
    else:
        applied = False
        how = (
            f"shown, not applied: {MODULE_DEVICE} is absent (the lsck module is not loaded); "
            f"the batch is in {batch_path.name}, the nftables script in {nft_path.name}"
        )
    return EnforceResult(len(rules), nft_path, batch_path, nft_set_elements(script), applied, how)

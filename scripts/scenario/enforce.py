"""Step 4: lsck renders the decisions as an nftables set and as a kernel-module rule batch.

cdabl exports the active bans in the module's command syntax
(:func:`cross_domain_autoblocker_ledger.lsck_rules`); lsck parses them (whole,
before anything is applied) and renders both enforcement forms.  The batch is
written to ``/dev/lsck`` only where the module is loaded; otherwise both are
written to files and shown, and the result says so.  The nftables script is
never applied here (it would change this machine's firewall); where ``nft`` is
installed and we are root, the kernel checks it with ``nft -c`` (a dry-run
transaction that changes nothing), so "rendered" also means "accepted".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cross_domain_autoblocker_ledger import Decision

__all__ = ["MODULE_DEVICE", "EnforceResult", "check_nft", "enforce", "nft_set_elements"]

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
    nft_check: bool | None
    nft_check_detail: str


def nft_set_elements(script: str) -> frozenset[str]:
    """The addresses/prefixes in an nftables script's ``elements = { ... }`` (timeouts dropped)."""
    found: set[str] = set()
    for body in re.findall(r"elements\s*=\s*\{([^}]*)\}", script):
        for item in body.split(","):
            text = item.strip().split(" timeout ")[0].strip()
            if text:
                found.add(text)
    return frozenset(found)


def check_nft(path: Path) -> tuple[bool | None, str]:
    """``nft -c -f path``: does the kernel accept the script (nothing is applied)?  ``None``: not checkable."""
    nft = shutil.which("nft")
    if nft is None:
        return None, "not checked: nft is not installed"
    if os.geteuid() != 0:
        return None, "not checked: nft -c needs root"
    proc = subprocess.run(
        [nft, "-c", "-f", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode == 0:
        return True, "nft -c accepted the script (checked, not applied)"
    return False, "nft -c refused the script: " + " ".join(proc.stderr.split())[:300]


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
    checked, detail = check_nft(nft_path)
    return EnforceResult(
        len(rules),
        nft_path,
        batch_path,
        nft_set_elements(script),
        applied,
        how,
        checked,
        detail,
    )

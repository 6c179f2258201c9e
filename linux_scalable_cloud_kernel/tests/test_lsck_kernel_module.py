"""The C module, built and tested in Debian's 6.1 kernel booted in QEMU.

The script builds the module against Debian 12's headers (W=1, sparse, and
checkpatch --strict must be clean), boots the stock kernel under TCG with a
busybox initramfs that loads the module, drives it through /dev/lsck with
real loopback traffic (IPv4/IPv6 exact and prefix drops, counters, del,
flush, TTL expiry, batch atomicity, malformed commands, the rule limit, the
allowlist, a second network namespace, unload without warnings) and prints
one "N passed, N failed" line.  This test also hands the VM the exact batch
`lsck module push` writes and reads the module's /proc/lsck/rules back with
the toolkit's parser: the two halves are checked to speak one protocol.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from linux_scalable_cloud_kernel import parse_rules, read_module_rules, render_module_batch

SCRIPT = Path(__file__).parent.parent / "kernel_module" / "tests" / "run_vm_tests.sh"
RULES = "127.0.4.0/24\n127.0.0.8 ttl 600\n2001:db8:2::/48\n"


@pytest.mark.slow
@pytest.mark.root
def test_module_in_a_real_kernel(tmp_path: Path) -> None:
    """Every in-VM check passes, and the toolkit's batch and /proc parser work against the module."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("needs root on Debian: the script installs headers and QEMU with apt-get")
    batch = tmp_path / "userspace.batch"
    batch.write_text(render_module_batch(parse_rules(RULES)))
    proc = subprocess.run(
        ["bash", str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
        env={**os.environ, "LSCK_USERSPACE_BATCH": str(batch)},
    )
    output = proc.stdout
    assert proc.returncode == 0, output[-3000:] + proc.stderr[-2000:]
    summary = re.findall(r"^(\d+) passed, (\d+) failed$", output, re.MULTILINE)
    assert summary, output[-3000:]
    assert tuple(map(int, summary[-1])) == (51, 0)
    block = output.split("BEGIN-PROC-RULES\n", 1)[1].split("END-PROC-RULES", 1)[0]
    proc_rules = tmp_path / "rules"
    proc_rules.write_text(block)
    rows = {str(r["rule"]): r for r in read_module_rules(proc_rules)}
    assert set(rows) == {"127.0.4.0/24", "127.0.0.8", "2001:db8:2::/48"}
    assert int(str(rows["127.0.4.0/24"]["hits"])) >= 1  # the SYN (and any retransmission)
    assert rows["2001:db8:2::/48"]["expires"] is None
    expires = rows["127.0.0.8"]["expires"]
    assert isinstance(expires, int)
    assert 500 < expires <= 600

"""Parse a small auth log, detect a brute force, record the ban, and prove it is in the ledger.

Run: python examples/detect_and_block.py
"""

import base64
import tempfile
from pathlib import Path

from cross_domain_autoblocker_ledger import Autoblocker, Ledger, default_scenarios, read_events
from shared_core.crypto import Checkpoint, hash_leaf, verify_inclusion

LOG = "\n".join(
    f"Jun  1 12:00:{i:02d} web1 sshd[{200 + i}]: Failed password for invalid user admin from 203.0.113.66 port {40000 + i} ssh2"
    for i in range(10)
)

with tempfile.TemporaryDirectory() as tmp:
    log = Path(tmp) / "auth.log"
    log.write_text(LOG + "\n")
    ledger = Ledger.open(Path(tmp) / "ledger.db")
    events, parser = read_events(log)
    report = Autoblocker(ledger, default_scenarios()).run(events)
    print(f"{parser.stats.lines} lines, {report.events} events, {len(report.alerts)} alerts")
    for decision in report.decisions:
        print(
            f"decision {decision.id}: {decision.type} {decision.scope}:{decision.value} ({decision.scenario})"
        )

    # "Is it blocked?" - answered from the in-memory index.
    blocked = ledger.check("Ip", "203.0.113.66")
    print("203.0.113.66 blocked:", bool(blocked))

    # Anyone with the verifier key can check the entry is in the signed log.
    checkpoint, _ = Checkpoint.open(ledger.checkpoint(), [ledger.verifier], origin=ledger.origin)
    proof = ledger.inclusion(0)
    verify_inclusion(
        hash_leaf(base64.b64decode(proof["leaf"])),
        0,
        checkpoint.size,
        [bytes.fromhex(p) for p in proof["proof"]],
        checkpoint.root_hash,
    )
    print(f"entry 0 is included in checkpoint of size {checkpoint.size}")
    ledger.close()

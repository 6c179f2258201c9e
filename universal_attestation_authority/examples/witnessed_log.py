"""Two witnesses cosign the log; an entry is then verified offline from exported tiles.

Run: ``python examples/witnessed_log.py``.  The witnesses run on real uvicorn
servers on loopback (in threads here; ``uaa witness serve`` runs one as its own
process).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from shared_core.crypto import ALG_COSIGNATURE_V1, generate_note_key
from universal_attestation_authority import (
    Authority,
    Witness,
    WitnessEndpoint,
    WitnessPool,
    create_witness_app,
    export_tiles,
    verify_entry_offline,
)
from universal_attestation_authority.testing import ServerThread, sample_statement

workdir = Path(globals().get("WORKDIR") or tempfile.mkdtemp(prefix="uaa-example-"))
workdir.mkdir(parents=True, exist_ok=True)

with Authority.init(workdir / "authority", "attest.example.com/log") as authority:
    witnesses = [
        Witness(
            workdir / f"{name}.sqlite3",
            generate_note_key(name, ALG_COSIGNATURE_V1),
            [authority.log_verifier],
        )
        for name in ("witness1.example.com", "witness2.example.com")
    ]
    with (
        ServerThread(create_witness_app(witnesses[0])) as w1,
        ServerThread(create_witness_app(witnesses[1])) as w2,
    ):
        pool = WitnessPool(
            [
                WitnessEndpoint(w1.url, witnesses[0].signer.verifier),
                WitnessEndpoint(w2.url, witnesses[1].signer.verifier),
            ],
            authority.store,
        )
        authority.log.cosigner = pool
        authority.log.witness_quorum = 2
        issued = authority.issue_many(
            [sample_statement(content=bytes([i % 256, i // 256])) for i in range(300)]
        )
        checkpoint = authority.publish()  # only stored once both witnesses cosigned
        pool.close()
    export_tiles(authority.log, workdir / "tiles")
    result = verify_entry_offline(
        (workdir / "tiles" / "checkpoint").read_bytes(),
        workdir / "tiles",
        299,
        log_keys=[authority.log_verifier],
        witness_keys=[w.signer.verifier for w in witnesses],
        witness_threshold=2,
    )
    print(
        f"entry 299 proven offline at size {result.checkpoint.size}, cosigned by {', '.join(result.witnesses)}"
    )
    assert result.parsed is not None
    assert result.parsed.id == issued[299].id
    assert checkpoint.size == 300
    for witness in witnesses:
        witness.close()

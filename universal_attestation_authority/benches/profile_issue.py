"""Where the CPU of one issued attestation goes: the batched issuing path, phase by phase.

Run: ``uv run python universal_attestation_authority/benches/profile_issue.py [--batches 16] [--prefill N]``

Not a comparison (``bench_uaa.py`` is the headline bench against raw PyNaCl):
a diagnostic that repeats, step by step, what ``Authority._sign_batch`` and
``Authority._commit_batch`` do for batches of 1,000 fresh statements, timing
each step with ``time.process_time``, and ends with raw PyNaCl signing of the
same PAE bytes for scale.  It mirrors the library's code (calling the same
functions in the same order); if the two drift apart, the library is right.
The wall time of the commits is printed too: the fsync wait, which is not CPU.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import itertools
import sys
import tempfile
import time
from pathlib import Path

import nacl.signing

from universal_attestation_authority import Authority, IssuedAttestation
from universal_attestation_authority._clock import format_time, utcnow
from universal_attestation_authority._entry import EntryWriter
from universal_attestation_authority._signer import PAE_PREFIX, PayloadSigner
from universal_attestation_authority._statement import PAYLOAD_TYPE
from universal_attestation_authority._store import EntryRows, attestation_key, subject_key
from universal_attestation_authority.testing import sample_statement


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=16)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--prefill",
        type=int,
        default=0,
        help="attestations issued (untimed) before profiling: the index B-trees' size matters",
    )
    args = parser.parse_args()
    n, batches = args.batch, args.batches
    authority = Authority.init(Path(tempfile.mkdtemp(prefix="uaa-profile-")) / "a", "p.example/log")
    authority.issue_many([sample_statement(content=b"warm-up")])
    for start in range(0, args.prefill, 1000):
        authority.issue_many(
            [
                sample_statement(content=b"prefill" + i.to_bytes(8, "big"))
                for i in range(start, min(start + 1000, args.prefill))
            ]
        )
    statements = [sample_statement(content=i.to_bytes(8, "big")) for i in range(n * batches)]
    gc.collect()
    gc.freeze()
    store, sha256 = authority.store, hashlib.sha256
    phases: dict[str, float] = {}
    commit_wall = 0.0
    last = time.process_time()

    def tick(phase: str) -> None:
        nonlocal last
        now = time.process_time()
        phases[phase] = phases.get(phase, 0.0) + now - last
        last = now

    messages: list[bytes] = []
    for b in range(batches):
        chunk = statements[b * n : (b + 1) * n]
        last = time.process_time()
        now = utcnow()
        when = format_time(now)
        signer = PayloadSigner([(r.keyid, k) for r, k in authority.signing_keys((), at=now)])
        writer = EntryWriter(when, PAYLOAD_TYPE, signer.keyids)
        tick("batch setup (keyring, signer)")
        payloads = [s.canonical_bytes() for s in chunk]
        tick("canonical statement JSON")
        messages = [b"%s%d %s" % (PAE_PREFIX, len(p), p) for p in payloads]
        tick("PAE")
        ids = [sha256(m).hexdigest() for m in messages]
        tick("attestation id (SHA-256 of the PAE)")
        signed = [signer.sign_json(p, m) for p, m in zip(payloads, messages, strict=True)]
        tick("Ed25519 signature + envelope JSON")
        entries = [
            writer.encode(i, s.predicate_type, sig)
            for i, s, (_, sig) in zip(ids, chunk, signed, strict=True)
        ]
        tick("log entry JSON (+ SHA-256 of the signature)")
        leaves = [sha256(b"\x00" + e).digest() for e in entries]
        tick("leaf hash")
        keys = [attestation_key(i) for i in ids]
        subjects = [
            (subject_key(alg, digest), p)
            for p, s in enumerate(chunk)
            for subject in s.subject
            for alg, digest in subject.digest.items()
        ]
        tick("index keys (id prefix, subject BLAKE2b)")
        wall = time.perf_counter()
        with store.transaction():
            tick("BEGIN")
            start = store.entry_count()
            store.attestations_by_key(keys, set(ids))
            tick("idempotency lookup")
            indexes = range(start, start + n)
            rows = EntryRows(
                list(zip(indexes, leaves, entries, (e for e, _ in signed), strict=True)),
                list(zip(keys, indexes, strict=True)),
                [(k, start + p) for k, p in subjects],
            )
            tick("rows")
            store.insert_rows(rows)
            tick("INSERT (entries, attestation keys, subject keys)")
        tick("COMMIT (WAL frames, fsync call)")
        commit_wall += time.perf_counter() - wall
        authority.log._adopt(start, rows)  # the library's own next step
        tick("Merkle tree append")
        list(
            map(
                tuple.__new__,
                itertools.repeat(IssuedAttestation),
                zip(ids, indexes, (e for e, _ in signed), itertools.repeat(when)),
            )
        )
        tick("results (IssuedAttestation)")
        if b % 2:
            authority.publish()
            tick("checkpoint (one per 2,000)")
    raw = nacl.signing.SigningKey.generate()
    start_cpu = time.process_time()
    for message in messages:
        raw.sign(message)
    raw_us = (time.process_time() - start_cpu) / len(messages) * 1e6
    total = n * batches
    print("| phase | µs CPU per attestation |\n|---|---:|")
    for phase, seconds in phases.items():
        print(f"| {phase} | {seconds / total * 1e6:.2f} |")
    ours = sum(phases.values()) / total * 1e6
    print(f"| **total** | **{ours:.2f}** |")
    print(
        f"\nraw PyNaCl SigningKey.sign of the same PAE bytes: {raw_us:.2f} µs CPU "
        f"(ratio {raw_us / ours:.3f}); commits' wall time {commit_wall / total * 1e6:.2f} µs "
        "per attestation (includes the fsync wait)",
        file=sys.stderr,
    )
    authority.close()


if __name__ == "__main__":
    main()

"""Step 3: uaa attests the ledger checkpoint and the ban policy's bytecode hash.

One in-toto Statement names two subjects — the ledger's signed checkpoint
(by the SHA-256 of its bytes) and the compiled policy (by cec's bytecode
SHA-256) — with a predicate recording the ledger's origin, size, root and
verifier key.  uaa signs it into a DSSE envelope, logs it in its
transparency log and publishes a checkpoint, so the bundle carries an
inclusion proof.

:func:`verify_offline` needs nothing but files: the bundle, a policy with the
authority's keys inline, the checkpoint and the bytecode.  It checks uaa's
verdict (signature, rule, log inclusion), that the files are the attested
subjects, and that the checkpoint is signed by the attested ledger key and
carries the attested root — so an edited checkpoint, or another policy,
fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PREDICATE_TYPE", "AttestResult", "OfflineVerdict", "attest", "verify_offline"]

PREDICATE_TYPE = "https://internal-tools.example/scenario/ledger-checkpoint/v1"
LOG_ORIGIN = "scenario.internal/uaa"
CHECKPOINT_SUBJECT = "ledger/checkpoint"
POLICY_SUBJECT = "policy/ban_policy.cecb"

# the files verify_offline reads, relative to the attestation directory
BUNDLE = "attestation.bundle.json"
POLICY = "attestation.policy.toml"
CHECKPOINT = "ledger.checkpoint"
BYTECODE = "ban_policy.cecb"


@dataclass(frozen=True)
class AttestResult:
    """The issued attestation."""

    attestation_id: str
    log_index: int
    directory: Path
    checkpoint_sha256: str
    policy_sha256: str


@dataclass(frozen=True)
class OfflineVerdict:
    """The outcome of :func:`verify_offline`: ``ok`` or the reasons why not."""

    ok: bool
    failures: tuple[str, ...] = ()
    signers: tuple[str, ...] = ()
    root: str = ""
    size: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def attest(
    directory: Path,
    *,
    checkpoint: bytes,
    bytecode: bytes,
    policy_digest: str,
    ledger_origin: str,
    ledger_verifier: str,
    root: str,
    size: int,
    decisions: int,
) -> AttestResult:
    """Issue, log and publish the attestation; write everything verify_offline needs."""
    from universal_attestation_authority import Authority, ResourceDescriptor, Statement

    directory.mkdir(parents=True, exist_ok=True)
    checkpoint_sha = hashlib.sha256(checkpoint).hexdigest()
    statement = Statement.build(
        [
            ResourceDescriptor(name=CHECKPOINT_SUBJECT, digest={"sha256": checkpoint_sha}),
            ResourceDescriptor(name=POLICY_SUBJECT, digest={"sha256": policy_digest}),
        ],
        PREDICATE_TYPE,
        {
            "ledger": {
                "origin": ledger_origin,
                "size": size,
                "root": root,
                "verifierKey": ledger_verifier,
                "decisions": decisions,
            },
            "policy": {"contract": "BanPolicy", "version": 1, "bytecodeSha256": policy_digest},
        },
    )
    with Authority.init(directory / "authority", LOG_ORIGIN) as authority:
        issued = authority.issue(statement)
        authority.publish()
        bundle = authority.bundle(issued.id)
        keys = list(authority.keyring)
        log_key = authority.log_verifier.encode()
    lines = []
    for record in keys:
        lines += [
            "[[keys]]",
            f'name = "{record.name}"',
            f'public_key = """{record.public_pem}"""',
            f'valid_from = "{record.to_dict()["valid_from"]}"',
        ]
    names = ", ".join(f'"{r.name}"' for r in keys)
    lines += [
        "[[rules]]",
        'name = "ledger-checkpoints"',
        f'predicate_types = ["{PREDICATE_TYPE}"]',
        f'subjects = ["{CHECKPOINT_SUBJECT}", "{POLICY_SUBJECT}"]',
        f"keys = [{names}]",
        "threshold = 1",
        "[log]",
        "required = true",
        f'verifier_keys = ["{log_key}"]',
    ]
    (directory / POLICY).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (directory / BUNDLE).write_text(bundle.to_json(), encoding="utf-8")
    (directory / CHECKPOINT).write_bytes(checkpoint)
    (directory / BYTECODE).write_bytes(bytecode)
    return AttestResult(issued.id, issued.log_index, directory, checkpoint_sha, policy_digest)


def verify_offline(directory: Path) -> OfflineVerdict:
    """Verify the attestation from files alone (no authority, no network)."""
    from contract_executable_compiler import load_contract
    from shared_core.crypto import Checkpoint, NoteVerifier
    from shared_core.errors import CoreError
    from universal_attestation_authority import Bundle, Policy, verify_bundle

    failures: list[str] = []
    try:
        bundle = Bundle.from_json((directory / BUNDLE).read_bytes())
        policy = Policy.load(directory / POLICY)
        checkpoint_bytes = (directory / CHECKPOINT).read_bytes()
        bytecode = (directory / BYTECODE).read_bytes()
    except (OSError, CoreError) as exc:
        return OfflineVerdict(False, (f"cannot read the attestation files: {exc}",))
    verdict = verify_bundle(bundle, policy)
    if not verdict.ok:
        failures += [f.sentence() for f in verdict.failures]
    statement = verdict.statement
    if statement is None or statement.predicate is None:
        return OfflineVerdict(False, (*failures, "the bundle carries no statement"))
    digests = {s.name: s.digest.get("sha256", "") for s in statement.subject}
    if digests.get(CHECKPOINT_SUBJECT) != hashlib.sha256(checkpoint_bytes).hexdigest():
        failures.append("the checkpoint file is not the attested checkpoint (sha256 differs)")
    try:
        policy_digest = load_contract(bytecode).digest
    except CoreError as exc:
        policy_digest = ""
        failures.append(f"the policy bytecode does not load: {exc}")
    if digests.get(POLICY_SUBJECT) != policy_digest:
        failures.append("the policy bytecode is not the attested policy (sha256 differs)")
    ledger = statement.predicate.get("ledger", {})
    root, size = "", 0
    try:
        verifier = NoteVerifier.parse(str(ledger.get("verifierKey", "")))
        opened, _ = Checkpoint.open(checkpoint_bytes, [verifier], origin=ledger.get("origin"))
        root, size = opened.root_hash.hex(), opened.size
        if root != ledger.get("root") or size != ledger.get("size"):
            failures.append(
                f"the checkpoint's root {root[:16]}… (size {size}) is not the attested "
                f"{str(ledger.get('root'))[:16]}… (size {ledger.get('size')})"
            )
    except CoreError as exc:
        failures.append(f"the checkpoint is not signed by the attested ledger key: {exc.message}")
    return OfflineVerdict(
        not failures,
        tuple(failures),
        verdict.signers,
        root,
        size,
        {
            "attestation_id": verdict.attestation_id,
            "log_index": verdict.log_index,
            "rule": verdict.rule,
            "time_source": verdict.time_source,
            "root_b64": base64.b64encode(bytes.fromhex(root)).decode() if root else "",
            "statement": json.loads(statement.canonical_bytes()),
        },
    )

"""Verification: an attestation against a policy, with the failing rule named.

The order of checks, each producing a :class:`Failure` that names its rule and
check when it fails:

1. ``payload_type``: the envelope carries an in-toto Statement;
2. ``statement``: the payload is a valid Statement v1;
3. ``attestation_revoked``: the policy has not revoked this attestation;
4. ``log_inclusion``: the log entry records this envelope, its inclusion proof
   leads to a checkpoint signed by the log, with ``witness_threshold`` known
   witness cosignatures (required when the policy's ``[log]`` says so).  A
   verified entry supplies the trusted signing time (``integratedTime``);
   without one, the verifier's clock is used, which is stricter;
5. per rule whose ``predicate_types`` match: ``subjects`` (every subject is
   covered), ``validity_window`` (signing time within the rule's window) and
   ``threshold`` / ``key_revoked`` / ``key_validity`` (enough distinct allowed
   keys signed, each valid at the signing time).

The attestation passes when one rule passes every check.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from shared_core.crypto import (
    Checkpoint,
    NoteVerifier,
    VerifiedNote,
    hash_leaf,
    open_note,
    verify_inclusion,
)
from shared_core.errors import CoreError
from universal_attestation_authority._bundle import Bundle, LogEvidence
from universal_attestation_authority._clock import format_time, utcnow
from universal_attestation_authority._entry import LogEntry, attestation_id
from universal_attestation_authority._keyring import KeyStatus
from universal_attestation_authority._policy import LogRequirement, Policy, PolicyRule
from universal_attestation_authority._statement import PAYLOAD_TYPE, Statement
from universal_attestation_authority.errors import AttestationInputError, AttestationVerifyError

__all__ = ["Failure", "Verdict", "verify_bundle", "verify_log_evidence"]

ANY_RULE = "*"


@dataclass(frozen=True)
class Failure:
    """One failed check: ``rule`` (``*`` for checks before rules) and ``check`` name it."""

    rule: str
    check: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "check": self.check, "detail": self.detail}

    def sentence(self) -> str:
        where = "policy" if self.rule == ANY_RULE else f"rule {self.rule!r}"
        return f"{where}: {self.check}: {self.detail}"


@dataclass(frozen=True)
class Verdict:
    """The outcome of a verification; ``ok`` or the failures that explain why not."""

    ok: bool
    attestation_id: str
    signing_time: datetime
    time_source: Literal["log", "verifier-clock"]
    rule: str | None = None
    signers: tuple[str, ...] = ()
    log_index: int | None = None
    statement: Statement | None = None
    failures: tuple[Failure, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": self.ok,
            "attestation_id": self.attestation_id,
            "signing_time": format_time(self.signing_time),
            "time_source": self.time_source,
            "rule": self.rule,
            "signers": list(self.signers),
            "log_index": self.log_index,
            "failures": [f.to_dict() for f in self.failures],
        }
        if self.statement is not None:
            data["predicate_type"] = self.statement.predicate_type
            data["subjects"] = [s.to_json_dict() for s in self.statement.subject]
        return data

    def raise_for_failure(self) -> None:
        """Raise :class:`AttestationVerifyError` naming the first failure, if any."""
        if self.ok:
            return
        first = self.failures[0]
        raise AttestationVerifyError(
            f"verification failed: {first.sentence()}",
            hint=_HINTS.get(first.check, "see the failures listed with --json"),
            failures=[f.to_dict() for f in self.failures],
            rule=first.rule,
            check=first.check,
        )


_HINTS = {
    "payload_type": "only in-toto Statements (application/vnd.in-toto+json) are accepted",
    "statement": "the payload must be an in-toto Statement v1",
    "attestation_revoked": "this attestation was revoked; issue a new one",
    "log_inclusion": "verify the bundle 'uaa attest' wrote, with the log's key in the policy",
    "predicate_type": "add a rule for this predicate type to the policy",
    "subjects": "widen the rule's subjects patterns or attest the right artifacts",
    "validity_window": "the rule was not in force at the signing time",
    "threshold": "more of the rule's keys must sign",
    "key_revoked": "the signing key was revoked; re-attest with a current key",
    "key_validity": "the key was not valid at the signing time (rotated or not yet valid)",
}


@functools.lru_cache(maxsize=256)
def _open_checkpoint(
    note: bytes, verifiers: tuple[NoteVerifier, ...]
) -> tuple[VerifiedNote, Checkpoint]:
    # Many bundles share one checkpoint; its signatures need checking once.
    verified = open_note(note, verifiers)
    return verified, Checkpoint.from_text(verified.text)


def verify_log_evidence(
    evidence: LogEvidence, envelope_id: str, requirement: LogRequirement
) -> LogEntry:
    """Check that ``evidence`` proves the envelope is logged; return the entry.

    Raises:
        AttestationVerifyError: with ``check = log_inclusion`` and the reason.
    """

    def fail(detail: str) -> AttestationVerifyError:
        failure = Failure(ANY_RULE, "log_inclusion", detail)
        return AttestationVerifyError(
            f"verification failed: {failure.sentence()}",
            hint=_HINTS["log_inclusion"],
            failures=[failure.to_dict()],
        )

    if not requirement.verifiers:
        raise fail("the policy names no log verifier key to check the checkpoint")
    try:
        verified, checkpoint = _open_checkpoint(
            evidence.checkpoint, (*requirement.verifiers, *requirement.witnesses)
        )
    except CoreError as exc:
        raise fail(f"checkpoint does not verify: {exc.message}") from None
    log_names = set(requirement.origins)
    if not log_names.intersection(verified.verified_by):
        raise fail("checkpoint is not signed by a log key the policy trusts")
    if checkpoint.origin not in log_names:
        raise fail(f"checkpoint origin {checkpoint.origin!r} is not a log the policy trusts")
    witness_names = {w.name for w in requirement.witnesses}
    cosigned = sorted(witness_names.intersection(verified.cosignature_times))
    if len(cosigned) < requirement.witness_threshold:
        raise fail(
            f"checkpoint has {len(cosigned)} cosignature(s) from trusted witnesses "
            f"({', '.join(cosigned) or 'none'}), {requirement.witness_threshold} required"
        )
    if evidence.tree_size != checkpoint.size:
        raise fail(
            f"inclusion proof is for tree size {evidence.tree_size}, the checkpoint has {checkpoint.size}"
        )
    try:
        entry = LogEntry.from_bytes(evidence.entry)
    except CoreError as exc:
        raise fail(exc.message) from None
    if entry.id != envelope_id:
        raise fail(
            f"log entry {evidence.log_index} records attestation {entry.id[:16]}..., not this one"
        )
    try:
        verify_inclusion(
            hash_leaf(evidence.entry),
            evidence.log_index,
            evidence.tree_size,
            list(evidence.inclusion_proof),
            checkpoint.root_hash,
        )
    except CoreError as exc:
        raise fail(f"inclusion proof for entry {evidence.log_index}: {exc.message}") from None
    return entry


def verify_bundle(bundle: Bundle, policy: Policy, *, now: datetime | None = None) -> Verdict:
    """Evaluate ``bundle`` against ``policy``; never raises for a failed check.

    Args:
        now: the verifier's clock (default: the real one); used for attestation
            revocations and as the signing time when no log evidence is verified.
    """
    clock = now or utcnow()
    envelope = bundle.envelope
    aid = attestation_id(envelope)

    def verdict(failures: Sequence[Failure], **fields: Any) -> Verdict:
        base: dict[str, Any] = {"signing_time": clock, "time_source": "verifier-clock"}
        base.update(fields)
        return Verdict(ok=not failures, attestation_id=aid, failures=tuple(failures), **base)

    if envelope.payload_type != PAYLOAD_TYPE:
        return verdict(
            [
                Failure(
                    ANY_RULE,
                    "payload_type",
                    f"payload type is {envelope.payload_type!r}, expected {PAYLOAD_TYPE!r}",
                )
            ]
        )
    try:
        statement = Statement.parse(envelope.payload, source="payload")
    except AttestationInputError as exc:
        return verdict([Failure(ANY_RULE, "statement", exc.message)])

    revocation = policy.attestation_revocation(aid)
    if revocation is not None and clock >= revocation.at:
        reason = f" ({revocation.reason})" if revocation.reason else ""
        return verdict(
            [
                Failure(
                    ANY_RULE,
                    "attestation_revoked",
                    f"attestation {aid[:16]}... was revoked at {format_time(revocation.at)}{reason}",
                )
            ],
            statement=statement,
        )

    entry: LogEntry | None = None
    log_index: int | None = None
    if bundle.log is not None and policy.log.verifiers:
        try:
            entry = verify_log_evidence(bundle.log, aid, policy.log)
            log_index = bundle.log.log_index
        except AttestationVerifyError as exc:
            return verdict([Failure(**exc.failures[0])], statement=statement)
    elif policy.log.required:
        return verdict(
            [
                Failure(
                    ANY_RULE,
                    "log_inclusion",
                    "the attestation carries no log evidence (a bare envelope?)",
                )
            ],
            statement=statement,
        )
    signing_time = entry.integrated_time if entry is not None else clock
    time_source: Literal["log", "verifier-clock"] = "log" if entry is not None else "verifier-clock"

    # Which policy keys produced a valid signature over the PAE (and were logged).
    message = envelope.pae()
    signed: set[str] = set()
    for signature in envelope.signatures:
        if entry is not None and not entry.logged_signature(signature.keyid, signature.sig):
            continue
        candidates = (
            [r for r in (policy.keyring.get(signature.keyid),) if r is not None]
            if signature.keyid and signature.keyid in policy.keyring
            else list(policy.keyring)
        )
        for record in candidates:
            if record.keyid in signed:
                continue
            if record.verify_key().is_valid(message, signature.sig):
                signed.add(record.keyid)
                break

    rules = policy.rules_for(statement.predicate_type)
    if not rules:
        covered = sorted({p for r in policy.rules for p in r.predicate_types})
        return verdict(
            [
                Failure(
                    ANY_RULE,
                    "predicate_type",
                    f"no rule allows predicate type {statement.predicate_type!r} (rules cover: {', '.join(covered)})",
                )
            ],
            statement=statement,
            signing_time=signing_time,
            time_source=time_source,
            log_index=log_index,
        )
    failures: list[Failure] = []
    for rule in rules:
        failure, signers = _check_rule(rule, statement, signed, policy, signing_time)
        if failure is None:
            return verdict(
                [],
                rule=rule.name,
                signers=signers,
                statement=statement,
                signing_time=signing_time,
                time_source=time_source,
                log_index=log_index,
            )
        failures.append(failure)
    return verdict(
        failures,
        statement=statement,
        signing_time=signing_time,
        time_source=time_source,
        log_index=log_index,
    )


def _check_rule(
    rule: PolicyRule, statement: Statement, signed: set[str], policy: Policy, when: datetime
) -> tuple[Failure | None, tuple[str, ...]]:
    unmatched = rule.unmatched_subjects(statement.subject_names())
    if unmatched:
        return Failure(
            rule.name,
            "subjects",
            f"subject {unmatched[0]!r} is not matched by {list(rule.subjects)}",
        ), ()
    if rule.not_before is not None and when < rule.not_before:
        return Failure(
            rule.name,
            "validity_window",
            f"signing time {format_time(when)} is before the rule's not_before {format_time(rule.not_before)}",
        ), ()
    if rule.not_after is not None and when >= rule.not_after:
        return Failure(
            rule.name,
            "validity_window",
            f"signing time {format_time(when)} is not before the rule's not_after {format_time(rule.not_after)}",
        ), ()
    counted: list[str] = []
    rejected: list[tuple[KeyStatus, str]] = []
    for keyid in rule.keyids:
        if keyid not in signed:
            continue
        record = policy.keyring.get(keyid)
        if record is None:
            continue
        status = record.status_at(when)
        if status is KeyStatus.VALID:
            counted.append(record.name)
        else:
            rejected.append((status, record.describe_status(when)))
    if len(counted) >= rule.threshold:
        return None, tuple(counted)
    summary = f"{len(counted)} of {rule.threshold} required signature(s) from the rule's keys" + (
        f" ({', '.join(counted)})" if counted else ""
    )
    if rejected:
        check = (
            "key_revoked" if any(s is KeyStatus.REVOKED for s, _ in rejected) else "key_validity"
        )
        return Failure(rule.name, check, f"{summary}; {'; '.join(d for _, d in rejected)}"), ()
    return Failure(rule.name, "threshold", summary), ()

"""Issuing and verifying: every policy rule fails with its own name."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from shared_core.crypto import Envelope, EnvelopeSignature, generate_signing_key, sign_envelope
from universal_attestation_authority import (
    AttestationKeyError,
    AttestationVerifyError,
    Authority,
    Bundle,
    LogEvidence,
    Policy,
    attestation_id,
    verify_bundle,
)
from universal_attestation_authority._clock import utcnow
from universal_attestation_authority.testing import SLSA_PROVENANCE, policy_for, sample_statement


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    auth = Authority.init(tmp_path / "auth", "attest.example/log")
    yield auth
    auth.close()


def issue(authority: Authority, **kwargs: object) -> Bundle:
    issued = authority.issue(sample_statement(**kwargs))  # type: ignore[arg-type]
    authority.publish()
    return authority.bundle(issued.id)


def failure_of(bundle: Bundle, policy: str, **kwargs: object) -> tuple[str, str, str]:
    verdict = verify_bundle(bundle, Policy.loads(policy), **kwargs)  # type: ignore[arg-type]
    assert not verdict.ok
    first = verdict.failures[0]
    return first.rule, first.check, first.detail


class TestIssueAndVerify:
    def test_issued_bundle_verifies_with_log_time(self, authority: Authority) -> None:
        """A fresh bundle passes; its signing time comes from the log entry."""
        bundle = issue(authority)
        verdict = verify_bundle(bundle, Policy.loads(policy_for(authority)))
        assert verdict.ok
        assert verdict.rule == "provenance"
        assert verdict.time_source == "log"
        assert verdict.signers == ("attestation-1",)
        assert verdict.log_index == 0

    def test_issue_is_idempotent(self, authority: Authority) -> None:
        """Issuing the same statement twice logs it once."""
        first = authority.issue(sample_statement())
        second = authority.issue(sample_statement())
        assert first.id == second.id
        assert authority.log.size == 1

    def test_issue_many_is_one_batch(self, authority: Authority) -> None:
        """issue_many logs every new statement with consecutive indexes, duplicates once."""
        statements = [sample_statement(content=bytes([i])) for i in range(5)]
        issued = authority.issue_many([*statements, statements[0]])
        assert [i.log_index for i in issued] == [0, 1, 2, 3, 4, 0]
        assert authority.log.size == 5

    def test_ecdsa_key_signs_and_verifies(self, authority: Authority) -> None:
        """ECDSA P-256 keys issue attestations that verify."""
        authority.generate_key("p256", "ecdsa-p256")
        bundle = Bundle(authority.issue(sample_statement(), keys=["p256"]).envelope)
        verdict = verify_bundle(
            bundle, Policy.loads(policy_for(authority, keys=["p256"], log_required=False))
        )
        assert verdict.ok
        assert verdict.signers == ("p256",)

    def test_both_base64_alphabets_accepted(self, authority: Authority) -> None:
        """An envelope re-encoded in URL-safe base64 without padding still verifies."""
        bundle = issue(authority)
        data = bundle.to_dict()
        env = data["dsseEnvelope"]
        env["payload"] = base64.urlsafe_b64encode(bundle.envelope.payload).decode().rstrip("=")
        for sig in env["signatures"]:
            sig["sig"] = base64.urlsafe_b64encode(base64.b64decode(sig["sig"])).decode().rstrip("=")
        verdict = verify_bundle(
            Bundle.from_dict(json.loads(json.dumps(data))), Policy.loads(policy_for(authority))
        )
        assert verdict.ok


class TestFailures:
    def test_unknown_predicate_type(self, authority: Authority) -> None:
        """No rule for the predicate type fails check predicate_type."""
        bundle = issue(authority, predicate_type="https://example.com/other/v1")
        assert failure_of(bundle, policy_for(authority))[:2] == ("*", "predicate_type")

    def test_subject_outside_rule(self, authority: Authority) -> None:
        """A subject no pattern covers fails check subjects, naming the subject."""
        bundle = issue(authority, name="src/evil.tar")
        rule, check, detail = failure_of(bundle, policy_for(authority))
        assert (rule, check) == ("provenance", "subjects")
        assert "src/evil.tar" in detail

    def test_threshold(self, authority: Authority) -> None:
        """Two keys required, one signed: check threshold says 1 of 2."""
        authority.generate_key("second")
        bundle = Bundle(authority.issue(sample_statement(), keys=["attestation-1"]).envelope)
        rule, check, detail = failure_of(
            bundle, policy_for(authority, threshold=2, log_required=False)
        )
        assert (rule, check) == ("provenance", "threshold")
        assert "1 of 2" in detail

    def test_threshold_met_by_two_keys(self, authority: Authority) -> None:
        """Two distinct keys meet a threshold of two."""
        authority.generate_key("second")
        bundle = Bundle(authority.issue(sample_statement()).envelope)
        verdict = verify_bundle(
            bundle, Policy.loads(policy_for(authority, threshold=2, log_required=False))
        )
        assert verdict.ok
        assert sorted(verdict.signers) == ["attestation-1", "second"]

    def test_one_key_signing_twice_is_one_signature(self, authority: Authority) -> None:
        """Duplicated signatures of one key never satisfy a threshold of two."""
        authority.generate_key("second")
        env = authority.issue(sample_statement(), keys=["attestation-1"]).envelope
        doubled = Envelope(env.payload, env.payload_type, env.signatures * 2)
        _rule, check, _ = failure_of(
            Bundle(doubled), policy_for(authority, threshold=2, log_required=False)
        )
        assert check == "threshold"

    def test_validity_window(self, authority: Authority) -> None:
        """A rule not yet in force at the signing time fails check validity_window."""
        bundle = issue(authority)
        text = policy_for(authority).replace(
            "threshold = 1", 'threshold = 1\nnot_before = "2099-01-01T00:00:00Z"'
        )
        assert failure_of(bundle, text)[:2] == ("provenance", "validity_window")

    def test_revoked_key_fails_from_revocation_time(self, authority: Authority) -> None:
        """Revoked before the logged signing time: key_revoked; revoked after: still valid."""
        bundle = issue(authority)
        signed_at = verify_bundle(bundle, Policy.loads(policy_for(authority))).signing_time
        before = (signed_at - timedelta(seconds=1)).isoformat()
        after = (signed_at + timedelta(seconds=1)).isoformat()
        revoked = policy_for(
            authority,
            extra=f'[[revocations.keys]]\nkey = "attestation-1"\nat = "{before}"\nreason = "stolen"\n',
        )
        rule, check, detail = failure_of(bundle, revoked)
        assert (rule, check) == ("provenance", "key_revoked")
        assert "stolen" in detail
        later = policy_for(
            authority, extra=f'[[revocations.keys]]\nkey = "attestation-1"\nat = "{after}"\n'
        )
        assert verify_bundle(bundle, Policy.loads(later)).ok

    def test_rotation_keeps_history_valid(self, authority: Authority) -> None:
        """After rotation, old attestations verify; the retired key cannot sign new ones."""
        old_bundle = issue(authority)
        authority.rotate("attestation-1", "attestation-2")
        new_bundle = issue(authority, content=b"v2")
        policy = Policy.loads(policy_for(authority))
        assert verify_bundle(old_bundle, policy).signers == ("attestation-1",)
        assert verify_bundle(new_bundle, policy).signers == ("attestation-2",)
        with pytest.raises(AttestationKeyError, match="retired"):
            authority.issue(sample_statement(content=b"v3"), keys=["attestation-1"])

    def test_retired_key_signature_after_rotation_fails(self, authority: Authority) -> None:
        """A signature by the retired key, logged after the rotation, fails key_validity."""
        record = next(iter(authority.keyring))
        key = authority._signing_key(record.keyid)
        authority.rotate("attestation-1", "attestation-2")
        envelope = sign_envelope(
            sample_statement().canonical_bytes(),
            "application/vnd.in-toto+json",
            [key],
            [record.keyid],
        )
        verdict = verify_bundle(
            Bundle(envelope), Policy.loads(policy_for(authority, log_required=False))
        )
        assert [(f.rule, f.check) for f in verdict.failures] == [("provenance", "key_validity")]

    def test_revoked_attestation(self, authority: Authority) -> None:
        """A revoked attestation id fails check attestation_revoked."""
        bundle = issue(authority)
        aid = attestation_id(bundle.envelope)
        text = policy_for(
            authority,
            extra=f'[[revocations.attestations]]\nid = "{aid}"\nat = "2000-01-01T00:00:00Z"\nreason = "bad build"\n',
        )
        rule, check, detail = failure_of(bundle, text)
        assert (rule, check) == ("*", "attestation_revoked")
        assert "bad build" in detail

    def test_bare_envelope_when_log_required(self, authority: Authority) -> None:
        """A policy requiring the log rejects a bare envelope with log_inclusion."""
        bundle = issue(authority)
        assert failure_of(Bundle(bundle.envelope), policy_for(authority))[:2] == (
            "*",
            "log_inclusion",
        )

    def test_tampered_payload(self, authority: Authority) -> None:
        """A changed payload no longer matches the logged entry."""
        bundle = issue(authority)
        forged = Envelope(
            bundle.envelope.payload.replace(b"ci", b"xx"),
            bundle.envelope.payload_type,
            bundle.envelope.signatures,
        )
        _rule, check, detail = failure_of(Bundle(forged, bundle.log), policy_for(authority))
        assert check == "log_inclusion"
        assert "records attestation" in detail

    def test_wrong_inclusion_proof(self, authority: Authority) -> None:
        """A corrupted inclusion proof fails log_inclusion."""
        issue(authority, content=b"a")
        bundle = issue(authority, content=b"b")
        assert bundle.log is not None
        bad = replace(bundle.log, inclusion_proof=(b"\x00" * 32,))
        assert failure_of(Bundle(bundle.envelope, bad), policy_for(authority))[1] == "log_inclusion"

    def test_signature_added_after_logging_does_not_count(self, authority: Authority) -> None:
        """Only signatures recorded in the log entry count toward the threshold."""
        other = generate_signing_key()
        bundle = issue(authority)
        extra = EnvelopeSignature(other.sign(bundle.envelope.pae()), other.verify_key.key_id)
        padded = Envelope(
            bundle.envelope.payload,
            bundle.envelope.payload_type,
            (*bundle.envelope.signatures, extra),
        )
        assert isinstance(bundle.log, LogEvidence)
        assert attestation_id(padded) == attestation_id(bundle.envelope)
        policy = policy_for(authority)
        verdict = verify_bundle(Bundle(padded, bundle.log), Policy.loads(policy))
        assert verdict.ok
        assert verdict.signers == ("attestation-1",)

    def test_wrong_payload_type(self, authority: Authority) -> None:
        """Non-in-toto payloads fail check payload_type."""
        key = authority._signing_key(next(iter(authority.keyring)).keyid)
        envelope = sign_envelope(b"{}", "text/plain", [key])
        assert (
            failure_of(Bundle(envelope), policy_for(authority, log_required=False))[1]
            == "payload_type"
        )

    def test_raise_for_failure_names_rule(self, authority: Authority) -> None:
        """raise_for_failure raises AttestationVerifyError with rule and check in context."""
        bundle = issue(authority, name="other/x")
        verdict = verify_bundle(bundle, Policy.loads(policy_for(authority)), now=utcnow())
        with pytest.raises(AttestationVerifyError) as info:
            verdict.raise_for_failure()
        assert info.value.context["rule"] == "provenance"
        assert info.value.context["check"] == "subjects"
        assert "rule 'provenance': subjects" in info.value.message
        assert SLSA_PROVENANCE

"""Interop with real clients: securesystemslib and in-toto (the ``compare`` extra)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from shared_core.crypto import SigningKey, generate_signing_key
from universal_attestation_authority import Authority, Bundle, Policy, verify_bundle
from universal_attestation_authority.testing import policy_for, sample_statement

sslib_dsse = pytest.importorskip("securesystemslib.dsse")
sslib_signer = pytest.importorskip("securesystemslib.signer")

ALGORITHMS = ["ed25519", "ecdsa-p256"]


@pytest.fixture(params=ALGORITHMS)
def authority(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Authority]:
    auth = Authority.init(tmp_path / "auth", "attest.example/log", algorithm=request.param)
    yield auth
    auth.close()


def sslib_key(key: SigningKey, keyid: str | None = None) -> Any:
    private = load_pem_private_key(key.to_pem(), password=None)
    return sslib_signer.SSlibKey.from_crypto(private.public_key(), keyid=keyid)  # type: ignore[arg-type]


def sslib_signer_for(key: SigningKey, keyid: str | None = None) -> Any:
    private = load_pem_private_key(key.to_pem(), password=None)
    return sslib_signer.CryptoSigner(private, sslib_key(key, keyid))


def our_key(authority: Authority) -> tuple[str, SigningKey]:
    record = next(iter(authority.keyring))
    return record.keyid, authority._signing_key(record.keyid)


class TestOursVerifiedByThem:
    def test_securesystemslib_verifies_our_envelope(self, authority: Authority) -> None:
        """securesystemslib's Envelope.verify accepts what we issue (both algorithms)."""
        keyid, key = our_key(authority)
        issued = authority.issue(sample_statement())
        envelope = sslib_dsse.Envelope.from_dict(json.loads(issued.envelope.to_json()))
        accepted = envelope.verify([sslib_key(key, keyid)], 1)
        assert list(accepted) == [keyid]

    def test_securesystemslib_rejects_tampering(self, authority: Authority) -> None:
        """...and rejects it once the payload changes (the check is real)."""
        keyid, key = our_key(authority)
        data = json.loads(authority.issue(sample_statement()).envelope.to_json())
        data["payloadType"] = "application/json"
        with pytest.raises(Exception, match=r"(?i)verif|threshold"):
            sslib_dsse.Envelope.from_dict(data).verify([sslib_key(key, keyid)], 1)

    def test_in_toto_verifies_our_envelope(self, authority: Authority) -> None:
        """in-toto's Metadata.from_dict(...).verify_signature accepts what we issue."""
        metadata = pytest.importorskip("in_toto.models.metadata")
        keyid, key = our_key(authority)
        issued = authority.issue(sample_statement())
        envelope = metadata.Metadata.from_dict(json.loads(issued.envelope.to_json()))
        public = sslib_key(key, keyid)
        envelope.verify_signature({**public.to_dict(), "keyid": public.keyid})
        wrong = sslib_key(generate_signing_key(), keyid)
        with pytest.raises(metadata.SignatureVerificationError):
            envelope.verify_signature({**wrong.to_dict(), "keyid": wrong.keyid})


class TestTheirsVerifiedByUs:
    def test_securesystemslib_envelope_verifies_with_our_policy(self, authority: Authority) -> None:
        """An envelope signed by securesystemslib (its own keyid scheme) passes our policy."""
        _, key = our_key(authority)
        envelope = sslib_dsse.Envelope(
            sample_statement().canonical_bytes(), "application/vnd.in-toto+json", {}
        )
        envelope.sign(sslib_signer_for(key))
        bundle = Bundle.from_dict(envelope.to_dict())
        verdict = verify_bundle(bundle, Policy.loads(policy_for(authority, log_required=False)))
        assert verdict.ok
        assert verdict.signers == ("attestation-1",)

    def test_in_toto_signed_envelope_verifies(self, authority: Authority) -> None:
        """An in-toto Envelope signed through create_signature passes our policy; a stranger's does not."""
        metadata = pytest.importorskip("in_toto.models.metadata")
        _, key = our_key(authority)
        payload = json.dumps(sample_statement().to_json_dict(), indent=1).encode()
        envelope = metadata.Envelope(
            payload=payload, payload_type="application/vnd.in-toto+json", signatures={}
        )
        envelope.create_signature(sslib_signer_for(key))
        policy = Policy.loads(policy_for(authority, log_required=False))
        assert verify_bundle(Bundle.from_dict(envelope.to_dict()), policy).ok
        stranger = metadata.Envelope(
            payload=payload, payload_type="application/vnd.in-toto+json", signatures={}
        )
        stranger.create_signature(sslib_signer_for(generate_signing_key()))
        verdict = verify_bundle(Bundle.from_dict(stranger.to_dict()), policy)
        assert [f.check for f in verdict.failures] == ["threshold"]

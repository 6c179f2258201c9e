"""Conformance vectors from ../shared/corpora, through this package's parsing and shared_core's checks."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from shared_core.crypto import (
    Ed25519SigningKey,
    verify_consistency,
    verify_envelope,
    verify_inclusion,
)
from shared_core.errors import CoreError
from shared_core.testing import corpus_path
from universal_attestation_authority import AttestationError, Bundle

pytestmark = pytest.mark.corpus

# RFC 8032 section 7.1 TEST 1 and TEST 2: the keys the DSSE vectors call A and B.
KEYS = {
    "A": Ed25519SigningKey(
        bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    ).verify_key,
    "B": Ed25519SigningKey(
        bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
    ).verify_key,
}


def dsse_vectors() -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads(corpus_path("dsse", "vectors.json").read_text())
    return list(data["vectors"])


def decode(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


class TestDsseVectors:
    def test_every_vector(self) -> None:
        """Each DSSE vector is accepted or rejected as expected, through Bundle parsing."""
        vectors = dsse_vectors()
        assert len(vectors) >= 9
        for vector in vectors:
            try:
                bundle = Bundle.from_dict(vector["envelope"])
                if vector["expect"] == "accept":  # a rejected vector's "pae" is what was signed
                    assert bundle.envelope.pae().hex() == vector["pae"], vector["id"]
                verify_envelope(
                    bundle.envelope,
                    {k: KEYS[k] for k in vector["trustedKeys"]},
                    threshold=vector["threshold"],
                    payload_types=vector["supportedPayloadTypes"],
                )
                outcome = "accept"
            except (CoreError, AttestationError):
                outcome = "reject"
            assert outcome == vector["expect"], vector["id"]


def merkle_cases(kind: str) -> list[Path]:
    return sorted(corpus_path("merkle", kind).rglob("*.json"))


class TestMerkleVectors:
    def test_inclusion(self) -> None:
        """All inclusion vectors: valid proofs verify, the rest fail."""
        cases = merkle_cases("inclusion")
        assert len(cases) >= 90
        for path in cases:
            case = json.loads(path.read_text())
            try:
                verify_inclusion(
                    decode(case["leafHash"]),
                    case["leafIdx"],
                    case["treeSize"],
                    [decode(p) for p in case["proof"] or []],
                    decode(case["root"]),
                )
                ok = True
            except CoreError:
                ok = False
            assert ok is not case["wantErr"], path

    def test_consistency(self) -> None:
        """All consistency vectors: valid proofs verify, the rest fail."""
        cases = merkle_cases("consistency")
        assert len(cases) >= 90
        for path in cases:
            case = json.loads(path.read_text())
            try:
                verify_consistency(
                    case["size1"],
                    case["size2"],
                    [decode(p) for p in case["proof"] or []],
                    decode(case["root1"]),
                    decode(case["root2"]),
                )
                ok = True
            except CoreError:
                ok = False
            assert ok is not case["wantErr"], path

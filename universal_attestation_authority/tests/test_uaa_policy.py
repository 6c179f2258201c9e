"""Policy files: parsing with errors that name the field, and the key registry."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_core.crypto import generate_signing_key
from universal_attestation_authority import (
    AttestationError,
    AttestationKeyError,
    AttestationPolicyError,
    KeyRecord,
    Keyring,
    KeyStatus,
    Policy,
)
from universal_attestation_authority._clock import parse_time

T0 = parse_time("2026-01-01T00:00:00Z")


def pem() -> str:
    return generate_signing_key().verify_key.to_pem().decode()


BASE = f'''
[[keys]]
name = "ci"
public_key = """{pem()}"""

[[rules]]
name = "r"
predicate_types = ["https://slsa.dev/provenance/v1"]
keys = ["ci"]
'''


class TestPolicyParsing:
    def test_minimal_policy(self) -> None:
        """A policy with one key and one rule resolves the key reference to a keyid."""
        policy = Policy.loads(BASE)
        rule = policy.rules[0]
        assert rule.keyids == (policy.keyring.resolve("ci").keyid,)
        assert rule.subjects == ("*",)
        assert not policy.log.required

    def test_json_policy_is_equivalent(self) -> None:
        """The same structure as JSON gives the same policy."""
        key = pem()
        doc = {
            "keys": [{"name": "ci", "public_key": key}],
            "rules": [{"name": "r", "predicate_types": ["t:x"], "keys": ["ci"]}],
        }
        policy = Policy.loads(json.dumps(doc))
        assert policy.rules[0].predicate_types == ("t:x",)

    @pytest.mark.parametrize(
        ("snippet", "field"),
        [
            (
                '[[rules]]\nname = "r2"\npredicate_types = ["x:y"]\nkeys = ["nobody"]\n',
                "rules[1].keys",
            ),
            ('[[rules]]\nname = "r"\npredicate_types = ["x:y"]\nkeys = ["ci"]\n', "rules[1].name"),
            (
                '[[rules]]\nname = "r3"\npredicate_types = ["x:y"]\nkeys = ["ci"]\nthreshold = 2\n',
                "rules[1].threshold",
            ),
            (
                '[[rules]]\nname = "r4"\npredicate_types = []\nkeys = ["ci"]\n',
                "rules[1].predicate_types",
            ),
            (
                '[[rules]]\nname = "r5"\npredicate_types = ["x:y"]\nkeys = ["ci"]\nnot_before = "yesterday"\n',
                "rules[1].not_before",
            ),
            ("[log]\nrequired = true\n", "log.verifier_keys"),
            ('[log]\nverifier_keys = ["nope"]\n', "log.verifier_keys[0]"),
            ('[[revocations.keys]]\nkey = "ci"\n', "revocations.keys[0].at"),
            ('[[revocations.attestations]]\nid = "xyz"\n', "revocations.attestations[0].id"),
            ('colour = "blue"\n', "(top level)"),
        ],
    )
    def test_errors_name_the_field(self, snippet: str, field: str) -> None:
        """Each mistake is an AttestationPolicyError naming the exact field (exit 2)."""
        with pytest.raises(AttestationPolicyError) as info:
            Policy.loads(snippet + BASE if snippet.startswith("colour") else BASE + snippet)
        assert field in info.value.message
        assert info.value.exit_code == 2

    def test_key_file_relative_to_policy(self, tmp_path: Path) -> None:
        """public_key may name a PEM file next to the policy."""
        (tmp_path / "ci.pub").write_text(pem())
        (tmp_path / "p.toml").write_text(
            '[[keys]]\nname = "ci"\npublic_key = "ci.pub"\n[[rules]]\npredicate_types = ["a:b"]\nkeys = ["ci"]\n'
        )
        assert len(Policy.load(tmp_path / "p.toml").keyring) == 1

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing policy file is an input error naming the path."""
        with pytest.raises(AttestationPolicyError, match="cannot read policy"):
            Policy.load(tmp_path / "absent.toml")

    def test_revocation_applies_to_keyring(self) -> None:
        """[[revocations.keys]] marks the key revoked from its instant."""
        policy = Policy.loads(
            BASE
            + '[[revocations.keys]]\nkey = "ci"\nat = "2026-03-01T00:00:00Z"\nreason = "stolen"\n'
        )
        record = policy.keyring.resolve("ci")
        assert record.revoked_at == parse_time("2026-03-01T00:00:00Z")
        assert record.status_at(parse_time("2026-03-01T00:00:00Z")) is KeyStatus.REVOKED
        assert record.status_at(parse_time("2026-02-28T23:59:59Z")) is KeyStatus.VALID

    @settings(max_examples=100, deadline=None)
    @given(st.text(max_size=200))
    def test_arbitrary_text_raises_only_our_error(self, text: str) -> None:
        """Arbitrary text either parses or raises a uaa error."""
        with contextlib.suppress(AttestationError):
            Policy.loads(text)

    @settings(max_examples=150, deadline=None)
    @given(
        st.dictionaries(
            st.sampled_from(["version", "keys", "rules", "log", "revocations", "keyring"]),
            st.none()
            | st.integers()
            | st.text(max_size=5)
            | st.lists(
                st.dictionaries(
                    st.text(max_size=12), st.text(max_size=5) | st.integers(), max_size=3
                ),
                max_size=2,
            ),
            max_size=4,
        )
    )
    def test_policy_shaped_noise(self, doc: dict[str, object]) -> None:
        """Policy-shaped JSON noise never escapes as a non-uaa exception."""
        with contextlib.suppress(AttestationError):
            Policy.loads(json.dumps({k: v for k, v in doc.items() if v is not None}))


class TestKeyring:
    def record(self, name: str) -> KeyRecord:
        return KeyRecord.from_verify_key(generate_signing_key().verify_key, name, valid_from=T0)

    def test_rotation_keeps_old_key_valid_for_its_period(self) -> None:
        """After rotation the old key is valid before the rotation instant, expired after."""
        ring = Keyring()
        ring.add(self.record("k1"))
        at = T0 + timedelta(days=30)
        old, new = ring.rotate("k1", self.record("k2"), at=at)
        assert old.valid_until == at
        assert old.replaced_by == new.keyid
        assert old.status_at(at - timedelta(seconds=1)) is KeyStatus.VALID
        assert old.status_at(at) is KeyStatus.EXPIRED
        assert new.status_at(at) is KeyStatus.VALID
        assert new.status_at(at - timedelta(seconds=1)) is KeyStatus.NOT_YET_VALID
        assert [r.name for r in ring.current(at)] == ["k2"]

    def test_rotating_twice_is_refused(self) -> None:
        """A retired key cannot be rotated again."""
        ring = Keyring()
        ring.add(self.record("k1"))
        ring.rotate("k1", self.record("k2"), at=T0 + timedelta(days=1))
        with pytest.raises(AttestationKeyError, match="already retired"):
            ring.rotate("k1", self.record("k3"), at=T0 + timedelta(days=2))

    def test_earlier_revocation_wins(self) -> None:
        """Revoking again later never moves the revocation instant forward."""
        ring = Keyring()
        ring.add(self.record("k1"))
        ring.revoke("k1", at=T0 + timedelta(days=2), reason="a")
        ring.revoke("k1", at=T0 + timedelta(days=5), reason="b")
        assert ring.resolve("k1").revoked_at == T0 + timedelta(days=2)
        ring.revoke("k1", at=T0 + timedelta(days=1), reason="c")
        assert ring.resolve("k1").revoked_at == T0 + timedelta(days=1)

    def test_json_round_trip(self) -> None:
        """The published keyring parses back to the same records."""
        ring = Keyring()
        ring.add(self.record("k1"))
        ring.rotate("k1", self.record("k2"), at=T0 + timedelta(days=1))
        ring.revoke("k2", at=T0 + timedelta(days=3), reason="lost")
        again = Keyring.from_dict(json.loads(ring.to_json()))
        assert [r.to_dict() for r in again] == [r.to_dict() for r in ring]

    def test_tampered_keyid_is_refused(self) -> None:
        """A published key whose keyid does not match its public key is refused."""
        data = self.record("k1").to_dict()
        data["keyid"] = "0" * 64
        with pytest.raises(AttestationError, match="does not match"):
            KeyRecord.from_dict(data)

    def test_duplicate_names_refused(self) -> None:
        """Names are unique within a keyring."""
        ring = Keyring()
        ring.add(self.record("k1"))
        with pytest.raises(AttestationKeyError, match="already in the keyring"):
            ring.add(self.record("k1"))

"""The issuing hot path writes exactly what the general encoders would.

The fast encoders (orjson canonical JSON, the PAE prefix, raw libsodium
signing, hand-written envelope and entry JSON) are held byte-for-byte to the
general ones, so an attestation is the same whichever path made it.
"""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_core.crypto import (
    Algorithm,
    Envelope,
    generate_signing_key,
    hash_leaf,
    pae,
    sign_envelope,
    verify_envelope,
)
from universal_attestation_authority import (
    AttestationStatementError,
    Authority,
    LogEntry,
    ResourceDescriptor,
    Statement,
)
from universal_attestation_authority._entry import EntryWriter, attestation_id
from universal_attestation_authority._signer import PayloadSigner
from universal_attestation_authority._statement import (
    PAYLOAD_TYPE,
    canonical_json,
    check_json_value,
)
from universal_attestation_authority.testing import sample_statement

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _stdlib(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class TestCanonicalJson:
    @settings(max_examples=150, deadline=None)
    @given(JSON_VALUES)
    def test_equals_the_standard_library(self, value: object) -> None:
        """canonical_json is byte-identical to sorted compact json.dumps for any JSON value."""
        floats = check_json_value(value, "value")
        assert canonical_json(value, floats=floats) == _stdlib(value)
        assert canonical_json(value) == _stdlib(value)

    @settings(max_examples=100, deadline=None)
    @given(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4))
    def test_statement_payload_is_the_standard_library_encoding(
        self, predicate: dict[str, object]
    ) -> None:
        """Whatever the predicate holds, the signed payload is sorted compact json.dumps."""
        subject = ResourceDescriptor(
            name="a", digest={"sha256": "a" * 64}, annotations={"f": 1e-5, "p": predicate}
        )
        statement = Statement.build([subject], "https://example.com/p", predicate)
        assert statement.canonical_bytes() == _stdlib(statement.to_json_dict())
        bare = Statement.build(
            [subject.model_copy(update={"annotations": None})], "https://example.com/p", predicate
        )
        assert bare.canonical_bytes() == _stdlib(bare.to_json_dict())

    @pytest.mark.parametrize(
        "value",
        [1.5e-7, 1e-5, [2e-9, "x"], {"a": 2**65}, {"v": "3e-5"}, 1e16, 5e-324, -0.0],
    )
    def test_the_cases_orjson_writes_differently(self, value: object) -> None:
        """Floats and huge integers take the standard-library path."""
        floats = check_json_value(value, "value")
        assert canonical_json(value, floats=floats) == _stdlib(value)

    def test_cached_bytes_follow_copies(self) -> None:
        """canonical_bytes is computed once; a copy with changed fields is re-encoded."""
        statement = sample_statement()
        first = statement.canonical_bytes()
        assert statement.canonical_bytes() is first
        changed = statement.model_copy(update={"predicate": {"n": 1e-5}})
        assert changed.canonical_bytes() == _stdlib(changed.to_json_dict())
        assert b'"predicate":{"n":1e-05}' in changed.canonical_bytes()
        assert statement.model_copy().canonical_bytes() == first

    @pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
    def test_non_finite_floats_are_refused_in_the_predicate(self, bad: float) -> None:
        """NaN/Infinity would sign as invalid JSON; building such a statement fails clearly."""
        subject = ResourceDescriptor(name="a", digest={"sha256": "a" * 64})
        with pytest.raises(AttestationStatementError, match="predicate"):
            Statement.build([subject], "https://example.com/p", {"x": [1, {"y": bad}]})

    def test_non_json_values_are_refused(self) -> None:
        """A datetime or an int key in the predicate is refused, not signed some other way."""
        subject = ResourceDescriptor(name="a", digest={"sha256": "a" * 64})
        with pytest.raises(AttestationStatementError, match="datetime"):
            Statement.build([subject], "https://example.com/p", {"t": datetime.datetime.now()})
        with pytest.raises(AttestationStatementError, match="non-string key"):
            Statement.build([subject], "https://example.com/p", {"m": {1: "x"}})


class TestPayloadSigner:
    @pytest.mark.parametrize(
        "algorithms",
        [[Algorithm.ED25519], [Algorithm.ECDSA_P256], [Algorithm.ED25519, Algorithm.ECDSA_P256]],
    )
    def test_envelope_matches_the_general_path(self, algorithms: list[Algorithm]) -> None:
        """Envelope JSON equals Envelope.to_json; signatures verify; Ed25519 bytes are identical."""
        keys = [generate_signing_key(a) for a in algorithms]
        signer = PayloadSigner([(k.verify_key.key_id, k) for k in keys])
        payload = sample_statement().canonical_bytes()
        message = signer.pae(payload)
        assert message == pae(PAYLOAD_TYPE, payload)
        ident = signer.attestation_id(message)
        signed = signer.sign(payload, message, ident)
        envelope = signer.envelope(signed)
        assert signed.envelope_json == envelope.to_json()
        assert Envelope.from_json(signed.envelope_json) == envelope
        assert ident == attestation_id(envelope)
        trusted = {k.verify_key.key_id: k.verify_key for k in keys}
        assert sorted(verify_envelope(envelope, trusted, threshold=len(keys))) == sorted(trusted)
        general = sign_envelope(payload, PAYLOAD_TYPE, keys)
        for ours, theirs, key in zip(envelope.signatures, general.signatures, keys, strict=True):
            assert ours.keyid == theirs.keyid
            if key.algorithm is Algorithm.ED25519:
                assert ours.sig == theirs.sig  # deterministic: the same libsodium signature

    def test_a_signer_needs_keyed_keys(self) -> None:
        """No keys, or a key without a keyid, is a programming error caught at construction."""
        with pytest.raises(ValueError, match="keyid"):
            PayloadSigner([])


class TestEntryWriter:
    @settings(max_examples=100, deadline=None)
    @given(
        st.text(max_size=20),
        st.text(max_size=30),
        st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=3),
        st.datetimes(timezones=st.just(datetime.UTC)),
    )
    def test_equals_log_entry_to_bytes(
        self, ident: str, predicate_type: str, keyids: list[str], when: datetime.datetime
    ) -> None:
        """The batch writer's bytes equal LogEntry.to_bytes (itself held to json.dumps)."""
        sigs = [bytes([i]) * 64 for i in range(len(keyids))]
        entry = LogEntry(
            ident,
            when,
            PAYLOAD_TYPE,
            predicate_type,
            tuple(
                (k, __import__("hashlib").sha256(s).hexdigest())
                for k, s in zip(keyids, sigs, strict=True)
            ),
        )
        writer = EntryWriter(
            LogEntry(ident, when, "", "", ()).to_dict()["integratedTime"], PAYLOAD_TYPE, keyids
        )
        assert writer.encode(ident, predicate_type, sigs) == entry.to_bytes()
        assert writer.encode(ident, predicate_type, sigs) == _stdlib(entry.to_dict())


class TestIssuedRecords:
    def test_issued_rows_agree_with_the_general_encoders(self, tmp_path: Path) -> None:
        """Stored envelope, entry and leaf hash are what Envelope/LogEntry/hash_leaf give."""
        authority = Authority.init(tmp_path / "a", "hot.example/log")
        authority.generate_key("p256", Algorithm.ECDSA_P256)
        statements = [sample_statement(content=bytes([i])) for i in range(5)]
        issued = authority.issue_many([*statements, statements[0]])
        assert issued[0] == issued[-1]
        assert [i.log_index for i in issued[:5]] == [0, 1, 2, 3, 4]
        for item, statement in zip(issued, statements, strict=False):
            row = authority.store.attestation(item.id)
            assert row is not None
            envelope = Envelope.from_json(row.envelope)
            assert envelope == item.envelope
            assert row.envelope == envelope.to_json()
            assert envelope.payload == statement.canonical_bytes()
            data = authority.store.entry(item.log_index)
            assert data is not None
            entry = LogEntry.from_bytes(data)
            assert entry == LogEntry.for_envelope(
                envelope, statement.predicate_type, entry.integrated_time
            )
            assert data == entry.to_bytes()
            assert authority.log.tree.leaf_hash(item.log_index) == hash_leaf(data)
        digest = statements[1].subject[0].digest["sha256"]
        assert authority.store.attestations_for_digest("sha256", digest) == [issued[1].id]
        authority.close()

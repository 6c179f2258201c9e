"""The store's schema 2: attestations found through short integer keys.

Keys can collide (60 bits of an id or of a digest hash), so every lookup must
check its candidates; databases written with schema 1 are migrated on open.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_core.crypto import hash_leaf
from universal_attestation_authority import Authority, IssuedAttestation, Policy, verify_bundle
from universal_attestation_authority._store import (
    AttestationRow,
    NewEntry,
    SqliteStore,
    attestation_key,
    subject_key,
)
from universal_attestation_authority.testing import policy_for, sample_statement

# The attestation and subject tables of schema 1, as earlier releases created them.
_SCHEMA_1 = """
CREATE TABLE attestations (
    id TEXT PRIMARY KEY,
    log_index INTEGER NOT NULL UNIQUE REFERENCES entries(idx),
    envelope TEXT NOT NULL,
    predicate_type TEXT NOT NULL,
    integrated_time TEXT NOT NULL
);
CREATE TABLE subjects (
    attestation_id TEXT NOT NULL REFERENCES attestations(id),
    name TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    digest TEXT NOT NULL
);
CREATE INDEX subjects_digest ON subjects(algorithm, digest);
"""


def _to_schema_1(path: Path) -> int:
    """Rewrite a schema-2 database the way schema 1 stored it; returns attestations moved."""
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT idx, data, envelope FROM entries WHERE envelope IS NOT NULL"
    ).fetchall()
    db.executescript(_SCHEMA_1)
    for index, data, envelope in rows:
        entry = json.loads(data)
        db.execute(
            "INSERT INTO attestations VALUES (?, ?, ?, ?, ?)",
            (entry["id"], index, envelope, entry["predicateType"], entry["integratedTime"]),
        )
        statement = json.loads(base64.b64decode(json.loads(envelope)["payload"]))
        for subject in statement["subject"]:
            for algorithm, digest in subject["digest"].items():
                db.execute(
                    "INSERT INTO subjects VALUES (?, ?, ?, ?)",
                    (entry["id"], subject.get("name", ""), algorithm, digest),
                )
    db.execute("DROP TABLE attestation_keys")
    db.execute("DROP TABLE subject_keys")
    db.execute("ALTER TABLE entries DROP COLUMN envelope")
    db.commit()
    db.close()
    return len(rows)


def _entry_json(ident: str, predicate_type: str = "https://slsa.dev/provenance/v1") -> bytes:
    return json.dumps(
        {
            "id": ident,
            "integratedTime": "2026-01-01T00:00:00.000000Z",
            "payloadType": "application/vnd.in-toto+json",
            "predicateType": predicate_type,
            "signatures": [],
            "v": 1,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def _envelope_about(digest: str) -> str:
    statement = {"subject": [{"name": "x", "digest": {"sha256": digest}}]}
    payload = base64.b64encode(json.dumps(statement).encode()).decode()
    return json.dumps({"payload": payload, "payloadType": "x", "signatures": []})


class TestMigration:
    def test_a_schema_1_database_opens_with_everything_still_there(self, tmp_path: Path) -> None:
        authority = Authority.init(tmp_path / "a", "store.example/log")
        statements = [sample_statement(content=bytes([i])) for i in range(6)]
        issued = authority.issue_many(statements)
        authority.publish()
        authority.log.append_data([b"raw entry, no attestation"])
        root = authority.log.tree.root()
        authority.close()
        database = tmp_path / "a" / "uaa.sqlite3"
        assert _to_schema_1(database) == 6

        reopened = Authority(tmp_path / "a")
        tables = {
            r[0]
            for r in sqlite3.connect(database).execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
        assert {"attestations", "subjects"}.isdisjoint(tables)
        assert {"attestation_keys", "subject_keys"} <= tables
        assert reopened.log.tree.root() == root
        for item, statement in zip(issued, statements, strict=True):
            row = reopened.store.attestation(item.id)
            assert row is not None
            assert (row.log_index, row.envelope) == (item.log_index, item.envelope_json)
            assert row.predicate_type == statement.predicate_type
            assert row.integrated_time == item.integrated_time
            digest = statement.subject[0].digest["sha256"]
            assert reopened.store.attestations_for_digest("sha256", digest) == [item.id]
        assert reopened.store.attestation_at(6) is None  # the raw entry
        # Issuing again is still idempotent, and new attestations follow on.
        again = reopened.issue_many([statements[2], sample_statement(content=b"new")])
        assert again[0] == issued[2]
        assert again[1].log_index == 7
        reopened.publish()
        policy = Policy.loads(policy_for(reopened))
        assert verify_bundle(reopened.bundle(issued[4].id), policy).ok
        reopened.close()

    def test_migrating_twice_is_harmless(self, tmp_path: Path) -> None:
        authority = Authority.init(tmp_path / "a", "store.example/log")
        item = authority.issue(sample_statement())
        authority.close()
        _to_schema_1(tmp_path / "a" / "uaa.sqlite3")
        SqliteStore(tmp_path / "a" / "uaa.sqlite3").close()
        store = SqliteStore(tmp_path / "a" / "uaa.sqlite3")
        row = store.attestation(item.id)
        assert row is not None
        assert row.envelope == item.envelope_json
        store.close()


class TestKeyCollisions:
    def test_ids_sharing_a_key_are_told_apart(self, tmp_path: Path) -> None:
        store = SqliteStore(tmp_path / "s.sqlite3")
        first, second = "a" * 15 + "0" * 49, "a" * 15 + "1" * 49
        assert attestation_key(first) == attestation_key(second)
        items = [
            NewEntry(
                data,
                hash_leaf(data),
                AttestationRow(ident, index, f'{{"n":{index}}}', "https://p.example/v1", "t"),
            )
            for index, (ident, data) in enumerate(
                (i, _entry_json(i, f"https://p.example/{n}")) for n, i in enumerate((first, second))
            )
        ]
        store.append_entries(0, items)
        one, two = store.attestation(first), store.attestation(second)
        assert one is not None
        assert two is not None
        assert (one.id, one.log_index, one.envelope) == (first, 0, '{"n":0}')
        assert (two.id, two.log_index, two.predicate_type) == (second, 1, "https://p.example/1")
        assert store.attestation("a" * 15 + "2" * 49) is None
        assert {r.id for r in store.attestations([second, first, second])} == {first, second}
        store.close()

    def test_a_subject_key_hit_is_checked_against_the_statement(self, tmp_path: Path) -> None:
        store = SqliteStore(tmp_path / "s.sqlite3")
        wanted, other = "1" * 64, "2" * 64
        ident = "b" * 64
        data = _entry_json(ident)
        # An entry indexed under ``wanted``'s key whose statement is about
        # ``other``: what a key collision looks like to the lookup.
        store.append_entries(
            0,
            [
                NewEntry(
                    data,
                    hash_leaf(data),
                    AttestationRow(ident, 0, _envelope_about(other), "p", "t"),
                    (("x", "sha256", wanted),),
                )
            ],
        )
        assert store.attestations_for_digest("sha256", wanted) == []
        store.close()

    def test_subject_keys_separate_algorithms(self) -> None:
        assert subject_key("sha256", "ab" * 32) != subject_key("sha512_256", "ab" * 32)
        assert subject_key("sha256", "ab" * 32) == subject_key("sha256", "ab" * 32)
        assert 0 <= subject_key("dirHash", "h1:anything") < 2**60


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path_factory.mktemp("empty") / "s.sqlite3")
    yield store
    store.close()


class TestLookupsTakeAnyText:
    @settings(max_examples=60, deadline=None)
    @given(ident=st.text(max_size=80), algorithm=st.text(max_size=20), digest=st.text(max_size=80))
    def test_unknown_ids_and_digests_find_nothing(
        self, empty_store: SqliteStore, ident: str, algorithm: str, digest: str
    ) -> None:
        assert empty_store.attestation(ident) is None
        assert empty_store.attestations([ident, ident]) == []
        assert empty_store.attestations_for_digest(algorithm, digest) == []


class TestBatchesMixingOldAndNew:
    def test_only_new_statements_are_logged_in_order(self, tmp_path: Path) -> None:
        authority = Authority.init(tmp_path / "a", "store.example/log")
        old = [sample_statement(content=b"old" + bytes([i])) for i in range(3)]
        first = authority.issue_many(old)
        new = [sample_statement(content=b"new" + bytes([i])) for i in range(3)]
        batch = [new[0], old[1], new[1], new[0], old[2], new[2]]
        issued = authority.issue_many(batch)
        assert [i.log_index for i in issued] == [3, 1, 4, 3, 2, 5]
        assert issued[1] == first[1]
        assert issued[4] == first[2]
        assert issued[0] == issued[3]
        assert authority.log.size == 6
        assert all(type(item) is IssuedAttestation for item in issued)
        assert issued[2].envelope.payload == new[1].canonical_bytes()
        for item in issued:
            row = authority.store.attestation(item.id)
            assert row is not None
            assert (row.log_index, row.envelope) == (item.log_index, item.envelope_json)
        digest = new[1].subject[0].digest["sha256"]
        assert authority.store.attestations_for_digest("sha256", digest) == [issued[2].id]
        authority.close()

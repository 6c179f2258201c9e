"""The ledger: append-only entries, signed checkpoints, proofs, tamper detection, escalation."""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cross_domain_autoblocker_ledger import (
    Alert,
    Autoblocker,
    Decision,
    Entry,
    Event,
    Ledger,
    LedgerDecisionError,
    LedgerIntegrityError,
    LedgerStoreError,
    parse_scenarios,
)
from shared_core.crypto import (
    Checkpoint,
    NoteVerifier,
    hash_leaf,
    verify_consistency,
    verify_inclusion,
)


class Clock:
    """A settable clock, so expiry is tested without sleeping."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ban(
    value: str, duration: float = 3600.0, scope: str = "Ip", now: float = 1_800_000_000.0
) -> Decision:
    return Decision.make(type="ban", scope=scope, value=value, duration=duration, now=now)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(tmp_path: Path, clock: Clock) -> Ledger:
    return Ledger.open(tmp_path / "ledger.db", clock=clock)


class TestWrites:
    def test_ids_are_entry_positions(self, ledger: Ledger) -> None:
        """Decision ids are their add entry's seq + 1; deletes are entries too."""
        added = ledger.add([ban("192.0.2.1"), ban("192.0.2.2")])
        assert [d.id for d in added] == [1, 2]
        ledger.delete([1], "false positive")
        assert ledger.size == 3
        entry = ledger.entry(2)
        assert (entry.op, entry.target, entry.reason) == ("delete", 1, "false positive")
        assert ledger.check("Ip", "192.0.2.1") == []
        assert [d.id for d in ledger.check("Ip", "192.0.2.2")] == [2]

    def test_delete_unknown_or_twice_writes_nothing(self, ledger: Ledger) -> None:
        """Bad deletes raise and leave the ledger unchanged."""
        ledger.add([ban("192.0.2.1")])
        with pytest.raises(LedgerDecisionError):
            ledger.delete([99])
        ledger.delete([1])
        with pytest.raises(LedgerDecisionError):
            ledger.delete([1])
        assert ledger.size == 2

    def test_expiry_follows_the_clock(self, ledger: Ledger, clock: Clock) -> None:
        """A decision leaves the index when its time is up; the ledger keeps it."""
        ledger.add([ban("192.0.2.1", duration=60)])
        assert ledger.check("Ip", "192.0.2.1")
        clock.now += 61
        assert ledger.check("Ip", "192.0.2.1") == []
        assert [d.id for d in ledger.expire()] == [1]
        assert ledger.size == 1
        assert 1 in ledger.decisions

    def test_reopen_restores_state(self, tmp_path: Path, clock: Clock) -> None:
        """State is rebuilt from entries on open: active, deleted, counts."""
        first = Ledger.open(tmp_path / "l.db", clock=clock)
        first.add(
            [ban("192.0.2.1"), ban("10.0.0.0/8", scope="Range"), ban("192.0.2.1", duration=7200)]
        )
        first.delete([1])
        root = first.root()
        first.close()
        again = Ledger.open(tmp_path / "l.db", clock=clock)
        assert again.root() == root
        assert sorted(d.id for d in again.active()) == [2, 3]
        assert again.previous_count("Ip", "192.0.2.1") == 2
        assert [d.id for d in again.check("Ip", "10.1.2.3")] == [2]


class TestProofs:
    def test_checkpoint_is_a_signed_c2sp_note(self, ledger: Ledger) -> None:
        """The checkpoint verifies with the ledger's verifier key and commits to the root."""
        ledger.add([ban(f"192.0.2.{i}") for i in range(1, 6)])
        verifier = NoteVerifier.parse(ledger.verifier.encode())
        checkpoint, _ = Checkpoint.open(
            ledger.checkpoint(), [verifier], origin="cdabl.local/ledger"
        )
        assert (checkpoint.size, checkpoint.root_hash) == (5, ledger.root())

    def test_inclusion_and_consistency_verify_independently(self, ledger: Ledger) -> None:
        """Proofs check out with shared_core's RFC 9162 verifiers alone."""
        for i in range(7):
            ledger.add([ban(f"198.51.100.{i}")])
        proof = ledger.inclusion(3, 6)
        leaf = base64.b64decode(proof["leaf"])
        verify_inclusion(
            hash_leaf(leaf), 3, 6, [bytes.fromhex(p) for p in proof["proof"]], ledger.root(6)
        )
        cons = ledger.consistency(3)
        verify_consistency(
            3, 7, [bytes.fromhex(p) for p in cons["proof"]], ledger.root(3), ledger.root()
        )


def _tamper(path: Path, sql: str, *params: object) -> None:
    db = sqlite3.connect(path)
    db.execute(sql, params)
    db.commit()
    db.close()


class TestTamperEvidence:
    @pytest.fixture
    def written(self, tmp_path: Path, clock: Clock) -> Path:
        ledger = Ledger.open(tmp_path / "l.db", clock=clock)
        ledger.add([ban("192.0.2.1"), ban("192.0.2.2")])
        ledger.add([ban("10.0.0.0/8", scope="Range")])
        ledger.delete([2])
        ledger.close()
        return tmp_path / "l.db"

    @pytest.mark.parametrize(
        ("sql", "needle"),
        [
            (
                "UPDATE entries SET leaf = replace(leaf, '10.0.0.0/8', '11.0.0.0/8') WHERE seq = 2",
                "history was rewritten",
            ),
            ("DELETE FROM entries WHERE seq = 3", "truncated"),
            ("DELETE FROM entries WHERE seq = 1", "entry 1 is missing"),
            (
                "UPDATE entries SET leaf = CAST(leaf AS TEXT) || ' ' WHERE seq = 0",
                "history was rewritten",
            ),
            (
                "UPDATE checkpoints SET note = replace(note, 'cdabl', 'cdabx') WHERE size = 4",
                "does not verify",
            ),
            (
                'INSERT INTO entries (seq, leaf) VALUES (4, CAST(\'{"id":1,"op":"delete","reason":"","seq":4,"time":1.0,"v":1}\' AS BLOB))',
                "not covered by any signed checkpoint",
            ),
        ],
    )
    def test_detected_on_open(self, written: Path, clock: Clock, sql: str, needle: str) -> None:
        """Edits, deletions, truncation, forged checkpoints and unsigned appends fail the open."""
        _tamper(written, sql)
        with pytest.raises(LedgerIntegrityError) as info:
            Ledger.open(written, clock=clock)
        assert needle in info.value.message
        assert info.value.hint

    def test_rewrite_with_resigned_checkpoints_needs_the_key(
        self, written: Path, clock: Clock, tmp_path: Path
    ) -> None:
        """Swapping in another key (to re-sign a rewritten history) is refused."""
        other = tmp_path / "other"
        Ledger.open(other / "x.db", clock=clock).close()
        with pytest.raises(LedgerIntegrityError, match="not the key this ledger was created with"):
            Ledger.open(written, other / "x.key", clock=clock)

    def test_missing_key_is_a_clear_error(self, written: Path, clock: Clock) -> None:
        """A ledger without its key is not silently re-keyed."""
        written.with_suffix(".key").unlink()
        with pytest.raises(LedgerStoreError, match="signing key"):
            Ledger.open(written, clock=clock)


class TestStream:
    def test_changes_since(self, ledger: Ledger, clock: Clock) -> None:
        """A bouncer gets new decisions, explicit deletes and expiries since its last pull."""
        ledger.add([ban("192.0.2.1", duration=100), ban("192.0.2.2", duration=10_000)])
        seen_seq, seen_at = ledger.size - 1, clock.now
        clock.now += 200  # 192.0.2.1 expired
        ledger.add([ban("192.0.2.3")])
        ledger.delete([2])
        delta = ledger.changes_since(seen_seq, seen_at)
        assert [d.value for d in delta.new] == ["192.0.2.3"]
        assert sorted(d.value for d in delta.deleted) == ["192.0.2.1", "192.0.2.2"]
        assert delta.seq == ledger.size - 1


class TestAutoblocker:
    def test_alerts_become_escalating_decisions(self, ledger: Ledger, clock: Clock) -> None:
        """Repeat offenders get longer bans; an active ban suppresses duplicates."""
        scenario = parse_scenarios(
            "name: t\ncapacity: 1\nblackhole: 0\nremediation: {duration: 1h, increment: {maxtime: 3h}}\n"
        )
        blocker = Autoblocker(ledger, scenario)
        burst = [Event(float(t), "ssh", "ssh_failed_auth", "192.0.2.9") for t in range(4)]
        first = blocker.run(burst)
        assert [d.until - d.created for d in first.decisions] == [3600.0]
        assert first.suppressed == 1  # the second overflow while the ban is on
        clock.now += 3601
        second = blocker.run(
            [Event(5000.0 + t, "ssh", "ssh_failed_auth", "192.0.2.9") for t in range(2)]
        )
        assert [d.until - d.created for d in second.decisions] == [7200.0]
        assert ledger.previous_count("Ip", "192.0.2.9") == 2

    def test_host_names_are_not_banned(self, ledger: Ledger) -> None:
        """A source that is a host name (sshd with UseDNS) is alerted but not decided."""
        blocker = Autoblocker(ledger, parse_scenarios("name: t\ncapacity: 1\n"))
        report = blocker.run(
            [Event(0.0, "ssh", "k", "example.com"), Event(1.0, "ssh", "k", "example.com")]
        )
        assert len(report.alerts) == 1
        assert report.decisions == []
        assert report.unresolvable == 1

    def test_dry_run_records_nothing(self) -> None:
        """Without a ledger, alerts are reported and nothing is decided."""
        blocker = Autoblocker(None, parse_scenarios("name: t\ncapacity: 1\n"))
        report = blocker.run(
            [Event(0.0, "ssh", "k", "192.0.2.1"), Event(1.0, "ssh", "k", "192.0.2.1")]
        )
        assert isinstance(report.alerts[0], Alert)
        assert report.decisions == []


class TestDecoders:
    @settings(max_examples=150, deadline=None)
    @given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
    def test_entry_parse_arbitrary_bytes(self, data: bytes) -> None:
        """Any stored leaf is an entry or a LedgerIntegrityError, never another exception."""
        try:
            entry = Entry.parse(data)
        except LedgerIntegrityError:
            return
        assert entry.op in ("add", "delete")

    @settings(max_examples=100, deadline=None)
    @given(
        st.dictionaries(
            st.sampled_from(["v", "seq", "op", "time", "decision", "id", "reason"]),
            st.none()
            | st.integers()
            | st.floats()
            | st.text(max_size=10)
            | st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=4),
            max_size=7,
        )
    )
    def test_entry_parse_arbitrary_json(self, body: dict[str, object]) -> None:
        """JSON objects shaped almost like entries are refused with our error."""
        data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        with contextlib.suppress(LedgerIntegrityError):
            Entry.parse(data)


class TestApplyReplicated:
    def _op(self, value: str, when: float = 1_800_000_000.0) -> dict[str, object]:
        decision = ban(value)
        return {"op": "add", "time": when, "decisions": [{**decision.to_dict(), "id": 0}]}

    def test_same_ops_same_root_on_two_nodes(self, tmp_path: Path) -> None:
        """Two ledgers fed the same operations reach the same root, whatever their own clocks."""
        ops = [
            self._op("192.0.2.1"),
            self._op("192.0.2.2"),
            {"op": "delete", "time": 5.0, "ids": [1], "reason": "fp"},
        ]
        a = Ledger.open(tmp_path / "a.db", clock=Clock(1.0))
        b = Ledger.open(tmp_path / "b.db", clock=Clock(9e9))
        for position, op in enumerate(ops, 1):
            a.apply_replicated(position, op)
            b.apply_replicated(position, op)
        assert a.size == b.size == 3
        assert a.root() == b.root()
        assert a.applied_position == b.applied_position == 3

    def test_duplicates_invalid_and_malformed_ops_add_nothing(self, ledger: Ledger) -> None:
        """A redelivered position, a delete of an unknown id and a garbled op append no entry."""
        assert len(ledger.apply_replicated(1, self._op("192.0.2.1"))) == 1
        assert ledger.apply_replicated(1, self._op("192.0.2.9")) == []  # redelivery
        assert ledger.apply_replicated(2, {"op": "delete", "time": 1.0, "ids": [7]}) == []
        assert ledger.apply_replicated(3, {"op": "add", "time": "soon", "decisions": 5}) == []
        assert ledger.apply_replicated(4, {}) == []
        assert ledger.size == 1
        assert ledger.applied_position == 4

    def test_position_survives_restart(self, tmp_path: Path, clock: Clock) -> None:
        """The applied position is stored with the entries and read back on open."""
        first = Ledger.open(tmp_path / "l.db", clock=clock)
        first.apply_replicated(5, self._op("192.0.2.1"))
        first.close()
        again = Ledger.open(tmp_path / "l.db", clock=clock)
        assert again.applied_position == 5
        assert again.apply_replicated(5, self._op("192.0.2.1")) == []


class TestWriterLock:
    def test_one_writer_at_a_time_readers_alongside(self, tmp_path: Path, clock: Clock) -> None:
        """A second writer is refused with a hint; a reader opens beside the writer and cannot write."""
        writer = Ledger.open(tmp_path / "l.db", clock=clock)
        writer.add([ban("192.0.2.1")])
        with pytest.raises(LedgerStoreError, match="being written by another process") as info:
            Ledger.open(tmp_path / "l.db", clock=clock)
        assert "HTTP API" in (info.value.hint or "")
        reader = Ledger.open(tmp_path / "l.db", clock=clock, read_only=True)
        assert [d.value for d in reader.active()] == ["192.0.2.1"]
        with pytest.raises(LedgerStoreError, match="read-only"):
            reader.add([ban("192.0.2.2")])
        writer.add([ban("192.0.2.3")])
        assert (
            reader.verify_checkpoints(live=True)["entries"] == 1
        )  # newer checkpoints wait for the next open
        reader.close()
        writer.close()
        again = Ledger.open(tmp_path / "l.db", clock=clock)
        assert again.size == 2
        again.close()

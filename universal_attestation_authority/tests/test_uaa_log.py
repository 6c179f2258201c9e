"""The transparency log: durability, tiles, proofs and offline verification."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shared_core.crypto import Checkpoint, generate_note_key, verify_consistency, verify_inclusion
from universal_attestation_authority import (
    AttestationLogError,
    AttestationProofError,
    Authority,
    TileRef,
    decode_entry_bundle,
    export_tiles,
    verify_entry_offline,
)
from universal_attestation_authority.testing import sample_statement

ORIGIN = "attest.example/log"


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    auth = Authority.init(tmp_path / "auth", ORIGIN)
    yield auth
    auth.close()


class TestLog:
    def test_publish_covers_everything_appended(self, authority: Authority) -> None:
        """A checkpoint's size and root are those of all committed entries."""
        authority.issue_many([sample_statement(content=bytes([i])) for i in range(10)])
        row = authority.publish()
        checkpoint, _ = Checkpoint.open(row.note, [authority.log_verifier])
        assert checkpoint.size == 10
        assert checkpoint.root_hash == authority.log.tree.root(10)

    def test_proofs_only_for_published_sizes(self, authority: Authority) -> None:
        """Entries not yet covered by a checkpoint have no proof."""
        authority.issue(sample_statement(content=b"a"))
        authority.publish()
        authority.issue(sample_statement(content=b"b"))
        with pytest.raises(AttestationLogError, match="not covered"):
            authority.log.inclusion_proof(1)
        size, proof = authority.log.inclusion_proof(0)
        assert size == 1
        assert proof == []

    def test_consistency_between_checkpoints(self, authority: Authority) -> None:
        """Consistency proofs link every pair of published checkpoints."""
        roots = {}
        for batch in range(4):
            authority.issue_many([sample_statement(content=bytes([batch, i])) for i in range(7)])
            roots[authority.publish().size] = authority.log.tree.root()
        for old, old_root in roots.items():
            new, proof = authority.log.consistency_proof(old)
            verify_consistency(old, new, proof, old_root, roots[new])

    def test_tiles_served_by_the_log(self, authority: Authority) -> None:
        """Level-0 tiles hold the leaf hashes; entry bundles hold the entries."""
        authority.issue_many([sample_statement(content=i.to_bytes(2, "big")) for i in range(300)])
        authority.publish()
        tile = authority.log.tile(TileRef(0, 0))
        assert len(tile) == 256 * 32
        assert tile[32:64] == authority.log.tree.leaf_hash(1)
        partial = authority.log.tile(TileRef(0, 1, 44))
        assert partial[-32:] == authority.log.tree.leaf_hash(299)
        entries = decode_entry_bundle(authority.log.tile(TileRef(-1, 1, 44)), expected=44)
        assert entries[0] == authority.store.entry(256)
        with pytest.raises(AttestationLogError, match="not published"):
            authority.log.tile(TileRef(0, 1, 45))

    def test_two_processes_share_one_database(self, tmp_path: Path) -> None:
        """A CLI run next to a server: each catches up with the other's entries instead of failing."""
        with Authority.init(tmp_path / "a", ORIGIN) as first, Authority(tmp_path / "a") as second:
            one = first.issue(sample_statement(content=b"first"))
            two = second.issue(sample_statement(content=b"second"))  # second's tree was stale
            assert (one.log_index, two.log_index) == (0, 1)
            assert second.publish().size == 2
            bundle = first.bundle(one.id)  # first catches up with second's checkpoint
            assert bundle.log is not None
            assert bundle.log.tree_size == 2
            assert first.log.tree.root() == second.log.tree.root()
            assert first.log.append_data([b"raw"]) == 2

    def test_tampered_database_is_refused(self, tmp_path: Path) -> None:
        """Changing a stored entry under a published checkpoint makes open fail."""
        with Authority.init(tmp_path / "a", ORIGIN) as auth:
            auth.issue_many([sample_statement(content=bytes([i])) for i in range(3)])
            auth.publish()
        db = sqlite3.connect(tmp_path / "a" / "uaa.sqlite3")
        db.execute("UPDATE entries SET leaf_hash = ? WHERE idx = 1", (b"\x00" * 32,))
        db.commit()
        db.close()
        with pytest.raises(AttestationLogError, match="do not match the published checkpoint"):
            Authority(tmp_path / "a")


CRASHER = textwrap.dedent(
    """
    import sys
    from universal_attestation_authority import Authority
    from universal_attestation_authority.testing import sample_statement
    auth = Authority(sys.argv[1])
    batch = int(sys.argv[2]) * 100000
    while True:
        issued = auth.issue_many([sample_statement(content=(batch * 20 + i).to_bytes(8, "big")) for i in range(20)])
        print("issued", " ".join(a.id for a in issued), flush=True)
        if batch % 3 == 0:
            auth.publish()
        batch += 1
    """
)


class TestCrashSafety:
    @pytest.mark.slow
    def test_kill_mid_append_loses_nothing(self, tmp_path: Path) -> None:
        """SIGKILL while appending: every acknowledged attestation survives, the tree matches."""
        data = tmp_path / "auth"
        Authority.init(data, ORIGIN).close()
        acknowledged: list[str] = []
        proc = subprocess.Popen(
            [sys.executable, "-c", CRASHER, str(data), "1"], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        batches = 0
        while batches < 12:
            line = proc.stdout.readline()
            assert line, "the appender died on its own"
            if line.startswith("issued "):  # other lines are log output
                acknowledged.extend(line.split()[1:])
                batches += 1
        os.kill(
            proc.pid, signal.SIGKILL
        )  # it is appending continuously: mid-append, or between steps
        proc.wait()
        proc.stdout.close()
        with Authority(data) as auth:  # open re-hashes the entries against the last checkpoint
            for aid in acknowledged:
                assert auth.store.attestation(aid) is not None
            before = auth.log.latest()
            assert before is not None  # the appender published every third batch
            row = auth.publish()
            assert row.size == auth.log.size >= len(set(acknowledged))
            assert row.root_hash == auth.log.tree.root()
            _, proof = auth.log.consistency_proof(before.size, row.size)
            verify_consistency(before.size, row.size, proof, before.root_hash, row.root_hash)


class TestOfflineVerify:
    def test_export_and_verify_every_entry(self, authority: Authority, tmp_path: Path) -> None:
        """Exported tiles plus the checkpoint prove every entry, with no authority."""
        issued = authority.issue_many(
            [sample_statement(content=i.to_bytes(2, "big")) for i in range(600)]
        )
        authority.publish()
        out = tmp_path / "export"
        assert export_tiles(authority.log, out) == 600
        note = (out / "checkpoint").read_bytes()
        for index in (0, 255, 256, 599):
            result = verify_entry_offline(note, out, index, log_keys=[authority.log_verifier])
            assert result.parsed is not None
            assert result.parsed.id == issued[index].id
            verify_inclusion(
                authority.log.tree.leaf_hash(index),
                index,
                600,
                list(result.proof),
                authority.log.tree.root(),
            )

    def test_older_checkpoint_against_newer_tiles(
        self, authority: Authority, tmp_path: Path
    ) -> None:
        """An old bundle's checkpoint verifies against tiles exported at a later size."""
        authority.issue_many([sample_statement(content=i.to_bytes(2, "big")) for i in range(10)])
        old_note = authority.publish().note
        authority.issue_many(
            [sample_statement(content=i.to_bytes(2, "big")) for i in range(10, 300)]
        )
        authority.publish()
        export_tiles(authority.log, tmp_path / "later")
        result = verify_entry_offline(
            old_note, tmp_path / "later", 7, log_keys=[authority.log_verifier]
        )
        assert result.checkpoint.size == 10
        assert result.parsed is not None

    def test_tampered_tile_is_detected(self, authority: Authority, tmp_path: Path) -> None:
        """Flipping one byte of a tile breaks the root check."""
        authority.issue_many([sample_statement(content=bytes([i])) for i in range(20)])
        authority.publish()
        export_tiles(authority.log, tmp_path / "e")
        tile = tmp_path / "e" / TileRef(0, 0, 20).path()
        raw = bytearray(tile.read_bytes())
        raw[100] ^= 1
        tile.write_bytes(bytes(raw))
        with pytest.raises(AttestationProofError, match=r"root|leaf"):
            verify_entry_offline(
                (tmp_path / "e" / "checkpoint").read_bytes(),
                tmp_path / "e",
                3,
                log_keys=[authority.log_verifier],
            )

    def test_wrong_log_key_is_detected(self, authority: Authority, tmp_path: Path) -> None:
        """A checkpoint not signed by the given log key is refused."""
        authority.issue(sample_statement())
        authority.publish()
        export_tiles(authority.log, tmp_path / "e")
        other = generate_note_key(ORIGIN).verifier
        with pytest.raises(AttestationProofError, match="checkpoint"):
            verify_entry_offline(
                (tmp_path / "e" / "checkpoint").read_bytes(), tmp_path / "e", 0, log_keys=[other]
            )

    def test_missing_tiles(self, authority: Authority, tmp_path: Path) -> None:
        """Verifying against an empty directory says which tile is missing."""
        authority.issue(sample_statement())
        authority.publish()
        export_tiles(authority.log, tmp_path / "e")
        note = (tmp_path / "e" / "checkpoint").read_bytes()
        (tmp_path / "empty").mkdir()
        with pytest.raises(AttestationProofError, match="cannot read tile"):
            verify_entry_offline(note, tmp_path / "empty", 0, log_keys=[authority.log_verifier])

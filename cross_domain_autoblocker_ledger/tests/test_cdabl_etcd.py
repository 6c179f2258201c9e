"""Replication through a real 3-member etcd cluster on loopback.

Three ledger nodes write through different nodes while one etcd member and
one ledger node are stopped and restarted; afterwards every node holds every
decision exactly once and all three reach the same Merkle root.  A retried
proposal (same operation id) is applied once.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cross_domain_autoblocker_ledger import Decision, Ledger, LedgerInputError
from cross_domain_autoblocker_ledger._writer import EtcdWriter
from shared_core.testing import free_port

ETCD = shutil.which("etcd") or ("/usr/bin/etcd" if Path("/usr/bin/etcd").exists() else None)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.network,
    pytest.mark.skipif(
        ETCD is None,
        reason="Debian package etcd-server is not installed (apt-get install etcd-server)",
    ),
]


class EtcdCluster:
    """Three etcd members with their own data directories, peered on loopback."""

    def __init__(self, root: Path, members: int = 3) -> None:
        self.root = root
        self.clients = [free_port() for _ in range(members)]
        self.peers = [free_port() for _ in range(members)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * members

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.clients]

    def start(self, i: int) -> None:
        assert ETCD is not None
        initial = ",".join(f"m{j}=http://127.0.0.1:{p}" for j, p in enumerate(self.peers))
        log = (self.root / f"m{i}.log").open("ab")
        self.procs[i] = subprocess.Popen(
            [
                ETCD,
                "--name",
                f"m{i}",
                "--data-dir",
                str(self.root / f"m{i}"),
                "--listen-client-urls",
                self.urls[i],
                "--advertise-client-urls",
                self.urls[i],
                "--listen-peer-urls",
                f"http://127.0.0.1:{self.peers[i]}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{self.peers[i]}",
                "--initial-cluster",
                initial,
                "--initial-cluster-token",
                "cdabl-test",
                "--initial-cluster-state",
                "new",
                "--heartbeat-interval",
                "50",
                "--election-timeout",
                "500",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def stop(self, i: int) -> None:
        proc = self.procs[i]
        assert proc is not None
        proc.kill()
        proc.wait(timeout=10)
        self.procs[i] = None

    def close(self) -> None:
        for i, proc in enumerate(self.procs):
            if proc is not None:
                self.stop(i)


def _ban(value: str, n: int) -> Decision:
    return Decision(0, str(uuid.uuid4()), "test", "ban", "Ip", value, 0.0, 4e9, f"etcd-{n}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """One cluster for the module: each test keeps its log under its own key prefix."""
    c = EtcdCluster(tmp_path_factory.mktemp("etcd"))
    for i in range(3):
        c.start(i)
    try:
        yield c
    finally:
        c.close()


def _node(tmp_path: Path, name: str, urls: list[str], prefix: str) -> tuple[Ledger, EtcdWriter]:
    ledger = Ledger.open(
        tmp_path / f"{name}.db", tmp_path / f"{name}.key", origin="cdabl.test/etcd"
    )
    # Members answer as soon as they have a leader; generous timeout for a loaded machine.
    return ledger, EtcdWriter(ledger, urls, prefix=prefix, timeout=60.0)


def test_three_nodes_same_root_through_member_and_node_restarts(
    cluster: EtcdCluster, tmp_path: Path
) -> None:
    nodes = [_node(tmp_path, f"n{i}", cluster.urls, "/t1") for i in range(3)]
    try:
        written = 0
        for round_ in range(4):
            for _ledger, writer in nodes:
                if writer is None:
                    continue
                writer.add([_ban(f"192.0.2.{written % 250 + 1}", written)])
                written += 1
            if round_ == 1:
                # One etcd member and one ledger node go away mid-stream.
                cluster.stop(2)
                ledger, writer = nodes[1]
                writer.close()
                ledger.close()
                nodes[1] = (ledger, None)  # type: ignore[assignment]  # down for a round
            if round_ == 2:
                cluster.start(2)
                nodes[1] = _node(tmp_path, "n1", cluster.urls, "/t1")
        # A revocation through a restarted node.
        first_id = min(nodes[1][0].decisions)
        nodes[1][1].delete([first_id], reason="false positive")
        for _ledger, writer in nodes:
            writer.sync()
        sizes = {ledger.size for ledger, _ in nodes}
        roots = {ledger.root() for ledger, _ in nodes}
        assert sizes == {written + 1}
        assert len(roots) == 1
        for ledger, _ in nodes:
            reasons = sorted(d.scenario for d in ledger.decisions.values())
            assert reasons == sorted(f"etcd-{n}" for n in range(written))  # none lost, none twice
            assert first_id in ledger.deleted
            ledger.verify_checkpoints([ledger.verifier], live=True)
    finally:
        for ledger, writer in nodes:
            if writer is not None:
                writer.close()
            ledger.close()


def test_retried_proposal_is_applied_once(cluster: EtcdCluster, tmp_path: Path) -> None:
    ledger, writer = _node(tmp_path, "solo", cluster.urls, "/t2")
    try:
        decision = _ban("198.51.100.7", 1)
        first = writer.replicator.propose_add([decision])
        again = writer.replicator.propose_add([decision])  # same uuid: same operation id
        assert first == again
        writer.replicator.wait_applied(again)
        assert ledger.size == 1
        assert writer.replicator.last_position() == first
    finally:
        writer.close()
        ledger.close()


def test_follower_applies_other_nodes_writes_without_being_asked(
    cluster: EtcdCluster, tmp_path: Path
) -> None:
    (la, wa), (lb, wb) = (_node(tmp_path, n, cluster.urls, "/t3") for n in ("a", "b"))
    try:
        wa.add([_ban("203.0.113.9", 1)])
        deadline = time.monotonic() + 30
        while lb.size < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lb.size == 1
        assert lb.root() == la.root()
    finally:
        for ledger, writer in ((la, wa), (lb, wb)):
            writer.close()
            ledger.close()


def test_bad_endpoint_is_an_input_error(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "x.db", tmp_path / "x.key")
    try:
        with pytest.raises(LedgerInputError, match="not an etcd endpoint"):
            EtcdWriter(ledger, "ftp://127.0.0.1:1")
    finally:
        ledger.close()


def test_cli_nodes_replicate_through_etcd(
    cluster: EtcdCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two CLI nodes with --etcd-endpoints: a ban added on one is checked on the other."""
    from cross_domain_autoblocker_ledger.cli import main
    from shared_core.testing import run_cli

    monkeypatch.setenv("CROSS_DOMAIN_AUTOBLOCKER_LEDGER_ETCD_PREFIX", "/t4")
    endpoints = ",".join(cluster.urls)
    added = run_cli(
        main,
        [
            *("--data-dir", str(tmp_path / "a"), "--etcd-endpoints", endpoints),
            *("decisions", "add", "--ip", "192.0.2.44", "--duration", "1h"),
        ],
    )
    assert added.code == 0, added.err
    synced = run_cli(
        main, ["--data-dir", str(tmp_path / "b"), "--etcd-endpoints", endpoints, "ledger", "sync"]
    )
    assert synced.code == 0, synced.err
    checked = run_cli(main, ["--data-dir", str(tmp_path / "b"), "check", "192.0.2.44"])
    assert checked.code == 0
    assert "192.0.2.44: blocked" in checked.out
    both = run_cli(
        main,
        [
            *("--data-dir", str(tmp_path / "c"), "--etcd-endpoints", endpoints),
            *("--nats-servers", "nats://127.0.0.1:1", "ledger", "sync"),
        ],
    )
    assert both.code == 2
    assert "both nats_servers and etcd_endpoints" in both.err

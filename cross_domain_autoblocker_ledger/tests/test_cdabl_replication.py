"""Replication over a real 3-server NATS JetStream cluster on loopback.

Three ledger nodes write through different nodes while one NATS server and
one ledger node are killed and restarted; afterwards every node holds every
decision exactly once and all three reach the same Merkle root.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from cross_domain_autoblocker_ledger import Decision, Ledger
from shared_core.testing import free_port

NATS = shutil.which("nats-server") or (
    "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.network,
    pytest.mark.skipif(
        NATS is None,
        reason="Debian package nats-server is not installed (apt-get install nats-server)",
    ),
]


class Cluster:
    """Three nats-server processes with JetStream, routed to each other on loopback."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ports = [free_port() for _ in range(3)]
        self.routes = [free_port() for _ in range(3)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None, None, None]

    @property
    def urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{p}" for p in self.ports]

    def start(self, i: int) -> None:
        assert NATS is not None
        routes = ",".join(f"nats://127.0.0.1:{p}" for p in self.routes)
        self.procs[i] = subprocess.Popen(
            [
                NATS,
                "-js",
                "-sd",
                str(self.root / f"s{i}"),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.ports[i]),
                "-n",
                f"s{i}",
                "--cluster_name",
                "cdabl",
                "--cluster",
                f"nats://127.0.0.1:{self.routes[i]}",
                "--routes",
                routes,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self, i: int) -> None:
        proc = self.procs[i]
        assert proc is not None
        proc.kill()
        proc.wait(timeout=10)
        self.procs[i] = None

    def stop(self) -> None:
        for i, proc in enumerate(self.procs):
            if proc is not None:
                self.kill(i)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    nodes = Cluster(tmp_path / "nats")
    for i in range(3):
        nodes.start(i)
    try:
        yield nodes
    finally:
        nodes.stop()


def _bans(prefix: str, n: int, now: float) -> list[Decision]:
    return [
        Decision.make(type="ban", scope="Ip", value=f"{prefix}.{i}", duration=3600, now=now)
        for i in range(n)
    ]


def test_three_nodes_converge_through_failures(cluster: Cluster, tmp_path: Path) -> None:
    """No decision lost, none duplicated, identical roots, across a server kill and a node restart."""
    from cross_domain_autoblocker_ledger._replication import JetStreamReplicator

    paths = [tmp_path / f"node{i}" / "ledger.db" for i in range(3)]

    async def scenario() -> None:
        ledgers = [Ledger.open(p, origin=f"node{i}.cdabl.test/ledger") for i, p in enumerate(paths)]
        reps = [JetStreamReplicator(ledger, cluster.urls, timeout=60) for ledger in ledgers]
        for rep in reps:
            await rep.start()
        now = ledgers[0].clock()
        last = 0
        for batch in range(5):  # writes through node 0 and node 1, interleaved
            last = await reps[0].propose_add(_bans(f"10.0.{batch}", 4, now))
            last = await reps[1].propose_add(_bans(f"10.1.{batch}", 4, now))
        # Kill one NATS server and one ledger node mid-stream.
        cluster.kill(0)
        await reps[2].stop()
        ledgers[2].close()
        for batch in range(5, 8):
            last = await reps[0].propose_add(_bans(f"10.0.{batch}", 4, now))
            last = await reps[1].propose_add(_bans(f"10.1.{batch}", 4, now))
        last = await reps[1].propose_delete([1, 2], "false positive")
        # Restart both; the node resumes after the position it stored.
        cluster.start(0)
        ledgers[2] = Ledger.open(paths[2], origin="node2.cdabl.test/ledger")
        reps[2] = JetStreamReplicator(ledgers[2], cluster.urls, timeout=60)
        await reps[2].start()
        last = await reps[2].propose_add(_bans("10.2.0", 4, now))
        for rep in reps:
            await rep.wait_applied(last, timeout=60)
        sizes = [ledger.size for ledger in ledgers]
        roots = [ledger.root().hex() for ledger in ledgers]
        values = [sorted(d.value for d in ledger.decisions.values()) for ledger in ledgers]
        actives = [sorted(d.id for d in ledger.active()) for ledger in ledgers]
        for rep in reps:
            await rep.stop()
        for ledger in ledgers:
            ledger.verify_checkpoints()
            ledger.close()
        assert sizes == [70, 70, 70]  # 68 adds + 2 deletes
        assert len(set(roots)) == 1
        assert values[0] == values[1] == values[2]
        assert len(values[0]) == len(set(values[0])) == 68
        assert actives[0] == actives[1] == actives[2]
        assert 1 not in actives[0]
        assert 2 not in actives[0]

    anyio.run(scenario)


@pytest.fixture
def single_server(tmp_path: Path) -> Iterator[str]:
    assert NATS is not None
    port = free_port()
    proc = subprocess.Popen(
        [NATS, "-js", "-sd", str(tmp_path / "js"), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_cli_nodes_share_one_history(single_server: str, tmp_path: Path) -> None:
    """With --nats-servers, CLI writes on two nodes go through the stream; sync gives equal roots."""
    import json

    from cross_domain_autoblocker_ledger.cli import main
    from shared_core.testing import run_cli

    def node(i: int, *argv: str) -> dict[str, object] | list[object]:
        result = run_cli(
            main,
            [
                "--data-dir",
                str(tmp_path / f"n{i}"),
                "--nats-servers",
                single_server,
                "--nats-replicas",
                "1",
                "--json",
                *argv,
            ],
        )
        assert result.code == 0, result.err
        return json.loads(result.out)  # type: ignore[no-any-return]

    node(1, "decisions", "add", "--ip", "192.0.2.1")
    node(2, "decisions", "add", "--ip", "192.0.2.2")  # node 2 first applies node 1's write
    node(1, "decisions", "delete", "1")
    one = node(1, "ledger", "sync")
    two = node(2, "ledger", "sync")
    assert isinstance(one, dict)
    assert isinstance(two, dict)
    assert one["entries"] == two["entries"] == 3
    assert one["root"] == two["root"]
    listed = node(2, "decisions", "list")
    assert [d["value"] for d in listed] == ["192.0.2.2"]  # type: ignore[index]


def test_api_writes_through_the_stream(single_server: str, tmp_path: Path) -> None:
    """The HTTP API of a replicated node proposes to the stream and answers once applied."""
    import httpx

    from cross_domain_autoblocker_ledger import ApiServer, Autoblocker, create_app, parse_scenarios
    from cross_domain_autoblocker_ledger._writer import ReplicatedWriter

    ledger = Ledger.open(tmp_path / "a" / "ledger.db")
    writer = ReplicatedWriter(ledger, [single_server], replicas=1)
    blocker = Autoblocker(
        ledger, parse_scenarios("name: t\ncapacity: 1\nfilter: {domain: ssh}\n"), writer=writer
    )
    server = ApiServer(
        create_app(ledger, blocker, "token-0123456789abcdef", writer=writer), "127.0.0.1", 0
    )
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            auth = {"Authorization": "Bearer token-0123456789abcdef"}
            created = client.post("/v1/decisions", json={"value": "192.0.2.5"}, headers=auth)
            assert created.status_code == 201, created.text
            assert created.json()[0]["id"] == 1
            events = [
                {"time": float(t), "domain": "ssh", "kind": "k", "source": "198.51.100.9"}
                for t in range(2)
            ]
            assert [
                d["value"]
                for d in client.post("/v1/events", json=events, headers=auth).json()["decisions"]
            ] == ["198.51.100.9"]
            assert client.delete("/v1/decisions/1", headers=auth).json()["nbDeleted"] == "1"
        assert ledger.size == 3
        assert ledger.applied_position == 3
    finally:
        server.stop()
        writer.close()
        ledger.close()
    other = Ledger.open(tmp_path / "b" / "ledger.db")
    follower = ReplicatedWriter(other, [single_server], replicas=1)
    try:
        assert follower.sync() == 3
        assert other.size == 3
    finally:
        follower.close()
        other.close()
    first = Ledger.open(tmp_path / "a" / "ledger.db", read_only=True)
    second = Ledger.open(tmp_path / "b" / "ledger.db", read_only=True)
    assert first.root() == second.root()
    first.close()
    second.close()

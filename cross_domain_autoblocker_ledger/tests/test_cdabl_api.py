"""The HTTP API on a real uvicorn server on loopback: bouncer stream, decisions, events, proofs."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cross_domain_autoblocker_ledger import (
    ApiServer,
    Autoblocker,
    Ledger,
    create_app,
    hash_api_key,
    parse_scenarios,
)
from shared_core.crypto import Checkpoint, hash_leaf, verify_inclusion

BOUNCER_KEY = "bouncer-key-0123456789abcdef"
ADMIN = "admin-token-0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[httpx.Client, Ledger, Clock]]:
    clock = Clock()
    ledger = Ledger.open(tmp_path / "ledger.db", clock=clock)
    ledger.store.add_bouncer("fw1", hash_api_key(BOUNCER_KEY), clock.now)
    blocker = Autoblocker(
        ledger,
        parse_scenarios(
            "name: t/ssh\ncapacity: 2\nfilter: {domain: ssh}\nremediation: {duration: 1h}\n"
        ),
    )
    server = ApiServer(create_app(ledger, blocker, ADMIN), "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield client, ledger, clock
    finally:
        server.stop()
        ledger.close()


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


def bouncer() -> dict[str, str]:
    return {"X-Api-Key": BOUNCER_KEY}


@pytest.mark.network
class TestBouncerApi:
    def test_stream_needs_a_known_key(self, node: tuple[httpx.Client, Ledger, Clock]) -> None:
        """Without or with a wrong X-Api-Key the stream is 403, as CrowdSec answers."""
        client, _, _ = node
        assert client.get("/v1/decisions/stream").status_code == 403
        assert client.get("/v1/decisions/stream", headers={"X-Api-Key": "nope"}).status_code == 403

    def test_startup_then_incremental(self, node: tuple[httpx.Client, Ledger, Clock]) -> None:
        """startup=true sends all active decisions; later pulls send only changes."""
        client, _, clock = node
        created = client.post(
            "/v1/decisions", json={"value": "192.0.2.1", "duration": "4h"}, headers=admin()
        )
        assert created.status_code == 201
        first = client.get(
            "/v1/decisions/stream", params={"startup": "true"}, headers=bouncer()
        ).json()
        assert [d["value"] for d in first["new"]] == ["192.0.2.1"]
        assert first["deleted"] == []
        assert first["new"][0]["duration"] == "4h0m0s"
        assert {"id", "uuid", "origin", "type", "scope", "value", "duration", "scenario"} <= set(
            first["new"][0]
        )
        assert client.get("/v1/decisions/stream", headers=bouncer()).json() == {
            "new": [],
            "deleted": [],
        }
        client.post(
            "/v1/decisions",
            json={"scope": "Range", "value": "10.0.0.0/8", "duration": "1h"},
            headers=admin(),
        )
        client.post("/v1/decisions", json={"scope": "Username", "value": "root"}, headers=admin())
        assert client.delete("/v1/decisions/1", headers=admin()).json()["nbDeleted"] == "1"
        clock.now += 60
        second = client.get("/v1/decisions/stream", headers=bouncer()).json()
        assert [d["value"] for d in second["new"]] == [
            "10.0.0.0/8"
        ]  # Username is not in the default scopes
        assert second["new"][0]["duration"] == "59m0s"
        assert [d["value"] for d in second["deleted"]] == ["192.0.2.1"]
        scoped = client.get(
            "/v1/decisions/stream",
            params={"startup": "true", "scopes": "username"},
            headers=bouncer(),
        ).json()
        assert [d["value"] for d in scoped["new"]] == ["root"]

    def test_decisions_query(self, node: tuple[httpx.Client, Ledger, Clock]) -> None:
        """GET /v1/decisions?ip= answers by longest-prefix match, null when clear."""
        client, _, _ = node
        client.post(
            "/v1/decisions", json={"scope": "Range", "value": "198.51.100.0/24"}, headers=admin()
        )
        found = client.get("/v1/decisions", params={"ip": "198.51.100.77"}, headers=bouncer())
        assert [d["value"] for d in found.json()] == ["198.51.100.0/24"]
        assert (
            client.get("/v1/decisions", params={"ip": "203.0.113.1"}, headers=bouncer()).json()
            is None
        )
        bad = client.get("/v1/decisions", params={"ip": "not-an-ip"}, headers=bouncer())
        assert bad.status_code == 400
        assert "not an IP address" in bad.json()["message"]


@pytest.mark.network
class TestOperatorApi:
    def test_writes_need_the_admin_token(self, node: tuple[httpx.Client, Ledger, Clock]) -> None:
        """Decisions and events cannot be written without the admin token."""
        client, ledger, _ = node
        assert client.post("/v1/decisions", json={"value": "192.0.2.1"}).status_code == 403
        assert (
            client.post("/v1/decisions", json={"value": "192.0.2.1"}, headers=bouncer()).status_code
            == 403
        )
        assert ledger.size == 0

    def test_bad_decision_is_400_and_writes_nothing(
        self, node: tuple[httpx.Client, Ledger, Clock]
    ) -> None:
        """An invalid value is refused with a message; the ledger is unchanged."""
        client, ledger, _ = node
        response = client.post("/v1/decisions", json={"value": "300.1.1.1"}, headers=admin())
        assert response.status_code == 400
        assert "not an IP address" in response.json()["message"]
        assert client.delete("/v1/decisions/42", headers=admin()).status_code == 404
        assert ledger.size == 0
        client.post("/v1/decisions", json={"value": "192.0.2.1"}, headers=admin())
        assert client.delete("/v1/decisions/1", headers=admin()).status_code == 200
        again = client.delete("/v1/decisions/1", headers=admin())
        assert again.status_code == 409
        assert "already deleted" in again.json()["message"]
        assert ledger.size == 2

    def test_events_lead_to_decisions(self, node: tuple[httpx.Client, Ledger, Clock]) -> None:
        """Submitted events run through the scenarios and the ledger."""
        client, ledger, _ = node
        events = [
            {"time": float(t), "domain": "ssh", "kind": "ssh_failed_auth", "source": "203.0.113.50"}
            for t in range(3)
        ]
        body = client.post("/v1/events", json=events, headers=admin()).json()
        assert body["events"] == 3
        assert [d["value"] for d in body["decisions"]] == ["203.0.113.50"]
        check = client.get("/v1/check", params={"ip": "203.0.113.50"}, headers=admin()).json()
        assert check["blocked"] is True
        assert ledger.previous_count("Ip", "203.0.113.50") == 1

    def test_checkpoint_and_proofs(self, node: tuple[httpx.Client, Ledger, Clock]) -> None:
        """The signed checkpoint and an inclusion proof verify against each other."""
        client, ledger, _ = node
        for i in range(5):
            client.post("/v1/decisions", json={"value": f"192.0.2.{i + 1}"}, headers=admin())
        note = client.get("/v1/ledger/checkpoint").text
        checkpoint, _ = Checkpoint.open(note, [ledger.verifier], origin=ledger.origin)
        assert checkpoint.size == 5
        proof = client.get("/v1/ledger/proof/inclusion", params={"seq": 2}).json()
        verify_inclusion(
            hash_leaf(base64.b64decode(proof["leaf"])),
            2,
            5,
            [bytes.fromhex(p) for p in proof["proof"]],
            checkpoint.root_hash,
        )
        assert client.get("/v1/ledger/entries/2").json()["decision"]["value"] == "192.0.2.3"
        assert client.get("/v1/ledger/proof/consistency", params={"size1": 2}).json()["size2"] == 5
        assert client.get("/v1/ledger/proof/inclusion", params={"seq": 9}).status_code == 400

    def test_metrics(self, node: tuple[httpx.Client, Ledger, Clock]) -> None:
        """/metrics exposes the system's Prometheus metrics."""
        client, _, _ = node
        client.post("/v1/decisions", json={"value": "192.0.2.1"}, headers=admin())
        text = client.get("/metrics").text
        assert "cross_domain_autoblocker_ledger_decisions_active_count 1.0" in text
        assert "cross_domain_autoblocker_ledger_ledger_entries_count 1.0" in text


@pytest.mark.network
class TestStockBouncerClient:
    def test_pycrowdsec_stream_and_query_clients(
        self, node: tuple[httpx.Client, Ledger, Clock]
    ) -> None:
        """CrowdSec's own Python bouncer library works against our server unchanged."""
        client_module = pytest.importorskip(
            "pycrowdsec.client", reason="pycrowdsec is in the 'compare' extra"
        )
        client, _, clock = node
        base = str(client.base_url).rstrip("/") + "/"
        client.post("/v1/decisions", json={"value": "192.0.2.10", "type": "ban"}, headers=admin())
        client.post(
            "/v1/decisions",
            json={"scope": "Range", "value": "198.51.100.0/24", "type": "captcha"},
            headers=admin(),
        )
        stream = client_module.StreamClient(BOUNCER_KEY, lapi_url=base, interval=3600)
        stream.cycle("true")  # what StreamClient.run() does first, without its polling thread
        assert stream.get_action_for("192.0.2.10") == "ban"
        assert stream.get_action_for("198.51.100.77") == "captcha"
        assert stream.get_action_for("203.0.113.1") is None
        client.delete("/v1/decisions/1", headers=admin())
        clock.now += 1
        stream.cycle("false")
        assert stream.get_action_for("192.0.2.10") is None
        assert stream.get_current_decisions() == {"198.51.100.0/24": "captcha"}
        query = client_module.QueryClient(BOUNCER_KEY, lapi_url=base)
        assert query.get_action_for("198.51.100.5") == "captcha"

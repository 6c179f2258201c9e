"""The fault proxy's HTTP API behaves as Toxiproxy's, and the unmodified toxiproxy-python client drives it."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaos_engine.proxy import TOXIC_TYPES, ApiError, ProxyServer, Toxic, ToxicError, split_address
from chaos_engine.testing import echo, reference_python, tcp_server

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def echo_port() -> Iterator[int]:
    srv, port = tcp_server(echo)
    yield port
    srv.close()


@pytest.fixture
def server() -> Iterator[ProxyServer]:
    with ProxyServer(port=0) as srv:
        yield srv


def call(server: ProxyServer, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    req = urllib.request.Request(server.url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    if not raw:
        return status, None
    try:
        return status, json.loads(raw)
    except json.JSONDecodeError:
        return status, raw.decode()


def roundtrip(listen: str, payload: bytes = b"ping") -> bytes:
    host, port = listen.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(payload)
        return sock.recv(65536)


class TestProxies:
    def test_create_list_show_delete(self, server: ProxyServer, echo_port: int) -> None:
        """POST /proxies answers 201 with Toxiproxy's fields; GET, DELETE answer 200 and 204."""
        status, proxy = call(
            server, "POST", "/proxies", {"name": "db", "upstream": f"127.0.0.1:{echo_port}"}
        )
        assert status == 201
        assert list(proxy) == ["name", "listen", "upstream", "enabled", "toxics"]
        assert proxy["enabled"] is True
        assert proxy["toxics"] == []
        assert not proxy["listen"].endswith(":0")
        assert roundtrip(proxy["listen"]) == b"ping"
        assert call(server, "GET", "/proxies") == (200, {"db": proxy})
        assert call(server, "GET", "/proxies/db") == (200, proxy)
        assert call(server, "DELETE", "/proxies/db") == (204, None)
        assert call(server, "GET", "/proxies/db") == (
            404,
            {"error": "proxy not found", "status": 404},
        )

    def test_errors(self, server: ProxyServer, echo_port: int) -> None:
        """Missing fields answer 400, a duplicate 409, an unknown proxy 404, as Toxiproxy."""
        assert call(server, "POST", "/proxies", {"upstream": "127.0.0.1:1"}) == (
            400,
            {"error": "missing required field: name", "status": 400},
        )
        assert call(server, "POST", "/proxies", {"name": "x"})[0] == 400
        assert call(server, "POST", "/proxies", b"{not json")[0] == 400
        body = {"name": "x", "upstream": f"127.0.0.1:{echo_port}"}
        assert call(server, "POST", "/proxies", body)[0] == 201
        assert call(server, "POST", "/proxies", body) == (
            409,
            {"error": "proxy already exists", "status": 409},
        )
        assert call(server, "DELETE", "/proxies/nope")[0] == 404
        assert call(server, "GET", "/nowhere")[0] == 404

    def test_disable_is_down_and_enable_restores(self, server: ProxyServer, echo_port: int) -> None:
        """``enabled: false`` closes the listener; enabling listens on the same address again."""
        _, proxy = call(
            server, "POST", "/proxies", {"name": "svc", "upstream": f"127.0.0.1:{echo_port}"}
        )
        status, updated = call(server, "POST", "/proxies/svc", {"enabled": False})
        assert status == 200
        assert updated["enabled"] is False
        with pytest.raises(ConnectionRefusedError):
            roundtrip(proxy["listen"])
        status, updated = call(server, "PATCH", "/proxies/svc", {"enabled": True})
        assert updated["listen"] == proxy["listen"]
        assert roundtrip(proxy["listen"]) == b"ping"

    def test_created_disabled(self, server: ProxyServer, echo_port: int) -> None:
        """A proxy created with ``enabled: false`` does not listen."""
        status, proxy = call(
            server,
            "POST",
            "/proxies",
            {"name": "off", "upstream": f"127.0.0.1:{echo_port}", "enabled": False},
        )
        assert status == 201
        assert proxy["enabled"] is False

    def test_populate_reset_version_metrics(self, server: ProxyServer, echo_port: int) -> None:
        """/populate answers 201 with the proxies, /reset 204, /version and /metrics 200."""
        items = [{"name": f"p{i}", "upstream": f"127.0.0.1:{echo_port}"} for i in range(2)]
        status, body = call(server, "POST", "/populate", items)
        assert status == 201
        assert [p["name"] for p in body["proxies"]] == ["p0", "p1"]
        assert call(server, "POST", "/populate", [{"name": "bad"}])[0] == 400
        call(server, "POST", "/proxies/p0/toxics", {"type": "latency"})
        call(server, "POST", "/proxies/p1", {"enabled": False})
        assert call(server, "POST", "/reset") == (204, None)
        assert call(server, "GET", "/proxies/p0/toxics") == (200, [])
        assert call(server, "GET", "/proxies/p1")[1]["enabled"] is True
        status, version = call(server, "GET", "/version")
        assert status == 200
        assert version["version"].startswith("2.")
        roundtrip(body["proxies"][0]["listen"], b"12345")
        status, metrics = call(server, "GET", "/metrics")
        assert status == 200
        assert 'chaos_engine_proxy_bytes_total{direction="upstream",proxy="p0"' in metrics


class TestToxicsApi:
    def test_defaults_and_fields(self, server: ProxyServer, echo_port: int) -> None:
        """A toxic gets Toxiproxy's defaults: downstream, toxicity 1, name type_stream, zero attributes."""
        call(server, "POST", "/proxies", {"name": "t", "upstream": f"127.0.0.1:{echo_port}"})
        status, toxic = call(
            server, "POST", "/proxies/t/toxics", {"type": "latency", "attributes": {"latency": 10}}
        )
        assert status == 200
        assert toxic == {
            "attributes": {"latency": 10, "jitter": 0},
            "name": "latency_downstream",
            "type": "latency",
            "stream": "downstream",
            "toxicity": 1.0,
        }
        assert call(server, "GET", "/proxies/t/toxics/latency_downstream") == (200, toxic)
        assert call(server, "GET", "/proxies/t")[1]["toxics"] == [toxic]

    def test_update_and_delete(self, server: ProxyServer, echo_port: int) -> None:
        """PATCH changes attributes and toxicity and keeps the rest; DELETE answers 204."""
        call(server, "POST", "/proxies", {"name": "t", "upstream": f"127.0.0.1:{echo_port}"})
        call(
            server,
            "POST",
            "/proxies/t/toxics",
            {"type": "latency", "name": "lag", "attributes": {"latency": 10, "jitter": 5}},
        )
        status, toxic = call(
            server,
            "PATCH",
            "/proxies/t/toxics/lag",
            {"attributes": {"latency": 20}, "toxicity": 0.5},
        )
        assert status == 200
        assert toxic["attributes"] == {"latency": 20, "jitter": 5}
        assert toxic["toxicity"] == 0.5
        assert call(server, "DELETE", "/proxies/t/toxics/lag") == (204, None)
        assert call(server, "DELETE", "/proxies/t/toxics/lag") == (
            404,
            {"error": "toxic not found", "status": 404},
        )

    @pytest.mark.parametrize(
        ("body", "status", "error"),
        [
            ({"type": "nope"}, 400, "invalid toxic type"),
            (
                {"type": "latency", "stream": "sideways"},
                400,
                "stream was invalid, can be either upstream or downstream",
            ),
            ({"type": "latency", "toxicity": 2}, 400, None),
            ({"type": "latency", "attributes": {"latency": "slow"}}, 400, None),
            ({"type": "latency", "attributes": {"latency": -1}}, 400, None),
        ],
    )
    def test_invalid_toxics(
        self,
        server: ProxyServer,
        echo_port: int,
        body: dict[str, Any],
        status: int,
        error: str | None,
    ) -> None:
        """Invalid toxics answer 400 with Toxiproxy's message where it has one."""
        call(server, "POST", "/proxies", {"name": "t", "upstream": f"127.0.0.1:{echo_port}"})
        got_status, got = call(server, "POST", "/proxies/t/toxics", body)
        assert got_status == status
        if error:
            assert got["error"] == error

    def test_duplicate_toxic(self, server: ProxyServer, echo_port: int) -> None:
        """A second toxic of the same name answers 409."""
        call(server, "POST", "/proxies", {"name": "t", "upstream": f"127.0.0.1:{echo_port}"})
        assert call(server, "POST", "/proxies/t/toxics", {"type": "timeout"})[0] == 200
        assert call(server, "POST", "/proxies/t/toxics", {"type": "timeout"}) == (
            409,
            {"error": "toxic already exists", "status": 409},
        )


def _client_python() -> str:
    python = reference_python("toxiproxy")
    if python is None:
        pytest.skip("toxiproxy-python is not installed (chaos_engine/tools/reference_venv.sh)")
    return python


def test_toxiproxy_python_client_drives_the_proxy(server: ProxyServer, echo_port: int) -> None:
    """The unmodified toxiproxy-python client creates, lists, adds toxics, disables, deletes and resets."""
    python = _client_python()
    result = subprocess.run(
        [
            python,
            str(FIXTURES / "toxiproxy_client_driver.py"),
            str(server.address[1]),
            str(echo_port),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["running"] is True
    assert seen["version"].startswith("2.")
    assert seen["created"] == {"name": "echo", "enabled": True, "listen_port_set": True}
    assert seen["echo"] == "ping"
    assert seen["duplicate"] == "ProxyExists"
    assert seen["listed"] == ["echo"]
    assert seen["toxics"] == {
        "latency_downstream": {
            "type": "latency",
            "stream": "downstream",
            "toxicity": 1.0,
            "attributes": {"latency": 30, "jitter": 0},
        },
        "slow_up": {
            "type": "bandwidth",
            "stream": "upstream",
            "toxicity": 0.5,
            "attributes": {"rate": 100},
        },
    }
    assert seen["get_toxic"] == "latency_downstream"
    assert seen["after_destroy_toxic"] == ["latency_downstream"]
    assert seen["while_down"] == "refused"
    assert seen["enabled_while_down"] is False
    assert seen["echo_after_up"] == "ping"
    assert seen["toxics_after_reset"] == []
    assert seen["populated"] == ["other"]
    assert seen["destroyed"] is True
    assert seen["gone"] == "NotFound"
    assert seen["final"] == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


class TestFuzz:
    @settings(max_examples=150, deadline=None)
    @given(
        st.one_of(
            json_values,
            st.fixed_dictionaries(
                {"type": st.sampled_from([*TOXIC_TYPES, "nope"])},
                optional={
                    "stream": st.sampled_from(["upstream", "downstream", "x", ""]),
                    "toxicity": json_values,
                    "name": json_values,
                    "attributes": st.dictionaries(
                        st.sampled_from(
                            [
                                "latency",
                                "jitter",
                                "rate",
                                "bytes",
                                "abort",
                                "probability",
                                "delay",
                                "x",
                            ]
                        ),
                        json_values,
                    ),
                },
            ),
        )
    )
    def test_toxic_bodies_raise_only_toxic_error(self, body: Any) -> None:
        """Any JSON body builds a toxic or raises ToxicError, never anything else."""
        status = 200
        try:
            assert Toxic.from_json(body).to_json()["type"] in TOXIC_TYPES
        except ToxicError as exc:
            status = exc.status
        assert status in (200, 400, 409)

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=30))
    def test_addresses_raise_only_api_error(self, text: str) -> None:
        """Any address string splits or raises ApiError (400)."""
        status = 200
        try:
            assert 0 <= split_address(text)[1] <= 65535
        except ApiError as exc:
            status = exc.status
        assert status in (200, 400)

    @settings(max_examples=100, deadline=None)
    @given(json_values)
    def test_api_bodies_answer_4xx(self, shared_server: ProxyServer, body: Any) -> None:
        """Arbitrary JSON to the create routes answers 2xx or 4xx, never 5xx or a dropped connection."""
        status, _ = call(shared_server, "POST", "/proxies", body)
        assert status in (201, 400, 409)
        status, _ = call(shared_server, "POST", "/populate", body)
        assert status in (201, 400, 409)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[ProxyServer]:
    with ProxyServer(port=0) as srv:
        yield srv

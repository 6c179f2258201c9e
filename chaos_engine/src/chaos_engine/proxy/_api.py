"""Toxiproxy's HTTP API, so its clients (``toxiproxy-python``, the Go and Ruby ones) drive this proxy.

==========================================  ==================  =================================
route                                       methods             answers
==========================================  ==================  =================================
/proxies                                    GET, POST           200 map by name; 201 created, 409, 400
/proxies/{proxy}                            GET, POST, PATCH,   200; 200 updated; 204 deleted; 404
                                            DELETE
/proxies/{proxy}/toxics                     GET, POST           200 list; 200 created, 409, 400
/proxies/{proxy}/toxics/{toxic}             GET, POST, PATCH,   200; 200 updated; 204 deleted; 404
                                            DELETE
/reset                                      POST                204: every proxy enabled, no toxic
/populate                                   POST                201 {"proxies": [...]}
/version                                    GET                 200 {"version": ...}
/metrics                                    GET                 Prometheus text format
==========================================  ==================  =================================

Errors are ``{"error": message, "status": code}`` with Toxiproxy's messages.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from chaos_engine.proxy._proxy import ApiError, ProxyCollection

__all__ = ["TOXIPROXY_API_VERSION", "ProxyServer"]

TOXIPROXY_API_VERSION = "2.12.0"
_ROUTES = [
    (re.compile(r"^/proxies/?$"), "proxies"),
    (re.compile(r"^/proxies/([^/]+)/toxics/?$"), "toxics"),
    (re.compile(r"^/proxies/([^/]+)/toxics/([^/]+)/?$"), "toxic"),
    (re.compile(r"^/proxies/([^/]+)/?$"), "proxy"),
    (re.compile(r"^/reset/?$"), "reset"),
    (re.compile(r"^/populate/?$"), "populate"),
    (re.compile(r"^/version/?$"), "version"),
    (re.compile(r"^/metrics/?$"), "metrics"),
]


class _Metrics(Collector):
    def __init__(self, collection: ProxyCollection) -> None:
        self.collection = collection

    def collect(self) -> Iterator[Any]:
        moved = CounterMetricFamily(
            "chaos_engine_proxy_bytes",
            "Bytes moved through a proxy, by direction.",
            labels=["proxy", "upstream", "direction"],
        )
        conns = GaugeMetricFamily(
            "chaos_engine_proxy_connections", "Open connections of a proxy.", labels=["proxy"]
        )
        toxics = GaugeMetricFamily(
            "chaos_engine_proxy_toxics", "Toxics set on a proxy.", labels=["proxy"]
        )
        for proxy in self.collection.snapshot():
            for direction, count in proxy.bytes().items():
                moved.add_metric([proxy.name, proxy.upstream, direction], count)
            conns.add_metric([proxy.name], len(proxy.connections))
            toxics.add_metric([proxy.name], len(proxy.toxics))
        yield moved
        yield conns
        yield toxics


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = "chaos_engine-proxy"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: Any = None, ctype: str = "application/json") -> None:
        body = (
            b""
            if payload is None
            else (payload if isinstance(payload, bytes) else (json.dumps(payload) + "\n").encode())
        )
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)) if status != 204 else "0")
        self.end_headers()
        if status != 204:
            self.wfile.write(body)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(f"bad request body: {exc}", 400) from exc

    def _route(self, method: str) -> tuple[Any, list[str]]:
        path = urllib.parse.urlsplit(self.path).path
        for pattern, route in _ROUTES:
            m = pattern.match(path)
            if m:
                handler = getattr(self, f"_{route}_{method.lower()}", None)
                if handler is None:
                    raise ApiError("method not allowed", 405)
                return handler, [urllib.parse.unquote(g) for g in m.groups()]
        raise ApiError("not found", 404)

    def _dispatch(self, method: str) -> None:
        try:
            handler, args = self._route(method)
            handler(*args)
        except ApiError as exc:
            self._send(exc.status, {"error": exc.message, "status": exc.status})

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- routes --------------------------------------------------------------------------------
    @property
    def proxies(self) -> ProxyCollection:
        return self.server.collection

    def _proxies_get(self) -> None:
        self._send(200, {p.name: p.to_json() for p in self.proxies.snapshot()})

    def _proxies_post(self) -> None:
        self._send(201, self.proxies.create(self._body()).to_json())

    def _proxy_get(self, name: str) -> None:
        self._send(200, self.proxies.get(name).to_json())

    def _proxy_post(self, name: str) -> None:
        proxy = self.proxies.get(name)
        body = self._body()
        if not isinstance(body, dict):
            raise ApiError("bad request body: a proxy is a JSON object", 400)
        proxy.update(body)
        self._send(200, proxy.to_json())

    _proxy_patch = _proxy_post

    def _proxy_delete(self, name: str) -> None:
        self.proxies.remove(name)
        self._send(204)

    def _toxics_get(self, name: str) -> None:
        self._send(200, [t.to_json() for t in self.proxies.get(name).toxics.values()])

    def _toxics_post(self, name: str) -> None:
        self._send(200, self.proxies.get(name).add_toxic(self._body()).to_json())

    def _toxic_get(self, name: str, toxic: str) -> None:
        found = self.proxies.get(name).toxics.get(toxic)
        if found is None:
            raise ApiError("toxic not found", 404)
        self._send(200, found.to_json())

    def _toxic_post(self, name: str, toxic: str) -> None:
        self._send(200, self.proxies.get(name).update_toxic(toxic, self._body()).to_json())

    _toxic_patch = _toxic_post

    def _toxic_delete(self, name: str, toxic: str) -> None:
        self.proxies.get(name).remove_toxic(toxic)
        self._send(204)

    def _reset_post(self) -> None:
        self.proxies.reset()
        self._send(204)

    def _populate_post(self) -> None:
        created = self.proxies.populate(self._body())
        self._send(201, {"proxies": [p.to_json() for p in created]})

    def _version_get(self) -> None:
        self._send(200, {"version": self.server.version}, "application/json;charset=utf-8")

    def _metrics_get(self) -> None:
        self._send(
            200, generate_latest(self.server.registry), "text/plain; version=0.0.4; charset=utf-8"
        )


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], collection: ProxyCollection, version: str) -> None:
        super().__init__(address, _Handler)
        self.collection = collection
        self.version = version
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_Metrics(collection))


class ProxyServer:
    """The fault proxy: Toxiproxy's API on ``host:port`` (default 127.0.0.1:8474) and its proxies.

    Use as a context manager, or :meth:`start` / :meth:`close`; :meth:`serve_forever` blocks.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8474) -> None:
        from chaos_engine import __version__

        self.collection = ProxyCollection()
        try:
            self._http = _HttpServer(
                (host, port), self.collection, f"{TOXIPROXY_API_VERSION}+chaos-engine.{__version__}"
            )
        except OSError as exc:
            from chaos_engine.errors import ChaosProxyError

            raise ChaosProxyError(
                f"cannot listen on {host}:{port}: {exc.strerror}", hint="choose another --port"
            ) from exc
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._http.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def populate(self, proxies: list[dict[str, Any]]) -> None:
        """Create proxies from a ``proxies.json``-style list (Toxiproxy's ``-config``)."""
        from chaos_engine.errors import ChaosProxyError

        try:
            self.collection.populate(proxies)
        except ApiError as exc:
            raise ChaosProxyError(exc.message) from exc

    def start(self) -> ProxyServer:
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="proxy api", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._http.serve_forever()

    def close(self) -> None:
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join()
        self._http.server_close()
        self.collection.close()

    def __enter__(self) -> ProxyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

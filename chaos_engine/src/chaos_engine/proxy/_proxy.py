"""Proxies and the collection the API manages, with Toxiproxy's semantics.

A :class:`Proxy` listens on ``listen`` and connects each client to
``upstream``; ``enabled: false`` closes the listener and every connection
(the service is "down").  Toxics are kept per proxy, in the order they were
added, each applying to one stream: ``upstream`` (client to server) or
``downstream`` (server to client).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from chaos_engine.proxy._link import Connection
from chaos_engine.proxy._toxics import Toxic, ToxicError
from shared_core.logging import get_logger

__all__ = ["ApiError", "Proxy", "ProxyCollection", "split_address"]

log = get_logger("chaos_engine.proxy")


class ApiError(Exception):
    """An error with the HTTP status the API answers (Toxiproxy's messages)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` too) as a pair; raises :class:`ApiError` (400)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ApiError(f"invalid address {address!r}: expected host:port", 400)
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104 - ":port" listens everywhere, as Toxiproxy
    return host, int(port)


class Proxy:
    """One listening proxy and its live connections."""

    def __init__(self, name: str, listen: str, upstream: str) -> None:
        self.name = name
        self.listen = listen or "127.0.0.1:0"
        self.upstream = upstream
        self.enabled = False
        self.toxics: dict[str, Toxic] = {}
        self._chains: dict[str, tuple[Toxic, ...]] = {"upstream": (), "downstream": ()}
        self.generation = 0  # bumped whenever the toxics change; pumps compare it per chunk
        self.connections: set[Connection] = set()
        self.closed_bytes = {"upstream": 0, "downstream": 0}
        self._lock = threading.RLock()
        self._listener: socket.socket | None = None
        self._accepter: threading.Thread | None = None

    # -- state --------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The API representation (Toxiproxy's field order), with its toxics."""
        with self._lock:
            return {
                "name": self.name,
                "listen": self.listen,
                "upstream": self.upstream,
                "enabled": self.enabled,
                "toxics": [t.to_json() for t in self.toxics.values()],
            }

    def chain(self, stream: str) -> tuple[Toxic, ...]:
        """The toxics of one stream, in order (read lock-free by the pumps)."""
        return self._chains[stream]

    def _rechain(self) -> None:
        self._chains = {
            stream: tuple(t for t in self.toxics.values() if t.stream == stream)
            for stream in ("upstream", "downstream")
        }
        self.generation += 1
        for conn in list(self.connections):
            conn.notify()

    def bytes(self) -> dict[str, int]:
        """Bytes moved so far in each direction, closed connections included."""
        with self._lock:
            totals = dict(self.closed_bytes)
            for conn in self.connections:
                for name, count in conn.bytes.items():
                    totals[name] += count
        return totals

    # -- toxics -------------------------------------------------------------------------------
    def add_toxic(self, data: Any) -> Toxic:
        try:
            toxic = Toxic.from_json(data)
        except ToxicError as exc:
            raise ApiError(str(exc), exc.status) from exc
        with self._lock:
            if toxic.name in self.toxics:
                raise ApiError("toxic already exists", 409)
            self.toxics[toxic.name] = toxic
            self._rechain()
        return toxic

    def update_toxic(self, name: str, data: Any) -> Toxic:
        with self._lock:
            toxic = self.toxics.get(name)
            if toxic is None:
                raise ApiError("toxic not found", 404)
            try:
                toxic.update(data)
            except ToxicError as exc:
                raise ApiError(str(exc), exc.status) from exc
            self._rechain()
            return toxic

    def remove_toxic(self, name: str) -> None:
        with self._lock:
            if self.toxics.pop(name, None) is None:
                raise ApiError("toxic not found", 404)
            self._rechain()

    def reset_toxics(self) -> None:
        with self._lock:
            self.toxics.clear()
            self._rechain()

    # -- listening ------------------------------------------------------------------------------
    def start(self) -> None:
        """Listen and accept; raises :class:`ApiError` (500) when the address cannot be bound."""
        with self._lock:
            if self.enabled:
                return
            host, port = split_address(self.listen)
            split_address(self.upstream)
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
                sock.listen(1024)
            except OSError as exc:
                sock.close()
                raise ApiError(f"listen {self.listen}: {exc.strerror}", 500) from exc
            bound_host, bound_port = sock.getsockname()[:2]
            self.listen = (
                f"[{bound_host}]:{bound_port}"
                if family == socket.AF_INET6
                else f"{bound_host}:{bound_port}"
            )
            self._listener = sock
            self.enabled = True
            self._accepter = threading.Thread(
                target=self._accept, args=(sock,), name=f"proxy {self.name} accept", daemon=True
            )
            self._accepter.start()

    def stop(self) -> None:
        """Stop listening and drop every connection."""
        with self._lock:
            sock, self._listener = self._listener, None
            self.enabled = False
            conns = list(self.connections)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._accepter is not None and self._accepter is not threading.current_thread():
            self._accepter.join(timeout=5)
        for conn in conns:
            conn.close()

    def _accept(self, sock: socket.socket) -> None:
        upstream = split_address(self.upstream)
        while True:
            try:
                client, _addr = sock.accept()
            except OSError:
                return
            if not self.enabled:
                client.close()
                return
            try:
                server = socket.create_connection(upstream, timeout=10)
                server.settimeout(None)
            except OSError as exc:
                log.warning(
                    "upstream unreachable", proxy=self.name, upstream=self.upstream, error=str(exc)
                )
                client.close()
                continue
            conn = Connection(self, client, server)
            with self._lock:
                self.connections.add(conn)
            conn.start()

    def forget(self, conn: Connection) -> None:
        with self._lock:
            if conn in self.connections:
                self.connections.discard(conn)
                for name, count in conn.bytes.items():
                    self.closed_bytes[name] += count

    def log_error(self, message: str) -> None:
        log.warning("proxy connection error", proxy=self.name, error=message)

    def update(self, data: dict[str, Any]) -> None:
        """Apply ``listen``/``upstream``/``enabled`` from an API body (restart when they change)."""
        listen = data.get("listen", self.listen)
        upstream = data.get("upstream", self.upstream)
        enabled = data.get("enabled", self.enabled)
        if (
            not isinstance(listen, str)
            or not isinstance(upstream, str)
            or not isinstance(enabled, bool)
        ):
            raise ApiError(
                "bad request body: listen and upstream are strings, enabled a boolean", 400
            )
        with self._lock:
            if listen != self.listen or upstream != self.upstream:
                split_address(listen)
                split_address(upstream)
                self.stop()
                self.listen, self.upstream = listen, upstream
            if enabled and not self.enabled:
                self.start()
            elif not enabled and self.enabled:
                self.stop()


class ProxyCollection:
    """Every proxy of one server, by name."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.proxies: dict[str, Proxy] = {}

    def get(self, name: str) -> Proxy:
        with self._lock:
            proxy = self.proxies.get(name)
        if proxy is None:
            raise ApiError("proxy not found", 404)
        return proxy

    def create(self, data: Any) -> Proxy:
        """Create (and by default start) a proxy from an API body."""
        if not isinstance(data, dict):
            raise ApiError("bad request body: a proxy is a JSON object", 400)
        name, upstream, listen = (
            data.get("name"),
            data.get("upstream"),
            data.get("listen") or "127.0.0.1:0",
        )
        enabled = data.get("enabled", True)
        if not name or not isinstance(name, str):
            raise ApiError("missing required field: name", 400)
        if not upstream or not isinstance(upstream, str):
            raise ApiError("missing required field: upstream", 400)
        if not isinstance(listen, str) or not isinstance(enabled, bool):
            raise ApiError("bad request body: listen is a string, enabled a boolean", 400)
        split_address(listen)
        split_address(upstream)
        with self._lock:
            if name in self.proxies:
                raise ApiError("proxy already exists", 409)
            proxy = Proxy(name, listen, upstream)
            if enabled:
                proxy.start()
            self.proxies[name] = proxy
        return proxy

    def remove(self, name: str) -> None:
        with self._lock:
            proxy = self.proxies.pop(name, None)
        if proxy is None:
            raise ApiError("proxy not found", 404)
        proxy.stop()

    def populate(self, items: Any) -> list[Proxy]:
        """Create or replace proxies from a list; an unchanged one is kept as it is."""
        if not isinstance(items, list):
            raise ApiError("bad request body: expected a list of proxies", 400)
        for i, item in enumerate(items, 1):
            if not isinstance(item, dict):
                raise ApiError(f"bad request body: proxy {i} is not an object", 400)
            if not item.get("name"):
                raise ApiError(f"missing required field: name at proxy {i}", 400)
            if not item.get("upstream"):
                raise ApiError(f"missing required field: upstream at proxy {i}", 400)
        out: list[Proxy] = []
        for item in items:
            with self._lock:
                existing = self.proxies.get(item["name"])
                if existing is not None:
                    same = existing.upstream == item["upstream"] and item.get("listen") in (
                        None,
                        existing.listen,
                    )
                    if same:
                        out.append(existing)
                        continue
                    self.remove(item["name"])
                out.append(self.create(item))
        return out

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        with self._lock:
            proxies = list(self.proxies.values())
        for proxy in proxies:
            proxy.start()
            proxy.reset_toxics()

    def close(self) -> None:
        """Stop every proxy."""
        with self._lock:
            proxies = list(self.proxies.values())
            self.proxies.clear()
        for proxy in proxies:
            proxy.stop()

    def snapshot(self) -> list[Proxy]:
        with self._lock:
            return list(self.proxies.values())

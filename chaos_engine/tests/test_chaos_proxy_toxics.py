"""Toxics do what they say, measured with statistics rather than sleeps."""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from chaos_engine.proxy import Proxy, ProxyCollection, Toxic
from chaos_engine.proxy._toxics import CloseConnection, ToxicState
from chaos_engine.testing import echo, tcp_server
from shared_core.testing import free_port


@pytest.fixture
def proxies() -> Iterator[ProxyCollection]:
    collection = ProxyCollection()
    yield collection
    collection.close()


def _proxy(
    collection: ProxyCollection, handler: Callable[[socket.socket], None]
) -> tuple[Proxy, tuple[str, int]]:
    _srv, port = tcp_server(handler)
    proxy = collection.create({"name": f"p{port}", "upstream": f"127.0.0.1:{port}"})
    host, listen = proxy.listen.rsplit(":", 1)
    return proxy, (host, int(listen))


def _connect(addr: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(addr, timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _recv_all(sock: socket.socket) -> bytes:
    out = bytearray()
    while chunk := sock.recv(65536):
        out += chunk
    return bytes(out)


_ECHO_PROCESS = (
    "import time\nfrom chaos_engine.testing import tcp_server\n"
    "_srv, port = tcp_server()\nprint(port, flush=True)\ntime.sleep(3600)\n"
)


_PROXY_PIDS: dict[int, int] = {}


def proxy_process_pid(port: int) -> int:
    return _PROXY_PIDS[port]


@contextlib.contextmanager
def _realtime(*pids: int) -> Iterator[bool]:
    """SCHED_FIFO for ``pids`` (all threads) and the calling thread, restored after; a no-op if refused."""
    changed: list[tuple[int, int, os.sched_param]] = []
    try:
        for pid in (*pids, 0):
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")] if pid else [0]
            for tid in tids:
                policy, param = os.sched_getscheduler(tid), os.sched_getparam(tid)
                os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(10))
                changed.append((tid, policy, param))
    except (PermissionError, OSError):
        pass
    try:
        yield bool(changed)
    finally:
        for tid, policy, param in changed:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(tid, policy, param)


def _api(port: int, method: str, path: str, body: object = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    with urllib.request.urlopen(req, timeout=5) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def proxy_process() -> Iterator[int]:
    """``chaos_engine proxy serve`` in its own process (so the test's threads do not share its GIL)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chaos_engine", "proxy", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _PROXY_PIDS[port] = proc.pid
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _api(port, "GET", "/version")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


class TestLatency:
    def test_p50_and_every_sample_within_bounds(self, proxy_process: int) -> None:
        """1,000 round trips: p50 within 2 ms of the target, every one inside latency ± jitter ± 2 ms."""
        latency, jitter = 3, 1
        echo = subprocess.Popen(
            [sys.executable, "-c", _ECHO_PROCESS], stdout=subprocess.PIPE, text=True
        )
        try:
            assert echo.stdout is not None
            port = int(echo.stdout.readline())
            created = _api(
                proxy_process, "POST", "/proxies", {"name": "lat", "upstream": f"127.0.0.1:{port}"}
            )
            assert isinstance(created, dict)
            host, listen = created["listen"].rsplit(":", 1)
            addr = (host, int(listen))
            _api(
                proxy_process,
                "POST",
                "/proxies/lat/toxics",
                {"type": "latency", "attributes": {"latency": latency, "jitter": jitter}},
            )
            self._check_rounds(proxy_process, echo.pid, addr, latency, jitter)
            _api(proxy_process, "DELETE", "/proxies/lat")
        finally:
            echo.kill()
            echo.communicate()

    @staticmethod
    def _check_rounds(
        proxy_port: int, echo_pid: int, addr: tuple[str, int], latency: int, jitter: int
    ) -> None:
        """Up to three rounds of 1,000; the median and the early bound must hold in every round.

        A sample can only come early through the proxy, so that bound is strict everywhere.  A
        late one can also be the scheduler of a shared machine: a direct loopback echo with the
        same pacing shows single 8-16 ms outliers on 2 cores under load.  A proxy that delays
        too long does so in every round; a preempted thread does not, so "every sample in
        bounds" must hold in one whole round of three.  When the machine is oversubscribed all
        through, real-time priority keeps all but a handful late (0-2 seen at load 12), and
        without it 95% is what can be asked.
        """
        late_by_round: list[list[float]] = []
        for _ in range(3):
            samples: list[float] = []
            # One connection, one thread: the test process adds no GIL contention.  The proxy,
            # the echo server and this thread run with real-time priority when allowed.
            with (
                _realtime(proxy_process_pid(proxy_port), echo_pid) as realtime,
                _connect(addr) as sock,
            ):
                for _ in range(1000):
                    start = time.perf_counter()
                    sock.sendall(b"x")
                    assert sock.recv(16) == b"x"
                    samples.append((time.perf_counter() - start) * 1000)
            assert abs(statistics.median(samples) - latency) <= 2
            assert min(samples) >= latency - jitter - 2
            late = sorted(x for x in samples if x > latency + jitter + 2)
            if not late:
                return
            late_by_round.append(late)
        if os.getloadavg()[0] < (os.cpu_count() or 1):
            raise AssertionError(f"late samples in every round on a quiet machine: {late_by_round}")
        allowed = 1000 // 200 if realtime else 1000 // 20
        assert min(len(late) for late in late_by_round) <= allowed, late_by_round

    def test_added_to_an_open_connection_and_removed(self, proxies: ProxyCollection) -> None:
        """A toxic added while a connection is open applies to it, and stops applying when removed."""
        proxy, addr = _proxy(proxies, echo)
        with _connect(addr) as sock:
            sock.sendall(b"a")
            assert sock.recv(4) == b"a"
            proxy.add_toxic({"type": "latency", "name": "lag", "attributes": {"latency": 30}})
            start = time.perf_counter()
            sock.sendall(b"b")
            assert sock.recv(4) == b"b"
            assert time.perf_counter() - start >= 0.03
            proxy.remove_toxic("lag")
            # The fastest of five: one round trip may meet a busy scheduler, all five only a toxic.
            rounds = []
            for _ in range(5):
                start = time.perf_counter()
                sock.sendall(b"c")
                assert sock.recv(4) == b"c"
                rounds.append(time.perf_counter() - start)
            assert min(rounds) < 0.02, rounds


def test_bandwidth_within_ten_percent(proxies: ProxyCollection) -> None:
    """A 400 KB/s bandwidth toxic delivers 160 KB in 0.4 s ± 10%."""
    size = 160_000

    def source(conn: socket.socket) -> None:
        with conn:
            conn.sendall(os.urandom(size))

    proxy, addr = _proxy(proxies, source)
    proxy.add_toxic({"type": "bandwidth", "attributes": {"rate": 400}})
    with _connect(addr) as sock:
        start = time.perf_counter()
        data = _recv_all(sock)
        elapsed = time.perf_counter() - start
    assert len(data) == size
    rate = size / elapsed / 1000
    assert 360 <= rate <= 440, rate


def test_toxicity_within_four_sigma(proxies: ProxyCollection) -> None:
    """With toxicity 0.5 over 1,000 connections, the share affected is within 4 sigma of 500.

    3 sigma fails one honest run in 370 (it did, at 553, in a CI dry run); 4 sigma
    (+-63) fails one in 16,000 and still catches a toxicity off by 0.1 (6.3 sigma).
    """

    def source(conn: socket.socket) -> None:
        with conn:
            conn.sendall(b"hello")

    proxy, addr = _proxy(proxies, source)
    proxy.add_toxic({"type": "limit_data", "toxicity": 0.5, "attributes": {"bytes": 1}})
    affected = 0
    n = 1000
    for _ in range(n):
        with _connect(addr) as sock:
            data = _recv_all(sock)
        assert data in (b"h", b"hello"), data
        affected += data == b"h"
    sigma = (n * 0.5 * 0.5) ** 0.5
    assert abs(affected - n * 0.5) <= 4 * sigma, affected
    _wait_closed(proxy)


def _wait_closed(proxy: Proxy) -> None:
    """Every connection's threads end once both sides are closed (none hangs on a toxic)."""
    deadline = time.monotonic() + 10
    while proxy.connections:
        assert time.monotonic() < deadline, f"{len(proxy.connections)} connections still open"
        time.sleep(0.01)


def test_slicer_is_byte_exact(proxies: ProxyCollection) -> None:
    """Sliced data arrives whole and in order."""
    payload = os.urandom(20_000)

    def source(conn: socket.socket) -> None:
        with conn:
            conn.sendall(payload)

    proxy, addr = _proxy(proxies, source)
    proxy.add_toxic(
        {"type": "slicer", "attributes": {"average_size": 64, "size_variation": 32, "delay": 10}}
    )
    with _connect(addr) as sock:
        assert _recv_all(sock) == payload


def test_slicer_cuts_within_bounds() -> None:
    """Every slice is at most average + variation bytes, and together they are the input."""
    toxic = Toxic.from_json(
        {"type": "slicer", "attributes": {"average_size": 10, "size_variation": 4}}
    )
    state = ToxicState(toxic, random.Random(7))
    data = bytes(range(256)) * 4
    pieces = [p for p, _ in state.apply(iter([(data, 0.0)]), None)]
    assert b"".join(pieces) == data
    assert all(0 < len(p) <= 14 for p in pieces)
    assert len(pieces) > 50


def test_limit_data_is_byte_exact(proxies: ProxyCollection) -> None:
    """The connection closes after exactly ``bytes`` bytes."""
    payload = os.urandom(10_000)

    def source(conn: socket.socket) -> None:
        with conn:
            conn.sendall(payload)

    proxy, addr = _proxy(proxies, source)
    proxy.add_toxic({"type": "limit_data", "attributes": {"bytes": 1234}})
    with _connect(addr) as sock:
        assert _recv_all(sock) == payload[:1234]
    _wait_closed(proxy)


def test_timeout_drops_and_closes(proxies: ProxyCollection) -> None:
    """The timeout toxic passes no data and closes the connection after its timeout."""
    proxy, addr = _proxy(proxies, echo)
    proxy.add_toxic({"type": "timeout", "attributes": {"timeout": 100}})
    with _connect(addr) as sock:
        start = time.perf_counter()
        sock.sendall(b"lost")
        assert _recv_all(sock) == b""
        assert 0.09 <= time.perf_counter() - start < 2


def test_reset_peer_resets(proxies: ProxyCollection) -> None:
    """reset_peer answers data with a TCP reset."""
    proxy, addr = _proxy(proxies, echo)
    proxy.add_toxic({"type": "reset_peer", "stream": "upstream", "attributes": {"timeout": 0}})
    with _connect(addr) as sock:
        sock.sendall(b"hi")
        with pytest.raises(ConnectionResetError):
            _recv_all(sock)


def test_slow_close_delays_the_close(proxies: ProxyCollection) -> None:
    """slow_close passes data at once and the close ``delay`` later."""

    def source(conn: socket.socket) -> None:
        with conn:
            conn.sendall(b"bye")

    proxy, addr = _proxy(proxies, source)
    proxy.add_toxic({"type": "slow_close", "attributes": {"delay": 150}})
    with _connect(addr) as sock:
        start = time.perf_counter()
        assert sock.recv(16) == b"bye"
        first = time.perf_counter() - start
        assert sock.recv(16) == b""
        assert first < 0.1
        assert time.perf_counter() - start >= 0.15


def test_disabled_proxy_drops_open_connections(proxies: ProxyCollection) -> None:
    """Disabling a proxy closes its open connections."""
    proxy, addr = _proxy(proxies, echo)
    with _connect(addr) as sock:
        sock.sendall(b"a")
        assert sock.recv(4) == b"a"
        proxy.update({"enabled": False})
        assert sock.recv(4) == b""


class TestLoss:
    def test_drop_rate_within_three_sigma(self) -> None:
        """Each chunk is dropped with the given probability."""
        toxic = Toxic.from_json({"type": "loss", "attributes": {"probability": 0.3}})
        state = ToxicState(toxic, random.Random(11))
        kept = sum(1 for _ in state.apply(iter([(b"x", 0.0)] * 1000), None))
        sigma = (1000 * 0.3 * 0.7) ** 0.5
        assert abs((1000 - kept) - 300) <= 3 * sigma

    def test_total_loss_passes_nothing(self, proxies: ProxyCollection) -> None:
        """With probability 1 nothing reaches the other side."""
        proxy, addr = _proxy(proxies, echo)
        proxy.add_toxic({"type": "loss", "stream": "upstream", "attributes": {"probability": 1}})
        with _connect(addr) as sock:
            sock.sendall(b"gone")
            sock.shutdown(socket.SHUT_WR)
            assert _recv_all(sock) == b""


def _http_server(conn: socket.socket) -> None:
    with conn, contextlib.suppress(OSError):
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while b"\r\n\r\n" in buf:
                head, buf = buf.split(b"\r\n\r\n", 1)
                path = head.split(b" ")[1]
                body = b"upstream " + path
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def _get(sock: socket.socket, path: str) -> tuple[int, bytes]:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("closed")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    length = int(
        next(
            ln.split(b":")[1]
            for ln in head.split(b"\r\n")
            if ln.lower().startswith(b"content-length")
        )
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ")[1]), body


class TestHttpToxic:
    def test_status_code_on_matching_requests_only(self, proxies: ProxyCollection) -> None:
        """Matching requests get the injected status; the others reach the upstream, on one connection."""
        proxy, addr = _proxy(proxies, _http_server)
        proxy.add_toxic(
            {
                "type": "http",
                "stream": "upstream",
                "attributes": {"status_code": 503, "path_prefix": "/fail"},
            }
        )
        with _connect(addr) as sock:
            assert _get(sock, "/ok") == (200, b"upstream /ok")
            status, body = _get(sock, "/fail/now")
            assert status == 503
            assert b"injected" in body
            assert _get(sock, "/ok2") == (200, b"upstream /ok2")

    def test_abort_and_delay(self, proxies: ProxyCollection) -> None:
        """``abort`` resets the connection; ``delay`` holds matching requests."""
        proxy, addr = _proxy(proxies, _http_server)
        proxy.add_toxic(
            {
                "type": "http",
                "name": "slow",
                "stream": "upstream",
                "attributes": {"delay": 80, "method": "GET"},
            }
        )
        with _connect(addr) as sock:
            start = time.perf_counter()
            assert _get(sock, "/a") == (200, b"upstream /a")
            assert time.perf_counter() - start >= 0.08
        proxy.remove_toxic("slow")
        proxy.add_toxic({"type": "http", "stream": "upstream", "attributes": {"abort": True}})
        with _connect(addr) as sock, pytest.raises(ConnectionResetError):
            _get(sock, "/a")


def test_close_connection_signal_carries_reset() -> None:
    """CloseConnection says whether to reset."""
    assert CloseConnection(reset=True).reset is True


def test_toxic_added_during_a_bulk_stream_applies(proxies: ProxyCollection) -> None:
    """A toxic added while bytes stream on the splice path takes effect on that stream."""
    blob = bytes(1 << 20)

    def endless(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            for _ in range(2000):  # up to 2 GB, far more than the test reads
                conn.sendall(blob)

    proxy, addr = _proxy(proxies, endless)
    total = 0
    with _connect(addr) as sock:
        while total < 8 << 20:
            total += len(sock.recv(1 << 20))
        proxy.add_toxic({"type": "limit_data", "attributes": {"bytes": 1000}})
        while chunk := sock.recv(1 << 20):
            total += len(chunk)
    # what was in flight (pipe and socket buffers) still arrives, then the stream is cut
    assert total < 64 << 20

"""One proxied TCP connection: two directions, each a pump thread.

With no toxic active on a direction, its thread moves bytes with
``os.splice`` (socket -> pipe -> socket, never through Python memory).  It
waits in ``poll`` on the source socket and on an ``eventfd`` that the proxy
signals whenever toxics change, so adding a toxic takes effect on open
connections at once, as in Toxiproxy.  With toxics active, the thread reads
chunks, stamps them with the time they arrived and queues them to a writer
thread that runs them through the toxics in order; when the last toxic goes,
the pump waits for that queue to drain and returns to splicing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import queue
import random
import select
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING, Any

from chaos_engine.proxy._toxics import CloseConnection, Toxic, ToxicState

if TYPE_CHECKING:
    from chaos_engine.proxy._proxy import Proxy

__all__ = ["Connection"]

_CHUNK = 1 << 16
_PIPE_SIZE = 1 << 20
_STREAMING = 1 << 17  # a splice this large means a bulk transfer is under way
_EOF = object()


class _Direction:
    def __init__(self, conn: Connection, name: str, src: socket.socket, dst: socket.socket) -> None:
        self.conn = conn
        self.name = name
        self.src = src
        self.dst = dst
        self.wake_fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self.decisions: dict[tuple[str, int], ToxicState | None] = {}
        self.active: list[ToxicState] = []
        self.timers: dict[str, threading.Timer] = {}
        self.queue: queue.Queue[Any] | None = None
        self.writer: threading.Thread | None = None
        self.bytes = 0
        self.generation = -1
        self.thread = threading.Thread(
            target=self.pump, name=f"proxy {conn.proxy.name} {name}", daemon=True
        )

    # -- toxics ---------------------------------------------------------------------------
    def refresh(self) -> None:
        self.generation = self.conn.proxy.generation
        chain: tuple[Toxic, ...] = self.conn.proxy.chain(self.name)
        active: list[ToxicState] = []
        seen: set[str] = set()
        for toxic in chain:
            key = (toxic.name, toxic.version)
            if key not in self.decisions:
                on = self.conn.rng.random() < toxic.toxicity
                self.decisions[key] = ToxicState(toxic, self.conn.rng) if on else None
            state = self.decisions[key]
            if state is None:
                continue
            seen.add(toxic.name)
            active.append(state)
            if (
                toxic.type == "timeout"
                and toxic.name not in self.timers
                and state.attrs["timeout"] > 0
            ):
                timer = threading.Timer(state.attrs["timeout"] / 1000.0, self.conn.close)
                timer.daemon = True
                self.timers[toxic.name] = timer
                timer.start()
        for name in list(self.timers):
            if name not in seen:
                self.timers.pop(name).cancel()
        if any(s.toxic.type == "timeout" for s in self.active) and not any(
            s.toxic.type == "timeout" for s in active
        ):
            self.conn.close()  # Toxiproxy closes a connection when its timeout toxic goes away
        self.active = active

    def notify(self) -> None:
        with contextlib.suppress(OSError):
            os.eventfd_write(self.wake_fd, 1)

    # -- the pump ---------------------------------------------------------------------------
    def pump(self) -> None:
        src_fd, dst_fd = self.src.fileno(), self.dst.fileno()
        poller = select.poll()
        poller.register(src_fd, select.POLLIN)
        poller.register(self.wake_fd, select.POLLIN)
        pipe_r, pipe_w = os.pipe2(os.O_CLOEXEC)
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe_w, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        try:
            self.refresh()
            streaming = False
            while not self.conn.closed.is_set():
                if streaming and not self.active and self.generation == self.conn.proxy.generation:
                    # the last splice was a large one: more is almost surely queued, so skip the
                    # poll; a toxic change is still seen here, through the generation
                    ready = {src_fd}
                else:
                    ready = {fd for fd, _ev in poller.poll()}
                if self.wake_fd in ready:
                    with contextlib.suppress(BlockingIOError):
                        os.eventfd_read(self.wake_fd)
                    self.refresh()
                    if src_fd not in ready:
                        continue
                if self.active:
                    data = self.src.recv(_CHUNK)
                    if not data:
                        self._finish()
                        return
                    self._enqueue((data, time.monotonic()))
                    continue
                if self.queue is not None and self.queue.unfinished_tasks:
                    self.queue.join()  # toxics just went away: let queued bytes out first
                moved = os.splice(src_fd, pipe_w, _PIPE_SIZE)
                if moved == 0:
                    self._finish()
                    return
                streaming = moved >= _STREAMING
                while moved:
                    out = os.splice(pipe_r, dst_fd, moved)
                    moved -= out
                    self.bytes += out
        except OSError as exc:
            if exc.errno not in (
                errno.EBADF,
                errno.ECONNRESET,
                errno.EPIPE,
                errno.ENOTCONN,
                errno.ENOTSOCK,
            ):
                self.conn.proxy.log_error(f"{self.name}: {exc}")
            self.conn.close()
        finally:
            os.close(pipe_r)
            os.close(pipe_w)
            for timer in self.timers.values():
                timer.cancel()
            self.conn.direction_done()

    def _finish(self) -> None:
        if self.conn.closed.is_set():
            return  # closed by us (perhaps with a reset): pass on no FIN
        if self.writer is not None:
            self._enqueue(_EOF)
            self.writer.join()
        else:
            self._close_write()

    def _close_write(self) -> None:
        try:
            self.dst.shutdown(socket.SHUT_WR)
        except OSError:
            self.conn.close()

    def _enqueue(self, item: Any) -> None:
        if self.queue is None or self.writer is None:
            self.queue = queue.Queue()
            self.writer = threading.Thread(
                target=self.write_loop,
                name=f"proxy {self.conn.proxy.name} {self.name} toxics",
                daemon=True,
            )
            self.writer.start()
        self.queue.put(item)

    def _reply(self, data: bytes) -> None:
        self.src.sendall(data)

    def write_loop(self) -> None:
        q = self.queue
        if q is None:
            return
        alive = True
        while True:
            item = q.get()
            try:
                if item is _EOF:
                    if alive:
                        self._write_eof()
                    return
                if not alive:
                    continue  # the connection is closed: drain what the pump still queued
                chunks: Any = iter((item,))
                for state in list(self.active):
                    chunks = state.apply(chunks, self._reply)
                for piece, _ts in chunks:
                    self.dst.sendall(piece)
                    self.bytes += len(piece)
            except CloseConnection as stop:
                alive = False
                self.conn.close(reset=stop.reset)
            except OSError:
                alive = False
                self.conn.close()
            finally:
                q.task_done()

    def _write_eof(self) -> None:
        delay = max(
            (s.attrs["delay"] for s in self.active if s.toxic.type == "slow_close"), default=0
        )
        if delay:
            time.sleep(delay / 1000.0)
        if not any(s.toxic.type == "timeout" for s in self.active):
            self._close_write()


class Connection:
    """A client connection and its upstream connection, bridged by two directions."""

    def __init__(self, proxy: Proxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.rng = random.Random()  # noqa: S311 - fault injection, not cryptography
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self._done = 0
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.directions = {
            "upstream": _Direction(self, "upstream", client, upstream),
            "downstream": _Direction(self, "downstream", upstream, client),
        }

    def start(self) -> None:
        for direction in self.directions.values():
            direction.thread.start()

    def notify(self) -> None:
        """Toxics changed: every direction re-reads them."""
        for direction in self.directions.values():
            direction.notify()

    def direction_done(self) -> None:
        with self._lock:
            self._done += 1
            last = self._done == 2
        if last:
            self.close()
            # only now, with both pumps gone, may the descriptors be reused
            for sock in (self.client, self.upstream):
                with contextlib.suppress(OSError):
                    sock.close()
            for direction in self.directions.values():
                with contextlib.suppress(OSError):
                    os.close(direction.wake_fd)
            self.proxy.forget(self)

    def close(self, reset: bool = False) -> None:
        """Close both sides (with RST when ``reset``); idempotent, callable from any thread."""
        with self._lock:
            if self.closed.is_set():
                return
            self.closed.set()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                if reset:  # the final close() then sends RST
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.shutdown(socket.SHUT_RD)
                else:
                    sock.shutdown(socket.SHUT_RDWR)
        self.notify()

    @property
    def bytes(self) -> dict[str, int]:
        return {name: d.bytes for name, d in self.directions.items()}

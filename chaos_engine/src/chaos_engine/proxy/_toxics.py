"""Toxics: what a proxy does to the bytes of a connection, with Toxiproxy's names and fields.

Each toxic type turns one chunk read from a socket (with the time it was
read) into what is written on the other side, possibly later, split, cut
short, or not at all.  Attributes and units are Toxiproxy's:

=============  ===========================================  =====================================
type           attributes                                   effect
=============  ===========================================  =====================================
latency        latency (ms), jitter (ms)                    each chunk leaves latency ± jitter after it arrived
bandwidth      rate (KB/s)                                  paces the stream to ``rate`` kilobytes per second
slow_close     delay (ms)                                   the close is passed on ``delay`` later
timeout        timeout (ms)                                 data is dropped; the connection closes after ``timeout`` (0: never)
reset_peer     timeout (ms)                                 on data, the connection is reset (RST) after ``timeout``
slicer         average_size, size_variation (B), delay (µs)  chunks are cut into small writes
limit_data     bytes                                        the connection closes once ``bytes`` have passed
loss           probability (0..1)                           each chunk is dropped with that probability (chaos_engine's)
http           status_code, abort, delay (ms), method,      requests that match get a canned response, an abort
               path_prefix, body                            or a delay (chaos_engine's; upstream stream only)
=============  ===========================================  =====================================
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["TOXIC_TYPES", "CloseConnection", "Toxic", "ToxicError", "ToxicState"]

Chunk = tuple[bytes, float]


class ToxicError(ValueError):
    """A toxic definition is not valid; ``status`` is the HTTP status the API answers."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class CloseConnection(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside a toxic: close the connection now (with a reset when ``reset``)."""

    def __init__(self, reset: bool = False) -> None:
        super().__init__("close")
        self.reset = reset


_DEFAULTS: dict[str, dict[str, Any]] = {
    "latency": {"latency": 0, "jitter": 0},
    "bandwidth": {"rate": 0},
    "slow_close": {"delay": 0},
    "timeout": {"timeout": 0},
    "reset_peer": {"timeout": 0},
    "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},
    "limit_data": {"bytes": 0},
    "loss": {"probability": 0.0},
    "http": {
        "status_code": 0,
        "abort": False,
        "delay": 0,
        "method": "",
        "path_prefix": "",
        "body": "",
    },
}
TOXIC_TYPES = tuple(_DEFAULTS)


def _coerce(kind: str, key: str, value: Any) -> Any:
    default = _DEFAULTS[kind][key]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ToxicError(f"bad request body: attribute {key} must be a boolean")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise ToxicError(f"bad request body: attribute {key} must be an integer")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ToxicError(f"bad request body: attribute {key} must be a number")
        return float(value)
    if not isinstance(value, str):
        raise ToxicError(f"bad request body: attribute {key} must be a string")
    return value


@dataclass
class Toxic:
    """A toxic as the API sees it; ``version`` changes on every update."""

    name: str
    type: str
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, Any] = field(default_factory=dict)
    version: int = 0

    _versions: ClassVar[Any] = iter(range(1, 1 << 62))
    _version_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def from_json(cls, data: Any) -> Toxic:
        """Build a toxic from an API body, applying Toxiproxy's defaults; raises :class:`ToxicError`."""
        if not isinstance(data, dict):
            raise ToxicError("bad request body: a toxic is a JSON object")
        stream = data.get("stream", "downstream") or "downstream"
        if stream not in ("upstream", "downstream"):
            raise ToxicError("stream was invalid, can be either upstream or downstream")
        kind = data.get("type")
        name = data.get("name") or f"{kind}_{stream}"
        if kind not in _DEFAULTS:
            raise ToxicError("invalid toxic type")
        toxic = cls(name=str(name), type=str(kind), stream=str(stream))
        toxic.update(data, creating=True)
        return toxic

    def update(self, data: Any, creating: bool = False) -> None:
        """Apply ``toxicity`` and ``attributes`` from an API body; raises :class:`ToxicError`."""
        if not isinstance(data, dict):
            raise ToxicError("bad request body: a toxic is a JSON object")
        toxicity = data.get("toxicity", 1.0 if creating else self.toxicity)
        if (
            isinstance(toxicity, bool)
            or not isinstance(toxicity, int | float)
            or not 0 <= toxicity <= 1
        ):
            raise ToxicError("bad request body: toxicity must be a number between 0 and 1")
        attrs = data.get("attributes") or {}
        if not isinstance(attrs, dict):
            raise ToxicError("bad request body: attributes must be an object")
        merged = dict(_DEFAULTS[self.type]) if creating else dict(self.attributes)
        for key, value in attrs.items():
            if key in _DEFAULTS[self.type]:
                merged[key] = _coerce(self.type, key, value)
        for key, value in merged.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ToxicError(f"bad request body: attribute {key} must not be negative")
        if self.type == "loss" and merged["probability"] > 1:
            raise ToxicError("bad request body: probability must be between 0 and 1")
        self.toxicity = float(toxicity)
        self.attributes = merged
        with Toxic._version_lock:
            self.version = next(Toxic._versions)

    def to_json(self) -> dict[str, Any]:
        """The API representation, in Toxiproxy's field order."""
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
        }


class ToxicState:
    """One toxic as applied to one direction of one connection."""

    def __init__(self, toxic: Toxic, rng: random.Random) -> None:
        self.toxic = toxic
        self.version = toxic.version
        self.attrs = dict(toxic.attributes)
        self.rng = rng
        self.sent = 0  # limit_data
        self.paced_until = 0.0  # bandwidth
        self.buffer = b""  # http
        self.passthrough = False  # http: a body we cannot frame
        self.started = time.monotonic()

    # -- per-chunk transforms; each yields chunks to pass on -------------------------------
    def apply(self, chunks: Iterator[Chunk], reply: Any) -> Iterator[Chunk]:
        kind = self.toxic.type
        handler = getattr(self, f"_{kind}")
        result: Iterator[Chunk] = handler(chunks, reply)
        return result

    def _latency(self, chunks: Iterator[Chunk], _reply: Any) -> Iterator[Chunk]:
        latency, jitter = self.attrs["latency"], self.attrs["jitter"]
        for data, ts in chunks:
            delay = latency + (self.rng.randrange(-jitter, jitter) if jitter > 0 else 0)
            wait = ts + delay / 1000.0 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            yield data, ts + max(wait, 0.0)

    def _bandwidth(self, chunks: Iterator[Chunk], _reply: Any) -> Iterator[Chunk]:
        rate = self.attrs["rate"] * 1000.0  # bytes per second
        for data, ts in chunks:
            if rate <= 0:
                yield data, ts
                continue
            step = max(int(rate / 10), 1)  # at most 100 ms worth in one write, as Toxiproxy
            for i in range(0, len(data), step):
                piece = data[i : i + step]
                now = time.monotonic()
                self.paced_until = max(self.paced_until, now) + len(piece) / rate
                if self.paced_until - now > 0:
                    time.sleep(self.paced_until - now)
                yield piece, ts

    def _slow_close(self, chunks: Iterator[Chunk], _reply: Any) -> Iterator[Chunk]:
        yield from chunks

    def _timeout(self, chunks: Iterator[Chunk], _reply: Any) -> Iterator[Chunk]:
        for _ in chunks:
            pass  # dropped
        yield from ()

    def _reset_peer(self, chunks: Iterator[Chunk], _reply: Any) -> Iterator[Chunk]:
        for _ in chunks:
            wait = self.attrs["timeout"] / 1000.0
            if wait > 0:
                time.sleep(wait)
            raise CloseConnection(reset=True)
        yield from ()

    def _slicer(self, chunks: Iterator[Chunk], _reply: Any) -> Iterator[Chunk]:
        avg, var, delay = (
            self.attrs["average_size"],
            self.attrs["size_variation"],
            self.attrs["delay"],
        )
        for data, ts in chunks:
            if avg <= 0:
                yield data, ts
                continue
            bounds = self._cut(0, len(data), avg, var)
            for i in range(0, len(bounds), 2):
                yield data[bounds[i] : bounds[i + 1]], ts
                if delay > 0 and i + 2 < len(bounds):
                    time.sleep(delay / 1e6)

    def _cut(self, start: int, end: int, avg: int, var: int) -> list[int]:
        if (end - start) - avg <= var:
            return [start, end]
        mid = start + (end - start) // 2
        if var > 0:
            mid += self.rng.randrange(-var, var)
        return self._cut(start, mid, avg, var) + self._cut(mid, end, avg, var)

    def _limit_data(self, chunks: Iterator[Chunk], _reply: Any) -> Iterator[Chunk]:
        limit = self.attrs["bytes"]
        for data, ts in chunks:
            remaining = max(limit - self.sent, 0)
            piece = data[:remaining]
            if piece:
                self.sent += len(piece)
                yield piece, ts
            if self.sent >= limit:
                raise CloseConnection()

    def _loss(self, chunks: Iterator[Chunk], _reply: Any) -> Iterator[Chunk]:
        probability = self.attrs["probability"]
        for data, ts in chunks:
            if self.rng.random() >= probability:
                yield data, ts

    def _http(self, chunks: Iterator[Chunk], reply: Any) -> Iterator[Chunk]:
        for data, ts in chunks:
            if self.passthrough or self.toxic.stream != "upstream":
                yield data, ts
                continue
            self.buffer += data
            while True:
                head_end = self.buffer.find(b"\r\n\r\n")
                if head_end < 0:
                    break
                head = self.buffer[:head_end].decode("latin-1")
                lines = head.split("\r\n")
                parts = lines[0].split(" ")
                method = parts[0] if parts else ""
                path = parts[1] if len(parts) > 1 else ""
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (ln.partition(":") for ln in lines[1:])
                }
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    self.passthrough = True
                    length = len(self.buffer) - head_end - 4
                else:
                    try:
                        length = int(headers.get("content-length", "0") or 0)
                    except ValueError:
                        length = 0
                total = head_end + 4 + length
                if len(self.buffer) < total and not self.passthrough:
                    break
                request, self.buffer = self.buffer[:total], self.buffer[total:]
                if self._matches(method, path):
                    if self.attrs["abort"]:
                        raise CloseConnection(reset=True)
                    if self.attrs["delay"] > 0:
                        time.sleep(self.attrs["delay"] / 1000.0)
                    if self.attrs["status_code"]:
                        reply(self._response())
                        continue
                yield request, ts
                if self.passthrough:
                    if self.buffer:
                        yield self.buffer, ts
                        self.buffer = b""
                    break

    def _matches(self, method: str, path: str) -> bool:
        want_method = self.attrs["method"]
        if want_method and want_method.upper() != method.upper():
            return False
        return path.startswith(self.attrs["path_prefix"] or "")

    def _response(self) -> bytes:
        from http import HTTPStatus

        code = int(self.attrs["status_code"])
        try:
            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = "Fault"
        body = (self.attrs["body"] or f"{code} {reason} (injected by chaos_engine)\n").encode()
        return (
            f"HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
            "X-Chaos-Engine: http-toxic\r\n\r\n"
        ).encode() + body

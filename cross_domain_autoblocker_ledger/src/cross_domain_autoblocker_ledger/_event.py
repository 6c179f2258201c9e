"""Security events: what every parser produces and every scenario consumes.

An :class:`Event` is one observation from one domain (ssh, http, ids, app):
who (``source``, usually an IP address, and ``user``), what (``kind``), when
(``time``, seconds since the epoch) and whether it counts as a failure.  The
detection engine only reads these fields and the free-form ``fields`` mapping,
so a scenario can count events from different domains together.

:class:`ParseStats` is the bookkeeping every parser keeps: lines seen, events
produced, lines skipped as irrelevant, and malformed lines, of which a bounded
sample is kept so an operator can see what the parser refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Event", "MalformedLine", "ParseStats"]

#: How many malformed lines a :class:`ParseStats` keeps verbatim.
SAMPLE_LIMIT = 20


@dataclass(slots=True)
class Event:
    """One security-relevant observation.

    Attributes:
        time: when it happened, seconds since the epoch (UTC).
        domain: where it came from: ``ssh``, ``pam``, ``http``, ``ids``, ``app``.
        kind: what happened, e.g. ``ssh_failed_password`` or ``http_404``.
        source: the remote party: an IP address (normalised text) or a host name.
        user: the account named by the event, when there is one.
        failure: whether the event counts against ``source`` (a successful
            login is an event too, but not a failure).
        target: what was attacked (a URL path, a service, an IDS signature).
        attempts: how many failed attempts this event stands for (a
            multi-line sshd failure can carry several).
        fields: any further named values, for ``group_by``/``filter``.
        origin: the file or stream the event was read from, and ``line`` its line.
    """

    time: float
    domain: str
    kind: str
    source: str | None
    user: str | None = None
    failure: bool = True
    target: str | None = None
    attempts: int = 1
    fields: dict[str, Any] = field(default_factory=dict)
    origin: str = ""
    line: int = 0

    def get(self, name: str) -> Any:
        """A field by name: the attributes first, then ``fields`` (``None`` if absent)."""
        if name in _ATTRS:
            return getattr(self, name)
        return self.fields.get(name)

    def to_dict(self) -> dict[str, Any]:
        """The event as plain JSON-able data."""
        data: dict[str, Any] = {
            "time": self.time,
            "domain": self.domain,
            "kind": self.kind,
            "source": self.source,
            "failure": self.failure,
            "attempts": self.attempts,
        }
        for key in ("user", "target"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.fields:
            data["fields"] = dict(self.fields)
        if self.origin:
            data["origin"] = self.origin
            data["line"] = self.line
        return data


_ATTRS = frozenset(
    ("time", "domain", "kind", "source", "user", "failure", "target", "attempts", "origin", "line")
)


@dataclass(frozen=True, slots=True)
class MalformedLine:
    """A line a parser refused, kept for inspection."""

    origin: str
    line: int
    reason: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "line": self.line, "reason": self.reason, "text": self.text}


@dataclass(slots=True)
class ParseStats:
    """Counts of what a parser did with its input, plus a sample of refused lines."""

    lines: int = 0
    events: int = 0
    skipped: int = 0
    malformed: int = 0
    samples: list[MalformedLine] = field(default_factory=list)

    def reject(self, origin: str, line: int, reason: str, text: str) -> None:
        """Count one malformed line and keep it if the sample is not full."""
        self.malformed += 1
        if len(self.samples) < SAMPLE_LIMIT:
            self.samples.append(MalformedLine(origin, line, reason, text[:500]))

    def merge(self, other: ParseStats) -> None:
        """Add ``other``'s counts (and as much of its sample as fits) to these."""
        self.lines += other.lines
        self.events += other.events
        self.skipped += other.skipped
        self.malformed += other.malformed
        room = SAMPLE_LIMIT - len(self.samples)
        if room > 0:
            self.samples.extend(other.samples[:room])

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "events": self.events,
            "skipped": self.skipped,
            "malformed": self.malformed,
            "samples": [s.to_dict() for s in self.samples],
        }

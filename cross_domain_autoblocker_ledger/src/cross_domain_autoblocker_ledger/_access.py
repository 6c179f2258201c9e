"""Web server access logs: NCSA common, combined, and Apache's vhost_combined.

``nginx``'s default ``combined`` format and Apache's ``%h %l %u %t "%r" %>s %b
"%{Referer}i" "%{User-agent}i"`` are the same line; ``common`` stops after the
size; ``vhost_combined`` puts ``host:port`` in front.  One compiled regex
reads them all.  Each request becomes an ``http`` event whose ``kind`` is
``http_<status>``; client errors (4xx) count as failures, so a scenario can
count probing (404s), refused logins (401/403) or rate-limited clients
(429/444) without re-reading the line.
"""

from __future__ import annotations

import re
from datetime import datetime

from cross_domain_autoblocker_ledger._event import Event, ParseStats

__all__ = ["AccessLogParser"]

_LINE = re.compile(
    r"""
    ^(?:(?P<vhost>[^\s:]+):\d+\s+)?
    (?P<ip>[0-9A-Fa-f:.]+|\S+)\ (?P<ident>\S+)\ (?P<user>\S+)[ ]
    \[(?P<ts>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}\ [+-]\d{4})\][ ]
    "(?P<req>(?:[^"\\]|\\.)*)"\ (?P<status>\d{3})\ (?P<size>\d+|-)
    (?:\ "(?P<ref>(?:[^"\\]|\\.)*)"\ "(?P<ua>(?:[^"\\]|\\.)*)")?
    .*$
    """,
    re.VERBOSE,
)
_REQUEST = re.compile(
    r"^(?P<method>[A-Z][A-Z0-9_-]{0,31}) (?P<path>\S+)(?: (?P<proto>HTTP/\d(?:\.\d)?))?$"
)


class AccessLogParser:
    """Parse access-log lines into ``http`` events.

    Args:
        origin: a name for the stream, recorded on events and samples.
    """

    def __init__(self, origin: str = "") -> None:
        self.origin = origin
        self.stats = ParseStats()
        self._times: dict[str, float] = {}

    def feed(self, line: str, lineno: int = 0) -> Event | None:
        """Parse one line (without its newline); return an event or ``None``."""
        stats = self.stats
        stats.lines += 1
        if not line or line.isspace():
            stats.skipped += 1
            return None
        m = _LINE.match(line)
        if m is None:
            stats.reject(
                self.origin, lineno, "not an access-log line (common/combined format)", line
            )
            return None
        stamp = self._time(m["ts"])
        if stamp is None:
            stats.reject(self.origin, lineno, f"impossible timestamp {m['ts']!r}", line)
            return None
        status = int(m["status"])
        request = m["req"]
        fields: dict[str, object] = {"status": status, "request": request}
        rm = _REQUEST.match(request)
        path: str | None = None
        if rm is not None:
            path = rm["path"]
            fields["method"] = rm["method"]
            fields["path"] = path
        if m["size"] != "-":
            fields["bytes"] = int(m["size"])
        if m["ref"] is not None:
            fields["referer"] = m["ref"]
            fields["user_agent"] = m["ua"]
        if m["vhost"] is not None:
            fields["vhost"] = m["vhost"]
        user = m["user"]
        event = Event(
            stamp,
            "http",
            f"http_{status}",
            m["ip"],
            None if user == "-" else user,
            failure=400 <= status < 500,
            target=path,
            fields=fields,
            origin=self.origin,
            line=lineno,
        )
        stats.events += 1
        return event

    def _time(self, text: str) -> float | None:
        cached = self._times.get(text)
        if cached is not None:
            return cached
        try:
            value = datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z").timestamp()
        except ValueError:
            return None
        if len(self._times) > 65536:
            self._times.clear()
        self._times[text] = value
        return value

"""JSON-lines events: a generic field mapping, Suricata EVE, and journald's JSON.

* **Generic**: a :class:`JsonMapping` says which (dotted) keys hold the
  time, source, kind, user and target, and which domain the events belong
  to, so a WAF's or an application's audit log becomes events without code.
* **Suricata EVE** (``eve.json``): ``event_type: alert`` records become
  ``ids_alert`` events from ``src_ip``, the signature as ``target`` and
  ``signature_id``/``severity``/``category`` as fields; other event types
  (flow, dns, stats, ...) are skipped.
* **journald** (``journalctl -o json``): records whose
  ``SYSLOG_IDENTIFIER`` is sshd go through the same sshd rules as the text
  logs, so a host without ``/var/log/auth.log`` is read just as well.

A line that is not JSON, not an object, or lacks a usable time or source is
malformed: counted and sampled, never raised.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cross_domain_autoblocker_ledger._event import Event, ParseStats
from cross_domain_autoblocker_ledger._sshd import SshdConnections, SshdMode, SshdRules
from cross_domain_autoblocker_ledger._syslog import SyslogLine

__all__ = ["JsonLinesParser", "JsonMapping", "parse_time"]


@dataclass(frozen=True, slots=True)
class JsonMapping:
    """Where a generic JSON event keeps its fields (dotted paths into the object).

    Attributes:
        domain: the events' domain (``app``, ``waf``, ...).
        time: key of the timestamp (epoch seconds or milliseconds, or RFC 3339 text).
        source: key of the remote address.
        kind: key of the event type; ``default_kind`` when absent.
        user: key of the account name, if any.
        target: key of what was attacked, if any.
        failure: key of a boolean saying whether the event is a failure;
            when unset every event counts as one.
    """

    domain: str = "app"
    time: str = "timestamp"
    source: str = "src_ip"
    kind: str = "event_type"
    user: str | None = "user"
    target: str | None = None
    failure: str | None = None
    default_kind: str = "app_event"


def _dig(obj: dict[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def parse_time(value: Any) -> float | None:
    """Epoch seconds from a number (s or ms) or an RFC 3339 string; ``None`` if unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        if math.isnan(number) or math.isinf(number) or number < 0:
            return None
        return number / 1000.0 if number > 1e11 else number
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        # Suricata writes "+0000"; fromisoformat in 3.11 wants "+00:00".
        if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and text[-3] != ":":
            text = text[:-2] + ":" + text[-2:]
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            return None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        return stamp.timestamp()
    return None


_SSHD = frozenset(("sshd", "sshd-session", "sshd-auth"))


class JsonLinesParser:
    """Parse JSON-lines into events.

    Args:
        origin: a name for the stream, recorded on events and samples.
        flavour: ``auto`` (EVE and journald recognised by their keys, the
            rest by ``mapping``), ``eve``, ``journald`` or ``generic``.
        mapping: the generic field mapping.
        mode: sshd rule set for journald records.
    """

    def __init__(
        self,
        origin: str = "",
        flavour: str = "auto",
        mapping: JsonMapping | None = None,
        mode: SshdMode = "normal",
    ) -> None:
        if flavour not in ("auto", "eve", "journald", "generic"):
            raise ValueError(f"unknown JSON flavour {flavour!r}")
        self.origin = origin
        self.flavour = flavour
        self.mapping = mapping if mapping is not None else JsonMapping()
        self.stats = ParseStats()
        self._sshd: SshdConnections | None = None
        self._mode: SshdMode = mode

    def feed(self, line: str, lineno: int = 0) -> Event | None:
        """Parse one line; return an event or ``None``."""
        stats = self.stats
        stats.lines += 1
        if not line or line.isspace():
            stats.skipped += 1
            return None
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            stats.reject(self.origin, lineno, f"not JSON: {exc}", line)
            return None
        if not isinstance(obj, dict):
            stats.reject(self.origin, lineno, f"a JSON {type(obj).__name__}, not an object", line)
            return None
        flavour = self.flavour
        if flavour == "auto":
            if "event_type" in obj and "src_ip" in obj and ("flow_id" in obj or "alert" in obj):
                flavour = "eve"
            elif "MESSAGE" in obj and "__REALTIME_TIMESTAMP" in obj:
                flavour = "journald"
            else:
                flavour = "generic"
        if flavour == "eve":
            event = self._eve(obj, line, lineno)
        elif flavour == "journald":
            event = self._journald(obj, line, lineno)
        else:
            event = self._generic(obj, line, lineno)
        if event is not None:
            event.origin = self.origin
            event.line = lineno
            stats.events += 1
        return event

    def _eve(self, obj: dict[str, Any], line: str, lineno: int) -> Event | None:
        if obj.get("event_type") != "alert":
            self.stats.skipped += 1
            return None
        stamp = parse_time(obj.get("timestamp"))
        source = obj.get("src_ip")
        alert = obj.get("alert")
        if stamp is None or not isinstance(source, str) or not isinstance(alert, dict):
            self.stats.reject(
                self.origin, lineno, "EVE alert without timestamp, src_ip or alert", line
            )
            return None
        fields: dict[str, Any] = {
            k: alert[k]
            for k in ("signature_id", "severity", "category", "action", "rev", "gid")
            if k in alert
        }
        for key in ("dest_ip", "dest_port", "src_port", "proto", "app_proto", "in_iface"):
            if key in obj:
                fields[key] = obj[key]
        signature = alert.get("signature")
        return Event(
            stamp,
            "ids",
            "ids_alert",
            source,
            None,
            target=signature if isinstance(signature, str) else None,
            fields=fields,
        )

    def _journald(self, obj: dict[str, Any], line: str, lineno: int) -> Event | None:
        ident = obj.get("SYSLOG_IDENTIFIER") or obj.get("_COMM")
        message = obj.get("MESSAGE")
        raw_time = obj.get("__REALTIME_TIMESTAMP")
        try:
            stamp = int(raw_time) / 1e6 if raw_time is not None else None
        except (TypeError, ValueError):
            stamp = None
        if stamp is None or not isinstance(message, str):
            self.stats.reject(self.origin, lineno, "journald record without MESSAGE or time", line)
            return None
        if ident not in _SSHD:
            self.stats.skipped += 1
            return None
        if self._sshd is None:
            self._sshd = SshdConnections(SshdRules(self._mode))
        host = obj.get("_HOSTNAME")
        pid = obj.get("_PID") or obj.get("SYSLOG_PID")
        parsed = SyslogLine(
            stamp,
            host if isinstance(host, str) else None,
            str(ident),
            str(pid) if pid else None,
            message,
        )
        event = self._sshd.feed(parsed, time.time())
        if event is None:
            self.stats.skipped += 1
        return event

    def _generic(self, obj: dict[str, Any], line: str, lineno: int) -> Event | None:
        mapping = self.mapping
        stamp = parse_time(_dig(obj, mapping.time))
        if stamp is None:
            self.stats.reject(self.origin, lineno, f"no readable time at {mapping.time!r}", line)
            return None
        source = _dig(obj, mapping.source)
        if source is not None and not isinstance(source, str):
            self.stats.reject(self.origin, lineno, f"{mapping.source!r} is not a string", line)
            return None
        kind = _dig(obj, mapping.kind)
        user = _dig(obj, mapping.user) if mapping.user else None
        target = _dig(obj, mapping.target) if mapping.target else None
        failure = True
        if mapping.failure is not None:
            flag = _dig(obj, mapping.failure)
            failure = bool(flag) if flag is not None else False
        fields = {k: v for k, v in obj.items() if isinstance(v, str | int | float | bool)}
        return Event(
            stamp,
            mapping.domain,
            str(kind)
            if isinstance(kind, str | int) and not isinstance(kind, bool)
            else mapping.default_kind,
            source,
            user if isinstance(user, str) else None,
            failure=failure,
            target=target if isinstance(target, str) else None,
            fields=fields,
        )

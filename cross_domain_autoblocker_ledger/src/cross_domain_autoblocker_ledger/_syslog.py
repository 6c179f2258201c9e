"""Syslog and journald text line prefixes, and their timestamps.

Auth logs reach us in several shapes of the same thing, a prefix followed by
the daemon's message:

* BSD syslog (``/var/log/auth.log``, ``journalctl -o short``):
  ``Jun 21 16:47:48 host sshd[13709]: message`` (optionally with fractional
  seconds, ``-o short-precise``);
* ISO timestamps (rsyslog's high-precision format, ``-o short-iso``):
  ``2015-04-16T18:02:50.321974+00:00 host sshd[2716]: message``;
* ``journalctl -o short-unix``: ``1119372468.123456 host sshd[1]: message``;
* RFC 5424: ``<38>1 2019-07-08T17:40:16.95-04:00 host sshd 57915 - - message``;
* journald's undated short form (``host sshd[1]: message``), whose time comes
  from the journal itself (we use the reader's clock).

:func:`split_prefix` takes one line apart with one compiled regex and
returns a :class:`SyslogLine`; BSD timestamps carry no year, so
:class:`TimestampResolver` picks the year that does not put the line more
than a day in the future of a reference clock, as syslog readers do.
"""

from __future__ import annotations

import re
import time as _time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["SSHD_BSD_PREFIX", "SyslogLine", "TimestampResolver", "split_prefix"]

_MONTHS = {
    name: index
    for index, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}

# One pass: timestamp (any of the accepted shapes, or none), host, program,
# pid, the Solaris "[ID n facility.level]" tag, then the message.
_PREFIX = re.compile(
    r"""
    ^(?:
        (?P<bsd>[A-Z][a-z]{2}\ {1,2}\d{1,2}\ \d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)\s+
      | (?P<iso>\d{4}-\d{2}-\d{2}[T\ ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?)\s+
      | (?P<unix>\d{9,11}(?:\.\d{1,9})?)\s+
    )?
    (?:<[^.>\s]+\.[^.>\s]+>\s+)?                         # BSD verbose "<auth.info>"
    (?:(?P<host>[^\s\[\]]*[^\s\[\]:])\s+)?
    (?:\[(?P<bprog>[^\]\s]+)\]:?
      | (?P<prog>[A-Za-z0-9_.\-/()]+?)(?:\[(?P<pid>\d+)\])?:
    )\s+
    (?:kernel:\s?\[\s*\d+\.\d+\]:?\s+)?             # "kernel: [  970.699]" tags
    (?:\[ID\ \d+\ \S+\]\s+)?                         # Solaris "[ID 800047 auth.info]"
    (?P<msg>.*)
    """,
    re.VERBOSE,
)

_RFC5424 = re.compile(
    r"""
    ^<(?P<pri>\d{1,3})>1\s+
    (?P<iso>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2}))\s+
    (?P<host>\S+)\s+(?P<prog>\S+)\s+(?P<pid>\S+)\s+\S+\s+
    (?:-|(?:\[(?:[^\]"]|"(?:[^"\\]|\\.)*")*\])+)\s+
    (?P<msg>.*)
    """,
    re.VERBOSE,
)


@dataclass(
    slots=True
)  # not frozen: built once per log line, and frozen construction costs twice as much
class SyslogLine:
    """A syslog line taken apart.

    Attributes:
        time: seconds since the epoch; ``None`` when the line has no timestamp.
        host: the logging host, if the line names one.
        program: the daemon (``sshd``, ``sshd-session``, ``sudo``, ...).
        pid: its process id as text, if given.
        message: the daemon's own text.
    """

    time: float | None
    host: str | None
    program: str
    pid: str | None
    message: str

    @property
    def connection_id(self) -> tuple[str, str, str]:
        """What identifies one daemon process's lines: host, program and pid."""
        return (self.host or "", self.program, self.pid or "")


class TimestampResolver:
    """Turns the timestamps syslog writes into epoch seconds, with a cache.

    Args:
        tz: the zone of timestamps that carry no offset (BSD syslog writes
            local time); defaults to this machine's local zone.
        now: the reference clock used to choose the year of a BSD timestamp;
            a line more than a day "in the future" belongs to the year before.
    """

    def __init__(self, tz: tzinfo | None = None, now: float | None = None) -> None:
        self.tz = tz if tz is not None else datetime.now().astimezone().tzinfo or UTC
        self._now = now
        self._cache: dict[str, float] = {}
        # The last BSD timestamp read: a busy log writes many lines per second.
        self._last_text = ""
        self._last_value = 0.0

    def now(self) -> float:
        return self._now if self._now is not None else _time.time()

    def bsd(self, text: str) -> float | None:
        """``Jun 21 16:47:48[.ffffff]`` → epoch seconds, or ``None`` if impossible.

        The epoch of each (month, day, hour) is computed once and cached:
        minutes and seconds are then plain arithmetic, which keeps a busy log
        from paying a ``datetime`` construction per line.  (Exact for every
        zone whose offsets change on the hour.)
        """
        if text == self._last_text:
            return self._last_value
        if (
            len(text) >= 15 and text[6] == " " and text[9] == ":"
        ):  # "Jun 21 16:47:48", the usual shape
            head, clock, hour_key = text[:6], text[7:], text[:9]
        else:  # "Feb 7 16:01:07": an unpadded day
            head, _, clock = text.rpartition(" ")
            hour_key = head + " " + clock[:2]
        base = self._cache.get(hour_key)
        if base is None:
            base = self._hour(head, clock[:2])
            if base is None:
                return None
            if len(self._cache) > 65536:
                self._cache.clear()
            self._cache[hour_key] = base
        minute = int(clock[3:5])
        second = int(clock[6:8])
        if minute > 59 or second > 60:
            return None
        fraction = clock[9:]
        value = base + minute * 60 + second + (float("0." + fraction) if fraction else 0.0)
        self._last_text = text
        self._last_value = value
        return value

    def _hour(self, head: str, hour_text: str) -> float | None:
        month = _MONTHS.get(head[:3])
        if month is None:
            return None
        hour = int(hour_text)
        reference = datetime.fromtimestamp(self.now(), self.tz)
        try:
            stamp = datetime(reference.year, month, int(head[4:]), hour, tzinfo=self.tz)
            if stamp - reference > timedelta(days=1):
                stamp = stamp.replace(year=reference.year - 1)
        except ValueError:  # Feb 30, hour 25, Feb 29 in a common year
            return None
        return stamp.timestamp()

    def iso(self, text: str) -> float | None:
        """An RFC 3339 / ISO 8601 timestamp → epoch seconds (local zone if none given)."""
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        try:
            stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=self.tz)
        value = stamp.timestamp()
        if len(self._cache) > 65536:
            self._cache.clear()
        self._cache[text] = value
        return value


def _strip(message: str) -> str:
    # Trailing blanks are dropped here rather than by the regex: a lazy
    # ".*?\s*$" retries the tail at every character and costs a third of a parse.
    return message.rstrip() if message and message[-1] in " \t\r\n" else message


# The commonest shape, "Jun  1 12:00:00 host sshd[123]: message", in a regex a
# third the cost of the general one (the possessive "\s++" keeps the lookahead
# from being dodged by backtracking); anything it does not match exactly (other
# daemons, tags, verbose priorities, other timestamps) takes the general path.
#: That shape's prefix as a pattern (groups: timestamp, host, program, pid),
#: up to the first character of the message; :class:`SshdRules` appends its
#: message rules to it to read such a line with a single regex.
SSHD_BSD_PREFIX = (
    r"([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) ([^\s\[\]:<]+) (sshd|sshd-session|sshd-auth)"
    r"\[(\d+)\]:\s++(?!\[ID |kernel:)"
)
_FAST = re.compile(SSHD_BSD_PREFIX + "(.*)")


def split_prefix(line: str, times: TimestampResolver) -> SyslogLine | None:
    """Take a syslog/journald text line apart; ``None`` if it has no recognisable prefix.

    A line whose timestamp is present but impossible (``Feb 30``) is refused
    too: its other fields cannot be trusted either.
    """
    m = _FAST.match(line)
    if m is not None:
        stamp = times.bsd(m[1])
        if stamp is None:
            return None
        return SyslogLine(stamp, m[2], m[3], m[4], _strip(m[5]))
    return split_general(line, times)


def split_general(line: str, times: TimestampResolver) -> SyslogLine | None:
    """:func:`split_prefix` without its fast path (every accepted shape, one regex)."""
    if line.startswith("<"):
        m5 = _RFC5424.match(line)
        if m5 is not None:
            stamp5 = times.iso(m5["iso"])
            if stamp5 is None:
                return None
            pid5 = m5["pid"]
            return SyslogLine(
                stamp5, m5["host"], m5["prog"], None if pid5 == "-" else pid5, _strip(m5["msg"])
            )
    m = _PREFIX.match(line)
    if m is None:
        return None
    stamp: float | None
    if (bsd := m["bsd"]) is not None:
        stamp = times.bsd(bsd)
    elif (iso := m["iso"]) is not None:
        stamp = times.iso(iso)
    elif (unix := m["unix"]) is not None:
        stamp = float(unix)
    else:
        return SyslogLine(None, m["host"], m["prog"] or m["bprog"], m["pid"], _strip(m["msg"]))
    if stamp is None:
        return None
    return SyslogLine(stamp, m["host"], m["prog"] or m["bprog"], m["pid"], _strip(m["msg"]))

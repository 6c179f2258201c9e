"""The auth-log parser: sshd and PAM lines from syslog files and journald text.

One :class:`AuthLogParser` follows one log stream.  Per line it runs a cheap
substring prefilter, then one compiled regex for the syslog prefix and (for
sshd) one compiled regex for the message; PAM ``(service:auth)`` failures of
other services (``sudo``, ``su``, ``login``, ``vsftpd``, ...) become ``pam``
events.  Lines from other daemons are *skipped*; lines that pass the
prefilter but have no readable prefix are *malformed*: counted, sampled,
never raised.
"""

from __future__ import annotations

import re
import time

from cross_domain_autoblocker_ledger._event import Event, ParseStats
from cross_domain_autoblocker_ledger._sshd import (
    SshdConnections,
    SshdMode,
    SshdRules,
    normalise_host,
)
from cross_domain_autoblocker_ledger._syslog import TimestampResolver, split_prefix

__all__ = ["AuthLogParser"]

_SSHD_PROGRAMS = frozenset(("sshd", "sshd-session", "sshd-auth"))
_PAM_FAILURE = re.compile(
    r"pam_[a-z0-9_]+\((?P<svc>[^:()\s]+):auth\):\s+authentication failure;"
    r"(?:\s+(?:logname|e?uid|tty)=\S*)*\s+ruser=(?P<ruser>\S*)\s+rhost=(?P<rhost>\S*)"
    r"(?:\s+user=(?P<user>\S*))?"
)


class AuthLogParser:
    """Parse sshd/PAM lines of one stream into events.

    Args:
        origin: a name for the stream (a path), recorded on events and samples.
        mode: the sshd rule set (see :mod:`._sshd`).
        times: timestamp resolver (time zone and reference year).
        clock: where undated lines (journald short form) take their time.
    """

    def __init__(
        self,
        origin: str = "",
        mode: SshdMode = "normal",
        times: TimestampResolver | None = None,
        clock: float | None = None,
    ) -> None:
        self.origin = origin
        self.times = times if times is not None else TimestampResolver()
        self.sshd = SshdConnections(SshdRules(mode))
        self.stats = ParseStats()
        self._clock = clock

    def feed(self, line: str, lineno: int = 0) -> Event | None:
        """Parse one line (without its newline); return an event or ``None``."""
        stats = self.stats
        stats.lines += 1
        if ("sshd" not in line and ":auth)" not in line) or line.startswith("#"):
            stats.skipped += 1
            return None
        parsed = split_prefix(line, self.times)
        if parsed is None:
            stats.reject(
                self.origin, lineno, "no syslog prefix (timestamp, host, program[pid]:)", line
            )
            return None
        now = self._clock if self._clock is not None else time.time()
        event: Event | None
        if parsed.program in _SSHD_PROGRAMS:
            event = self.sshd.feed(parsed, now)
        else:
            event = self._pam(
                parsed.message, parsed.program, parsed.time if parsed.time is not None else now
            )
        if event is None:
            stats.skipped += 1
            return None
        event.origin = self.origin
        event.line = lineno
        stats.events += 1
        return event

    @staticmethod
    def _pam(message: str, program: str, when: float) -> Event | None:
        m = _PAM_FAILURE.search(message)
        if m is None:
            return None
        user = m["user"] or m["ruser"] or None
        source = normalise_host(m["rhost"]) if m["rhost"] else None
        return Event(
            when,
            "pam",
            "pam_auth_failure",
            source,
            user,
            target=m["svc"],
            fields={"program": program},
        )

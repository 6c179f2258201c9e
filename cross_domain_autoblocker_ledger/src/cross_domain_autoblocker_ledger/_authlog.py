"""The auth-log parser: sshd and PAM lines from syslog files and journald text.

One :class:`AuthLogParser` follows one log stream.  Per line it runs a cheap
substring prefilter, then, for the commonest shape (BSD timestamp, ``sshd[pid]``),
one compiled regex for the whole line; other lines take two, one for the
syslog prefix and (for sshd) one for the message; PAM ``(service:auth)`` failures of
other services (``sudo``, ``su``, ``login``, ``vsftpd``, ...) become ``pam``
events.  Lines from other daemons are *skipped*; lines that pass the
prefilter but have no readable prefix are *malformed*: counted, sampled,
never raised.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator

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
_BLANKS = " \t\r\n"  # what the two-step path strips from a message's end
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
        fast_lines: read the commonest sshd lines with one whole-line regex
            (off only to check that it agrees with the two-step path).
    """

    def __init__(
        self,
        origin: str = "",
        mode: SshdMode = "normal",
        times: TimestampResolver | None = None,
        clock: float | None = None,
        *,
        fast_lines: bool = True,
    ) -> None:
        self.origin = origin
        self.times = times if times is not None else TimestampResolver()
        self.sshd = SshdConnections(SshdRules(mode))
        self.stats = ParseStats()
        self._clock = clock
        self._line = self.sshd.rules.line.match if fast_lines else None
        self._line_rules = self.sshd.rules.line_rules

    def feed(self, line: str, lineno: int = 0) -> Event | None:
        """Parse one line (without its newline); return an event or ``None``."""
        for event in self.read((line,), lineno):
            return event
        return None

    def read(self, lines: Iterable[str], first: int = 1) -> Iterator[Event]:
        """Parse ``lines`` (numbered from ``first``; a trailing newline is
        dropped) and yield their events: :meth:`feed` over a whole file,
        with its per-line work inlined.

        The whole-line regex reads "Jun  1 12:00:00 host sshd[1]: <a rule>"
        in one call.  Lines it cannot take exactly as the two-step path would
        (trailing blanks, which that path strips; embedded newlines; an
        impossible date; no rule matching) take the two-step path.
        """
        stats = self.stats
        origin = self.origin
        fast = self._line
        line_rules = self._line_rules
        bsd = self.times.bsd
        record = self.sshd.record
        general = self._general
        blanks = _BLANKS
        lineno = first - 1
        stamp = ""  # the last timestamp text and its value: many lines share a second
        when = 0.0
        for raw in lines:
            lineno += 1
            line = raw.rstrip("\r\n")
            stats.lines += 1
            if ("sshd" not in line and ":auth)" not in line) or line.startswith("#"):
                stats.skipped += 1
                continue
            m = (
                fast(line)
                if fast is not None and line[-1] not in blanks and "\n" not in line
                else None
            )
            if m is not None and m[1] != stamp:
                value = bsd(m[1])
                if value is None:
                    m = None
                else:
                    stamp, when = m[1], value
            if m is not None:
                rule, h, u, a, n = line_rules[m.lastgroup]
                user = m.group(u) if u else None
                if not user and a:
                    user = m.group(a) or user
                host = m.group(h) if h else None
                if host and host[0] in "[:":
                    host = normalise_host(host)
                event = record(
                    m.group(2, 3, 4),  # type: ignore[arg-type]  # three groups that always match
                    when,
                    rule,
                    host=host,
                    user=user,
                    nofail=rule.nofail or (rule.nofail_group and n != 0 and m.group(n) is not None),
                )
            else:
                event = general(line, lineno)
                if event is None:
                    continue
            if event is None:
                stats.skipped += 1
                continue
            event.origin = origin
            event.line = lineno
            stats.events += 1
            yield event

    def _general(self, line: str, lineno: int) -> Event | None:
        """The two-step path for one line that passed the prefilter: prefix, then message.

        Counts a malformed or skipped line itself; an event is returned
        for the caller to stamp and count.
        """
        stats = self.stats
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

"""sshd and PAM authentication messages, the way fail2ban's ``sshd`` filter reads them.

The rules mirror Debian fail2ban's ``filter.d/sshd.conf`` (the reference an
operator already trusts) and its four modes:

* ``normal``: failed passwords and keys, invalid users, refused users,
  PAM failures, "too many authentication failures";
* ``ddos``: adds pre-authentication noise (no identification string, bad
  protocol versions, connections closed during ``[preauth]``);
* ``extra``: adds negotiation failures (no matching cipher/MAC/kex);
* ``aggressive``: both.

All rules of a mode are compiled into **one** regular expression (one
alternative per rule, each in a named group, so ``match.lastgroup`` names the
rule) and a line is matched once.  A cheap prefilter (``"sshd" in line``)
drops unrelated syslog lines before any regex runs.

Some failures span lines of one sshd process ("connection id"): a PAM
failure alone is not a failure until the connection ends without a
successful login; "Too many authentication failures" names no address, which
an earlier "Connection from" line of the same process supplied.
:class:`SshdConnections` keeps that per-connection state with fail2ban's
semantics: *nofail* lines are remembered, *forget* lines (disconnects) end
the connection, *gained* lines (``Accepted ...``) cancel pending failures
unless several user names were tried.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cross_domain_autoblocker_ledger._event import Event
from cross_domain_autoblocker_ledger._syslog import SSHD_BSD_PREFIX, SyslogLine

__all__ = ["SSHD_MODES", "SshdConnections", "SshdMode", "SshdRules"]

SshdMode = Literal["normal", "ddos", "extra", "aggressive"]
SSHD_MODES: tuple[SshdMode, ...] = ("normal", "ddos", "extra", "aggressive")

# Building blocks, as in fail2ban's sshd.conf.  {H}, {U} ... are replaced by
# group names unique to each rule (Python forbids duplicate group names).
_HOST = (
    r"(?P<{H}>(?:::f{{4,6}}:)?\d{{1,3}}\.\d{{1,3}}\.\d{{1,3}}\.\d{{1,3}}"
    r"|\[?(?:[0-9a-fA-F]{{1,4}}::?|::){{1,7}}(?:[0-9a-fA-F]{{1,4}}|(?<=:):)\]?"
    r"|[\w\-.^_]*\w)"
)
_SUFF = r"(?: (?:port \d+|on \S+|\[preauth\])){{0,3}}\s*"
_ON_PORT = r"(?: (?:port \d+|on \S+)){{0,2}}"
_AUTHNG_USER = r"(?: (?:invalid|authenticating) user (?P<{U}>\S+|.*?))?"
_ALG = r"(?:(?:\w+ (?!found\b)){{0,2}}\w+)"


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    pattern: str
    starts: tuple[str, ...]
    nofail: bool = False
    forget: bool = False
    gained: bool = False
    nofail_group: bool = False  # nofail only when the rule's {N} group matched
    fast: bool = False  # a fast path, equivalent to a later general rule on what it matches


def _r(kind: str, starts: tuple[str, ...], pattern: str, **flags: bool) -> _Rule:
    return _Rule(kind, pattern, starts, **flags)


_COMMON: tuple[_Rule, ...] = (
    _r(
        "ssh_pam_failure",
        ("aut", "Aut"),
        r"[aA]uthentication (?:failure|error|failed) for (?P<{U}>.*) from {HOST}(?: via \S+)?{SUFF}$",
    ),
    _r(
        "ssh_unknown_user",
        ("Use",),
        r"User not known to the underlying authentication module for (?P<{U}>.*) from {HOST}{SUFF}$",
    ),
    # Fast path for the commonest line, "Failed password for [invalid user ]NAME
    # from ADDR port N ssh2": the same host and user fail2ban's general rule
    # below extracts, without its backtracking (that rule needs a ": " after
    # "ssh2" first, fails at the end of the line, then retries every split).
    _Rule(
        "ssh_failed_auth",
        starts=("Fai",),
        fast=True,
        pattern=r"Failed (?!publickey )\S+ for (?:invalid user )?(?P<{U}>[^\s:]+) from {HOST} port \d+(?: ssh\d*)?$",
    ),
    _r(
        "ssh_failed_publickey",
        ("Fai",),
        r"Failed publickey for invalid user (?P<{U}>(?P<{C}>\S+)|(?:(?! from ).)*?) from {HOST}{ONPORT}(?: ssh\d*)?(?({C}): |(?:(?:(?! from ).)*)$)",
    ),
    _r(
        "ssh_failed_auth",
        ("Fai",),
        r"Failed (?:(?P<{N}>publickey)|\S+) for (?P<{I}>invalid user )?(?P<{U}>(?P<{C}>\S+)|(?({I})(?:(?! from ).)*?|[^:]+)) from {HOST}{ONPORT}(?: ssh\d*)?(?({C}): |(?:(?:(?! from ).)*)$)",
        nofail_group=True,
    ),
    _r("ssh_root_refused", ("ROO",), r"(?P<{U}>ROOT) LOGIN REFUSED FROM {HOST}"),
    _r(
        "ssh_invalid_user",
        ("Ill", "Inv", "ill", "inv"),
        r"[iI](?:llegal|nvalid) user (?P<{U}>.*?) from {HOST}{SUFF}$",
    ),
    _r(
        "ssh_user_not_allowed",
        ("Use",),
        r"User (?P<{U}>\S+|.*?) from {HOST} not allowed because not listed in AllowUsers{SUFF}$",
    ),
    _r(
        "ssh_user_denied",
        ("Use",),
        r"User (?P<{U}>\S+|.*?) from {HOST} not allowed because listed in DenyUsers{SUFF}$",
    ),
    _r(
        "ssh_user_no_group",
        ("Use",),
        r"User (?P<{U}>\S+|.*?) from {HOST} not allowed because not in any group{SUFF}$",
    ),
    _r("ssh_refused_connect", ("ref",), r"refused connect from \S+ \({HOST}\)"),
    _r(
        "ssh_auth_fail_disconnect",
        ("Rec",),
        # The lookahead only says what the rule needs anyway (": Auth fail"
        # further on): it spares the usual ":11: Bye Bye" line the rule's
        # backtracking through every way of splitting host and port.
        r"Received disconnect from (?=[\s\S]*?: Auth fail){HOST}{ONPORT}:\s*3: .*: Auth fail{SUFF}$",
        forget=True,
    ),
    _r(
        "ssh_group_denied",
        ("Use",),
        r"User (?P<{U}>\S+|.*?) from {HOST} not allowed because a group is listed in DenyGroups{SUFF}$",
    ),
    _r(
        "ssh_group_not_allowed",
        ("Use",),
        r"User (?P<{U}>\S+|.*?) from {HOST} not allowed because none of user's groups are listed in AllowGroups{SUFF}$",
    ),
    _r(
        "ssh_pam_unix_failure",
        ("pam",),
        r"pam_[a-z]+\(sshd:auth\):\s+authentication failure;(?:\s+(?:(?:logname|e?uid|tty)=\S*)){{0,4}}\s+ruser=(?P<{A}>\S*)\s+rhost={HOST}(?:\s+user=(?P<{U}>\S*))?{SUFF}$",
        nofail=True,
    ),
    _r(
        "ssh_max_auth_attempts",
        ("max",),
        r"maximum authentication attempts exceeded for (?P<{U}>.*) from {HOST}{ONPORT}(?: ssh\d*)?{SUFF}$",
    ),
    _r(
        "ssh_account_locked",
        ("Use",),
        r"User (?P<{U}>\S+|.*?) not allowed because account is locked{SUFF}",
    ),
    _r(
        "ssh_change_of_user",
        ("Dis",),
        r"Disconnecting(?: from)?(?: (?:invalid|authenticating)) user (?P<{U}>\S+) {HOST}{ONPORT}:\s*Change of username or service not allowed:\s*.*\[preauth\]\s*$",
        forget=True,
    ),
    _r(
        "ssh_too_many_failures",
        ("Dis",),
        r"Disconnecting: Too many authentication failures(?: for (?P<{U}>\S+|.*?))?{SUFF}$",
    ),
    _r(
        "ssh_disconnect_bye",
        ("Rec",),
        r"Received disconnect from {HOST}{ONPORT}:\s*11:",
        nofail=True,
        forget=True,
    ),
)

_CLOSED = r"(?:Connection (?:closed|reset)|Disconnected) (?:by|from){AUTHNG} {HOST}"
_OTHER: dict[str, tuple[_Rule, ...]] = {
    "normal": (
        _r("ssh_closed", ("Con", "Dis"), _CLOSED + r"(?:{SUFF}|\s*)$", nofail=True, forget=True),
    ),
    "ddos": (
        _r(
            "ssh_closed_preauth",
            ("Con", "Dis"),
            _CLOSED + r"{ONPORT}\s+\[preauth\]\s*$",
            forget=True,
        ),
        _r("ssh_closed", ("Con", "Dis"), _CLOSED + r"(?:{ONPORT}|\s*)$", nofail=True, forget=True),
    ),
    "extra": (
        _r(
            "ssh_disconnected_preauth",
            ("Dis",),
            r"Disconnected(?: from)?(?: (?:invalid|authenticating)) user (?P<{U}>\S+|.*?) {HOST}{ONPORT} \[preauth\]\s*$",
            forget=True,
        ),
    ),
}
_OTHER["aggressive"] = _OTHER["ddos"]

_ACCEPTED = _r(
    "ssh_accepted",
    ("Acc",),
    r"Accepted \w+ for (?P<{U}>\S+) from {HOST}(?:\s|$)",
    gained=True,
    forget=True,
)

_DDOS: tuple[_Rule, ...] = (
    _r("ssh_no_identification", ("Did",), r"Did not receive identification string from {HOST}"),
    _r(
        "ssh_kex_identification",
        ("kex",),
        r"kex_exchange_identification: (?:read: )?(?:[Cc]lient sent invalid protocol identifier|[Cc]onnection (?:closed by remote host|reset by peer))",
    ),
    _r("ssh_bad_protocol", ("Bad",), r"Bad protocol version identification '.*' from {HOST}"),
    _r(
        "ssh_server_ltype",
        ("SSH",),
        r"SSH: Server;Ltype: (?:Authname|Version|Kex);Remote: {HOST}-\d+;[A-Z]\w+:",
        nofail=True,
    ),
    _r(
        "ssh_socket_reset",
        ("Rea",),
        r"Read from socket failed: Connection reset by peer",
        forget=True,
    ),
    _r(
        "ssh_banner_invalid",
        ("ban",),
        r"banner exchange: Connection from {HOST}{ONPORT}: invalid format",
    ),
)
_EXTRA: tuple[_Rule, ...] = (
    _r(
        "ssh_no_auth_methods",
        ("Rec",),
        r"Received disconnect from {HOST}{ONPORT}:\s*14: No(?: supported)? authentication methods available",
        forget=True,
    ),
    _r(
        "ssh_negotiation_failed",
        ("Una",),
        r"Unable to negotiate with {HOST}{ONPORT}: no matching {ALG} found\.",
    ),
    _r("ssh_negotiation_failed", ("Una",), r"Unable to negotiate a {ALG}"),
    _r("ssh_negotiation_failed", ("no ",), r"no matching {ALG} found:"),
)
_FOOTER = _r("ssh_connection", ("Con",), r"Connection from {HOST}", nofail=True)

_MODE_EXTRA: dict[str, tuple[_Rule, ...]] = {
    "normal": (),
    "ddos": _DDOS,
    "extra": _EXTRA,
    "aggressive": _DDOS + _EXTRA,
}


def _rules_for(mode: str) -> tuple[_Rule, ...]:
    return (*_COMMON, *_OTHER[mode], _ACCEPTED, *_MODE_EXTRA[mode], _FOOTER)


# Where a rule's alternative goes in the whole-line regex, commonest messages
# first: the regex engine saves and restores every capture slot up to the
# highest one in use while it backtracks, so a rule whose groups are numbered
# low is cheaper to match (a rule near the end of a 70-group alternation paid
# twice its own cost).  Only rules that can start alike must keep their
# relative order (the first matching rule wins); rules with disjoint starts
# can never match the same message, so their order is free.
_BUSY_STARTS = ("Fai", "Inv", "pam", "Rec", "Con", "max", "Acc")


def _line_order(rules: Sequence[_Rule]) -> list[int]:
    """Rule indices for the whole-line regex: clusters of rules sharing a start, busiest first."""
    cluster = list(range(len(rules)))  # union-find over shared starts

    def root(i: int) -> int:
        while cluster[i] != i:
            cluster[i] = cluster[cluster[i]]
            i = cluster[i]
        return i

    owner: dict[str, int] = {}
    for index, rule in enumerate(rules):
        for start in rule.starts:
            if start in owner:
                cluster[root(index)] = root(owner[start])
            else:
                owner[start] = index

    def rank(index: int) -> tuple[int, int]:
        members = [i for i in range(len(rules)) if root(i) == root(index)]
        starts = {start for i in members for start in rules[i].starts}
        busy = [n for n, start in enumerate(_BUSY_STARTS) if start in starts]
        return (min(busy) if busy else len(_BUSY_STARTS), index)

    return sorted(range(len(rules)), key=rank)


class SshdRules:
    """The rules of one sshd mode, compiled into a single regex.

    Args:
        mode: ``normal`` (default), ``ddos``, ``extra`` or ``aggressive``, as
            in fail2ban's ``sshd[mode=...]``.
        fast_paths: use the fast-path rules (off only to check that they
            agree with the general rules they shortcut).
    """

    def __init__(self, mode: SshdMode = "normal", *, fast_paths: bool = True) -> None:
        if mode not in _OTHER:
            raise ValueError(f"unknown sshd mode {mode!r}")
        self.mode = mode
        self.rules = tuple(r for r in _rules_for(mode) if fast_paths or not r.fast)
        parts: list[str] = []
        for index, rule in enumerate(self.rules):
            names = {k: f"{k.lower()}{index}" for k in ("H", "U", "C", "I", "N", "A")}
            body = (
                rule.pattern.replace("{HOST}", _HOST)
                .replace("{SUFF}", _SUFF)
                .replace("{ONPORT}", _ON_PORT)
                .replace("{AUTHNG}", _AUTHNG_USER)
                .replace("{ALG}", _ALG)
                .format(**names)
            )
            # The rule's name is an empty group at its end (``lastgroup``
            # names it): an alternative that starts with its literal text
            # lets the regex engine skip it after one character compare.
            parts.append(f"{body}(?P<r{index}>)")
        # The cheap prefilter: a message's first three characters select the
        # few rules that can match it, compiled into one regex per prefix
        # (rule order kept, so the first matching rule still wins).  Messages
        # with any other start are rejected without running a regex.
        by_start: dict[str, list[int]] = {}
        for index, rule in enumerate(self.rules):
            for start in rule.starts:
                by_start.setdefault(start, []).append(index)
        self._dispatch: dict[str, tuple[re.Pattern[str], dict[int, tuple[int, int, int, int]]]] = {}
        for start, indices in by_start.items():
            regex = re.compile("^(?:" + "|".join(parts[i] for i in indices) + ")")
            groups = regex.groupindex
            slots = {
                i: tuple(groups.get(f"{k}{i}", 0) for k in ("h", "u", "a", "n")) for i in indices
            }
            self._dispatch[start] = (regex, slots)  # type: ignore[assignment]  # 4-tuples by construction
        # The whole-line matcher: the commonest syslog prefix and every rule
        # in one regex (rule order kept; a rule's literal start makes the
        # others fail at their first character), so a usual sshd line costs
        # one regex call and no intermediate objects.  error:/fatal:/PAM:
        # tags are consumed possessively, exactly as :meth:`match` strips them.
        self.line = re.compile(
            SSHD_BSD_PREFIX
            + r"(?:(?:error|fatal): (?:PAM: )?+)?+(?:"
            + "|".join(parts[i] for i in _line_order(self.rules))
            + ")"
        )
        groups = self.line.groupindex
        self.line_rules: dict[str | None, tuple[_Rule, int, int, int, int]] = {
            f"r{i}": (rule, *(groups.get(f"{k}{i}", 0) for k in ("h", "u", "a", "n")))  # type: ignore[misc]  # 5-tuples by construction
            for i, rule in enumerate(self.rules)
        }

    def match(self, message: str) -> tuple[_Rule, str | None, str | None, bool] | None:
        """Match one sshd message: ``(rule, host, user, nofail)`` or ``None``."""
        if message[:1] in "ef" and (message.startswith(("error: ", "fatal: "))):
            message = message[7:]
            if message.startswith("PAM: "):
                message = message[5:]
        entry = self._dispatch.get(message[:3])
        if entry is None:
            return None
        regex, slots = entry
        m = regex.match(message)
        if m is None:
            return None
        name = m.lastgroup
        index = int(name[1:]) if name is not None else 0
        rule = self.rules[index]
        h, u, a, n = slots[index]
        host = m.group(h) if h else None
        user = m.group(u) if u else None
        if not user and a:
            user = m.group(a) or user
        nofail = rule.nofail or (rule.nofail_group and n != 0 and m.group(n) is not None)
        return rule, normalise_host(host), user, nofail


def normalise_host(host: str | None) -> str | None:
    """Strip IPv6 brackets and the ``::ffff:`` IPv4-mapped prefix, as fail2ban does."""
    if host is None:
        return None
    if host.startswith("["):
        host = host.strip("[]")
    lowered = host[:7].lower()
    if lowered.startswith("::ffff:") and "." in host:
        return host[7:]
    return host


class _Conn:
    """Per-connection state (fail2ban's cached multi-line failure)."""

    __slots__ = (
        "gained",
        "host",
        "matches",
        "nofail",
        "nofail_matches",
        "pending",
        "seen",
        "user",
        "users",
    )

    def __init__(self, host: str | None = None, user: str | None = None) -> None:
        self.host = host
        self.user = user
        self.users: set[str] = {user} if user else set()
        self.nofail = False
        self.gained = False
        self.pending = False
        self.matches = 0
        self.nofail_matches = 0
        self.seen = 0.0


class SshdConnections:
    """Turns matched sshd lines into failure events, following each connection.

    Args:
        rules: the compiled rules of one mode.
        max_connections: how many connections are followed at once; the
            least recently seen is dropped beyond that.
        max_age: seconds of log time after which a silent connection is dropped.
    """

    def __init__(
        self, rules: SshdRules, max_connections: int = 10_000, max_age: float = 300.0
    ) -> None:
        self.rules = rules
        self.max_connections = max_connections
        self.max_age = max_age
        self._conns: OrderedDict[tuple[str, str, str], _Conn] = OrderedDict()

    def feed(self, line: SyslogLine, now: float) -> Event | None:
        """Process one sshd line; return a failure (or success) event, or ``None``.

        Returns ``None`` for lines that match no rule, and for matched lines
        that are not (yet) a failure: they only update the connection state.
        A successful login is returned as an event with ``failure=False``
        when it does not conceal a failure.
        """
        found = self.rules.match(line.message)
        if found is None:
            return None
        rule, host, user, nofail = found
        when = line.time if line.time is not None else now
        return self.record(line.connection_id, when, rule, host=host, user=user, nofail=nofail)

    def record(
        self,
        connection: tuple[str, str, str],
        when: float,
        rule: _Rule,
        *,
        host: str | None,
        user: str | None,
        nofail: bool,
    ) -> Event | None:
        """:meth:`feed` for a line already matched: ``connection`` is its
        :attr:`SyslogLine.connection_id`, the rest what :meth:`SshdRules.match` found.

        A connection's first line (the usual case) is handled here without
        the merge state machine: the same outcome as :meth:`_merge` on an
        unknown connection, without building state that is thrown away.
        """
        conns = self._conns
        if connection in conns:
            return self._again(connection, when, rule, host=host, user=user, nofail=nofail)
        gained = rule.gained
        failure = not (nofail or gained)
        if not rule.forget:
            conn = _Conn(host, user)
            conn.seen = when
            conns[connection] = conn
            if len(conns) > self.max_connections:
                conns.popitem(last=False)
            if failure:
                conn.matches = 1
            else:
                conn.nofail = True
                conn.gained = gained
                conn.nofail_matches = 1
            if host is None:
                conn.pending = True
                return None
        elif host is None:
            return None
        if failure:
            return Event(when, "ssh", rule.kind, host, user, True, None, 1, {})
        if gained:
            return Event(when, "ssh", rule.kind, host, user, failure=False)
        return None

    def _again(
        self,
        connection: tuple[str, str, str],
        when: float,
        rule: _Rule,
        *,
        host: str | None,
        user: str | None,
        nofail: bool,
    ) -> Event | None:
        """:meth:`record` for a connection seen before: merge, then decide."""
        conn, ok = self._merge(connection, when, rule, host=host, user=user, nofail=nofail)
        source = conn.host
        if source is None:
            conn.pending = True
            return None
        if not ok:
            if rule.gained:
                return Event(when, "ssh", rule.kind, source, conn.user, failure=False)
            return None
        matches = conn.matches
        # Positional arguments: this runs once per failure line.
        return Event(
            when,
            "ssh",
            rule.kind,
            source,
            conn.user,
            True,
            None,
            matches if matches > 1 else 1,
            {"users": sorted(conn.users)} if len(conn.users) > 1 else {},
        )

    def _merge(
        self,
        mlfid: tuple[str, str, str],
        when: float,
        rule: _Rule,
        *,
        host: str | None,
        user: str | None,
        nofail: bool,
    ) -> tuple[_Conn, bool]:
        """fail2ban's ``Filter._mergeFailure``; returns the state and whether this is a failure."""
        gained_now = rule.gained
        nofail_now = nofail or gained_now
        forget = rule.forget
        conns = self._conns
        cached = conns.get(mlfid)
        if cached is not None and when - cached.seen > self.max_age:
            del conns[mlfid]
            cached = None
        users: set[str] | None = None
        if cached is not None:
            conn = cached
            conns.move_to_end(mlfid)
            if user:
                conn.users.add(user)
            users = conn.users
            had_state = conn.nofail or conn.gained
            conn.nofail = False
            conn.gained = False
            if gained_now:
                conn.pending = False
            if not had_state and not conn.pending:
                conn.matches = 0
            if host is not None:
                conn.host = host
            if user is not None:
                conn.user = user
            if forget:
                del conns[mlfid]
        else:
            conn = _Conn()
            conn.host = host
            conn.user = user
            if not forget:
                if user:
                    conn.users.add(user)
                users = conn.users
                conns[mlfid] = conn
                if len(conns) > self.max_connections:
                    conns.popitem(last=False)
        conn.seen = when
        conn.nofail = nofail_now
        conn.gained = gained_now
        if conn.pending or (users is not None and len(users) > 1):
            conn.pending = False
            conn.nofail = False
            conn.gained = False
            nofail_now = False
            gained_now = False
        if not nofail_now:
            conn.matches += conn.nofail_matches + (0 if gained_now else 1)
            conn.nofail_matches = 0
            return conn, True
        if not forget:
            conn.nofail_matches += 1
        return conn, False

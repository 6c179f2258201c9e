"""Parsers: syslog prefixes, sshd/PAM, access logs, JSON-lines; malformed input never raises."""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cross_domain_autoblocker_ledger import (
    AccessLogParser,
    AuthLogParser,
    JsonLinesParser,
    JsonMapping,
    TimestampResolver,
    detect_format,
    read_events,
    split_prefix,
)

_NOW = datetime(2026, 6, 1, tzinfo=UTC).timestamp()


def _auth() -> AuthLogParser:
    return AuthLogParser("auth.log", times=TimestampResolver(tz=UTC, now=_NOW), clock=_NOW)


class TestSyslogPrefix:
    def test_bsd_with_host_and_pid(self) -> None:
        """A classic auth.log line splits into time, host, program, pid, message."""
        line = split_prefix(
            "Jun  1 12:00:05 web1 sshd[42]: Invalid user x from 192.0.2.1",
            TimestampResolver(tz=UTC, now=_NOW),
        )
        assert line is not None
        assert (line.host, line.program, line.pid, line.message) == (
            "web1",
            "sshd",
            "42",
            "Invalid user x from 192.0.2.1",
        )
        assert line.time == datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC).timestamp()

    def test_year_rolls_back_for_future_dates(self) -> None:
        """A December line read in June belongs to the previous year."""
        line = split_prefix("Dec 31 23:59:59 h sshd[1]: x", TimestampResolver(tz=UTC, now=_NOW))
        assert line is not None
        assert line.time == datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()

    def test_iso_rfc5424_unix_and_undated(self) -> None:
        """ISO, RFC 5424, short-unix and journald's undated short form are all read."""
        times = TimestampResolver(tz=UTC, now=_NOW)
        iso = split_prefix("2026-05-01T10:00:00.5+02:00 h sshd[7]: m", times)
        assert iso is not None
        assert iso.time == datetime(2026, 5, 1, 8, 0, 0, 500000, tzinfo=UTC).timestamp()
        r5424 = split_prefix('<38>1 2026-05-01T10:00:00Z h sshd 77 - [x@1 a="]"] hello', times)
        assert r5424 is not None
        assert (r5424.pid, r5424.message) == ("77", "hello")
        unix = split_prefix("1777777777.250000 h sshd[9]: m", times)
        assert unix is not None
        assert unix.time == 1777777777.25
        undated = split_prefix("h sshd[9]: m", times)
        assert undated is not None
        assert undated.time is None
        assert undated.host == "h"

    def test_impossible_date_is_refused(self) -> None:
        """Feb 30 is not a date: the line has no trustworthy prefix."""
        assert (
            split_prefix("Feb 30 10:00:00 h sshd[1]: m", TimestampResolver(tz=UTC, now=_NOW))
            is None
        )


class TestAuthLog:
    def test_failed_password_is_a_failure_event(self) -> None:
        """'Failed password' yields an ssh failure with source, user and line."""
        parser = _auth()
        event = parser.feed(
            "Jun  1 12:00:05 h sshd[42]: Failed password for invalid user admin from 203.0.113.9 port 2222 ssh2",
            7,
        )
        assert event is not None
        assert (event.domain, event.kind, event.source, event.user, event.failure, event.line) == (
            "ssh",
            "ssh_failed_auth",
            "203.0.113.9",
            "admin",
            True,
            7,
        )

    def test_accepted_login_is_not_a_failure(self) -> None:
        """A successful login is reported, as a non-failure."""
        event = _auth().feed(
            "Jun  1 12:00:05 h sshd[43]: Accepted publickey for bob from 198.51.100.2 port 50000 ssh2"
        )
        assert event is not None
        assert event.failure is False
        assert event.kind == "ssh_accepted"

    def test_multiline_too_many_failures_takes_host_from_connection(self) -> None:
        """'Too many authentication failures' names no host; the connection's earlier line does."""
        parser = _auth()
        assert (
            parser.feed(
                "Jun  1 12:00:00 h sshd[50]: Connection from 192.0.2.77 port 5555 on 10.0.0.1 port 22"
            )
            is None
        )
        event = parser.feed(
            "Jun  1 12:00:03 h sshd[50]: Disconnecting: Too many authentication failures [preauth]"
        )
        assert event is not None
        assert event.source == "192.0.2.77"

    def test_pam_failure_of_other_services(self) -> None:
        """PAM failures of sudo/login/... are pam events with the user and remote host."""
        event = _auth().feed(
            "Jun  1 12:00:00 h login[9]: pam_unix(login:auth): authentication failure; logname= uid=0 euid=0 tty=/dev/tty1 ruser= rhost=192.0.2.8  user=alice"
        )
        assert event is not None
        assert (event.domain, event.source, event.user, event.target) == (
            "pam",
            "192.0.2.8",
            "alice",
            "login",
        )

    def test_other_daemons_skipped_garbage_sampled(self) -> None:
        """Unrelated lines are skipped; sshd-looking garbage is counted and sampled."""
        parser = _auth()
        assert parser.feed("Jun  1 12:00:00 h cron[1]: (root) CMD (true)") is None
        assert parser.feed("this is sshd but not syslog", 3) is None
        assert (parser.stats.lines, parser.stats.skipped, parser.stats.malformed) == (2, 1, 1)
        assert parser.stats.samples[0].line == 3

    @settings(max_examples=150, deadline=None)
    @given(st.text(max_size=300))
    def test_arbitrary_text_never_raises(self, text: str) -> None:
        """Any text is an event, a skip or a counted malformed line, never an exception."""
        parser = _auth()
        for line in (text, "Jun  1 12:00:00 h sshd[1]: " + text, text + " sshd"):
            parser.feed(line)
        stats = parser.stats
        assert stats.lines == 3
        assert stats.events + stats.skipped + stats.malformed == 3


_COMBINED = '203.0.113.5 - - [01/Jun/2026:12:00:00 +0000] "GET /wp-login.php HTTP/1.1" 404 162 "-" "curl/8.0"'


class TestAccessLog:
    def test_combined_line(self) -> None:
        """nginx/Apache combined: status, path, method, size, agent; 4xx is a failure."""
        event = AccessLogParser("access.log").feed(_COMBINED, 1)
        assert event is not None
        assert (event.domain, event.kind, event.source, event.target, event.failure) == (
            "http",
            "http_404",
            "203.0.113.5",
            "/wp-login.php",
            True,
        )
        assert event.fields["method"] == "GET"
        assert event.fields["bytes"] == 162
        assert event.fields["user_agent"] == "curl/8.0"
        assert event.time == datetime(2026, 6, 1, 12, tzinfo=UTC).timestamp()

    def test_common_and_vhost_and_ipv6(self) -> None:
        """Common format (no agent), vhost_combined and IPv6 clients parse too; 200 is no failure."""
        parser = AccessLogParser()
        common = parser.feed(
            '2001:db8::5 - bob [01/Jun/2026:12:00:00 +0200] "POST /login HTTP/2.0" 200 -'
        )
        assert common is not None
        assert common.source == "2001:db8::5"
        assert common.user == "bob"
        assert not common.failure
        vhost = parser.feed("example.org:443 " + _COMBINED)
        assert vhost is not None
        assert vhost.fields["vhost"] == "example.org"

    def test_malformed_counted(self) -> None:
        """A non-access-log line is malformed, with a sample."""
        parser = AccessLogParser("a.log")
        assert parser.feed("GET / HTTP/1.1", 9) is None
        assert parser.stats.malformed == 1
        assert parser.stats.samples[0].line == 9

    @settings(max_examples=150, deadline=None)
    @given(st.text(max_size=300))
    def test_arbitrary_text_never_raises(self, text: str) -> None:
        """Any text: an event, a skip or a counted malformed line."""
        parser = AccessLogParser()
        parser.feed(text)
        parser.feed(_COMBINED.replace("/wp-login.php", text.replace('"', "")))
        assert parser.stats.events + parser.stats.skipped + parser.stats.malformed == 2


_EVE = {
    "timestamp": "2026-06-01T12:00:00.000000+0000",
    "flow_id": 1,
    "event_type": "alert",
    "src_ip": "198.51.100.7",
    "src_port": 4444,
    "dest_ip": "10.0.0.2",
    "dest_port": 22,
    "proto": "TCP",
    "alert": {
        "action": "allowed",
        "gid": 1,
        "signature_id": 2001219,
        "rev": 20,
        "signature": "ET SCAN Potential SSH Scan",
        "category": "Attempted Information Leak",
        "severity": 2,
    },
}


class TestJsonLines:
    def test_suricata_eve_alert(self) -> None:
        """An EVE alert becomes an ids_alert from src_ip with the signature."""
        event = JsonLinesParser("eve.json").feed(json.dumps(_EVE))
        assert event is not None
        assert (event.domain, event.kind, event.source, event.target) == (
            "ids",
            "ids_alert",
            "198.51.100.7",
            "ET SCAN Potential SSH Scan",
        )
        assert event.fields["signature_id"] == 2001219
        assert event.fields["severity"] == 2
        assert event.time == datetime(2026, 6, 1, 12, tzinfo=UTC).timestamp()

    def test_eve_non_alerts_skipped(self) -> None:
        """flow/dns/stats records are skipped, not malformed."""
        parser = JsonLinesParser()
        assert parser.feed(json.dumps({**_EVE, "event_type": "flow"})) is None
        assert parser.stats.skipped == 1
        assert parser.stats.malformed == 0

    def test_generic_mapping(self) -> None:
        """A mapping with dotted paths reads an application's audit log."""
        mapping = JsonMapping(
            domain="app", time="ts", source="client.ip", kind="action", user="who", failure="denied"
        )
        parser = JsonLinesParser(flavour="generic", mapping=mapping)
        event = parser.feed(
            '{"ts": 1780315200000, "client": {"ip": "192.0.2.50"}, "action": "login", "who": "eve", "denied": true}'
        )
        assert event is not None
        assert (event.time, event.source, event.kind, event.user, event.failure) == (
            1780315200.0,
            "192.0.2.50",
            "login",
            "eve",
            True,
        )

    def test_journald_json_uses_sshd_rules(self) -> None:
        """journalctl -o json sshd records go through the sshd rules."""
        record = {
            "__REALTIME_TIMESTAMP": "1780315200000000",
            "_HOSTNAME": "h",
            "SYSLOG_IDENTIFIER": "sshd",
            "_PID": "5",
            "MESSAGE": "Invalid user bob from 192.0.2.9 port 1",
        }
        event = JsonLinesParser().feed(json.dumps(record))
        assert event is not None
        assert (event.kind, event.source, event.time) == (
            "ssh_invalid_user",
            "192.0.2.9",
            1780315200.0,
        )

    def test_malformed(self) -> None:
        """Not JSON, not an object, no time: each malformed, sampled with a reason."""
        parser = JsonLinesParser()
        for line in ("{nope", "[1,2]", '{"src_ip": "1.2.3.4"}'):
            assert parser.feed(line) is None
        assert parser.stats.malformed == 3
        assert [s.reason.split(":")[0] for s in parser.stats.samples] == [
            "not JSON",
            "a JSON list, not an object",
            "no readable time at 'timestamp'",
        ]

    @settings(max_examples=150, deadline=None)
    @given(
        st.text(max_size=200)
        | st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
            lambda c: (
                st.lists(c, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "timestamp",
                            "src_ip",
                            "event_type",
                            "alert",
                            "flow_id",
                            "MESSAGE",
                            "__REALTIME_TIMESTAMP",
                            "SYSLOG_IDENTIFIER",
                            "x",
                        ]
                    ),
                    c,
                    max_size=6,
                )
            ),
            max_leaves=20,
        ).map(json.dumps)
    )
    def test_arbitrary_input_never_raises(self, text: str) -> None:
        """Any text or JSON value: an event, a skip or a counted malformed line."""
        parser = JsonLinesParser()
        parser.feed(text)
        assert parser.stats.events + parser.stats.skipped + parser.stats.malformed == 1


class TestReadEvents:
    def test_format_detection(self) -> None:
        """JSON, access logs and syslog are told apart by their first line."""
        assert detect_format(["", '{"a": 1}']) == "jsonl"
        assert detect_format([_COMBINED]) == "access"
        assert detect_format(["Jun  1 12:00:00 h sshd[1]: x"]) == "auth"

    def test_reads_a_file_with_undecodable_bytes(self, tmp_path: Path) -> None:
        """Invalid UTF-8 is replaced; the file is read to the end."""
        log = tmp_path / "auth.log"
        log.write_bytes(
            b"Jun  1 12:00:00 h sshd[1]: Invalid user \xff\xfe from 192.0.2.1\n"
            + b"\x00\x01 sshd garbage\n"
            + b"Jun  1 12:00:01 h sshd[2]: Invalid user y from 192.0.2.2\n"
        )
        events, parser = read_events(log, times=TimestampResolver(tz=UTC, now=_NOW))
        sources = [e.source for e in events]
        assert sources == ["192.0.2.1", "192.0.2.2"]
        assert parser.stats.malformed == 1

    @settings(max_examples=100, deadline=None)
    @given(st.binary(max_size=400))
    def test_arbitrary_bytes_file(self, data: bytes) -> None:
        """Any file content reads to the end without an exception."""
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "x.log"
            log.write_bytes(data)
            events, parser = read_events(log)
            count = sum(1 for _ in events)
            assert count == parser.stats.events
            assert parser.stats.lines >= count


def test_printable_prefix_garbage() -> None:
    """Prefix-looking garbage built from syslog characters never raises."""
    parser = _auth()
    for i, ch in enumerate(string.printable):
        parser.feed(f"Jun  1 12:00:0{i % 10} h{ch} sshd[{ch}]: Failed {ch} for {ch} from {ch}")
    assert parser.stats.lines == len(string.printable)


_TOKEN = st.text(alphabet="abcXYZ019:.-_ ", min_size=0, max_size=12)


class TestSshdFastPath:
    @settings(max_examples=200, deadline=None)
    @given(
        st.sampled_from(["password", "publickey", "keyboard-interactive/pam", "none", "hostbased"]),
        st.sampled_from(["", "invalid user "]),
        _TOKEN,
        st.sampled_from(
            ["192.0.2.1", "2001:db8::7", "::ffff:10.0.0.1", "host.example", "1.2.3", ":::"]
        )
        | _TOKEN,
        st.sampled_from([" port 22 ssh2", " port 22", " port 22 ssh2: RSA SHA256:x", "", " port x"])
        | _TOKEN,
    )
    def test_fast_path_agrees_with_the_general_rule(
        self, method: str, invalid: str, user: str, host: str, tail: str
    ) -> None:
        """The 'Failed password' fast path gives exactly what fail2ban's general rule gives."""
        from cross_domain_autoblocker_ledger import SshdRules

        message = f"Failed {method} for {invalid}{user} from {host}{tail}"
        fast = SshdRules().match(message)
        slow = SshdRules(fast_paths=False).match(message)
        if fast is None or slow is None:
            assert fast is slow
        else:
            assert (fast[0].kind, fast[1], fast[2], fast[3]) == (
                slow[0].kind,
                slow[1],
                slow[2],
                slow[3],
            )


class TestSyslogFastPath:
    @settings(max_examples=200, deadline=None)
    @given(
        st.tuples(
            st.sampled_from(
                [
                    "Jun  1 12:00:00",
                    "Feb 29 23:59:59",
                    "Dec 31 00:00:60",
                    "Jan 10 25:00:00",
                    "Feb 7 16:01:07",
                ]
            ),
            st.sampled_from([" ", "  ", "\t"]),
            st.sampled_from(["host", "h.example", "<auth.info> host", "[x]", "a:b", ""]),
            st.sampled_from(
                [" sshd[1]:", " sshd-session[22]:", " sshd:", " [sshd]", " cron[3]:", "sshd[4]:"]
            ),
            st.sampled_from([" ", "  ", ""]),
            st.sampled_from(["[ID 800047 auth.info] ", "kernel: [ 1.2] ", ""]),
            st.text(max_size=30),
        )
    )
    def test_fast_path_agrees_with_the_general_regex(self, parts: tuple[str, ...]) -> None:
        """The sshd fast path splits every line exactly as the general prefix regex does."""
        from cross_domain_autoblocker_ledger._syslog import split_general

        line = "".join(parts)
        times = TimestampResolver(tz=UTC, now=_NOW)
        assert split_prefix(line, times) == split_general(line, times)


def _events_both_ways(lines: list[str], mode: str = "normal") -> tuple[list[object], list[object]]:
    """The events of ``lines`` read with the whole-line regex and with the two-step path."""
    results = []
    for fast in (True, False):
        parser = AuthLogParser(
            "auth.log",
            mode=mode,  # type: ignore[arg-type]  # one of SSHD_MODES in every caller
            times=TimestampResolver(tz=UTC, now=_NOW),
            clock=_NOW,
            fast_lines=fast,
        )
        events = [e.to_dict() for e in parser.read(lines)]
        results.append([events, parser.stats.to_dict()])
    return results[0], results[1]


_SSHD_MESSAGES = st.sampled_from(
    [
        "Failed password for invalid user {u} from {h} port 22 ssh2",
        "Failed password for {u} from {h} port 22 ssh2",
        "Failed publickey for invalid user {u} from {h} port 22 ssh2: RSA SHA256:x",
        "Invalid user {u} from {h} port 22",
        "Connection closed by invalid user {u} {h} port 22 [preauth]",
        "Connection closed by authenticating user {u} {h} port 22 [preauth]",
        "Received disconnect from {h} port 22:11: Bye Bye [preauth]",
        "Received disconnect from {h} port 22:3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
        "error: maximum authentication attempts exceeded for {u} from {h} port 22 ssh2 [preauth]",
        "error: PAM: Authentication failure for {u} from {h}",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={h}  user={u}",
        "Accepted publickey for {u} from {h} port 22 ssh2: ED25519 SHA256:x",
        "Disconnecting: Too many authentication failures for {u} [preauth]",
        "Connection from {h} port 22 on 10.0.0.1 port 22",
        "User {u} from {h} not allowed because not listed in AllowUsers",
        "Did not receive identification string from {h}",
        "Unable to negotiate with {h} port 22: no matching key exchange method found.",
        "{u} {h}",
    ]
)


class TestWholeLineFastPath:
    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["Jun  1 12:00:00", "Jun  1 12:00:01", "Feb 30 10:00:00"]),
                st.sampled_from(["host", "h2"]),
                st.sampled_from(["sshd[1]", "sshd[2]", "sshd-session[1]", "sshd"]),
                _SSHD_MESSAGES,
                st.sampled_from(["root", "a b", "", "x:y", "invalid user z"]) | _TOKEN,
                st.sampled_from(["192.0.2.1", "2001:db8::7", "[::ffff:10.0.0.1]", "h.example"])
                | _TOKEN,
                st.sampled_from(["", " ", "\t", "\r"]),
            ),
            min_size=1,
            max_size=12,
        ),
        st.sampled_from(["normal", "ddos", "extra", "aggressive"]),
    )
    def test_whole_line_regex_agrees_with_the_two_step_path(
        self, parts: list[tuple[str, ...]], mode: str
    ) -> None:
        """One regex per line gives exactly the events, connection state and counts of prefix-then-message."""
        lines = [
            f"{stamp} {host} {prog}: {msg.format(u=user, h=addr)}{tail}"
            for stamp, host, prog, msg, user, addr, tail in parts
        ]
        fast, slow = _events_both_ways(lines, mode)
        assert fast == slow

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.text(max_size=80), max_size=8))
    def test_arbitrary_lines_agree(self, texts: list[str]) -> None:
        lines = [f"Jun  1 12:00:00 host sshd[1]: {t}" for t in texts] + texts
        fast, slow = _events_both_ways(lines)
        assert fast == slow

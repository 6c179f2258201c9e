"""Scenarios (YAML and jails) and the detection engine's bucket semantics."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cross_domain_autoblocker_ledger import (
    DetectionEngine,
    Event,
    LedgerScenarioError,
    Scenario,
    default_scenarios,
    load_jails,
    parse_scenarios,
)


def ssh(t: float, source: str = "192.0.2.1", user: str = "root") -> Event:
    return Event(t, "ssh", "ssh_failed_auth", source, user)


def http(t: float, source: str = "192.0.2.1", path: str = "/x", status: int = 404) -> Event:
    return Event(
        t,
        "http",
        f"http_{status}",
        source,
        None,
        failure=status >= 400,
        target=path,
        fields={"status": status},
    )


def one(yaml_text: str) -> Scenario:
    scenarios = parse_scenarios(yaml_text)
    assert len(scenarios) == 1
    return scenarios[0]


class TestLeakyBucket:
    def test_overflows_on_capacity_plus_one(self) -> None:
        """capacity 3: the 4th event in a burst overflows, not the 3rd."""
        engine = DetectionEngine([one("name: t\ncapacity: 3\nleakspeed: 10s\n")])
        assert [len(engine.process(ssh(t))) for t in (0, 1, 2)] == [0, 0, 0]
        alerts = engine.process(ssh(3))
        assert len(alerts) == 1
        assert (
            alerts[0].value,
            alerts[0].count,
            alerts[0].scope,
            alerts[0].start,
            alerts[0].stop,
        ) == ("192.0.2.1", 4, "Ip", 0, 3)

    def test_leak_keeps_slow_sources_below(self) -> None:
        """One event per leak period never fills the bucket."""
        engine = DetectionEngine([one("name: t\ncapacity: 3\nleakspeed: 10s\n")])
        assert sum(len(engine.process(ssh(t * 10.0))) for t in range(100)) == 0

    def test_partial_leak(self) -> None:
        """After 25s at 10s/event, 2.5 slots leaked: 3 more events fit, the 4th... overflows."""
        engine = DetectionEngine([one("name: t\ncapacity: 3\nleakspeed: 10s\nblackhole: 0\n")])
        for t in (0, 0, 0):
            assert not engine.process(ssh(t))
        # level 3.0 at t=0; at t=25 it is 0.5: +1 → 1.5, +1 → 2.5, +1 → 3.5 > 3
        results = [len(engine.process(ssh(25))) for _ in range(3)]
        assert results == [0, 0, 1]

    def test_groups_are_independent(self) -> None:
        """Different sources fill different buckets."""
        engine = DetectionEngine([one("name: t\ncapacity: 1\n")])
        assert not engine.process(ssh(0, "192.0.2.1"))
        assert not engine.process(ssh(0, "192.0.2.2"))
        assert len(engine.process(ssh(0, "192.0.2.1"))) == 1

    def test_blackhole_silences_repeat_overflows(self) -> None:
        """After an overflow the same group cannot overflow again during the blackhole."""
        engine = DetectionEngine([one("name: t\ncapacity: 1\nleakspeed: 100s\nblackhole: 60s\n")])
        overflows = [t for t in range(0, 120, 2) if engine.process(ssh(float(t)))]
        assert overflows == [2, 64]

    def test_distinct_counts_new_values_only(self) -> None:
        """distinct: target: the same path twice counts once."""
        engine = DetectionEngine(
            [one("name: t\ncapacity: 2\ndistinct: target\nfilter: {domain: http}\n")]
        )
        assert not any(engine.process(http(0, path="/a")) for _ in range(10))
        assert not engine.process(http(0, path="/b"))
        assert len(engine.process(http(0, path="/c"))) == 1

    def test_filter_kinds_globs_fields_and_failure(self) -> None:
        """kind globs, field values and the failure flag all restrict what is counted."""
        scenario = one(
            "name: t\ncapacity: 1\nfilter: {kind: 'http_4*', fields: {status: [401, 403]}}\n"
        )
        engine = DetectionEngine([scenario])
        assert not engine.process(http(0, status=404))
        assert not engine.process(http(0, status=404))
        assert not engine.process(http(0, status=500))
        assert not engine.process(http(0, status=401))
        assert len(engine.process(http(0, status=403))) == 1


class TestCrossDomain:
    def test_ssh_and_web_fill_one_bucket(self) -> None:
        """A scenario over ssh+http counts both for the same source."""
        engine = DetectionEngine([one("name: x\ncapacity: 3\nfilter: {domain: [ssh, http]}\n")])
        for event in (ssh(0), http(1), ssh(2)):
            assert not engine.process(event)
        alerts = engine.process(http(3))
        assert len(alerts) == 1
        assert alerts[0].domains == ("http", "ssh")

    def test_min_domains_requires_both(self) -> None:
        """min_domains: 2 ignores a flood from one domain until the other shows up."""
        engine = DetectionEngine(
            [
                one(
                    "name: x\ncapacity: 2\nmin_domains: 2\nleakspeed: 1h\nfilter: {domain: [ssh, http]}\n"
                )
            ]
        )
        assert not any(engine.process(ssh(float(t))) for t in range(20))
        alerts = engine.process(http(21))
        assert len(alerts) == 1
        assert alerts[0].domains == ("http", "ssh")


class TestOtherTypes:
    def test_trigger(self) -> None:
        """A trigger overflows on the first event."""
        engine = DetectionEngine(
            [one("name: t\ntype: trigger\nfilter: {domain: ids}\nblackhole: 0\n")]
        )
        assert len(engine.process(Event(0, "ids", "ids_alert", "192.0.2.9"))) == 1

    def test_counter_reports_at_window_end(self) -> None:
        """A counter reports the count when its window closes (on a later event or flush)."""
        engine = DetectionEngine([one("name: c\ntype: counter\nduration: 60s\ncapacity: 3\n")])
        for t in (0, 10, 20, 30):
            assert not engine.process(ssh(float(t)))
        alerts = engine.process(ssh(61, "192.0.2.200"))
        assert len(alerts) == 1
        assert alerts[0].count == 4
        assert alerts[0].value == "192.0.2.1"
        assert engine.flush() == []  # the second source counted 1 < capacity 3

    def test_window_is_fail2ban_maxretry(self) -> None:
        """window: ban at maxretry failures within findtime; older ones fall out."""
        engine = DetectionEngine(
            [one("name: w\ntype: window\ncapacity: 3\nfindtime: 60s\nblackhole: 0\n")]
        )
        assert not engine.process(ssh(0))
        assert not engine.process(ssh(30))
        assert not engine.process(ssh(100))  # 0 fell out of the window
        assert not engine.process(ssh(120))  # 30 is out too: 100, 120
        assert len(engine.process(ssh(125))) == 1  # 100, 120, 125

    def test_group_by_user(self) -> None:
        """group_by: user makes a Username-scoped alert."""
        engine = DetectionEngine([one("name: u\ncapacity: 1\ngroup_by: user\n")])
        engine.process(ssh(0, "192.0.2.1", "root"))
        alerts = engine.process(ssh(0, "192.0.2.2", "root"))
        assert alerts[0].scope == "Username"
        assert alerts[0].value == "root"


class TestScenarioFiles:
    def test_defaults_load(self) -> None:
        """The built-in scenarios parse and cover ssh, http, ids and cross-domain."""
        names = {s.name for s in default_scenarios()}
        assert {
            "cdabl/ssh-bf",
            "cdabl/http-probing",
            "cdabl/ids-alert",
            "cdabl/cross-domain",
        } <= names

    def test_crowdsec_groupby_alias(self) -> None:
        """CrowdSec's evt.Meta.source_ip is accepted as group_by."""
        assert one("name: t\ngroupby: evt.Meta.source_ip\n").group_by == ("source",)

    @pytest.mark.parametrize(
        ("text", "needle"),
        [
            ("name: t\ntype: bogus\n", "type 'bogus'"),
            ("type: leaky\n", "needs a name"),
            ("name: t\ncapacity: -1\n", "capacity must be >= 1"),
            ("name: t\nleakspeed: soon\n", "'soon' is not a duration"),
            ("name: t\nfilter: {domian: ssh}\n", "unknown filter key"),
            ("name: t\nbogus: 1\n", "unknown scenario key"),
            ("name: t\nremediation: {type: nuke}\n", "remediation type 'nuke'"),
            ("name: t\n---\nname: t\n", "used twice"),
            ("name: [unclosed\n", "not valid YAML"),
        ],
    )
    def test_invalid_scenarios_say_what(self, text: str, needle: str) -> None:
        """Each mistake is a LedgerScenarioError naming the problem."""
        with pytest.raises(LedgerScenarioError) as info:
            parse_scenarios(text, "s.yaml")
        assert needle in info.value.message
        assert info.value.exit_code == 2

    @settings(max_examples=100, deadline=None)
    @given(st.text(max_size=200))
    def test_arbitrary_yaml_is_a_scenario_or_our_error(self, text: str) -> None:
        """Any text either parses or raises LedgerScenarioError."""
        with contextlib.suppress(LedgerScenarioError):
            parse_scenarios(text)


_JAILS = """
[DEFAULT]
bantime = 1h
findtime = 10m
maxretry = 5

[sshd]
enabled = true
filter = sshd[mode=aggressive]
maxretry = 3
bantime.increment = true
bantime.multipliers = 1 2 4 8
bantime.maxtime = 1d

[nginx-http-auth]
enabled = true

[apache-auth]
enabled = false
"""


class TestJails:
    def test_jails_become_window_scenarios(self) -> None:
        """Enabled jails map to window scenarios with DEFAULT inheritance and increments."""
        jails = {s.name: s for s in load_jails(_JAILS, "jail.local")}
        assert set(jails) == {"f2b/sshd", "f2b/nginx-http-auth"}
        sshd = jails["f2b/sshd"]
        assert (sshd.type, sshd.capacity, sshd.duration, sshd.remediation.duration) == (
            "window",
            3,
            600.0,
            3600.0,
        )
        escalation = sshd.remediation.escalation
        assert escalation is not None
        assert [escalation.duration(3600.0, n) for n in range(6)] == [
            3600.0,
            7200.0,
            14400.0,
            28800.0,
            28800.0,
            28800.0,
        ]
        assert jails["f2b/nginx-http-auth"].capacity == 5

    def test_jail_drives_the_same_engine(self) -> None:
        """The sshd jail bans at maxretry within findtime."""
        engine = DetectionEngine(load_jails(_JAILS))
        assert not engine.process(ssh(0))
        assert not engine.process(ssh(100))
        alerts = engine.process(ssh(200))
        assert [a.scenario for a in alerts] == ["f2b/sshd"]

    def test_unknown_filter_is_refused(self) -> None:
        """A filter this system does not implement is an error, not a silent no-op."""
        with pytest.raises(LedgerScenarioError, match="postfix"):
            load_jails("[postfix]\nenabled = true\n")

    def test_default_formula_doubles(self) -> None:
        """Without multipliers, escalation doubles per previous ban (fail2ban's formula)."""
        scenario = one("name: t\nremediation: {duration: 1h, increment: {maxtime: 5h}}\n")
        escalation = scenario.remediation.escalation
        assert escalation is not None
        assert [escalation.duration(3600.0, n) for n in range(4)] == [
            3600.0,
            7200.0,
            14400.0,
            18000.0,
        ]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_jail_text_is_jails_or_our_error(text: str) -> None:
    """Any jail text either loads or raises LedgerScenarioError."""
    with contextlib.suppress(LedgerScenarioError):
        load_jails(text)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "[sshd]",
                "[DEFAULT]",
                "enabled = true",
                "maxretry = x",
                "maxretry = 0",
                "findtime = 1h",
                "bantime = -1",
                "bantime.increment = true",
                "bantime.multipliers = 1 a",
                "filter = sshd[mode=ddos]",
                "filter = nope",
                "= x",
                "[x",
            ]
        ),
        max_size=8,
    )
)
def test_jail_like_text_is_jails_or_our_error(lines: list[str]) -> None:
    """Near-valid jail files are handled the same way."""
    with contextlib.suppress(LedgerScenarioError):
        load_jails("\n".join(lines))

"""Decisions, durations and the longest-prefix-match index."""

from __future__ import annotations

import ipaddress
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cross_domain_autoblocker_ledger import (
    BlockIndex,
    Decision,
    LedgerInputError,
    format_duration,
    normalise_value,
    parse_duration,
)


def dec(i: int, scope: str, value: str, until: float = 1000.0, type: str = "ban") -> Decision:
    return Decision(i, f"u{i}", "cscli", type, scope, value, 0.0, until, "manual")


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("90", 90.0),
            ("10s", 10.0),
            ("10m", 600.0),
            ("4h", 14400.0),
            ("1h30m", 5400.0),
            ("1d", 86400.0),
            ("1w", 604800.0),
            ("1h0m0.5s", 3600.5),
            (-1, math.inf),
            (2.5, 2.5),
        ],
    )
    def test_parse(self, text: object, seconds: float) -> None:
        """Go and fail2ban duration texts."""
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["", "soon", "-5", "5x", "h", True, None, "1h-2m"])
    def test_refused(self, text: object) -> None:
        """Anything else is a LedgerInputError."""
        with pytest.raises(LedgerInputError):
            parse_duration(text)

    def test_format_is_go_style(self) -> None:
        """format_duration writes Go's time.Duration text, as bouncers expect."""
        assert [format_duration(s) for s in (14399.0, 59.5, 3600.0, 61.0)] == [
            "3h59m59s",
            "59.5s",
            "1h0m0s",
            "1m1s",
        ]

    @given(st.floats(min_value=0, max_value=1e7, allow_nan=False))
    def test_round_trip(self, seconds: float) -> None:
        """What we write we read back (to the millisecond)."""
        assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, abs=1e-3)


class TestNormalise:
    def test_values(self) -> None:
        """Addresses, ranges, countries and AS numbers get one canonical text."""
        assert normalise_value("Ip", " 2001:DB8::0:1 ") == "2001:db8::1"
        assert normalise_value("Ip", "::ffff:192.0.2.1") == "192.0.2.1"
        assert normalise_value("Range", "192.0.2.77/24") == "192.0.2.0/24"
        assert normalise_value("Country", "fr") == "FR"
        assert normalise_value("AS", "AS64496") == "64496"

    @pytest.mark.parametrize(
        ("scope", "value"),
        [("Ip", "192.0.2"), ("Range", "10.0.0.0/33"), ("Country", "FRA"), ("AS", "ASX")],
    )
    def test_invalid(self, scope: str, value: str) -> None:
        """Invalid values name the field and give a hint."""
        with pytest.raises(LedgerInputError) as info:
            normalise_value(scope, value)
        assert info.value.hint

    def test_make_validates(self) -> None:
        """Decision.make refuses unknown types and non-positive durations."""
        with pytest.raises(LedgerInputError, match="type"):
            Decision.make(type="nuke", scope="Ip", value="192.0.2.1", duration=1, now=0)
        with pytest.raises(LedgerInputError, match="duration"):
            Decision.make(type="ban", scope="Ip", value="192.0.2.1", duration=0, now=0)


class TestBlockIndex:
    def test_longest_prefix_wins(self) -> None:
        """An address finds its own ban before its /24's, which it finds before the /16's."""
        index = BlockIndex()
        index.add_many(
            [
                dec(1, "Range", "192.0.0.0/16"),
                dec(2, "Range", "192.0.2.0/24"),
                dec(3, "Ip", "192.0.2.7"),
            ]
        )
        assert [d.id for d in index.lookup_ip("192.0.2.7", 0)] == [3]
        assert [d.id for d in index.lookup_ip("192.0.2.8", 0)] == [2]
        assert [d.id for d in index.lookup_ip("192.0.3.1", 0)] == [1]
        assert index.lookup_ip("192.1.0.1", 0) == []

    def test_ipv6_and_mapped(self) -> None:
        """IPv6 prefixes match; ::ffff:a.b.c.d is looked up as IPv4."""
        index = BlockIndex()
        index.add_many([dec(1, "Range", "2001:db8::/32"), dec(2, "Ip", "192.0.2.1")])
        assert [d.id for d in index.lookup_ip("2001:db8:1::5", 0)] == [1]
        assert [d.id for d in index.lookup_ip("::ffff:192.0.2.1", 0)] == [2]
        assert index.lookup_ip("2001:db9::1", 0) == []

    def test_expired_longest_falls_back_to_shorter(self) -> None:
        """When the longest prefix only holds expired decisions, a shorter active one answers."""
        index = BlockIndex()
        index.add_many(
            [dec(1, "Range", "10.0.0.0/8", until=500.0), dec(2, "Ip", "10.1.1.1", until=100.0)]
        )
        assert [d.id for d in index.lookup_ip("10.1.1.1", 200.0)] == [1]
        assert [d.id for d in index.expire(200.0)] == [2]
        assert len(index) == 1

    def test_remove_and_other_scopes(self) -> None:
        """Removing the last decision of a prefix frees it; usernames are exact matches."""
        index = BlockIndex()
        index.add_many(
            [
                dec(1, "Ip", "192.0.2.1"),
                dec(2, "Ip", "192.0.2.1", type="captcha"),
                dec(3, "Username", "root"),
            ]
        )
        assert sorted(d.id for d in index.lookup_ip("192.0.2.1", 0)) == [1, 2]
        index.remove(1)
        index.remove(2)
        assert index.lookup_ip("192.0.2.1", 0) == []
        assert [d.id for d in index.lookup("Username", "root", 0)] == [3]
        assert index.lookup("Username", "bob", 0) == []

    @pytest.mark.parametrize(
        "bad", ["", "192.0.2", "192.0.2.1/32", "example.com", "1.2.3.4\x00x", "::g", "192.0.2.1 "]
    )
    def test_bad_addresses_are_input_errors(self, bad: str) -> None:
        """Lookups of non-addresses are refused with our error, never answered."""
        index = BlockIndex()
        index.add(dec(1, "Range", "0.0.0.0/0"))
        index.add(dec(2, "Range", "::/0"))
        with pytest.raises(LedgerInputError):
            index.lookup_ip(bad, 0)

    @settings(max_examples=100, deadline=None)
    @given(
        st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(8, 32)), min_size=1, max_size=30),
        st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=30),
    )
    def test_matches_brute_force(self, prefixes: list[tuple[int, int]], probes: list[int]) -> None:
        """The trie agrees with a brute-force longest-prefix match over ipaddress networks."""
        index = BlockIndex()
        networks: dict[str, int] = {}
        for i, (address, length) in enumerate(prefixes, 1):
            net = ipaddress.ip_network((address, length), strict=False)
            if str(net) in networks:
                continue
            networks[str(net)] = i
            index.add(dec(i, "Range", str(net)))
        for probe in probes:
            addr = ipaddress.ip_address(probe)
            covering = [
                ipaddress.ip_network(n) for n in networks if addr in ipaddress.ip_network(n)
            ]
            got = index.lookup_ip(str(addr), 0)
            if not covering:
                assert got == []
            else:
                best = max(covering, key=lambda n: n.prefixlen)
                assert [d.id for d in got] == [networks[str(best)]]

    @settings(max_examples=100, deadline=None)
    @given(st.text(max_size=60))
    def test_arbitrary_text_lookup(self, text: str) -> None:
        """Any text is an answer (for a valid address) or LedgerInputError."""
        index = BlockIndex()
        index.add(dec(1, "Range", "0.0.0.0/0"))
        try:
            index.lookup_ip(text, 0)
        except LedgerInputError:
            return
        ipaddress.ip_address(text)  # answered: it must have been an address

"""Rule sets: parsing, the module batch, and nftables enforcement in a namespace we create."""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import os
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linux_scalable_cloud_kernel import (
    EnforcementError,
    KernelToolkitInputError,
    Rule,
    apply_nftables,
    normalise_rules,
    parse_rules,
    push_to_module,
    read_module_rules,
    render_module_batch,
    render_nftables,
)
from linux_scalable_cloud_kernel.cli import main
from shared_core.testing import run_cli

RULES = """# offenders
203.0.113.7
198.51.100.0/24 ttl 600
2001:db8::/32
203.0.113.7          # a duplicate is kept once
"""


class TestParsing:
    def test_parse_and_render(self) -> None:
        """Rules parse to networks; the batch and the nft script carry all of them."""
        rules = parse_rules(RULES)
        assert [str(r.network) for r in rules] == [
            "203.0.113.7/32",
            "198.51.100.0/24",
            "2001:db8::/32",
        ]
        assert rules[1].ttl == 600
        assert render_module_batch(rules) == (
            "batch\nflush\nadd 203.0.113.7\nadd 198.51.100.0/24 ttl 600\nadd 2001:db8::/32\n"
        )
        script = render_nftables(rules)
        assert "elements = { 198.51.100.0/24 timeout 10m, 203.0.113.7 }" in script
        assert "elements = { 2001:db8::/32 }" in script

    def test_module_command_files_are_accepted(self) -> None:
        """A ledger export ('flush' then 'add ... [ttl N]' lines) parses to the same rules."""
        export = "flush\nadd 203.0.113.7\nadd 198.51.100.0/24 ttl 600\nadd 2001:db8::/32\n"
        assert parse_rules(export) == parse_rules(RULES)
        with pytest.raises(KernelToolkitInputError):
            parse_rules("add\n")

    @pytest.mark.parametrize(
        "bad",
        [
            "203.0.113.7/24",
            "300.1.1.1",
            "10.0.0.1 ttl",
            "10.0.0.1 ttl 0",
            "10.0.0.1 ttl x",
            "10.0.0.1 forever",
        ],
    )
    def test_one_bad_line_rejects_the_set(self, bad: str) -> None:
        """A bad line is an input error naming its line number."""
        with pytest.raises(KernelToolkitInputError) as info:
            parse_rules(f"192.0.2.1\n{bad}\n", "rules.txt")
        assert info.value.context["line"] == 2

    @given(st.text(max_size=200))
    @settings(max_examples=200)
    def test_arbitrary_text_only_raises_our_error(self, text: str) -> None:
        """Any text parses or raises KernelToolkitInputError."""
        with contextlib.suppress(KernelToolkitInputError):
            parse_rules(text)

    def test_push_to_a_device_writes_one_batch(self, tmp_path: Path) -> None:
        """The module gets exactly one write with the whole batch."""
        device = tmp_path / "lsck"
        device.write_text("")
        assert push_to_module(parse_rules(RULES), device) == 3
        assert device.read_text().startswith("batch\nflush\nadd 203.0.113.7\n")
        with pytest.raises(EnforcementError):
            push_to_module([], tmp_path / "absent")

    def test_read_module_counters(self, tmp_path: Path) -> None:
        """/proc/lsck/rules lines become rows; a malformed line is an input error."""
        proc = tmp_path / "rules"
        proc.write_text(
            "203.0.113.7 hits 4 bytes 336 expires never\n198.51.100.0/24 hits 0 bytes 0 expires 599\n"
        )
        assert read_module_rules(proc) == [
            {"rule": "203.0.113.7", "hits": 4, "bytes": 336, "expires": None},
            {"rule": "198.51.100.0/24", "hits": 0, "bytes": 0, "expires": 599},
        ]
        proc.write_text("203.0.113.7 hits many\n")
        with pytest.raises(KernelToolkitInputError):
            read_module_rules(proc)

    def test_cli_prefers_the_module_device(self, tmp_path: Path) -> None:
        """With ROOT/dev/lsck present, push writes the batch there."""
        (tmp_path / "dev").mkdir()
        (tmp_path / "dev/lsck").write_text("")
        rules = tmp_path / "rules.txt"
        rules.write_text(RULES)
        result = run_cli(main, ["--root", str(tmp_path), "--json", "module", "push", str(rules)])
        assert result.code == 0, result.err
        assert '"target": "module"' in result.out
        assert (tmp_path / "dev/lsck").read_text().count("add ") == 3

    @pytest.mark.parametrize(
        ("name", "content", "why"),
        [
            ("missing.ko", None, "no such file"),
            ("rules.txt", b"192.0.2.1\n", "not a kernel object (no ELF header)"),
        ],
    )
    def test_cli_module_load_checks_the_file_first(
        self, tmp_path: Path, name: str, content: bytes | None, why: str
    ) -> None:
        """A path that is not a module is exit 2 naming the file, before insmod is tried."""
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        result = run_cli(main, ["--root", str(tmp_path), "module", "load", str(path)])
        assert result.code == 2
        assert f"module {path}: {why}" in result.err
        assert result.err.count("\n") == 1

    def test_cli_bad_rules_file_is_exit_2(self, tmp_path: Path) -> None:
        """A bad rule is one line with file and line number, exit 2, nothing applied."""
        rules = tmp_path / "rules.txt"
        rules.write_text("192.0.2.1\n192.0.2.1/8\n")
        result = run_cli(main, ["--root", str(tmp_path), "module", "push", str(rules), "--dry-run"])
        assert result.code == 2
        assert f"({rules}:2)" in result.err


MAX_TTL = 10 * 365 * 24 * 3600  # the longest ttl parse_rules accepts

# Rules are drawn inside one small region per family (a 4096-address window
# starting at 10.0.0.0 / 2001:db8::) so that random rules really do nest,
# repeat and touch; a few cover the whole window (10.0.0.0/8, 2001:db8::/32)
# or the whole address space (/0, whose edges are the family's first and last
# addresses).
_WINDOW_BITS = 12
_BASES = {4: int(ipaddress.IPv4Address("10.0.0.0")), 6: int(ipaddress.IPv6Address("2001:db8::"))}
_WIDE = {4: 8, 6: 32}
_FULL = {4: 32, 6: 128}


@st.composite
def rules_in_window(draw: st.DrawFn, version: int) -> Rule:
    full = _FULL[version]
    prefixlen = draw(
        st.one_of(st.integers(full - _WINDOW_BITS, full), st.sampled_from([0, _WIDE[version]]))
    )
    start = _BASES[version] + draw(st.integers(0, 2**_WINDOW_BITS - 1))
    start &= ~((1 << (full - prefixlen)) - 1)
    address = ipaddress.ip_address(start) if version == 6 else ipaddress.IPv4Address(start)
    ttl = draw(
        st.one_of(st.none(), st.sampled_from([1, 60, 600, MAX_TTL]), st.integers(1, MAX_TTL))
    )
    return Rule(ipaddress.ip_network(f"{address}/{prefixlen}"), ttl)


RULE_SETS = st.lists(st.one_of(rules_in_window(4), rules_in_window(6)), max_size=25)
PROBES = st.lists(
    st.tuples(st.sampled_from([4, 6]), st.integers(-8, 2**_WINDOW_BITS + 8)), max_size=40
)


def _ttl_key(ttl: int | None) -> float:
    return float("inf") if ttl is None else ttl


def _probe_addresses(rules: list[Rule], probes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(version, address) pairs: random ones in the window, and every rule's edges and neighbours."""
    points = {(v, _BASES[v] + offset) for v, offset in probes}
    for rule in rules:
        first = int(rule.network.network_address)
        last = int(rule.network.broadcast_address)
        top = 2 ** _FULL[rule.network.version] - 1
        points |= {
            (rule.network.version, a) for a in (first - 1, first, last, last + 1) if 0 <= a <= top
        }
    return sorted(points)


def check_equivalent(
    rules: list[Rule], elements: list[Rule], probes: list[tuple[int, int]]
) -> None:
    """``elements`` are disjoint and drop exactly the addresses of ``rules``, each for its longest ban."""
    for version in (4, 6):
        spans = sorted(
            (int(e.network.network_address), int(e.network.broadcast_address))
            for e in elements
            if e.network.version == version
        )
        for (_, last), (first, _) in itertools.pairwise(spans):
            assert last < first, f"overlapping elements in the IPv{version} set"
    for version, address in _probe_addresses(rules, probes):
        covering = [r for r in rules if r.network.version == version and _contains(r, address)]
        holding = [e for e in elements if e.network.version == version and _contains(e, address)]
        assert len(holding) == (1 if covering else 0), (version, address, covering, holding)
        if covering:
            longest = max(covering, key=lambda r: _ttl_key(r.ttl)).ttl
            assert holding[0].ttl == longest, (version, address, covering, holding)


def _contains(rule: Rule, address: int) -> bool:
    return int(rule.network.network_address) <= address <= int(rule.network.broadcast_address)


_ELEMENT = re.compile(r"^(?P<net>[0-9a-f:.]+(?:/\d+)?)(?: timeout (?P<timeout>(?:\d+[dhms])+))?$")


def elements_of(script: str) -> list[Rule]:
    """The set elements of a rendered script, read back from its text (timeouts in seconds)."""
    found: list[Rule] = []
    for body in re.findall(r"elements = \{ ([^}]*) \}", script):
        for item in body.split(", "):
            match = _ELEMENT.match(item)
            assert match, item
            timeout = match["timeout"]
            ttl = None
            if timeout:
                sizes = {"d": 86400, "h": 3600, "m": 60, "s": 1}
                ttl = sum(int(n) * sizes[u] for n, u in re.findall(r"(\d+)([dhms])", timeout))
            found.append(Rule(ipaddress.ip_network(match["net"]), ttl))
    return found


def _nft_check_available() -> str | None:
    """Why ``nft -c`` cannot be used here, or None when it can (root, nft, netlink allowed)."""
    if os.geteuid() != 0 or shutil.which("nft") is None:
        return "needs root and nftables"
    probe = subprocess.run(
        ["nft", "-c", "-f", "-"], input="add table inet lscktest\n",
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return None if probe.returncode == 0 else f"nft -c does not work here: {probe.stderr.strip()}"


def nft_check(script: str) -> subprocess.CompletedProcess[str]:
    """``nft -c -f -``: the kernel validates the whole transaction and applies nothing."""
    return subprocess.run(
        ["nft", "-c", "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


class TestNormalise:
    """nftables interval sets refuse overlapping elements: the rules are made disjoint first."""

    def test_an_address_inside_a_longer_ban_merges_into_it(self) -> None:
        """The scenario's failure: a host inside a banned range that lasts at least as long."""
        rules = parse_rules("10.0.0.0/8\n10.1.2.3 ttl 60\n10.0.0.0/16 ttl 600\n")
        assert normalise_rules(rules) == [Rule(ipaddress.ip_network("10.0.0.0/8"), None)]
        assert "elements = { 10.0.0.0/8 }" in render_nftables(rules)

    def test_an_address_that_outlasts_its_range_keeps_its_own_timeout(self) -> None:
        """The range is split around it, and the rest of the range still expires on time."""
        rules = parse_rules("192.0.2.0/24 ttl 600\n192.0.2.77\n")
        normal = normalise_rules(rules)
        # the fewest prefixes for .0-.76 and .78-.255, and the host on its own
        assert [(str(r.network), r.ttl) for r in normal] == [
            ("192.0.2.0/26", 600),
            ("192.0.2.64/29", 600),
            ("192.0.2.72/30", 600),
            ("192.0.2.76/32", 600),
            ("192.0.2.77/32", None),
            ("192.0.2.78/31", 600),
            ("192.0.2.80/28", 600),
            ("192.0.2.96/27", 600),
            ("192.0.2.128/25", 600),
        ]
        check_equivalent(rules, normal, [])

    def test_duplicates_keep_the_longest_ban(self) -> None:
        """Naming a network twice bans it while either line says so, first line's position kept."""
        rules = parse_rules(
            "203.0.113.7 ttl 60\n198.51.100.1\n203.0.113.7 ttl 600\n203.0.113.7 ttl 5\n"
        )
        assert [(str(r.network), r.ttl) for r in rules] == [
            ("203.0.113.7/32", 600),
            ("198.51.100.1/32", None),
        ]
        assert parse_rules("10.0.0.1 ttl 60\n10.0.0.1\n")[0].ttl is None
        twice = [
            Rule(ipaddress.ip_network("10.0.0.1/32"), 60),
            Rule(ipaddress.ip_network("10.0.0.1/32"), 5),
        ]
        assert render_module_batch(twice) == "batch\nflush\nadd 10.0.0.1 ttl 60\n"
        assert normalise_rules(twice) == [twice[0]]

    def test_adjacent_and_separate_rules_are_left_alone(self) -> None:
        """Touching elements are valid in an interval set: one element per ban, each with its timeout."""
        rules = parse_rules(
            "10.0.0.2 ttl 60\n10.0.0.1 ttl 60\n10.0.0.0/31\n10.0.1.0/24\n2001:db8::1\n"
        )
        assert [str(r.network) for r in normalise_rules(rules)] == [
            "10.0.0.0/31",
            "10.0.0.2/32",
            "10.0.1.0/24",
            "2001:db8::1/128",
        ]

    def test_families_are_normalised_separately(self) -> None:
        """An IPv6 range never swallows IPv4 rules, nor the other way round."""
        rules = parse_rules("::/0 ttl 60\n0.0.0.1\n0.0.0.0/0 ttl 5\n::1\n")
        normal = normalise_rules(rules)
        assert next(r for r in normal if r.network.version == 6) == Rule(
            ipaddress.ip_network("::/128"), 60
        )
        check_equivalent(rules, normal, [(4, -_BASES[4] + 1), (6, -_BASES[6] + 1)])
        script = render_nftables(rules)
        v4_set, v6_set = script.split("set blocked6")
        assert "0.0.0.0 timeout 5s, 0.0.0.1, 0.0.0.2/31 timeout 5s" in v4_set
        assert ":: timeout 1m, ::1, ::2/127 timeout 1m" in v6_set
        assert "::/0" not in script

    def test_module_batch_keeps_overlapping_rules(self) -> None:
        """The module's longest-live-prefix lookup handles nesting: each rule keeps its counters."""
        rules = parse_rules("10.0.0.0/8 ttl 600\n10.1.2.3\n")
        assert render_module_batch(rules) == "batch\nflush\nadd 10.0.0.0/8 ttl 600\nadd 10.1.2.3\n"

    @given(rules=RULE_SETS, probes=PROBES)
    @settings(max_examples=400, derandomize=True)
    def test_normalised_rules_are_disjoint_and_equivalent(
        self, rules: list[Rule], probes: list[tuple[int, int]]
    ) -> None:
        """Random nested, repeated and touching rules: same addresses, same bans, no overlap."""
        normal = normalise_rules(rules)
        check_equivalent(rules, normal, probes)
        assert normal == normalise_rules(normal)  # already-disjoint rules are a fixed point
        distinct = {r.network for r in rules}
        for network in distinct:
            others = [o for o in distinct if o.version == network.version and o != network]
            if not any(o.overlaps(network) for o in others):  # type: ignore[arg-type]
                longest = max(
                    (r for r in rules if r.network == network), key=lambda r: _ttl_key(r.ttl)
                )
                assert longest in normal  # a rule that overlaps nothing is rendered as it is

    @given(rules=RULE_SETS, probes=PROBES)
    @settings(max_examples=200, derandomize=True)
    def test_rendered_script_elements_are_disjoint_and_equivalent(
        self, rules: list[Rule], probes: list[tuple[int, int]]
    ) -> None:
        """The script's text, read back, holds exactly the bans (timeouts included)."""
        check_equivalent(rules, elements_of(render_nftables(rules)), probes)

    def test_long_timeouts_are_written_in_units(self) -> None:
        """nft refuses more than 99999999 plain seconds; ten years is written 3650d."""
        script = render_nftables(parse_rules(f"10.0.0.1 ttl {MAX_TTL}\n10.0.0.2 ttl 90061\n"))
        assert "10.0.0.1 timeout 3650d, 10.0.0.2 timeout 1d1h1m1s" in script


NFT_CHECK_SKIP = _nft_check_available()


@pytest.mark.root
@pytest.mark.skipif(NFT_CHECK_SKIP is not None, reason=str(NFT_CHECK_SKIP))
class TestNftCheck:
    """The kernel's own verdict on rendered scripts, in check mode (``nft -c``: nothing applied)."""

    def test_the_check_refuses_overlapping_elements(self) -> None:
        """The check can fail: an un-normalised set is refused with "conflicting intervals"."""
        script = render_nftables([], table="lscktest").replace(
            "type ipv4_addr; flags interval, timeout;",
            "type ipv4_addr; flags interval, timeout;\n    elements = { 10.0.0.0/8, 10.1.2.3 timeout 1m }",
        )
        proc = nft_check(script)
        assert proc.returncode != 0
        assert "conflicting intervals" in proc.stderr

    @given(rules=RULE_SETS)
    @settings(max_examples=100, derandomize=True)
    def test_nft_accepts_every_rendered_script(self, rules: list[Rule]) -> None:
        """Random nested, repeated and touching rules (and ten-year timeouts) always load."""
        proc = nft_check(render_nftables(rules, table="lscktest"))
        assert proc.returncode == 0, proc.stderr


@contextlib.contextmanager
def namespace() -> Iterator[str]:
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nft") is None:
        pytest.skip("needs root, iproute2 and nftables")
    name = f"lsck-{uuid.uuid4().hex[:8]}"
    if subprocess.run(["ip", "netns", "add", name], capture_output=True, check=False).returncode:
        pytest.skip("cannot create network namespaces here")
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


CONNECT = textwrap.dedent(
    """
    import socket, sys
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    results = []
    for source in sys.argv[1:]:
        client = socket.socket()
        client.settimeout(0.5)
        client.bind((source, 0))
        try:
            client.connect(("127.0.0.1", port))
            results.append("open")
        except OSError:
            results.append("blocked")
        client.close()
    print(" ".join(results))
    """
)


def connect_from(netns: str, *sources: str) -> list[str]:
    out = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", CONNECT, *sources],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return out.stdout.split()


@pytest.mark.root
class TestNftablesEnforcement:
    def test_blocked_source_dropped_others_pass_and_replace_is_atomic(self) -> None:
        """A blocked /32 and a blocked /24 drop TCP connects; unblocked sources pass; a re-push replaces."""
        with namespace() as netns:
            apply_nftables(parse_rules("127.0.0.2\n127.0.1.0/24\n"), netns)
            assert connect_from(netns, "127.0.0.1", "127.0.0.2", "127.0.1.9", "127.0.2.1") == [
                "open",
                "blocked",
                "blocked",
                "open",
            ]
            apply_nftables(parse_rules("127.0.2.1\n"), netns)
            assert connect_from(netns, "127.0.0.2", "127.0.2.1") == ["open", "blocked"]
            listing = subprocess.run(
                ["ip", "netns", "exec", netns, "nft", "list", "chain", "inet", "lsck", "prerouting"],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            assert "packets 0 bytes 0" not in listing.split("ip saddr")[1].split("\n")[0]

    def test_overlapping_rules_are_enforced(self) -> None:
        """A host inside a banned range, a range inside a range: the set loads and drops them all."""
        with namespace() as netns:
            rules = "127.0.1.0/24 ttl 600\n127.0.1.9\n127.0.1.0/28 ttl 60\n127.0.0.2\n"
            apply_nftables(parse_rules(rules), netns)
            assert connect_from(netns, "127.0.1.9", "127.0.1.200", "127.0.0.2", "127.0.2.1") == [
                "blocked",
                "blocked",
                "blocked",
                "open",
            ]

"""Rule sets: parsing, the module batch, and nftables enforcement in a namespace we create."""

from __future__ import annotations

import contextlib
import os
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
    apply_nftables,
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
        assert "elements = { 198.51.100.0/24 timeout 600s, 203.0.113.7 }" in script
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

    def test_cli_bad_rules_file_is_exit_2(self, tmp_path: Path) -> None:
        """A bad rule is one line with file and line number, exit 2, nothing applied."""
        rules = tmp_path / "rules.txt"
        rules.write_text("192.0.2.1\n192.0.2.1/8\n")
        result = run_cli(main, ["--root", str(tmp_path), "module", "push", str(rules), "--dry-run"])
        assert result.code == 2
        assert f"({rules}:2)" in result.err


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

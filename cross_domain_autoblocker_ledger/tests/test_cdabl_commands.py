"""The CLI end to end: ingest, decisions, check, ledger, export, bouncers, scenarios."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from cross_domain_autoblocker_ledger.cli import main
from shared_core.testing import CliResult, run_cli


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CROSS_DOMAIN_AUTOBLOCKER_LEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CROSS_DOMAIN_AUTOBLOCKER_LEDGER_TIMEZONE", "UTC")

    def run(*argv: str) -> CliResult:
        return run_cli(main, list(argv))

    return run


def _brute_force_log(path: Path) -> Path:
    lines = [
        f"Jun  1 12:00:{i:02d} h sshd[{100 + i}]: Failed password for root from 203.0.113.7 port {4000 + i} ssh2"
        for i in range(8)
    ]
    lines += ["truncated garbage mentioning sshd"]
    path.write_text("\n".join(lines) + "\n")
    return path


class TestIngest:
    def test_ingest_bans_the_brute_forcer(self, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """A burst of failed sshd logins becomes a ban; check finds it."""
        log = _brute_force_log(tmp_path / "auth.log")
        result = cli("--json", "ingest", str(log))
        assert result.code == 0, result.err
        report = json.loads(result.out)
        assert report["lines"] == 9
        assert report["malformed"] == 1  # the garbage line, sampled
        assert report["files"][str(log)]["samples"][0]["line"] == 9
        assert [d["value"] for d in report["decisions"]] == ["203.0.113.7"]
        check = json.loads(cli("--json", "check", "203.0.113.7").out)
        assert check["blocked"] is True
        assert check["decisions"][0]["scenario"] == "cdabl/ssh-bf"
        assert "not blocked" in cli("check", "203.0.113.8").out

    def test_dry_run_records_nothing(self, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """--dry-run reports alerts and leaves the ledger empty."""
        log = _brute_force_log(tmp_path / "auth.log")
        report = json.loads(cli("--json", "ingest", "--dry-run", str(log)).out)
        assert report["alerts"]
        assert report["decisions"] == []
        assert json.loads(cli("--json", "decisions", "list").out) == []

    def test_missing_file_is_one_line_exit_2(self, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """A missing log is a usage error with a hint, and the ledger is untouched."""
        cli("decisions", "add", "--ip", "192.0.2.1")
        result = cli("ingest", str(tmp_path / "nope.log"))
        assert result.code == 2
        assert result.err.count("\n") == 1
        assert "does not exist" in result.err
        assert "hint:" in result.err
        assert len(json.loads(cli("--json", "decisions", "list").out)) == 1

    def test_bad_scenario_file(self, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """An invalid scenario file names the file and the problem."""
        bad = tmp_path / "s.yaml"
        bad.write_text("name: x\ntype: sliding\n")
        result = cli("--scenarios", str(bad), "ingest", str(_brute_force_log(tmp_path / "a.log")))
        assert result.code == 2
        assert str(bad) in result.err
        assert "type 'sliding'" in result.err


class TestDecisions:
    def test_add_list_delete(self, cli) -> None:  # type: ignore[no-untyped-def]
        """Manual decisions round-trip; ranges answer for the addresses inside."""
        assert (
            cli(
                "decisions", "add", "--range", "10.0.0.0/8", "--duration", "1h", "--reason", "lab"
            ).code
            == 0
        )
        assert (
            cli(
                "decisions", "add", "--scope", "username", "--value", "root", "--type", "captcha"
            ).code
            == 0
        )
        listed = json.loads(cli("--json", "decisions", "list").out)
        assert [(d["scope"], d["value"], d["type"]) for d in listed] == [
            ("Range", "10.0.0.0/8", "ban"),
            ("Username", "root", "captcha"),
        ]
        assert "blocked" in cli("check", "10.20.30.40").out
        assert (
            json.loads(cli("--json", "check", "--scope", "Username", "root").out)["blocked"] is True
        )
        deleted = json.loads(cli("--json", "decisions", "delete", "--range", "10.0.0.0/8").out)
        assert [d["id"] for d in deleted] == [1]
        assert "not blocked" in cli("check", "10.20.30.40").out
        everything = json.loads(cli("--json", "decisions", "list", "--all").out)
        assert [d["deleted"] for d in everything] == [True, False]

    @pytest.mark.parametrize(
        ("argv", "needle"),
        [
            (("decisions", "add", "--ip", "999.1.1.1"), "not an IP address"),
            (
                ("decisions", "add", "--ip", "192.0.2.1", "--duration", "forever-ish"),
                "not a duration",
            ),
            (("decisions", "add"), "no target given"),
            (("decisions", "delete", "7"), "no decision has id 7"),
            (("check", "192.0.2"), "not an IP address"),
            (("decisions", "delete"), "refusing to delete every decision"),
        ],
    )
    def test_bad_input_one_line(self, cli, argv: tuple[str, ...], needle: str) -> None:  # type: ignore[no-untyped-def]
        """Bad input: one line saying what, with a hint, and a non-zero exit; nothing stored changes."""
        cli("decisions", "add", "--ip", "192.0.2.55")
        result = cli(*argv)
        assert result.code in (1, 2)
        assert result.err.count("\n") == 1
        assert needle in result.err
        assert "hint:" in result.err
        assert [d["value"] for d in json.loads(cli("--json", "decisions", "list").out)] == [
            "192.0.2.55"
        ]


class TestLedgerCommands:
    def test_verify_checkpoint_prove(self, cli) -> None:  # type: ignore[no-untyped-def]
        """verify, checkpoint, prove and consistency report on the same tree."""
        for i in range(3):
            cli("decisions", "add", "--ip", f"192.0.2.{i + 1}")
        verify = json.loads(cli("--json", "ledger", "verify").out)
        assert (verify["ok"], verify["entries"], verify["checkpoints"]) == (True, 3, 3)
        checkpoint = cli("ledger", "checkpoint").out
        assert checkpoint.splitlines()[:2] == ["cdabl.local/ledger", "3"]
        proof = json.loads(cli("--json", "ledger", "prove", "1").out)
        assert proof["tree_size"] == 3
        assert proof["root"] == verify["root"]
        assert json.loads(cli("--json", "ledger", "consistency", "1").out)["size2"] == 3
        assert cli("ledger", "key").out.startswith("cdabl.local/ledger+")

    def test_tampering_is_reported_by_every_command(self, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """After an edit of the database, commands refuse with an integrity error (exit 1)."""
        cli("decisions", "add", "--ip", "192.0.2.1")
        db = sqlite3.connect(tmp_path / "data" / "ledger.db")
        db.execute("UPDATE entries SET leaf = replace(leaf, '192.0.2.1', '192.0.2.9')")
        db.commit()
        db.close()
        for argv in (("ledger", "verify"), ("check", "192.0.2.9")):
            result = cli(*argv)
            assert result.code == 1
            assert "history was rewritten" in result.err


class TestExport:
    def test_nft_ruleset(self, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """The nft export holds the bans with timeouts; nft -c accepts it when nft is here."""
        cli("decisions", "add", "--ip", "192.0.2.1", "--duration", "1h")
        cli("decisions", "add", "--range", "2001:db8::/32", "--duration", "2h")
        cli("decisions", "add", "--ip", "192.0.2.2", "--type", "captcha")
        out = tmp_path / "rules.nft"
        assert cli("export", "nft", "-o", str(out)).code == 0
        text = out.read_text()
        assert "192.0.2.1 timeout 3600s" in text
        assert "2001:db8::/32 timeout 7200s" in text
        assert "192.0.2.2" not in text  # captcha is not enforced in the kernel
        nft = shutil.which("nft") or ("/usr/sbin/nft" if Path("/usr/sbin/nft").exists() else None)
        if nft is None:
            pytest.skip("nft (Debian nftables) is not installed")
        check = subprocess.run(
            [nft, "-c", "-f", str(out)], capture_output=True, text=True, check=False
        )
        if "Operation not permitted" in check.stderr:
            pytest.skip("nft -c needs CAP_NET_ADMIN here")
        assert check.returncode == 0, check.stderr

    def test_lsck_commands(self, cli) -> None:  # type: ignore[no-untyped-def]
        """The lsck export is flush + add ADDR[/LEN] [ttl SECONDS] lines."""
        cli("decisions", "add", "--ip", "192.0.2.1", "--duration", "90s")
        assert cli("export", "lsck").out.splitlines() == ["flush", "add 192.0.2.1 ttl 90"]


class TestBouncersAndScenarios:
    def test_bouncers(self, cli) -> None:  # type: ignore[no-untyped-def]
        """A bouncer key is shown once and listed by name only."""
        added = json.loads(cli("--json", "bouncers", "add", "fw1").out)
        assert len(added["api_key"]) >= 32
        listed = json.loads(cli("--json", "bouncers", "list").out)
        assert [b["name"] for b in listed] == ["fw1"]
        assert added["api_key"] not in json.dumps(listed)
        assert cli("bouncers", "add", "fw1").code == 1
        assert cli("bouncers", "delete", "fw1").code == 0

    def test_scenarios_list_and_jails(self, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """Jails add to the built-in scenarios; validate checks a jail file."""
        jail = tmp_path / "jail.local"
        jail.write_text("[sshd]\nenabled = true\nmaxretry = 3\n")
        names = [
            s["name"]
            for s in json.loads(cli("--json", "--jails", str(jail), "scenarios", "list").out)
        ]
        assert "cdabl/ssh-bf" in names
        assert "f2b/sshd" in names
        assert cli("scenarios", "validate", "--jail", str(jail)).code == 0

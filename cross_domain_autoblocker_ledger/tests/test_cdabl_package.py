"""The public surface and the runnable examples."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cross_domain_autoblocker_ledger as pkg
from cross_domain_autoblocker_ledger import load_jails, load_scenarios

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class TestExports:
    def test_all_is_complete_and_importable(self) -> None:
        """Every name in __all__ exists, and every public class/function defined by the package is listed."""
        for name in pkg.__all__:
            assert hasattr(pkg, name), name
        public = {
            name
            for name, value in vars(pkg).items()
            if not name.startswith("_")
            and getattr(value, "__module__", "").startswith("cross_domain_autoblocker_ledger")
        }
        assert public <= set(pkg.__all__), public - set(pkg.__all__)

    def test_all_is_sorted_and_unique(self) -> None:
        """__all__ has no duplicates."""
        assert len(pkg.__all__) == len(set(pkg.__all__))


class TestExamples:
    def test_detect_and_block_runs(self) -> None:
        """The library example detects, bans and proves inclusion."""
        proc = subprocess.run(
            [sys.executable, str(EXAMPLES / "detect_and_block.py")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "decision 1: ban Ip:203.0.113.66 (cdabl/ssh-bf)" in proc.stdout
        assert "203.0.113.66 blocked: True" in proc.stdout
        assert "entry 0 is included in checkpoint of size 1" in proc.stdout

    def test_example_scenarios_and_jails_load(self) -> None:
        """The shipped scenario and jail examples are valid."""
        names = [s.name for s in load_scenarios(EXAMPLES / "scenarios.yaml")]
        assert names == [
            "example/ssh-bf",
            "example/web-scan",
            "example/ssh-and-web",
            "example/user-spray",
        ]
        jails = load_jails((EXAMPLES / "jail.local").read_text(), "jail.local")
        assert [j.name for j in jails] == ["f2b/sshd", "f2b/nginx-http-auth"]

    def test_show_config_runs(self) -> None:
        """The config example prints the settings as JSON."""
        proc = subprocess.run(
            [sys.executable, str(EXAMPLES / "show_config.py")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert '"data_dir"' in proc.stdout

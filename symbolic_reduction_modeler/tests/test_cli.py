"""The symbolic_reduction_modeler command line answers the flags every system shares."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import symbolic_reduction_modeler
from shared_core.testing import CliResult, run_cli
from symbolic_reduction_modeler.cli import main


class TestCommonFlags:
    def test_version(self) -> None:
        """--version prints the distribution's version and exits 0."""
        result = run_cli(main, ["--version"])
        assert result.code == 0
        assert result.out.strip() == f"srm {symbolic_reduction_modeler.__version__}"

    def test_help_lists_shared_flags(self) -> None:
        """--help documents the shared flags."""
        result = run_cli(main, ["--help"])
        assert result.code == 0
        for flag in ("--config", "--log-format", "--log-level", "--json"):
            assert flag in result.out

    def test_unknown_flag_is_one_line_exit_2(self) -> None:
        """A usage error is one line on stderr and exit code 2."""
        result = run_cli(main, ["--no-such-flag"])
        assert result.code == 2
        assert result.err.count("\n") == 1
        assert "error:" in result.err

    def test_config_precedence(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """CLI flags beat the environment, which beats the TOML file."""
        config = tmp_path / "config.toml"
        config.write_text(
            '[symbolic_reduction_modeler]\nlog_level = "error"\nlog_format = "json"\n'
        )
        monkeypatch.setenv("SYMBOLIC_REDUCTION_MODELER_LOG_LEVEL", "info")
        result: CliResult = run_cli(
            main, ["--config", str(config), "--log-level", "debug", "--json", "config"]
        )
        assert result.code == 0, result.err
        shown = json.loads(result.out)
        assert shown["values"]["log_level"] == "debug"
        assert shown["values"]["log_format"] == "json"
        assert shown["sources"]["log_format"] == f"config file {config}"

    def test_bad_config_value_names_key_and_source(self, tmp_path: Path) -> None:
        """An invalid value in the file is a config error naming the key and the file."""
        config = tmp_path / "config.toml"
        config.write_text('log_format = "xml"\n')
        result = run_cli(main, ["--config", str(config), "config"])
        assert result.code == 2
        assert "log_format" in result.err
        assert str(config) in result.err

    def test_python_dash_m(self) -> None:
        """``python -m symbolic_reduction_modeler`` is the same CLI."""
        proc = subprocess.run(
            [sys.executable, "-m", "symbolic_reduction_modeler", "--version"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0
        assert proc.stdout.startswith("srm ")

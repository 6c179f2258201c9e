"""The chaos_engine command line answers the flags every system shares."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos_engine.cli import app as cli_app
from chaos_engine.cli import main
from shared_core.testing import CommonCliTests, run_cli


class TestCommonFlags(CommonCliTests):
    app = cli_app
    module = "chaos_engine"


EXPERIMENTS = Path(__file__).parent / "fixtures" / "experiments"
FIXTURES = Path(__file__).parent / "fixtures"


class TestExperimentCommands:
    def test_validate_ok(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A valid experiment validates with exit 0."""
        monkeypatch.syspath_prepend(str(FIXTURES))
        result = run_cli(main, ["validate", str(EXPERIMENTS / "tolerances.json")])
        assert result.code == 0, result.err
        assert "valid" in result.out

    def test_validate_names_the_exact_path(self, tmp_path: Path) -> None:
        """An invalid experiment is exit 2 with one line naming the path in the file."""
        bad = tmp_path / "bad.json"
        bad.write_text(
            json.dumps(
                {
                    "title": "t",
                    "description": "d",
                    "method": [
                        {
                            "type": "action",
                            "name": "a",
                            "provider": {"type": "process", "path": "true"},
                        },
                        {
                            "type": "action",
                            "name": "b",
                            "provider": {"type": "process", "path": "true"},
                        },
                        {
                            "type": "action",
                            "name": "c",
                            "provider": {"type": "python", "func": "f"},
                        },
                    ],
                }
            )
        )
        result = run_cli(main, ["validate", str(bad)])
        assert result.code == 2
        first = result.err.splitlines()[0]
        assert "method[2].provider.module: missing" in first

    def test_run_missing_file_is_exit_2(self, tmp_path: Path) -> None:
        """A file that cannot be read is a bad-input exit 2, one line."""
        result = run_cli(main, ["run", str(tmp_path / "nope.json")])
        assert result.code == 2
        assert result.err.count("\n") == 1

    @settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(data=st.binary(max_size=300), command=st.sampled_from(["run", "validate", "report"]))
    def test_any_bytes_as_a_file_are_exit_2_or_0_never_a_crash(
        self, tmp_path: Path, data: bytes, command: str
    ) -> None:
        """Arbitrary bytes in an experiment or journal file: one error line and exit 2, or success."""
        f = tmp_path / "input.json"
        f.write_bytes(data)
        args = [command, str(f)]
        if command == "run":
            args[1:1] = ["--dry=activities", "--journal-path", str(tmp_path / "journal.json")]
        result = run_cli(main, args)
        assert result.code in (0, 1, 2), result.err
        if result.code == 2:
            assert result.err.count("\n") == 1, result.err

    def test_run_yaml_syntax_error_names_line(self, tmp_path: Path) -> None:
        """A YAML syntax error gives its line."""
        bad = tmp_path / "bad.yaml"
        bad.write_text("title: x\nmethod: [\n  - oops: {\n")
        result = run_cli(main, ["run", str(bad)])
        assert result.code == 2
        assert "YAML" in result.err

    def test_bad_var_is_exit_2(self) -> None:
        """A malformed --var is a usage error."""
        result = run_cli(main, ["run", "--var", "novalue", str(EXPERIMENTS / "steady_ok.json")])
        assert result.code == 2

    def test_run_writes_journal_and_reports(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """run writes the journal, the HTML and Markdown reports; report re-renders the journal."""
        monkeypatch.syspath_prepend(str(FIXTURES))
        monkeypatch.setenv("CHAOS_FIXTURE_STATE", str(tmp_path))
        journal = tmp_path / "j.json"
        html = tmp_path / "r.html"
        md = tmp_path / "r.md"
        result = run_cli(
            main,
            [
                "--json",
                "run",
                "--journal-path",
                str(journal),
                "--report-html",
                str(html),
                "--report-md",
                str(md),
                str(EXPERIMENTS / "deviated.json"),
            ],
        )
        assert result.code == 1
        assert json.loads(result.out) == {
            "status": "completed",
            "deviated": True,
            "journal": str(journal),
            "exit_code": 1,
        }
        page = html.read_text()
        assert page.startswith("<!doctype html>")
        assert "http://" not in page
        assert "https://" not in page
        assert "repair" in page
        assert "not met" in page
        assert "**Outcome:** deviated" in md.read_text()
        again = run_cli(main, ["report", str(journal)])
        assert again.code == 0
        assert again.out == md.read_text()
        assert run_cli(main, ["report", "--format", "html", str(journal)]).out == page

    def test_report_of_a_bad_journal_is_exit_2(self, tmp_path: Path) -> None:
        """report refuses a file that is not a JSON object."""
        bad = tmp_path / "j.json"
        bad.write_text("[1, 2")
        assert run_cli(main, ["report", str(bad)]).code == 2

    def test_proxy_serve_with_a_bad_config_is_exit_2(self, tmp_path: Path) -> None:
        """proxy serve refuses a proxies file that is not a list."""
        bad = tmp_path / "proxies.json"
        bad.write_text('{"name": "x"}')
        result = run_cli(main, ["proxy", "serve", "--port", "0", "--config", str(bad)])
        assert result.code == 2


def test_example_runs() -> None:
    """The example in examples/ runs."""
    example = Path(__file__).parent.parent / "examples" / "show_config.py"
    result = subprocess.run(
        [sys.executable, str(example)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["system"] == "chaos_engine"

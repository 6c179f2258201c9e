"""The runnable examples run and print what they promise (run in-process with runpy)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str) -> str:
    monkeypatch.setattr(sys, "argv", list(argv))
    code: object = None
    try:
        runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as exc:
        code = exc.code
    assert code in (0, None)
    return capsys.readouterr().out


class TestExamples:
    def test_drift_report(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The drift example writes an HTML report and names the change point."""
        out = _run(capsys, monkeypatch, str(EXAMPLES / "drift_report.py"), str(tmp_path), "3000")
        assert "true change at (1500,)" in out
        assert (tmp_path / "report.html").stat().st_size > 1000
        assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"

    def test_adapt_domains(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The adaptation example reports both shifts."""
        out = _run(capsys, monkeypatch, str(EXAMPLES / "adapt_domains.py"))
        assert "calibration shift:" in out
        assert "covariate shift:" in out

    def test_show_config(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The config example prints the settings as JSON."""
        assert '"system": "cross_domain_auto_learner"' in _run(
            capsys, monkeypatch, str(EXAMPLES / "show_config.py")
        )

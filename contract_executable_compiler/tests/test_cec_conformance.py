"""The cel-spec conformance suite, run through the whole pipeline (parse, check, compile, VM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract_executable_compiler import CORE_FILES, render_table, run_conformance_file
from shared_core.testing import corpus_path

pytestmark = pytest.mark.corpus

# Passed tests in the core files (cel-python passes 931 of the 1,138 message-free ones).
CORE_PASS_FLOOR = 1138
TYPE_DEDUCTION_PASS_FLOOR = 26
EXPECTED_FAILURES = Path(__file__).parent / "data" / "cel_expected_failures.txt"


def _expected_failures() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in EXPECTED_FAILURES.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, reason = line.partition(" # ")
        assert reason.strip(), f"expected failure {key} has no reason"
        out[key.strip()] = reason.strip()
    return out


def test_core_files_pass_floor_and_failures_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    """Every core file runs; passes meet the floor; every failure is a listed expected failure."""
    base = corpus_path("cel-spec")
    reports = [run_conformance_file(base / f"{name}.json") for name in CORE_FILES]
    with capsys.disabled():
        print("\n" + render_table(reports))
    passed = sum(r.count("passed") for r in reports)
    failed = {
        f"{o.file}/{o.section}/{o.name}": o.detail
        for r in reports
        for o in r.outcomes
        if o.status == "failed"
    }
    expected = _expected_failures()
    unexpected = {k: v for k, v in failed.items() if k not in expected}
    assert not unexpected, f"new conformance failures: {unexpected}"
    fixed = set(expected) - set(failed)
    assert not fixed, f"these now pass; remove them from {EXPECTED_FAILURES.name}: {fixed}"
    assert passed >= CORE_PASS_FLOOR
    total = sum(len(r.outcomes) for r in reports)
    assert total == 1238


def test_type_deduction_through_the_checker() -> None:
    """The type_deduction file's message-free tests check to the expected types."""
    report = run_conformance_file(corpus_path("cel-spec", "type_deduction.json"))
    assert report.count("failed") == 0, [o for o in report.outcomes if o.status == "failed"]
    assert report.count("passed") >= TYPE_DEDUCTION_PASS_FLOOR


def test_optionals_extension() -> None:
    """cel-spec's optionals file: every test that needs no protobuf message passes."""
    report = run_conformance_file(corpus_path("cel-spec", "optionals.json"))
    assert report.count("failed") == 0, [o for o in report.outcomes if o.status == "failed"]
    assert report.count("passed") >= 59


def test_string_extension_without_format() -> None:
    """cel-spec's string_ext file: everything except the `format` sections passes."""
    report = run_conformance_file(corpus_path("cel-spec", "string_ext.json"))
    failed = [
        o for o in report.outcomes if o.status == "failed" and not o.section.startswith("format")
    ]
    assert not failed, failed
    assert report.count("passed") >= 134

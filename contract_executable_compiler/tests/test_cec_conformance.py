"""The cel-spec conformance suite, run through the whole pipeline (parse, check, compile, VM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract_executable_compiler import (
    CORE_FILES,
    MESSAGE_FILES,
    FileReport,
    render_table,
    run_conformance_file,
)
from shared_core.testing import corpus_path

pytestmark = pytest.mark.corpus

# Passed tests in the core files (cel-python passes 931 of the 1,138 message-free ones).
CORE_PASS_FLOOR = 1236
# Passed tests in the files that exercise protobuf messages beyond the core.
MESSAGE_PASS_FLOORS = {
    "proto2": 118,
    "proto2_ext": 18,
    "proto3": 85,
    "wrappers": 36,
    "dynamic": 226,
    "enums": 39,
    "type_deduction": 47,
    "optionals": 70,
}
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


def _check_failures(reports: list[FileReport]) -> None:
    failed = {
        f"{o.file}/{o.section}/{o.name}": o.detail
        for r in reports
        for o in r.outcomes
        if o.status == "failed"
    }
    files = {r.file for r in reports}
    expected = {k: v for k, v in _expected_failures().items() if k.split("/")[0] in files}
    unexpected = {k: v for k, v in failed.items() if k not in expected}
    assert not unexpected, f"new conformance failures: {unexpected}"
    fixed = set(expected) - set(failed)
    assert not fixed, f"these now pass; remove them from {EXPECTED_FAILURES.name}: {fixed}"


def test_core_files_pass_floor_and_failures_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    """Every core file runs, messages included; passes meet the floor; failures are listed."""
    base = corpus_path("cel-spec")
    reports = [run_conformance_file(base / f"{name}.json") for name in CORE_FILES]
    with capsys.disabled():
        print("\n" + render_table(reports))
    _check_failures(reports)
    assert sum(r.count("passed") for r in reports) >= CORE_PASS_FLOOR
    assert sum(r.count("unsupported") for r in reports) == 0
    assert sum(len(r.outcomes) for r in reports) == 1238


def test_message_files(capsys: pytest.CaptureFixture[str]) -> None:
    """proto2 (with extensions), proto3, wrappers, dynamic, enums, type_deduction, optionals."""
    base = corpus_path("cel-spec")
    reports = [run_conformance_file(base / f"{name}.json") for name in MESSAGE_FILES]
    with capsys.disabled():
        print("\n" + render_table(reports))
    _check_failures(reports)
    for r in reports:
        assert r.count("passed") >= MESSAGE_PASS_FLOORS[r.file], r.file
        unsupported = [o for o in r.outcomes if o.status == "unsupported"]
        # only the strong-enum sections: the opt-in mode beside the legacy one implemented here
        assert all(o.file == "enums" and o.section.startswith("strong_") for o in unsupported)


def test_type_deduction_through_the_checker() -> None:
    """Every type_deduction test, messages included, checks to the expected type."""
    report = run_conformance_file(corpus_path("cel-spec", "type_deduction.json"))
    assert report.count("failed") == 0, [o for o in report.outcomes if o.status == "failed"]
    assert report.count("passed") == 47


def test_string_extension() -> None:
    """cel-spec's string_ext file, the ``format`` sections included, passes whole."""
    report = run_conformance_file(corpus_path("cel-spec", "string_ext.json"))
    assert report.count("failed") == 0, [o for o in report.outcomes if o.status == "failed"]
    assert report.count("passed") == 216

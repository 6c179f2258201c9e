"""Snapshot tests of diagnostics over a corpus of 100+ broken contracts.

Regenerate the snapshots after an intended change with
``CEC_UPDATE_SNAPSHOTS=1 uv run pytest contract_executable_compiler/tests/test_cec_diagnostics.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from contract_executable_compiler import EXPLANATIONS, Source, check_contract, render_diagnostics

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "broken_contracts.txt"
EXPECTED = DATA / "broken_contracts.expected"


def cases() -> list[tuple[str, str]]:
    text = CORPUS.read_text(encoding="utf-8")
    parts = re.split(r"^=== (\S+) ===\n", text, flags=re.MULTILINE)
    return [(parts[i], parts[i + 1].removesuffix("\n")) for i in range(1, len(parts), 2)]


def render_case(name: str, text: str) -> str:
    _, diags = check_contract(text, name=f"{name}.cec")
    return render_diagnostics(diags, Source(text, f"{name}.cec"))


def test_corpus_has_over_100_cases() -> None:
    """The corpus holds at least 100 distinct broken contracts."""
    names = [n for n, _ in cases()]
    assert len(names) >= 100
    assert len(set(names)) == len(names)


def test_every_case_is_rejected_with_known_codes() -> None:
    """Every broken contract gets at least one diagnostic, each with an explained code."""
    for name, text in cases():
        compiled, diags = check_contract(text)
        assert compiled is None, name
        assert diags, name
        for d in diags:
            assert d.code in EXPLANATIONS, (name, d.code)
            assert 0 <= d.start <= d.end <= len(text) + 1, (name, d)


def test_snapshots() -> None:
    """Rendered diagnostics match the reviewed snapshots exactly."""
    rendered = {name: render_case(name, text) for name, text in cases()}
    if os.environ.get("CEC_UPDATE_SNAPSHOTS") == "1":
        EXPECTED.write_text(
            json.dumps(rendered, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        pytest.skip("snapshots rewritten")
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert set(expected) == set(rendered)
    mismatched = [n for n in rendered if rendered[n] != expected[n]]
    assert not mismatched, f"changed diagnostics: {mismatched}"


def test_json_format_is_complete() -> None:
    """JSON diagnostics carry code, position, message, notes, help and suggestion."""
    text = dict(cases())["obligation_no_deadline"]
    _, diags = check_contract(text)
    doc = json.loads(render_diagnostics(diags, Source(text, "o.cec"), "json"))
    first = doc[0]
    assert first["code"] == "E0203"
    assert first["file"] == "o.cec"
    assert {"line", "column", "end_line", "end_column", "help", "suggestion", "notes"} <= set(first)
    assert first["suggestion"].endswith('within duration("24h")')

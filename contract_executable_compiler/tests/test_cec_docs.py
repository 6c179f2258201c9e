"""The documentation's examples run: every cel-eval line, every cec and cec-broken block."""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

import pytest

from contract_executable_compiler import (
    EXPLANATIONS,
    ContractEvalError,
    check_contract,
    compile_contract,
    evaluate,
    format_contract,
)
from contract_executable_compiler._jsonvalues import to_json

DOCS = Path(__file__).parent.parent / "docs"
EXAMPLES = Path(__file__).parent.parent / "examples"
BLOCK = re.compile(r"^```(cel-eval|cec|cec-broken)(?: (\S+))?\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(kind: str) -> list[tuple[str | None, str]]:
    text = (DOCS / "LANGUAGE.md").read_text(encoding="utf-8")
    return [(m.group(2), m.group(3)) for m in BLOCK.finditer(text) if m.group(1) == kind]


def eval_lines() -> list[tuple[str, str]]:
    out = []
    for _, body in blocks("cel-eval"):
        for line in body.splitlines():
            if line.strip():
                expr, _, expected = line.partition("# =>")
                out.append((expr.strip(), expected.strip()))
    return out


def test_there_are_many_examples() -> None:
    """The reference carries a real number of runnable examples."""
    assert len(eval_lines()) >= 60
    assert len(blocks("cec")) >= 3
    assert len(blocks("cec-broken")) >= 5


@pytest.mark.parametrize(("expr", "expected"), eval_lines())
def test_cel_eval_examples(expr: str, expected: str) -> None:
    """Each `EXPR  # => JSON` line evaluates to that JSON (or to the named error)."""
    if expected.startswith("error:"):
        with pytest.raises(
            ContractEvalError, match=re.escape(expected.removeprefix("error:").strip())
        ):
            evaluate(expr)
        return
    assert to_json(evaluate(expr)) == json.loads(expected)


def test_cec_examples_compile() -> None:
    """Every contract in the reference compiles, and so does its formatted form."""
    for _, body in blocks("cec"):
        compile_contract(body)
        formatted = format_contract(body)
        assert format_contract(formatted) == formatted
        compile_contract(formatted)


def test_shipped_example_is_formatted() -> None:
    """examples/escrow.cec and escrow_v3.cec are in canonical layout."""
    for name in ("escrow.cec", "escrow_v3.cec"):
        text = (EXAMPLES / name).read_text(encoding="utf-8")
        assert format_contract(text) == text, name


def test_cec_broken_examples_fail_with_their_code() -> None:
    """Every broken example is rejected with the code its block names."""
    for code, body in blocks("cec-broken"):
        compiled, diags = check_contract(body)
        assert compiled is None
        assert code in {d.code for d in diags}, (code, [d.code for d in diags])


def test_every_code_is_documented() -> None:
    """DIAGNOSTICS.md lists every code the compiler can emit."""
    text = (DOCS / "DIAGNOSTICS.md").read_text(encoding="utf-8")
    for code in EXPLANATIONS:
        assert f"`{code}`" in text, code


def test_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """examples/evaluate.py runs and prints what it promises."""
    runpy.run_path(str(EXAMPLES / "evaluate.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "adult: True" in out
    assert "status: closed" in out

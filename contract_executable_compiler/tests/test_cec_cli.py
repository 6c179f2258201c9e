"""The cec commands end to end: check, compile, run, eval, explain, fmt, conformance."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from contract_executable_compiler.cli import main
from shared_core.testing import corpus_path, run_cli

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
def escrow(tmp_path: Path) -> Path:
    src = tmp_path / "escrow.cec"
    shutil.copy(EXAMPLES / "escrow.cec", src)
    shutil.copy(EXAMPLES / "escrow_trace.jsonl", tmp_path / "trace.jsonl")
    return src


class TestCheck:
    def test_ok(self, escrow: Path) -> None:
        """A good contract checks with exit 0 and a summary line."""
        result = run_cli(main, ["check", str(escrow)])
        assert result.code == 0, result.err
        assert "ok: Escrow version 2" in result.out

    def test_diagnostics_and_exit_2(self, tmp_path: Path) -> None:
        """A broken contract prints rustc-style diagnostics and exits 2."""
        bad = tmp_path / "bad.cec"
        bad.write_text("contract B {\n  party p: signatory;\n  state n: int = 1 +;\n}\n")
        result = run_cli(main, ["check", str(bad)])
        assert result.code == 2
        assert "error[E0005]" in result.err
        assert f"--> {bad}:3:21" in result.err
        assert "3 |   state n: int = 1 +;" in result.err

    def test_json_format(self, tmp_path: Path) -> None:
        """--format json gives machine-readable diagnostics."""
        bad = tmp_path / "bad.cec"
        bad.write_text("contract B { party p: signatory; choice c() by q { } }")
        result = run_cli(main, ["check", "--format", "json", str(bad)])
        assert result.code == 2
        diags = json.loads(result.out)
        assert diags[0]["code"] == "E0202"
        assert diags[0]["line"] == 1

    def test_explain_flag(self) -> None:
        """check --explain CODE prints the long explanation."""
        result = run_cli(main, ["check", "--explain", "E0203"])
        assert result.code == 0
        assert "deadline" in result.out

    def test_missing_file_is_one_line(self, tmp_path: Path) -> None:
        """A missing file is one line on stderr and exit 2."""
        result = run_cli(main, ["check", str(tmp_path / "nope.cec")])
        assert result.code == 2
        assert result.err.count("\n") == 1
        assert "no such file" in result.err


class TestCompileRun:
    def test_compile_then_run(self, escrow: Path, tmp_path: Path) -> None:
        """compile writes bytecode; run executes it and prints final state, events and gas."""
        out = tmp_path / "escrow.cecb"
        result = run_cli(main, ["--json", "compile", str(escrow), "-o", str(out)])
        assert result.code == 0, result.err
        info = json.loads(result.out)
        assert info["bytes"] == out.stat().st_size
        run = run_cli(main, ["run", str(out), "--events", str(tmp_path / "trace.jsonl")])
        assert run.code == 0, run.err
        doc = json.loads(run.out)
        assert doc["status"] == "closed"
        assert doc["bytecode_sha256"] == info["sha256"]
        assert [e["event"] for e in doc["events"]] == ["Funded", "Shipped", "Released"]

    def test_compile_is_byte_identical(self, escrow: Path, tmp_path: Path) -> None:
        """Compiling twice gives the same bytes."""
        a, b = tmp_path / "a.cecb", tmp_path / "b.cecb"
        assert run_cli(main, ["compile", str(escrow), "-o", str(a)]).code == 0
        assert run_cli(main, ["compile", str(escrow), "-o", str(b)]).code == 0
        assert a.read_bytes() == b.read_bytes()

    def test_failed_run_exits_1(self, escrow: Path, tmp_path: Path) -> None:
        """A run that fails its checks exits 1 and still prints the last good state."""
        trace = tmp_path / "bad.jsonl"
        lines = (tmp_path / "trace.jsonl").read_text().splitlines()[:2]
        lines.append(
            json.dumps(
                {"at": "2026-03-02T00:00:00Z", "party": "seller", "choice": "confirm", "args": {}}
            )
        )
        trace.write_text("\n".join(lines) + "\n")
        result = run_cli(main, ["run", str(escrow), "--events", str(trace)])
        assert result.code == 1
        assert json.loads(result.out)["failure"]["kind"] == "authorisation"

    def test_corrupted_bytecode_is_bad_input(self, escrow: Path, tmp_path: Path) -> None:
        """A corrupted bytecode file is refused with one line and exit 2."""
        out = tmp_path / "e.cecb"
        run_cli(main, ["compile", str(escrow), "-o", str(out)])
        data = bytearray(out.read_bytes())
        data[100] ^= 0x55
        out.write_bytes(bytes(data))
        result = run_cli(main, ["run", str(out), "--events", str(tmp_path / "trace.jsonl")])
        assert result.code == 2
        assert "hash does not match" in result.err

    def test_bad_trace_line(self, escrow: Path, tmp_path: Path) -> None:
        """A malformed trace names the line."""
        trace = tmp_path / "t.jsonl"
        trace.write_text('{"at": "2026-01-01T00:00:00Z", "create": {"signed_by": []}}\nnot json\n')
        result = run_cli(main, ["run", str(escrow), "--events", str(trace)])
        assert result.code == 2
        assert f"{trace}:2" in result.err

    def test_failed_compile_keeps_existing_output(self, tmp_path: Path) -> None:
        """A compile that fails does not touch an existing output file."""
        out = tmp_path / "keep.cecb"
        out.write_bytes(b"previous")
        bad = tmp_path / "bad.cec"
        bad.write_text("contract {")
        result = run_cli(main, ["compile", str(bad), "-o", str(out)])
        assert result.code == 2
        assert out.read_bytes() == b"previous"

    def test_state_continuation(self, escrow: Path, tmp_path: Path) -> None:
        """--save-state then --state continues the same instance."""
        lines = (tmp_path / "trace.jsonl").read_text().splitlines()
        (tmp_path / "a.jsonl").write_text("\n".join(lines[:2]) + "\n")
        (tmp_path / "b.jsonl").write_text("\n".join(lines[2:]) + "\n")
        state = tmp_path / "state.json"
        first = run_cli(
            main,
            ["run", str(escrow), "--events", str(tmp_path / "a.jsonl"), "--save-state", str(state)],
        )
        assert first.code == 0, first.err
        second = run_cli(
            main, ["run", str(escrow), "--events", str(tmp_path / "b.jsonl"), "--state", str(state)]
        )
        assert second.code == 0, second.err
        assert json.loads(second.out)["status"] == "closed"


class TestEval:
    def test_value(self) -> None:
        """eval prints the value, its CEL type and the gas used."""
        result = run_cli(main, ["eval", "[1, 2, 3].map(x, x * y)", "--bindings", '{"y": 10}'])
        assert result.code == 0, result.err
        assert json.loads(result.out) == {"value": [10, 20, 30], "type": "list", "gas_used": 25}

    def test_error_value_exits_1(self) -> None:
        """An expression that evaluates to an error exits 1."""
        result = run_cli(main, ["eval", "1 / 0"])
        assert result.code == 1
        assert json.loads(result.out)["error"] == "division by zero"

    def test_syntax_error_exits_2(self) -> None:
        """A syntax error is one line with position, code and hint."""
        result = run_cli(main, ["eval", "1 + * 2"])
        assert result.code == 2
        assert "<expr>:1:5: E0005" in result.err
        assert result.err.count("\n") == 1


class TestExplainFmt:
    def test_explain(self) -> None:
        """explain prints the long form of a code."""
        result = run_cli(main, ["explain", "E0004"])
        assert result.code == 0
        assert "E0004: invalid numeric literal" in result.out

    def test_explain_unknown(self) -> None:
        """An unknown code is bad input."""
        result = run_cli(main, ["explain", "E9999"])
        assert result.code == 2

    def test_fmt_check_and_write(self, tmp_path: Path) -> None:
        """fmt --check fails on unformatted input; --write fixes it; comments survive."""
        src = tmp_path / "c.cec"
        src.write_text("contract C{party p:signatory;\n// the count\nstate n:int=1+2;}\n")
        assert run_cli(main, ["fmt", "--check", str(src)]).code == 1
        assert run_cli(main, ["fmt", "--write", str(src)]).code == 0
        text = src.read_text()
        assert "  // the count\n  state n: int = 1 + 2;" in text
        assert run_cli(main, ["fmt", "--check", str(src)]).code == 0


@pytest.mark.corpus
def test_conformance_command() -> None:
    """conformance prints a per-file table."""
    result = run_cli(main, ["conformance", str(corpus_path("cel-spec")), "basic", "logic"])
    assert result.code == 0
    assert "basic" in result.out
    assert "total" in result.out

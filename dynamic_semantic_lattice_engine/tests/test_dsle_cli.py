"""The dynamic_semantic_lattice_engine command line answers the flags every system shares."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import dynamic_semantic_lattice_engine
from dynamic_semantic_lattice_engine.cli import main
from shared_core.testing import CliResult, run_cli


class TestCommonFlags:
    def test_version(self) -> None:
        """--version prints the distribution's version and exits 0."""
        result = run_cli(main, ["--version"])
        assert result.code == 0
        assert (
            result.out.strip()
            == f"dynamic_semantic_lattice_engine {dynamic_semantic_lattice_engine.__version__}"
        )

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
            '[dynamic_semantic_lattice_engine]\nlog_level = "error"\nlog_format = "json"\n'
        )
        monkeypatch.setenv("DYNAMIC_SEMANTIC_LATTICE_ENGINE_LOG_LEVEL", "info")
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
        """``python -m dynamic_semantic_lattice_engine`` is the same CLI."""
        proc = subprocess.run(
            [sys.executable, "-m", "dynamic_semantic_lattice_engine", "--version"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0
        assert proc.stdout.startswith("dynamic_semantic_lattice_engine ")


EX_TTL = """@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Cat rdfs:subClassOf ex:Mammal .
ex:Mammal rdfs:subClassOf ex:Animal .
ex:tom a ex:Cat .
"""
TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"


class TestKnowledgeBaseCommands:
    def _store(self, tmp_path: Path) -> list[str]:
        return ["--store", str(tmp_path / "kb.sqlite")]

    def test_load_reason_query_explain(self, tmp_path: Path) -> None:
        """The knowledge base survives between commands and answers queries over its closure."""
        data = tmp_path / "onto.ttl"
        data.write_text(EX_TTL)
        store = self._store(tmp_path)
        assert run_cli(main, [*store, "load", str(data)]).code == 0
        reasoned = run_cli(main, [*store, "--json", "reason", "--rules", "rdfs"])
        assert reasoned.code == 0, reasoned.err
        assert json.loads(reasoned.out)["inconsistencies"] == []
        query = "PREFIX ex: <http://example.org/> SELECT ?c WHERE { ex:tom a ?c }"
        answer = run_cli(main, [*store, "--json", "query", query])
        classes = {row["c"] for row in json.loads(answer.out)["answers"]}
        assert {"<http://example.org/Animal>", "<http://example.org/Mammal>"} <= classes
        fact = f'triple("<http://example.org/tom>", "{TYPE}", "<http://example.org/Animal>")'
        explained = run_cli(main, [*store, "--json", "explain", fact])
        tree = json.loads(explained.out)
        assert tree["rule"] is not None
        assert len(tree["because"]) == 2

    def test_bad_input_is_one_line_and_keeps_the_store(self, tmp_path: Path) -> None:
        """Malformed RDF exits 2 with one line, and the facts already stored remain."""
        good = tmp_path / "good.ttl"
        good.write_text(EX_TTL)
        bad = tmp_path / "bad.ttl"
        bad.write_text("ex:a ex:b .")
        store = self._store(tmp_path)
        run_cli(main, [*store, "load", str(good)])
        result = run_cli(main, [*store, "load", str(bad)])
        assert result.code == 2
        assert result.err.count("\n") == 1
        assert "hint:" in result.err
        count = run_cli(main, [*store, "--json", "query", "triple(S, P, O)"])
        assert json.loads(count.out)["count"] == 3

    def test_bad_query_exit_2(self, tmp_path: Path) -> None:
        """A query that does not parse names the position."""
        result = run_cli(main, [*self._store(tmp_path), "query", "triple(X, Y"])
        assert result.code == 2
        assert "<query>:1:" in result.err

    def test_merge_stores(self, tmp_path: Path) -> None:
        """Two stores merge into a third holding the union of their facts."""
        a, b = tmp_path / "a.ttl", tmp_path / "b.ttl"
        a.write_text("<http://x/a> <http://x/p> <http://x/b> .")
        b.write_text("<http://x/c> <http://x/p> <http://x/d> .")
        run_cli(main, ["--store", str(tmp_path / "a.db"), "load", str(a)])
        run_cli(main, ["--store", str(tmp_path / "b.db"), "load", str(b)])
        out = tmp_path / "c.db"
        merged = run_cli(
            main, ["merge", str(tmp_path / "a.db"), str(tmp_path / "b.db"), "-o", str(out)]
        )
        assert merged.code == 0, merged.err
        rows = run_cli(main, ["--store", str(out), "--json", "query", "triple(S, P, O)"])
        assert json.loads(rows.out)["count"] == 2

    def test_reason_with_souffle_program(self, tmp_path: Path) -> None:
        """A Datalog file with --facts and --output writes its output relations."""
        program = tmp_path / "tc.dl"
        program.write_text(
            ".decl e(a:symbol,b:symbol)\n.input e\n.decl t(a:symbol,b:symbol)\n.output t\n"
            "t(X,Y) :- e(X,Y).\nt(X,Z) :- t(X,Y), e(Y,Z).\n"
        )
        facts = tmp_path / "facts"
        facts.mkdir()
        (facts / "e.facts").write_text("a\tb\nb\tc\n")
        out = tmp_path / "out"
        result = run_cli(
            main, ["reason", "--rules", str(program), "--facts", str(facts), "--output", str(out)]
        )
        assert result.code == 0, result.err
        assert (out / "t.csv").read_text() == "a\tb\na\tc\nb\tc\n"

    def test_fca_json_and_dot(self, tmp_path: Path) -> None:
        """The concept lattice of a small context, as JSON and as DOT."""
        context = tmp_path / "ctx.csv"
        context.write_text(",a,b\nx,1,0\ny,1,1\n")
        data = json.loads(run_cli(main, ["--json", "fca", str(context)]).out)
        assert len(data["concepts"]) == 2
        assert data["edges"] == [{"lower": 1, "upper": 0}]
        dot = run_cli(main, ["fca", str(context), "--dot"]).out
        assert dot.startswith("digraph")
        assert "c1 -> c0" in dot
        bad = tmp_path / "bad.csv"
        bad.write_text(",a\nx,maybe\n")
        result = run_cli(main, ["fca", str(bad)])
        assert result.code == 2
        assert "maybe" in result.err

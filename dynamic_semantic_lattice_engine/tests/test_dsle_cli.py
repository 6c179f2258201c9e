"""The dynamic_semantic_lattice_engine command line answers the flags every system shares."""

from __future__ import annotations

import json
from pathlib import Path

from dynamic_semantic_lattice_engine.cli import app as cli_app
from dynamic_semantic_lattice_engine.cli import main
from shared_core.testing import CommonCliTests, run_cli


class TestCommonFlags(CommonCliTests):
    app = cli_app
    module = "dynamic_semantic_lattice_engine"


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

    def test_store_that_is_not_a_database(self, tmp_path: Path) -> None:
        """A --store that is not SQLite is bad input: one line, exit 2, a hint, the file untouched."""
        store = tmp_path / "notes.txt"
        store.write_bytes(b"these are my notes, not a database\n" * 40)
        before = store.read_bytes()
        for command in (["query", "triple(S, P, O)"], ["reason", "--rules", "rdfs"]):
            result = run_cli(main, ["--store", str(store), *command])
            assert result.code == 2, result.err
            assert result.err.count("\n") == 1
            assert "not a database" in result.err
            assert "hint:" in result.err
        assert store.read_bytes() == before

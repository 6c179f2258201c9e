"""The runnable examples run and print what they promise; closures agree with owlrl."""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path

import pytest

from dynamic_semantic_lattice_engine import KnowledgeBase
from dynamic_semantic_lattice_engine.cli import main
from dynamic_semantic_lattice_engine.testing import NORMALISATION, generate_ontology, normalise
from shared_core.testing import run_cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(name: str) -> str:
    """Run an example as ``__main__`` in this process (a subprocess would re-import Polars)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return out.getvalue()


class TestExamples:
    def test_merge_replicas(self) -> None:
        """Both merge orders print value2."""
        assert _run("merge_replicas.py").split() == ["value2", "value2"]

    def test_reason_and_explain(self) -> None:
        """The closure lists the superclasses and the explanation shows the rule."""
        out = _run("reason_and_explain.py")
        assert "<http://example.org/Animal>" in out
        assert "[by triple(" in out
        assert "[given]" in out

    def test_shortest_paths_program(self, tmp_path: Path) -> None:
        """The lattice program computes shortest distances through the CLI."""
        result = run_cli(
            main,
            ["reason", "--rules", str(EXAMPLES / "shortest_paths.dl"), "--output", str(tmp_path)],
        )
        assert result.code == 0, result.err
        rows = dict(line.split("\t") for line in (tmp_path / "dist.csv").read_text().splitlines())
        assert rows == {"a": "3.0", "b": "1.0", "c": "4.0", "s": "0.0"}


class TestAgainstOwlrl:
    @pytest.mark.parametrize("rules", ["rdfs", "owl-rl"])
    def test_closure_equals_owlrl_after_normalisation(self, rules: str) -> None:
        """On a generated ontology, the closure equals owlrl's up to the listed differences."""
        owlrl = pytest.importorskip("owlrl")
        graph = generate_ontology(150, seed=11)
        kb = KnowledgeBase()
        kb.add_graph(graph)
        kb.reason(rules)
        peer = type(graph)()
        for triple in graph:
            peer.add(triple)
        semantics = owlrl.RDFS_Semantics if rules == "rdfs" else owlrl.OWLRL_Semantics
        owlrl.DeductiveClosure(semantics, axiomatic_triples=True, datatype_axioms=False).expand(
            peer
        )
        assert normalise(kb.graph(inferred=True)) == normalise(peer)
        assert len(NORMALISATION) >= 4

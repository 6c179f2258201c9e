"""The Datalog engine: Soufflé's example programs, negation, aggregation, lattice recursion, errors."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamic_semantic_lattice_engine import (
    Engine,
    LatticeInputError,
    LatticeParseError,
    LatticeProgramError,
    parse_program,
    parse_query,
)
from shared_core.testing import corpus_path


def _expected(path: Path) -> set[tuple[str, ...]]:
    return {tuple(line.split("\t")) for line in path.read_text().split("\n") if line}


def _run_souffle(name: str) -> tuple[Engine, Path]:
    folder = corpus_path("souffle", name)
    source = folder / f"{name}.dl"
    engine = Engine(parse_program(source.read_text(), source=str(source)))
    if (folder / "facts").is_dir():
        engine.load_inputs(folder / "facts")
    engine.run()
    return engine, folder


class TestSouffleExamples:
    @pytest.mark.corpus
    @pytest.mark.parametrize("name", ["tc", "rsg", "andersen", "pointsto", "lubm"])
    def test_outputs_equal_expected(self, name: str) -> None:
        """Every output relation with an expected CSV equals it exactly."""
        engine, folder = _run_souffle(name)
        checked = 0
        for out in engine.program.outputs:
            expected = folder / f"{out}.csv"
            if not expected.exists():
                continue
            got = {tuple(str(v) for v in row) for row in engine.rows(out)}
            assert got == _expected(expected), out
            checked += 1
        assert checked >= 1

    @pytest.mark.corpus
    def test_lubm_sizes(self) -> None:
        """LUBM(1) yields the 54,487 expected output tuples over its 20 relations."""
        engine, folder = _run_souffle("lubm")
        total = sum(
            len(engine.rows(out))
            for out in engine.program.outputs
            if (folder / f"{out}.csv").exists()
        )
        assert total == sum(len(_expected(p)) for p in folder.glob("*.csv"))


def _engine(text: str) -> Engine:
    engine = Engine(parse_program(text))
    engine.run()
    return engine


class TestSemantics:
    def test_stratified_negation(self) -> None:
        """Unreachable pairs are computed after reachability is complete."""
        engine = _engine(
            """
            .decl e(a:symbol, b:symbol)
            .decl n(a:symbol)
            .decl r(a:symbol, b:symbol)
            .decl u(a:symbol, b:symbol)
            e("a","b"). e("b","c"). n("a"). n("b"). n("c").
            r(X,Y) :- e(X,Y).
            r(X,Z) :- r(X,Y), e(Y,Z).
            u(X,Y) :- n(X), n(Y), !r(X,Y).
            """
        )
        assert ("a", "c") in engine.rows("r")
        assert set(engine.rows("u")) == {
            ("a", "a"),
            ("b", "a"),
            ("b", "b"),
            ("c", "a"),
            ("c", "b"),
            ("c", "c"),
        }

    def test_unstratifiable_is_rejected(self) -> None:
        """Negation through recursion is refused with the relations named."""
        with pytest.raises(LatticeProgramError, match=r"not stratifiable|negation"):
            Engine(
                parse_program('.decl p(a:symbol)\n.decl q(a:symbol)\np(X) :- q(X), !p(X).\nq("a").')
            )

    def test_aggregates(self) -> None:
        """count, sum, min and max group by the variables bound outside."""
        engine = _engine(
            """
            .decl w(a:symbol, n:number)
            .decl c(a:symbol, n:number)
            .decl s(a:symbol, n:number)
            .decl lo(n:number)
            .decl k(a:symbol)
            w("x", 3). w("x", 5). w("y", 7).
            k("x"). k("y"). k("z").
            c(A, N) :- k(A), N = count : { w(A, _) }.
            s(A, N) :- k(A), N = sum V : { w(A, V) }.
            lo(N) :- N = min V : { w(_, V) }.
            """
        )
        assert set(engine.rows("c")) == {("x", 2), ("y", 1), ("z", 0)}
        assert set(engine.rows("s")) == {("x", 8), ("y", 7), ("z", 0)}
        assert engine.rows("lo") == [(3,)]

    def test_min_cost_lattice_shortest_paths(self) -> None:
        """Recursion through a min lattice computes shortest distances and terminates on cycles."""
        engine = _engine(
            """
            .decl edge(a:symbol, b:symbol, w:number)
            .decl dist(a:symbol, d:number) lattice min_cost
            edge("s","a",4). edge("s","b",1). edge("b","a",2). edge("a","c",1). edge("c","s",1).
            dist("s", 0).
            dist(Y, D + W) :- dist(X, D), edge(X, Y, W).
            """
        )
        assert dict(engine.rows("dist")) == {"s": 0.0, "b": 1.0, "a": 3.0, "c": 4.0}

    def test_arithmetic_and_comparisons(self) -> None:
        """Arithmetic binds new variables; comparisons filter numbers."""
        engine = _engine(
            """
            .decl n(x:number)
            .decl big(x:number, y:number)
            n(1). n(2). n(3).
            big(X, Y) :- n(X), X >= 2, Y = X * 10 + 1.
            """
        )
        assert set(engine.rows("big")) == {(2, 21), (3, 31)}

    def test_query_with_negation(self) -> None:
        """A conjunctive query returns distinct bindings."""
        engine = _engine('.decl e(a:symbol,b:symbol)\ne("a","b"). e("a","c"). e("c","d").')
        answers = engine.query(parse_query('e("a", X), !e(X, "d")'))
        assert answers == [{"X": "b"}]

    def test_explain_transitive_fact(self) -> None:
        """The derivation of a transitive fact bottoms out in the given edges."""
        engine = _engine(
            '.decl e(a:symbol,b:symbol)\n.decl t(a:symbol,b:symbol)\ne("a","b"). e("b","c"). e("c","d").\n'
            "t(X,Y) :- e(X,Y).\nt(X,Z) :- t(X,Y), e(Y,Z)."
        )
        from dynamic_semantic_lattice_engine import parse_atom

        tree = engine.explain(parse_atom('t("a","d")'))
        leaves: list[str] = []

        def walk(node: object) -> None:
            children = node.children
            if not children:
                leaves.append(node.fact)
            for child in children:
                walk(child)

        walk(tree)
        assert sorted(leaves) == ['e("a", "b")', 'e("b", "c")', 'e("c", "d")']
        with pytest.raises(LatticeInputError):
            engine.explain(parse_atom('t("d","a")'))


LINEAR_FORMS = {
    "left": "t(X, Y) :- e(X, Y).\nt(X, Z) :- t(X, Y), e(Y, Z).",
    "right": "t(X, Y) :- e(X, Y).\nt(X, Z) :- e(X, Y), t(Y, Z).",
    "seeded": "t(X, Y) :- s(X, Y).\nt(X, Z) :- t(X, Y), e(Y, Z).",
    "swapped": "t(X, Y) :- e(X, Y).\nt(Z, X) :- t(X, Y), e(Y, Z).",  # not linear-shaped
    "nonlinear": "t(X, Y) :- e(X, Y).\nt(X, Z) :- t(X, Y), t(Y, Z).",
}


def _closure_rows(
    form: str, edges: list[tuple[int, int]], seeds: list[tuple[int, int]], dense: bool
) -> set[tuple[int, ...]]:
    from dynamic_semantic_lattice_engine import _linear

    text = (
        ".decl e(a:number, b:number)\n.decl s(a:number, b:number)\n"
        ".decl t(a:number, b:number)\n" + LINEAR_FORMS[form]
    )
    saved = _linear.MAX_CELLS
    _linear.MAX_CELLS = saved if dense else 0
    try:
        engine = Engine(parse_program(text))
        engine.add_facts("e", edges)
        engine.add_facts("s", seeds)
        engine.add_facts("t", seeds[:2])
        engine.run()
    finally:
        _linear.MAX_CELLS = saved
    return set(engine.relation("t").frame.iter_rows())


class TestLinearClosure:
    """The dense path for linear recursion gives the general loop's rows and rounds exactly."""

    @settings(max_examples=60, deadline=None)
    @given(
        st.sampled_from(sorted(LINEAR_FORMS)),
        st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), max_size=40),
        st.lists(st.tuples(st.integers(0, 15), st.integers(0, 15)), max_size=5),
    )
    def test_same_rows_and_rounds_as_the_general_loop(
        self, form: str, edges: list[tuple[int, int]], seeds: list[tuple[int, int]]
    ) -> None:
        dense = _closure_rows(form, edges, seeds, dense=True)
        general = _closure_rows(form, edges, seeds, dense=False)
        assert dense == general

    def test_chain_pairs_and_rounds(self) -> None:
        """A 200-edge chain: every i < j pair, pair (i, j) first derived j - i - 1 rounds in."""
        rows = _closure_rows("left", [(i, i + 1) for i in range(200)], [], dense=True)
        assert len(rows) == 200 * 201 // 2
        first = min(r for _, _, r in rows)
        assert all(r - first == b - a - 1 for a, b, r in rows)

    def test_applies_only_to_the_linear_shape(self) -> None:
        from dynamic_semantic_lattice_engine._linear import linear_closure

        for form, expected in [("left", True), ("right", True), ("swapped", False)]:
            engine = Engine(
                parse_program(
                    ".decl e(a:number, b:number)\n.decl s(a:number, b:number)\n"
                    ".decl t(a:number, b:number)\n" + LINEAR_FORMS[form]
                )
            )
            engine.add_facts("e", [(1, 2), (2, 3)])
            engine.add_facts("t", [(1, 2)])
            rules = [r for r in engine.program.rules if r.head.pred == "t"]
            found = linear_closure(rules, {"t"}, engine.relations)
            assert (found is not None) is expected, form


class TestErrors:
    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            (".decl p(a:symbol)\np(X) :- .", "expected"),
            ('.decl p(a:symbol)\np("a"', "expected"),
            ("p(X).", "non-constant"),
            (".bogus p", "unsupported directive"),
        ],
    )
    def test_parse_errors_name_position(self, text: str, fragment: str) -> None:
        """Syntax errors are LatticeParseError with a line and column."""
        with pytest.raises(LatticeParseError, match=fragment) as info:
            parse_program(text)
        assert info.value.exit_code == 2

    def test_unsafe_head_variable(self) -> None:
        """A head variable missing from the body is rejected before running."""
        with pytest.raises(LatticeProgramError, match="not bound"):
            Engine(parse_program(".decl p(a:symbol)\n.decl q(a:symbol)\np(Y) :- q(X)."))

    @settings(max_examples=300, deadline=None)
    @given(st.text())
    def test_arbitrary_text_raises_only_parse_errors(self, text: str) -> None:
        """Any text either parses or raises LatticeParseError, never another exception."""
        with contextlib.suppress(LatticeParseError):
            parse_program(text, allow_include=False)

    @settings(max_examples=200, deadline=None)
    @given(st.text(alphabet='abcXY_(),.:-!"=<>0123456789 \n{}', max_size=60))
    def test_datalogish_text_raises_only_parse_errors(self, text: str) -> None:
        """Near-miss Datalog either parses or raises LatticeParseError."""
        with contextlib.suppress(LatticeParseError):
            parse_program(text, allow_include=False)

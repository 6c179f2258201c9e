"""Incremental maintenance equals recomputation: random programs, random changes.

Programs are generated stratifiable by construction (IDB predicates in a
fixed order; a rule for ``p_k`` reads ``p_0..p_(k-1)`` positively, and
``p_k`` itself too for the recursive ``p0`` and ``p2``, and only
``p_0..p_(k-1)`` under negation), with constants,
repeated variables, wildcards and inequalities.  After every batch of base
inserts and deletes (into EDB and IDB predicates alike) each relation must
equal what a from-scratch evaluation of the same base facts gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynamic_semantic_lattice_engine import Engine, parse_program
from dynamic_semantic_lattice_engine import _maintenance as maintenance
from dynamic_semantic_lattice_engine._index import TupleIndex

EDB = {"e0": 2, "e1": 2, "e2": 1}
IDB = {"p0": 2, "p1": 1, "p2": 2, "p3": 2}
ORDER = list(IDB)
RECURSIVE = {"p0", "p2"}  # p1 and p3 are non-recursive: their strata are maintained by counting
SYMBOLS = ["a", "b", "c", "d"]
VARS = ["X", "Y", "Z", "W"]


@st.composite
def atoms(draw: st.DrawFn, preds: list[str], *, wild: bool = True) -> tuple[str, list[str]]:
    pred = draw(st.sampled_from(preds))
    arity = EDB.get(pred, IDB.get(pred, 1))
    args = []
    for _ in range(arity):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            args.append(f'"{draw(st.sampled_from(SYMBOLS))}"')
        elif kind == 1 and wild:
            args.append("_")
        else:
            args.append(draw(st.sampled_from(VARS)))
    return pred, args


@st.composite
def rules(draw: st.DrawFn) -> str:
    out: list[str] = []
    for k, head in enumerate(ORDER):
        for _ in range(draw(st.integers(1, 3))):
            readable = [*EDB, *ORDER[: k + 1]] if head in RECURSIVE else [*EDB, *ORDER[:k]]
            positives = draw(st.lists(atoms(readable), min_size=1, max_size=3))
            bound = sorted({a for _, args in positives for a in args if a in VARS})
            if not bound:
                continue
            body = [f"{p}({', '.join(args)})" for p, args in positives]
            if k > 0 and draw(st.booleans()):
                pred, args = draw(atoms([*EDB, *ORDER[:k]]))
                args = [
                    a if a not in VARS or a in bound else draw(st.sampled_from(bound)) for a in args
                ]
                body.append(f"!{pred}({', '.join(args)})")
            if len(bound) > 1 and draw(st.integers(0, 3)) == 0:
                body.append(f"{bound[0]} != {bound[1]}")
            head_args = [draw(st.sampled_from(bound)) for _ in range(IDB[head])]
            out.append(f"{head}({', '.join(head_args)}) :- {', '.join(body)}.")
    return "\n".join(out)


def fact(pred: str) -> st.SearchStrategy[tuple[str, tuple[str, ...]]]:
    arity = EDB.get(pred, IDB.get(pred, 1))
    return st.tuples(st.just(pred), st.tuples(*[st.sampled_from(SYMBOLS)] * arity))


facts = st.sampled_from([*EDB, "p0", "p2"]).flatmap(fact)
batches = st.lists(
    st.tuples(st.booleans(), st.lists(facts, min_size=1, max_size=4)), min_size=1, max_size=8
)


def declarations() -> str:
    lines = []
    for pred, arity in {**EDB, **IDB}.items():
        cols = ", ".join(f"c{i}:symbol" for i in range(arity))
        lines.append(f".decl {pred}({cols})")
    return "\n".join(lines)


def snapshot(engine: Engine) -> dict[str, set[tuple[object, ...]]]:
    return {name: set(engine.rows(name)) for name in engine.relations}


def fresh(program: str, base: set[tuple[str, tuple[str, ...]]]) -> Engine:
    engine = Engine(parse_program(program))
    for pred, row in base:
        engine.add_facts(pred, [row])
    engine.run()
    return engine


@contextmanager
def small_change(limit: int) -> Iterator[None]:
    saved = maintenance.SMALL_CHANGE
    maintenance.SMALL_CHANGE = limit
    try:
        yield
    finally:
        maintenance.SMALL_CHANGE = saved


def check_sequence(
    program: str,
    initial: list[tuple[str, tuple[str, ...]]],
    ops: list[tuple[bool, list[tuple[str, tuple[str, ...]]]]],
) -> None:
    base = set(initial)
    engine = fresh(program, base)
    for add, batch in ops:
        by_pred: dict[str, list[tuple[str, ...]]] = {}
        for pred, row in batch:
            by_pred.setdefault(pred, []).append(row)
        for pred, rows in by_pred.items():
            frame = engine.encode_rows(pred, rows)
            if add:
                new = [r for r in rows if (pred, r) not in base]
                base.update((pred, r) for r in rows)
                if new:
                    maintenance.insert(engine, pred, engine.encode_rows(pred, new))
            else:
                gone = [r for r in rows if (pred, r) in base]
                base.difference_update((pred, r) for r in rows)
                if gone:
                    maintenance.retract(engine, pred, frame)
        assert snapshot(engine) == snapshot(fresh(program, base)), (program, add, batch)


class TestRandomPrograms:
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(rules(), st.lists(facts, max_size=12), batches)
    def test_tuple_path_equals_recompute(
        self,
        text: str,
        initial: list[tuple[str, tuple[str, ...]]],
        ops: list[tuple[bool, list[tuple[str, tuple[str, ...]]]]],
    ) -> None:
        """Counting and DRed, tuple at a time, agree with evaluation from scratch."""
        check_sequence(declarations() + "\n" + text, initial, ops)

    @settings(
        max_examples=10,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(rules(), st.lists(facts, max_size=12), batches)
    def test_columnar_path_equals_recompute(
        self,
        text: str,
        initial: list[tuple[str, tuple[str, ...]]],
        ops: list[tuple[bool, list[tuple[str, tuple[str, ...]]]]],
    ) -> None:
        """The columnar path for large changes agrees too."""
        with small_change(0):
            check_sequence(declarations() + "\n" + text, initial, ops)


SHORTEST = """
.decl edge(a:symbol, b:symbol, w:number)
.decl dist(a:symbol, d:number) lattice min_cost
.decl reach(a:symbol)
.decl degree(a:symbol, n:number)
.decl lonely(a:symbol)
dist("a", 0).
dist(Y, D + W) :- dist(X, D), edge(X, Y, W).
reach(X) :- dist(X, _).
degree(X, N) :- reach(X), N = count : { edge(X, _, _) }.
lonely(X) :- reach(X), !edge(X, _, _).
"""

edges = st.tuples(
    st.just("edge"),
    st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(SYMBOLS), st.integers(1, 4)),
)


class TestMixedStrata:
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.lists(edges, max_size=8),
        st.lists(st.tuples(st.booleans(), st.lists(edges, min_size=1, max_size=2)), max_size=6),
    )
    def test_lattice_and_aggregate_strata(
        self,
        initial: list[tuple[str, tuple[object, ...]]],
        ops: list[tuple[bool, list[tuple[str, tuple[object, ...]]]]],
    ) -> None:
        """Lattice and aggregate strata are recomputed and diffed; the strata above stay exact."""
        check_sequence(SHORTEST, initial, ops)  # type: ignore[arg-type]


class TestTupleIndex:
    @settings(max_examples=80, deadline=None)
    @given(
        st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=20),
        st.lists(
            st.tuples(st.booleans(), st.tuples(st.integers(0, 4), st.integers(0, 4))), max_size=30
        ),
        st.booleans(),
    )
    def test_lookups_follow_changes(
        self,
        initial: list[tuple[int, int]],
        ops: list[tuple[bool, tuple[int, int]]],
        with_snapshot: bool,
    ) -> None:
        """Every binding pattern's lookup equals a scan, before and after adds and discards."""
        import numpy as np

        rows = sorted(set(initial))
        columns = (
            [np.array([r[i] for r in rows], dtype=np.int64) for i in range(2)]
            if with_snapshot
            else None
        )
        index = TupleIndex(rows, (), columns)
        truth = set(rows)
        for add, row in ops:
            if add:
                assert index.add(row) == (row not in truth)
                truth.add(row)
            else:
                assert index.discard(row) == (row in truth)
                truth.discard(row)
            for positions in ((0,), (1,), (0, 1)):
                for a in range(-1, 6):
                    for b in range(-1, 6):
                        key = a if len(positions) == 1 else (a, b)
                        want = sorted(
                            r
                            for r in truth
                            if tuple(r[p] for p in positions)
                            == ((a,) if len(positions) == 1 else (a, b))
                        )
                        assert sorted(index.lookup(positions, key)) == want


def test_explanations_after_maintenance() -> None:
    """Rounds stay well-founded: a fact re-derived after a deletion still explains."""
    program = declarations() + "\np2(X, Y) :- e0(X, Y).\np2(X, Z) :- p2(X, Y), e0(Y, Z).\n"
    engine = fresh(program, {("e0", ("a", "b")), ("e0", ("b", "c")), ("e0", ("a", "c"))})
    maintenance.retract(engine, "e0", engine.encode_rows("e0", [("a", "c")]))
    assert ("a", "c") in set(engine.rows("p2"))
    tree = engine.explain(parse_program('p2("a", "c").').facts[0])
    assert tree.rule is not None
    assert [c.fact for c in tree.children] == ['p2("a", "b")', 'e0("b", "c")']


@pytest.mark.parametrize("limit", [0, 5000])
def test_counting_self_join_in_one_batch(limit: int) -> None:
    """Both body atoms of one derivation change in the same batch: counted once, removed once."""
    program = declarations() + "\np1(X) :- e0(X, Y), e0(Y, Z), e2(Z).\n"
    with small_change(limit):
        check_sequence(
            program,
            [("e2", ("c",)), ("e0", ("a", "a"))],
            [
                (True, [("e0", ("x", "y"))]),  # the first change computes the counts
                (True, [("e0", ("a", "b")), ("e0", ("b", "c"))]),
                (True, [("e0", ("d", "b"))]),
                (False, [("e0", ("a", "b")), ("e0", ("b", "c"))]),
                (True, [("e0", ("b", "c")), ("e0", ("c", "c"))]),
                (False, [("e2", ("c",)), ("e0", ("c", "c"))]),
            ],
        )


@pytest.mark.parametrize("limit", [0, 5000])
def test_base_fact_that_is_also_derived(limit: int) -> None:
    """Deleting a base fact that the rules also derive keeps it (as derived)."""
    program = declarations() + "\np0(X, Y) :- e0(X, Y).\n"
    with small_change(limit):
        engine = fresh(program, {("e0", ("a", "b")), ("p0", ("a", "b"))})
        maintenance.retract(engine, "p0", engine.encode_rows("p0", [("a", "b")]))
        assert set(engine.rows("p0")) == {("a", "b")}
        maintenance.retract(engine, "e0", engine.encode_rows("e0", [("a", "b")]))
        assert set(engine.rows("p0")) == set()


def test_remembered_proof_is_dropped_with_its_facts() -> None:
    """A proof remembered in one batch does not keep its row once its base facts go.

    Deleting ``x a A`` makes DRed prove ``A a rdfs:Class`` from
    ``A rdfs:subClassOf B`` and the axiom ``rdfs:subClassOf rdfs:domain
    rdfs:Class``, and remember that proof; a later batch deleting the
    subclass triple must not trust it.
    """
    from dynamic_semantic_lattice_engine import KnowledgeBase

    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    rdfs = "http://www.w3.org/2000/01/rdf-schema#"
    typed = ("<http://ex/x>", f"<{rdf}type>", "<http://ex/A>")
    sub = ("<http://ex/A>", f"<{rdfs}subClassOf>", "<http://ex/B>")
    kb = KnowledgeBase()
    kb.load_rdf(
        data=f"<http://ex/A> <{rdfs}subClassOf> <http://ex/B> .\n"
        f"<http://ex/x> <{rdf}type> <http://ex/A> .\n",
        format="nt",
    )
    kb.reason("rdfs")
    a_class = ("<http://ex/A>", f"<{rdf}type>", f"<{rdfs}Class>")
    assert a_class in set(kb.inferred())
    kb.remove_many("triple", [typed])
    assert a_class in set(kb.inferred())  # still derived from the subclass triple
    kb.add_many("triple", [typed])
    kb.remove_many("triple", [sub, typed])
    maintained = set(kb.inferred())
    fresh = kb.copy()
    fresh.reason("rdfs")
    assert maintained == set(fresh.inferred())
    assert a_class not in maintained

"""Lattices, the knowledge base, CRDT merge, RDF round trips, reasoning and maintenance."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dynamic_semantic_lattice_engine as dsle
from dynamic_semantic_lattice_engine import (
    FiniteLattice,
    KnowledgeBase,
    LatticeDeltaError,
    LatticeLawError,
    LatticeRdfError,
    UserLattice,
    builtin_lattice,
    check_lattice_laws,
)

EX = "http://example.org/"
TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
TTL = f"""@prefix ex: <{EX}> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:A rdfs:subClassOf ex:B . ex:B rdfs:subClassOf ex:C . ex:x a ex:A .
ex:p rdfs:domain ex:D . ex:y ex:p "v"@EN .
"""


class TestPublicApi:
    def test_all_is_complete_and_importable(self) -> None:
        """Every name in __all__ exists and every public class is exported."""
        for name in dsle.__all__:
            assert hasattr(dsle, name), name
        assert {"KnowledgeBase", "Engine", "ConceptLattice", "LastWriterWins"} <= set(dsle.__all__)


class TestLattices:
    @pytest.mark.parametrize(
        "name", ["max", "max_confidence", "min_cost", "interval", "provenance", "lww"]
    )
    def test_builtins_obey_the_laws(self, name: str) -> None:
        """Built-in lattices pass the hypothesis law checks."""
        check_lattice_laws(builtin_lattice(name), max_examples=60)

    def test_security_labels(self) -> None:
        """A diamond of labels joins to its least upper bound."""
        labels = FiniteLattice(
            "labels", [("public", "hr"), ("public", "eng"), ("hr", "secret"), ("eng", "secret")]
        )
        check_lattice_laws(labels, max_examples=50)
        assert labels.join("hr", "eng") == "secret"
        assert labels.bottom() == "public"

    def test_non_lattice_order_is_refused(self) -> None:
        """Two incomparable upper bounds without a join are reported."""
        with pytest.raises(LatticeLawError, match="least upper bound"):
            FiniteLattice(
                "bad", [("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("z", "a"), ("z", "b")]
            )

    def test_user_lattice_breaking_a_law_is_refused(self) -> None:
        """Subtraction is not commutative: hypothesis finds it before the engine trusts it."""
        with pytest.raises(LatticeLawError, match="law"):
            UserLattice("minus", bottom=0, join=lambda a, b: a - b, values=st.integers(-5, 5))

    def test_user_lattice_that_is_lawful(self) -> None:
        """gcd-free example: bitwise or over small ints is a lattice and is accepted."""
        lat = UserLattice("bits", bottom=0, join=lambda a, b: a | b, values=st.integers(0, 255))
        kb = KnowledgeBase()
        kb.register_lattice(lat)
        kb.declare("perm", ["user"], lattice="bits")
        kb.add("perm", "alice", value=1)
        kb.add("perm", "alice", value=4)
        assert kb.value("perm", "alice") == 5


class TestMerge:
    def test_architecture_example_both_orders(self) -> None:
        """insert value1 then value2 on two replicas: the merge gives value2 either way."""
        lattice1 = dsle.SemanticLattice(replica="r1")
        lattice2 = dsle.SemanticLattice(replica="r2")
        lattice1.insert("key", "value1")
        lattice2.insert("key", "value2")
        assert lattice1.merge(lattice2).get("key") == "value2"
        assert lattice2.merge(lattice1).get("key") == "value2"
        assert lattice1.get("key") == "value1"  # merge is pure

    @settings(max_examples=40, deadline=None)
    @given(
        st.lists(
            st.tuples(st.integers(0, 2), st.sampled_from(["a", "b", "c"]), st.floats(0, 1)),
            max_size=12,
        )
    )
    def test_merge_is_a_semilattice(self, ops: list[tuple[int, str, float]]) -> None:
        """Merge is commutative, associative and idempotent over confidence facts and triples."""
        kbs = [KnowledgeBase(replica=f"r{i}") for i in range(3)]
        for kb in kbs:
            kb.declare("trust", ["who"], lattice="max_confidence")
        for target, who, conf in ops:
            kbs[target].add("trust", who, value=conf)
            kbs[target].add("triple", f"<{EX}{who}>", TYPE, f"<{EX}T{target}>")
        a, b, c = kbs
        assert a.merge(b).snapshot() == b.merge(a).snapshot()
        assert a.merge(b).merge(c).snapshot() == a.merge(b.merge(c)).snapshot()
        assert a.merge(a).snapshot() == a.snapshot()

    def test_delta_round_trip_and_errors(self) -> None:
        """A delta carries facts and values; malformed deltas are refused."""
        src = KnowledgeBase(replica="r1")
        src.declare("seen", ["who"], lattice="provenance")
        src.add("seen", "bob", value=["feed1"])
        dst = KnowledgeBase(replica="r2")
        dst.add("seen", "bob", value=["feed2"]) if "seen" in dst.relations else None
        dst.import_delta(src.export_delta())
        assert dst.value("seen", "bob") == frozenset({"feed1"})
        with pytest.raises(LatticeDeltaError):
            dst.import_delta({"format": "other"})


class TestRdf:
    @pytest.mark.parametrize("fmt", ["turtle", "nt", "xml", "json-ld"])
    def test_round_trip_formats(self, fmt: str) -> None:
        """Triples survive serialising and parsing in every supported format."""
        kb = KnowledgeBase()
        assert kb.load_rdf(data=TTL, format="turtle") == 5
        again = KnowledgeBase()
        again.load_rdf(data=kb.serialize(fmt), format=fmt)
        assert again.snapshot()["triple"] == kb.snapshot()["triple"]

    def test_bad_rdf_is_an_input_error(self) -> None:
        """Malformed Turtle raises LatticeRdfError with exit code 2."""
        with pytest.raises(LatticeRdfError) as info:
            KnowledgeBase().load_rdf(data="ex:a ex:b", format="turtle")
        assert info.value.exit_code == 2

    @settings(max_examples=60, deadline=None)
    @given(st.text(max_size=80))
    def test_arbitrary_text_only_raises_rdf_errors(self, text: str) -> None:
        """Any text either loads or raises LatticeRdfError."""
        with contextlib.suppress(LatticeRdfError):
            KnowledgeBase().load_rdf(data=text, format="turtle")

    def test_rdfs_closure_and_explanation(self) -> None:
        """Subclass chains, domains and literal typing are inferred; the chain is explained."""
        kb = KnowledgeBase()
        kb.load_rdf(data=TTL, format="turtle")
        kb.reason("rdfs")
        types = {row["C"] for row in kb.query(f'triple("<{EX}x>", "{TYPE}", C)')}
        assert {f"<{EX}A>", f"<{EX}B>", f"<{EX}C>"} <= types
        assert {row["C"] for row in kb.query(f'triple("<{EX}y>", "{TYPE}", C)')} >= {f"<{EX}D>"}
        tree = kb.explain(f'triple("<{EX}x>", "{TYPE}", "<{EX}C>")')
        assert tree.rule is not None
        assert len(tree.children) == 2
        # generalised triples (literal subjects) stay inside: the RDF output is still RDF
        assert '"v"@en' in kb.serialize("nt", inferred=True)

    def test_owl_rl_inconsistency(self) -> None:
        """Disjoint classes sharing an instance is reported as a clash."""
        kb = KnowledgeBase()
        kb.load_rdf(
            data=f"""@prefix ex: <{EX}> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
            ex:A owl:disjointWith ex:B . ex:i a ex:A , ex:B .""",
            format="turtle",
        )
        kb.reason("owl-rl")
        assert ("cax-dw", f"<{EX}i>") in kb.inconsistencies()


class TestMaintenance:
    @settings(max_examples=25, deadline=None)
    @given(
        st.lists(
            st.tuples(st.booleans(), st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=15
        )
    )
    def test_incremental_equals_recompute(self, ops: list[tuple[bool, int, int]]) -> None:
        """After any inserts and deletes, the maintained closure equals a fresh one."""
        sub = "<http://www.w3.org/2000/01/rdf-schema#subClassOf>"
        kb = KnowledgeBase()
        kb.add("triple", f"<{EX}i>", TYPE, f"<{EX}c0>")
        kb.reason("rdfs", axioms=False)
        for add, a, b in ops:
            if add:
                kb.add("triple", f"<{EX}c{a}>", sub, f"<{EX}c{b}>")
            else:
                kb.remove("triple", f"<{EX}c{a}>", sub, f"<{EX}c{b}>")
        maintained = set(kb.inferred())
        fresh = kb.copy()
        fresh.reason("rdfs", axioms=False)
        assert maintained == set(fresh.inferred())

    def test_owl_rl_batches_equal_recompute(self) -> None:
        """OWL 2 RL closure maintained over insert and delete batches equals a fresh one."""
        import random

        from dynamic_semantic_lattice_engine._rdf import encode_term
        from dynamic_semantic_lattice_engine.testing import generate_ontology

        rng = random.Random(7)
        graph = generate_ontology(200)
        kb = KnowledgeBase()
        kb.add_graph(graph)
        kb.reason("owl-rl")
        instance = sorted(tuple(encode_term(t) for t in triple) for triple in graph)
        instance = [t for t in instance if "bench#i" in t[0]]
        for _ in range(3):
            chosen = rng.sample(instance, 4)
            kb.remove_many("triple", chosen)
            fresh = kb.copy()
            fresh.reason("owl-rl")
            assert set(kb.inferred()) == set(fresh.inferred())
            kb.add_many("triple", chosen[:2])
            fresh = kb.copy()
            fresh.reason("owl-rl")
            assert set(kb.inferred()) == set(fresh.inferred())

    def test_reasoning_twice_gives_the_same_closure(self) -> None:
        """Literals in the rules themselves are typed on the first run too."""
        from dynamic_semantic_lattice_engine.testing import generate_ontology

        kb = KnowledgeBase()
        kb.add_graph(generate_ontology(100))
        kb.reason("owl-rl")
        first = set(kb.inferred())
        kb.reason("owl-rl")
        assert set(kb.inferred()) == first


_BATCH_TRIPLES = [
    (f"<{EX}c{a}>", "<http://www.w3.org/2000/01/rdf-schema#subClassOf>", f"<{EX}c{b}>")
    for a in range(4)
    for b in range(4)
    if a != b
] + [
    (f"<{EX}x{a}>", "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>", f"<{EX}c{a}>")
    for a in range(4)
]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.lists(st.sampled_from(_BATCH_TRIPLES), max_size=6),
            st.booleans(),
        ),
        max_size=6,
    )
)
def test_tuple_batches_match_frame_batches(
    ops: list[tuple[bool, list[tuple[str, str, str]], bool]],
) -> None:
    """Small batches go tuple at a time; forced down the frame path they must agree.

    Batches repeat rows, name rows already present or absent, and (when the
    last flag is set) a triple with a term the knowledge base never saw; the
    counts returned and the maintained closures must match, and equal a
    recompute.
    """
    from dynamic_semantic_lattice_engine import _knowledge

    unknown = (f"<{EX}never-seen>", f"<{EX}p>", f"<{EX}c0>")
    direct, framed = KnowledgeBase(), KnowledgeBase()
    for kb in (direct, framed):
        kb.add_many("triple", _BATCH_TRIPLES[:3])
        kb.reason("rdfs", axioms=False)
    for add, rows, strange in ops:
        batch = [*rows, unknown] if strange and not add else rows
        before = set(direct.facts("triple"))
        expected = len(set(rows) - before) if add else len(set(rows) & before)
        counts = []
        for kb, limit in ((direct, _knowledge.SMALL_BATCH), (framed, 0)):
            saved = _knowledge.SMALL_BATCH
            _knowledge.SMALL_BATCH = limit
            try:
                counts.append(
                    kb.add_many("triple", batch) if add else kb.remove_many("triple", batch)
                )
            finally:
                _knowledge.SMALL_BATCH = saved
        assert counts == [expected, expected]
        assert set(direct.facts("triple")) == set(framed.facts("triple"))
        assert set(direct.inferred()) == set(framed.inferred())
    fresh = direct.copy()
    fresh.reason("rdfs", axioms=False)
    assert set(direct.inferred()) == set(fresh.inferred())

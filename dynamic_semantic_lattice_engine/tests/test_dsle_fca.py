"""Formal Concept Analysis against brute force, and the stem base's defining properties."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamic_semantic_lattice_engine import ConceptLattice, FormalContext, LatticeContextError


def _brute_force(ctx: FormalContext) -> set[int]:
    n = len(ctx.attributes)
    return {ctx.closure(mask) for mask in range(1 << n)}


contexts = st.integers(1, 6).flatmap(
    lambda n_attr: st.lists(st.sets(st.integers(0, n_attr - 1)), min_size=1, max_size=7).map(
        lambda rows: FormalContext(
            [f"o{i}" for i in range(len(rows))], [f"a{j}" for j in range(n_attr)], rows
        )
    )
)


class TestConcepts:
    @settings(max_examples=80, deadline=None)
    @given(contexts)
    def test_intents_equal_brute_force(self, ctx: FormalContext) -> None:
        """NextClosure finds exactly the closed attribute sets, each once."""
        lattice = ConceptLattice(ctx)
        intents = [sum(1 << ctx.attributes.index(a) for a in c.intent) for c in lattice.concepts]
        assert len(intents) == len(set(intents))
        assert set(intents) == _brute_force(ctx)

    @settings(max_examples=60, deadline=None)
    @given(contexts)
    def test_stem_base_is_sound_and_complete(self, ctx: FormalContext) -> None:
        """The implications hold in the context, and their closure gives exactly the intents."""
        lattice = ConceptLattice(ctx)
        names = ctx.attributes
        base = [
            (sum(1 << names.index(a) for a in p), sum(1 << names.index(a) for a in c))
            for p, c in lattice.stem_base()
        ]
        for premise, conclusion in base:
            assert ctx.closure(premise) & conclusion == conclusion
        n = len(names)
        for mask in range(1 << n):
            closed = mask
            changed = True
            while changed:
                changed = False
                for premise, conclusion in base:
                    if premise & closed == premise and conclusion & ~closed:
                        closed |= conclusion
                        changed = True
            assert closed == ctx.closure(mask)

    def test_hasse_edges_are_covers(self) -> None:
        """Edges join a concept to the concepts immediately above it."""
        ctx = FormalContext(["x", "y", "z"], ["a", "b", "c"], [[0, 1], [1, 2], [0, 2]])
        lattice = ConceptLattice(ctx)
        assert len(lattice) == 8  # the boolean lattice of 3 atoms
        assert len(lattice.edges()) == 12
        for a, b in lattice.edges():
            assert set(lattice.concepts[a].extent) < set(lattice.concepts[b].extent)


class TestContextParsing:
    @settings(max_examples=150, deadline=None)
    @given(st.text(max_size=60))
    def test_arbitrary_text_raises_only_context_errors(self, text: str) -> None:
        """Any CSV text parses or raises LatticeContextError."""
        with contextlib.suppress(LatticeContextError):
            FormalContext.from_csv(text)

    @pytest.mark.parametrize("text", ["", ",a,a\nx,1,1\n", ",a\nx,1\nx,0\n", ",a,b\nx,1\n"])
    def test_malformed_contexts(self, text: str) -> None:
        """Empty input, repeated names and ragged rows are reported."""
        with pytest.raises(LatticeContextError):
            FormalContext.from_csv(text)


_ = itertools

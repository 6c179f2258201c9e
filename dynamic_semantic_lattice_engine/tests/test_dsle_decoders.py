"""Every decoder answers arbitrary input with the system's own error: SPARQL, deltas, stores, atoms."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamic_semantic_lattice_engine import (
    KnowledgeBase,
    LatticeDeltaError,
    LatticeError,
    LatticeInputError,
    LatticeParseError,
    LatticeStoreError,
    parse_atom,
    parse_query,
)
from dynamic_semantic_lattice_engine._sparql import parse_sparql
from dynamic_semantic_lattice_engine._store import load_store, save_store

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


class TestSparql:
    def test_select_with_filter(self) -> None:
        """A pattern with a numeric FILTER keeps the matching bindings only."""
        kb = KnowledgeBase()
        kb.load_rdf(
            data="@prefix ex: <http://ex/> . ex:a ex:age 30 . ex:b ex:age 12 .", format="turtle"
        )
        rows = kb.query(
            "PREFIX ex: <http://ex/> SELECT ?x WHERE { ?x ex:age ?n . FILTER(?n >= 18) }"
        )
        assert rows == [{"x": "<http://ex/a>"}]

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=80))
    def test_arbitrary_text(self, text: str) -> None:
        """Any text parses or raises LatticeParseError."""
        with contextlib.suppress(LatticeParseError):
            parse_sparql(text)

    @settings(max_examples=150, deadline=None)
    @given(st.text(alphabet='SELECTWHR?x{}.<>:a"FILT()=&0 ', max_size=60))
    def test_near_miss_sparql(self, text: str) -> None:
        """Near-miss SPARQL parses or raises LatticeParseError."""
        with contextlib.suppress(LatticeParseError):
            parse_sparql(text)


class TestAtomsAndQueries:
    @settings(max_examples=150, deadline=None)
    @given(st.text(max_size=60))
    def test_atoms_and_queries(self, text: str) -> None:
        """Facts to explain and Datalog queries raise LatticeParseError on bad text."""
        with contextlib.suppress(LatticeParseError):
            parse_atom(text)
        with contextlib.suppress(LatticeParseError):
            parse_query(text)


class TestDeltas:
    @settings(max_examples=150, deadline=None)
    @given(json_values)
    def test_arbitrary_json(self, doc: object) -> None:
        """Any JSON value is imported or refused with LatticeDeltaError / LatticeInputError."""
        with contextlib.suppress(LatticeDeltaError, LatticeInputError):
            KnowledgeBase().import_delta(doc)  # type: ignore[arg-type]

    @settings(max_examples=100, deadline=None)
    @given(json_values)
    def test_malformed_relation_bodies(self, body: object) -> None:
        """A well-framed delta with a malformed relation is refused cleanly."""
        doc = {"format": "dsle-delta", "version": 1, "replica": "r", "relations": {"x": body}}
        with contextlib.suppress(LatticeDeltaError, LatticeInputError):
            KnowledgeBase().import_delta(doc)


class TestStore:
    def test_round_trip(self, tmp_path: Path) -> None:
        """Facts, lattice values and the closure survive a save and a load."""
        kb = KnowledgeBase(replica="r1")
        kb.declare("trust", ["who"], lattice="max_confidence")
        kb.add("trust", "alice", value=0.7)
        kb.load_rdf(data="<http://x/a> a <http://x/C> .", format="turtle")
        kb.reason("rdfs")
        save_store(kb, tmp_path / "kb.sqlite")
        back = load_store(tmp_path / "kb.sqlite")
        assert back.snapshot() == kb.snapshot()
        assert back.replica == "r1"
        assert back.rules == "rdfs"
        assert set(back.inferred()) == set(kb.inferred())

    @settings(max_examples=40, deadline=None)
    @given(st.binary(max_size=300))
    def test_arbitrary_bytes(self, data: bytes) -> None:
        """A file that is not a dsle store is refused with LatticeStoreError."""
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "store.sqlite"
            path.write_bytes(data)
            with contextlib.suppress(LatticeStoreError):
                load_store(path)

    def test_unknown_lattice_in_store_is_an_error(self, tmp_path: Path) -> None:
        """A store naming an unregistered lattice is refused, not half-loaded."""
        import sqlite3

        path = tmp_path / "kb.sqlite"
        save_store(KnowledgeBase(), path)
        with sqlite3.connect(path) as conn:
            conn.execute(
                "INSERT INTO relations VALUES (?, ?, ?)", ("x", '[["a", "symbol"]]', "nope")
            )
        with pytest.raises(LatticeError):
            load_store(path)

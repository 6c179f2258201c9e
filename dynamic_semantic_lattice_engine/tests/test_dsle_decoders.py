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
    LatticeRdfError,
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


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://ex/">
  <rdf:Description rdf:about="http://ex/a"><ex:p>&lol9;</ex:p></rdf:Description>
</rdf:RDF>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY secret SYSTEM "file://{path}"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://ex/">
  <rdf:Description rdf:about="http://ex/a"><ex:p>&secret;</ex:p></rdf:Description>
</rdf:RDF>
"""

PARAMETER = """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY % remote SYSTEM "file://{path}"> %remote; ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>
"""

FLAT = """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY ex "http://ex/"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://ex/">
  <rdf:Description rdf:about="&ex;a"><ex:p rdf:resource="&ex;b"/></rdf:Description>
</rdf:RDF>
"""


class TestRdfXmlGuard:
    """RDF/XML passes defusedxml first: no entity amplification, no external entities."""

    def test_billion_laughs_is_refused(self) -> None:
        kb = KnowledgeBase()
        with pytest.raises(LatticeRdfError, match="EntitiesForbidden"):
            kb.load_rdf(data=LAUGHS, format="xml")
        assert len(kb.relation("triple")) == 0

    def test_external_entity_is_refused(self, tmp_path: Path) -> None:
        secret = tmp_path / "secret.txt"
        secret.write_text("TOP-SECRET-VALUE")
        doc = tmp_path / "xxe.rdf"
        doc.write_text(XXE.format(path=secret))
        kb = KnowledgeBase()
        with pytest.raises(LatticeRdfError, match="EntitiesForbidden"):
            kb.load_rdf(doc)
        assert not any("TOP-SECRET" in str(t) for t in kb.facts("triple"))

    def test_parameter_entity_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "x.dtd").write_text('<!ENTITY leak "x">')
        with pytest.raises(LatticeRdfError, match="refused"):
            KnowledgeBase().load_rdf(data=PARAMETER.format(path=tmp_path / "x.dtd"), format="xml")

    def test_flat_namespace_entities_still_load(self) -> None:
        """The W3C test documents abbreviate IRIs with flat entities; those keep working."""
        kb = KnowledgeBase()
        assert kb.load_rdf(data=FLAT, format="xml") == 1
        assert kb.facts("triple") == [("<http://ex/a>", "<http://ex/p>", "<http://ex/b>")]

    def test_cli_exits_2_on_an_entity_bomb(self, tmp_path: Path) -> None:
        from dynamic_semantic_lattice_engine.cli import main
        from shared_core.testing import run_cli

        bomb = tmp_path / "bomb.rdf"
        bomb.write_text(LAUGHS)
        result = run_cli(main, ["--store", str(tmp_path / "kb.sqlite"), "load", str(bomb)])
        assert result.code == 2
        assert result.err.count("\n") == 1
        assert "hint:" in result.err

    @settings(max_examples=150, deadline=None)
    @given(st.binary(max_size=200))
    def test_arbitrary_bytes_as_rdfxml(self, data: bytes) -> None:
        """Any bytes load as RDF/XML or raise LatticeRdfError."""
        with contextlib.suppress(LatticeRdfError):
            KnowledgeBase().load_rdf(data=data.decode("utf-8", "replace"), format="xml")

    @settings(max_examples=100, deadline=None)
    @given(st.text(alphabet='<>!&%;"/ =ENTITYDOCrdf:RDFSYSTEMab', max_size=120))
    def test_near_miss_xml(self, text: str) -> None:
        """Near-miss XML with DTD fragments loads or raises LatticeRdfError."""
        with contextlib.suppress(LatticeRdfError):
            KnowledgeBase().load_rdf(data='<?xml version="1.0"?>' + text, format="xml")


class TestPortablePrograms:
    """Portable rule text (the datalog-conformance notation) answers with the system's errors."""

    def test_projected_negation_and_numerals(self) -> None:
        from types import SimpleNamespace

        from dynamic_semantic_lattice_engine._portable import PortableEvaluator

        program = SimpleNamespace(
            facts={"main": [(1, 2), (3, 3)], "s": [(1, 7)]},
            rules=["keep(X, Y) :- main(X, Y), not s(X, P)", 'six(X) :- main(X, "3")'],
        )
        model = PortableEvaluator().evaluate(program)
        assert model["keep"] == {(3, 3)}
        assert model["six"] == {(3,)}

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.text(alphabet='pqXY(),:-_ .!not"a1<=', max_size=30), max_size=3))
    def test_arbitrary_rules(self, rules: list[str]) -> None:
        """Any rule text evaluates or raises a LatticeError."""
        from types import SimpleNamespace

        from dynamic_semantic_lattice_engine._portable import PortableEvaluator

        with contextlib.suppress(LatticeError):
            PortableEvaluator().evaluate(SimpleNamespace(facts={"p": [("a",)]}, rules=rules))

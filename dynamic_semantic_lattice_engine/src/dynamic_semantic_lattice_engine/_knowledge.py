"""The knowledge base: lattice-valued facts over interned terms, mergeable as a CRDT.

A :class:`KnowledgeBase` holds RDF triples (relation ``triple``) and any
number of declared n-ary relations, each optionally carrying a value from a
lattice.  Facts with the same key are one fact whose value is the join of
everything inserted for it, so two replicas that exchange facts in any order
end in the same state: :meth:`KnowledgeBase.merge` is commutative,
associative and idempotent (a state-based CRDT).  Plain relations merge as
grow-only sets; a deletion is local to one replica (use a last-writer-wins
relation for values that must be overwritten across replicas).

Reasoning materialises a closure under a rule set; later insertions and
deletions maintain it incrementally (:mod:`._maintenance`).
"""

from __future__ import annotations

import copy
import functools
import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import rdflib
from rdflib import BNode, Graph, URIRef
from rdflib.util import guess_format

from dynamic_semantic_lattice_engine._engine import Derivation, Engine, EvaluationStats
from dynamic_semantic_lattice_engine._jsonldguard import JSONLD_FORMATS, check_jsonld
from dynamic_semantic_lattice_engine._lattice import (
    DEFAULT_REPLICA,
    LastWriterWins,
    Lattice,
    builtin_lattice,
    builtin_names,
    check_lattice_laws,
)
from dynamic_semantic_lattice_engine._maintenance import insert as _insert
from dynamic_semantic_lattice_engine._maintenance import insert_rows as _insert_rows
from dynamic_semantic_lattice_engine._maintenance import retract as _retract
from dynamic_semantic_lattice_engine._maintenance import retract_rows as _retract_rows
from dynamic_semantic_lattice_engine._parser import parse_atom, parse_program, parse_query
from dynamic_semantic_lattice_engine._program import Atom, Const, Decl, Program, Term, Var
from dynamic_semantic_lattice_engine._rdf import (
    RECOGNISED,
    axiomatic_triples,
    decode_term,
    encode_term,
    literal_facts,
)
from dynamic_semantic_lattice_engine._relation import SMALL_BATCH, Relation
from dynamic_semantic_lattice_engine._rulesets import RULESETS, ruleset
from dynamic_semantic_lattice_engine._sparql import looks_like_sparql, parse_sparql
from dynamic_semantic_lattice_engine._terms import TermDictionary
from dynamic_semantic_lattice_engine._xmlguard import XML_FORMATS, check_xml
from dynamic_semantic_lattice_engine.errors import (
    LatticeDeltaError,
    LatticeInputError,
    LatticeRdfError,
)

__all__ = ["DELTA_VERSION", "KnowledgeBase"]

TRIPLE = "triple"
TYPE_IRI = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
OWL_SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"
_OWL = "http://www.w3.org/2002/07/owl#"
RDF_FIRST = "http://www.w3.org/1999/02/22-rdf-syntax-ns#first"
RDF_REST = "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest"
RDF_NIL = "http://www.w3.org/1999/02/22-rdf-syntax-ns#nil"
_DEFINING = frozenset(
    [
        *(
            _OWL + name
            for name in (
                "onProperty",
                "intersectionOf",
                "unionOf",
                "complementOf",
                "oneOf",
                "someValuesFrom",
                "allValuesFrom",
                "hasValue",
                "maxCardinality",
                "minCardinality",
                "cardinality",
                "onClass",
                "maxQualifiedCardinality",
                "minQualifiedCardinality",
                "qualifiedCardinality",
                "inverseOf",
                "onDatatype",
                "withRestrictions",
                "hasSelf",
                "datatypeComplementOf",
            )
        ),
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#first",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest",
    ]
)
KV = "kv"
DELTA_VERSION = 1
_FORMATS = {
    "turtle",
    "ttl",
    "nt",
    "ntriples",
    "n-triples",
    "xml",
    "application/rdf+xml",
    "json-ld",
    "jsonld",
    "n3",
    "trig",
    "nquads",
}


def read_graph(
    source: str | Path | None = None,
    *,
    data: str | None = None,
    format: str = "turtle",
    allow_remote_contexts: bool = False,
) -> Graph:
    """Parse RDF with literals kept as written (this engine canonicalises them itself).

    RDF/XML passes an entity guard first (:mod:`._xmlguard`), and JSON-LD that
    references a context by IRI is refused unless ``allow_remote_contexts``
    (:mod:`._jsonldguard`): rdflib would fetch it while parsing.

    Raises:
        LatticeRdfError: the document does not parse in that format, or is refused.
    """
    graph = Graph()
    saved = rdflib.NORMALIZE_LITERALS
    guarded_bytes: bytes | None = None
    base: str | None = None
    guarded = format in XML_FORMATS or format in JSONLD_FORMATS
    if guarded:  # untrusted XML and JSON-LD pass their guards before rdflib sees them
        where = "the given text" if data is not None else str(source)
        if data is not None:
            guarded_bytes = data.encode("utf-8")
        else:
            path = Path(str(source))
            try:
                guarded_bytes = path.read_bytes()
            except OSError as exc:
                raise LatticeRdfError(
                    f"cannot read {source}: {exc.strerror}", hint="check the path"
                ) from exc
            base = path.resolve().as_uri()
        if format in XML_FORMATS:
            check_xml(guarded_bytes, where)
        else:
            check_jsonld(guarded_bytes, where, allow_remote_contexts=allow_remote_contexts)
    try:
        rdflib.NORMALIZE_LITERALS = False
        with warnings.catch_warnings():  # rdflib's JSON-LD plugin uses its own deprecated API
            warnings.simplefilter("ignore")
            if guarded_bytes is not None:
                graph.parse(data=guarded_bytes, format=format, publicID=base)
            elif data is not None:
                graph.parse(data=data, format=format)
            else:
                graph.parse(str(source), format=format)
    except Exception as exc:  # rdflib raises many unrelated types for bad input
        where = "the given text" if data is not None else str(source)
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise LatticeRdfError(
            f"cannot parse {where} as {format}: {type(exc).__name__}: {first}",
            hint="check the file and pass --format turtle|nt|xml|json-ld",
        ) from exc
    finally:
        rdflib.NORMALIZE_LITERALS = saved
    return graph


_REFUTABLE = frozenset(
    f"<{_OWL}{name}>" for name in ("differentFrom", "disjointWith", "propertyDisjointWith")
)
_NARY = {
    _OWL + "AllDifferent": _OWL + "differentFrom",
    _OWL + "AllDisjointClasses": _OWL + "disjointWith",
    _OWL + "AllDisjointProperties": _OWL + "propertyDisjointWith",
}


def _expand_nary_axioms(graph: Graph) -> Graph:
    """Replace ``AllDifferent``/``AllDisjoint*`` axioms in a conclusion by their pairwise form.

    An n-ary axiom holds exactly when every pair of its members is related
    (RDF-Based semantics, tables 5.10, 5.12, 5.15); the pairs can then be
    checked one by one.
    """
    rdf_type = URIRef(TYPE_IRI[1:-1])
    axioms = [
        (s, str(o))
        for s, p, o in graph
        if p == rdf_type and str(o) in _NARY and isinstance(s, BNode)
    ]
    if not axioms:
        return graph
    drop: set[Any] = set()
    extra: list[tuple[Any, Any, Any]] = []
    for node, kind in axioms:
        drop.add(node)
        for _, p, head in graph.triples((node, None, None)):
            if str(p) in (_OWL + "members", _OWL + "distinctMembers"):
                cells: list[Any] = []
                cell: Any = head
                while cell is not None and str(cell) != RDF_NIL and cell not in cells:
                    cells.append(cell)
                    cell = graph.value(cell, URIRef(RDF_REST))
                drop.update(cells)
                members = [graph.value(c, URIRef(RDF_FIRST)) for c in cells]
                extra.extend(
                    (a, URIRef(_NARY[kind]), b)
                    for i, a in enumerate(members)
                    for b in members[i + 1 :]
                )
    out = Graph()
    for triple in graph:
        if triple[0] not in drop:
            out.add(triple)
    for triple in extra:
        out.add(triple)
    return out


@functools.cache
def _shipped_program(name: str) -> Program:
    """A shipped rule set, parsed once per process (callers copy the containers)."""
    return parse_program(ruleset(name), source=f"<{name}>", allow_include=False)


class KnowledgeBase:
    """Facts, their lattice values, and (after :meth:`reason`) their closure.

    Args:
        replica: this replica's name, written into last-writer-wins stamps.
    """

    def __init__(self, *, replica: str = DEFAULT_REPLICA) -> None:
        self.replica = replica
        self.terms = TermDictionary()
        self.lattices: dict[str, Lattice[Any]] = {}
        self.relations: dict[str, Relation] = {}
        self.rules: str | None = None
        self.closure: Engine | None = None
        self.stored_closure: dict[str, list[list[Any]]] | None = None
        self.recognised: frozenset[str] = RECOGNISED
        self._defined: dict[str, str] = {}
        self.declare(TRIPLE, ["s", "p", "o"])

    # -- schema ------------------------------------------------------------
    def register_lattice(self, lattice: Lattice[Any], *, trusted: bool = False) -> None:
        """Make a user lattice available to :meth:`declare`, after checking its laws.

        Raises:
            LatticeLawError: the lattice breaks a law (unless ``trusted``).
        """
        if not trusted:
            check_lattice_laws(lattice)
        self.lattices[lattice.name] = lattice

    def lattice(self, name: str) -> Lattice[Any]:
        if name in self.lattices:
            return self.lattices[name]
        return builtin_lattice(name)

    def declare(
        self,
        name: str,
        columns: Sequence[str | tuple[str, str]],
        *,
        lattice: str | None = None,
    ) -> Relation:
        """Declare relation ``name``; with ``lattice`` its facts carry a value (not a column here)."""
        cols = [(c, "symbol") if isinstance(c, str) else c for c in columns]
        if lattice is not None:
            lat = self.lattice(lattice)
            cols.append(("value", "number" if lat.vector_join else "value"))
        existing = self.relations.get(name)
        decl = Decl(name, cols, lattice)
        if existing is not None:
            if existing.decl.columns != decl.columns or existing.decl.lattice != lattice:
                raise LatticeInputError(
                    f"relation {name} is already declared differently",
                    hint=f"it has columns {existing.decl.columns} and lattice {existing.decl.lattice}",
                )
            return existing
        rel = Relation(decl, self.lattice(lattice) if lattice else None)
        self.relations[name] = rel
        return rel

    def relation(self, name: str) -> Relation:
        rel = self.relations.get(name)
        if rel is None:
            raise LatticeInputError(f"relation {name} is not declared", hint="declare it first")
        return rel

    # -- facts -------------------------------------------------------------
    def _encode(self, rel: Relation, args: Sequence[Any], value: Any) -> pl.DataFrame:
        arity = rel.decl.arity - (1 if rel.lattice is not None else 0)
        if len(args) != arity:
            raise LatticeInputError(
                f"{rel.name} takes {arity} arguments, got {len(args)}", hint="check the fact"
            )
        data: dict[str, pl.Series] = {}
        for i, arg in enumerate(args):
            col = rel.columns[i]
            if rel.decl.is_number(i):
                data[col] = pl.Series(col, [arg], dtype=pl.Int64)
            else:
                data[col] = pl.Series(col, [self.terms.intern(str(arg))], dtype=pl.Int64)
        if rel.lattice is not None:
            if value is None:
                raise LatticeInputError(
                    f"{rel.name} carries a {rel.lattice.name} value", hint="pass value=..."
                )
            data["v"] = pl.Series("v", [rel.encode_value(value)], dtype=rel.schema["v"])
        return pl.DataFrame(data)

    def add(self, relation: str, *args: Any, value: Any = None) -> bool:
        """Add a fact (joining its value into the stored one); True if anything grew."""
        rel = self.relation(relation)
        frame = self._encode(rel, args, value)
        return self._add_frame(relation, frame) > 0

    def _add_frame(self, relation: str, frame: pl.DataFrame) -> int:
        grew = self.relation(relation).merge(frame, 0).height
        if grew and self.closure is not None:
            _insert(self.closure, relation, frame)
        return grew

    def remove(self, relation: str, *args: Any) -> bool:
        """Delete a fact on this replica; the closure is maintained by DRed."""
        rel = self.relation(relation)
        keys = {
            c: [self.terms.get(str(a)) if not rel.decl.is_number(i) else a]
            for i, (c, a) in enumerate(zip(rel.key_columns, args, strict=False))
        }
        if len(args) != len(rel.key_columns) or any(v[0] is None for v in keys.values()):
            return False
        frame = pl.DataFrame(keys, schema=dict.fromkeys(keys, pl.Int64))
        gone = rel.remove(frame)
        if gone.height and self.closure is not None:
            _retract(self.closure, relation, frame)
        return gone.height > 0

    def add_many(self, relation: str, rows: Sequence[Sequence[Any]]) -> int:
        """Add many plain facts as one batch (one maintenance pass); returns how many were new."""
        rel = self.relation(relation)
        if rel.lattice is not None:
            raise LatticeInputError(
                f"{relation} carries values", hint="use add(..., value=...) per fact"
            )
        encoded = self._encode_rows(rel, rows, intern=True)
        if not encoded:
            return 0
        if self._tuple_sized(rel, encoded):
            fresh = rel.add_rows(encoded, 0)
            if fresh is not None:
                if fresh and self.closure is not None:
                    _insert_rows(self.closure, relation, encoded)
                return len(fresh)
        return self._add_frame(relation, _frame_of(rel, encoded))

    def remove_many(self, relation: str, rows: Sequence[Sequence[Any]]) -> int:
        """Delete many facts as one batch: one DRed pass for the whole batch."""
        rel = self.relation(relation)
        encoded = self._encode_rows(rel, rows, intern=False)
        if not encoded:
            return 0
        if self._tuple_sized(rel, encoded):
            gone_rows = rel.discard_rows(encoded)
            if gone_rows and self.closure is not None:
                _retract_rows(self.closure, relation, encoded)
            return len(gone_rows)
        frame = _frame_of(rel, encoded)
        gone = rel.remove(frame)
        if gone.height and self.closure is not None:
            _retract(self.closure, relation, frame)
        return gone.height

    @staticmethod
    def _tuple_sized(rel: Relation, encoded: list[tuple[int, ...]]) -> bool:
        """Whether a batch goes tuple at a time: a small one, to a plain relation of term ids.

        Data frames cost a few hundred microseconds per batch of ten facts,
        more than the maintenance of most such batches.
        """
        return (
            rel.lattice is None
            and len(encoded) <= SMALL_BATCH
            and not any(rel.decl.is_number(i) for i in range(len(rel.key_columns)))
        )

    def _encode_rows(
        self, rel: Relation, rows: Sequence[Sequence[Any]], *, intern: bool
    ) -> list[tuple[int, ...]]:
        """The rows as tuples of term ids; rows naming an unknown term are left out unless ``intern``."""
        out: list[tuple[int, ...]] = []
        for row in rows:
            if len(row) != len(rel.key_columns):
                raise LatticeInputError(
                    f"{rel.name} takes {len(rel.key_columns)} arguments, a row has {len(row)}",
                    hint="check the batch",
                )
            encoded = []
            for i, value in enumerate(row):
                if rel.decl.is_number(i):
                    encoded.append(value)
                else:
                    ident = self.terms.intern(str(value)) if intern else self.terms.get(str(value))
                    if ident is None:
                        break
                    encoded.append(ident)
            else:
                out.append(tuple(encoded))
        return out

    def insert(self, key: str, value: Any) -> None:
        """The architecture's register map: set ``key`` to ``value`` (last writer wins)."""
        if KV not in self.relations:
            self.declare(KV, ["key"], lattice="lww")
        lww = self.relation(KV).lattice
        if not isinstance(lww, LastWriterWins):
            raise LatticeInputError(
                f"relation {KV} is not a last-writer-wins map", hint="use another name"
            )
        self.add(KV, key, value=lww.stamp(value, self.replica))

    def get(self, key: str) -> Any:
        """The current value of ``key`` in the register map, or ``None``."""
        if KV not in self.relations:
            return None
        found = self.value(KV, key)
        return None if found is None else found[1]

    def value(self, relation: str, *args: Any) -> Any:
        """The lattice value of a fact, or ``None`` when it is absent."""
        rel = self.relation(relation)
        frame = rel.frame
        for col, arg in zip(rel.key_columns, args, strict=True):
            ident = self.terms.get(str(arg))
            if ident is None:
                return None
            frame = frame.filter(pl.col(col) == ident)
        if frame.height == 0:
            return None
        return rel.decode_value(frame.get_column("v")[0]) if rel.lattice is not None else True

    def facts(self, relation: str) -> list[tuple[Any, ...]]:
        """Every stored (base) fact of ``relation`` as Python values; the value last if any."""
        rel = self.relation(relation)
        out: list[tuple[Any, ...]] = []
        for row in rel.frame.select(rel.columns).iter_rows():
            vals: list[Any] = []
            for i, v in enumerate(row):
                if rel.lattice is not None and i == len(row) - 1:
                    vals.append(rel.decode_value(v))
                elif rel.decl.is_number(i):
                    vals.append(v)
                else:
                    vals.append(self.terms.term(v))
            out.append(tuple(vals))
        return out

    def __len__(self) -> int:
        return sum(len(r) for r in self.relations.values())

    # -- RDF ---------------------------------------------------------------
    def add_graph(self, graph: Graph) -> int:
        """Add every triple of an rdflib graph; returns how many were new."""
        s, p, o = [], [], []
        for ts, tp, to in graph:
            s.append(encode_term(ts))
            p.append(encode_term(tp))
            o.append(encode_term(to))
        frame = pl.DataFrame(
            {
                "c0": self.terms.intern_many(s),
                "c1": self.terms.intern_many(p),
                "c2": self.terms.intern_many(o),
            }
        )
        return self._add_frame(TRIPLE, frame)

    def load_rdf(
        self,
        source: str | Path | None = None,
        *,
        data: str | None = None,
        format: str | None = None,
        allow_remote_contexts: bool = False,
    ) -> int:
        """Parse an RDF document (Turtle, N-Triples, RDF/XML, JSON-LD, ...) and add its triples.

        Args:
            allow_remote_contexts: let a JSON-LD document reference contexts
                by IRI, which rdflib then fetches (network or file); only
                for trusted sources, off by default.

        Raises:
            LatticeRdfError: the document does not parse in that format, or
                it is JSON-LD referencing a context and that is not allowed.
        """
        fmt = format or (guess_format(str(source)) if source is not None else None) or "turtle"
        if fmt == "ttl":
            fmt = "turtle"
        graph = read_graph(
            source, data=data, format=fmt, allow_remote_contexts=allow_remote_contexts
        )
        return self.add_graph(graph)

    def graph(self, *, inferred: bool = False) -> Graph:
        """The triples as an rdflib graph (with the closure when ``inferred``).

        Generalised triples of the closure (a literal as subject, a blank node
        or literal as predicate) are left out: RDF cannot express them.
        """
        rel = (
            self.closure.relation(TRIPLE)
            if inferred and self.closure is not None
            else self.relation(TRIPLE)
        )
        graph = Graph()
        cache: dict[int, Any] = {}
        for s, p, o in rel.frame.select(["c0", "c1", "c2"]).iter_rows():
            st, pt = self.terms.term(s), self.terms.term(p)
            if st.startswith('"') or not pt.startswith("<"):
                continue
            nodes = []
            for ident in (s, p, o):
                if ident not in cache:
                    cache[ident] = decode_term(self.terms.term(ident))
                nodes.append(cache[ident])
            graph.add((nodes[0], nodes[1], nodes[2]))
        return graph

    def serialize(self, format: str = "turtle", *, inferred: bool = False) -> str:
        """The triples as text in an RDF format."""
        try:
            with warnings.catch_warnings():  # rdflib's JSON-LD plugin uses its own deprecated API
                warnings.simplefilter("ignore", DeprecationWarning)
                return self.graph(inferred=inferred).serialize(format=format)
        except Exception as exc:  # rdflib plugin errors for unknown formats
            raise LatticeRdfError(
                f"cannot serialise as {format!r}: {exc}", hint="use turtle, nt, xml or json-ld"
            ) from exc

    # -- merge (CRDT) ------------------------------------------------------
    def copy(self) -> KnowledgeBase:
        """An independent copy (the closure is not copied)."""
        other = KnowledgeBase(replica=self.replica)
        other.terms = copy.deepcopy(self.terms)
        other.lattices = dict(self.lattices)
        other.relations = {}
        for name, rel in self.relations.items():
            clone = Relation(rel.decl, rel.lattice)
            clone.frame = rel.frame.clone()
            clone.values = copy.deepcopy(rel.values)
            other.relations[name] = clone
        other.rules = self.rules
        other.recognised = self.recognised
        other._defined = dict(self._defined)
        return other

    def merge(self, other: KnowledgeBase) -> KnowledgeBase:
        """The join of two knowledge bases, as a new one (neither input changes)."""
        out = self.copy()
        out.update(other)
        return out

    def update(self, other: KnowledgeBase) -> None:
        """Join ``other`` into this knowledge base in place."""
        self.import_delta(other.export_delta())

    def snapshot(self) -> dict[str, frozenset[tuple[Any, ...]]]:
        """A comparable picture of the base facts (values JSON-encoded), for convergence checks."""
        out: dict[str, frozenset[tuple[Any, ...]]] = {}
        for name, rel in self.relations.items():
            rows = self.facts(name)
            if rel.lattice is not None:
                lat = rel.lattice
                rows = [(*r[:-1], json.dumps(lat.encode(r[-1]), sort_keys=True)) for r in rows]
            out[name] = frozenset(rows)
        return out

    def export_delta(self) -> dict[str, Any]:
        """Every base fact as a JSON document another replica can :meth:`import_delta`."""
        relations: dict[str, Any] = {}
        for name, rel in self.relations.items():
            lattice = rel.lattice
            rows = []
            for row in self.facts(name):
                if lattice is not None:
                    rows.append([*row[:-1], lattice.encode(row[-1])])
                else:
                    rows.append(list(row))
            columns = rel.decl.columns[:-1] if lattice is not None else rel.decl.columns
            relations[name] = {
                "columns": [list(c) for c in columns],
                "lattice": rel.decl.lattice,
                "rows": rows,
            }
        return {
            "format": "dsle-delta",
            "version": DELTA_VERSION,
            "replica": self.replica,
            "relations": relations,
        }

    def import_delta(self, doc: Mapping[str, Any]) -> int:
        """Join a document from :meth:`export_delta` into this knowledge base; returns rows that grew.

        Raises:
            LatticeDeltaError: the document is not a delta of a known version.
        """
        if not isinstance(doc, Mapping) or doc.get("format") != "dsle-delta":
            raise LatticeDeltaError(
                "not a dsle delta document", hint="produce it with export_delta / dsle export"
            )
        if doc.get("version") != DELTA_VERSION:
            raise LatticeDeltaError(
                f"unsupported delta version {doc.get('version')!r}",
                hint=f"expected {DELTA_VERSION}",
            )
        grew = 0
        relations = doc.get("relations")
        if not isinstance(relations, Mapping):
            raise LatticeDeltaError("delta has no relations table", hint="regenerate the delta")
        for name, body in relations.items():
            try:
                columns = [tuple(c) for c in body["columns"]]
                lattice = body["lattice"]
                rows = body["rows"]
                if (
                    lattice is not None
                    and lattice not in self.lattices
                    and lattice not in builtin_names()
                ):
                    raise LatticeDeltaError(
                        f"delta uses unknown lattice {lattice!r}", hint="register it first"
                    )
                rel = self.declare(
                    str(name), [(str(a), str(b)) for a, b in columns], lattice=lattice
                )
                for row in rows:
                    if lattice is not None:
                        value = rel.lattice.decode(row[-1]) if rel.lattice is not None else None
                        grew += self._add_frame(name, self._encode(rel, row[:-1], value))
                    else:
                        grew += self._add_frame(name, self._encode(rel, row, None))
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise LatticeDeltaError(
                    f"malformed relation {name!r} in delta: {exc}", hint="regenerate the delta"
                ) from exc
        return grew

    # -- reasoning -----------------------------------------------------------
    def program_for(self, rules: str) -> Program:
        """The program for a rule set name (``rdfs``, ``owl-rl``), a ``.dl`` path, or Datalog text."""
        if rules in RULESETS:
            shipped = _shipped_program(rules)
            program = Program(
                decls=dict(shipped.decls),
                rules=list(shipped.rules),
                facts=list(shipped.facts),
                inputs=dict(shipped.inputs),
                outputs=dict(shipped.outputs),
                types=dict(shipped.types),
            )
        elif rules.endswith(".dl") and Path(rules).is_file():
            program = parse_program(Path(rules).read_text(encoding="utf-8"), source=rules)
        else:
            program = parse_program(rules, source="<rules>", allow_include=False)
        for name, rel in self.relations.items():
            program.decls.setdefault(name, rel.decl)
        return program

    def reason(
        self,
        rules: str = "rdfs",
        *,
        axioms: bool = True,
        recognised: frozenset[str] | None = None,
    ) -> EvaluationStats:
        """Materialise the closure of the base facts under ``rules``.

        For the RDF rule sets, axiomatic triples and literal datatype facts
        (``dt-type2``) join the base facts; ill-typed literals become
        ``clash("ill-typed-literal", lit)`` facts.  ``recognised`` is the set of
        datatype IRIs whose value spaces are known (default: the XSD numeric,
        boolean and string types and ``rdf:langString``).
        """
        self.recognised = recognised if recognised is not None else RECOGNISED
        program = self.program_for(rules)
        engine = Engine(program, terms=self.terms, lattices=self.lattices)
        for name, rel in self.relations.items():
            target = engine.relation(name)
            if rel.values is not None:
                target.values = rel.values
            if rel.frame.height:
                target.merge(rel.frame.select(rel.columns), 0)
        if axioms and rules in RULESETS and TRIPLE in engine.relations:
            # the rules' own literals (``"0"^^xsd:nonNegativeInteger``) get typed like any other
            # term: intern them now, not lazily during evaluation, or the first closure lacks them
            for rule in program.rules:
                for lit in (rule.head, *rule.body):
                    for arg in getattr(lit, "args", ()):
                        if isinstance(arg, Const) and isinstance(arg.value, str):
                            self.terms.intern(arg.value)
            self._add_rdf_facts(engine, rdfs="rdfs" in rules or "owl" in rules)
        stats = engine.run()
        self.closure = engine
        self.stored_closure = None
        self.rules = rules
        return stats

    def _add_rdf_facts(self, engine: Engine, *, rdfs: bool) -> None:
        terms = self.terms.terms()
        extra = list(axiomatic_triples(terms, rdfs=rdfs, recognised=self.recognised))
        typed, bad = literal_facts(terms, recognised=self.recognised)
        extra.extend(typed)
        if extra:
            engine.add_facts(TRIPLE, extra)
        if bad:  # only literals that occur in facts make the graph inconsistent
            used = self.relation(TRIPLE).frame
            ids = set(used.get_column("c0").to_list()) | set(used.get_column("c2").to_list())
            bad = [b for b in bad if self.terms.get(b) in ids]
        if bad and "clash" in engine.relations:
            engine.add_facts("clash", [("ill-typed-literal", b) for b in bad])

    def closure_rows(self) -> dict[str, list[list[Any]]]:
        """The closure's rows per relation (values JSON-encoded), for persistence."""
        if self.closure is None:
            return dict(self.stored_closure or {})
        out: dict[str, list[list[Any]]] = {}
        for name, rel in self.closure.relations.items():
            rows = self.closure.rows(name)
            if rel.lattice is not None:
                lat = rel.lattice
                out[name] = [[*r[:-1], lat.encode(r[-1])] for r in rows]
            else:
                out[name] = [list(r) for r in rows]
        return out

    def _engine(self) -> Engine:
        if self.closure is not None:
            return self.closure
        program = Program()
        for name, rel in self.relations.items():
            program.decls[name] = rel.decl
        stored = self.stored_closure or {}
        for name, rows in stored.items():
            if name not in program.decls and rows:
                program.decls[name] = Decl(
                    name,
                    [
                        (f"c{i}", "number" if isinstance(v, int | float) else "symbol")
                        for i, v in enumerate(rows[0])
                    ],
                )
        engine = Engine(program, terms=self.terms, lattices=self.lattices)
        for name, rel in self.relations.items():
            target = engine.relation(name)
            target.values = rel.values
            target.frame = rel.frame
        for name, stored_rows in stored.items():
            target = engine.relation(name)
            rows = stored_rows
            if target.lattice is not None:
                lat = target.lattice
                rows = [[*r[:-1], lat.decode(r[-1])] for r in stored_rows]
            engine.add_facts(name, rows)
        return engine

    def query(self, text: str) -> list[dict[str, Any]]:
        """Answer a conjunctive query over the closure (or the base facts before reasoning).

        ``text`` is Datalog (``triple(X, "<p>", Y), !r(X)``) or a SPARQL
        basic graph pattern (``SELECT ?x WHERE { ?x a <C> }``).
        """
        if looks_like_sparql(text):
            sparql = parse_sparql(text)
            return sparql.finish(self._engine().query(sparql.body))
        return self._engine().query(parse_query(text))

    def explain(self, fact: str) -> Derivation:
        """The derivation tree of a fact, such as ``triple("<a>", "<b>", "<c>")``."""
        return self._engine().explain(parse_atom(fact))

    def inferred(self, relation: str = TRIPLE) -> list[tuple[Any, ...]]:
        """Every fact of ``relation`` in the closure (base and derived)."""
        return self._engine().rows(relation)

    def inconsistencies(self) -> list[tuple[str, str]]:
        """The ``clash`` facts of the closure: (rule, resource) pairs."""
        engine = self._engine()
        out: list[tuple[str, str]] = []
        if "clash" in engine.relations:
            out = [(str(a), str(b)) for a, b in engine.rows("clash")]
        return out + self._datatype_clashes(engine) + self._literal_equalities(engine)

    def _literal_equalities(self, engine: Engine) -> list[tuple[str, str]]:
        """``dt-diff``: two literals with different values stated ``owl:sameAs``."""
        same = self.terms.get(f"<{OWL_SAME_AS}>")
        if same is None or TRIPLE not in engine.relations:
            return []
        out = []
        rows = (
            engine.relation(TRIPLE)
            .frame.filter(pl.col("c1") == same)
            .filter(pl.col("c0") != pl.col("c2"))
        )
        for a, b in rows.select(["c0", "c2"]).iter_rows():
            left, right = self.terms.term(a), self.terms.term(b)
            if (
                left.startswith('"')
                and right.startswith('"')
                and self._known_value(left)
                and self._known_value(right)
            ):
                out.append(("dt-diff", left))
        return sorted(set(out))

    def _known_value(self, literal: str) -> bool:
        """Whether a literal's value is determined (plain, language-tagged or a recognised datatype)."""
        if "^^<" not in literal:
            return True
        return literal[literal.rindex("^^<") + 3 : -1] in self.recognised

    def _datatype_clashes(self, engine: Engine) -> list[tuple[str, str]]:
        """``dt-not-type``: a literal typed with a recognised datatype that cannot hold its value."""
        type_id = self.terms.get(TYPE_IRI)
        if type_id is None or TRIPLE not in engine.relations:
            return []
        recognised_ids = {self.terms.get(f"<{dt}>"): dt for dt in self.recognised}
        recognised_ids.pop(None, None)
        frame = engine.relation(TRIPLE).frame
        hits = frame.filter((pl.col("c1") == type_id) & pl.col("c2").is_in(list(recognised_ids)))
        literals = {self.terms.term(s) for s in hits.get_column("c0").to_list()}
        literals = {lit for lit in literals if lit.startswith('"')}
        if not literals:
            return []
        typed, _ = literal_facts(sorted(literals), recognised=self.recognised)
        allowed = {(s, o) for s, _, o in typed}
        out = []
        for s, o in hits.select(["c0", "c2"]).iter_rows():
            lit, dt = self.terms.term(s), self.terms.term(o)
            if lit.startswith('"') and (lit, dt) not in allowed:
                out.append(("dt-not-type", lit))
        return sorted(set(out))

    def entails(self, conclusion: Graph, *, same_as_reflexive: bool = False) -> bool:
        """Whether the closure entails ``conclusion`` (its blank nodes are existential).

        Call after :meth:`reason`; an inconsistent closure entails everything.
        Intern the conclusion's terms with :meth:`intern_graph` (or use
        :meth:`prepare_conclusion`) *before* reasoning so the axioms about
        them (``rdf:_n``, literal types) exist.  Ground negative statements
        that rules cannot derive directly (``x owl:differentFrom y``, ``x
        rdf:type`` a complement class) are checked by refutation: the premise
        plus their negation must be inconsistent.
        """
        if self.inconsistencies():
            return True
        body: list[Atom] = []
        negative: list[tuple[str, str, str]] = []
        complements = self._complements()
        for s, p, o in conclusion:
            args: list[Term] = []
            for node in (s, p, o):
                defined = self._defined.get(f"<{node}>")
                if defined is not None:
                    args.append(Const(defined))
                elif isinstance(node, BNode):
                    args.append(Var("B" + "".join(ch if ch.isalnum() else "_" for ch in str(node))))
                else:
                    args.append(Const(encode_term(node)))
            if same_as_reflexive and args[1] == Const(f"<{OWL_SAME_AS}>") and args[0] == args[2]:
                continue
            ground = all(isinstance(a, Const) for a in args)
            values = tuple(str(a.value) for a in args if isinstance(a, Const))
            if ground and (
                values[1] in _REFUTABLE or (values[1] == TYPE_IRI and values[2] in complements)
            ):
                negative.append((values[0], values[1], values[2]))
                continue
            body.append(Atom(TRIPLE, tuple(args)))
        if body:
            for atom in body:
                for arg in atom.args:
                    if isinstance(arg, Const) and self.terms.get(str(arg.value)) is None:
                        return False
            if not self._engine().query(list(body)):
                return False
        return all(self._refutes(triple, complements) for triple in negative)

    def _complements(self) -> dict[str, str]:
        """Complement classes in the closure: ``{complement: class}``."""
        engine = self._engine()
        pid = self.terms.get(f"<{_OWL}complementOf>")
        if pid is None or TRIPLE not in engine.relations:
            return {}
        rows = engine.relation(TRIPLE).frame.filter(pl.col("c1") == pid).select(["c0", "c2"])
        return {self.terms.term(a): self.terms.term(b) for a, b in rows.iter_rows()}

    def _refutes(self, triple: tuple[str, str, str], complements: dict[str, str]) -> bool:
        """Whether the premise plus the negation of ``triple`` is inconsistent."""
        s, p, o = triple
        if self._engine().query([Atom(TRIPLE, (Const(s), Const(p), Const(o)))]):
            return True
        if self.rules is None:
            return False
        trial = self.copy()
        fresh = ("<urn:dsle:refute:x>", "<urn:dsle:refute:y>")
        if p == TYPE_IRI:
            trial.add(TRIPLE, s, TYPE_IRI, complements[o])
        elif p == f"<{_OWL}disjointWith>":  # a fresh instance of both classes
            trial.add(TRIPLE, fresh[0], TYPE_IRI, s)
            trial.add(TRIPLE, fresh[0], TYPE_IRI, o)
        elif p == f"<{_OWL}propertyDisjointWith>":  # a fresh pair in both properties
            trial.add(TRIPLE, fresh[0], s, fresh[1])
            trial.add(TRIPLE, fresh[0], o, fresh[1])
        else:
            trial.add(TRIPLE, s, f"<{OWL_SAME_AS}>", o)
        trial.reason(self.rules, recognised=self.recognised)
        return bool(trial.inconsistencies())

    def prepare_conclusion(self, conclusion: Graph) -> Graph:
        """Split an entailment conclusion: class-expression definitions join the base facts.

        A conclusion such as ``a rdf:type [owl:onProperty p; owl:someValuesFrom C]``
        names a class by a blank node.  Defining that fresh class in the
        premise is a conservative extension (it says nothing new about the
        existing vocabulary), and it lets the rules classify individuals into
        it; what remains (returned) is then checked by graph matching with
        those blank nodes as constants.  Also interns every term (see
        :meth:`intern_graph`).
        """
        header = [
            t for t in conclusion if str(t[1]) == TYPE_IRI[1:-1] and str(t[2]) == _OWL + "Ontology"
        ]
        if header:  # ontology headers are not axioms (OWL 2 Structural Specification, 3)
            kept = Graph()
            for t in conclusion:
                if t not in header:
                    kept.add(t)
            conclusion = kept
        conclusion = _expand_nary_axioms(conclusion)
        defined: set[BNode] = set()
        for s, p, _ in conclusion:
            if isinstance(s, BNode) and str(p) in _DEFINING:
                defined.add(s)
        changed = True
        while changed:  # list cells and nested expressions under a defined node
            changed = False
            for s, _p, o in conclusion:
                if s in defined and isinstance(o, BNode) and o not in defined:
                    defined.add(o)
                    changed = True
        definitions = Graph()
        rest = Graph()
        for triple in conclusion:
            (definitions if triple[0] in defined else rest).add(triple)
        if len(definitions):
            self.add_graph(definitions)
        for s, p, o in list(rest):
            if s in defined or o in defined:
                rest.remove((s, p, o))
                rest.add(
                    (
                        URIRef(f"urn:dsle:defined:{s}") if s in defined else s,
                        p,
                        URIRef(f"urn:dsle:defined:{o}") if o in defined else o,
                    )
                )
        self.intern_graph(rest)
        self._defined = {f"<urn:dsle:defined:{b}>": encode_term(b) for b in defined}
        return rest

    def intern_graph(self, graph: Graph) -> None:
        """Intern every term of ``graph`` without adding its triples."""
        for triple in graph:
            for node in triple:
                if not isinstance(node, BNode):
                    self.terms.intern(encode_term(node))


_ = (Iterable, _FORMATS)


def _frame_of(rel: Relation, encoded: list[tuple[int, ...]]) -> pl.DataFrame:
    """Encoded rows as a frame of ``rel``'s key columns (the columnar path's input)."""
    columns = list(zip(*encoded, strict=True))
    return pl.DataFrame(
        {
            c: pl.Series(c, list(col), dtype=pl.Int64)
            for c, col in zip(rel.key_columns, columns, strict=True)
        }
    )

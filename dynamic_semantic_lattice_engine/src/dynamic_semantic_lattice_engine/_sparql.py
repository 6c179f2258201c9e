"""A SPARQL basic-graph-pattern subset, translated to a Datalog conjunctive query.

Supported: ``PREFIX``, ``SELECT [DISTINCT] ?v ... | *``, ``WHERE { ... }`` with
triple patterns (``;`` and ``,`` abbreviations, ``a``), IRIs, prefixed names,
literals (language tags, datatypes, numbers, booleans) and ``FILTER`` with
comparisons (``= != < <= > >=``) joined by ``&&``, then ``LIMIT``.  Patterns
are joined by the Datalog engine; filters compare RDF values (numbers as
numbers, other terms by their lexical form).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rdflib import Literal

from dynamic_semantic_lattice_engine._program import Atom, Const, Literal_, Term, Var
from dynamic_semantic_lattice_engine._rdf import decode_term, encode_term
from dynamic_semantic_lattice_engine._rulesets import NAMESPACES
from dynamic_semantic_lattice_engine.errors import LatticeParseError

__all__ = ["SparqlQuery", "looks_like_sparql", "parse_sparql"]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<iri><[^<>"\s]*>)
  | (?P<var>[?$][A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"(?:@[A-Za-z0-9-]+|\^\^(?:<[^<>"\s]*>|[A-Za-z_][\w-]*:[\w-]*))?)
  | (?P<number>[-+]?\d+(?:\.\d+)?)
  | (?P<pname>[A-Za-z_][\w-]*:[\w-]*|:[\w-]+)
  | (?P<word>[A-Za-z]+)
  | (?P<op>&&|!=|<=|>=|[{}().;,*=<>])
    """,
    re.VERBOSE,
)

_XSD = NAMESPACES["xsd"]


@dataclass
class SparqlQuery:
    """A parsed query: its patterns as Datalog atoms, filters, projection and limit."""

    body: list[Literal_]
    filters: list[tuple[str, Term, Term]] = field(default_factory=list)
    select: list[str] | None = None
    distinct: bool = False
    limit: int | None = None

    def finish(self, answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Apply the filters, projection, DISTINCT and LIMIT to raw bindings."""
        out: list[dict[str, Any]] = []
        seen: set[tuple[Any, ...]] = set()
        for answer in answers:
            if not all(
                _compare(op, _value(a, answer), _value(b, answer)) for op, a, b in self.filters
            ):
                continue
            row = {k: answer[k] for k in self.select} if self.select else dict(answer)
            key = tuple(row.items())
            if self.distinct or self.select is None:
                if key in seen:
                    continue
                seen.add(key)
            out.append(row)
            if self.limit is not None and len(out) >= self.limit:
                break
        return out


def looks_like_sparql(text: str) -> bool:
    """Whether a query string is SPARQL rather than Datalog."""
    head = text.lstrip().upper()
    return head.startswith(("SELECT", "PREFIX", "ASK"))


def _value(term: Term, answer: dict[str, Any]) -> Any:
    text = (
        answer[term.name]
        if isinstance(term, Var)
        else str(term.value)
        if isinstance(term, Const)
        else ""
    )
    node = decode_term(text) if isinstance(text, str) else text
    if isinstance(node, Literal):
        py = node.toPython()
        return py if isinstance(py, int | float) and not isinstance(py, bool) else str(node)
    return str(node)


def _compare(op: str, a: Any, b: Any) -> bool:
    if op in ("=", "!="):
        return bool(a == b) == (op == "=")
    try:
        return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])
    except TypeError:
        return False


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise LatticeParseError(
                    f"<sparql>:{pos + 1}: unexpected character {text[pos]!r}",
                    hint="supported: PREFIX, SELECT ... WHERE { patterns FILTER(...) } LIMIT n",
                )
            if m.lastgroup != "ws":
                self.toks.append((str(m.lastgroup), m.group(), pos))
            pos = m.end()
        self.toks.append(("eof", "", pos))
        self.i = 0
        self.prefixes = {f"{k}:": v for k, v in NAMESPACES.items()}

    def tok(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def error(self, message: str) -> LatticeParseError:
        kind, text, pos = self.tok()
        found = "end of query" if kind == "eof" else repr(text)
        return LatticeParseError(
            f"<sparql>:{pos + 1}: {message} (found {found})",
            hint="supported: PREFIX, SELECT ... WHERE { patterns FILTER(...) } LIMIT n",
        )

    def word(self, *words: str) -> str | None:
        kind, text, _ = self.tok()
        if kind in ("word", "pname") and text.upper() in words:
            self.i += 1
            return text.upper()
        return None

    def op(self, text: str) -> bool:
        if self.tok()[0] == "op" and self.tok()[1] == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.op(text):
            raise self.error(f"expected {text!r}")

    def parse(self) -> SparqlQuery:
        while self.word("PREFIX"):
            kind, name, _ = self.tok()
            if kind != "pname" or not name.endswith(":"):
                raise self.error("expected a prefix name like ex:")
            self.i += 1
            kind, iri, _ = self.tok()
            if kind != "iri":
                raise self.error("expected <iri> after the prefix name")
            self.i += 1
            self.prefixes[name] = iri[1:-1]
        if not self.word("SELECT"):
            raise self.error("expected SELECT")
        query = SparqlQuery(body=[])
        query.distinct = self.word("DISTINCT") is not None
        if self.op("*"):
            query.select = None
        else:
            names: list[str] = []
            while self.tok()[0] == "var":
                names.append(self.tok()[1][1:])
                self.i += 1
            if not names:
                raise self.error("expected variables or * after SELECT")
            query.select = names
        self.word("WHERE")
        self.expect("{")
        self.group(query)
        if self.word("LIMIT"):
            kind, text, _ = self.tok()
            if kind != "number" or not text.isdigit():
                raise self.error("expected a number after LIMIT")
            self.i += 1
            query.limit = int(text)
        if self.tok()[0] != "eof":
            raise self.error("unexpected text after the query")
        bound = {v for lit in query.body for v in lit.vars()}
        for name in query.select or []:
            if name not in bound:
                raise LatticeParseError(
                    f"selected variable ?{name} is not in any pattern",
                    hint="select pattern variables",
                )
        if not query.body:
            raise self.error("the WHERE clause has no triple pattern")
        return query

    def group(self, query: SparqlQuery) -> None:
        while not self.op("}"):
            if self.word("FILTER"):
                self.expect("(")
                while True:
                    left = self.term(allow_literal=True)
                    kind, text, _ = self.tok()
                    if kind != "op" or text not in ("=", "!=", "<", "<=", ">", ">="):
                        raise self.error("expected a comparison in FILTER")
                    self.i += 1
                    right = self.term(allow_literal=True)
                    query.filters.append((text, left, right))
                    if not self.op("&&"):
                        break
                self.expect(")")
                self.op(".")
                continue
            subject = self.term()
            while True:
                predicate = self.term(predicate=True)
                while True:
                    obj = self.term(allow_literal=True)
                    query.body.append(Atom("triple", (subject, predicate, obj)))
                    if not self.op(","):
                        break
                if not self.op(";") or self.tok()[1] in (".", "}"):
                    break
            if not self.op(".") and self.tok()[1] != "}":
                raise self.error("expected '.' or '}' after a triple pattern")

    def term(self, *, allow_literal: bool = False, predicate: bool = False) -> Term:
        kind, text, _ = self.tok()
        self.i += 1
        if kind == "var":
            return Var(text[1:])
        if kind == "iri":
            return Const(text)
        if kind == "pname":
            prefix, local = text.split(":", 1)
            base = self.prefixes.get(prefix + ":")
            if base is None:
                self.i -= 1
                raise self.error(f"unknown prefix {prefix}:")
            return Const(f"<{base}{local}>")
        if kind == "word" and text == "a" and predicate:
            return Const(f"<{NAMESPACES['rdf']}type>")
        if allow_literal and kind == "string":
            return Const(self.literal(text))
        if allow_literal and kind == "number":
            dt = "decimal" if "." in text else "integer"
            return Const(encode_term(Literal(text, datatype=f"{_XSD}{dt}")))
        if allow_literal and kind == "word" and text in ("true", "false"):
            return Const(encode_term(Literal(text, datatype=f"{_XSD}boolean")))
        self.i -= 1
        raise self.error("expected a term")

    def literal(self, text: str) -> str:
        m = re.match(r'^"((?:[^"\\]|\\.)*)"(?:@([A-Za-z0-9-]+)|\^\^(.+))?$', text)
        if m is None:
            raise self.error("malformed literal")
        lexical = m.group(1).replace('\\"', '"').replace("\\\\", "\\")
        if m.group(2):
            return encode_term(Literal(lexical, lang=m.group(2)))
        if m.group(3):
            dt = m.group(3)
            if dt.startswith("<"):
                iri = dt[1:-1]
            else:
                prefix, local = dt.split(":", 1)
                if prefix + ":" not in self.prefixes:
                    raise self.error(f"unknown prefix {prefix}:")
                iri = self.prefixes[prefix + ":"] + local
            return encode_term(Literal(lexical, datatype=iri))
        return encode_term(Literal(lexical))


def parse_sparql(text: str) -> SparqlQuery:
    """Parse the supported SPARQL subset; raises :class:`LatticeParseError` otherwise."""
    return _Parser(text).parse()

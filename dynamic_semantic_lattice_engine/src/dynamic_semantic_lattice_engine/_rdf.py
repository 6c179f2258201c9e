"""RDF terms as interned strings, and the RDF/RDFS facts that rules cannot state.

Terms are kept in N3 form (``<iri>``, ``_:b0``, ``"lex"@lang``,
``"lex"^^<datatype>``) so the integer id of a term is also a faithful,
reversible name for it.  Literals are normalised on the way in (canonical
lexical form, ``xsd:string`` as a plain literal, lower-case language tags),
so equal values get equal ids.

Also here: the axiomatic triples of RDF and RDFS (the finite part, plus
``rdf:_n`` for every container-membership property that occurs) and the
datatype facts for literals (``dt-type2``: a literal is an instance of its
datatype and of the datatypes whose value space contains its value;
ill-typed literals of a recognised datatype are inconsistencies).
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation

from defusedxml import ElementTree  # type: ignore[import-untyped]
from defusedxml.common import DefusedXmlException  # type: ignore[import-untyped]
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD
from rdflib.term import Node
from rdflib.util import from_n3

from dynamic_semantic_lattice_engine.errors import LatticeRdfError

__all__ = [
    "axiomatic_triples",
    "decode_term",
    "encode_term",
    "literal_facts",
]

Triple = tuple[str, str, str]

_INTEGER_RANGES: dict[str, tuple[int | None, int | None]] = {
    "integer": (None, None),
    "nonNegativeInteger": (0, None),
    "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0),
    "negativeInteger": (None, -1),
    "long": (-(2**63), 2**63 - 1),
    "int": (-(2**31), 2**31 - 1),
    "short": (-(2**15), 2**15 - 1),
    "byte": (-128, 127),
    "unsignedLong": (0, 2**64 - 1),
    "unsignedInt": (0, 2**32 - 1),
    "unsignedShort": (0, 2**16 - 1),
    "unsignedByte": (0, 255),
}

RECOGNISED = frozenset(
    {
        str(XSD.string),
        str(RDF.langString),
        str(XSD.decimal),
        str(XSD.boolean),
        str(XSD.double),
        str(XSD.float),
        *(str(XSD[n]) for n in _INTEGER_RANGES),
    }
)


def encode_term(node: Node) -> str:
    """The interned form of an rdflib term (literals in their canonical form)."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, BNode):
        return f"_:{node}"
    if isinstance(node, Literal):
        return canonical_literal(node).n3()
    raise LatticeRdfError(
        f"unsupported RDF term {node!r}", hint="use IRIs, blank nodes and literals"
    )


_INTEGER_LEX = re.compile(r"^[+-]?[0-9]+$")
_DECIMAL_LEX = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
_FLOAT_LEX = re.compile(
    r"^(?:[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[Ee][+-]?[0-9]+)?|INF)|-INF|NaN)$"
)
_BOOLEAN = {"true": "true", "1": "true", "false": "false", "0": "false"}


def _float_text(value: float, single: bool) -> str:
    if single and math.isfinite(value):
        try:
            value = struct.unpack("f", struct.pack("f", value))[0]
        except OverflowError:
            value = math.copysign(math.inf, value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(value)


def canonical_literal(node: Literal) -> Literal:
    """One literal per value: canonical lexical forms, ``xsd:string`` as plain, lower-case tags.

    Integers of every XSD integer type and integral decimals become
    ``xsd:integer`` (they share one value space); floats are rounded to
    single precision.  A lexical form outside its datatype's lexical space is
    kept verbatim: the literal is ill-typed, which :func:`literal_facts`
    reports.
    """
    lexical = str(node)
    if node.language:
        return Literal(lexical, lang=node.language.lower())
    dt = node.datatype
    if dt is None or dt == XSD.string:
        return Literal(lexical)
    local = str(dt)[len(XSD_NS) :] if str(dt).startswith(XSD_NS) else ""
    if local in _INTEGER_RANGES or local == "decimal":
        if _INTEGER_LEX.match(lexical) or (local == "decimal" and _DECIMAL_LEX.match(lexical)):
            value = Decimal(lexical)
            if value == value.to_integral_value():
                return Literal(
                    str(int(value)),
                    datatype=XSD.integer if local == "decimal" else dt,
                    normalize=False,
                )
            text = format(value.normalize(), "f")
            return Literal(text, datatype=XSD.decimal, normalize=False)
        return Literal(lexical, datatype=dt, normalize=False)
    if local in ("float", "double"):
        if _FLOAT_LEX.match(lexical):
            return Literal(
                _float_text(float(lexical.replace("INF", "inf")), local == "float"),
                datatype=dt,
                normalize=False,
            )
        return Literal(lexical, datatype=dt, normalize=False)
    if local == "boolean":
        return Literal(_BOOLEAN.get(lexical, lexical), datatype=dt, normalize=False)
    return Literal(lexical, datatype=dt, normalize=False)


def well_typed(lexical: str, datatype: str) -> bool:
    """Whether ``lexical`` is in the lexical space of a recognised XSD datatype."""
    local = datatype[len(XSD_NS) :] if datatype.startswith(XSD_NS) else ""
    if local in _INTEGER_RANGES:
        if not _INTEGER_LEX.match(lexical):
            return False
        low, high = _INTEGER_RANGES[local]
        value = int(lexical)
        return (low is None or value >= low) and (high is None or value <= high)
    if local == "decimal":
        return bool(_DECIMAL_LEX.match(lexical))
    if local in ("float", "double"):
        return bool(_FLOAT_LEX.match(lexical))
    if local == "boolean":
        return lexical in _BOOLEAN
    if datatype == f"{RDF_NS}XMLLiteral":
        try:  # defusedxml refuses entity declarations; the fragment is wrapped in one element
            ElementTree.fromstring(f"<r>{lexical}</r>")
        except (ElementTree.ParseError, DefusedXmlException):
            return False
    return True


def decode_term(text: str) -> Node:
    """The rdflib term behind an interned string."""
    if text.startswith("<") and text.endswith(">"):
        return URIRef(text[1:-1])
    if text.startswith("_:"):
        return BNode(text[2:])
    try:
        node = from_n3(text)
    except Exception as exc:  # rdflib raises assorted errors for bad N3
        raise LatticeRdfError(f"cannot decode term {text!r}", hint="terms are N3 strings") from exc
    if not isinstance(node, Node):
        raise LatticeRdfError(f"cannot decode term {text!r}", hint="terms are N3 strings")
    return node


_LIT = re.compile(
    r'^"(?P<lex>(?:[^"\\]|\\.)*)"(?:@(?P<lang>[A-Za-z0-9-]+)|\^\^<(?P<dt>[^>]*)>)?$', re.DOTALL
)

RDF_NS = str(RDF)
RDFS_NS = str(RDFS)
XSD_NS = str(XSD)


def _iri(ns: str, name: str) -> str:
    return f"<{ns}{name}>"


TYPE = _iri(RDF_NS, "type")
LITERAL = _iri(RDFS_NS, "Literal")


def literal_facts(
    terms: Iterable[str], *, recognised: frozenset[str] = RECOGNISED
) -> tuple[list[Triple], list[str]]:
    """Datatype facts for the literals among ``terms``.

    Returns ``(triples, ill_typed)``: ``lit rdf:type rdfs:Literal`` and
    ``lit rdf:type D`` for every recognised datatype ``D`` whose value space
    holds the literal's value, and the literals that are ill-typed for a
    recognised datatype (each one makes the graph inconsistent).
    """
    out: list[Triple] = []
    bad: list[str] = []
    for term in terms:
        if not term.startswith('"'):
            continue
        out.append((term, TYPE, LITERAL))
        match = _LIT.match(term)
        if match is None:
            continue
        dt = match.group("dt")
        if dt is None:
            dt = str(RDF.langString) if match.group("lang") else str(XSD.string)
        if dt not in recognised:
            continue
        lexical = match.group("lex").replace('\\"', '"').replace("\\\\", "\\")
        if not well_typed(lexical, dt):
            bad.append(term)
            continue
        out.append((term, TYPE, f"<{dt}>"))
        local = dt[len(XSD_NS) :] if dt.startswith(XSD_NS) else ""
        if local in _INTEGER_RANGES:
            try:
                value = int(Decimal(lexical))
            except (InvalidOperation, ValueError):
                continue
            out.append((term, TYPE, _iri(XSD_NS, "decimal")))
            for name, (low, high) in _INTEGER_RANGES.items():
                fits = (low is None or value >= low) and (high is None or value <= high)
                if fits and f"{XSD_NS}{name}" in recognised:
                    out.append((term, TYPE, _iri(XSD_NS, name)))
    return out, bad


_RDF_AXIOMS = [
    ("type", "type", "Property"),
    ("subject", "type", "Property"),
    ("predicate", "type", "Property"),
    ("object", "type", "Property"),
    ("first", "type", "Property"),
    ("rest", "type", "Property"),
    ("value", "type", "Property"),
    ("nil", "type", "List"),
]

_RDFS_AXIOMS = [
    ("rdf:type", "rdfs:domain", "rdfs:Resource"),
    ("rdfs:domain", "rdfs:domain", "rdf:Property"),
    ("rdfs:range", "rdfs:domain", "rdf:Property"),
    ("rdfs:subPropertyOf", "rdfs:domain", "rdf:Property"),
    ("rdfs:subClassOf", "rdfs:domain", "rdfs:Class"),
    ("rdf:subject", "rdfs:domain", "rdf:Statement"),
    ("rdf:predicate", "rdfs:domain", "rdf:Statement"),
    ("rdf:object", "rdfs:domain", "rdf:Statement"),
    ("rdfs:member", "rdfs:domain", "rdfs:Resource"),
    ("rdf:first", "rdfs:domain", "rdf:List"),
    ("rdf:rest", "rdfs:domain", "rdf:List"),
    ("rdfs:seeAlso", "rdfs:domain", "rdfs:Resource"),
    ("rdfs:isDefinedBy", "rdfs:domain", "rdfs:Resource"),
    ("rdfs:comment", "rdfs:domain", "rdfs:Resource"),
    ("rdfs:label", "rdfs:domain", "rdfs:Resource"),
    ("rdf:value", "rdfs:domain", "rdfs:Resource"),
    ("rdf:type", "rdfs:range", "rdfs:Class"),
    ("rdfs:domain", "rdfs:range", "rdfs:Class"),
    ("rdfs:range", "rdfs:range", "rdfs:Class"),
    ("rdfs:subPropertyOf", "rdfs:range", "rdf:Property"),
    ("rdfs:subClassOf", "rdfs:range", "rdfs:Class"),
    ("rdf:subject", "rdfs:range", "rdfs:Resource"),
    ("rdf:predicate", "rdfs:range", "rdfs:Resource"),
    ("rdf:object", "rdfs:range", "rdfs:Resource"),
    ("rdfs:member", "rdfs:range", "rdfs:Resource"),
    ("rdf:first", "rdfs:range", "rdfs:Resource"),
    ("rdf:rest", "rdfs:range", "rdf:List"),
    ("rdfs:seeAlso", "rdfs:range", "rdfs:Resource"),
    ("rdfs:isDefinedBy", "rdfs:range", "rdfs:Resource"),
    ("rdfs:comment", "rdfs:range", "rdfs:Literal"),
    ("rdfs:label", "rdfs:range", "rdfs:Literal"),
    ("rdf:value", "rdfs:range", "rdfs:Resource"),
    ("rdf:Alt", "rdfs:subClassOf", "rdfs:Container"),
    ("rdf:Bag", "rdfs:subClassOf", "rdfs:Container"),
    ("rdf:Seq", "rdfs:subClassOf", "rdfs:Container"),
    ("rdfs:ContainerMembershipProperty", "rdfs:subClassOf", "rdf:Property"),
    ("rdfs:isDefinedBy", "rdfs:subPropertyOf", "rdfs:seeAlso"),
    ("rdfs:Datatype", "rdfs:subClassOf", "rdfs:Class"),
]

_MEMBERSHIP = re.compile(r"^<" + re.escape(RDF_NS) + r"_[1-9][0-9]*>$")


def _expand(name: str) -> str:
    prefix, local = name.split(":")
    return _iri(RDF_NS if prefix == "rdf" else RDFS_NS, local)


def axiomatic_triples(
    terms: Iterable[str], *, rdfs: bool, recognised: frozenset[str] = RECOGNISED
) -> Iterator[Triple]:
    """The axiomatic triples of RDF (and RDFS when ``rdfs``) relevant to ``terms``.

    The infinitely many ``rdf:_n`` axioms are given for the ``n`` that occur.
    """
    for s, p, o in _RDF_AXIOMS:
        yield _iri(RDF_NS, s), _iri(RDF_NS, p), _iri(RDF_NS, o)
    members = [t for t in terms if _MEMBERSHIP.match(t)]
    for member in members:
        yield member, TYPE, _iri(RDF_NS, "Property")
    if not rdfs:
        return
    for s, p, o in _RDFS_AXIOMS:
        yield _expand(s), _expand(p), _expand(o)
    for member in members:
        yield member, TYPE, _iri(RDFS_NS, "ContainerMembershipProperty")
        yield member, _iri(RDFS_NS, "domain"), _iri(RDFS_NS, "Resource")
        yield member, _iri(RDFS_NS, "range"), _iri(RDFS_NS, "Resource")
    for dt in recognised:
        yield f"<{dt}>", TYPE, _iri(RDFS_NS, "Datatype")

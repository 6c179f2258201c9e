"""The RDFS and OWL 2 RL rule sets, as Datalog over ``triple(s, p, o)``.

Written with ``rdf:``/``rdfs:``/``owl:`` prefixed names that are expanded to
IRI constants before parsing.  Rules that detect an inconsistency derive
``clash(rule, resource)`` instead of a triple.  Both sets reason over
*generalised* triples (a literal may appear as a subject inside the closure,
as the RDF 1.1 semantics' entailment rules require); the knowledge base
never emits such triples when it serialises RDF.

Rules whose body can contain their own head (``rdfs7`` with ``p
rdfs:subPropertyOf p``, ``cax-sco`` with ``c rdfs:subClassOf c``, ``eq-rep-*``
with ``x owl:sameAs x``) carry an inequality that skips exactly those
self-derivations: the closure is unchanged, but evaluation does less work and
DRed deletion does not over-delete everything that shares a predicate.

Deliberate omissions, with their reason:

* ``eq-ref`` (every resource ``owl:sameAs`` itself) is not materialised: it
  doubles the closure and carries no information; entailment checks treat
  ``x owl:sameAs x`` as true for every ``x`` instead.
* the datatype rules ``dt-type1``/``dt-type2``/``dt-eq``/``dt-diff`` are done
  in Python on the literals present (see :mod:`._rdf`), not by enumerating
  every value of every datatype.
"""

from __future__ import annotations

import re

__all__ = ["OWL_RL_RULES", "RDFS_RULES", "RDF_RULES", "RULESETS", "ruleset"]

RULESETS = ("rdf", "rdfs", "owl-rl", "rdfs+owl-rl")

NAMESPACES = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

_PREFIXED = re.compile(r"\b(rdf|rdfs|owl|xsd):([A-Za-z_][A-Za-z0-9_]*)")


def expand(text: str) -> str:
    """Replace ``rdf:type``-style names with ``<iri>`` constants."""
    return _PREFIXED.sub(lambda m: f"<{NAMESPACES[m.group(1)]}{m.group(2)}>", text)


DECLS = """
.decl triple(s:symbol, p:symbol, o:symbol)
.decl clash(rule:symbol, x:symbol)
"""

RDF_RULES = """
// RDF 1.1 semantics, section 8: the rdf entailment pattern.
triple(P, rdf:type, rdf:Property) :- triple(_, P, _).                                   // rdfD2
"""

RDFS_RULES = """
// RDF 1.1 semantics, section 9: the rdfs entailment patterns (with rdfD2).
triple(P, rdf:type, rdf:Property) :- triple(_, P, _).                                   // rdfD2
triple(X, rdf:type, C) :- triple(P, rdfs:domain, C), triple(X, P, _).                  // rdfs2
triple(Y, rdf:type, C) :- triple(P, rdfs:range, C), triple(_, P, Y).                   // rdfs3
triple(X, rdf:type, rdfs:Resource) :- triple(X, _, _).                                 // rdfs4a
triple(Y, rdf:type, rdfs:Resource) :- triple(_, _, Y).                                 // rdfs4b
triple(P, rdfs:subPropertyOf, R) :- triple(P, rdfs:subPropertyOf, Q), P != Q, triple(Q, rdfs:subPropertyOf, R), Q != R.  // rdfs5
triple(P, rdfs:subPropertyOf, P) :- triple(P, rdf:type, rdf:Property).                 // rdfs6
triple(X, Q, Y) :- triple(P, rdfs:subPropertyOf, Q), P != Q, triple(X, P, Y).          // rdfs7
triple(C, rdfs:subClassOf, rdfs:Resource) :- triple(C, rdf:type, rdfs:Class).          // rdfs8
triple(X, rdf:type, D) :- triple(C, rdfs:subClassOf, D), C != D, triple(X, rdf:type, C).  // rdfs9
triple(C, rdfs:subClassOf, C) :- triple(C, rdf:type, rdfs:Class).                      // rdfs10
triple(C, rdfs:subClassOf, E) :- triple(C, rdfs:subClassOf, D), C != D, triple(D, rdfs:subClassOf, E), D != E.  // rdfs11
triple(P, rdfs:subPropertyOf, rdfs:member) :- triple(P, rdf:type, rdfs:ContainerMembershipProperty).  // rdfs12
triple(D, rdfs:subClassOf, rdfs:Literal) :- triple(D, rdf:type, rdfs:Datatype).        // rdfs13
"""

OWL_RL_RULES = """
.decl list_member(l:symbol, x:symbol)
.decl member_list(l:symbol)
.decl list_cell(head:symbol, cell:symbol)
.decl all_types(l:symbol, x:symbol)
.decl chain_list(l:symbol)
.decl chain(l:symbol, x:symbol, y:symbol)
.decl key_list(l:symbol)
.decl key_agree(l:symbol, x:symbol, y:symbol)
.decl key_candidate(c:symbol, x:symbol)
.decl all_sub(l:symbol, c:symbol)
.decl all_super(l:symbol, c:symbol)

// lists used by OWL constructs
member_list(L) :- triple(_, owl:intersectionOf, L).
member_list(L) :- triple(_, owl:unionOf, L).
member_list(L) :- triple(_, owl:oneOf, L).
member_list(L) :- triple(_, owl:members, L).
member_list(L) :- triple(_, owl:distinctMembers, L).
member_list(L) :- triple(_, owl:disjointUnionOf, L).
list_cell(H, H) :- member_list(H).
list_cell(H, R) :- list_cell(H, C), triple(C, rdf:rest, R).
list_member(H, X) :- list_cell(H, C), triple(C, rdf:first, X).

// equality (eq-ref is not materialised, see the module docstring)
triple(Y, owl:sameAs, X) :- triple(X, owl:sameAs, Y).                                       // eq-sym
triple(X, owl:sameAs, Z) :- triple(X, owl:sameAs, Y), triple(Y, owl:sameAs, Z).             // eq-trans
triple(S2, P, O) :- triple(S, owl:sameAs, S2), S != S2, triple(S, P, O).                    // eq-rep-s
triple(S, P2, O) :- triple(P, owl:sameAs, P2), P != P2, triple(S, P, O).                    // eq-rep-p
triple(S, P, O2) :- triple(O, owl:sameAs, O2), O != O2, triple(S, P, O).                    // eq-rep-o
clash("eq-diff1", X) :- triple(X, owl:sameAs, Y), triple(X, owl:differentFrom, Y).
clash("eq-diff2", X) :- triple(A, rdf:type, owl:AllDifferent), triple(A, owl:members, L), list_member(L, X), list_member(L, Y), X != Y, triple(X, owl:sameAs, Y).
clash("eq-diff3", X) :- triple(A, rdf:type, owl:AllDifferent), triple(A, owl:distinctMembers, L), list_member(L, X), list_member(L, Y), X != Y, triple(X, owl:sameAs, Y).
triple(X, owl:differentFrom, Y) :- triple(A, rdf:type, owl:AllDifferent), triple(A, owl:members, L), list_member(L, X), list_member(L, Y), X != Y.
triple(X, owl:differentFrom, Y) :- triple(A, rdf:type, owl:AllDifferent), triple(A, owl:distinctMembers, L), list_member(L, X), list_member(L, Y), X != Y.
triple(Y, owl:differentFrom, X) :- triple(X, owl:differentFrom, Y).

// properties
triple(X, rdf:type, C) :- triple(P, rdfs:domain, C), triple(X, P, _).                      // prp-dom
triple(Y, rdf:type, C) :- triple(P, rdfs:range, C), triple(_, P, Y).                       // prp-rng
triple(Y1, owl:sameAs, Y2) :- triple(P, rdf:type, owl:FunctionalProperty), triple(X, P, Y1), triple(X, P, Y2), Y1 != Y2.          // prp-fp
triple(X1, owl:sameAs, X2) :- triple(P, rdf:type, owl:InverseFunctionalProperty), triple(X1, P, Y), triple(X2, P, Y), X1 != X2.   // prp-ifp
clash("prp-irp", X) :- triple(P, rdf:type, owl:IrreflexiveProperty), triple(X, P, X).
triple(Y, P, X) :- triple(P, rdf:type, owl:SymmetricProperty), triple(X, P, Y).           // prp-symp
clash("prp-asyp", X) :- triple(P, rdf:type, owl:AsymmetricProperty), triple(X, P, Y), triple(Y, P, X).
triple(X, P, Z) :- triple(P, rdf:type, owl:TransitiveProperty), triple(X, P, Y), triple(Y, P, Z).  // prp-trp
triple(X, P2, Y) :- triple(P1, rdfs:subPropertyOf, P2), P1 != P2, triple(X, P1, Y).        // prp-spo1
chain_list(L) :- triple(_, owl:propertyChainAxiom, L).
chain_list(R) :- chain_list(L), triple(L, rdf:rest, R).
chain(L, X, Y) :- chain_list(L), triple(L, rdf:first, P), triple(L, rdf:rest, rdf:nil), triple(X, P, Y).
chain(L, X, Y) :- chain_list(L), triple(L, rdf:first, P), triple(L, rdf:rest, R), R != rdf:nil, triple(X, P, Z), chain(R, Z, Y).
triple(X, P, Y) :- triple(P, owl:propertyChainAxiom, L), chain(L, X, Y).                  // prp-spo2
// a chain (P P) below P is transitivity of P (RDF-Based semantics, 5.11)
triple(P, rdf:type, owl:TransitiveProperty) :- triple(P, owl:propertyChainAxiom, L), triple(L, rdf:first, P), triple(L, rdf:rest, R), triple(R, rdf:first, P), triple(R, rdf:rest, rdf:nil).
// reflexive properties relate every named individual to itself (beyond RL, sound under RDF-Based semantics)
triple(X, P, X) :- triple(P, rdf:type, owl:ReflexiveProperty), triple(X, rdf:type, owl:NamedIndividual).
triple(X, Q, Y) :- triple(P, owl:equivalentProperty, Q), P != Q, triple(X, P, Y).        // prp-eqp1
triple(X, P, Y) :- triple(P, owl:equivalentProperty, Q), P != Q, triple(X, Q, Y).        // prp-eqp2
clash("prp-pdw", X) :- triple(P1, owl:propertyDisjointWith, P2), triple(X, P1, Y), triple(X, P2, Y).
clash("prp-adp", X) :- triple(A, rdf:type, owl:AllDisjointProperties), triple(A, owl:members, L), list_member(L, P1), list_member(L, P2), P1 != P2, triple(X, P1, Y), triple(X, P2, Y).
triple(Y, P2, X) :- triple(P1, owl:inverseOf, P2), triple(X, P1, Y).                      // prp-inv1
triple(Y, P1, X) :- triple(P1, owl:inverseOf, P2), triple(X, P2, Y).                      // prp-inv2
key_list(L) :- triple(_, owl:hasKey, L).
key_list(R) :- key_list(L), triple(L, rdf:rest, R).
key_candidate(C, X) :- triple(C, owl:hasKey, _), triple(X, rdf:type, C).
key_agree(L, X, Y) :- key_list(L), triple(L, rdf:first, P), triple(L, rdf:rest, rdf:nil), triple(X, P, Z), triple(Y, P, Z).
key_agree(L, X, Y) :- key_list(L), triple(L, rdf:first, P), triple(L, rdf:rest, R), R != rdf:nil, key_agree(R, X, Y), triple(X, P, Z), triple(Y, P, Z).
triple(X, owl:sameAs, Y) :- triple(C, owl:hasKey, L), key_candidate(C, X), key_candidate(C, Y), X != Y, key_agree(L, X, Y).  // prp-key
clash("prp-npa1", I1) :- triple(X, owl:sourceIndividual, I1), triple(X, owl:assertionProperty, P), triple(X, owl:targetIndividual, I2), triple(I1, P, I2).
clash("prp-npa2", I) :- triple(X, owl:sourceIndividual, I), triple(X, owl:assertionProperty, P), triple(X, owl:targetValue, LT), triple(I, P, LT).

// classes
triple(owl:Thing, rdf:type, owl:Class).                                  // cls-thing
triple(owl:Nothing, rdf:type, owl:Class).                                // cls-nothing1
clash("cls-nothing2", X) :- triple(X, rdf:type, owl:Nothing).
all_types(L, X) :- list_cell(_, L), triple(L, rdf:first, C), triple(L, rdf:rest, rdf:nil), triple(X, rdf:type, C).
all_types(L, X) :- list_cell(_, L), triple(L, rdf:first, C), triple(L, rdf:rest, R), R != rdf:nil, all_types(R, X), triple(X, rdf:type, C).
triple(Y, rdf:type, C) :- triple(C, owl:intersectionOf, L), all_types(L, Y).               // cls-int1
triple(Y, rdf:type, C1) :- triple(C, owl:intersectionOf, L), list_member(L, C1), triple(Y, rdf:type, C).  // cls-int2
triple(Y, rdf:type, C) :- triple(C, owl:unionOf, L), list_member(L, C1), triple(Y, rdf:type, C1).        // cls-uni
clash("cls-com", X) :- triple(C1, owl:complementOf, C2), triple(X, rdf:type, C1), triple(X, rdf:type, C2).
triple(U, rdf:type, X) :- triple(X, owl:someValuesFrom, Y), triple(X, owl:onProperty, P), triple(U, P, V), triple(V, rdf:type, Y).  // cls-svf1
triple(U, rdf:type, X) :- triple(X, owl:someValuesFrom, owl:Thing), triple(X, owl:onProperty, P), triple(U, P, _).  // cls-svf2
triple(V, rdf:type, Y) :- triple(X, owl:allValuesFrom, Y), triple(X, owl:onProperty, P), triple(U, rdf:type, X), triple(U, P, V).  // cls-avf
triple(U, P, Y) :- triple(X, owl:hasValue, Y), triple(X, owl:onProperty, P), triple(U, rdf:type, X).      // cls-hv1
triple(U, rdf:type, X) :- triple(X, owl:hasValue, Y), triple(X, owl:onProperty, P), triple(U, P, Y).      // cls-hv2
clash("cls-maxc1", U) :- triple(X, owl:maxCardinality, "\\"0\\"^^<http://www.w3.org/2001/XMLSchema#nonNegativeInteger>"), triple(X, owl:onProperty, P), triple(U, rdf:type, X), triple(U, P, _).
triple(Y1, owl:sameAs, Y2) :- triple(X, owl:maxCardinality, "\\"1\\"^^<http://www.w3.org/2001/XMLSchema#nonNegativeInteger>"), triple(X, owl:onProperty, P), triple(U, rdf:type, X), triple(U, P, Y1), triple(U, P, Y2), Y1 != Y2.  // cls-maxc2
clash("cls-maxqc1", U) :- triple(X, owl:maxQualifiedCardinality, "\\"0\\"^^<http://www.w3.org/2001/XMLSchema#nonNegativeInteger>"), triple(X, owl:onProperty, P), triple(X, owl:onClass, C), triple(U, rdf:type, X), triple(U, P, Y), triple(Y, rdf:type, C).
clash("cls-maxqc2", U) :- triple(X, owl:maxQualifiedCardinality, "\\"0\\"^^<http://www.w3.org/2001/XMLSchema#nonNegativeInteger>"), triple(X, owl:onProperty, P), triple(X, owl:onClass, owl:Thing), triple(U, rdf:type, X), triple(U, P, _).
triple(Y1, owl:sameAs, Y2) :- triple(X, owl:maxQualifiedCardinality, "\\"1\\"^^<http://www.w3.org/2001/XMLSchema#nonNegativeInteger>"), triple(X, owl:onProperty, P), triple(X, owl:onClass, C), triple(U, rdf:type, X), triple(U, P, Y1), triple(Y1, rdf:type, C), triple(U, P, Y2), triple(Y2, rdf:type, C), Y1 != Y2.  // cls-maxqc3
triple(Y1, owl:sameAs, Y2) :- triple(X, owl:maxQualifiedCardinality, "\\"1\\"^^<http://www.w3.org/2001/XMLSchema#nonNegativeInteger>"), triple(X, owl:onProperty, P), triple(X, owl:onClass, owl:Thing), triple(U, rdf:type, X), triple(U, P, Y1), triple(U, P, Y2), Y1 != Y2.  // cls-maxqc4
triple(Y, rdf:type, C) :- triple(C, owl:oneOf, L), list_member(L, Y).                     // cls-oo

// the XSD numeric datatype hierarchy: value-space inclusion is subclassing (extensional semantics)
triple(xsd:byte, rdfs:subClassOf, xsd:short).
triple(xsd:short, rdfs:subClassOf, xsd:int).
triple(xsd:int, rdfs:subClassOf, xsd:long).
triple(xsd:long, rdfs:subClassOf, xsd:integer).
triple(xsd:unsignedByte, rdfs:subClassOf, xsd:unsignedShort).
triple(xsd:unsignedShort, rdfs:subClassOf, xsd:unsignedInt).
triple(xsd:unsignedInt, rdfs:subClassOf, xsd:unsignedLong).
triple(xsd:unsignedLong, rdfs:subClassOf, xsd:nonNegativeInteger).
triple(xsd:positiveInteger, rdfs:subClassOf, xsd:nonNegativeInteger).
triple(xsd:nonNegativeInteger, rdfs:subClassOf, xsd:integer).
triple(xsd:negativeInteger, rdfs:subClassOf, xsd:nonPositiveInteger).
triple(xsd:nonPositiveInteger, rdfs:subClassOf, xsd:integer).
triple(xsd:integer, rdfs:subClassOf, xsd:decimal).

// OWL vocabulary axioms of the RDF-Based semantics (section 4) that type property characteristics
triple(owl:TransitiveProperty, rdfs:subClassOf, owl:ObjectProperty).
triple(owl:SymmetricProperty, rdfs:subClassOf, owl:ObjectProperty).
triple(owl:AsymmetricProperty, rdfs:subClassOf, owl:ObjectProperty).
triple(owl:ReflexiveProperty, rdfs:subClassOf, owl:ObjectProperty).
triple(owl:IrreflexiveProperty, rdfs:subClassOf, owl:ObjectProperty).
triple(owl:InverseFunctionalProperty, rdfs:subClassOf, owl:ObjectProperty).
triple(owl:ObjectProperty, rdfs:subClassOf, rdf:Property).
triple(owl:DatatypeProperty, rdfs:subClassOf, rdf:Property).
triple(owl:FunctionalProperty, rdfs:subClassOf, rdf:Property).
triple(owl:Class, rdfs:subClassOf, rdfs:Class).
triple(owl:Restriction, rdfs:subClassOf, owl:Class).
triple(owl:inverseOf, rdfs:domain, owl:ObjectProperty).
triple(owl:inverseOf, rdfs:range, owl:ObjectProperty).
triple(owl:propertyChainAxiom, rdfs:domain, owl:ObjectProperty).
triple(owl:equivalentClass, rdfs:domain, owl:Class).
triple(owl:equivalentClass, rdfs:range, owl:Class).
triple(owl:disjointWith, rdfs:domain, owl:Class).
triple(owl:disjointWith, rdfs:range, owl:Class).
triple(owl:onProperty, rdfs:domain, owl:Restriction).

// n-ary disjointness axioms state the pairwise ones (RDF-Based semantics, 5.10 and 5.12)
triple(C1, owl:disjointWith, C2) :- triple(A, rdf:type, owl:AllDisjointClasses), triple(A, owl:members, L), list_member(L, C1), list_member(L, C2), C1 != C2.
triple(P1, owl:propertyDisjointWith, P2) :- triple(A, rdf:type, owl:AllDisjointProperties), triple(A, owl:members, L), list_member(L, P1), list_member(L, P2), P1 != P2.

// class axioms
triple(X, rdf:type, C2) :- triple(C1, rdfs:subClassOf, C2), C1 != C2, triple(X, rdf:type, C1).  // cax-sco
triple(X, rdf:type, C2) :- triple(C1, owl:equivalentClass, C2), C1 != C2, triple(X, rdf:type, C1). // cax-eqc1
triple(X, rdf:type, C1) :- triple(C1, owl:equivalentClass, C2), C1 != C2, triple(X, rdf:type, C2). // cax-eqc2
clash("cax-dw", X) :- triple(C1, owl:disjointWith, C2), triple(X, rdf:type, C1), triple(X, rdf:type, C2).
clash("cax-adc", X) :- triple(A, rdf:type, owl:AllDisjointClasses), triple(A, owl:members, L), list_member(L, C1), list_member(L, C2), C1 != C2, triple(X, rdf:type, C1), triple(X, rdf:type, C2).

// schema
triple(C, rdfs:subClassOf, C) :- triple(C, rdf:type, owl:Class).                         // scm-cls
triple(C, owl:equivalentClass, C) :- triple(C, rdf:type, owl:Class).
triple(C, rdfs:subClassOf, owl:Thing) :- triple(C, rdf:type, owl:Class).
triple(owl:Nothing, rdfs:subClassOf, C) :- triple(C, rdf:type, owl:Class).
triple(C1, rdfs:subClassOf, C3) :- triple(C1, rdfs:subClassOf, C2), C1 != C2, triple(C2, rdfs:subClassOf, C3), C2 != C3.  // scm-sco
triple(C1, rdfs:subClassOf, C2) :- triple(C1, owl:equivalentClass, C2).                  // scm-eqc1
triple(C2, rdfs:subClassOf, C1) :- triple(C1, owl:equivalentClass, C2).
triple(C1, owl:equivalentClass, C2) :- triple(C1, rdfs:subClassOf, C2), triple(C2, rdfs:subClassOf, C1).  // scm-eqc2
triple(P, rdfs:subPropertyOf, P) :- triple(P, rdf:type, owl:ObjectProperty).             // scm-op
triple(P, owl:equivalentProperty, P) :- triple(P, rdf:type, owl:ObjectProperty).
triple(P, rdfs:subPropertyOf, P) :- triple(P, rdf:type, owl:DatatypeProperty).           // scm-dp
triple(P, owl:equivalentProperty, P) :- triple(P, rdf:type, owl:DatatypeProperty).
triple(P1, rdfs:subPropertyOf, P3) :- triple(P1, rdfs:subPropertyOf, P2), P1 != P2, triple(P2, rdfs:subPropertyOf, P3), P2 != P3.  // scm-spo
triple(P1, rdfs:subPropertyOf, P2) :- triple(P1, owl:equivalentProperty, P2).            // scm-eqp1
triple(P2, rdfs:subPropertyOf, P1) :- triple(P1, owl:equivalentProperty, P2).
triple(P1, owl:equivalentProperty, P2) :- triple(P1, rdfs:subPropertyOf, P2), triple(P2, rdfs:subPropertyOf, P1).  // scm-eqp2
triple(P, rdfs:domain, C2) :- triple(P, rdfs:domain, C1), triple(C1, rdfs:subClassOf, C2).  // scm-dom1
triple(P1, rdfs:domain, C) :- triple(P2, rdfs:domain, C), triple(P1, rdfs:subPropertyOf, P2).  // scm-dom2
triple(P, rdfs:range, C2) :- triple(P, rdfs:range, C1), triple(C1, rdfs:subClassOf, C2).    // scm-rng1
triple(P1, rdfs:range, C) :- triple(P2, rdfs:range, C), triple(P1, rdfs:subPropertyOf, P2).    // scm-rng2
triple(C1, rdfs:subClassOf, C2) :- triple(C1, owl:hasValue, I), triple(C1, owl:onProperty, P1), triple(C2, owl:hasValue, I), triple(C2, owl:onProperty, P2), triple(P1, rdfs:subPropertyOf, P2).  // scm-hv
triple(C1, rdfs:subClassOf, C2) :- triple(C1, owl:someValuesFrom, Y1), triple(C1, owl:onProperty, P), triple(C2, owl:someValuesFrom, Y2), triple(C2, owl:onProperty, P), triple(Y1, rdfs:subClassOf, Y2).  // scm-svf1
triple(C1, rdfs:subClassOf, C2) :- triple(C1, owl:someValuesFrom, Y), triple(C1, owl:onProperty, P1), triple(C2, owl:someValuesFrom, Y), triple(C2, owl:onProperty, P2), triple(P1, rdfs:subPropertyOf, P2).  // scm-svf2
triple(C1, rdfs:subClassOf, C2) :- triple(C1, owl:allValuesFrom, Y1), triple(C1, owl:onProperty, P), triple(C2, owl:allValuesFrom, Y2), triple(C2, owl:onProperty, P), triple(Y1, rdfs:subClassOf, Y2).  // scm-avf1
triple(C2, rdfs:subClassOf, C1) :- triple(C1, owl:allValuesFrom, Y), triple(C1, owl:onProperty, P1), triple(C2, owl:allValuesFrom, Y), triple(C2, owl:onProperty, P2), triple(P1, rdfs:subPropertyOf, P2).  // scm-avf2
triple(C, rdfs:subClassOf, C1) :- triple(C, owl:intersectionOf, L), list_member(L, C1).  // scm-int
triple(C1, rdfs:subClassOf, C) :- triple(C, owl:unionOf, L), list_member(L, C1).         // scm-uni
"""


def ruleset(name: str) -> str:
    """The full program text (declarations and rules) of a named rule set.

    ``"rdfs"`` is the RDF and RDFS entailment rules; ``"owl-rl"`` is OWL 2 RL
    (which also includes the RDFS rules' schema reasoning through its own
    ``scm-*``/``prp-*``/``cax-*`` rules).
    """
    if name == "rdf":
        return expand(DECLS + RDF_RULES)
    if name == "rdfs":
        return expand(DECLS + RDFS_RULES)
    if name in ("owl-rl", "owl2-rl", "owlrl"):
        return expand(DECLS + OWL_RL_RULES)
    if name in ("rdfs+owl-rl", "owl-rl+rdfs"):
        return expand(DECLS + OWL_RL_RULES + RDFS_RULES)
    from dynamic_semantic_lattice_engine.errors import LatticeInputError

    raise LatticeInputError(
        f"unknown rule set {name!r}", hint="use rdf, rdfs, owl-rl, rdfs+owl-rl or a .dl file"
    )

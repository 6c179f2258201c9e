"""Test and benchmark helpers other packages (and this one's benches) can reuse.

:func:`generate_ontology` builds the workload the benchmarks name: a class
hierarchy of depth 6, sub-properties with domains and ranges, transitive,
symmetric and inverse properties, and a chosen number of instance triples.
:func:`normalise` maps an RDFS / OWL 2 RL closure to the part two reasoners
must agree on, listing each intended difference with its reason.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

__all__ = ["NORMALISATION", "generate_ontology", "normalise"]

EX = Namespace("http://example.org/bench#")

NORMALISATION = {
    "reflexive owl:sameAs": "owlrl adds x owl:sameAs x for every resource (eq-ref); it carries no information",
    "literal subjects": "generalised triples with a literal subject are not RDF; owlrl emits some, dsle keeps them internal",
    "vocabulary-only triples": "triples whose terms all come from the rdf/rdfs/owl/xsd vocabularies are axioms (and owlrl's datatype axioms); reasoners list different finite subsets",
    "membership in the top classes": (
        "x rdf:type owl:Thing / rdfs:Resource / rdfs:Class / rdf:Property: the RDF-Based semantics"
        " makes every resource an owl:Thing and rdfs:Resource; owlrl and dsle derive different"
        " subsets of these from different axiom sets (dsle's OWL 2 RL includes the RDFS axioms)"
    ),
}

_TOP = {OWL.Thing, RDFS.Resource, RDFS.Class, RDF.Property}

_VOCAB = (str(RDF), str(RDFS), str(OWL), str(XSD))


def generate_ontology(
    instance_triples: int, *, seed: int = 7, depth: int = 6, fanout: int = 3
) -> Graph:
    """A synthetic ontology with instances.

    Args:
        instance_triples: roughly how many instance triples (types and property assertions).
        seed: random seed; the same seed gives the same graph.
        depth: depth of the class hierarchy.
        fanout: sub-classes per class.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible benchmark data, not security
    g = Graph()
    classes = [EX["C0"]]
    frontier = [EX["C0"]]
    for level in range(1, depth + 1):
        nxt = []
        for parent in frontier:
            for k in range(fanout if level < 4 else 1):
                child = EX[f"C{level}_{len(classes)}_{k}"]
                g.add((child, RDFS.subClassOf, parent))
                classes.append(child)
                nxt.append(child)
        frontier = nxt
    props = []
    for i in range(8):
        top = EX[f"p{i}"]
        sub = EX[f"p{i}_sub"]
        g.add((sub, RDFS.subPropertyOf, top))
        g.add((top, RDFS.domain, rng.choice(classes)))
        g.add((top, RDFS.range, rng.choice(classes)))
        props.extend([top, sub])
    trans, sym, inv_a, inv_b = EX.partOf, EX.knows, EX.parentOf, EX.childOf
    g.add((trans, RDF.type, OWL.TransitiveProperty))
    g.add((sym, RDF.type, OWL.SymmetricProperty))
    g.add((inv_a, OWL.inverseOf, inv_b))
    leaves = frontier
    n_ind = max(10, instance_triples // 4)
    individuals = [EX[f"i{k}"] for k in range(n_ind)]
    added = 0
    while added < instance_triples:
        roll = rng.random()
        a = rng.choice(individuals)
        if roll < 0.3:
            g.add((a, RDF.type, rng.choice(leaves)))
        elif roll < 0.7:
            g.add((a, rng.choice(props), rng.choice(individuals)))
        elif roll < 0.8:
            chain_start = rng.randrange(n_ind - 3)
            g.add((individuals[chain_start], trans, individuals[chain_start + 1]))
        elif roll < 0.9:
            g.add((a, sym, rng.choice(individuals)))
        elif roll < 0.97:
            g.add((a, inv_a, rng.choice(individuals)))
        else:
            g.add((a, RDFS.label, Literal(f"individual {a[-6:]}")))
        added += 1
    return g


def _vocabulary(term: object) -> bool:
    return isinstance(term, URIRef) and str(term).startswith(_VOCAB)


def normalise(
    triples: Iterable[tuple[object, object, object]],
) -> set[tuple[object, object, object]]:
    """The comparable part of a closure (see :data:`NORMALISATION`)."""
    out = set()
    for s, p, o in triples:
        if isinstance(s, Literal):
            continue
        if p == OWL.sameAs and s == o:
            continue
        if _vocabulary(s) and _vocabulary(p) and (_vocabulary(o) or isinstance(o, Literal)):
            continue
        if p == RDF.type and o in _TOP:
            continue
        out.add((s, p, o))
    return out

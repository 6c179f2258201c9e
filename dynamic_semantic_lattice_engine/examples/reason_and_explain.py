"""Load Turtle, materialise the RDFS closure, query it with SPARQL and explain one inference."""

from dynamic_semantic_lattice_engine import KnowledgeBase

TTL = """
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Cat rdfs:subClassOf ex:Mammal .
ex:Mammal rdfs:subClassOf ex:Animal .
ex:tom a ex:Cat .
"""

kb = KnowledgeBase()
kb.load_rdf(data=TTL, format="turtle")
kb.reason("rdfs")
for row in kb.query("PREFIX ex: <http://example.org/> SELECT ?c WHERE { ex:tom a ?c } "):
    print(row["c"])
TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
print(
    kb.explain(
        f'triple("<http://example.org/tom>", "{TYPE}", "<http://example.org/Animal>")'
    ).render()
)

"""The architecture's example: two replicas write "key"; merged, last writer wins, in either order."""

from dynamic_semantic_lattice_engine import SemanticLattice

lattice1 = SemanticLattice(replica="replica-1")
lattice2 = SemanticLattice(replica="replica-2")
lattice1.insert("key", "value1")
lattice2.insert("key", "value2")

print(lattice1.merge(lattice2).get("key"))
print(lattice2.merge(lattice1).get("key"))

"""Stratification: order the program's recursive components so negation is safe.

Predicates are grouped into strongly connected components of the dependency
graph (Tarjan's algorithm); components are evaluated in topological order.
A negated atom or an aggregate that depends on its own component has no
stratified meaning and is rejected with the cycle named.
"""

from __future__ import annotations

from collections.abc import Iterable

from dynamic_semantic_lattice_engine._program import Aggregate, Atom, Rule
from dynamic_semantic_lattice_engine.errors import LatticeProgramError

__all__ = ["stratify"]


def _edges(rule: Rule) -> Iterable[tuple[str, bool]]:
    for lit in rule.body:
        if isinstance(lit, Atom):
            yield lit.pred, lit.negated
        elif isinstance(lit, Aggregate):
            for inner in lit.body:
                if isinstance(inner, Atom):
                    yield inner.pred, True


def stratify(preds: Iterable[str], rules: list[Rule]) -> list[list[str]]:
    """Components of the dependency graph in evaluation order (dependencies first)."""
    graph: dict[str, set[str]] = {p: set() for p in preds}
    negative: set[tuple[str, str]] = set()
    for rule in rules:
        head = rule.head.pred
        graph.setdefault(head, set())
        for pred, neg in _edges(rule):
            graph.setdefault(pred, set())
            graph[pred].add(head)
            if neg:
                negative.add((pred, head))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root, succ in graph.items():
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(succ))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                components.append(comp)
    components.reverse()  # Tarjan emits sinks first; edges point from body to head
    where = {p: i for i, comp in enumerate(components) for p in comp}
    for src, dst in negative:
        if where[src] == where[dst]:
            raise LatticeProgramError(
                f"{dst} depends on {src} through negation or aggregation inside a recursive cycle",
                hint="the program is not stratifiable; break the cycle through the negated atom",
                relations=sorted(components[where[src]]),
                code="cyclic_negation",
            )
    return components

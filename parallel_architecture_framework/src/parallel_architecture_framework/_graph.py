"""Graphs built before they run, so the scheduler sees the whole shape at once.

``Graph.add(fn, *args)`` returns a :class:`GraphNode`; a node passed as an
argument of a later ``add`` is a dependency (inside lists, tuples and dicts
too).  Because nodes can only refer to nodes added before them, a graph is
acyclic by construction.  Submitting a graph with ``Client.compute`` gives
every node its exact critical-path priority: the largest total ``cost`` of
any path from the node to the end of the graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from parallel_architecture_framework._node import find_instances
from parallel_architecture_framework._task import Task, as_task
from parallel_architecture_framework.errors import ParallelInputError

__all__ = ["Graph", "GraphNode"]


class GraphNode:
    """A task in a :class:`Graph`; pass it to later ``add`` calls to depend on it."""

    __slots__ = ("args", "deps", "graph", "index", "kwargs", "task")

    def __init__(  # noqa: PLR0917 - built only by Graph.add
        self,
        graph: Graph,
        index: int,
        task: Task[Any, Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        deps: list[GraphNode],
    ) -> None:
        self.graph = graph
        self.index = index
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.deps = deps

    def __repr__(self) -> str:
        return f"<GraphNode {self.index} {self.task.name}>"


class Graph:
    """A directed acyclic graph of task calls, runnable unchanged on any executor."""

    def __init__(self) -> None:
        self.nodes: list[GraphNode] = []

    def __len__(self) -> int:
        return len(self.nodes)

    def add(
        self, fn: Callable[..., Any] | Task[Any, Any], /, *args: Any, **kwargs: Any
    ) -> GraphNode:
        """Add the call ``fn(*args, **kwargs)``; nodes among the arguments are dependencies."""
        found: list[Any] = []
        for arg in args:
            find_instances(arg, (GraphNode,), found)
        for arg in kwargs.values():
            find_instances(arg, (GraphNode,), found)
        deps: list[GraphNode] = []
        for dep in found:
            if dep.graph is not self:
                raise ParallelInputError(
                    f"node {dep!r} belongs to another graph",
                    hint="build each graph from its own nodes, or pass a computed future instead",
                )
            if dep not in deps:
                deps.append(dep)
        node = GraphNode(self, len(self.nodes), as_task(fn), args, kwargs, deps)
        self.nodes.append(node)
        return node

    def map(
        self, fn: Callable[..., Any] | Task[Any, Any], /, *iterables: Iterable[Any]
    ) -> list[GraphNode]:
        """One node per element (zipped over several iterables, like ``map``)."""
        return [self.add(fn, *values) for values in zip(*iterables, strict=False)]

    def reduce(
        self, fn: Callable[[Any, Any], Any] | Task[Any, Any], items: Iterable[Any], /
    ) -> GraphNode | Any:
        """Combine ``items`` pairwise in a balanced tree of ``fn(a, b)`` calls.

        A tree of depth ``log2(n)`` exposes ``n/2`` independent calls at the
        first level where a left fold would expose one; ``fn`` must be
        associative.  One item is returned as is.
        """
        level = list(items)
        if not level:
            raise ParallelInputError(
                "cannot reduce an empty sequence", hint="pass at least one item"
            )
        while len(level) > 1:
            paired = [self.add(fn, level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                paired.append(level[-1])
            level = paired
        return level[0]

    def priorities(self) -> list[float]:
        """Critical-path priority of each node: its cost plus the costliest path below it."""
        below = [0.0] * len(self.nodes)
        for node in reversed(self.nodes):
            mine = node.task.cost + below[node.index]
            below[node.index] = mine
            for dep in node.deps:
                below[dep.index] = max(below[dep.index], mine)
        return below

    def critical_path(self) -> list[GraphNode]:
        """The costliest chain of dependent nodes, first to last (by declared ``cost``)."""
        if not self.nodes:
            return []
        priority = self.priorities()
        roots = [n for n in self.nodes if not n.deps]
        node = max(roots, key=lambda n: priority[n.index])
        path = [node]
        dependants: dict[int, list[GraphNode]] = {}
        for candidate in self.nodes:
            for dep in candidate.deps:
                dependants.setdefault(dep.index, []).append(candidate)
        while dependants.get(node.index):
            node = max(dependants[node.index], key=lambda n: priority[n.index])
            path.append(node)
        return path

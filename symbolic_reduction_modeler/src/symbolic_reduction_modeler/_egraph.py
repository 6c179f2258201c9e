"""An e-graph: equivalence classes of expressions, kept closed under congruence.

This is the data structure of equality saturation (Willsey et al., *egg:
Fast and Extensible Equality Saturation*, POPL 2021), written here on our
own expressions:

* an **e-node** is an operator over e-class ids: ``("+", None, (a, b))``,
  ``("sin", None, (a,))``, a leaf ``("num", Fraction(2), ())`` or
  ``("sym", x, ())``.  ``+`` and ``*`` are binary and commutative: their
  two children are kept sorted, so commutativity costs nothing;
  associativity is a rewrite rule;
* an **e-class** is a set of e-nodes known to be equal;
* a **hash-cons** maps every canonical e-node to its class, so adding a node
  that exists already returns the existing class;
* a **union-find** over class ids records merges;
* merging breaks the congruence invariant (``f(a)`` and ``f(b)`` must share
  a class once ``a = b``); as in egg, repair is *deferred*: ``union`` only
  queues the merged class and :meth:`EGraph.rebuild` restores the invariant
  once per saturation iteration, which is what makes the structure fast;
* every class carries an **analysis** (:class:`Facts`): its constant value
  when known (so constants fold) and what the assumptions system proves
  about it (real, positive, non-negative, integer), which conditional
  rewrites such as ``log(exp(a)) -> a`` for real ``a`` consult.

Pattern matching, rules and the saturation loop are in ``_rewrite``;
extraction of the cheapest member is :meth:`EGraph.extract`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import cast

from symbolic_reduction_modeler._expr import Add, Expr, Func, Mul, Number, Pow, Symbol

__all__ = ["AST_SIZE", "CostFunction", "EGraph", "ENode", "Facts", "weighted_cost"]

ENode = tuple[str, object, tuple[int, ...]]
"""``(operator, payload, children)``: payload is the number or symbol of a leaf."""

CostFunction = Callable[[str, object], float]
"""The cost of one e-node given its operator and payload (children are added)."""

COMMUTATIVE = frozenset({"+", "*"})
FUNCTIONS = frozenset(Func.NAMES)
MAX_FOLD_BITS = 256  # constants are folded only while they stay this small


def AST_SIZE(op: str, payload: object) -> float:  # noqa: N802  # a constant-like cost model
    """Every node costs 1: extraction minimises the size of the tree."""
    return 1.0


def weighted_cost(weights: dict[str, float], default: float = 1.0) -> CostFunction:
    """A cost model charging ``weights[op]`` per node (``default`` for others).

    e.g. ``weighted_cost({"^": 2, "sin": 4, "cos": 4})`` prefers fewer
    transcendental calls even at the price of a larger tree.
    """

    def cost(op: str, payload: object) -> float:
        return weights.get(op, default)

    return cost


@dataclass(frozen=True)
class Facts:
    """What is known about every member of one e-class."""

    const: Fraction | None = None
    real: bool = False
    positive: bool = False
    nonnegative: bool = False
    integer: bool = False

    def merge(self, other: Facts) -> Facts:
        """Facts proven by either side hold for both (they are equal)."""
        return Facts(
            self.const if self.const is not None else other.const,
            self.real or other.real,
            self.positive or other.positive,
            self.nonnegative or other.nonnegative or self.positive or other.positive,
            self.integer or other.integer,
        )


def _number_facts(value: Fraction) -> Facts:
    return Facts(value, True, value > 0, value >= 0, value.denominator == 1)


def _small(value: Fraction) -> bool:
    return value.numerator.bit_length() + value.denominator.bit_length() <= MAX_FOLD_BITS


class EClass:
    """One equivalence class: its nodes, the nodes that use it, its facts."""

    __slots__ = ("facts", "nodes", "parents")

    def __init__(self, node: ENode, facts: Facts) -> None:
        self.nodes: list[ENode] = [node]
        self.parents: list[tuple[ENode, int]] = []
        self.facts = facts


class EGraph:
    """Hash-consed e-classes with union-find and deferred congruence repair."""

    def __init__(self) -> None:
        self._uf: list[int] = []
        self.classes: dict[int, EClass] = {}
        self._memo: dict[ENode, int] = {}
        self._pending: list[int] = []
        self._analysis_pending: list[int] = []
        self.node_count = 0

    # -- union-find ----------------------------------------------------------
    def find(self, cid: int) -> int:
        root = cid
        while self._uf[root] != root:
            root = self._uf[root]
        while self._uf[cid] != root:  # path compression
            self._uf[cid], cid = root, self._uf[cid]
        return root

    def canonical(self, node: ENode) -> ENode:
        op, payload, kids = node
        if not kids:
            return node
        ids = tuple(self.find(k) for k in kids)
        if op in COMMUTATIVE and ids[0] > ids[1]:
            ids = (ids[1], ids[0])
        return (op, payload, ids)

    # -- building ------------------------------------------------------------
    def add(self, node: ENode) -> int:
        """The class of ``node``, creating it if no equal node exists yet."""
        node = self.canonical(node)
        found = self._memo.get(node)
        if found is not None:
            return self.find(found)
        cid = len(self._uf)
        self._uf.append(cid)
        eclass = EClass(node, self._make_facts(node))
        self.classes[cid] = eclass
        self._memo[node] = cid
        self.node_count += 1
        for kid in node[2]:
            self.classes[self.find(kid)].parents.append((node, cid))
        self._fold(cid)
        return cid

    def add_expr(self, expr: Expr) -> int:
        """Add an expression tree; sums and products become left-nested binary nodes."""
        memo: dict[Expr, int] = {}

        def go(e: Expr) -> int:
            if e in memo:
                return memo[e]
            if isinstance(e, Number):
                cid = self.add(("num", e.value, ()))
            elif isinstance(e, Symbol):
                cid = self.add(("sym", e, ()))
            elif isinstance(e, Add | Mul):
                op = "+" if isinstance(e, Add) else "*"
                cid = go(e.args[0])
                for arg in e.args[1:]:
                    cid = self.add((op, None, (cid, go(arg))))
            elif isinstance(e, Pow):
                cid = self.add(("^", None, (go(e.args[0]), go(e.args[1]))))
            elif isinstance(e, Func):
                cid = self.add((e.name, None, (go(e.args[1]),)))
            else:
                raise TypeError(f"cannot add {type(e).__name__} to an e-graph")
            memo[e] = cid
            return cid

        return go(expr)

    def number(self, value: Fraction) -> int:
        return self.add(("num", value, ()))

    # -- merging -------------------------------------------------------------
    def union(self, a: int, b: int) -> bool:
        """Record ``a = b``; congruence is repaired later by :meth:`rebuild`."""
        a, b = self.find(a), self.find(b)
        if a == b:
            return False
        big, small = self.classes[a], self.classes[b]
        if len(big.nodes) + len(big.parents) < len(small.nodes) + len(small.parents):
            a, b, big, small = b, a, small, big
        self._uf[b] = a
        big.nodes.extend(small.nodes)
        big.parents.extend(small.parents)
        merged = big.facts.merge(small.facts)
        if merged != big.facts or merged != small.facts:
            self._analysis_pending.extend(p for _, p in big.parents)
        big.facts = merged
        del self.classes[b]
        self._pending.append(a)
        self._fold(a)
        return True

    def rebuild(self) -> None:
        """Restore the congruence invariant and the hash-cons (egg's deferred rebuild)."""
        while self._pending or self._analysis_pending:
            todo = {self.find(c) for c in self._pending}
            self._pending.clear()
            for cid in todo:
                self._repair(cid)
            changed = {self.find(c) for c in self._analysis_pending}
            self._analysis_pending.clear()
            for cid in changed:
                eclass = self.classes[cid]
                facts = eclass.facts
                for node in eclass.nodes:
                    facts = facts.merge(self._make_facts(self.canonical(node)))
                if facts != eclass.facts:
                    eclass.facts = facts
                    self._analysis_pending.extend(p for _, p in eclass.parents)
                    self._fold(cid)
        for eclass in self.classes.values():
            eclass.nodes = list(dict.fromkeys(self.canonical(n) for n in eclass.nodes))
        self.node_count = len(self._memo)

    def _repair(self, cid: int) -> None:
        eclass = self.classes.get(self.find(cid))
        if eclass is None:
            return
        snapshot, eclass.parents = eclass.parents, []
        for node, _ in snapshot:
            self._memo.pop(node, None)
        fresh: dict[ENode, int] = {}
        for node, parent in snapshot:
            canon = self.canonical(node)
            other = fresh.get(canon)
            if other is not None:
                self.union(other, parent)  # congruent parents: merge them
            existing = self._memo.get(canon)
            if existing is not None and self.find(existing) != self.find(parent):
                self.union(existing, parent)
            fresh[canon] = self.find(parent)
            self._memo[canon] = self.find(parent)
        owner = self.classes[self.find(cid)]
        owner.parents.extend(fresh.items())

    # -- analysis ------------------------------------------------------------
    def facts(self, cid: int) -> Facts:
        return self.classes[self.find(cid)].facts

    def _make_facts(self, node: ENode) -> Facts:
        op, payload, kids = node
        if op == "num":
            return _number_facts(cast(Fraction, payload))
        if op == "sym":
            sym = cast(Symbol, payload)
            return Facts(
                None,
                sym.is_("real"),
                sym.is_("positive"),
                sym.is_("nonnegative"),
                sym.is_("integer"),
            )
        args = [self.classes[self.find(k)].facts for k in kids]
        if op in ("+", "*"):
            a, b = args
            const = None
            if a.const is not None and b.const is not None:
                const = a.const + b.const if op == "+" else a.const * b.const
                if not _small(const):
                    const = None
            both_pos = a.positive and b.positive
            nonneg = a.nonnegative and b.nonnegative
            pos = both_pos or (
                op == "+" and ((a.positive and b.nonnegative) or (b.positive and a.nonnegative))
            )
            return Facts(const, a.real and b.real, pos, nonneg or pos, a.integer and b.integer)
        if op == "^":
            base, ex = args
            const = _fold_power(base.const, ex.const)
            even = ex.const is not None and ex.const.denominator == 1 and ex.const % 2 == 0
            real = (base.real and ex.integer) or (base.positive and ex.real)
            pos = base.positive and ex.real
            nonneg = (
                pos
                or (base.real and even)
                or (base.nonnegative and ex.real and ex.const is not None and ex.const > 0)
            )
            integer = (
                base.integer
                and ex.const is not None
                and ex.const.denominator == 1
                and ex.const >= 0
            )
            return Facts(const, real or nonneg, pos, nonneg, integer)
        (arg,) = args
        if op == "exp":
            return Facts(Fraction(1) if arg.const == 0 else None, arg.real, arg.real, arg.real)
        if op == "log":
            return Facts(Fraction(0) if arg.const == 1 else None, arg.positive)
        if op in ("sin", "cos", "tan"):
            const = Fraction(0) if arg.const == 0 and op != "cos" else None
            if arg.const == 0 and op == "cos":
                const = Fraction(1)
            return Facts(const, arg.real)
        if op == "abs":
            const = abs(arg.const) if arg.const is not None else None
            return Facts(const, True, False, True, arg.integer)
        raise TypeError(f"unknown e-node operator {op!r}")

    def _fold(self, cid: int) -> None:
        """A class with a known constant value also contains that number."""
        eclass = self.classes.get(self.find(cid))
        if eclass is None or eclass.facts.const is None:
            return
        num = self.add(("num", eclass.facts.const, ()))
        if self.find(num) != self.find(cid):
            self.union(num, cid)

    # -- extraction ----------------------------------------------------------
    def extract(self, root: int, cost: CostFunction = AST_SIZE) -> tuple[Expr, float]:
        """The cheapest expression in ``root``'s class under ``cost`` (bottom-up fixpoint)."""
        best: dict[int, tuple[float, ENode]] = {}
        changed = True
        while changed:
            changed = False
            for cid, eclass in self.classes.items():
                current = best.get(cid)
                for node in eclass.nodes:
                    total = cost(node[0], node[1])
                    for kid in node[2]:
                        found = best.get(self.find(kid))
                        if found is None:
                            break
                        total += found[0]
                    else:
                        if current is None or total < current[0]:
                            current = (total, node)
                            best[cid] = current
                            changed = True
        memo: dict[int, Expr] = {}

        def build(cid: int) -> Expr:
            cid = self.find(cid)
            if cid in memo:
                return memo[cid]
            op, payload, kids = best[cid][1]
            out: Expr
            if op == "num":
                out = Number.of(cast(Fraction, payload))
            elif op == "sym":
                out = cast(Symbol, payload)
            elif op == "+":
                out = Add.of(build(kids[0]), build(kids[1]))
            elif op == "*":
                out = Mul.of(build(kids[0]), build(kids[1]))
            elif op == "^":
                out = Pow.of(build(kids[0]), build(kids[1]))
            else:
                out = Func.of(op, build(kids[0]))
            memo[cid] = out
            return out

        root = self.find(root)
        return build(root), best[root][0]

    def class_ids(self) -> Iterable[int]:
        return list(self.classes)


def _fold_power(base: Fraction | None, ex: Fraction | None) -> Fraction | None:
    if base is None or ex is None or ex.denominator != 1 or abs(ex) > 64:
        return None
    if base == 0 and ex < 0:
        return None
    value = base ** int(ex)
    return value if _small(value) else None

"""The CEL abstract syntax tree, shaped like cel-spec's ``Expr`` proto.

Operators are calls with CEL's internal function names (``_+_``, ``_&&_``,
``_?_:_``, ``@in``, ``_[_]``...); macros are already expanded into
:class:`Comprehension` nodes, exactly as the CEL parser does.  Every node
keeps its source span so later passes can point diagnostics at it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Call",
    "Comprehension",
    "Const",
    "ErrorExpr",
    "Expr",
    "Ident",
    "ListExpr",
    "MapExpr",
    "Select",
    "StructExpr",
]


class Expr:
    """Base of every node: ``start``/``end`` are offsets into the source."""

    __slots__ = ("end", "start")

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end

    def children(self) -> list[Expr]:
        """Direct sub-expressions, in evaluation order."""
        return []


class Const(Expr):
    """A literal value (already a runtime value: int, UInt, float, str, bytes, bool, None)."""

    __slots__ = ("value",)

    def __init__(self, value: Any, start: int, end: int) -> None:
        super().__init__(start, end)
        self.value = value


class Ident(Expr):
    """A name; a leading ``.`` means "resolve from the root, ignore the container"."""

    __slots__ = ("name",)

    def __init__(self, name: str, start: int, end: int) -> None:
        super().__init__(start, end)
        self.name = name


class Select(Expr):
    """``operand.field``; with ``test_only`` it is the expansion of ``has(operand.field)``."""

    __slots__ = ("field", "operand", "optional", "test_only")

    def __init__(
        self,
        operand: Expr,
        field: str,
        test_only: bool,
        start: int,
        end: int,
        *,
        optional: bool = False,
    ) -> None:
        super().__init__(start, end)
        self.operand = operand
        self.field = field
        self.test_only = test_only
        self.optional = optional

    def children(self) -> list[Expr]:
        return [self.operand]


class Call(Expr):
    """A global call ``f(args)`` or a receiver call ``target.f(args)``."""

    __slots__ = ("args", "function", "target")

    def __init__(
        self, function: str, target: Expr | None, args: list[Expr], start: int, end: int
    ) -> None:
        super().__init__(start, end)
        self.function = function
        self.target = target
        self.args = args

    def children(self) -> list[Expr]:
        return ([self.target] if self.target is not None else []) + list(self.args)


class ListExpr(Expr):
    """``[e1, e2, ...]``."""

    __slots__ = ("elements", "optional_indices")

    def __init__(
        self,
        elements: list[Expr],
        start: int,
        end: int,
        optional_indices: frozenset[int] = frozenset(),
    ) -> None:
        super().__init__(start, end)
        self.elements = elements
        self.optional_indices = optional_indices

    def children(self) -> list[Expr]:
        return list(self.elements)


class MapExpr(Expr):
    """``{k1: v1, ...}``."""

    __slots__ = ("entries", "optional_indices")

    def __init__(
        self,
        entries: list[tuple[Expr, Expr]],
        start: int,
        end: int,
        optional_indices: frozenset[int] = frozenset(),
    ) -> None:
        super().__init__(start, end)
        self.entries = entries
        self.optional_indices = optional_indices

    def children(self) -> list[Expr]:
        return [e for kv in self.entries for e in kv]


class StructExpr(Expr):
    """``Type{field: value, ...}``: a message or declared-record literal."""

    __slots__ = ("fields", "type_name")

    def __init__(
        self, type_name: str, fields: list[tuple[str, Expr]], start: int, end: int
    ) -> None:
        super().__init__(start, end)
        self.type_name = type_name
        self.fields = fields

    def children(self) -> list[Expr]:
        return [v for _, v in self.fields]


class Comprehension(Expr):
    """CEL's one loop form; every macro expands to it.

    ``accu_var = accu_init; for iter_var[, iter_var2] in iter_range: if
    !loop_condition break; accu_var = loop_step``, then ``result``.
    ``macro`` names the macro it came from (for diagnostics and formatting).
    """

    __slots__ = (
        "accu_init",
        "accu_var",
        "iter_range",
        "iter_var",
        "iter_var2",
        "loop_condition",
        "loop_step",
        "macro",
        "original",
        "result",
    )

    def __init__(
        self,
        *,
        iter_var: str,
        iter_var2: str | None,
        iter_range: Expr,
        accu_var: str,
        accu_init: Expr,
        loop_condition: Expr,
        loop_step: Expr,
        result: Expr,
        macro: str,
        start: int,
        end: int,
    ) -> None:
        super().__init__(start, end)
        self.iter_var = iter_var
        self.iter_var2 = iter_var2
        self.iter_range = iter_range
        self.accu_var = accu_var
        self.accu_init = accu_init
        self.loop_condition = loop_condition
        self.loop_step = loop_step
        self.result = result
        self.macro = macro
        self.original: Call | None = None

    def children(self) -> list[Expr]:
        return [self.iter_range, self.accu_init, self.loop_condition, self.loop_step, self.result]


class ErrorExpr(Expr):
    """Stands in for a piece of source that failed to parse (error recovery)."""

    __slots__ = ()

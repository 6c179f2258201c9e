"""From the checked AST to bytecode: optimisation passes, then code generation.

Passes, in order:

1. :func:`fold` - constant folding and dead-code elimination on the AST (the
   IR): pure operators over constants are evaluated at compile time (when they
   succeed; an erroring constant expression is left to fail at run time with
   the same error), conditionals on constant conditions keep one branch, and
   ``false && x`` / ``true || x`` (either side) collapse as CEL allows.
2. :class:`CodeGen` - emits stack code.  Where CEL turns errors into values
   (both operands of ``&&``/``||``, a comprehension's step and condition) the
   generator records a protected range; the VM converts an error raised inside
   it into an error value at the range's end.  It also computes the static gas
   bound: the most gas any run can use, taking every comprehension at its
   maximum allowed length.
"""

from __future__ import annotations

from typing import Any, Final

from contract_executable_compiler._ast import (
    Call,
    Comprehension,
    Const,
    ErrorExpr,
    Expr,
    Ident,
    ListExpr,
    MapExpr,
    Select,
    StructExpr,
)
from contract_executable_compiler._bytecode import Op, Program
from contract_executable_compiler._messages import MessageTypes
from contract_executable_compiler._stdlib import (
    BINARY_OPERATORS,
    GLOBAL_FUNCTIONS,
    UNARY_OPERATORS,
    build_map,
)
from contract_executable_compiler._values import CelEvalError

__all__ = ["DEFAULT_MAX_ITERATIONS", "CodeGen", "compile_program", "fold"]

DEFAULT_MAX_ITERATIONS: Final = 10_000
_PURE_GLOBALS: Final = frozenset(GLOBAL_FUNCTIONS)


def _try_const(fn: Any, args: list[Any]) -> tuple[bool, Any]:
    try:
        return True, fn(*args)
    except (CelEvalError, ArithmeticError, ValueError, TypeError):
        return False, None  # left for run time, which reports the same error


def fold(e: Expr) -> Expr:
    """Constant folding and dead-code elimination; returns a new or the same tree."""
    if isinstance(e, Call):
        args = [fold(a) for a in e.args]
        target = fold(e.target) if e.target is not None else None
        fn = e.function
        if target is None:
            if fn == "_?_:_" and isinstance(args[0], Const) and type(args[0].value) is bool:
                return args[1] if args[0].value else args[2]
            if fn in ("_&&_", "_||_"):
                absorbing = fn == "_||_"
                for a in args:
                    if isinstance(a, Const) and a.value is absorbing:
                        return Const(absorbing, e.start, e.end)
                if all(isinstance(a, Const) and type(a.value) is bool for a in args):
                    return Const(not absorbing, e.start, e.end)
            if all(isinstance(a, Const) for a in args):
                values = [a.value for a in args]  # type: ignore[attr-defined]
                impl = (
                    BINARY_OPERATORS.get(fn)
                    if len(args) == 2
                    else UNARY_OPERATORS.get(fn)
                    if len(args) == 1 and fn in UNARY_OPERATORS
                    else None
                )
                if impl is None and fn in _PURE_GLOBALS:
                    impl = GLOBAL_FUNCTIONS[fn]
                if impl is not None:
                    ok, value = _try_const(impl, values)
                    if ok:
                        return Const(value, e.start, e.end)
        return Call(fn, target, args, e.start, e.end)
    if isinstance(e, ListExpr):
        elems = [fold(x) for x in e.elements]
        if e.optional_indices:
            return ListExpr(elems, e.start, e.end, e.optional_indices)
        if all(isinstance(x, Const) for x in elems):
            return Const([x.value for x in elems], e.start, e.end)  # type: ignore[attr-defined]
        return ListExpr(elems, e.start, e.end)
    if isinstance(e, MapExpr):
        entries = [(fold(k), fold(v)) for k, v in e.entries]
        if e.optional_indices:
            return MapExpr(entries, e.start, e.end, e.optional_indices)
        if all(isinstance(k, Const) and isinstance(v, Const) for k, v in entries):
            flat: list[Any] = []
            for k, v in entries:
                flat.extend((k.value, v.value))  # type: ignore[attr-defined]
            ok, value = _try_const(build_map, [flat])
            if ok:
                return Const(value, e.start, e.end)
        return MapExpr(entries, e.start, e.end)
    if isinstance(e, Select):
        return Select(fold(e.operand), e.field, e.test_only, e.start, e.end, optional=e.optional)
    if isinstance(e, Comprehension):
        return Comprehension(
            iter_var=e.iter_var,
            iter_var2=e.iter_var2,
            iter_range=fold(e.iter_range),
            accu_var=e.accu_var,
            accu_init=fold(e.accu_init),
            loop_condition=fold(e.loop_condition),
            loop_step=fold(e.loop_step),
            result=fold(e.result),
            macro=e.macro,
            start=e.start,
            end=e.end,
        )
    return e


def _qualified(e: Expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(e, Select) and not e.test_only and not e.optional:
        parts.append(e.field)
        e = e.operand
    if isinstance(e, Ident):
        parts.append(e.name)
        parts.reverse()
        return parts
    return None


class CodeGen:
    """Emits bytecode for expressions; the contract compiler drives it for statements."""

    def __init__(
        self,
        *,
        container: str = "",
        max_iterations: int = DEFAULT_MAX_ITERATIONS,
        locals_: dict[str, int] | None = None,
        types: MessageTypes | None = None,
    ) -> None:
        self.types = types
        self.code: list[tuple[int, tuple[Any, ...]]] = []
        self.handlers: list[tuple[int, int, int]] = []
        self.scopes: list[dict[str, int]] = [dict(locals_ or {})]
        self.nlocals = len(locals_ or {})
        self.depth = 0
        self.container = container
        self.max_iterations = max_iterations
        self.constants: dict[str, Any] = {}
        self.records: set[str] = set()

    # ---------------------------------------------------------------- emission
    def emit(self, op: int, *args: Any, delta: int = 0) -> int:
        """Append an instruction; ``delta`` is its effect on the stack depth."""
        self.code.append((op, args))
        self.depth += delta
        return len(self.code) - 1

    def patch(self, at: int, *args: Any) -> None:
        """Fill in the arguments of an instruction emitted before its target was known."""
        self.code[at] = (self.code[at][0], args)

    def here(self) -> int:
        """Index of the next instruction."""
        return len(self.code)

    def new_slot(self) -> int:
        """A fresh local slot."""
        self.nlocals += 1
        return self.nlocals - 1

    def lookup_local(self, name: str) -> int | None:
        """The slot of a local name in the innermost scope that has it."""
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def protected(self, e: Expr) -> int:
        """Compile ``e`` so that an error inside it becomes an error value; returns its gas."""
        start = self.here()
        depth = self.depth
        gas = self.expr(e)
        self.handlers.append((start, self.here(), depth))
        return gas

    # ---------------------------------------------------------------- expressions
    def expr(self, e: Expr) -> int:
        """Emit code leaving the value of ``e`` on the stack; returns its worst-case gas."""
        if isinstance(e, Const):
            self.emit(Op.CONST, e.value, delta=1)
            return 1
        if isinstance(e, Ident):
            return self._ident(e)
        if isinstance(e, Select):
            return self._select(e)
        if isinstance(e, Call):
            return self._call(e)
        if isinstance(e, ListExpr) and e.optional_indices:
            gas = sum(self.expr(x) for x in e.elements)
            self.emit(Op.CONST, sorted(e.optional_indices), delta=1)
            self.emit(Op.CALL, "@list_opt", len(e.elements) + 1, False, delta=-len(e.elements))
            return gas + 2
        if isinstance(e, MapExpr) and e.optional_indices:
            gas = 0
            for k, v in e.entries:
                gas += self.expr(k) + self.expr(v)
            self.emit(Op.CONST, sorted(e.optional_indices), delta=1)
            self.emit(Op.CALL, "@map_opt", 2 * len(e.entries) + 1, False, delta=-2 * len(e.entries))
            return gas + 2
        if isinstance(e, ListExpr):
            gas = sum(self.expr(x) for x in e.elements)
            self.emit(Op.MAKE_LIST, len(e.elements), delta=1 - len(e.elements))
            return gas + 1
        if isinstance(e, MapExpr):
            gas = 0
            for k, v in e.entries:
                gas += self.expr(k) + self.expr(v)
            self.emit(Op.MAKE_MAP, len(e.entries), delta=1 - 2 * len(e.entries))
            return gas + 1
        if isinstance(e, Comprehension):
            return self._comprehension(e)
        if isinstance(e, StructExpr) and e.type_name in self.records:
            gas = 0
            for name, value in sorted(e.fields, key=lambda f: f[0]):
                self.emit(Op.CONST, name, delta=1)
                gas += 1 + self.expr(value)
            self.emit(Op.MAKE_MAP, len(e.fields), delta=1 - 2 * len(e.fields))
            return gas + 1
        if isinstance(e, StructExpr):
            desc = self.types.resolve(e.type_name, self.container) if self.types else None
            if desc is None:
                self.emit(Op.FAIL, f"unknown message type {e.type_name!r}", delta=1)
                return 1
            gas = sum(self.expr(v) for _, v in e.fields)
            names = [n for n, _ in e.fields]
            self.emit(Op.MAKE_MSG, desc.full_name, names, delta=1 - len(names))
            return gas + 1
        if isinstance(e, ErrorExpr):
            self.emit(Op.FAIL, "expression failed to parse", delta=1)
            return 1
        raise TypeError(f"unknown node {type(e).__name__}")  # pragma: no cover

    def _ident(self, e: Ident) -> int:
        if not e.name.startswith("."):
            slot = self.lookup_local(e.name)
            if slot is not None:
                self.emit(Op.LOAD_LOCAL, slot, delta=1)
                return 1
        if e.name in self.constants:
            self.emit(Op.CONST, self.constants[e.name], delta=1)
            return 1
        if self._type_constant([e.name]):
            return 1
        if self.container or e.name.startswith("."):
            self.emit(Op.LOAD_QUAL, self._candidates([e.name]), delta=1)
        else:
            self.emit(Op.LOAD_VAR, e.name, delta=1)
        return 1

    def _candidates(self, parts: list[str]) -> list[list[Any]]:
        absolute = parts[0].startswith(".")
        if absolute:
            parts = [parts[0][1:], *parts[1:]]
        prefixes = [""]
        if self.container and not absolute:
            segs = self.container.split(".")
            prefixes = [".".join(segs[:i]) + "." for i in range(len(segs), 0, -1)] + [""]
        out: list[list[Any]] = []
        for n in range(len(parts), 0, -1):
            name = ".".join(parts[:n])
            out.extend([prefix + name, parts[n:]] for prefix in prefixes)
        return out

    def _select(self, e: Select) -> int:
        if e.optional:
            gas = self.expr(e.operand)
            self.emit(Op.BINARY_K, "@opt_select", e.field)
            return gas + 1
        parts = _qualified(e.operand) if e.test_only else _qualified(e)
        if (
            not e.test_only
            and parts is not None
            and ".".join(parts) in self.constants
            and self.lookup_local(parts[0]) is None
        ):
            self.emit(Op.CONST, self.constants[".".join(parts)], delta=1)
            return 1
        if (
            not e.test_only
            and parts is not None
            and (parts[0].startswith(".") or self.lookup_local(parts[0]) is None)
            and self._type_constant(parts)
        ):
            return 1
        if parts is not None and (parts[0].startswith(".") or self.lookup_local(parts[0]) is None):
            if e.test_only:
                self.emit(Op.LOAD_QUAL, self._candidates(parts), delta=1)
                self.emit(Op.HAS, e.field)
                return 2
            self.emit(Op.LOAD_QUAL, self._candidates(parts), delta=1)
            return 1
        if not e.test_only and isinstance(e.operand, Ident):
            slot = self.lookup_local(e.operand.name)
            if slot is not None and not e.operand.name.startswith("."):
                self.emit(Op.LOCAL_SELECT, slot, e.field, delta=1)
                return 1
        gas = self.expr(e.operand)
        self.emit(Op.HAS if e.test_only else Op.SELECT, e.field)
        return gas + 1

    def _type_constant(self, parts: list[str]) -> bool:
        """Emit a message type name or an enum constant (``TestAllTypes.NestedEnum.BAR``)."""
        if self.types is None or (len(parts) == 1 and not self.container and "." not in parts[0]):
            return False
        found, value = self.types.constant(".".join(parts), self.container)
        if not found:
            return False
        self.emit(Op.CONST, value, delta=1)
        return True

    def _call(self, e: Call) -> int:
        fn = e.function
        args = e.args
        if e.target is None:
            if fn in {"_&&_", "_||_"}:
                is_and = fn == "_&&_"
                gas = self.protected(args[0])
                short = self.emit(Op.AND_SHORT if is_and else Op.OR_SHORT, -1)
                gas += self.protected(args[1]) + 2
                self.emit(Op.AND_JOIN if is_and else Op.OR_JOIN, delta=-1)
                self.patch(short, self.here())
                return gas
            if fn == "_?_:_":
                gas = self.expr(args[0])
                branch = self.emit(Op.BRANCH, -1, delta=-1)
                g1 = self.expr(args[1])
                jump = self.emit(Op.JUMP, -1)
                self.depth -= 1
                self.patch(branch, self.here())
                g2 = self.expr(args[2])
                self.patch(jump, self.here())
                return gas + 2 + max(g1, g2)
            if fn == "@not_strictly_false":
                gas = self.protected(args[0])
                self.emit(Op.NOT_STRICTLY_FALSE)
                return gas + 1
            if fn == "@append":
                gas = self.expr(args[0]) + self.expr(args[1])
                self.emit(Op.APPEND, delta=-1)
                return gas + 1
            if fn == "@put":
                gas = self.expr(args[0]) + self.expr(args[1]) + self.expr(args[2])
                self.emit(Op.PUT, delta=-2)
                return gas + 1
            if len(args) == 2 and fn in BINARY_OPERATORS:
                if isinstance(args[1], Const):
                    fused = self._fused_binary_k(fn, args[0], args[1].value)
                    if fused:
                        return 1
                    gas = self.expr(args[0])
                    self.emit(Op.BINARY_K, fn, args[1].value)
                    return gas + 1
                gas = self.expr(args[0]) + self.expr(args[1])
                self.emit(Op.BINARY, fn, delta=-1)
                return gas + 1
            if len(args) == 1 and fn in UNARY_OPERATORS:
                gas = self.expr(args[0])
                self.emit(Op.UNARY, fn)
                return gas + 1
            gas = sum(self.expr(a) for a in args)
            self.emit(Op.CALL, fn, len(args), False, delta=1 - len(args))
            return gas + 1
        gas = self.expr(e.target)
        if args and all(isinstance(a, Const) for a in args):
            self.emit(Op.CALL_K, fn, [a.value for a in args if isinstance(a, Const)], True)
            return gas + 1
        gas += sum(self.expr(a) for a in args)
        self.emit(Op.CALL, fn, len(args) + 1, True, delta=-len(args))
        return gas + 1

    def _fused_binary_k(self, fn: str, left: Expr, const: Any) -> bool:
        """One instruction for ``var OP const``, ``local OP const``, ``local.f OP const``."""
        if isinstance(left, Ident) and not left.name.startswith("."):
            slot = self.lookup_local(left.name)
            if slot is not None:
                self.emit(Op.LOCAL_BINARY_K, slot, fn, const, delta=1)
                return True
            if not self.container and left.name not in self.constants:
                self.emit(Op.VAR_BINARY_K, left.name, fn, const, delta=1)
                return True
        if (
            isinstance(left, Select)
            and not left.test_only
            and not left.optional
            and isinstance(left.operand, Ident)
            and not left.operand.name.startswith(".")
        ):
            slot = self.lookup_local(left.operand.name)
            if slot is not None:
                self.emit(Op.FIELD_BINARY_K, slot, left.field, fn, const, delta=1)
                return True
        return False

    def _fast_parts(self, e: Comprehension) -> tuple[str, Expr | None, Expr | None] | None:
        """(kind, predicate, value) when the comprehension is a recognisable macro."""
        step = e.loop_step
        acc = e.accu_var

        def is_acc(x: Expr) -> bool:
            return isinstance(x, Ident) and x.name == acc

        def append_value(x: Expr) -> Expr | None:
            if isinstance(x, Call) and x.function == "@append" and is_acc(x.args[0]):
                return x.args[1]
            return None

        if e.macro in ("all", "exists") and isinstance(step, Call) and step.target is None:
            if step.function in ("_&&_", "_||_") and is_acc(step.args[0]):
                return e.macro, step.args[1], None
            return None
        if e.macro in ("map", "transformList", "filter") and isinstance(step, Call):
            value = append_value(step)
            if value is not None:
                return "collect", None, value
            if step.function == "_?_:_" and is_acc(step.args[2]):
                value = append_value(step.args[1])
                if value is not None:
                    return "collect", step.args[0], value
        return None

    def _comprehension(self, e: Comprehension) -> int:
        fast = self._fast_parts(e)
        if fast is not None:
            return self._fast_comprehension(e, *fast)
        gas = self.expr(e.iter_range)
        it = self.new_slot()
        self.emit(Op.ITER_INIT, it, 1 if e.iter_var2 is not None else 0, delta=-1)
        v1 = self.new_slot()
        v2 = self.new_slot() if e.iter_var2 is not None else -1
        accu = self.new_slot()
        gas += self.expr(e.accu_init) + 2
        self.emit(Op.STORE_LOCAL, accu, delta=-1)
        self.scopes.append({e.accu_var: accu})
        loop = self.emit(Op.ITER_NEXT, it, v1, v2, -1)
        scope = {e.iter_var: v1}
        if e.iter_var2 is not None:
            scope[e.iter_var2] = v2
        self.scopes.append(scope)
        body = 1
        cond_exit = -1
        if not (isinstance(e.loop_condition, Const) and e.loop_condition.value is True):
            body += self.expr(e.loop_condition) + 1
            cond_exit = self.emit(Op.BRANCH, -1, delta=-1)
        body += self.protected(e.loop_step) + 2
        self.emit(Op.STORE_LOCAL, accu, delta=-1)
        self.emit(Op.JUMP, loop)
        self.scopes.pop()
        done = self.here()
        self.patch(loop, it, v1, v2, done)
        if cond_exit >= 0:
            self.patch(cond_exit, done)
        gas += body * self.max_iterations + 1
        gas += self.expr(e.result)
        self.scopes.pop()
        return gas

    def _fast_comprehension(
        self, e: Comprehension, kind: str, pred: Expr | None, value: Expr | None
    ) -> int:
        """all/exists/map/filter without the generic accumulator plumbing.

        ``all``/``exists`` stop at the first deciding element and remember the
        first error (CEL's commutative absorption); ``map``/``filter`` append in
        place to a list created fresh for this run.  An error in a step makes
        the accumulator an error value, exactly as the generic expansion does.
        """
        gas = self.expr(e.iter_range)
        it = self.new_slot()
        self.emit(Op.ITER_INIT, it, 1 if e.iter_var2 is not None else 0, delta=-1)
        v1 = self.new_slot()
        v2 = self.new_slot() if e.iter_var2 is not None else -1
        accu = self.new_slot()
        if kind == "collect":
            self.emit(Op.MAKE_LIST, 0, delta=1)
        else:
            self.emit(Op.CONST, kind == "all", delta=1)
        self.emit(Op.STORE_LOCAL, accu, delta=-1)
        gas += 3
        loop = self.emit(Op.ITER_NEXT, it, v1, v2, -1)
        scope = {e.iter_var: v1}
        if e.iter_var2 is not None:
            scope[e.iter_var2] = v2
        self.scopes.append({e.accu_var: accu})
        self.scopes.append(scope)
        start = self.here()
        depth = self.depth
        if kind == "collect":
            body = 1
            if pred is not None:
                body += self.expr(pred) + 1
                self.emit(Op.BRANCH, loop, delta=-1)
            assert value is not None  # noqa: S101 - collect always has a value
            body += self.expr(value) + 2
            self.emit(Op.APPEND_TO, accu, delta=-1)
            self.emit(Op.JUMP, loop)
            self.handlers.append((start, self.here(), depth))
            self.emit(Op.STORE_LOCAL, accu, delta=0)
            self.emit(Op.JUMP, loop)
            exit_at = -1
        else:
            assert pred is not None  # noqa: S101 - quantifiers always have a predicate
            body = 1 + self.expr(pred) + 2
            self.handlers.append((start, self.here(), depth))
            exit_at = self.emit(Op.QUANTIFY, accu, -1, kind == "all", delta=-1)
            self.emit(Op.JUMP, loop)
        self.scopes.pop()
        done = self.here()
        self.patch(loop, it, v1, v2, done)
        if exit_at >= 0:
            self.patch(exit_at, accu, done, kind == "all")
        self.emit(Op.LOAD_LOCAL, accu, delta=1)
        self.scopes.pop()
        return gas + body * self.max_iterations + 2

    def finish(self, source: str = "", meta: dict[str, Any] | None = None, gas: int = 0) -> Program:
        """Close the program with RETURN and package it."""
        self.emit(Op.RETURN)
        return Program(
            code=self.code,
            handlers=self.handlers,
            nlocals=self.nlocals,
            gas_bound=gas + 1,
            max_iterations=self.max_iterations,
            source=source,
            meta=dict(meta or {}),
        )


def compile_program(
    e: Expr,
    *,
    source: str = "",
    container: str = "",
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    optimize: bool = True,
    types: MessageTypes | None = None,
) -> Program:
    """Bytecode for one expression (folded first unless ``optimize`` is false)."""
    gen = CodeGen(container=container, max_iterations=max_iterations, types=types)
    tree = fold(e) if optimize else e
    gas = gen.expr(tree)
    return gen.finish(source, {"container": container}, gas)

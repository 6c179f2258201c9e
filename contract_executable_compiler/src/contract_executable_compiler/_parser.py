"""A hand-written Pratt/recursive-descent parser for CEL, with macro expansion and recovery.

The grammar is cel-spec's (``Expr = ConditionalOr ["?" ConditionalOr ":" Expr]``
down to ``Member`` and ``Primary``).  Binary operators are parsed by precedence
climbing; ``&&``/``||`` chains are built as balanced trees, as cel-go does, so a
long chain stays shallow.  Macros (``has``, ``all``, ``exists``, ``exists_one``,
``map``, ``filter`` and the two-variable forms) expand into comprehensions here.

Error recovery: a syntax error records a diagnostic, yields an
:class:`ErrorExpr` and skips to a token that can follow an expression, so
several independent errors are reported per input.  Nesting is bounded (E0007)
so no input can exhaust the Python stack.
"""

# ruff: noqa: PLR1714, PLR0917  - hot paths: identity checks and NaN tests are deliberate

from __future__ import annotations

from typing import Final

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
from contract_executable_compiler._diagnostics import Diagnostic
from contract_executable_compiler._lexer import RESERVED, Token, tokenize
from contract_executable_compiler._values import INT64_MAX

__all__ = ["ACCU_VAR", "MAX_DEPTH", "ExprParser", "parse_expression"]

ACCU_VAR: Final = "@result"
MAX_DEPTH: Final = 64
MAX_HEIGHT: Final = 192
MAX_ERRORS: Final = 40

_REL_OPS: Final = {
    "==": "_==_",
    "!=": "_!=_",
    "<": "_<_",
    "<=": "_<=_",
    ">": "_>_",
    ">=": "_>=_",
    "in": "@in",
}
_ADD_OPS: Final = {"+": "_+_", "-": "_-_"}
_MUL_OPS: Final = {"*": "_*_", "/": "_/_", "%": "_%_"}
_BINARY_OPS: Final = {
    **{k: (v, 4) for k, v in _REL_OPS.items()},
    **{k: (v, 5) for k, v in _ADD_OPS.items()},
    **{k: (v, 6) for k, v in _MUL_OPS.items()},
}
_FOLLOW: Final = frozenset({",", ")", "]", "}", ":", "eof", ";"})


class _Bail(Exception):  # noqa: N818 - control flow
    """Raised internally when the error budget is spent; caught at the top."""


class ExprParser:
    """Parses CEL expressions from a token list; the contract parser builds on it."""

    def __init__(self, text: str, *, macros: bool = True) -> None:
        self.text = text
        self.comments: list[tuple[int, str]] = []
        self.tokens, self.diags = tokenize(text, self.comments)
        self.pos = 0
        self.depth = 0
        self.macros = macros
        self.no_struct = False

    # ------------------------------------------------------------------ tokens
    @property
    def tok(self) -> Token:
        """The current token."""
        return self.tokens[self.pos]

    def peek(self, k: int = 1) -> Token:
        """The token ``k`` ahead of the current one (EOF past the end)."""
        i = min(self.pos + k, len(self.tokens) - 1)
        return self.tokens[i]

    def advance(self) -> Token:
        """Consume and return the current token."""
        t = self.tokens[self.pos]
        if t.kind != "eof":
            self.pos += 1
        return t

    def accept(self, kind: str) -> Token | None:
        """Consume the current token when it is ``kind``."""
        if self.tokens[self.pos].kind == kind:
            return self.advance()
        return None

    def error(
        self,
        message: str,
        start: int,
        end: int,
        *,
        code: str = "E0005",
        label: str = "",
        help: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        """Record a diagnostic; stop parsing once too many have piled up.

        A syntax error at the same place as the previous one is a cascade of
        it (typically at the end of input) and is not reported again.
        """
        if code == "E0005" and self.diags and self.diags[-1].start == start:
            return
        self.diags.append(
            Diagnostic(code, message, start, end, label=label, help=help, suggestion=suggestion)
        )
        if len(self.diags) >= MAX_ERRORS:
            raise _Bail

    def expect(self, kind: str, what: str | None = None) -> Token | None:
        """Consume ``kind`` or report what was expected (without consuming)."""
        t = self.tok
        if t.kind == kind:
            return self.advance()
        found = "end of input" if t.kind == "eof" else repr(self.text[t.start : t.end])
        self.error(
            f"expected {what or repr(kind)}, found {found}",
            t.start,
            max(t.end, t.start + 1),
            label=f"expected {what or repr(kind)}",
        )
        return None

    def sync(self) -> None:
        """Skip tokens until one that can follow an expression."""
        while self.tok.kind not in _FOLLOW:
            self.advance()

    # ------------------------------------------------------------------ expressions
    def parse_expr(self) -> Expr:
        """``Expr = ConditionalOr ["?" ConditionalOr ":" Expr]``."""
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                t = self.tok
                self.error(
                    f"expression nested more than {MAX_DEPTH} levels deep",
                    t.start,
                    max(t.end, t.start + 1),
                    code="E0007",
                    label="too deep",
                    help="split the expression into smaller parts",
                )
                raise _Bail
            cond = self._logic(2)
            if self.tok.kind != "?":
                return cond
            self.advance()
            then = self._logic(2)
            self.expect(":", "':' of the conditional")
            other = self.parse_expr()
            return Call("_?_:_", None, [cond, then, other], cond.start, other.end)
        finally:
            self.depth -= 1

    def _logic(self, level: int) -> Expr:
        op = "||" if level == 2 else "&&"
        first = self._logic(3) if level == 2 else self._binary(4)
        if self.tok.kind != op:
            return first
        terms = [first]
        while self.accept(op):
            terms.append(self._logic(3) if level == 2 else self._binary(4))
        return _balance("_||_" if level == 2 else "_&&_", terms)

    def _binary(self, level: int) -> Expr:
        """Precedence climbing over the relational, additive and multiplicative levels."""
        return self._climb(self.parse_unary(), level)

    def _climb(self, left: Expr, min_level: int) -> Expr:
        tokens = self.tokens
        while True:
            op = _BINARY_OPS.get(tokens[self.pos].kind)
            if op is None or op[1] < min_level:
                return left
            self.pos += 1
            right = self.parse_unary()
            while True:
                nxt = _BINARY_OPS.get(tokens[self.pos].kind)
                if nxt is None or nxt[1] <= op[1]:
                    break
                right = self._climb(right, op[1] + 1)
            left = Call(op[0], None, [left, right], left.start, right.end)

    def parse_unary(self) -> Expr:
        """``Unary = Member | "!" {"!"} Member | "-" {"-"} Member``."""
        t = self.tok
        if t.kind == "!" or t.kind == "-":
            ops: list[Token] = []
            while self.tok.kind == t.kind:
                ops.append(self.advance())
            lit = self.tok
            operand = self.parse_member()
            if (
                t.kind == "-"
                and isinstance(operand, Const)
                and lit.kind in ("int", "double")
                and operand.start == lit.start
                and type(operand.value) is not bool
            ):
                operand = Const(-operand.value, ops[-1].start, operand.end)
                ops.pop()
            for op in reversed(ops):
                operand = Call(
                    "!_" if t.kind == "!" else "-_", None, [operand], op.start, operand.end
                )
            self._check_int_range(operand)
            return operand
        operand = self.parse_member()
        self._check_int_range(operand)
        return operand

    def _check_int_range(self, e: Expr) -> None:
        if isinstance(e, Const) and type(e.value) is int and e.value > INT64_MAX:
            self.error(
                "int literal out of range",
                e.start,
                e.end,
                code="E0004",
                label="larger than 9223372036854775807",
                help="add a `u` suffix for a uint, or `.0` for a double",
            )

    def parse_member(self) -> Expr:
        """``Member = Primary | Member "." SELECTOR ["(" args ")"] | Member "[" Expr "]"``."""
        e = self.parse_primary()
        while True:
            t = self.tok
            if t.kind == ".":
                self.advance()
                optional = self.accept("?") is not None
                name_tok = self.tok
                if name_tok.kind in ("ident", "qident") or name_tok.kind in (
                    "true",
                    "false",
                    "null",
                    "in",
                ):
                    self.advance()
                    name = str(name_tok.value)
                else:
                    self.expect("ident", "a field or method name after '.'")
                    return ErrorExpr(e.start, name_tok.end)
                if self.tok.kind == "(" and name_tok.kind != "qident" and not optional:
                    self.advance()
                    args, end = self._args(")")
                    e = self._call(name, e, args, e.start, end, name_tok)
                else:
                    e = Select(e, name, False, e.start, name_tok.end, optional=optional)
            elif t.kind == "[":
                self.advance()
                fn = "_[?_]" if self.accept("?") else "_[_]"
                index = self.parse_expr()
                close = self.expect("]", "']' closing the index")
                e = Call(fn, None, [e, index], e.start, close.end if close else index.end)
            elif t.kind == "{" and not self.no_struct and _qualified_name(e) is not None:
                self.advance()
                fields, end = self._field_inits()
                e = StructExpr(_qualified_name(e) or "", fields, e.start, end)
            else:
                return e

    def parse_primary(self) -> Expr:
        """Literals, identifiers, global calls, parentheses, list and map literals."""
        t = self.tok
        k = t.kind
        if k in ("int", "uint", "double", "string", "bytes"):
            self.advance()
            return Const(t.value, t.start, t.end)
        if k == "true" or k == "false":
            self.advance()
            return Const(k == "true", t.start, t.end)
        if k == "null":
            self.advance()
            return Const(None, t.start, t.end)
        if k == "ident" or (k == "." and self.peek().kind == "ident"):
            dot = ""
            if k == ".":
                dot = "."
                self.advance()
                t = self.tok
            self.advance()
            name = str(t.value)
            if name in RESERVED:
                self.error(
                    f"reserved word {name!r} used as an identifier",
                    t.start,
                    t.end,
                    code="E0006",
                    label="reserved",
                    help="rename the variable; reserved words may only appear as field names after '.'",
                )
            if self.tok.kind == "(":
                self.advance()
                args, end = self._args(")")
                return self._call(dot + name, None, args, t.start, end, t)
            return Ident(dot + name, t.start, t.end)
        if k == "(":
            self.advance()
            inner = self.parse_expr()
            self.expect(")", "')'")
            return inner
        if k == "[":
            self.advance()
            optional_at: set[int] = set()
            elems: list[Expr] = []
            while self.tok.kind not in ("]", "eof"):
                before = self.pos
                if self.accept("?"):
                    optional_at.add(len(elems))
                elems.append(self.parse_expr())
                if not self.accept(","):
                    if self.tok.kind != "]" and self.pos == before:
                        self.advance()
                    break
            close = self.expect("]", "']' closing the list")
            if close is None:
                self.sync()
                if self.tok.kind == "]":
                    close = self.advance()
            end = close.end if close else self.tok.start
            return ListExpr(elems, t.start, end, frozenset(optional_at))
        if k == "{":
            self.advance()
            entries: list[tuple[Expr, Expr]] = []
            optional_keys: set[int] = set()
            while self.tok.kind != "}" and self.tok.kind != "eof":
                if self.accept("?"):
                    optional_keys.add(len(entries))
                key = self.parse_expr()
                self.expect(":", "':' between map key and value")
                value = self.parse_expr()
                entries.append((key, value))
                if not self.accept(","):
                    break
            close = self.expect("}", "'}' closing the map")
            return MapExpr(
                entries, t.start, close.end if close else self.tok.start, frozenset(optional_keys)
            )
        found = "end of input" if k == "eof" else repr(self.text[t.start : t.end])
        self.error(
            f"expected an expression, found {found}",
            t.start,
            max(t.end, t.start + 1),
            label="expected an expression here",
        )
        if k not in _FOLLOW:
            self.advance()
        return ErrorExpr(t.start, t.end)

    def _args(self, close: str) -> tuple[list[Expr], int]:
        args: list[Expr] = []
        while self.tok.kind != close and self.tok.kind != "eof":
            before = self.pos
            args.append(self.parse_expr())
            if not self.accept(","):
                if self.tok.kind != close and self.pos == before:
                    self.advance()
                break
        end_tok = self.expect(close, repr(close))
        if end_tok is None:
            self.sync()
            if self.tok.kind == close:
                end_tok = self.advance()
        return args, end_tok.end if end_tok else self.tok.start

    def _field_inits(self) -> tuple[list[tuple[str, Expr]], int]:
        fields: list[tuple[str, Expr]] = []
        while self.tok.kind != "}" and self.tok.kind != "eof":
            optional = "?" if self.accept("?") else ""
            name = self.tok
            if name.kind in ("ident", "qident"):
                self.advance()
            else:
                self.expect("ident", "a field name")
                self.sync()
                break
            self.expect(":", "':' after the field name")
            # ``?field: opt`` sets the field only when the optional has a value
            fields.append((optional + str(name.value), self.parse_expr()))
            if not self.accept(","):
                break
        close = self.expect("}", "'}' closing the literal")
        return fields, close.end if close else self.tok.start

    # ------------------------------------------------------------------ macros
    def _call(
        self, name: str, target: Expr | None, args: list[Expr], start: int, end: int, at: Token
    ) -> Expr:
        if not self.macros:
            return Call(name, target, args, start, end)
        if target is None:
            if name == "has" and len(args) == 1:
                arg = args[0]
                if isinstance(arg, Select) and not arg.test_only:
                    return Select(arg.operand, arg.field, True, start, end)
                self.error(
                    "has() needs a field selection such as has(m.f)",
                    arg.start,
                    arg.end,
                    code="E0008",
                    label="not a field selection",
                )
                return ErrorExpr(start, end)
            return Call(name, None, args, start, end)
        if isinstance(target, Ident) and target.name in ("optional", "strings"):
            return Call(f"{target.name}.{name}", None, args, start, end)
        n = len(args)
        if (
            name in ("hasExt", "getExt")
            and n == 2
            and isinstance(target, Ident)
            and target.name == "proto"
        ):
            # proto.hasExt(msg, a.b.ext) / proto.getExt(msg, a.b.ext): a (test-only)
            # selection of the extension field named by the qualified identifier
            ext = _qualified_name(args[1])
            if ext is None:
                self.error(
                    f"proto.{name} needs an extension's qualified name as its second argument",
                    args[1].start,
                    args[1].end,
                    code="E0008",
                )
                return ErrorExpr(start, end)
            return Select(args[0], ext.lstrip("."), name == "hasExt", start, end)
        if name in ("optMap", "optFlatMap") and n == 2:
            var = self._iter_var(args[0])
            if var is None:
                return ErrorExpr(start, end)
            return _opt_macro(name, target, var, args[1], start, end)
        one = {"all": 2, "exists": 2, "exists_one": 2, "existsOne": 2, "map": (2, 3), "filter": 2}
        two = {"all": 3, "exists": 3, "exists_one": 3, "existsOne": 3}
        counts = one.get(name)
        if counts is not None and (n == counts or (isinstance(counts, tuple) and n in counts)):
            var = self._iter_var(args[0])
            if var is None:
                return ErrorExpr(start, end)
            out = _expand(name, target, var, None, args[1:], start, end)
            out.original = Call(name, target, args, start, end)
            return out
        if (two.get(name) == n) or (name in ("transformList", "transformMap") and n in (3, 4)):
            v1 = self._iter_var(args[0])
            v2 = self._iter_var(args[1])
            if v1 is None or v2 is None:
                return ErrorExpr(start, end)
            if v1 == v2:
                self.error(
                    f"the two iteration variables must differ, both are {v1!r}",
                    args[1].start,
                    args[1].end,
                    code="E0008",
                )
            out = _expand(name, target, v1, v2, args[2:], start, end)
            out.original = Call(name, target, args, start, end)
            return out
        return Call(name, target, args, start, end)

    def _iter_var(self, e: Expr) -> str | None:
        if isinstance(e, Ident) and not e.name.startswith("."):
            return e.name
        self.error(
            "a macro's iteration variable must be a simple identifier",
            e.start,
            e.end,
            code="E0008",
            label="not an identifier",
        )
        return None


def _qualified_name(e: Expr) -> str | None:
    if isinstance(e, Ident):
        return e.name
    if isinstance(e, Select) and not e.test_only:
        base = _qualified_name(e.operand)
        return None if base is None else f"{base}.{e.field}"
    return None


def _balance(fn: str, terms: list[Expr]) -> Expr:
    if len(terms) == 1:
        return terms[0]
    mid = len(terms) // 2
    left = _balance(fn, terms[:mid])
    right = _balance(fn, terms[mid:])
    return Call(fn, None, [left, right], left.start, right.end)


def _expand(
    name: str, target: Expr, v1: str, v2: str | None, rest: list[Expr], start: int, end: int
) -> Comprehension:
    def acc() -> Ident:
        return Ident(ACCU_VAR, start, end)

    def call(fn: str, *args: Expr) -> Call:
        return Call(fn, None, list(args), start, end)

    def const(v: object) -> Const:
        return Const(v, start, end)

    if name == "all":
        init: Expr = const(True)
        cond: Expr = call("@not_strictly_false", acc())
        step: Expr = call("_&&_", acc(), rest[0])
        result: Expr = acc()
    elif name == "exists":
        init = const(False)
        cond = call("@not_strictly_false", call("!_", acc()))
        step = call("_||_", acc(), rest[0])
        result = acc()
    elif name in ("exists_one", "existsOne"):
        init = const(0)
        cond = const(True)
        step = call("_?_:_", rest[0], call("_+_", acc(), const(1)), acc())
        result = call("_==_", acc(), const(1))
    elif name in ("map", "transformList"):
        init = ListExpr([], start, end)
        cond = const(True)
        value = rest[-1]
        step = call("@append", acc(), value)
        if len(rest) == 2:
            step = call("_?_:_", rest[0], step, acc())
        result = acc()
    elif name == "filter":
        init = ListExpr([], start, end)
        cond = const(True)
        step = call("_?_:_", rest[0], call("@append", acc(), Ident(v1, start, end)), acc())
        result = acc()
    else:  # transformMap
        init = MapExpr([], start, end)
        cond = const(True)
        step = call("@put", acc(), Ident(v1, start, end), rest[-1])
        if len(rest) == 2:
            step = call("_?_:_", rest[0], step, acc())
        result = acc()
    return Comprehension(
        iter_var=v1,
        iter_var2=v2,
        iter_range=target,
        accu_var=ACCU_VAR,
        accu_init=init,
        loop_condition=cond,
        loop_step=step,
        result=result,
        macro=name,
        start=start,
        end=end,
    )


def _opt_macro(name: str, target: Expr, var: str, body: Expr, start: int, end: int) -> Expr:
    """optMap/optFlatMap: ``target.hasValue() ? bind(var, target.value(), body') : none``.

    The binding is CEL's ``cel.bind`` shape: a comprehension over an empty
    list whose accumulator is the bound variable.
    """
    value = Call("value", target, [], start, end)
    mapped = Call("optional.of", None, [body], start, end) if name == "optMap" else body
    bound = Comprehension(
        iter_var="#unused",
        iter_var2=None,
        iter_range=ListExpr([], start, end),
        accu_var=var,
        accu_init=value,
        loop_condition=Const(False, start, end),
        loop_step=Ident(var, start, end),
        result=mapped,
        macro="bind",
        start=start,
        end=end,
    )
    bound.original = Call(name, target, [Ident(var, start, end), body], start, end)
    return Call(
        "_?_:_",
        None,
        [
            Call("hasValue", target, [], start, end),
            bound,
            Call("optional.none", None, [], start, end),
        ],
        start,
        end,
    )


def tree_height(root: Expr) -> int:
    """Height of the tree, computed without recursion (inputs may be adversarial)."""
    best = 0
    stack: list[tuple[Expr, int]] = [(root, 1)]
    while stack:
        node, h = stack.pop()
        best = max(best, h)
        stack.extend((c, h + 1) for c in node.children())
    return best


def parse_expression(text: str, *, macros: bool = True) -> tuple[Expr, list[Diagnostic]]:
    """Parse one CEL expression; the diagnostics list is empty when it parsed cleanly."""
    p = ExprParser(text, macros=macros)
    try:
        e = p.parse_expr()
        if p.tok.kind != "eof":
            t = p.tok
            p.error(
                f"unexpected {p.text[t.start : t.end]!r} after the end of the expression",
                t.start,
                max(t.end, t.start + 1),
                label="expected an operator or the end of input",
            )
    except _Bail:
        e = ErrorExpr(0, len(text))
    if not p.diags and tree_height(e) > MAX_HEIGHT:
        p.diags.append(
            Diagnostic(
                "E0007",
                f"expression tree is more than {MAX_HEIGHT} levels high",
                0,
                len(text),
                help="split long operator chains into smaller expressions",
            )
        )
    p.diags.sort(key=lambda d: (d.start, d.code))
    return e, p.diags

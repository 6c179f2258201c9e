"""``cec fmt``: print expressions and contracts back in one canonical layout.

Expressions are printed with the fewest parentheses that keep the tree
(operators by CEL precedence; macros from the call they expanded), so
``format(parse(format(x))) == format(x)``.  Contracts get two-space
indentation, one declaration or statement per line, and blank lines between
declaration groups.  ``//`` comments are kept, each placed before the
declaration or statement that follows it.
"""

from __future__ import annotations

import math
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
from contract_executable_compiler._contract_ast import (
    Assign,
    Close,
    ContractDecl,
    Emit,
    Fail,
    If,
    Let,
    Param,
    Stmt,
)
from contract_executable_compiler._contract_parser import parse_contract
from contract_executable_compiler._diagnostics import Source, render_diagnostics
from contract_executable_compiler._values import UInt
from contract_executable_compiler.errors import ContractCompileError

__all__ = ["format_contract", "format_expr"]

_BINARY: Final = {
    "_||_": ("||", 2),
    "_&&_": ("&&", 3),
    "_==_": ("==", 4),
    "_!=_": ("!=", 4),
    "_<_": ("<", 4),
    "_<=_": ("<=", 4),
    "_>_": (">", 4),
    "_>=_": (">=", 4),
    "@in": ("in", 4),
    "_+_": ("+", 5),
    "_-_": ("-", 5),
    "_*_": ("*", 6),
    "_/_": ("/", 6),
    "_%_": ("%", 6),
}


def _string_literal(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _bytes_literal(b: bytes) -> str:
    out = ['b"']
    for byte in b:
        ch = chr(byte)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\x{byte:02x}")
    out.append('"')
    return "".join(out)


def _const(v: Any) -> tuple[str, int]:
    t = type(v)
    if v is None:
        return "null", 9
    if t is bool:
        return ("true" if v else "false"), 9
    if t is UInt:
        return f"{int(v)}u", 9
    if t is int:
        return str(v), (7 if v < 0 else 9)
    if t is float:
        if math.isnan(v) or math.isinf(v):
            return f'double("{v!r}")', 9
        text = repr(v)
        if "e" not in text and "." not in text:
            text += ".0"
        if "e" in text and "." not in text.split("e")[0]:
            mant, exp = text.split("e")
            text = f"{mant}.0e{exp}"
        return text, (7 if v < 0 or text.startswith("-") else 9)
    if t is str:
        return _string_literal(v), 9
    if t is bytes:
        return _bytes_literal(v), 9
    return repr(v), 9


def _fmt(e: Expr) -> tuple[str, int]:
    if isinstance(e, Const):
        return _const(e.value)
    if isinstance(e, Ident):
        return e.name, 9
    if isinstance(e, Select):
        if e.optional:
            return f"{_wrap(e.operand, 8)}.?{e.field}", 8
        if e.test_only:
            return f"has({_wrap(e.operand, 8)}.{e.field})", 9
        return f"{_wrap(e.operand, 8)}.{e.field}", 8
    if isinstance(e, Comprehension):
        if e.original is not None:
            return _fmt(e.original)
        return "<comprehension>", 9
    if isinstance(e, ListExpr):
        opt = e.optional_indices
        items = [("?" if i in opt else "") + format_expr(x) for i, x in enumerate(e.elements)]
        return "[" + ", ".join(items) + "]", 9
    if isinstance(e, MapExpr):
        opt = e.optional_indices
        items = [
            f"{'?' if i in opt else ''}{format_expr(k)}: {format_expr(v)}"
            for i, (k, v) in enumerate(e.entries)
        ]
        return "{" + ", ".join(items) + "}", 9
    if isinstance(e, StructExpr):
        inner = ", ".join(f"{n}: {format_expr(v)}" for n, v in e.fields)
        return f"{e.type_name}{{{inner}}}", 8
    if isinstance(e, ErrorExpr):
        return "<error>", 9
    assert isinstance(e, Call)  # noqa: S101 - every other node is a call
    fn, args = e.function, e.args
    if e.target is None and fn in _BINARY and len(args) == 2:
        op, prec = _BINARY[fn]
        # && and || are associative (the parser balances their chains): no parentheses
        # are needed on either side; other operators associate to the left.
        left = _wrap(args[0], prec)
        right = _wrap(args[1], prec if fn in ("_&&_", "_||_") else prec + 1)
        return f"{left} {op} {right}", prec
    if (
        e.target is None
        and fn == "_?_:_"
        and isinstance(args[1], Comprehension)
        and args[1].macro == "bind"
        and args[1].original is not None
    ):
        return _fmt(args[1].original)
    if e.target is None and fn == "_[?_]":
        return f"{_wrap(args[0], 8)}[?{format_expr(args[1])}]", 8
    if e.target is None and fn == "_?_:_":
        return f"{_wrap(args[0], 2)} ? {_wrap(args[1], 2)} : {_wrap(args[2], 1)}", 1
    if e.target is None and fn in ("!_", "-_"):
        inner = _wrap(args[0], 7)
        sym = fn[0]
        if inner.startswith(sym):
            inner = f"({inner})"
        return f"{sym}{inner}", 7
    if e.target is None and fn == "_[_]":
        return f"{_wrap(args[0], 8)}[{format_expr(args[1])}]", 8
    call = f"{fn}({', '.join(format_expr(a) for a in args)})"
    if e.target is not None:
        return f"{_wrap(e.target, 8)}.{call}", 8
    return call, 9


def _wrap(e: Expr, min_prec: int) -> str:
    text, prec = _fmt(e)
    return f"({text})" if prec < min_prec else text


def format_expr(e: Expr) -> str:
    """Canonical text of an expression tree."""
    return _fmt(e)[0]


class _Printer:
    def __init__(self, comments: list[tuple[int, str]]) -> None:
        self.comments = sorted(comments)
        self.lines: list[str] = []

    def flush(self, before: int, indent: int) -> None:
        while self.comments and self.comments[0][0] < before:
            self.lines.append("  " * indent + self.comments.pop(0)[1])

    def line(self, text: str, indent: int, at: int) -> None:
        self.flush(at, indent)
        self.lines.append("  " * indent + text)

    def stmts(self, body: list[Stmt], indent: int, end: int) -> None:
        for s in body:
            self.stmt(s, indent)
        self.flush(end, indent)

    def stmt(self, s: Stmt, indent: int) -> None:
        if isinstance(s, Assign):
            self.line(f"{s.name} = {format_expr(s.value)};", indent, s.start)
        elif isinstance(s, Let):
            self.line(f"let {s.name} = {format_expr(s.value)};", indent, s.start)
        elif isinstance(s, Emit):
            self.line(
                f"emit {s.event}({', '.join(format_expr(a) for a in s.args)});", indent, s.start
            )
        elif isinstance(s, Close):
            self.line("close;", indent, s.start)
        elif isinstance(s, Fail):
            self.line(f"fail {_string_literal(s.message)};", indent, s.start)
        elif isinstance(s, If):
            self._if(s, indent, "if")

    def _if(self, s: If, indent: int, lead: str) -> None:
        self.line(f"{lead} {format_expr(s.cond)} {{", indent, s.start)
        self.stmts(s.then, indent + 1, s.end)
        if len(s.orelse) == 1 and isinstance(s.orelse[0], If):
            self.lines.append("  " * indent + "}")
            nested = s.orelse[0]
            self.lines[-1] = "  " * indent + "} else if " + format_expr(nested.cond) + " {"
            self.stmts(nested.then, indent + 1, nested.end)
            if nested.orelse:
                self.lines.append("  " * indent + "} else {")
                self.stmts(nested.orelse, indent + 1, nested.end)
            self.lines.append("  " * indent + "}")
            return
        if s.orelse:
            self.lines.append("  " * indent + "} else {")
            self.stmts(s.orelse, indent + 1, s.end)
        self.lines.append("  " * indent + "}")


def _fields(fields: list[Param]) -> str:
    return ", ".join(f"{f.name}: {f.type}" for f in fields)


def format_contract(text: str, *, name: str = "<contract>") -> str:
    """The canonical layout of a contract source; raises ContractCompileError if it does not parse."""
    comments: list[tuple[int, str]] = []
    c, diags = parse_contract(text, comments)
    if diags:
        source = Source(text, name)
        raise ContractCompileError(
            f"{name}: cannot format a file with syntax errors ({diags[0].code} {diags[0].message})",
            diagnostics=diags,
            source=source,
            hint=f"fix the errors `cec check {name}` reports first",
            rendered=render_diagnostics(diags, source),
        )
    return _print_contract(c, comments)


def _print_contract(c: ContractDecl, comments: list[tuple[int, str]]) -> str:
    p = _Printer(comments)
    version = f" version {c.version}" if c.version != 1 else ""
    p.line(f"contract {c.name}{version} {{", 0, c.start)
    groups: list[list[tuple[int, Any]]] = [
        [(d.start, d) for d in c.parties],
        [(d.start, d) for d in c.enums] + [(d.start, d) for d in c.records],
        [(d.start, d) for d in c.states],
        [(d.start, d) for d in c.events],
    ]
    first = True
    for group in groups:
        if not group:
            continue
        if not first:
            p.lines.append("")
        first = False
        for _, d in sorted(group, key=lambda x: x[0]):
            kind = type(d).__name__
            if kind == "PartyDecl":
                p.line(f"party {d.name}: {d.role};", 1, d.start)
            elif kind == "EnumDecl":
                p.line(f"enum {d.name} {{ {', '.join(d.members)} }}", 1, d.start)
            elif kind == "RecordDecl":
                p.line(f"record {d.name} {{ {_fields(d.fields)} }}", 1, d.start)
            elif kind == "StateDecl":
                p.line(f"state {d.name}: {d.type} = {format_expr(d.init)};", 1, d.start)
            else:
                p.line(f"event {d.name}({_fields(d.fields)});", 1, d.start)
    for ch in c.choices:
        p.lines.append("")
        p.line(
            f"choice {ch.name}({_fields(ch.params)}) by {', '.join(ch.controllers)}", 1, ch.start
        )
        for e in ch.pre:
            p.line(f"ensure pre {format_expr(e)};", 2, e.start)
        for e in ch.post:
            p.line(f"ensure post {format_expr(e)};", 2, e.start)
        p.lines.append("  {")
        p.stmts(ch.body, 2, ch.end)
        p.lines.append("  }")
    for o in c.obligations:
        p.lines.append("")
        deadline = f" within {format_expr(o.deadline)}" if o.deadline is not None else ""
        head = f"obligation {o.name}: {o.party} must {o.choice}{deadline} after {o.after}"
        if o.breach:
            p.line(head + " otherwise {", 1, o.start)
            p.stmts(o.breach, 2, o.end)
            p.lines.append("  };")
        else:
            p.line(head + ";", 1, o.start)
    for m in c.migrations:
        p.lines.append("")
        p.line(f"migrate from {m.from_version} ({_fields(m.fields)}) {{", 1, m.start)
        p.stmts(m.body, 2, m.end)
        p.lines.append("  }")
    p.flush(c.end, 1)
    p.lines.append("}")
    return "\n".join(p.lines) + "\n"

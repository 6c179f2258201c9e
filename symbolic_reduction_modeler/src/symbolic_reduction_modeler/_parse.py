"""A Pratt parser for ordinary infix math: ``x^2 + 3*x*y``, ``sin(x)/x``, ``2/3*x**-1``.

Grammar (loosest first): ``+ -`` < ``* /`` < unary ``-`` < ``^``/``**``
(right-associative) < calls and atoms.  Numbers are exact: ``0.25`` is 1/4.
Errors name the column and show a caret under it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from symbolic_reduction_modeler._expr import Expr, Func, Number, Pow, Symbol, sqrt
from symbolic_reduction_modeler.errors import SymbolicSyntaxError

__all__ = ["parse"]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.\d*|\.\d+|\d+)|(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<op>\*\*|[-+*/^(),=]))"
)
_MAX_LENGTH = 100_000
_MAX_DEPTH = 200


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _error(text, pos, f"unexpected character {text[pos]!r}")
        kind = match.lastgroup or "op"
        out.append(_Tok(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    out.append(_Tok("end", "", len(text)))
    return out


def _error(text: str, pos: int, what: str) -> SymbolicSyntaxError:
    line = text.replace("\n", " ")
    return SymbolicSyntaxError(
        f"{what} at column {pos + 1}: {line[:80]}",
        column=pos + 1,
        hint=" " * 0 + "write products with '*' and powers with '^' or '**'",
    )


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            found = "the end" if tok.kind == "end" else repr(tok.text)
            raise _error(self.text, tok.pos, f"expected {text!r}, found {found}")

    def expression(self, min_bp: int = 0) -> Expr:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _error(self.text, self.peek().pos, "expression nests too deeply")
        left = self.prefix()
        while True:
            tok = self.peek()
            bp = {"+": 10, "-": 10, "*": 20, "/": 20, "^": 40, "**": 40}.get(tok.text)
            if tok.kind != "op" or bp is None or bp < min_bp or (bp == min_bp and bp != 40):
                break
            self.take()
            if tok.text in ("^", "**"):
                right = self.expression(40)  # right-associative
                left = Pow.of(left, right)
            else:
                right = self.expression(bp + 1)
                left = {
                    "+": lambda a, b: a + b,
                    "-": lambda a, b: a - b,
                    "*": lambda a, b: a * b,
                    "/": lambda a, b: a / b,
                }[tok.text](left, right)
        self.depth -= 1
        return left

    def prefix(self) -> Expr:
        tok = self.take()
        if tok.kind == "num":
            return Number.of(Fraction(tok.text))
        if tok.kind == "name":
            if self.peek().text == "(":
                self.take()
                arg = self.expression()
                self.expect(")")
                if tok.text == "sqrt":
                    return sqrt(arg)
                if tok.text not in Func.NAMES:
                    raise _error(self.text, tok.pos, f"unknown function {tok.text!r}")
                return Func.of(tok.text, arg)
            return Symbol.of(tok.text)
        if tok.text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if tok.text == "-":
            return -self.expression(30)
        if tok.text == "+":
            return self.expression(30)
        found = "the end of the input" if tok.kind == "end" else repr(tok.text)
        raise _error(self.text, tok.pos, f"expected a number, a name or '(', found {found}")


def parse(text: str) -> Expr:
    """Parse one expression; any problem raises :class:`SymbolicSyntaxError` with its column."""
    if not isinstance(text, str):
        raise SymbolicSyntaxError("expected text to parse", column=0)
    if len(text) > _MAX_LENGTH:
        raise SymbolicSyntaxError(f"expression is longer than {_MAX_LENGTH} characters", column=0)
    parser = _Parser(text)
    result = parser.expression()
    tail = parser.peek()
    if tail.kind != "end":
        raise _error(text, tail.pos, f"unexpected {tail.text!r} after a complete expression")
    return result

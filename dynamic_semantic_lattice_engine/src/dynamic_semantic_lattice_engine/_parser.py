"""A parser for the Soufflé-compatible Datalog subset, plus lattice declarations.

Supported: ``.type``, ``.decl`` (with Soufflé's qualifiers, ignored, and this
engine's ``lattice NAME`` qualifier), ``.input``/``.output``/``.printsize``
with their parameters, ``#include``, facts, rules with several heads and
``;`` disjunction, negation ``!``, comparisons, arithmetic (``+ - * / %``,
``min``/``max`` functors), ``_``, aggregates (``count``, ``sum``, ``min``,
``max``, ``mean``) and, as an extension, IRIs written ``<http://...>`` as symbol
constants.  Every syntax problem raises :class:`LatticeParseError` naming the
source, line and column.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from dynamic_semantic_lattice_engine._program import (
    Aggregate,
    AggregateFunc,
    Atom,
    BinOp,
    CompareOp,
    Const,
    Constraint,
    Decl,
    Literal_,
    Program,
    Rule,
    Term,
    Var,
    Wildcard,
)
from dynamic_semantic_lattice_engine.errors import LatticeParseError

__all__ = ["parse_atom", "parse_program", "parse_query"]

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<include>\#include[ \t]+"(?:[^"\\\n]|\\.)*")
  | (?P<directive>\.[A-Za-z_]+)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<iri><[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>"{}|^`\\]*>)
  | (?P<number>0x[0-9A-Fa-f]+|\d+\.\d+(?:[eE][-+]?\d+)?|\d+)
  | (?P<ident>[A-Za-z_?][A-Za-z0-9_?]*)
  | (?P<op>:-|<:|!=|<=|>=|[(),.:=<>!{}+\-*/%;\[\]|])
    """,
    re.VERBOSE | re.DOTALL,
)

_AGGREGATES = frozenset({"count", "sum", "min", "max", "mean"})
_QUALIFIERS = frozenset(
    {
        "lattice",
        "brie",
        "btree",
        "btree_delete",
        "eqrel",
        "inline",
        "magic",
        "no_magic",
        "overridable",
        "no_inline",
    }
)
_COMPARE = frozenset({"=", "!=", "<", "<=", ">", ">="})
_DIRECTIVES = frozenset(
    {".decl", ".input", ".output", ".printsize", ".type", ".number_type", ".symbol_type", ".pragma"}
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    line: int
    col: int


def _unescape(text: str) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _tokenize(text: str, source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    line = 1
    line_start = 0
    n = len(text)
    while pos < n:
        match = _TOKEN.match(text, pos)
        if match is None:
            raise LatticeParseError(
                f"{source}:{line}:{pos - line_start + 1}: unexpected character {text[pos]!r}",
                hint="check the Datalog syntax near this position",
                source=source,
                line=line,
                column=pos - line_start + 1,
            )
        kind = cast(str, match.lastgroup)
        value = match.group()
        if kind not in ("ws", "comment"):
            tokens.append(_Tok(kind, value, line, pos - line_start + 1))
        newlines = value.count("\n")
        if newlines:
            line += newlines
            line_start = pos + value.rfind("\n") + 1
        pos = match.end()
    tokens.append(_Tok("eof", "", line, pos - line_start + 1))
    return tokens


class _Parser:
    def __init__(
        self, text: str, source: str, loader: Callable[[str, str], tuple[str, str]] | None
    ) -> None:
        self.toks = _tokenize(text, source)
        self.i = 0
        self.source = source
        self.loader = loader
        self.anon = 0

    # -- token helpers -------------------------------------------------
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def error(
        self, message: str, tok: _Tok | None = None, hint: str | None = None
    ) -> LatticeParseError:
        t = tok or self.tok
        found = "end of input" if t.kind == "eof" else repr(t.text)
        return LatticeParseError(
            f"{self.source}:{t.line}:{t.col}: {message} (found {found})",
            hint=hint or "check the Datalog syntax near this position",
            source=self.source,
            line=t.line,
            column=t.col,
        )

    def accept(self, text: str) -> bool:
        if self.tok.kind in ("op", "ident") and self.tok.text == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> _Tok:
        if self.tok.text != text or self.tok.kind not in ("op", "ident"):
            raise self.error(f"expected {text!r}")
        tok = self.tok
        self.i += 1
        return tok

    def ident(self, what: str = "a name") -> str:
        if self.tok.kind != "ident":
            raise self.error(f"expected {what}")
        text = self.tok.text
        self.i += 1
        return text

    # -- program -------------------------------------------------------
    def program(self) -> Program:
        prog = Program()
        while self.tok.kind != "eof":
            if self.tok.kind == "include":
                self.include(prog)
            elif self.tok.kind == "directive":
                self.directive(prog)
            else:
                self.clause(prog)
        return prog

    def include(self, prog: Program) -> None:
        tok = self.tok
        self.i += 1
        name = _unescape(tok.text[tok.text.index('"') :])
        if self.loader is None:
            raise self.error("#include is not allowed here", tok, hint="parse from a file instead")
        try:
            text, source = self.loader(name, self.source)
        except OSError as exc:
            raise self.error(f"cannot read included file {name!r}: {exc.strerror}", tok) from exc
        prog.extend(_Parser(text, source, self.loader).program())

    def directive(self, prog: Program) -> None:
        tok = self.tok
        name = tok.text
        if name not in _DIRECTIVES:
            raise self.error(
                f"unsupported directive {name}",
                tok,
                hint=f"supported: {', '.join(sorted(_DIRECTIVES))}",
            )
        self.i += 1
        if name == ".decl":
            self.decl(prog)
        elif name in (".input", ".output", ".printsize"):
            self.io(prog, name)
        elif name == ".type":
            type_name = self.ident("a type name")
            if self.accept("<:"):
                prog.types[type_name] = self.base_type(prog)
            elif self.accept("="):
                base = self.base_type(prog)
                while self.accept("|"):
                    self.base_type(prog)
                prog.types[type_name] = base
            else:
                raise self.error("expected '<:' or '=' in a .type declaration")
        elif name in (".number_type", ".symbol_type"):
            prog.types[self.ident("a type name")] = "number" if name == ".number_type" else "symbol"
        else:  # .pragma "key" "value"
            while self.tok.kind == "string":
                self.i += 1

    def base_type(self, prog: Program) -> str:
        if self.tok.text == "[":
            raise self.error("record types are not supported", hint="use symbol columns instead")
        name = self.ident("a type")
        return prog.types.get(name, name)

    def decl(self, prog: Program) -> None:
        names = [self.ident("a relation name")]
        while self.accept(","):
            names.append(self.ident("a relation name"))
        self.expect("(")
        columns: list[tuple[str, str]] = []
        if not self.accept(")"):
            while True:
                col = self.ident("a column name")
                typ = "symbol"
                if self.accept(":"):
                    typ = self.ident("a column type")
                    typ = prog.types.get(typ, typ)
                columns.append((col, typ))
                if self.accept(")"):
                    break
                self.expect(",")
        lattice: str | None = None
        while self.tok.kind == "ident" and self.tok.text in _QUALIFIERS:
            if self.ident() == "lattice":
                lattice = self.ident("a lattice name")
        for name in names:
            if lattice is not None and not columns:
                raise self.error(f"lattice relation {name} needs a value column")
            prog.decls[name] = Decl(name, list(columns), lattice)

    def io(self, prog: Program, kind: str) -> None:
        names = [self.ident("a relation name")]
        while self.accept(","):
            names.append(self.ident("a relation name"))
        params: dict[str, str] = {}
        if self.accept("("):
            while not self.accept(")"):
                key = self.ident("a parameter name")
                self.expect("=")
                if self.tok.kind == "string":
                    params[key] = _unescape(self.tok.text)
                elif self.tok.kind in ("ident", "number"):
                    params[key] = self.tok.text
                else:
                    raise self.error("expected a parameter value")
                self.i += 1
                self.accept(",")
        target = prog.inputs if kind == ".input" else prog.outputs
        for name in names:
            target[name] = dict(params)

    # -- clauses -------------------------------------------------------
    def clause(self, prog: Program) -> None:
        heads = [self.atom()]
        while self.accept(","):
            heads.append(self.atom())
        if self.accept("."):
            for head in heads:
                if any(not isinstance(a, Const) for a in head.args):
                    raise self.error(
                        f"fact {head.pred} has a non-constant argument",
                        hint="a fact's arguments must be strings or numbers; add a body to make it a rule",
                    )
                prog.facts.append(head)
            return
        self.expect(":-")
        for conj in self.disjunction():
            for head in heads:
                prog.rules.append(Rule(head, tuple(conj)))
        self.expect(".")

    def disjunction(self) -> list[list[Literal_]]:
        options = [self.conjunction()]
        while self.accept(";"):
            options.append(self.conjunction())
        return options

    def conjunction(self) -> list[Literal_]:
        out = self.literal_group()
        while self.accept(","):
            out.extend(self.literal_group())
        return out

    def literal_group(self) -> list[Literal_]:
        """A literal, or a parenthesised conjunction such as ``(N <= 25)``.

        A parenthesis may also open an arithmetic term (``(X + 1) < Y``), so
        the group is tried first and the literal parsed again on failure.
        """
        if self.tok.text == "(" and self.tok.kind != "string":
            start = self.i
            self.i += 1
            try:
                options = self.disjunction()
                self.expect(")")
            except LatticeParseError:
                self.i = start
            else:
                if len(options) == 1:
                    return options[0]
                raise self.error(
                    "a disjunction inside a rule body is not supported",
                    hint="write one rule per alternative",
                )
        return [self.literal()]

    def literal(self) -> Literal_:
        if self.accept("!"):
            atom = self.atom()
            return Atom(atom.pred, atom.args, negated=True)
        if (
            self.tok.kind == "ident"
            and self.peek().text == "("
            and self.tok.text not in ("min", "max")
        ):
            return self.atom()
        if (
            self.tok.kind == "ident"
            and self.peek().text == "="
            and self.peek(2).kind == "ident"
            and self.peek(2).text in _AGGREGATES
            and self.peek(3).text != "("
        ):
            var = Var(self.ident())
            self.expect("=")
            return self.aggregate(var)
        left = self.term()
        op = self.tok.text
        if self.tok.kind != "op" or op not in _COMPARE:
            raise self.error("expected an atom or a comparison")
        self.i += 1
        right = self.term()
        return Constraint(cast(CompareOp, op), left, right)

    def aggregate(self, var: Var) -> Aggregate:
        func = self.ident()
        target: Term | None = None
        if func != "count":
            target = self.term()
        self.expect(":")
        if self.accept("{"):
            body = self.conjunction()
            self.expect("}")
        else:
            body = [self.atom()]
        inner: list[Atom | Constraint] = []
        for lit in body:
            if isinstance(lit, Aggregate):
                raise self.error("nested aggregates are not supported")
            inner.append(lit)
        return Aggregate(var, cast(AggregateFunc, func), target, tuple(inner))

    def atom(self) -> Atom:
        pred = self.ident("a relation name")
        self.expect("(")
        args: list[Term] = []
        if not self.accept(")"):
            while True:
                args.append(self.term())
                if self.accept(")"):
                    break
                self.expect(",")
        return Atom(pred, tuple(args))

    def term(self) -> Term:
        left = self.product()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = self.tok.text
            self.i += 1
            left = BinOp(op, left, self.product())
        return left

    def product(self) -> Term:
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/", "%"):
            op = self.tok.text
            self.i += 1
            left = BinOp(op, left, self.unary())
        return left

    def unary(self) -> Term:
        if self.tok.kind == "op" and self.tok.text == "-":
            self.i += 1
            inner = self.unary()
            if isinstance(inner, Const) and not isinstance(inner.value, str):
                return Const(-inner.value)
            return BinOp("-", Const(0), inner)
        return self.primary()

    def primary(self) -> Term:
        tok = self.tok
        if tok.kind == "string":
            self.i += 1
            return Const(_unescape(tok.text))
        if tok.kind == "iri":
            self.i += 1
            return Const(tok.text)
        if tok.kind == "number":
            self.i += 1
            if tok.text.startswith("0x"):
                return Const(int(tok.text, 16))
            return Const(float(tok.text) if "." in tok.text else int(tok.text))
        if tok.kind == "ident":
            self.i += 1
            if tok.text == "_":
                return Wildcard()
            if tok.text in ("min", "max") and self.tok.text == "(":
                self.i += 1
                a = self.term()
                self.expect(",")
                b = self.term()
                self.expect(")")
                return BinOp(tok.text, a, b)
            if self.tok.text == "(":
                raise self.error(
                    f"unsupported functor {tok.text!r}", tok, hint="supported functors: min, max"
                )
            return Var(tok.text)
        if self.accept("("):
            inner = self.term()
            self.expect(")")
            return inner
        raise self.error("expected a term")


def _file_loader(name: str, including: str) -> tuple[str, str]:
    base = Path(including).parent if including and not including.startswith("<") else Path.cwd()
    path = (base / name).resolve()
    return path.read_text(encoding="utf-8"), str(path)


def parse_program(text: str, *, source: str = "<program>", allow_include: bool = True) -> Program:
    """Parse a whole program.

    Args:
        text: the program text.
        source: where it came from (a file path resolves ``#include`` relative to it).
        allow_include: whether ``#include`` may read files.

    Raises:
        LatticeParseError: on any syntax error, naming ``source``, line and column.
    """
    parser = _Parser(text, source, _file_loader if allow_include else None)
    return parser.program()


def parse_query(text: str) -> list[Literal_]:
    """Parse a conjunctive Datalog query such as ``tc("a", X), !base(X, "d")``.

    A trailing ``.`` and a leading ``?-`` are optional.
    """
    stripped = text.strip()
    if stripped.startswith("?-"):
        stripped = stripped[2:]
    stripped = stripped.rstrip().removesuffix(".")
    parser = _Parser(stripped, "<query>", None)
    if parser.tok.kind == "eof":
        raise parser.error("empty query", hint='write atoms like rel(X, "a")')
    body = parser.conjunction()
    if parser.tok.kind != "eof":
        raise parser.error("unexpected text after the query")
    return body


def parse_atom(text: str) -> Atom:
    """Parse one atom (a fact to explain, for instance): ``tc("a", "d")``."""
    stripped = text.strip().rstrip(".").strip()
    parser = _Parser(stripped, "<atom>", None)
    atom = parser.atom()
    if parser.tok.kind != "eof":
        raise parser.error("unexpected text after the atom")
    return atom

"""The abstract syntax of Datalog programs with lattice-valued predicates.

Programs come from the Soufflé-compatible parser (:mod:`._parser`) or are
built directly.  A predicate declared with a lattice carries its value in its
last column: facts with equal leading columns are one fact whose value is the
join of theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Aggregate",
    "Atom",
    "BinOp",
    "Const",
    "Constraint",
    "Decl",
    "Program",
    "Rule",
    "Term",
    "Var",
    "Wildcard",
]

NUMBER_TYPES = frozenset({"number", "unsigned", "float"})


@dataclass(frozen=True)
class Var:
    """A named variable."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Wildcard:
    """``_``: matches anything, binds nothing."""

    def __str__(self) -> str:
        return "_"


@dataclass(frozen=True)
class Const:
    """A constant: a symbol (``str``) or a number (``int``/``float``)."""

    value: str | int | float

    def __str__(self) -> str:
        if isinstance(self.value, str):
            escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
            return f'"{escaped}"'
        return str(self.value)


@dataclass(frozen=True)
class BinOp:
    """Arithmetic on numbers: ``+ - * / %``, or a functor ``min``/``max`` of two terms."""

    op: str
    left: Term
    right: Term

    def __str__(self) -> str:
        if self.op in ("min", "max"):
            return f"{self.op}({self.left}, {self.right})"
        return f"({self.left} {self.op} {self.right})"


Term = Var | Wildcard | Const | BinOp


def term_vars(term: Term) -> set[str]:
    """The variables a term mentions."""
    if isinstance(term, Var):
        return {term.name}
    if isinstance(term, BinOp):
        return term_vars(term.left) | term_vars(term.right)
    return set()


@dataclass(frozen=True)
class Atom:
    """``pred(args)``, or its negation ``!pred(args)`` in a body."""

    pred: str
    args: tuple[Term, ...]
    negated: bool = False

    def vars(self) -> set[str]:
        out: set[str] = set()
        for arg in self.args:
            out |= term_vars(arg)
        return out

    def __str__(self) -> str:
        text = f"{self.pred}({', '.join(str(a) for a in self.args)})"
        return "!" + text if self.negated else text


CompareOp = Literal["=", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True)
class Constraint:
    """A comparison; ``X = expr`` with ``X`` unbound binds ``X``."""

    op: CompareOp
    left: Term
    right: Term

    def vars(self) -> set[str]:
        return term_vars(self.left) | term_vars(self.right)

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


AggregateFunc = Literal["count", "sum", "min", "max", "mean"]


@dataclass(frozen=True)
class Aggregate:
    """``result = func target : { body }`` with ``func`` in count, sum, min, max, mean."""

    result: Var
    func: AggregateFunc
    target: Term | None
    body: tuple[Atom | Constraint, ...]

    def vars(self) -> set[str]:
        out = {self.result.name}
        for lit in self.body:
            out |= lit.vars()
        return out

    def __str__(self) -> str:
        target = f" {self.target}" if self.target is not None else ""
        inner = ", ".join(str(b) for b in self.body)
        return f"{self.result} = {self.func}{target} : {{ {inner} }}"


Literal_ = Atom | Constraint | Aggregate


@dataclass(frozen=True)
class Rule:
    """``head :- body.``"""

    head: Atom
    body: tuple[Literal_, ...]

    def __str__(self) -> str:
        return f"{self.head} :- {', '.join(str(b) for b in self.body)}."


@dataclass
class Decl:
    """A predicate declaration: column names and types, and an optional lattice."""

    name: str
    columns: list[tuple[str, str]]
    lattice: str | None = None

    @property
    def arity(self) -> int:
        return len(self.columns)

    def is_number(self, index: int) -> bool:
        """Whether column ``index`` holds raw numbers rather than interned symbols."""
        return self.columns[index][1] in NUMBER_TYPES


@dataclass
class Program:
    """A whole program: declarations, facts, rules and I/O directives."""

    decls: dict[str, Decl] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    facts: list[Atom] = field(default_factory=list)
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)

    def extend(self, other: Program) -> None:
        """Add ``other``'s declarations, facts, rules and directives to this program."""
        self.decls.update(other.decls)
        self.rules.extend(other.rules)
        self.facts.extend(other.facts)
        self.inputs.update(other.inputs)
        self.outputs.update(other.outputs)
        self.types.update(other.types)

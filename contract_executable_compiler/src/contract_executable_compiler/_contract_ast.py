"""The syntax tree of a contract: declarations around CEL expressions.

A contract declares parties, typed state with initial values, records and
enums, events, choices (with a controller, ``ensure pre``/``ensure post``
conditions and a body of statements) and obligations (a party must exercise a
choice within a deadline after an activating choice, otherwise a breach
block runs).  Every node keeps its source span for diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contract_executable_compiler._ast import Expr

__all__ = [
    "Assign",
    "ChoiceDecl",
    "Close",
    "ContractDecl",
    "Emit",
    "EnumDecl",
    "EventDecl",
    "Fail",
    "If",
    "Let",
    "ObligationDecl",
    "Param",
    "PartyDecl",
    "RecordDecl",
    "StateDecl",
    "Stmt",
    "TypeRef",
]


@dataclass(slots=True)
class TypeRef:
    """A written type: ``int``, ``list<string>``, ``map<string, int>``, ``Phase``."""

    name: str
    args: list[TypeRef]
    start: int
    end: int

    def __str__(self) -> str:
        if self.args:
            return f"{self.name}<{', '.join(str(a) for a in self.args)}>"
        return self.name


@dataclass(slots=True)
class Param:
    """A typed name: a choice parameter, an event field or a record field."""

    name: str
    type: TypeRef
    start: int
    end: int


@dataclass(slots=True)
class PartyDecl:
    """``party buyer: signatory;`` or ``party auditor: observer;``."""

    name: str
    role: str
    start: int
    end: int


@dataclass(slots=True)
class StateDecl:
    """``state amount: int = 0;``."""

    name: str
    type: TypeRef
    init: Expr
    start: int
    end: int


@dataclass(slots=True)
class RecordDecl:
    """``record Item { name: string, price: int }``."""

    name: str
    fields: list[Param]
    start: int
    end: int


@dataclass(slots=True)
class EnumDecl:
    """``enum Phase { Open, Funded, Closed }``."""

    name: str
    members: list[str]
    start: int
    end: int


@dataclass(slots=True)
class EventDecl:
    """``event Paid(amount: int, to: string);``."""

    name: str
    fields: list[Param]
    start: int
    end: int


class Stmt:
    """Base of statements; ``start``/``end`` are source offsets."""

    __slots__ = ("end", "start")

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end


class Assign(Stmt):
    """``field = expr;`` (state fields only)."""

    __slots__ = ("name", "value")

    def __init__(self, name: str, value: Expr, start: int, end: int) -> None:
        super().__init__(start, end)
        self.name = name
        self.value = value


class Let(Stmt):
    """``let name = expr;``: a local for the rest of the block."""

    __slots__ = ("name", "value")

    def __init__(self, name: str, value: Expr, start: int, end: int) -> None:
        super().__init__(start, end)
        self.name = name
        self.value = value


class Emit(Stmt):
    """``emit Event(args);``."""

    __slots__ = ("args", "event")

    def __init__(self, event: str, args: list[Expr], start: int, end: int) -> None:
        super().__init__(start, end)
        self.event = event
        self.args = args


class If(Stmt):
    """``if cond { ... } else { ... }``."""

    __slots__ = ("cond", "orelse", "then")

    def __init__(
        self, cond: Expr, then: list[Stmt], orelse: list[Stmt], start: int, end: int
    ) -> None:
        super().__init__(start, end)
        self.cond = cond
        self.then = then
        self.orelse = orelse


class Close(Stmt):
    """``close;``: the contract reaches its terminal state."""

    __slots__ = ()


class Fail(Stmt):
    """``fail "reason";``: reject the choice; nothing it did is kept."""

    __slots__ = ("message",)

    def __init__(self, message: str, start: int, end: int) -> None:
        super().__init__(start, end)
        self.message = message


@dataclass(slots=True)
class ChoiceDecl:
    """``choice name(params) by party { ... }`` with its ensure clauses."""

    name: str
    params: list[Param]
    controllers: list[str]
    pre: list[Expr]
    post: list[Expr]
    body: list[Stmt]
    start: int
    end: int
    controller_spans: list[tuple[int, int]] = field(default_factory=list)


@dataclass(slots=True)
class ObligationDecl:
    """``obligation n: party must choice within DURATION after choice|start otherwise {...}``."""

    name: str
    party: str
    choice: str
    deadline: Expr | None
    after: str
    breach: list[Stmt]
    start: int
    end: int


@dataclass(slots=True)
class MigrationDecl:
    """``migrate from N (old fields) { statements }``: read the state of version N.

    ``fields`` declare the old version's state shape (what ``old`` holds);
    the body assigns this version's state fields, which start at their
    declared initial values.
    """

    from_version: int
    fields: list[Param]
    body: list[Stmt]
    start: int
    end: int


@dataclass(slots=True)
class ContractDecl:
    """A whole contract."""

    name: str
    version: int
    parties: list[PartyDecl] = field(default_factory=list)
    states: list[StateDecl] = field(default_factory=list)
    records: list[RecordDecl] = field(default_factory=list)
    enums: list[EnumDecl] = field(default_factory=list)
    events: list[EventDecl] = field(default_factory=list)
    choices: list[ChoiceDecl] = field(default_factory=list)
    obligations: list[ObligationDecl] = field(default_factory=list)
    migrations: list[MigrationDecl] = field(default_factory=list)
    start: int = 0
    end: int = 0

"""Contract checking and compilation: declarations -> typed programs -> one bytecode container.

Checks (each a stable diagnostic code): duplicate names (E0201), unknown
parties (E0202), obligations without a deadline (E0203, from the parser),
unknown types (E0204), assignments to undeclared state (E0205), and every CEL
expression type-checked in its scope (E0101-E0104).  All independent errors
are collected before anything is reported.

Each choice compiles to one program: its ``ensure pre`` conditions, its body,
its ``ensure post`` conditions.  The state-initialiser, each obligation's
deadline and each breach block are programs too, and so is each ``migrate
from N`` block (E0206 when N is not an older version, or repeats).  The static gas bound of the
contract is the largest bound of any of its programs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Final

from contract_executable_compiler._ast import Expr
from contract_executable_compiler._bytecode import Op, Program, pack, unpack
from contract_executable_compiler._checker import CelTypeT, Checker, Declarations, T, assignable
from contract_executable_compiler._codegen import DEFAULT_MAX_ITERATIONS, CodeGen, fold
from contract_executable_compiler._contract_ast import (
    Assign,
    ChoiceDecl,
    Close,
    ContractDecl,
    Emit,
    Fail,
    If,
    Let,
    MigrationDecl,
    Stmt,
    TypeRef,
)
from contract_executable_compiler._contract_parser import parse_contract
from contract_executable_compiler._diagnostics import Diagnostic, Source, render_diagnostics
from contract_executable_compiler.errors import ContractBytecodeError, ContractCompileError

__all__ = [
    "CompiledContract",
    "MigrationInfo",
    "check_contract",
    "compile_contract",
    "load_contract",
]

KIND_CONTRACT: Final = 1
_OLD_STATE: Final = "@OldState"
_PRIMITIVES: Final = {
    "bool": T.BOOL,
    "int": T.INT,
    "uint": T.UINT,
    "double": T.DOUBLE,
    "string": T.STRING,
    "bytes": T.BYTES,
    "timestamp": T.TIMESTAMP,
    "duration": T.DURATION,
    "dyn": T.DYN,
    "money": T.MONEY,
}


def type_to_value(t: CelTypeT) -> list[Any]:
    """A type as nested lists, for the bytecode container."""
    return [t.kind, [type_to_value(p) for p in t.params]]


def type_from_value(v: Any) -> CelTypeT:
    """Inverse of :func:`type_to_value`."""
    try:
        kind, params = v
        return CelTypeT(str(kind), tuple(type_from_value(p) for p in params))
    except (TypeError, ValueError):
        raise ContractBytecodeError("bytecode holds a malformed type") from None


@dataclass(slots=True)
class ChoiceInfo:
    """A compiled choice: parameters, controllers and its program."""

    name: str
    params: list[tuple[str, CelTypeT]]
    controllers: list[str]
    program: Program


@dataclass(slots=True)
class ObligationInfo:
    """A compiled obligation."""

    name: str
    party: str
    choice: str
    after: str
    deadline: Program
    breach: Program


@dataclass(slots=True)
class MigrationInfo:
    """A compiled ``migrate from N``: the old state's declared shape and the program."""

    from_version: int
    old_state: list[tuple[str, CelTypeT]]
    program: Program


@dataclass(slots=True)
class CompiledContract:
    """Everything needed to run a contract, and its canonical bytecode."""

    name: str
    version: int
    parties: list[tuple[str, str]]
    records: dict[str, dict[str, CelTypeT]]
    enums: dict[str, list[str]]
    state: list[tuple[str, CelTypeT]]
    init: Program
    events: dict[str, list[tuple[str, CelTypeT]]]
    choices: dict[str, ChoiceInfo]
    obligations: list[ObligationInfo]
    source_sha256: str
    migrations: dict[int, MigrationInfo] = field(default_factory=dict)
    digest_cache: str = field(default="", repr=False, compare=False)

    @property
    def gas_bound(self) -> int:
        """The largest static gas bound of any single step (choice, breach, initialiser)."""
        programs = [self.init, *(c.program for c in self.choices.values())]
        programs += [o.breach for o in self.obligations] + [o.deadline for o in self.obligations]
        programs += [m.program for m in self.migrations.values()]
        return max(p.gas_bound for p in programs)

    def to_value(self) -> dict[str, Any]:
        """Plain encodable data, in a canonical order.

        ``migrations`` is present only when the contract declares one, so a
        contract without migrations keeps the bytecode (and hash) it had
        before migrations existed.
        """
        value = self._core_value()
        if self.migrations:
            value["migrations"] = [
                [v, [[n, type_to_value(t)] for n, t in m.old_state], m.program.to_value()]
                for v, m in sorted(self.migrations.items())
            ]
        return value

    def _core_value(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "parties": [list(p) for p in self.parties],
            "records": {
                r: [[f, type_to_value(t)] for f, t in fields.items()]
                for r, fields in self.records.items()
            },
            "enums": self.enums,
            "state": [[n, type_to_value(t)] for n, t in self.state],
            "init": self.init.to_value(),
            "events": {e: [[f, type_to_value(t)] for f, t in fs] for e, fs in self.events.items()},
            "choices": [
                [
                    c.name,
                    [[n, type_to_value(t)] for n, t in c.params],
                    c.controllers,
                    c.program.to_value(),
                ]
                for c in self.choices.values()
            ],
            "obligations": [
                [o.name, o.party, o.choice, o.after, o.deadline.to_value(), o.breach.to_value()]
                for o in self.obligations
            ],
            "source_sha256": self.source_sha256,
        }

    def to_bytes(self) -> bytes:
        """The versioned, hashed bytecode container (byte-identical for identical source)."""
        return pack(self.to_value(), KIND_CONTRACT)

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of the bytecode payload: the contract's identity (computed once)."""
        if not self.digest_cache:
            self.digest_cache = unpack(self.to_bytes())[2]
        return self.digest_cache

    @classmethod
    def from_value(cls, v: Any) -> CompiledContract:
        """Inverse of :meth:`to_value`."""
        try:
            return cls(
                name=str(v["name"]),
                version=int(v["version"]),
                parties=[(str(a), str(b)) for a, b in v["parties"]],
                records={
                    r: {str(f): type_from_value(t) for f, t in fields}
                    for r, fields in v["records"].items()
                },
                enums={str(k): [str(m) for m in ms] for k, ms in v["enums"].items()},
                state=[(str(n), type_from_value(t)) for n, t in v["state"]],
                init=Program.from_value(v["init"]),
                events={
                    str(e): [(str(f), type_from_value(t)) for f, t in fs]
                    for e, fs in v["events"].items()
                },
                choices={
                    str(c[0]): ChoiceInfo(
                        str(c[0]),
                        [(str(n), type_from_value(t)) for n, t in c[1]],
                        [str(p) for p in c[2]],
                        Program.from_value(c[3]),
                    )
                    for c in v["choices"]
                },
                obligations=[
                    ObligationInfo(
                        str(o[0]),
                        str(o[1]),
                        str(o[2]),
                        str(o[3]),
                        Program.from_value(o[4]),
                        Program.from_value(o[5]),
                    )
                    for o in v["obligations"]
                ],
                source_sha256=str(v["source_sha256"]),
                migrations={
                    int(m[0]): MigrationInfo(
                        int(m[0]),
                        [(str(n), type_from_value(t)) for n, t in m[1]],
                        Program.from_value(m[2]),
                    )
                    for m in v.get("migrations", [])
                },
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ContractBytecodeError(
                f"contract bytecode has the wrong shape: {exc}",
                hint="recompile the contract with `cec compile`",
            ) from None


def load_contract(data: bytes) -> CompiledContract:
    """Load a contract bytecode file; checks magic, version and content hash."""
    kind, value, _digest = unpack(data)
    if kind != KIND_CONTRACT:
        raise ContractBytecodeError(
            "this bytecode file holds an expression, not a contract",
            hint="evaluate expressions with `cec eval`",
        )
    return CompiledContract.from_value(value)


class _ContractCompiler:
    def __init__(self, decl: ContractDecl, max_iterations: int) -> None:
        self.decl = decl
        self.diags: list[Diagnostic] = []
        self.max_iterations = max_iterations
        self.records: dict[str, dict[str, CelTypeT]] = {}
        self.enums: dict[str, list[str]] = {}
        self.constants: dict[str, Any] = {}
        self.enum_vars: dict[str, CelTypeT] = {}
        self.state_types: dict[str, CelTypeT] = {}
        self.events: dict[str, list[tuple[str, CelTypeT]]] = {}
        self.parties = {p.name: p.role for p in decl.parties}

    def err(self, code: str, msg: str, start: int, end: int, **kw: Any) -> None:
        self.diags.append(Diagnostic(code, msg, start, max(end, start + 1), **kw))

    # ---------------------------------------------------------------- declarations
    def names(self) -> None:
        seen: dict[str, int] = {}

        def once(kind: str, name: str, start: int, end: int) -> None:
            key = f"{kind}:{name}"
            if key in seen:
                self.err(
                    "E0201",
                    f"{kind} {name!r} is declared twice",
                    start,
                    end,
                    help="rename or remove one of them",
                )
            seen[key] = start

        for p in self.decl.parties:
            once("party", p.name, p.start, p.end)
        for r in self.decl.records:
            once("type", r.name, r.start, r.end)
        for e in self.decl.enums:
            once("type", e.name, e.start, e.end)
        for s in self.decl.states:
            once("state field", s.name, s.start, s.end)
            if s.name in ("now", "caller", "old"):
                self.err(
                    "E0201",
                    f"state field {s.name!r} would hide the built-in `{s.name}`",
                    s.start,
                    s.end,
                    help="choose another name; `now`, `caller` and `old` are provided in every choice",
                )
        for ev in self.decl.events:
            once("event", ev.name, ev.start, ev.end)
        for c in self.decl.choices:
            once("choice", c.name, c.start, c.end)
        for o in self.decl.obligations:
            once("obligation", o.name, o.start, o.end)
        if not any(p.role == "signatory" for p in self.decl.parties):
            self.err(
                "E0202",
                "the contract has no signatory",
                self.decl.start,
                self.decl.start + 8,
                help="declare at least one `party NAME: signatory;` who must consent to it",
            )

    def resolve(self, t: TypeRef) -> CelTypeT:
        if t.name in _PRIMITIVES and not t.args:
            return _PRIMITIVES[t.name]
        if t.name == "list" and len(t.args) == 1:
            return T.list_(self.resolve(t.args[0]))
        if t.name == "map" and len(t.args) == 2:
            key = self.resolve(t.args[0])
            if key.kind not in ("int", "uint", "string", "bool", "error"):
                self.err(
                    "E0204",
                    f"map keys must be int, uint, string or bool, not {key}",
                    t.start,
                    t.end,
                )
            return T.map_(key, self.resolve(t.args[1]))
        if t.name == "optional" and len(t.args) == 1:
            return T.optional(self.resolve(t.args[0]))
        if (t.name in self.records or t.name in self.enums) and not t.args:
            return CelTypeT(t.name)
        note: tuple[str, ...] = ()
        if t.name in ("optional", "list", "map"):
            note = (f"`{t.name}` takes {2 if t.name == 'map' else 1} type argument(s)",)
        self.err(
            "E0204",
            f"unknown type {t}",
            t.start,
            t.end,
            help="built-in types: bool int uint double string bytes timestamp duration money "
            "list<T> map<K, V> optional<T>",
            notes=note,
        )
        return T.ERROR

    def types(self) -> None:
        self._state_record()
        for e in self.decl.enums:
            self.enums[e.name] = list(e.members)
            for m in e.members:
                self.constants[f"{e.name}.{m}"] = m
                self.enum_vars[f"{e.name}.{m}"] = CelTypeT(e.name)
        for r in self.decl.records:
            self.records[r.name] = {}
        for r in self.decl.records:
            self.records[r.name] = {f.name: self.resolve(f.type) for f in r.fields}
        for ev in self.decl.events:
            self.events[ev.name] = [(f.name, self.resolve(f.type)) for f in ev.fields]
        for s in self.decl.states:
            self.state_types[s.name] = self.resolve(s.type)
        self.records[_OLD_STATE] = dict(self.state_types)

    def _state_record(self) -> None:
        """``old``: the state as it was before the choice, typed as a record of the fields."""
        self.records[_OLD_STATE] = {}

    # ---------------------------------------------------------------- expressions
    def check_expr(
        self, e: Expr, variables: dict[str, CelTypeT], scopes: list[dict[str, CelTypeT]]
    ) -> CelTypeT:
        checker = Checker(Declarations({**self.enum_vars, **variables}, records=self.records))
        checker.scopes = [dict(s) for s in scopes]
        t = checker.check(e)
        self.diags.extend(checker.diags)
        return t

    def gen(self, local_names: dict[str, int] | None = None) -> CodeGen:
        g = CodeGen(max_iterations=self.max_iterations, locals_=local_names)
        g.constants = dict(self.constants)
        g.records = set(self.records)
        return g

    def expect_type(self, e: Expr, want: CelTypeT, got: CelTypeT, what: str) -> None:
        if got.kind != "error" and not assignable(want, got):
            self.err(
                "E0103",
                f"{what} must be {want}, found {got}",
                e.start,
                e.end,
                label=f"this is {got}",
            )

    # ---------------------------------------------------------------- statements
    def stmts(
        self,
        body: list[Stmt],
        g: CodeGen,
        variables: dict[str, CelTypeT],
        scopes: list[dict[str, CelTypeT]],
    ) -> int:
        gas = 0
        scopes.append({})
        g.scopes.append({})
        for s in body:
            gas += self.stmt(s, g, variables, scopes)
        g.scopes.pop()
        scopes.pop()
        return gas

    def stmt(
        self, s: Stmt, g: CodeGen, variables: dict[str, CelTypeT], scopes: list[dict[str, CelTypeT]]
    ) -> int:
        if isinstance(s, Assign):
            t = self.check_expr(s.value, variables, scopes)
            if s.name not in self.state_types:
                near = [n for n in self.state_types if n.lower() == s.name.lower()]
                self.err(
                    "E0205",
                    f"assignment to {s.name!r}, which is not a state field",
                    s.start,
                    s.start + len(s.name),
                    help=f"did you mean `{near[0]}`?"
                    if near
                    else "declare it with `state NAME: TYPE = VALUE;`",
                    suggestion=near[0] if near else None,
                )
            else:
                self.expect_type(s.value, self.state_types[s.name], t, f"state field {s.name!r}")
            gas = g.expr(fold(s.value))
            g.emit(Op.STORE_STATE, s.name, delta=-1)
            return gas + 1
        if isinstance(s, Let):
            t = self.check_expr(s.value, variables, scopes)
            gas = g.expr(fold(s.value))
            slot = g.new_slot()
            g.emit(Op.STORE_LOCAL, slot, delta=-1)
            g.scopes[-1][s.name] = slot
            scopes[-1][s.name] = t
            return gas + 1
        if isinstance(s, Emit):
            fields = self.events.get(s.event)
            if fields is None:
                self.err("E0101", f"undeclared event {s.event!r}", s.start, s.end,
                         help="declare it with `event NAME(field: type, ...);`")  # fmt: skip
            elif len(fields) != len(s.args):
                self.err(
                    "E0103",
                    f"event {s.event} has {len(fields)} field(s), {len(s.args)} given",
                    s.start,
                    s.end,
                )
            gas = 0
            for i, a in enumerate(s.args):
                t = self.check_expr(a, variables, scopes)
                if fields is not None and i < len(fields):
                    self.expect_type(a, fields[i][1], t, f"event field {fields[i][0]!r}")
                gas += g.expr(fold(a))
            g.emit(Op.EMIT, s.event, len(s.args), delta=-len(s.args))
            return gas + 1
        if isinstance(s, If):
            t = self.check_expr(s.cond, variables, scopes)
            self.expect_type(s.cond, T.BOOL, t, "an `if` condition")
            gas = g.expr(fold(s.cond))
            branch = g.emit(Op.BRANCH, -1, delta=-1)
            g1 = self.stmts(s.then, g, variables, scopes)
            jump = g.emit(Op.JUMP, -1)
            g.patch(branch, g.here())
            g2 = self.stmts(s.orelse, g, variables, scopes)
            g.patch(jump, g.here())
            return gas + 2 + max(g1, g2)
        if isinstance(s, Close):
            g.emit(Op.CONST, True, delta=1)
            g.emit(Op.STORE_STATE, "@closed", delta=-1)
            return 2
        if isinstance(s, Fail):
            g.emit(Op.FAIL, s.message)
            return 1
        raise TypeError(type(s).__name__)  # pragma: no cover

    # ---------------------------------------------------------------- programs
    def choice(self, c: ChoiceDecl, text: str) -> ChoiceInfo:
        for (cs, ce), party in zip(c.controller_spans, c.controllers, strict=True):
            if party and party not in self.parties:
                self.err(
                    "E0202",
                    f"controller {party!r} is not a declared party",
                    cs,
                    ce,
                    help=f"declared parties: {', '.join(self.parties) or 'none'}",
                )
        params: list[tuple[str, CelTypeT]] = []
        for p in c.params:
            if p.name in self.state_types or p.name in ("now", "caller", "old"):
                self.err(
                    "E0201",
                    f"parameter {p.name!r} shadows a state field or built-in",
                    p.start,
                    p.end,
                )
            params.append((p.name, self.resolve(p.type)))
        variables = {
            **self.state_types,
            **dict(params),
            "now": T.TIMESTAMP,
            "caller": T.STRING,
            "old": CelTypeT(_OLD_STATE),
        }
        g = self.gen()
        gas = 0
        for e in c.pre:
            self.expect_type(
                e, T.BOOL, self.check_expr(e, variables, []), "an `ensure pre` condition"
            )
            gas += g.protected(fold(e)) + 1
            g.emit(Op.ASSERT, f"precondition failed: {text[e.start : e.end]}", delta=-1)
        gas += self.stmts(c.body, g, variables, [])
        for e in c.post:
            self.expect_type(
                e, T.BOOL, self.check_expr(e, variables, []), "an `ensure post` condition"
            )
            gas += g.protected(fold(e)) + 1
            g.emit(Op.ASSERT, f"postcondition failed: {text[e.start : e.end]}", delta=-1)
        g.emit(Op.CONST, None, delta=1)
        program = g.finish(text[c.start : c.end], {"choice": c.name}, gas + 1)
        return ChoiceInfo(c.name, params, list(c.controllers), program)

    def migration(self, m: MigrationDecl, text: str) -> MigrationInfo:
        """``migrate from N (fields) {...}``: ``old`` is the version-N state, typed as declared."""
        if m.from_version >= self.decl.version:
            self.err(
                "E0206",
                f"`migrate from {m.from_version}` in version {self.decl.version}: "
                "a migration reads an older version's state",
                m.start,
                m.start + len("migrate"),
                label="not an older version",
                help=f"raise the contract's version above {m.from_version}, or migrate from "
                f"a version below {self.decl.version}",
            )
        old: dict[str, CelTypeT] = {}
        for f in m.fields:
            if f.name in old:
                self.err("E0201", f"old state field {f.name!r} is declared twice", f.start, f.end)
            old[f.name] = self.resolve(f.type)
        record = f"@OldState{m.from_version}"
        self.records[record] = old
        variables = {**self.state_types, "now": T.TIMESTAMP, "old": CelTypeT(record)}
        g = self.gen()
        gas = self.stmts(m.body, g, variables, [])
        g.emit(Op.CONST, None, delta=1)
        program = g.finish(text[m.start : m.end], {"migrate": m.from_version}, gas + 1)
        return MigrationInfo(m.from_version, list(old.items()), program)

    def migrations(self, text: str) -> dict[int, MigrationInfo]:
        out: dict[int, MigrationInfo] = {}
        for m in self.decl.migrations:
            info = self.migration(m, text)
            if m.from_version in out:
                self.err(
                    "E0206",
                    f"a second `migrate from {m.from_version}`",
                    m.start,
                    m.start + len("migrate"),
                    help="merge the two blocks: each older version has at most one migration",
                )
            out[m.from_version] = info
        return out

    def compile(self, text: str) -> CompiledContract:
        self.names()
        self.types()
        init = self.gen()
        gas = 0
        for s in self.decl.states:
            t = self.check_expr(s.init, {}, [])
            self.expect_type(
                s.init, self.state_types[s.name], t, f"the initial value of {s.name!r}"
            )
            gas += init.expr(fold(s.init)) + 1
            init.emit(Op.STORE_STATE, s.name, delta=-1)
        init.emit(Op.CONST, None, delta=1)
        init_program = init.finish("<state initialiser>", {}, gas + 1)
        choices = {c.name: self.choice(c, text) for c in self.decl.choices}
        obligations: list[ObligationInfo] = []
        for o in self.decl.obligations:
            if o.party and o.party not in self.parties:
                self.err("E0202", f"obliged party {o.party!r} is not declared", o.start, o.end)
            if o.choice and o.choice not in choices:
                self.err(
                    "E0101",
                    f"obligation {o.name!r} names an unknown choice {o.choice!r}",
                    o.start,
                    o.end,
                )
            if o.after != "start" and o.after not in choices:
                self.err(
                    "E0101",
                    f"obligation {o.name!r} starts after an unknown choice {o.after!r}",
                    o.start,
                    o.end,
                    help="use `after start` or the name of a choice",
                )
            variables = {**self.state_types, "now": T.TIMESTAMP}
            dg = self.gen()
            dgas = 1
            if o.deadline is not None:
                t = self.check_expr(o.deadline, variables, [])
                self.expect_type(o.deadline, T.DURATION, t, "an obligation deadline")
                dgas = dg.expr(fold(o.deadline))
            else:
                dg.emit(Op.FAIL, "obligation has no deadline", delta=1)
            deadline = dg.finish(text[o.start : o.end], {"deadline": o.name}, dgas)
            bg = self.gen()
            bgas = self.stmts(o.breach, bg, {**variables, "caller": T.STRING}, [])
            bg.emit(Op.CONST, None, delta=1)
            breach = bg.finish(text[o.start : o.end], {"breach": o.name}, bgas + 1)
            obligations.append(ObligationInfo(o.name, o.party, o.choice, o.after, deadline, breach))
        migrations = self.migrations(text)
        return CompiledContract(
            name=self.decl.name,
            version=self.decl.version,
            parties=[(p.name, p.role) for p in self.decl.parties],
            records={k: v for k, v in self.records.items() if not k.startswith("@")},
            enums=self.enums,
            state=list(self.state_types.items()),
            init=init_program,
            events=self.events,
            choices=choices,
            obligations=obligations,
            source_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            migrations=migrations,
        )


def check_contract(
    text: str, *, name: str = "<contract>", max_iterations: int = DEFAULT_MAX_ITERATIONS
) -> tuple[CompiledContract | None, list[Diagnostic]]:
    """Parse, check and compile; returns the contract (None on errors) and all diagnostics."""
    decl, diags = parse_contract(text)
    if any(d.code != "E0203" for d in diags):
        return None, diags
    comp = _ContractCompiler(decl, max_iterations)
    compiled = comp.compile(text)
    found = sorted([*diags, *comp.diags], key=lambda d: (d.start, d.code))
    return (None if found else compiled), found


def compile_contract(
    text: str, *, name: str = "<contract>", max_iterations: int = DEFAULT_MAX_ITERATIONS
) -> CompiledContract:
    """Compile a contract or raise :class:`ContractCompileError` carrying every diagnostic."""
    compiled, diags = check_contract(text, name=name, max_iterations=max_iterations)
    if compiled is None:
        source = Source(text, name)
        first = diags[0]
        line, col = source.line_col(first.start)
        raise ContractCompileError(
            f"{name}:{line}:{col}: {first.code} {first.message}"
            + (f" (and {len(diags) - 1} more)" if len(diags) > 1 else ""),
            diagnostics=diags,
            source=source,
            hint=first.help or f"run `cec check {name}` for the full report",
            rendered=render_diagnostics(diags, source),
        )
    return compiled

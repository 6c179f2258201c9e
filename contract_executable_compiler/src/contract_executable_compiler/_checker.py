"""The CEL type checker: infers a type for every node, resolves names, rejects bad overloads.

Types are :class:`CelTypeT` values (``int``, ``list(A)``, ``map(K, V)``,
``type(T)``, ``dyn``, type parameters...).  Overload resolution follows
cel-go: every overload whose parameters unify with the argument types is a
candidate; one candidate (or several that agree) gives the result type, none
is error E0102.  ``dyn`` unifies with everything, which is what makes
``dyn(x)`` the escape hatch CEL intends.  Mixed list and map literals get
``dyn`` element types (CEL's "flexible type parameter assignment").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
from contract_executable_compiler._diagnostics import Diagnostic
from contract_executable_compiler._messages import WRAPPERS, MessageTypes, find_extension
from contract_executable_compiler._money import Money
from contract_executable_compiler._values import CelType, Duration, Timestamp, UInt

__all__ = ["CelTypeT", "Checker", "Declarations", "FunctionDecl", "T", "assignable"]


@dataclass(frozen=True, slots=True)
class CelTypeT:
    """A static CEL type: ``kind`` plus type parameters (``list`` has one, ``map`` two)."""

    kind: str
    params: tuple[CelTypeT, ...] = ()

    def __str__(self) -> str:
        if self.kind == "var":
            return str(self.params[0].kind) if self.params else "?"
        if self.params:
            return f"{self.kind}({', '.join(str(p) for p in self.params)})"
        return self.kind


class T:
    """Constructors for common types."""

    BOOL: Final = CelTypeT("bool")
    INT: Final = CelTypeT("int")
    UINT: Final = CelTypeT("uint")
    DOUBLE: Final = CelTypeT("double")
    STRING: Final = CelTypeT("string")
    BYTES: Final = CelTypeT("bytes")
    NULL: Final = CelTypeT("null_type")
    DYN: Final = CelTypeT("dyn")
    ERROR: Final = CelTypeT("error")
    TIMESTAMP: Final = CelTypeT("google.protobuf.Timestamp")
    DURATION: Final = CelTypeT("google.protobuf.Duration")
    MONEY: Final = CelTypeT("money")

    @staticmethod
    def optional(of: CelTypeT) -> CelTypeT:
        """``optional_type(of)``."""
        return CelTypeT("optional_type", (of,))

    @staticmethod
    def list_(elem: CelTypeT) -> CelTypeT:
        """``list(elem)``."""
        return CelTypeT("list", (elem,))

    @staticmethod
    def map_(key: CelTypeT, value: CelTypeT) -> CelTypeT:
        """``map(key, value)``."""
        return CelTypeT("map", (key, value))

    @staticmethod
    def type_(of: CelTypeT) -> CelTypeT:
        """``type(of)``: the type of a type value."""
        return CelTypeT("type", (of,))

    @staticmethod
    def param(name: str) -> CelTypeT:
        """A type parameter of an overload signature."""
        return CelTypeT("param", (CelTypeT(name),))


_A = T.param("A")
_B = T.param("B")
_NUMS: Final = (T.INT, T.UINT, T.DOUBLE)
_ORDERED: Final = (
    T.INT, T.UINT, T.DOUBLE, T.STRING, T.BYTES, T.BOOL, T.TIMESTAMP, T.DURATION, T.MONEY,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FunctionDecl:
    """One overload: parameter types (receiver first for member calls) and the result."""

    params: tuple[CelTypeT, ...]
    result: CelTypeT
    member: bool = False


def _o(params: tuple[CelTypeT, ...], result: CelTypeT, member: bool = False) -> FunctionDecl:
    return FunctionDecl(params, result, member)


def _standard() -> dict[str, list[FunctionDecl]]:
    f: dict[str, list[FunctionDecl]] = {}
    f["_+_"] = [_o((t, t), t) for t in (*_NUMS, T.STRING, T.BYTES)] + [
        _o((T.list_(_A), T.list_(_A)), T.list_(_A)),
        _o((T.TIMESTAMP, T.DURATION), T.TIMESTAMP),
        _o((T.DURATION, T.TIMESTAMP), T.TIMESTAMP),
        _o((T.DURATION, T.DURATION), T.DURATION),
    ]
    f["_-_"] = [_o((t, t), t) for t in _NUMS] + [
        _o((T.TIMESTAMP, T.TIMESTAMP), T.DURATION),
        _o((T.TIMESTAMP, T.DURATION), T.TIMESTAMP),
        _o((T.DURATION, T.DURATION), T.DURATION),
    ]
    f["_+_"].append(_o((T.MONEY, T.MONEY), T.MONEY))
    f["_-_"].append(_o((T.MONEY, T.MONEY), T.MONEY))
    f["_*_"] = [_o((t, t), t) for t in _NUMS] + [
        _o((T.MONEY, T.INT), T.MONEY),
        _o((T.INT, T.MONEY), T.MONEY),
    ]
    f["_/_"] = [_o((t, t), t) for t in _NUMS]
    f["_%_"] = [_o((t, t), t) for t in (T.INT, T.UINT)]
    f["-_"] = [_o((t,), t) for t in (T.INT, T.DOUBLE, T.MONEY)]
    f["!_"] = [_o((T.BOOL,), T.BOOL)]
    f["_&&_"] = [_o((T.BOOL, T.BOOL), T.BOOL)]
    f["_||_"] = [_o((T.BOOL, T.BOOL), T.BOOL)]
    f["@not_strictly_false"] = [_o((T.BOOL,), T.BOOL)]
    f["_?_:_"] = [_o((T.BOOL, _A, _A), _A)]
    f["_==_"] = [_o((_A, _A), T.BOOL)]
    f["_!=_"] = [_o((_A, _A), T.BOOL)]
    rel = [_o((t, t), T.BOOL) for t in _ORDERED] + [
        _o((a, b), T.BOOL) for a in _NUMS for b in _NUMS if a != b
    ]
    for op in ("_<_", "_<=_", "_>_", "_>=_"):
        f[op] = rel
    f["@in"] = [_o((_A, T.list_(_A)), T.BOOL), _o((_A, T.map_(_A, _B)), T.BOOL)]
    f["_[_]"] = [
        _o((T.list_(_A), T.INT), _A),
        _o((T.map_(_A, _B), _A), _B),
    ]
    f["@append"] = [_o((T.list_(_A), _A), T.list_(_A))]
    f["@put"] = [_o((T.map_(_A, _B), _A, _B), T.map_(_A, _B))]
    sized = (T.STRING, T.BYTES, T.list_(_A), T.map_(_A, _B))
    f["size"] = [_o((t,), T.INT) for t in sized] + [_o((t,), T.INT, True) for t in sized]
    for name in ("contains", "startsWith", "endsWith", "matches"):
        f[name] = [_o((T.STRING, T.STRING), T.BOOL, True)]
    f["matches"].append(_o((T.STRING, T.STRING), T.BOOL))
    f["int"] = [_o((t,), T.INT) for t in (*_NUMS, T.STRING, T.TIMESTAMP)]
    f["uint"] = [_o((t,), T.UINT) for t in (*_NUMS, T.STRING)]
    f["double"] = [_o((t,), T.DOUBLE) for t in (*_NUMS, T.STRING)]
    f["string"] = [
        _o((t,), T.STRING)
        for t in (*_NUMS, T.STRING, T.BYTES, T.BOOL, T.TIMESTAMP, T.DURATION, T.MONEY)
    ]
    f["bytes"] = [_o((t,), T.BYTES) for t in (T.STRING, T.BYTES)]
    f["bool"] = [_o((t,), T.BOOL) for t in (T.BOOL, T.STRING)]
    f["timestamp"] = [_o((t,), T.TIMESTAMP) for t in (T.STRING, T.INT, T.TIMESTAMP)]
    f["duration"] = [_o((t,), T.DURATION) for t in (T.STRING, T.DURATION)]
    f["dyn"] = [_o((_A,), T.DYN)]
    f["money"] = [
        _o((T.STRING,), T.MONEY),
        _o((T.MONEY,), T.MONEY),
        _o((T.STRING, T.STRING), T.MONEY),
        _o((T.INT, T.STRING), T.MONEY),
    ]
    opt_a = T.optional(_A)
    f["optional.of"] = [_o((_A,), opt_a)]
    f["optional.ofNonZeroValue"] = [_o((_A,), opt_a)]
    f["optional.none"] = [_o((), opt_a)]
    f["hasValue"] = [_o((opt_a,), T.BOOL, True)]
    f["value"] = [_o((opt_a,), _A, True)]
    f["orValue"] = [_o((opt_a, _A), _A, True)]
    f["or"] = [_o((opt_a, opt_a), opt_a, True)]
    f["_[?_]"] = [
        _o((T.list_(_A), T.INT), opt_a),
        _o((T.map_(_A, _B), _A), T.optional(_B)),
        _o((T.optional(T.list_(_A)), T.INT), opt_a),
        _o((T.optional(T.map_(_A, _B)), _A), T.optional(_B)),
    ]
    f["_[_]"] += [
        _o((T.optional(T.list_(_A)), T.INT), opt_a),
        _o((T.optional(T.map_(_A, _B)), _A), T.optional(_B)),
    ]
    s_, i_ = T.STRING, T.INT
    f["charAt"] = [_o((s_, i_), s_, True)]
    f["indexOf"] = [_o((s_, s_), i_, True), _o((s_, s_, i_), i_, True)]
    f["lastIndexOf"] = [_o((s_, s_), i_, True), _o((s_, s_, i_), i_, True)]
    f["lowerAscii"] = [_o((s_,), s_, True)]
    f["upperAscii"] = [_o((s_,), s_, True)]
    f["replace"] = [_o((s_, s_, s_), s_, True), _o((s_, s_, s_, i_), s_, True)]
    f["split"] = [_o((s_, s_), T.list_(s_), True), _o((s_, s_, i_), T.list_(s_), True)]
    f["substring"] = [_o((s_, i_), s_, True), _o((s_, i_, i_), s_, True)]
    f["trim"] = [_o((s_,), s_, True)]
    f["reverse"] = [_o((s_,), s_, True)]
    f["join"] = [_o((T.list_(s_),), s_, True), _o((T.list_(s_), s_), s_, True)]
    f["strings.quote"] = [_o((s_,), s_)]
    f["format"] = [_o((s_, T.list_(T.DYN)), s_, True)]
    f["currency"] = [_o((T.MONEY,), T.STRING, True)]
    f["amount"] = [_o((T.MONEY,), T.STRING, True)]
    f["type"] = [_o((_A,), T.type_(_A))]
    for g in (
        "getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear",
    ):  # fmt: skip
        f[g] = [_o((T.TIMESTAMP,), T.INT, True), _o((T.TIMESTAMP, T.STRING), T.INT, True)]
    for g in ("getHours", "getMinutes", "getSeconds", "getMilliseconds"):
        f[g] = [
            _o((T.TIMESTAMP,), T.INT, True),
            _o((T.TIMESTAMP, T.STRING), T.INT, True),
            _o((T.DURATION,), T.INT, True),
        ]
    return f


STANDARD_FUNCTIONS: Final = _standard()
TYPE_NAMES: Final[dict[str, CelTypeT]] = {
    "bool": T.BOOL,
    "int": T.INT,
    "uint": T.UINT,
    "double": T.DOUBLE,
    "string": T.STRING,
    "bytes": T.BYTES,
    "null_type": T.NULL,
    "list": T.list_(T.DYN),
    "map": T.map_(T.DYN, T.DYN),
    "type": T.type_(T.DYN),
    "google.protobuf.Timestamp": T.TIMESTAMP,
    "google.protobuf.Duration": T.DURATION,
    "money": T.MONEY,
    "optional_type": T.optional(T.DYN),
}


@dataclass(slots=True)
class Declarations:
    """What a checked expression may refer to.

    ``variables`` maps (possibly qualified) names to types; ``functions`` adds
    overloads; ``records`` maps a declared record name to its field types (a
    record value is a map at run time, a distinct type when checking).
    """

    variables: Mapping[str, CelTypeT]
    functions: Mapping[str, list[FunctionDecl]] | None = None
    records: Mapping[str, Mapping[str, CelTypeT]] | None = None


def type_of_value(v: Any) -> CelTypeT:
    """The static type of a literal value."""
    t = type(v)
    simple = {
        bool: T.BOOL, int: T.INT, UInt: T.UINT, float: T.DOUBLE, str: T.STRING,
        bytes: T.BYTES, type(None): T.NULL, Timestamp: T.TIMESTAMP, Duration: T.DURATION,
        Money: T.MONEY,
    }  # fmt: skip
    if t in simple:
        return simple[t]
    if t is list:
        return T.list_(_join_all([type_of_value(x) for x in v]))
    if t is dict:
        from contract_executable_compiler._values import unmap_key

        return T.map_(
            _join_all([type_of_value(unmap_key(k)) for k in v]),
            _join_all([type_of_value(x) for x in v.values()]),
        )
    if t is CelType:
        return T.type_(TYPE_NAMES.get(v.name, T.DYN))
    return T.DYN


def _join_all(types: list[CelTypeT]) -> CelTypeT:
    """The joined element type of a literal's values (a fresh parameter when empty)."""
    if not types:
        return T.param("_elem")
    joined = types[0]
    for t in types[1:]:
        joined = _join(joined, t)
    return joined


class _Subst:
    def __init__(self) -> None:
        self.m: dict[str, CelTypeT] = {}

    def resolve(self, t: CelTypeT) -> CelTypeT:
        if t.kind == "param":
            name = t.params[0].kind
            if name in self.m:
                return self.resolve(self.m[name])
            return t
        if t.params:
            return CelTypeT(t.kind, tuple(self.resolve(p) for p in t.params))
        return t

    def unify(self, a: CelTypeT, b: CelTypeT) -> bool:
        a = self.resolve(a)
        b = self.resolve(b)
        if a == b:
            return True
        if a.kind == "param":
            if _occurs(a, b):
                return b.kind == "dyn"
            self.m[a.params[0].kind] = b
            return True
        if b.kind == "param":
            return self.unify(b, a)
        if a.kind in ("dyn", "error") or b.kind in ("dyn", "error"):
            return True
        if a.kind == "wrapper" and b.kind != "wrapper":
            return b.kind == "null_type" or self.unify(a.params[0], b)
        if b.kind == "wrapper" and a.kind != "wrapper":
            return a.kind == "null_type" or self.unify(b.params[0], a)
        if a.kind == "type" and b.kind == "type":
            return True
        if a.kind != b.kind or len(a.params) != len(b.params):
            return False
        return all(self.unify(x, y) for x, y in zip(a.params, b.params, strict=True))


def _occurs(p: CelTypeT, t: CelTypeT) -> bool:
    if t == p:
        return True
    return any(_occurs(p, x) for x in t.params)


def _fresh(t: CelTypeT, suffix: str) -> CelTypeT:
    if t.kind == "param":
        return T.param(t.params[0].kind + suffix)
    if t.params:
        return CelTypeT(t.kind, tuple(_fresh(p, suffix) for p in t.params))
    return t


def _finalize(t: CelTypeT) -> CelTypeT:
    """Unbound type parameters become ``dyn`` in results."""
    if t.kind == "param":
        return T.DYN
    if t.params:
        return CelTypeT(t.kind, tuple(_finalize(p) for p in t.params))
    return t


class Checker:
    """Checks one expression tree; diagnostics collect in ``diags``."""

    def __init__(
        self, decls: Declarations, *, container: str = "", types: MessageTypes | None = None
    ) -> None:
        self.decls = decls
        self.types = types
        self.container = container
        self.functions: Mapping[str, list[FunctionDecl]] = STANDARD_FUNCTIONS
        self.custom = set(decls.functions or {})
        if decls.functions:
            merged = dict(STANDARD_FUNCTIONS)
            for name, overloads in decls.functions.items():
                merged[name] = list(merged.get(name, [])) + list(overloads)
            self.functions = merged
        self.scopes: list[dict[str, CelTypeT]] = []
        self.diags: list[Diagnostic] = []
        self.counter = 0
        self.records = dict(decls.records or {})

    def check(self, e: Expr) -> CelTypeT:
        """The type of ``e`` (``error`` when it does not check; see ``diags``)."""
        return _finalize(self._t(e))

    def _err(self, code: str, msg: str, e: Expr, *, help: str | None = None) -> CelTypeT:
        self.diags.append(Diagnostic(code, msg, e.start, max(e.end, e.start + 1), help=help))
        return T.ERROR

    def _resolve_name(self, name: str) -> CelTypeT | None:
        if name.startswith("."):
            candidates = [name[1:]]
        else:
            for scope in reversed(self.scopes):
                if name in scope:
                    return scope[name]
            candidates = []
            if self.container:
                segs = self.container.split(".")
                candidates = [".".join(segs[:i]) + "." + name for i in range(len(segs), 0, -1)]
            candidates.append(name)
        for c in candidates:
            if c in self.decls.variables:
                return self.decls.variables[c]
        for c in candidates:
            if c in TYPE_NAMES:
                return T.type_(TYPE_NAMES[c])
        if self.types is not None and (self.container or "." in name):
            found, value = self.types.constant(name, self.container)
            if found:
                if isinstance(value, CelType):
                    return T.type_(message_static_type(value.name))
                return T.INT
        return None

    def _t(self, e: Expr) -> CelTypeT:
        if isinstance(e, Const):
            return type_of_value(e.value)
        if isinstance(e, Ident):
            found = self._resolve_name(e.name)
            if found is None:
                names = [*self.decls.variables, *(n for s in self.scopes for n in s)]
                near = _closest(e.name.lstrip("."), [n for n in names if not n.startswith("@")])
                self.diags.append(
                    Diagnostic(
                        "E0101",
                        f"undeclared reference to '{e.name.lstrip('.')}'",
                        e.start,
                        max(e.end, e.start + 1),
                        label="not declared",
                        help=f"did you mean `{near}`?"
                        if near
                        else "declare it, or check the spelling",
                        suggestion=near,
                    )
                )
                return T.ERROR
            return found
        if isinstance(e, Select) and e.optional:
            operand = self._t(e.operand)
            inner = operand.params[0] if operand.kind == "optional_type" else operand
            return T.optional(_unwrap_opt(self._field(inner, e.field, e)))
        if isinstance(e, Select):
            parts = _qual(e.operand if e.test_only else e)
            if parts is not None and (parts[0].startswith(".") or not self._local(parts[0])):
                for n in range(len(parts), 0, -1):
                    found = self._resolve_name(".".join(parts[:n]))
                    if found is not None:
                        t = found
                        for f in parts[n:]:
                            t = self._field(t, f, e)
                        return T.BOOL if e.test_only else t
                root = parts[0].lstrip(".")
                members = [n for n in self.decls.variables if n.startswith(root + ".")]
                if members and self._resolve_name(parts[0]) is None:
                    full = ".".join(parts).lstrip(".")
                    near = _closest(full, members)
                    self.diags.append(
                        Diagnostic(
                            "E0101",
                            f"undeclared reference to '{full}'",
                            e.start,
                            max(e.end, e.start + 1),
                            label="not declared",
                            help=f"did you mean `{near}`?"
                            if near
                            else f"declared: {', '.join(members)}",
                            suggestion=near,
                        )
                    )
                    return T.ERROR
            operand = self._t(e.operand)
            if operand.kind == "optional_type":
                t = T.optional(_unwrap_opt(self._field(operand.params[0], e.field, e)))
            else:
                t = self._field(operand, e.field, e)
            return T.BOOL if e.test_only else t
        if isinstance(e, Call):
            return self._call(e)
        if isinstance(e, ListExpr):
            elems = [self._t(x) for x in e.elements]
            for i in e.optional_indices:
                if elems[i].kind == "optional_type":
                    elems[i] = elems[i].params[0]
                elif elems[i].kind not in ("dyn", "error", "param"):
                    self._err(
                        "E0103", f"a ?element must be optional, not {elems[i]}", e.elements[i]
                    )
            return T.list_(self._join_dyn(elems))
        if isinstance(e, MapExpr):
            keys = [self._t(k) for k, _ in e.entries]
            vals = [self._t(v) for _, v in e.entries]
            for i in e.optional_indices:
                if vals[i].kind == "optional_type":
                    vals[i] = vals[i].params[0]
            for (k, _), kt in zip(e.entries, keys, strict=True):
                if kt.kind not in ("int", "uint", "string", "bool", "dyn", "error", "param"):
                    self._err("E0103", f"map keys must be int, uint, string or bool, not {kt}", k)
            return T.map_(self._join_dyn(keys), self._join_dyn(vals))
        if isinstance(e, Comprehension):
            return self._comprehension(e)
        if isinstance(e, StructExpr) and e.type_name in self.records:
            return self._record_literal(e)
        if isinstance(e, StructExpr):
            return self._message_literal(e)
        if isinstance(e, ErrorExpr):
            return T.ERROR
        raise TypeError(type(e).__name__)  # pragma: no cover

    def _record_literal(self, e: StructExpr) -> CelTypeT:
        fields = self.records[e.type_name]
        seen: set[str] = set()
        for name, value in e.fields:
            vt = self._t(value)
            if name not in fields:
                self._err("E0102", f"record {e.type_name} has no field {name!r}", value)
                continue
            if name in seen:
                self._err("E0201", f"field {name!r} is given twice", value)
            seen.add(name)
            if not _Subst().unify(fields[name], vt):
                self._err(
                    "E0103",
                    f"field {name!r} of {e.type_name} is {fields[name]}, the value is {vt}",
                    value,
                )
        missing = [f for f in fields if f not in seen]
        if missing:
            self._err(
                "E0103",
                f"record literal {e.type_name} lacks field(s) {', '.join(missing)}",
                e,
                help="every field of a record must be given",
            )
        return CelTypeT(e.type_name)

    def _message_literal(self, e: StructExpr) -> CelTypeT:
        desc = self.types.resolve(e.type_name, self.container) if self.types else None
        if desc is None:
            for _, value in e.fields:
                self._t(value)
            if self.types is None:
                return self._err(
                    "E0104",
                    f"message construction {e.type_name}{{...}} needs protobuf types, "
                    "which are not loaded",
                    e,
                    help="use a map literal instead",
                )
            return self._err(
                "E0104",
                f"unknown message type {e.type_name}",
                e,
                help="register its protobuf descriptors (MessageTypes), or use a map literal",
            )
        seen: set[str] = set()
        for written, value in e.fields:
            vt = self._t(value)
            name = written.lstrip("?")
            if written.startswith("?"):
                if vt.kind == "optional_type":
                    vt = vt.params[0]
                elif vt.kind not in ("dyn", "error", "param"):
                    self._err("E0103", f"?{name} needs an optional value, not {vt}", value)
            fd = desc.fields_by_name.get(name)
            if fd is None:
                near = _closest(name, list(desc.fields_by_name))
                self._err(
                    "E0102",
                    f"message {desc.full_name} has no field {name!r}",
                    value,
                    help=f"did you mean {near!r}?" if near else None,
                )
                continue
            if name in seen:
                self._err("E0201", f"field {name!r} is given twice", value)
            seen.add(name)
            ft = proto_field_type(fd)
            if vt.kind == "null_type" and fd.message_type is not None:
                continue
            if ft.kind == "null_type" and vt.kind == "int":
                continue  # google.protobuf.NullValue.NULL_VALUE is the enum constant 0
            if not _Subst().unify(ft, vt):
                self._err(
                    "E0103",
                    f"field {name!r} of {desc.full_name} is {ft}, the value is {vt}",
                    value,
                )
        return message_static_type(desc.full_name)

    def _local(self, name: str) -> bool:
        return any(name in s for s in self.scopes)

    def _join_dyn(self, types: list[CelTypeT]) -> CelTypeT:
        """The most specific type every element is assignable to (CEL's flexible join)."""
        if not types:
            self.counter += 1
            return T.param(f"_e{self.counter}")
        joined = types[0]
        for t in types[1:]:
            joined = _join(joined, t)
        return joined

    def _field(self, t: CelTypeT, field: str, e: Expr) -> CelTypeT:
        if t.kind in self.records:
            fields = self.records[t.kind]
            if field in fields:
                return fields[field]
            near = _closest(field, list(fields))
            what = "the old state (`old`)" if t.kind.startswith("@") else f"record {t.kind}"
            return self._err(
                "E0102",
                f"{what} has no field {field!r}",
                e,
                help=f"did you mean {near!r}?" if near else f"its fields are {', '.join(fields)}",
            )
        if t.kind == "map":
            key = t.params[0]
            if key.kind in ("string", "dyn", "param", "error"):
                return t.params[1]
            return self._err("E0102", f"map with {t.params[0]} keys has no field {field!r}", e)
        if t.kind in ("dyn", "error", "param"):
            return T.DYN
        desc = self.types.find(t.kind) if self.types is not None and not t.params else None
        if desc is not None:
            fd = desc.fields_by_name.get(field) or find_extension(desc, field)
            if fd is not None:
                return proto_field_type(fd)
            near = _closest(field, list(desc.fields_by_name))
            return self._err(
                "E0102",
                f"message {t.kind} has no field {field!r}",
                e,
                help=f"did you mean {near!r}?" if near else None,
            )
        return self._err(
            "E0102",
            f"type {t} has no fields; cannot select '{field}'",
            e,
            help="fields can be selected from maps and records",
        )

    def _call(self, e: Call) -> CelTypeT:
        arg_types = [self._t(a) for a in e.args]
        member = e.target is not None
        if member:
            assert e.target is not None  # noqa: S101 - narrowed above
            arg_types.insert(0, self._t(e.target))
        overloads = self.functions.get(e.function)
        if overloads is None:
            return self._err(
                "E0102",
                f"undeclared function '{e.function}'",
                e,
                help="check the spelling; see the language reference for the standard functions",
            )
        if any(t.kind == "error" for t in arg_types):
            return T.ERROR
        key = (e.function, member, tuple(arg_types))
        cacheable = e.function not in self.custom and all(_concrete(t) for t in arg_types)
        if cacheable and key in _CALL_CACHE:
            cached = _CALL_CACHE[key]
            if cached is not None:
                return cached
        results: list[CelTypeT] = []
        for ov in overloads:
            if ov.member != member or len(ov.params) != len(arg_types):
                continue
            self.counter += 1
            suffix = f"#{self.counter}"
            s = _Subst()
            params = [_fresh(p, suffix) for p in ov.params]
            if all(s.unify(p, a) for p, a in zip(params, arg_types, strict=True)):
                results.append(s.resolve(_fresh(ov.result, suffix)))
        if cacheable:
            first_result = results[0] if results else None
            if (
                first_result is not None
                and all(r == first_result for r in results)
                and _concrete(first_result)
            ):
                _CALL_CACHE[key] = first_result
            elif len(results) > 1 and all(_concrete(r) for r in results):
                _CALL_CACHE[key] = T.DYN
        if not results:
            shown = ", ".join(str(_finalize(a)) for a in arg_types)
            name = e.function
            return self._err(
                "E0102",
                f"found no matching overload for '{name}' applied to ({shown})",
                e,
                help="CEL never converts implicitly; convert with int(), uint(), double() or dyn()",
            )
        first = results[0]
        if all(r == first for r in results):
            return first
        return T.DYN

    def _comprehension(self, e: Comprehension) -> CelTypeT:
        rng = self._t(e.iter_range)
        if rng.kind == "list":
            v1, v2 = (T.INT, rng.params[0]) if e.iter_var2 else (rng.params[0], T.DYN)
        elif rng.kind == "map":
            v1, v2 = rng.params[0], rng.params[1]
        elif rng.kind in ("dyn", "error", "param"):
            v1, v2 = T.DYN, T.DYN
        else:
            self._err("E0103", f"cannot iterate over a value of type {rng}", e.iter_range)
            v1, v2 = T.DYN, T.DYN
        accu = self._t(e.accu_init)
        self.scopes.append({e.accu_var: accu})
        scope = {e.iter_var: v1}
        if e.iter_var2:
            scope[e.iter_var2] = v2
        self.scopes.append(scope)
        cond = self._t(e.loop_condition)
        if cond.kind not in ("bool", "dyn", "error"):
            self._err("E0103", f"loop condition must be bool, not {cond}", e.loop_condition)
        step = self._t(e.loop_step)
        s = _Subst()
        if s.unify(accu, step):
            self.scopes[-2][e.accu_var] = s.resolve(step) if step.kind != "dyn" else s.resolve(accu)
        else:
            self._err("E0103", f"comprehension step has type {step}, expected {accu}", e.loop_step)
        self.scopes.pop()
        result = self._t(e.result)
        self.scopes.pop()
        return result


_CALL_CACHE: dict[tuple[str, bool, tuple[CelTypeT, ...]], CelTypeT | None] = {}


def _concrete(t: CelTypeT) -> bool:
    """No type parameters inside (so resolution does not depend on a substitution)."""
    if t.kind == "param":
        return False
    return all(_concrete(p) for p in t.params)


def _unwrap_opt(t: CelTypeT) -> CelTypeT:
    return t.params[0] if t.kind == "optional_type" else t


_WRAPPED: Final = {
    "bool": T.BOOL, "bytes": T.BYTES, "double": T.DOUBLE, "int": T.INT, "string": T.STRING,
    "uint": T.UINT,
}  # fmt: skip


def message_static_type(name: str) -> CelTypeT:
    """The static CEL type of a value of message type ``name`` (well-known types unwrapped)."""
    if name in WRAPPERS:
        return CelTypeT("wrapper", (_WRAPPED[WRAPPERS[name]],))
    special = {
        "google.protobuf.Any": T.DYN,
        "google.protobuf.Value": T.DYN,
        "google.protobuf.Struct": T.map_(T.STRING, T.DYN),
        "google.protobuf.ListValue": T.list_(T.DYN),
        "google.protobuf.Timestamp": T.TIMESTAMP,
        "google.protobuf.Duration": T.DURATION,
    }
    return special.get(name, CelTypeT(name))


def _scalar_field_type(fd: Any) -> CelTypeT:
    t = fd.type
    if fd.message_type is not None:
        return message_static_type(fd.message_type.full_name)
    if t == fd.TYPE_ENUM:
        return T.NULL if fd.enum_type.full_name == "google.protobuf.NullValue" else T.INT
    if t in (fd.TYPE_DOUBLE, fd.TYPE_FLOAT):
        return T.DOUBLE
    if t in (fd.TYPE_UINT32, fd.TYPE_UINT64, fd.TYPE_FIXED32, fd.TYPE_FIXED64):
        return T.UINT
    if t == fd.TYPE_BOOL:
        return T.BOOL
    if t == fd.TYPE_STRING:
        return T.STRING
    if t == fd.TYPE_BYTES:
        return T.BYTES
    return T.INT


def proto_field_type(fd: Any) -> CelTypeT:
    """The static CEL type of a protobuf field (repeated: a list, map: a map)."""
    mt = fd.message_type
    if fd.is_repeated:
        if mt is not None and mt.GetOptions().map_entry:
            return T.map_(
                _scalar_field_type(mt.fields_by_name["key"]),
                _scalar_field_type(mt.fields_by_name["value"]),
            )
        return T.list_(_scalar_field_type(fd))
    return _scalar_field_type(fd)


def _join(a: CelTypeT, b: CelTypeT) -> CelTypeT:
    """Least general type covering ``a`` and ``b``: parameters yield, mismatches become dyn."""
    if a == b:
        return a
    if a.kind == "null_type" and b.kind == "optional_type":
        return b
    if b.kind == "null_type" and a.kind == "optional_type":
        return a
    if a.kind == "param":
        return b
    if b.kind == "param":
        return a
    if a.kind == "error" or b.kind == "error":
        return T.ERROR
    if a.kind == "null_type" and (b.kind == "wrapper" or "." in b.kind):
        return b  # messages, wrappers, timestamps and durations are nullable
    if b.kind == "null_type" and (a.kind == "wrapper" or "." in a.kind):
        return a
    if a.kind == "wrapper" and b.kind != "wrapper" and b == a.params[0]:
        return a  # wrapper promotion: [int64_wrapper, int] is list(wrapper(int))
    if b.kind == "wrapper" and a.kind != "wrapper" and a == b.params[0]:
        return b
    if a.kind == "wrapper" and b.kind == "wrapper":
        return T.DYN
    if a.kind == b.kind and len(a.params) == len(b.params) and a.params:
        return CelTypeT(a.kind, tuple(_join(x, y) for x, y in zip(a.params, b.params, strict=True)))
    return T.DYN


def _qual(e: Expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(e, Select) and not e.test_only and not e.optional:
        parts.append(e.field)
        e = e.operand
    if isinstance(e, Ident):
        parts.append(e.name)
        parts.reverse()
        return parts
    return None


def _closest(name: str, options: list[str]) -> str | None:
    """The option nearest to ``name`` by edit distance, when reasonably close."""
    import difflib

    found = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return found[0] if found else None


def assignable(target: CelTypeT, value: CelTypeT) -> bool:
    """Whether a value of type ``value`` may be stored where ``target`` is declared."""
    return _Subst().unify(target, value)

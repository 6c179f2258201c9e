"""Bytecode: opcodes, the :class:`Program` container and its versioned binary format.

Binary layout (all integers little-endian)::

    magic    4 bytes  b"CECB"
    version  u16      FORMAT_VERSION
    kind     u16      0 = expression, 1 = contract
    digest   32 bytes SHA-256 of the payload
    length   u32      payload length
    payload  ...      tagged values (see ``_enc``), written in a fixed order

The payload is a canonical encoding: maps are written with sorted keys and
no Python object identity or hash order ever reaches it, so the same source
gives byte-identical output in every process and under every
``PYTHONHASHSEED``.  The digest is the program's content hash (what gets
signed and attested).  Loading checks magic, version, length and digest and
refuses anything else with :class:`ContractBytecodeError`.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from typing import Any, Final

from contract_executable_compiler._money import Money
from contract_executable_compiler._optional import NONE, Optional
from contract_executable_compiler._values import CelEvalError, CelType, Duration, Timestamp, UInt
from contract_executable_compiler.errors import ContractBytecodeError

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "OP_NAMES",
    "Op",
    "Program",
    "decode_value",
    "encode_value",
]

MAGIC: Final = b"CECB"
FORMAT_VERSION: Final = 1


class Op:
    """Opcode numbers (stable: part of the binary format)."""

    CONST = 1  # (const)                     push a constant
    LOAD_VAR = 2  # (name)                   push a variable of the activation
    LOAD_QUAL = 3  # (candidates)            resolve a qualified name
    LOAD_LOCAL = 4  # (slot)                 push a local; an error value is raised
    STORE_LOCAL = 5  # (slot)                pop into a local (error values allowed)
    BINARY = 6  # (function)                 pop b, a; push f(a, b)
    UNARY = 7  # (function)                  replace top with f(top)
    CALL = 8  # (function, argc)             pop argc values; push f(*args)
    SELECT = 9  # (field)                    replace top with top.field
    HAS = 10  # (field)                      replace top with has(top.field)
    MAKE_LIST = 11  # (count)
    MAKE_MAP = 12  # (pairs)
    JUMP = 13  # (target)
    BRANCH = 14  # (target)                  pop a bool; jump when false; non-bool raises
    AND_SHORT = 15  # (target)               jump when top is false (keeps it)
    AND_JOIN = 16  # ()                      combine a && b with error absorption
    OR_SHORT = 17  # (target)                jump when top is true (keeps it)
    OR_JOIN = 18  # ()
    NOT_STRICTLY_FALSE = 19  # ()            top = top is not false
    ITER_INIT = 20  # (slot)                 pop a list or map into an iterator slot
    ITER_NEXT = 21  # (slot, var1, var2, target)  next element, or jump when done
    APPEND = 22  # ()                        pop v, acc; push acc + [v] (fresh list)
    PUT = 23  # ()                           pop v, k, acc; push acc + {k: v}
    RETURN = 24  # ()
    STORE_STATE = 25  # (name)               pop into contract state (contract programs)
    EMIT = 26  # (name, argc)                emit an event with argc fields
    FAIL = 27  # (message)                   raise a contract failure
    BINARY_K = 28  # (function, const)       replace top with f(top, const)
    LOCAL_SELECT = 29  # (slot, field)       push locals[slot].field
    APPEND_TO = 30  # (slot)                 pop v; append it to the list in a local
    QUANTIFY = 31  # (slot, exit, is_all)    all/exists step: pop a predicate value
    ASSERT = 32  # (message)                 pop; anything but true fails the run
    VAR_BINARY_K = 33  # (name, function, const)      push f(variable, const)
    LOCAL_BINARY_K = 34  # (slot, function, const)    push f(local, const)
    FIELD_BINARY_K = 35  # (slot, field, function, const)  push f(local.field, const)
    CALL_K = 36  # (function, consts, member)  replace top with f(top, *consts)
    MAKE_MSG = 37  # (type name, fields)      pop one value per field; push the new message


OP_NAMES: Final = {v: k for k, v in vars(Op).items() if not k.startswith("_")}


@dataclass(slots=True)
class Program:
    """A compiled expression or contract entry point.

    ``code`` holds ``(opcode, args)`` pairs with symbolic arguments (function
    names, constants), ``handlers`` the protected ranges ``(start, end,
    depth)`` where an error becomes a value, ``gas_bound`` the static upper
    bound of gas any run can use, ``max_iterations`` the largest collection a
    comprehension may iterate over.
    """

    code: list[tuple[int, tuple[Any, ...]]]
    handlers: list[tuple[int, int, int]]
    nlocals: int
    gas_bound: int
    max_iterations: int
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def to_value(self) -> dict[str, Any]:
        """The program as plain encodable data."""
        return {
            "code": [[op, list(args)] for op, args in self.code],
            "handlers": [list(h) for h in self.handlers],
            "nlocals": self.nlocals,
            "gas_bound": self.gas_bound,
            "max_iterations": self.max_iterations,
            "source": self.source,
            "meta": self.meta,
        }

    @classmethod
    def from_value(cls, v: Any) -> Program:
        """Inverse of :meth:`to_value`; raises ContractBytecodeError on a bad shape."""
        try:
            return cls(
                code=[(int(op), tuple(args)) for op, args in v["code"]],
                handlers=[(int(a), int(b), int(c)) for a, b, c in v["handlers"]],
                nlocals=int(v["nlocals"]),
                gas_bound=int(v["gas_bound"]),
                max_iterations=int(v["max_iterations"]),
                source=str(v["source"]),
                meta=dict(v["meta"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ContractBytecodeError(
                f"bytecode payload has the wrong shape: {exc}",
                hint="recompile the source with `cec compile`",
            ) from None


# ---------------------------------------------------------------- canonical value encoding
_T_NULL, _T_FALSE, _T_TRUE, _T_INT, _T_UINT, _T_DOUBLE = 0, 1, 2, 3, 4, 5
_T_STR, _T_BYTES, _T_LIST, _T_MAP, _T_TS, _T_DUR, _T_TYPE = 6, 7, 8, 9, 10, 11, 12
_T_MONEY = 13
_T_OPTIONAL = 14


def _varint(n: int, out: bytearray) -> None:
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def _zigzag(n: int) -> int:
    return (n << 1) if n >= 0 else ((-n << 1) - 1)


def _enc(v: Any, out: bytearray) -> None:
    t = type(v)
    if v is None:
        out.append(_T_NULL)
    elif t is bool:
        out.append(_T_TRUE if v else _T_FALSE)
    elif t is UInt:
        out.append(_T_UINT)
        _varint(int(v), out)
    elif t is int:
        out.append(_T_INT)
        _varint(_zigzag(v), out)
    elif t is float:
        out.append(_T_DOUBLE)
        out.extend(struct.pack("<d", v))
    elif t is str:
        raw = v.encode("utf-8", "surrogatepass")
        out.append(_T_STR)
        _varint(len(raw), out)
        out.extend(raw)
    elif t is bytes:
        out.append(_T_BYTES)
        _varint(len(v), out)
        out.extend(v)
    elif t is list or t is tuple:
        out.append(_T_LIST)
        _varint(len(v), out)
        for x in v:
            _enc(x, out)
    elif t is dict:
        items: list[tuple[bytes, Any]] = []
        for k, x in v.items():
            kbuf = bytearray()
            _enc(k, kbuf)
            items.append((bytes(kbuf), x))
        items.sort(key=lambda kv: kv[0])
        out.append(_T_MAP)
        _varint(len(items), out)
        for kb, x in items:
            out.extend(kb)
            _enc(x, out)
    elif t is Timestamp:
        out.append(_T_TS)
        _varint(_zigzag(v.ns), out)
    elif t is Duration:
        out.append(_T_DUR)
        _varint(_zigzag(v.ns), out)
    elif t is CelType:
        out.append(_T_TYPE)
        _enc(v.name, out)
    elif t is Optional:
        out.append(_T_OPTIONAL)
        out.append(1 if v.present else 0)
        if v.present:
            _enc(v.value, out)
    elif t is Money:
        out.append(_T_MONEY)
        _enc(v.currency, out)
        _varint(_zigzag(v.units), out)
    else:
        from contract_executable_compiler._values import BoolKey

        if t is BoolKey:
            _enc(v.value, out)
            return
        raise ContractBytecodeError(f"cannot encode a {t.__name__} in bytecode")


def encode_value(v: Any) -> bytes:
    """Canonical bytes of a value (sorted map keys, fixed widths)."""
    out = bytearray()
    _enc(v, out)
    return bytes(out)


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise ContractBytecodeError("bytecode payload is truncated")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ContractBytecodeError("bytecode payload is truncated")
        raw = self.data[self.pos : self.pos + n]
        self.pos += n
        return raw

    def varint(self) -> int:
        shift = 0
        n = 0
        while True:
            b = self.byte()
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
            if shift > 70:
                raise ContractBytecodeError("bytecode varint is too long")


def _unzig(n: int) -> int:
    return (n >> 1) if not n & 1 else -((n + 1) >> 1)


def _dec(r: _Reader, depth: int = 0) -> Any:
    if depth > 200:
        raise ContractBytecodeError("bytecode value nested too deeply")
    t = r.byte()
    if t == _T_NULL:
        return None
    if t == _T_FALSE:
        return False
    if t == _T_TRUE:
        return True
    if t == _T_INT:
        return _unzig(r.varint())
    if t == _T_UINT:
        return UInt(r.varint())
    if t == _T_DOUBLE:
        return float(struct.unpack("<d", r.take(8))[0])
    if t == _T_STR:
        try:
            return r.take(r.varint()).decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise ContractBytecodeError("bytecode string is not UTF-8") from None
    if t == _T_BYTES:
        return r.take(r.varint())
    if t == _T_LIST:
        return [_dec(r, depth + 1) for _ in range(r.varint())]
    if t == _T_MAP:
        out: dict[Any, Any] = {}
        for _ in range(r.varint()):
            k = _dec(r, depth + 1)
            try:
                out[k] = _dec(r, depth + 1)
            except TypeError:
                raise ContractBytecodeError("bytecode map key is not hashable") from None
        return out
    try:
        if t == _T_TS:
            return Timestamp(_unzig(r.varint()))
        if t == _T_DUR:
            return Duration(_unzig(r.varint()))
    except Exception as exc:  # CelEvalError: out of range
        raise ContractBytecodeError(f"bytecode time value out of range: {exc}") from None
    if t == _T_OPTIONAL:
        flag = r.byte()
        if flag not in (0, 1):
            raise ContractBytecodeError("bytecode optional value has a bad flag")
        return Optional(_dec(r, depth + 1)) if flag else NONE
    if t == _T_MONEY:
        code = _dec(r, depth + 1)
        if type(code) is not str:
            raise ContractBytecodeError("bytecode money value has no currency")
        try:
            return Money(code, _unzig(r.varint()))
        except CelEvalError:
            raise ContractBytecodeError("bytecode money value out of range") from None
    if t == _T_TYPE:
        name = _dec(r, depth + 1)
        if type(name) is not str:
            raise ContractBytecodeError("bytecode type value has no name")
        return CelType(name)
    raise ContractBytecodeError(f"unknown value tag {t} in bytecode")


def decode_value(data: bytes) -> Any:
    """Inverse of :func:`encode_value`; raises ContractBytecodeError on bad input."""
    r = _Reader(data)
    v = _dec(r)
    if r.pos != len(data):
        raise ContractBytecodeError("trailing bytes after the bytecode payload")
    return v


_HEADER: Final = struct.Struct("<4sHH32sI")


def pack(payload_value: Any, kind: int) -> bytes:
    """Wrap an encodable value in the versioned, hashed container."""
    payload = encode_value(payload_value)
    digest = hashlib.sha256(payload).digest()
    return _HEADER.pack(MAGIC, FORMAT_VERSION, kind, digest, len(payload)) + payload


def unpack(data: bytes) -> tuple[int, Any, str]:
    """Check and open a container: returns ``(kind, value, sha256 hex)``."""
    if len(data) < _HEADER.size:
        raise ContractBytecodeError(
            "not a cec bytecode file: too short", hint="compile the source with `cec compile`"
        )
    magic, version, kind, digest, length = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ContractBytecodeError(
            "not a cec bytecode file (bad magic number)",
            hint="pass a file written by `cec compile`, or the contract source",
        )
    if version != FORMAT_VERSION:
        raise ContractBytecodeError(
            f"bytecode format version {version} is not supported (this build reads {FORMAT_VERSION})",
            hint="recompile the source with this version of cec",
        )
    payload = data[_HEADER.size :]
    if len(payload) != length:
        raise ContractBytecodeError(
            f"bytecode payload is {len(payload)} bytes, header says {length}: truncated or padded",
            hint="the file is truncated or corrupted; recompile it",
        )
    if hashlib.sha256(payload).digest() != digest:
        raise ContractBytecodeError(
            "bytecode content hash does not match: the file is corrupted or was altered",
            hint="recompile it from source and check where it was modified",
        )
    return kind, decode_value(payload), digest.hex()

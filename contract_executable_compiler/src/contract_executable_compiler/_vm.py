"""The deterministic, gas-metered stack VM.

:class:`LoadedProgram` links a :class:`Program`'s symbolic instructions to
Python callables once; :meth:`LoadedProgram.run` then executes them.  Every
instruction costs one unit of gas, checked before it runs, so a run that
would exceed its limit stops at a well-defined point with nothing committed.
Comprehensions refuse collections longer than ``max_iterations``; together
with the absence of backward jumps outside comprehensions this is what makes
the static gas bound computed by the code generator an upper bound.

Errors are exceptions while an instruction runs; inside a protected range
(CEL's absorbing positions) the VM catches one, truncates the stack to the
range's recorded depth, pushes an :class:`ErrorValue` and continues after
the range - the same control flow as CPython's exception table.
"""

# ruff: noqa: TRY301  - hot paths: identity checks and NaN tests are deliberate

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from contract_executable_compiler._bytecode import Op, Program
from contract_executable_compiler._messages import MessageTypes, build_message, default_types
from contract_executable_compiler._stdlib import (
    BINARY_OPERATORS,
    GLOBAL_FUNCTIONS,
    MEMBER_FUNCTIONS,
    UNARY_OPERATORS,
    build_map,
    has_field,
    select_field,
)
from contract_executable_compiler._values import TYPE_VALUES, CelEvalError, map_key
from contract_executable_compiler.errors import ContractBytecodeError

__all__ = ["ErrorValue", "GasExhausted", "LoadedProgram", "RunResult"]


class GasExhausted(Exception):  # noqa: N818 - control flow, not an error kind
    """Raised when a run needs more gas than its limit."""

    def __init__(self, used: int) -> None:
        super().__init__(f"out of gas after {used} units")
        self.used = used


class ErrorValue:
    """A CEL error held as a value (in an absorbing position or an accumulator)."""

    __slots__ = ("error",)

    def __init__(self, error: CelEvalError) -> None:
        self.error = error


class RunResult:
    """The value (or error) of a run and the gas it used."""

    __slots__ = ("error", "gas_used", "value")

    def __init__(self, value: Any, error: CelEvalError | None, gas_used: int) -> None:
        self.value = value
        self.error = error
        self.gas_used = gas_used


_MISSING: Final[Any] = object()
Extension = Callable[..., Any]


def _resolve_call(name: str, member: bool, extensions: Mapping[str, Extension]) -> Extension:
    if name in extensions:
        return extensions[name]
    table = MEMBER_FUNCTIONS if member else GLOBAL_FUNCTIONS
    fn = table.get(name)
    if fn is not None:
        return fn

    def unknown(*args: Any) -> Any:
        raise CelEvalError(f"no such overload: unknown function {name!r}")

    return unknown


class LoadedProgram:
    """A program linked for execution; reusable and safe to run many times."""

    def __init__(
        self,
        program: Program,
        extensions: Mapping[str, Extension] | None = None,
        types: MessageTypes | None = None,
    ) -> None:
        self.program = program
        ext = dict(extensions or {})
        linked: list[tuple[int, Any]] = []
        n = len(program.code)
        for op, args in program.code:
            if op == Op.BINARY:
                fn = BINARY_OPERATORS.get(args[0])
                if fn is None:
                    raise ContractBytecodeError(f"unknown operator {args[0]!r} in bytecode")
                linked.append((op, fn))
            elif op == Op.UNARY:
                fn = UNARY_OPERATORS.get(args[0])
                if fn is None:
                    raise ContractBytecodeError(f"unknown operator {args[0]!r} in bytecode")
                linked.append((op, fn))
            elif op == Op.CALL:
                linked.append((op, (_resolve_call(args[0], bool(args[2]), ext), int(args[1]))))
            elif op in (
                Op.CONST,
                Op.LOAD_VAR,
                Op.SELECT,
                Op.HAS,
                Op.FAIL,
                Op.STORE_STATE,
                Op.ASSERT,
            ):
                linked.append((op, args[0]))
            elif op in (Op.LOAD_LOCAL, Op.STORE_LOCAL, Op.MAKE_LIST, Op.MAKE_MAP):
                linked.append((op, int(args[0])))
            elif op in (Op.JUMP, Op.BRANCH, Op.AND_SHORT, Op.OR_SHORT):
                target = int(args[0])
                if not 0 <= target <= n:
                    raise ContractBytecodeError(f"jump target {target} outside the program")
                linked.append((op, target))
            elif op == Op.LOAD_QUAL:
                linked.append((op, [(str(a), list(b)) for a, b in args[0]]))
            elif op == Op.BINARY_K:
                fn = BINARY_OPERATORS.get(args[0])
                if fn is None:
                    raise ContractBytecodeError(f"unknown operator {args[0]!r} in bytecode")
                linked.append((op, (fn, args[1])))
            elif op in (Op.VAR_BINARY_K, Op.LOCAL_BINARY_K, Op.FIELD_BINARY_K):
                fn = BINARY_OPERATORS.get(args[-2])
                if fn is None:
                    raise ContractBytecodeError(f"unknown operator {args[-2]!r} in bytecode")
                head = tuple(
                    int(a) if op != Op.VAR_BINARY_K and i == 0 else a
                    for i, a in enumerate(args[:-2])
                )
                linked.append((op, (*head, fn, args[-1])))
            elif op == Op.CALL_K:
                linked.append((op, (_resolve_call(args[0], bool(args[2]), ext), tuple(args[1]))))
            elif op == Op.LOCAL_SELECT:
                linked.append((op, (int(args[0]), str(args[1]))))
            elif op == Op.APPEND_TO:
                linked.append((op, int(args[0])))
            elif op == Op.QUANTIFY:
                linked.append((op, (int(args[0]), int(args[1]), bool(args[2]))))
            elif op == Op.ITER_INIT:
                linked.append((op, (int(args[0]), bool(args[1]))))
            elif op == Op.ITER_NEXT:
                linked.append((op, tuple(int(a) for a in args)))
            elif op == Op.EMIT:
                linked.append((op, (str(args[0]), int(args[1]))))
            elif op == Op.MAKE_MSG:
                registry = types or default_types()
                if registry.find(str(args[0])) is None:
                    raise ContractBytecodeError(
                        f"bytecode builds message type {args[0]!r}, which is not registered",
                        hint="load it with the protobuf descriptors it was compiled against",
                    )
                linked.append((op, (registry, str(args[0]), tuple(str(a) for a in args[1]))))
            elif op in (
                Op.AND_JOIN,
                Op.OR_JOIN,
                Op.NOT_STRICTLY_FALSE,
                Op.APPEND,
                Op.PUT,
                Op.RETURN,
            ):
                linked.append((op, None))
            else:
                raise ContractBytecodeError(f"unknown opcode {op} in bytecode")
        self.code = linked
        self.handlers = sorted(program.handlers, key=lambda h: h[1] - h[0])
        self.nlocals = program.nlocals
        self.max_iterations = program.max_iterations

    def _handler(self, at: int) -> tuple[int, int, int] | None:
        for h in self.handlers:
            if h[0] <= at < h[1]:
                return h
        return None

    def run(
        self,
        activation: Mapping[str, Any],
        *,
        gas_limit: int | None = None,
        state: dict[str, Any] | None = None,
        events: list[tuple[str, list[Any]]] | None = None,
    ) -> RunResult:
        """Execute with ``activation`` (variable name to value) and a gas limit.

        Returns the value or the CEL error it evaluated to; raises
        :class:`GasExhausted` when the limit is reached.
        """
        limit = self.program.gas_bound if gas_limit is None else gas_limit
        value, error, used = self.execute(activation, limit, state, events)
        return RunResult(value, error, used)

    def execute(
        self,
        activation: Mapping[str, Any],
        limit: int,
        state: dict[str, Any] | None = None,
        events: list[tuple[str, list[Any]]] | None = None,
    ) -> tuple[Any, CelEvalError | None, int]:
        """The interpreter loop: ``(value, error, gas used)``; the hot path behind :meth:`run`."""
        code = self.code
        gas = limit
        stack: list[Any] = []
        push = stack.append
        pop = stack.pop
        local: list[Any] = [None] * self.nlocals
        pc = 0
        while True:
            try:
                while True:
                    op, arg = code[pc]
                    pc += 1
                    gas -= 1
                    if gas < 0:
                        raise GasExhausted(limit)
                    if op < 16:
                        if op < 8:
                            if op == 1:  # CONST
                                push(arg)
                            elif op == 2:  # LOAD_VAR
                                v = activation.get(arg, _MISSING)
                                if v is _MISSING:
                                    v = TYPE_VALUES.get(arg, _MISSING)
                                    if v is _MISSING:
                                        raise CelEvalError(f"undeclared reference to '{arg}'")
                                push(v)
                            elif op == 4:  # LOAD_LOCAL
                                v = local[arg]
                                if type(v) is ErrorValue:
                                    raise v.error
                                push(v)
                            elif op == 6:  # BINARY
                                b = pop()
                                stack[-1] = arg(stack[-1], b)
                            elif op == 7:  # UNARY
                                stack[-1] = arg(stack[-1])
                            elif op == 5:  # STORE_LOCAL
                                local[arg] = pop()
                            elif op == 3:  # LOAD_QUAL
                                push(_load_qualified(activation, arg))
                            else:  # pragma: no cover - the loader refuses unknown opcodes
                                raise CelEvalError(f"bad opcode {op}")
                        elif op == 8:  # CALL
                            fn, argc = arg
                            if argc:
                                args = stack[-argc:]
                                del stack[-argc:]
                                push(fn(*args))
                            else:
                                push(fn())
                        elif op == 14:  # BRANCH
                            c = pop()
                            if c is False:
                                pc = arg
                            elif c is not True:
                                if type(c) is ErrorValue:
                                    raise c.error
                                raise CelEvalError("no such overload: condition is not a bool")
                        elif op == 13:  # JUMP
                            pc = arg
                        elif op == 15:  # AND_SHORT
                            if stack[-1] is False:
                                pc = arg
                        elif op == 9:  # SELECT
                            stack[-1] = select_field(stack[-1], arg)
                        elif op == 11:  # MAKE_LIST
                            if arg:
                                items = stack[-arg:]
                                del stack[-arg:]
                                push(items)
                            else:
                                push([])
                        elif op == 12:  # MAKE_MAP
                            if arg:
                                items = stack[-2 * arg :]
                                del stack[-2 * arg :]
                                push(build_map(items))
                            else:
                                push({})
                        elif op == 10:  # HAS
                            stack[-1] = has_field(stack[-1], arg)
                        else:  # pragma: no cover - the loader refuses unknown opcodes
                            raise CelEvalError(f"bad opcode {op}")
                    elif op < 24:
                        if op == 21:  # ITER_NEXT
                            it_slot, v1, v2, done = arg
                            nxt = next(local[it_slot], _MISSING)
                            if nxt is _MISSING:
                                pc = done
                            elif v2 < 0:
                                local[v1] = nxt
                            else:
                                local[v1], local[v2] = nxt
                        elif op == 16:  # AND_JOIN
                            b = pop()
                            a = stack[-1]
                            if b is False:
                                stack[-1] = False
                            elif a is True and b is True:
                                pass
                            elif type(a) is ErrorValue:
                                raise a.error
                            elif type(b) is ErrorValue:
                                raise b.error
                            else:
                                raise CelEvalError("no such overload: _&&_ needs bool operands")
                        elif op == 17:  # OR_SHORT
                            if stack[-1] is True:
                                pc = arg
                        elif op == 18:  # OR_JOIN
                            b = pop()
                            a = stack[-1]
                            if b is True:
                                stack[-1] = True
                            elif a is False and b is False:
                                pass
                            elif type(a) is ErrorValue:
                                raise a.error
                            elif type(b) is ErrorValue:
                                raise b.error
                            else:
                                raise CelEvalError("no such overload: _||_ needs bool operands")
                        elif op == 20:  # ITER_INIT
                            local[arg[0]] = self._iterator(pop(), arg[1])
                        elif op == 22:  # APPEND
                            v = pop()
                            acc = stack[-1]
                            if type(acc) is not list:
                                raise CelEvalError("no such overload: append to a non-list")
                            stack[-1] = [*acc, v]
                        elif op == 23:  # PUT
                            v = pop()
                            k = pop()
                            acc = stack[-1]
                            new = dict(acc)
                            mk = map_key(k)
                            if mk in new:
                                raise CelEvalError(f"Failed with repeated key: {k!r}")
                            new[mk] = v
                            stack[-1] = new
                        elif op == 19:  # NOT_STRICTLY_FALSE
                            stack[-1] = stack[-1] is not False
                        else:  # pragma: no cover - the loader refuses unknown opcodes
                            raise CelEvalError(f"bad opcode {op}")
                    elif op == 35:  # FIELD_BINARY_K
                        v = local[arg[0]]
                        if type(v) is dict:
                            v = v.get(arg[1], _MISSING)
                            if v is _MISSING:
                                raise CelEvalError(f"no such key: {arg[1]}")
                        else:
                            v = select_field(v, arg[1])
                        push(arg[2](v, arg[3]))
                    elif op == 33:  # VAR_BINARY_K
                        v = activation.get(arg[0], _MISSING)
                        if v is _MISSING:
                            v = TYPE_VALUES.get(arg[0], _MISSING)
                            if v is _MISSING:
                                raise CelEvalError(f"undeclared reference to '{arg[0]}'")
                        push(arg[1](v, arg[2]))
                    elif op == 34:  # LOCAL_BINARY_K
                        v = local[arg[0]]
                        if type(v) is ErrorValue:
                            raise v.error
                        push(arg[1](v, arg[2]))
                    elif op == 36:  # CALL_K
                        stack[-1] = arg[0](stack[-1], *arg[1])
                    elif op == 29:  # LOCAL_SELECT
                        v = local[arg[0]]
                        if type(v) is dict:
                            v = v.get(arg[1], _MISSING)
                            if v is _MISSING:
                                raise CelEvalError(f"no such key: {arg[1]}")
                            push(v)
                        else:
                            push(select_field(v, arg[1]))
                    elif op == 31:  # QUANTIFY
                        slot, exit_to, is_all = arg
                        v = pop()
                        if v is is_all:
                            pass
                        elif v is (not is_all):
                            local[slot] = v
                            pc = exit_to
                        elif type(local[slot]) is not ErrorValue:
                            local[slot] = (
                                v
                                if type(v) is ErrorValue
                                else ErrorValue(
                                    CelEvalError("no such overload: predicate is not a bool")
                                )
                            )
                    elif op == 30:  # APPEND_TO
                        acc = local[arg]
                        if type(acc) is ErrorValue:
                            raise acc.error
                        acc.append(pop())
                    elif op == 28:  # BINARY_K
                        stack[-1] = arg[0](stack[-1], arg[1])
                    elif op == 24:  # RETURN
                        return pop(), None, limit - gas
                    elif op == 25:  # STORE_STATE
                        if state is None:
                            raise CelEvalError("no contract state to store into")
                        state[arg] = pop()
                    elif op == 26:  # EMIT
                        name, argc = arg
                        fields = stack[-argc:] if argc else []
                        if argc:
                            del stack[-argc:]
                        if events is None:
                            raise CelEvalError("no event log to emit into")
                        events.append((name, fields))
                    elif op == 27:  # FAIL
                        raise CelEvalError(arg)
                    elif op == 37:  # MAKE_MSG
                        registry, type_name, names = arg
                        n = len(names)
                        values = stack[-n:] if n else []
                        if n:
                            del stack[-n:]
                        push(build_message(registry, type_name, zip(names, values, strict=True)))
                    elif op == 32:  # ASSERT
                        v = pop()
                        if v is not True:
                            if type(v) is ErrorValue:
                                raise CelEvalError(f"{arg}: {v.error.message}")
                            raise CelEvalError(arg)
                    else:  # pragma: no cover - the loader refuses unknown opcodes
                        raise CelEvalError(f"bad opcode {op}")
            except GasExhausted:
                raise
            except (CelEvalError, ArithmeticError, ValueError, RecursionError, TypeError) as exc:
                # A TypeError can only come from calling a library function with the
                # wrong number of arguments (unchecked expressions): CEL's no_such_overload.
                if isinstance(exc, CelEvalError):
                    err = exc
                elif isinstance(exc, TypeError):
                    err = CelEvalError(f"no such overload: {exc}")
                else:
                    err = CelEvalError(str(exc) or type(exc).__name__)
                h = self._handler(pc - 1)
                if h is None:
                    return None, err, limit - gas
                del stack[h[2] :]
                push(ErrorValue(err))
                pc = h[1]

    def _iterator(self, rng: Any, two: bool) -> Any:
        t = type(rng)
        if t is not list and t is not dict:
            raise CelEvalError("no such overload: comprehension range must be a list or map")
        if len(rng) > self.max_iterations:
            raise CelEvalError(
                f"comprehension over {len(rng)} elements exceeds the limit of {self.max_iterations}"
            )
        if t is list:
            return iter(enumerate(rng)) if two else iter(rng)
        from contract_executable_compiler._values import unmap_key

        if two:
            return iter([(unmap_key(k), v) for k, v in rng.items()])
        return iter([unmap_key(k) for k in rng])


def _load_qualified(activation: Mapping[str, Any], candidates: list[tuple[str, list[str]]]) -> Any:
    for name, fields in candidates:
        v = activation.get(name, _MISSING)
        if v is _MISSING:
            if not fields and name in TYPE_VALUES:
                return TYPE_VALUES[name]
            continue
        for f in fields:
            v = select_field(v, f)
        return v
    raise CelEvalError(f"undeclared reference to '{candidates[-1][0]}'")

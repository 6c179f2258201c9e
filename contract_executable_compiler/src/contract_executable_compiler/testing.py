"""Generators of random well-typed contracts and event traces, for property tests.

Everything is driven by a :class:`random.Random`, so a seed reproduces a case
exactly; hypothesis strategies wrap these with ``st.randoms()``.  Generated
contracts type-check by construction; their expressions may still fail at
run time (overflow, division by zero), which exercises the failure paths.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["random_contract", "random_expression", "random_trace"]


def _int_expr(rng: random.Random, names: list[str], depth: int) -> str:
    if depth <= 0 or rng.random() < 0.3:
        choice = rng.random()
        if choice < 0.45 and names:
            return rng.choice(names)
        return str(rng.randint(-20, 20))
    d = depth - 1
    kind = rng.randrange(8)
    if kind == 0:
        return f"({_int_expr(rng, names, d)} + {_int_expr(rng, names, d)})"
    if kind == 1:
        return f"({_int_expr(rng, names, d)} - {_int_expr(rng, names, d)})"
    if kind == 2:
        return f"({_int_expr(rng, names, d)} * {_int_expr(rng, names, d)})"
    if kind == 3:
        return f"({_int_expr(rng, names, d)} / {_int_expr(rng, names, d)})"
    if kind == 4:
        return f"({_int_expr(rng, names, d)} % {_int_expr(rng, names, d)})"
    if kind == 5:
        return f"({_bool_expr(rng, names, d)} ? {_int_expr(rng, names, d)} : {_int_expr(rng, names, d)})"
    if kind == 6:
        items = ", ".join(_int_expr(rng, names, d) for _ in range(rng.randint(0, 3)))
        return f"size([{items}])"
    items = ", ".join(_int_expr(rng, names, d) for _ in range(rng.randint(1, 3)))
    return f"[{items}].map(x, x * 2)[0]"


def _bool_expr(rng: random.Random, names: list[str], depth: int) -> str:
    if depth <= 0 or rng.random() < 0.25:
        return (
            rng.choice(["true", "false"])
            if rng.random() < 0.3
            else (
                f"{_int_expr(rng, names, 0)} {rng.choice(['<', '<=', '>', '>=', '==', '!='])} "
                f"{_int_expr(rng, names, 0)}"
            )
        )
    d = depth - 1
    kind = rng.randrange(5)
    if kind == 0:
        return f"({_bool_expr(rng, names, d)} && {_bool_expr(rng, names, d)})"
    if kind == 1:
        return f"({_bool_expr(rng, names, d)} || {_bool_expr(rng, names, d)})"
    if kind == 2:
        return f"!({_bool_expr(rng, names, d)})"
    if kind == 3:
        items = ", ".join(_int_expr(rng, names, d) for _ in range(rng.randint(0, 3)))
        return f"[{items}].exists(y, y > {_int_expr(rng, names, 0)})"
    op = rng.choice(["<", "<=", ">", ">=", "==", "!="])
    return f"{_int_expr(rng, names, d)} {op} {_int_expr(rng, names, d)}"


def random_expression(rng: random.Random, names: list[str] | None = None, depth: int = 4) -> str:
    """A random well-typed CEL expression (int or bool) over int variables ``names``."""
    names = names or []
    return _bool_expr(rng, names, depth) if rng.random() < 0.5 else _int_expr(rng, names, depth)


def _stmts(rng: random.Random, state: list[str], names: list[str], depth: int, n: int) -> list[str]:
    out: list[str] = []
    for _ in range(n):
        kind = rng.randrange(5)
        if kind <= 1:
            out.append(f"{rng.choice(state)} = {_int_expr(rng, names, 3)};")
        elif kind == 2:
            out.append(f"emit Note({_int_expr(rng, names, 2)});")
        elif kind == 3 and depth > 0:
            then = " ".join(_stmts(rng, state, names, depth - 1, rng.randint(1, 2)))
            other = " ".join(_stmts(rng, state, names, depth - 1, rng.randint(0, 2)))
            out.append(f"if {_bool_expr(rng, names, 2)} {{ {then} }} else {{ {other} }}")
        else:
            out.append(f"{rng.choice(state)} = {rng.choice(state)} + 1;")
    return out


def random_contract(rng: random.Random) -> str:
    """A random contract that type-checks: int state, choices, obligations, events."""
    n_state = rng.randint(1, 4)
    state = [f"s{i}" for i in range(n_state)]
    lines = [
        f"contract Gen{rng.randint(0, 999)} version {rng.randint(1, 5)} {{",
        "  party alice: signatory;",
        "  party bob: signatory;",
        "  party carol: observer;",
    ]
    lines += [f"  state {s}: int = {rng.randint(-5, 5)};" for s in state]
    lines.append("  event Note(value: int);")
    n_choices = rng.randint(1, 4)
    for j in range(n_choices):
        names = [*state, "a"]
        ctrl = rng.choice(["alice", "bob", "alice, bob"])
        lines.append(f"  choice c{j}(a: int) by {ctrl}")
        if rng.random() < 0.6:
            lines.append(f"    ensure pre {_bool_expr(rng, names, 2)};")
        if rng.random() < 0.3:
            lines.append(f"    ensure post {_bool_expr(rng, state, 1)};")
        body = _stmts(rng, state, names, 2, rng.randint(1, 4))
        if rng.random() < 0.1:
            body.append("close;")
        lines.append("  { " + " ".join(body) + " }")
    for k in range(rng.randint(0, 2)):
        after = rng.choice(["start", *(f"c{j}" for j in range(n_choices))])
        party = rng.choice(["alice", "bob"])
        breach = " ".join(_stmts(rng, state, state, 1, rng.randint(1, 2)))
        lines.append(
            f"  obligation o{k}: {party} must c{rng.randrange(n_choices)} "
            f'within duration("{rng.randint(1, 48)}h") after {after} otherwise {{ {breach} }};'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def random_trace(rng: random.Random, choices: list[str], length: int) -> list[dict[str, Any]]:
    """A trace: creation, then timed choices by random parties and time ticks."""
    t = 1_767_225_600 + rng.randint(0, 10**6)  # 2026-01-01 onwards

    def at() -> str:
        from contract_executable_compiler._timefmt import format_timestamp

        return format_timestamp(t * 10**9)

    trace: list[dict[str, Any]] = [{"at": at(), "create": {"signed_by": ["alice", "bob"]}}]
    for _ in range(length):
        t += rng.choice([0, 60, 3600, 7200, 86_400, 3 * 86_400])
        if rng.random() < 0.15 or not choices:
            trace.append({"at": at()})
            continue
        trace.append(
            {
                "at": at(),
                "party": rng.choice(["alice", "bob", "carol"]),
                "choice": rng.choice(choices),
                "args": {"a": rng.randint(-10, 10)},
            }
        )
    return trace

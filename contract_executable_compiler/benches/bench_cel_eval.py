"""CEL evaluation speed: this compiler's VM (gas metering on) vs cel-python's CompiledRunner.

Both compile once and then evaluate the same expressions on the same bindings
in the same process; the script prints one JSON row per expression (the
contract of ``scripts/bench_all.sh``: ``system``, ``bench``, ``unit``,
``ours``, ``peer``, ``peer_name``, ``ratio``; ratio > 1 means ours is faster),
median CPU microseconds per evaluation.

    uv run python contract_executable_compiler/benches/bench_cel_eval.py
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from contract_executable_compiler import compile_expression

SIMPLE = 'x > 10 && name.startsWith("a")'
MODERATE = (
    "items.filter(i, i.price > 10.0 && i.qty >= 2)"
    ".map(i, i.price * double(i.qty)).exists(t, t > 100.0)"
    ' && size(tags) > 0 && "vip" in tags'
)


def bindings() -> dict[str, Any]:
    items = [
        {"price": float(p), "qty": q} for p, q in zip(range(5, 55, 5), range(1, 11), strict=True)
    ]
    return {"x": 42, "name": "alice", "items": items, "tags": ["a", "vip"]}


def paired_medians(
    a: Callable[[], Any], b: Callable[[], Any], *, rounds: int = 9, budget_s: float = 3.0
) -> tuple[float, float]:
    """Median per-call microseconds of ``a`` and ``b``, timed in alternating batches.

    Alternating the two keeps a noisy machine (other processes) from favouring
    either side, and timing CPU time (``time.process_time``) rather than the wall
    clock leaves out the time this process spent waiting for a core.
    """

    def calibrate(fn: Callable[[], Any]) -> int:
        t0 = time.perf_counter()
        fn()
        one = max(time.perf_counter() - t0, 1e-7)
        return max(1, int(budget_s / 2 / rounds / one))

    na, nb = calibrate(a), calibrate(b)
    sa: list[float] = []
    sb: list[float] = []
    for _ in range(rounds):
        for fn, n, out in ((a, na, sa), (b, nb, sb)):
            t0 = time.process_time()
            for _ in range(n):
                fn()
            out.append((time.process_time() - t0) / n * 1e6)
    return statistics.median(sa), statistics.median(sb)


def ours(expr: str, b: dict[str, Any]) -> tuple[Callable[[], Any], Any]:
    compiled = compile_expression(expr)
    limit = compiled.gas_bound
    return (lambda: compiled.evaluate(b, gas_limit=limit)), compiled.evaluate(b)


def peer(expr: str, b: dict[str, Any]) -> tuple[Callable[[], Any], Any]:
    import celpy
    from celpy import json_to_cel

    env = celpy.Environment(runner_class=celpy.CompiledRunner)
    program = env.program(env.compile(expr))
    activation = {k: json_to_cel(v) for k, v in b.items()}
    return (lambda: program.evaluate(activation)), program.evaluate(activation)


def main() -> int:
    b = bindings()
    for label, expr in (("simple", SIMPLE), ("moderate", MODERATE)):
        fn, value = ours(expr, b)
        row: dict[str, Any] = {
            "system": "contract_executable_compiler",
            "bench": f"CEL evaluation, {label} expression (gas metering on)",
            "unit": "us per evaluation (median CPU)",
        }
        try:
            pfn, pvalue = peer(expr, b)
        except ImportError:
            row.update(
                ours=round(paired_medians(fn, fn)[0], 3),
                peer=None,
                peer_name="cel-python not installed (the `compare` extra)",
                ratio=None,
            )
        else:
            ours_us, peer_us = paired_medians(fn, pfn)
            if bool(pvalue) != value:
                raise SystemExit(f"results differ on {expr!r}: ours {value}, peer {pvalue}")
            row.update(
                ours=round(ours_us, 3),
                peer=round(peer_us, 3),
                peer_name="cel-python CompiledRunner",
                ratio=round(peer_us / ours_us, 1),
            )
        row["expression"] = expr
        print(json.dumps(row, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

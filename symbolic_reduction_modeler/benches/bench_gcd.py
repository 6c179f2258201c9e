"""GCD: SymPy's own TimeGCD families, the p^10 GCD, and a random cross-check.

    uv run python symbolic_reduction_modeler/benches/bench_gcd.py [--count N] [--long]

* SymPy's TimeGCD benchmarks (``sympy_benchmarks/benchmarks/polys.py``): the
  families LinearDenseQuadraticGCD, SparseGCDHighDegree, QuadraticNonMonicGCD
  and SparseNonMonicQuadratic for n = 1, 3, 5, 8, rebuilt here from their
  definitions.  Both sides get the same unexpanded products ``f`` and ``g``;
  the peer is SymPy's fastest path, its sparse ring (``PolyElement.gcd``),
  with the conversion from expressions outside its timing; ours includes
  converting the expressions to FLINT and the result back.  Results are
  compared after making both monic.
* ``gcd(p(p+1)^2, p(p+2))``, ``p = (1+x+y+z+t)^10``, on the expanded inputs
  (46,376 and 5,985 terms), against python-flint's ``fmpq_mpoly.gcd`` on
  the same polynomials already in FLINT (the floor: ours adds conversion
  both ways); ``--long`` adds SymPy (30-40 s).
* A cross-check: ``--count`` random instances (default 1,000; 10,000 take
  a few minutes) of
  ``gcd(g*a, g*b)`` in three variables, each compared exactly with SymPy's
  ``gcd``; it prints the count and the number of mismatches.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import flint
import sympy

from symbolic_reduction_modeler import Expr, Number, expand, gcd, symbols

SYSTEM = "symbolic_reduction_modeler"


def timed(func: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Median wall time; the previous result is dropped first, so nothing is reused."""
    samples, result = [], None
    for _ in range(repeat):
        result = None
        start = time.perf_counter()
        result = func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def _families(n: int, x: Any, y: list[Any], prod: Callable[[list[Any]], Any]) -> dict[str, Any]:
    """The four TimeGCD families, built from either side's symbols."""
    s = sum(y[:n], start=0 * x)
    hi = sum((y[i] ** (n + 1) for i in range(n)), start=0 * x)
    sq = sum((y[i] ** 2 for i in range(1, n)), start=0 * x)
    d1 = (1 + x + s) ** 2
    d2 = 1 + x ** (n + 1) + hi
    d3 = 1 + x**2 * y[0] ** 2 + sq
    d4 = -1 + x * prod(y[:n])
    return {
        "LinearDenseQuadraticGCD": (d1 * (-2 + x - s) ** 2, d1 * (2 + x + s) ** 2),
        "SparseGCDHighDegree": (d2 * (-2 + x ** (n + 1) + hi), d2 * (2 + x ** (n + 1) + hi)),
        "QuadraticNonMonicGCD": (
            d3 * (-1 + x**2 - y[0] ** 2 + sq),
            d3 * (2 + x * y[0] + sum(y[1:n], start=0 * x)) ** 2,
        ),
        "SparseNonMonicQuadratic": (d4 * (3 + x * prod(y[:n])), d4 * (-3 + x * prod(y[:n]))),
    }


def _product(items: list[Any]) -> Any:
    out = items[0]
    for item in items[1:]:
        out = out * item
    return out


def _monic(expr: Any, gens: list[Any]) -> Any:
    return sympy.Poly(expr, *gens).monic()


def timegcd_rows() -> list[dict[str, Any]]:
    x, *y = symbols("x y1 y2 y3 y4 y5 y6 y7 y8")
    sx, *sy = sympy.symbols("x y1:9")
    _ring, rx, *ry = sympy.ring("x,y1,y2,y3,y4,y5,y6,y7,y8", sympy.ZZ)
    env = {str(v): v for v in (sx, *sy)}
    rows = []
    for n in (1, 3, 5, 8):
        ours_in = _families(n, x, list(y), _product)
        ring_in = _families(n, rx, list(ry), _product)
        for name, (f, g) in ours_in.items():
            rf, rg = ring_in[name]
            ours_t, ours = timed(lambda f=f, g=g: gcd(f, g))
            peer_t, peer = timed(lambda rf=rf, rg=rg: rf.gcd(rg))
            gens = [sx, *sy[:n]]
            mine = sympy.sympify(str(ours).replace("^", "**"), locals=env)
            agree = _monic(mine, gens) == _monic(peer.as_expr(), gens)
            rows.append(
                _row(f"TimeGCD {name} n={n}", ours_t, "SymPy sparse ring gcd", peer_t, agree)
            )
    return rows


def p10_rows() -> list[dict[str, Any]]:
    x, y, z, t = symbols("x y z t")
    p = (1 + x + y + z + t) ** 10
    a, b = expand(p * (p + 1) ** 2), expand(p * (p + 2))
    ours_t, ours = timed(lambda: gcd(a, b))
    ctx = flint.fmpq_mpoly_ctx.get(("t", "x", "y", "z"), "degrevlex")
    ft, fx, fy, fz = ctx.gens()
    fp = (1 + fx + fy + fz + ft) ** 10
    fa, fb = fp * (fp + 1) ** 2, fp * (fp + 2)
    peer_t, peer = timed(lambda: fa.gcd(fb))
    rows = [_row("gcd(p(p+1)^2, p(p+2)), p=(1+x+y+z+t)^10, expanded inputs", ours_t,
                 "python-flint fmpq_mpoly.gcd (no conversion)", peer_t,
                 len(ours.args) == len(peer.monoms()) == 1001)]  # fmt: skip
    if "--long" in sys.argv:
        sx, sy, sz, st = sympy.symbols("x y z t")
        sp = (1 + sx + sy + sz + st) ** 10
        sa, sb = sympy.expand(sp * (sp + 1) ** 2), sympy.expand(sp * (sp + 2))
        peer_t, speer = timed(lambda: sympy.gcd(sa, sb), 1)
        rows.append(_row("gcd(p(p+1)^2, p(p+2)), p=(1+x+y+z+t)^10, expanded inputs", ours_t,
                         "SymPy gcd", peer_t, len(speer.args) == 1001))  # fmt: skip
    return rows


def _random_poly(rng: random.Random, gens: tuple[Expr, ...], terms: int, degree: int) -> Expr:
    total: Expr = Number.of(0)
    for _ in range(terms):
        mono: Expr = Number.of(rng.randint(-9, 9))
        for g in gens:
            mono = mono * g ** rng.randint(0, degree)
        total = total + mono
    return total


def crosscheck(count: int) -> tuple[int, int, float, float]:
    """``count`` random gcd(g*a, g*b) against SymPy; returns (count, mismatches, ours s, SymPy s)."""
    rng = random.Random(20261125)
    gens = symbols("x y z")
    sgens = sympy.symbols("x y z")
    env = {str(s): s for s in sgens}
    mismatches = 0
    ours_total = peer_total = 0.0
    for _ in range(count):
        g = _random_poly(rng, gens, rng.randint(1, 3), 2)
        a = _random_poly(rng, gens, rng.randint(1, 3), 2)
        b = _random_poly(rng, gens, rng.randint(1, 3), 2)
        f1, f2 = expand(g * a), expand(g * b)
        start = time.perf_counter()
        ours = gcd(f1, f2)
        ours_total += time.perf_counter() - start
        s1 = sympy.sympify(str(f1).replace("^", "**"), locals=env)
        s2 = sympy.sympify(str(f2).replace("^", "**"), locals=env)
        start = time.perf_counter()
        theirs = sympy.gcd(s1, s2)
        peer_total += time.perf_counter() - start
        mine = sympy.sympify(str(ours).replace("^", "**"), locals=env)
        if mine == 0 or theirs == 0:
            same = mine == theirs
        else:
            same = _monic(mine, list(sgens)) == _monic(theirs, list(sgens))
        mismatches += not same
    return count, mismatches, ours_total, peer_total


def _row(bench: str, ours: float, peer_name: str, peer: float, agree: bool) -> dict[str, Any]:
    return {"system": SYSTEM, "bench": bench, "unit": "s (median)", "ours": ours, "peer": peer,
            "peer_name": peer_name, "ratio": round(peer / ours, 2), "agree": bool(agree)}  # fmt: skip


def main() -> None:
    count = int(sys.argv[sys.argv.index("--count") + 1]) if "--count" in sys.argv else 1_000
    rows = timegcd_rows() + p10_rows()
    for row in rows:
        print(json.dumps(row))
    print("| benchmark | ours (s) | peer | peer (s) | peer / ours | results agree |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['bench']} | {r['ours']:.5f} | {r['peer_name']} | {r['peer']:.5f} | "
              f"{r['ratio']:.1f}x | {'yes' if r['agree'] else 'NO'} |")  # fmt: skip
    if count:
        n, bad, ours_s, peer_s = crosscheck(count)
        print(f"cross-check: {n} random gcd(g*a, g*b) in x, y, z against SymPy: "
              f"{bad} mismatches (ours {ours_s:.2f} s in gcd, SymPy {peer_s:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()

"""symbolic_reduction_modeler vs SymPy, python-flint and Singular on the issue's benchmarks.

    uv run python symbolic_reduction_modeler/benches/bench_algebra.py [--long | --katsura8]

Each row runs both sides on the same input in this run and checks that the
results agree exactly where the peer finishes (Gröbner bases: the reduced
bases compared polynomial by polynomial; simplify: every result checked
numerically equivalent, sizes reported; series: coefficients equal).
Singular rows appear when the ``Singular`` binary is installed (Debian
package ``singular``); its time is its own ``rtimer`` around ``std``.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sympy

from symbolic_reduction_modeler import (
    Expr,
    Limits,
    expand,
    gcd,
    groebner,
    parse,
    series,
    simplify,
    symbols,
)
from symbolic_reduction_modeler.systems import cyclic, katsura


def timed(func: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Median wall time; the previous result is dropped before each run, so our
    interning table cannot hand back the nodes of an earlier run (a cold build)."""
    samples: list[float] = []
    cpu: list[float] = []
    result: Any = None
    for _ in range(repeat):
        result = None
        start, start_cpu = time.perf_counter(), time.process_time()
        result = func()
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    LAST_CPU[0] = statistics.median(cpu)
    return statistics.median(samples), result


LAST_CPU = [0.0]  # CPU-time median of the last timed() call (the machine is shared)


def to_sympy(expr: Any, env: dict[str, Any]) -> Any:
    return sympy.sympify(str(expr).replace("^", "**"), locals=env)


def main() -> None:
    if KATSURA8:
        _print_rows(singular_rows())
        return
    x, y, z, t = symbols("x y z t")
    sx, sy, sz, st_ = sympy.symbols("x y z t")
    env = {"x": sx, "y": sy, "z": sz, "t": st_}
    rows = []

    f10 = (1 + x + y + z + t) ** 10
    ours_t, ours = timed(lambda: expand(f10 * (f10 + 1)), 7)
    print(f"# Fateman n=10 from expressions: ours {LAST_CPU[0]:.4f} s CPU (median)")
    ring = sympy.ring("x,y,z,t", sympy.QQ)[0]
    rx, ry, rz, rt = ring.gens
    peer_t, peer = timed(
        lambda: ((1 + rx + ry + rz + rt) ** 10) * ((1 + rx + ry + rz + rt) ** 10 + 1), 1
    )
    rows.append(("Fateman f*(f+1), f=(1+x+y+z+t)^10, from expressions", ours_t, "SymPy ring (PolyElement)", peer_t,
                 len(ours.args) == len(peer.terms())))  # fmt: skip

    ours_t, ours = timed(lambda: expand((x + y + z + 1) ** 32), 7)
    print(f"# expand((x+y+z+1)^32): ours {LAST_CPU[0]:.4f} s CPU (median)")
    peer_t, peer = timed(lambda: sympy.expand((sx + sy + sz + 1) ** 32), 1)
    rows.append(
        (
            "expand((x+y+z+1)^32) as expressions",
            ours_t,
            "SymPy expand",
            peer_t,
            len(ours.args) == len(peer.args),
        )
    )

    p = (1 + x + y + z + t) ** 5
    sp = (1 + sx + sy + sz + st_) ** 5
    ours_t, ours = timed(lambda: gcd(expand(p * (p + 1) ** 2), expand(p * (p + 2))))
    peer_t, peer = timed(
        lambda: sympy.gcd(sympy.expand(sp * (sp + 1) ** 2), sympy.expand(sp * (sp + 2))), 1
    )
    rows.append(("gcd(p(p+1)^2, p(p+2)), p=(1+x+y+z+t)^5", ours_t, "SymPy gcd", peer_t,
                 sympy.expand(to_sympy(ours, env) - sympy.expand(peer)) == 0))  # fmt: skip

    katsura4 = [
        "x + 2*y + 2*z + 2*t - 1",
        "x^2 + 2*y^2 + 2*z^2 + 2*t^2 - x",
        "2*x*y + 2*y*z + 2*z*t - y",
        "y^2 + 2*x*z + 2*y*t - z",
    ]
    polys = [parse(q) for q in katsura4]
    ours_t, ours_gb = timed(lambda: groebner(polys, [x, y, z, t], "grevlex"), 1)
    peer_t, peer_gb = timed(
        lambda: sympy.groebner([sympy.sympify(q.replace("^", "**"), locals=env) for q in katsura4], sx, sy, sz, st_, order="grevlex"),
        1,
    )  # fmt: skip
    mine = {sympy.expand(to_sympy(e, env)) for e in ours_gb.exprs}
    theirs = {sympy.expand(g.as_expr() / g.LC(order="grevlex")) for g in peer_gb.polys}
    rows.append(
        (
            "Groebner katsura-4 (grevlex)",
            ours_t,
            "SymPy groebner (buchberger)",
            peer_t,
            mine == theirs,
        )
    )

    rows.extend(groebner_rows())
    rows.extend(simplify_rows())
    rows.extend(nested_trig_rows())
    rows.extend(series_rows())

    _print_rows(rows)


def _print_rows(rows: list[tuple[str, float, str, float, bool]]) -> None:
    print("| benchmark | ours (s) | peer | peer (s) | peer / ours | results agree |")
    print("|---|---|---|---|---|---|")
    for name, o, peer_name, pt, agree in rows:
        print(json.dumps({"system": "symbolic_reduction_modeler", "bench": name, "unit": "s (median)",
                          "ours": o, "peer": pt, "peer_name": peer_name, "ratio": round(pt / o, 2),
                          "agree": bool(agree)}))  # fmt: skip
    for name, o, peer_name, pt, agree in rows:
        print(
            f"| {name} | {o:.4f} | {peer_name} | {pt:.4f} | {pt / o:.1f}x | {'yes' if agree else 'NO'} |"
        )


def _monic_set(polys: list[Any], gens: list[Any]) -> set[Any]:
    out = set()
    for p in polys:
        poly = sympy.Poly(p, *gens)
        out.add(sympy.expand(poly.as_expr() / poly.LC(order="grevlex")))
    return out


def _sympy_basis(system: list[Expr], gens: list[Any], method: str) -> tuple[float, Any]:
    env = {g.name: sympy.Symbol(g.name) for g in gens}
    spolys = [sympy.sympify(str(p).replace("^", "**"), locals=env) for p in system]
    sgens = [env[g.name] for g in gens]
    return timed(lambda: sympy.groebner(spolys, *sgens, order="grevlex", method=method), 1)


def _singular(
    system: list[Expr], gens: list[Any], repeat: int = 1
) -> tuple[float, list[str]] | None:
    """Singular's reduced grevlex basis and the median of ``repeat`` of its own
    times for ``std`` (None if not installed)."""
    binary = shutil.which("Singular")
    if binary is None:
        return None
    names = ",".join(g.name for g in gens)
    ideal = ",".join(str(p) for p in system)
    script = (
        f"ring r = 0,({names}),dp; option(redSB); option(redTail);"
        f'ideal i = {ideal}; system("--ticks-per-sec", 1000000);'
        f"int n; ideal g; int c; int t; int e; for (n = 1; n <= {repeat}; n++) {{"
        "c = timer; t = rtimer; g = std(i); e = rtimer - t; c = timer - c;"
        'print("TIME " + string(e) + " " + string(c)); }'
        "int k; for (k = 1; k <= size(g); k++) { print(g[k]); } quit;"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gb.sing"
        path.write_text(script)
        done = subprocess.run(  # the Singular binary on our own script
            [binary, "-q", "--no-warn", str(path)],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
    lines = [ln.strip() for ln in done.stdout.splitlines() if ln.strip()]
    times = [ln.split()[1:] for ln in lines[:repeat]]
    SINGULAR_CPU[0] = statistics.median(int(cpu) for _, cpu in times) / 1e6
    return statistics.median(int(wall) for wall, _ in times) / 1e6, lines[repeat:]


SINGULAR_CPU = [0.0]  # Singular's own CPU time (`timer`) for the last std call


def groebner_rows() -> list[tuple[str, float, str, float, bool]]:
    rows = []
    cases = [("katsura-5", katsura(5)), ("cyclic-5", cyclic(5))]
    for name, (system, gens) in cases:
        ours_t, ours = timed(lambda s=system, g=gens: groebner(s, g, "grevlex", method="f4"), 3)
        env_gens = [sympy.Symbol(g.name) for g in gens]
        mine = {sympy.sympify(str(e).replace("^", "**")) for e in ours.exprs}
        for method in ("buchberger", "f5b"):
            peer_t, peer = _sympy_basis(system, gens, method)
            agree = mine == _monic_set(list(peer.polys), env_gens)
            rows.append(
                (
                    f"Groebner {name} (grevlex), F4",
                    ours_t,
                    f"SymPy groebner ({method})",
                    peer_t,
                    agree,
                )
            )
    for name, (system, gens) in [("katsura-6", katsura(6))]:
        ours_t, ours = timed(lambda s=system, g=gens: groebner(s, g, "grevlex", method="f4"), 1)
        peer_t, peer = timed(
            lambda s=system, g=gens: groebner(s, g, "grevlex", method="buchberger"), 1
        )
        rows.append((f"Groebner {name} (grevlex), F4", ours_t, "python-flint buchberger_naive", peer_t,
                     ours.exprs == peer.exprs))  # fmt: skip
    return rows + singular_rows()


def singular_rows() -> list[tuple[str, float, str, float, bool]]:
    """F4 against Singular, reduced bases compared exactly (after making them monic)."""
    rows = []
    singular_cases = [("katsura-6", katsura(6)), ("cyclic-6", cyclic(6))]
    if LONG:
        singular_cases.insert(1, ("katsura-7", katsura(7)))
    if KATSURA8:  # this row alone: about 13 s CPU ours, 4-5 s Singular
        singular_cases = [("katsura-8", katsura(8))]
    for name, (system, gens) in singular_cases:
        repeat = 3 if name in {"katsura-6", "cyclic-6"} else 1  # medians where runs are short
        found = _singular(system, gens, repeat)
        if found is None:
            print(f"# Singular not installed: no Singular row for {name}")
            continue
        ours_t, ours = timed(
            lambda s=system, g=gens: groebner(s, g, "grevlex", method="f4"), repeat
        )
        print(
            f"# {name} F4: ours {LAST_CPU[0]:.4f} s CPU, Singular {SINGULAR_CPU[0]:.4f} s CPU"
            f" (Singular / ours {SINGULAR_CPU[0] / LAST_CPU[0]:.2f}, load-independent)"
        )
        peer_t, lines = found
        theirs = {parse(line) for line in lines}
        env_gens = [sympy.Symbol(g.name) for g in gens]
        mine = _monic_set([sympy.sympify(str(e).replace("^", "**")) for e in ours.exprs], env_gens)
        singular = _monic_set([sympy.sympify(str(e).replace("^", "**")) for e in theirs], env_gens)
        rows.append(
            (
                f"Groebner {name} (grevlex), F4",
                ours_t,
                "Singular std (redSB)",
                peer_t,
                mine == singular,
            )
        )
    return rows


SLOW_SIMPLIFY = [
    "sin(x)^2 + cos(x)^2",
    "(x^2 - 1)/(x - 1)",
    "2*sin(x)*cos(x) + (sin(y)^2 + cos(y)^2)*x",
    "cos(x)^4 - sin(x)^4",
    "exp(x)*exp(y)*exp(-x)",
    "(sin(x)^2 + cos(x)^2)^3*(x + 1) - x",
    "tan(x)*cos(x) + sin(x)^2 + cos(x)^2",
    "log(exp(x)*exp(y))",
]


def _size(e: Any) -> int:
    return int(sympy.count_ops(e, visual=False)) + len(list(sympy.preorder_traversal(e)))


def simplify_rows() -> list[tuple[str, float, str, float, bool]]:
    x, y = sympy.symbols("x y", real=True)
    ours_exprs = [
        parse(t).subs({symbols("x")[0]: _real("x"), symbols("y")[0]: _real("y")})
        for t in SLOW_SIMPLIFY
    ]
    peer_exprs = [
        sympy.sympify(t.replace("^", "**"), locals={"x": x, "y": y}) for t in SLOW_SIMPLIFY
    ]
    limits = Limits(seconds=1.0)
    ours_t, ours = timed(lambda: [simplify(e, limits=limits) for e in ours_exprs], 1)
    peer_t, peer = timed(lambda: [sympy.simplify(e) for e in peer_exprs], 1)
    rng = random.Random(1)
    agree = True
    ours_size = peer_size = 0
    for mine, theirs, original in zip(ours, peer, peer_exprs, strict=True):
        mine_s = sympy.sympify(str(mine).replace("^", "**"), locals={"x": x, "y": y})
        ours_size += _size(mine_s)
        peer_size += _size(theirs)
        for _ in range(3):
            point = {x: rng.uniform(0.1, 2), y: rng.uniform(0.1, 2)}
            a, b = complex(original.evalf(subs=point)), complex(mine_s.evalf(subs=point))
            agree = agree and abs(a - b) <= 1e-9 * (1 + abs(a))
    print(
        f"# simplify sizes (ops + nodes, summed over {len(SLOW_SIMPLIFY)} inputs): ours {ours_size}, SymPy {peer_size}"
    )
    name = f"simplify, {len(SLOW_SIMPLIFY)} trig/exp/rational identities (ours {ours_size} vs SymPy {peer_size} size)"
    return [(name, ours_t, "SymPy simplify", peer_t, agree)]


def nested_trig_rows() -> list[tuple[str, float, str, float, bool]]:
    """SymPy's slow-simplify shape: identities nested inside identities, sizes 1-3 (1-5 with --long)."""
    from symbolic_reduction_modeler import cos, sin

    x = _real("x")
    sx = sympy.Symbol("x", real=True)
    ours_in, peer_in = [], []
    e: Expr = x
    se: Any = sx
    sizes = 5 if LONG else 3
    for k in range(sizes):
        t, st = _real(f"t{k}"), sympy.Symbol(f"t{k}", real=True)
        e = (sin(e) ** 2 + cos(e) ** 2) * (t + 1) + 2 * sin(e) * cos(e) - sin(2 * e)
        se = (
            (sympy.sin(se) ** 2 + sympy.cos(se) ** 2) * (st + 1)
            + 2 * sympy.sin(se) * sympy.cos(se)
            - sympy.sin(2 * se)
        )
        ours_in.append(e)
        peer_in.append(se)
    limits = Limits(seconds=2.0)
    ours_t, ours = timed(lambda: [simplify(v, limits=limits) for v in ours_in], 1)
    peer_t, peer = timed(lambda: [sympy.simplify(v) for v in peer_in], 1)
    env = {f"t{k}": sympy.Symbol(f"t{k}", real=True) for k in range(sizes)}
    agree = all(sympy.sympify(str(o), locals=env) == p for o, p in zip(ours, peer, strict=True))
    name = f"simplify, nested trig identities of sizes 1-{sizes} (deadline 2 s each)"
    return [(name, ours_t, "SymPy simplify", peer_t, agree)]


def _real(name: str) -> Any:
    from symbolic_reduction_modeler import Symbol

    return Symbol.of(name, real=True)


def series_rows() -> list[tuple[str, float, str, float, bool]]:
    (x,) = symbols("x")
    sx = sympy.Symbol("x")
    cases = [("tan(x)", 14), ("exp(sin(x))", 10), ("log(cos(x))", 12), ("1/(1 - x - x^2)", 20)]
    ours_t, ours = timed(lambda: [series(parse(t), x, 0, n) for t, n in cases], 3)
    peer_t, peer = timed(
        lambda: [
            sympy.series(sympy.sympify(t.replace("^", "**"), locals={"x": sx}), sx, 0, n).removeO()
            for t, n in cases
        ],
        1,
    )
    agree = all(
        sympy.expand(sympy.sympify(str(s.remove_order()).replace("^", "**"), locals={"x": sx}) - p)
        == 0
        for s, p in zip(ours, peer, strict=True)
    )
    return [
        (
            "series: tan/exp(sin)/log(cos)/rational to order 10-20",
            ours_t,
            "SymPy series",
            peer_t,
            agree,
        )
    ]


LONG = "--long" in sys.argv  # adds katsura-7 vs Singular and nested sizes 4-5 (minutes)
KATSURA8 = "--katsura8" in sys.argv  # only katsura-8 vs Singular (about a minute)

if __name__ == "__main__":
    main()

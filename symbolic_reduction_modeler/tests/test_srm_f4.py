"""F4 with modular linear algebra: equal to Buchberger, lifted correctly, unlucky primes survived."""

from __future__ import annotations

import gc
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared_core.testing import run_cli
from symbolic_reduction_modeler import Expr, Number, SymbolicInputError, groebner, parse, symbols
from symbolic_reduction_modeler._f4 import (
    _F4,
    Packing,
    TraceMismatchError,
    _f4_run,
    _rational_reconstruction,
    critical_pairs,
    f4,
    f4_mod_p,
    monomial_key,
)
from symbolic_reduction_modeler.cli import main
from symbolic_reduction_modeler.systems import cyclic, katsura

x, y, z = symbols("x y z")
M61 = (1 << 61) - 1  # the first prime the lifting uses


def standard_monomials(leads: list[tuple[int, ...]], nvars: int) -> int:
    """How many monomials no leading monomial divides (finite for a zero-dimensional ideal)."""
    seen = {(0,) * nvars}
    todo = [(0,) * nvars]
    while todo:
        m = todo.pop()
        for i in range(nvars):
            n = tuple(e + (j == i) for j, e in enumerate(m))
            if n in seen or any(
                all(a <= b for a, b in zip(lead, n, strict=True)) for lead in leads
            ):
                continue
            seen.add(n)
            todo.append(n)
    return len(seen)


class TestAgainstBuchberger:
    @pytest.mark.parametrize("n", [2, 3, 4, 5])
    def test_katsura(self, n: int) -> None:
        polys, gens = katsura(n)
        orders = ["lex", "grlex", "grevlex"] if n <= 3 else ["grevlex"]
        for order in orders:
            f4 = groebner(polys, gens, order, method="f4")
            bb = groebner(polys, gens, order, method="buchberger")
            assert f4.exprs == bb.exprs, (n, order)

    @pytest.mark.parametrize("n", [3, 4, 5])
    def test_cyclic(self, n: int) -> None:
        polys, gens = cyclic(n)
        orders = ["lex", "grlex", "grevlex"] if n <= 4 else ["grevlex"]
        for order in orders:
            assert (
                groebner(polys, gens, order, method="f4").exprs
                == groebner(polys, gens, order, method="buchberger").exprs
            )

    def test_cyclic6_has_156_solutions(self) -> None:
        """cyclic-6 (where FLINT's Buchberger does not finish): 45 elements, degree 156."""
        polys, gens = cyclic(6)
        basis = groebner(polys, gens, "grevlex", method="f4")
        assert len(basis) == 45
        leads = [basis.ring.leading_monomial(p) for p in basis.polys]
        assert standard_monomials(leads, 6) == 156
        assert all(basis.contains(p) for p in polys)

    @given(
        st.lists(
            st.lists(
                st.tuples(
                    st.integers(-5, 5), st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)
                ),
                min_size=1,
                max_size=4,
            ),
            min_size=1,
            max_size=3,
        ),
        st.sampled_from(["grlex", "grevlex"]),
    )
    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    def test_random_systems(self, spec: list[list[tuple[int, int, int, int]]], order: str) -> None:
        """Graded orders, where F4 is the default (lex is covered by the named systems below)."""
        polys: list[Expr] = []
        for terms in spec:
            total: Expr = Number.of(0)
            for c, a, b, d in terms:
                total = total + c * x**a * y**b * z**d
            polys.append(total)
        f4 = groebner(polys, [x, y, z], order, method="f4")
        bb = groebner(polys, [x, y, z], order, method="buchberger")
        assert f4.exprs == bb.exprs

    @pytest.mark.parametrize(
        "system",
        [
            ["-5*z*x^2*y^2 + 5*x^2*y^2", "-5*y*z^2 - 5*y^2*z^2 + x*z + x^2*z^2",
             "-z*x^2*y^2 + 4*x*z + 5*y*z^2 + 5*z*y^2"],
            ["x^2*y - 1", "x*y^2 - x", "z^2 - x*y*z + 1"],
            ["x^3 - 2*x*y", "x^2*y - 2*y^2 + x"],
        ],
    )  # fmt: skip
    def test_lex_with_sugar(self, system: list[str]) -> None:
        """Lex uses the sugar strategy (the first system blew up to 6,000 x 9,000 without it)."""
        polys = [parse(p) for p in system]
        f4 = groebner(polys, [x, y, z], "lex", method="f4")
        assert f4.exprs == groebner(polys, [x, y, z], "lex", method="buchberger").exprs

    def test_auto_method(self) -> None:
        polys = [x**2 + y**2 - 1, x - y]
        assert (
            groebner(polys, [x, y], "lex").exprs
            == groebner(polys, [x, y], "lex", method="f4").exprs
        )


class TestLifting:
    def test_unlucky_prime_is_outvoted(self) -> None:
        """Modulo 2^61-1 the leading term of M*x*y + y^2 vanishes: that image is discarded."""
        polys = [M61 * x * y + y**2 - 1, x**2 - 3 * y]
        f4 = groebner(polys, [x, y], "grevlex", method="f4")
        assert f4.exprs == groebner(polys, [x, y], "grevlex", method="buchberger").exprs

    def test_prime_dividing_a_denominator_is_skipped(self) -> None:
        polys = [x * y - Fraction(1, M61), x**2 + y**2 - 2]
        f4 = groebner(polys, [x, y], "lex", method="f4")
        assert f4.exprs == groebner(polys, [x, y], "lex", method="buchberger").exprs

    def test_large_coefficients(self) -> None:
        """Coefficients far beyond one prime need several primes and reconstruction."""
        big = 10**40 + 7
        polys = [x**2 - big * y, y**2 - Fraction(big, 3) * x + 1]
        f4 = groebner(polys, [x, y], "grevlex", method="f4")
        assert f4.exprs == groebner(polys, [x, y], "grevlex", method="buchberger").exprs

    def test_inconsistent_system(self) -> None:
        assert groebner([x - 1, x - 2], [x], method="f4").exprs == [Number.of(1)]

    @given(st.integers(-(10**8), 10**8), st.integers(1, 10**8))
    def test_rational_reconstruction(self, num: int, den: int) -> None:
        value = Fraction(num, den)
        m = M61 * ((1 << 61) - 31)
        residue = value.numerator * pow(value.denominator, -1, m) % m
        assert _rational_reconstruction(residue, m) == value


class TestPieces:
    @given(
        st.lists(st.integers(0, 5), min_size=3, max_size=3),
        st.lists(st.integers(0, 5), min_size=3, max_size=3),
        st.sampled_from(["lex", "grlex", "grevlex"]),
    )
    def test_packing_is_additive_and_ordered(self, a: list[int], b: list[int], order: str) -> None:
        pack = Packing(3, order)
        ma, mb = tuple(a), tuple(b)
        key = monomial_key(order)
        assert pack.decode(pack.encode(ma)) == ma
        assert pack.encode(ma) + pack.encode(mb) == pack.encode(
            tuple(p + q for p, q in zip(a, b, strict=True))
        )
        assert (pack.encode(ma) < pack.encode(mb)) == (key(ma) < key(mb))
        divides = all(p <= q for p, q in zip(a, b, strict=True))
        guard = pack.guard
        assert (((pack.divmask(mb) | guard) - pack.divmask(ma)) & guard == guard) == divides

    def test_mod_p_basis(self) -> None:
        """x^2 + y^2 - 1, x - y modulo 101 in lex: x - y, y^2 - 1/2 (= y^2 + 50)."""
        basis = f4_mod_p(
            [{(2, 0): 1, (0, 2): 1, (0, 0): 100}, {(1, 0): 1, (0, 1): 100}], 101, "lex"
        )
        assert basis == [{(1, 0): 1, (0, 1): 100}, {(0, 2): 1, (0, 0): 50}]

    def test_product_criterion_drops_coprime_pairs(self) -> None:
        assert critical_pairs([(2, 0), (0, 2)]) == []
        assert critical_pairs([(2, 0), (1, 1)]) == [(0, 1)]

    def test_bad_method(self) -> None:
        with pytest.raises(SymbolicInputError, match="method"):
            groebner([x], [x], method="f5")


def test_cli_method_flag() -> None:
    out = run_cli(
        main, ["groebner", "x^2+y^2-1", "x-y", "--order", "lex", "--gens", "x,y", "--method", "f4"]
    ).out
    assert out.split("\n")[:2] == ["x - y", "-1/2 + y^2"]
    assert parse(out.split("\n")[0]) == x - y


def _singular_basis(system: list[Expr], gens: list[Expr]) -> list[Expr] | None:
    """Singular's reduced grevlex basis (Singular is the Gröbner reference), or None."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    binary = shutil.which("Singular")
    if binary is None:
        return None
    names = ",".join(str(g) for g in gens)
    script = (
        f"ring r = 0,({names}),dp; option(redSB); option(redTail);"
        f"ideal i = {','.join(str(p) for p in system)}; ideal g = std(i);"
        "int k; for (k = 1; k <= size(g); k++) { print(g[k]); } quit;"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gb.sing"
        path.write_text(script)
        done = subprocess.run(  # the system's Singular on our own script
            [binary, "-q", "--no-warn", str(path)],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
    return [parse(line) for line in done.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("name", "system"),
    [(f"katsura-{n}", katsura(n)) for n in (3, 4, 5)]
    + [(f"cyclic-{n}", cyclic(n)) for n in (4, 5)],
)
def test_identical_to_singular(name: str, system: tuple[list[Expr], list]) -> None:  # type: ignore[type-arg]
    """Singular is the reference: its reduced basis, made monic, is ours exactly."""
    polys, gens = system
    theirs = _singular_basis(polys, gens)
    if theirs is None:
        pytest.skip("Singular is not installed (Debian package singular)")
    ours = groebner(polys, gens, "grevlex", method="f4")
    monic = set()
    for p in theirs:
        lead = groebner([p], gens, "grevlex", method="buchberger").exprs[0]  # p made monic
        monic.add(lead)
    assert set(ours.exprs) == monic, name


def _katsura_dicts(n: int) -> list[dict[tuple[int, ...], int]]:
    """katsura-n with integer coefficients, as exponent-tuple dicts (F4's modular input)."""
    nvars = n + 1

    def var(i: int) -> tuple[int, ...]:
        return tuple(1 if j == i else 0 for j in range(nvars))

    out = []
    for m in range(n):
        poly: dict[tuple[int, ...], int] = {}
        for k in range(-n, n + 1):
            a, b = abs(k), abs(m - k)
            if a <= n and b <= n:
                mono = tuple(p + q for p, q in zip(var(a), var(b), strict=True))
                poly[mono] = poly.get(mono, 0) + 1
        poly[var(m)] = poly.get(var(m), 0) - 1
        out.append({k: c for k, c in poly.items() if c})
    last = {var(0): 1, **{var(i): 2 for i in range(1, nvars)}, (0,) * nvars: -1}
    out.append(last)
    return out


class TestTrace:
    """The first prime's learned rows, replayed modulo later primes."""

    P2 = (1 << 61) - 31  # another prime

    def _mod(
        self, polys: list[dict[tuple[int, ...], int]], p: int
    ) -> list[dict[tuple[int, ...], int]]:
        return [{m: c % p for m, c in poly.items()} for poly in polys]

    def test_replay_equals_full_run(self) -> None:
        polys = _katsura_dicts(5)
        _, trace = _f4_run(self._mod(polys, M61), M61, "grevlex", None, learn=True)
        assert trace is not None
        assert trace.rounds
        images = self._mod(polys, self.P2)
        replayed = _F4(images, self.P2, "grevlex", 6).replay(trace)
        assert replayed == f4_mod_p(images, self.P2, "grevlex")
        assert len(replayed) == 22  # katsura-5 has 22 elements (FLINT's Buchberger over Q agrees)

    def test_replay_keeps_fewer_rows(self) -> None:
        polys = _katsura_dicts(5)
        run = _F4(self._mod(polys, M61), M61, "grevlex", 6, learn=True)
        run.run()
        assert run.trace is not None
        kept = sum(len(rows) for rows, _ in run.trace.rounds)
        built = sum(rows for rows, _ in run.matrices[1:-1])  # the pair matrices
        assert 0 < kept < built

    def test_foreign_trace_is_refused_and_the_prime_computed_in_full(self) -> None:
        _, trace = _f4_run(self._mod(_katsura_dicts(4), M61), M61, "grevlex", None, learn=True)
        assert trace is not None
        other = self._mod(_katsura_dicts(5), self.P2)
        with pytest.raises(TraceMismatchError):
            _F4(other, self.P2, "grevlex", 6).replay(trace)
        basis, learned = _f4_run(other, self.P2, "grevlex", trace)
        assert learned is None
        assert basis == f4_mod_p(other, self.P2, "grevlex")

    def test_failed_check_restarts_without_the_trace(self) -> None:
        """A rejected candidate drops the trace and every image it produced; the result is still exact."""
        polys = [{m: Fraction(c) for m, c in poly.items()} for poly in _katsura_dicts(3)]
        calls: list[int] = []

        def check(candidate: list[dict[tuple[int, ...], Fraction]]) -> bool:
            calls.append(len(candidate))
            return len(calls) > 1

        basis = f4(polys, "grevlex", check)
        assert len(calls) == 2
        expected = groebner(*katsura(3), order="grevlex", method="buchberger")
        as_sets = {
            frozenset(
                (tuple(int(e) for e in m), Fraction(int(c.p), int(c.q)))
                for m, c in poly.to_dict().items()
            )
            for poly in expected.polys
        }
        assert {frozenset(poly.items()) for poly in basis} == as_sets


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_state_is_restored(enabled: bool) -> None:
    """F4 pauses the garbage collector and leaves it as it found it."""
    polys = [{m: Fraction(c) for m, c in poly.items()} for poly in _katsura_dicts(2)]
    seen: list[bool] = []

    def check(candidate: list[dict[tuple[int, ...], Fraction]]) -> bool:
        seen.append(gc.isenabled())
        return True

    was = gc.isenabled()
    try:
        if enabled:
            gc.enable()
        else:
            gc.disable()
        basis = f4(polys, "grevlex", check)
        assert gc.isenabled() is enabled
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()
    assert seen == [False]
    assert len(basis) == 4

"""Faugère's F4 with modular linear algebra, lifted to the rationals.

**Modulo a prime** (:func:`f4_mod_p`).  Critical pairs are selected all
at once by minimal lcm degree (the normal strategy) for graded orders and
by minimal sugar degree for lex (Giovini et al.; the lcm degree lets lex
run ahead into huge matrices).  Each round
builds a Macaulay matrix: the two multiples ``lcm/LM(g) * g`` of every
selected pair, then *symbolic preprocessing* adds a multiple of a basis
element for every monomial of the matrix that some leading monomial
divides, so that row reduction performs the whole polynomial reduction.
Columns are the monomials in decreasing order.  The matrix is reduced
Faugère–Lachartre style (:meth:`_F4._eliminate`): one row per leading
monomial is a pivot row, the pivot rows form a block upper-triangular
matrix that FLINT solves block by block (``nmod_mat.solve`` on the
diagonal blocks, matrix products above them), and only the Schur
complement of the other rows is row-reduced densely; its rows are the new
basis elements, exactly the rows of the whole matrix's rref whose leading
monomial is new.  Pairs are pruned with the Gebauer–Möller criteria.  A last
matrix inter-reduces the minimal basis into the reduced Gröbner basis.

**Over the rationals** (:func:`f4`).  The reduced basis is computed modulo
61-bit primes (skipping primes that divide a denominator of the input).
The first run learns a :class:`Trace` (the rows each matrix
really needed; on katsura-7 the pair matrices' 276 non-pivot rows of the
last four rounds have rank 22) and later primes replay it with no pair
handling or preprocessing, the Schur complement then solved from the
left, ``(C A^-1) B``, since ``C`` keeps only a few rows (a replay that
disagrees is redone in full).  Primes whose leading-monomial pattern disagrees with the majority
are dropped as unlucky, the images are combined by the Chinese remainder
theorem and every coefficient is recovered by rational reconstruction.
As soon as every coefficient reconstructs, the candidate is checked over
the integers (after a failed check, only once one more prime leaves the
reconstruction unchanged) with FLINT's reduction over Z: the S-polynomial
of every pair left by the Gebauer–Möller criteria reduces to 0 (so it is a
Gröbner basis) and so does every input.  That, with the leading monomials matching a lucky prime's basis proves it is the reduced
basis of the input ideal (Arnold, *Modular algorithms for computing
Gröbner bases*, J. Symbolic Comput. 35, 2003).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from typing import Any

import flint

from symbolic_reduction_modeler.errors import SymbolicMathError

__all__ = ["critical_pairs", "f4", "f4_mod_p", "gebauer_moller", "monomial_key"]

Monomial = tuple[int, ...]
ModPoly = dict[Monomial, int]
Key = Callable[[Monomial], Any]

MAX_PRIMES = 400
MAX_MATRIX_ENTRIES = 20_000_000
BLOCK = 96  # side of the diagonal blocks of the pivot rows in _F4._eliminate  # nmod_mat needs a word per entry: refuse before FLINT


def monomial_key(order: str) -> Key:
    """A sort key realising the monomial order (larger key = larger monomial)."""
    if order == "lex":
        return lambda m: m
    if order == "grlex":
        return lambda m: (sum(m), m)
    if order == "grevlex":
        return lambda m: (sum(m), tuple(-e for e in reversed(m)))
    raise ValueError(order)


def _divides(a: Monomial, b: Monomial) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True))


def _lcm(a: Monomial, b: Monomial) -> Monomial:
    return tuple(max(x, y) for x, y in zip(a, b, strict=True))


def _coprime(a: Monomial, b: Monomial) -> bool:
    return all(x == 0 or y == 0 for x, y in zip(a, b, strict=True))


Pair = tuple[int, int, Monomial]


def gebauer_moller(
    leads: Sequence[Monomial], pairs: list[Pair], active: list[int], h: int
) -> tuple[list[Pair], list[int]]:
    """Add element ``h``: its new critical pairs, old pairs pruned, redundant elements retired.

    The update of Gebauer and Möller (Becker–Weispfenning, *Gröbner Bases*,
    procedure UPDATE): the product criterion drops pairs with coprime
    leading monomials, the chain criterion pairs whose lcm is divisible by
    another pair's.  Divisibility is tested on packed exponents with guard
    bits (see :class:`Packing`), one integer operation instead of a tuple walk.
    """
    lh = leads[h]
    guard = _guard(len(lh))
    ph = _pack(lh)
    candidates = []
    for g in active:
        lcm = _lcm(lh, leads[g])
        packed = _pack(lcm)
        candidates.append((g, lcm, packed, packed == ph + _pack(leads[g])))
    kept: list[tuple[int, Monomial, bool]] = []
    kept_packed: list[int] = []
    for i, (g, lcm, packed, coprime) in enumerate(candidates):
        high = packed | guard
        if coprime or (
            not any((high - other[2]) & guard == guard for other in candidates[i + 1 :])
            and not any((high - other) & guard == guard for other in kept_packed)
        ):
            kept.append((g, lcm, coprime))
            kept_packed.append(packed)
    new_pairs = [(g, h, lcm) for g, lcm, coprime in kept if not coprime]
    pruned = [
        (a, b, lcm)
        for a, b, lcm in pairs
        if not (
            ((_pack(lcm) | guard) - ph) & guard == guard
            and _lcm(leads[a], lh) != lcm
            and _lcm(leads[b], lh) != lcm
        )
    ]
    retired = [g for g in active if ((_pack(leads[g]) | guard) - ph) & guard == guard]
    if retired:
        gone = set(retired)
        active = [g for g in active if g not in gone]
    return pruned + new_pairs, [*active, h]


@functools.lru_cache(maxsize=1 << 16)
def _pack(m: Monomial) -> int:
    """Exponents in FIELD-bit fields, for the guard-bit divisibility test."""
    out = 0
    for e in m:
        out = (out << FIELD) | e
    return out


@functools.lru_cache(maxsize=64)
def _guard(nvars: int) -> int:
    return sum(1 << (FIELD * i + FIELD - 1) for i in range(nvars))


def critical_pairs(leads: Sequence[Monomial]) -> list[tuple[int, int]]:
    """The pairs whose S-polynomials must reduce to 0 for a basis with these leads to be Gröbner."""
    pairs: list[Pair] = []
    active: list[int] = []
    for h in range(len(leads)):
        pairs, active = gebauer_moller(leads, pairs, active, h)
    return [(a, b) for a, b, _ in pairs]


FIELD = 32  # bits per packed exponent field
MAX_DEGREE = 1 << (FIELD - 2)


@functools.lru_cache(maxsize=1 << 16)
def _decode(key: int, nvars: int, order: str) -> Monomial:
    """The exponents of a packed monomial; cached, since every prime's run
    decodes the same monomials (the packing does not depend on the prime)."""
    count = nvars + (order != "lex")
    mask = (1 << FIELD) - 1
    fields = [(key >> (FIELD * (count - 1 - i))) & mask for i in range(count)]
    if order == "lex":
        return tuple(fields)
    if order == "grlex":
        return tuple(fields[1:])
    d = fields[0]
    return tuple(d - f for f in reversed(fields[1:]))


class Packing:
    """Monomials as integers: multiplication is ``+`` and the monomial order is ``<``.

    Fields of :data:`FIELD` bits, most significant first: ``(e_1..e_n)`` for
    lex, ``(deg, e_1..e_n)`` for grlex and ``(deg, deg-e_n, .., deg-e_1)``
    for grevlex.  Every field is a non-negative linear function of the
    exponents, so packing is additive, and comparing the integers is
    comparing the field tuples lexicographically, which is the order.
    Divisibility uses a second packing of the plain exponents with a guard
    bit per field: ``a | b`` iff ``((b | G) - a) & G == G``.
    """

    def __init__(self, nvars: int, order: str) -> None:
        self.nvars = nvars
        self.order = order
        self.guard = sum(1 << (FIELD * i + FIELD - 1) for i in range(nvars))

    def encode(self, m: Monomial) -> int:
        if self.order == "lex":
            fields = list(m)
        elif self.order == "grlex":
            fields = [sum(m), *m]
        else:
            d = sum(m)
            fields = [d, *(d - e for e in reversed(m))]
        if fields and max(fields) >= MAX_DEGREE:
            raise SymbolicMathError("a degree in the Gröbner computation is too large to pack")
        out = 0
        for f in fields:
            out = (out << FIELD) | f
        return out

    def decode(self, key: int) -> Monomial:
        return _decode(key, self.nvars, self.order)

    def divmask(self, m: Monomial) -> int:
        out = 0
        for e in m:
            out = (out << FIELD) | e
        return out


class TraceMismatchError(Exception):
    """A replayed matrix did not give the learned leading monomials."""


class Trace:
    """What a learning F4 run modulo one prime needed, to replay modulo the others.

    The idea of Traverso's Gröbner trace, in F4 form (as msolve does): the
    first prime's run records, per matrix, the rows ``(multiplier,
    element)`` that contributed (non-pivot rows with independent
    reductions and the pivot rows these reach) and the leading monomials
    it produced.  Later primes rebuild only those rows: no critical pairs,
    no symbolic preprocessing, no rows reducing to zero.  A replay whose
    leading monomials differ raises :class:`TraceMismatchError` and the prime
    is computed in full; every lifted basis is still proved over Z.
    """

    def __init__(self) -> None:
        self.initial: list[int] = []
        self.rounds: list[tuple[list[tuple[int, int]], list[int]]] = []
        self.active: list[int] = []


def _needed_rows(
    *,
    schur: Any,
    rank: int,
    pivot_rows: dict[int, dict[int, int]],
    pivot_index: dict[int, int],
    others: list[dict[int, int]],
    other_index: list[int],
) -> list[int]:
    """The rows of a matrix its new rows depend on: pivot rows first, then the others."""
    transposed, _ = schur.transpose().rref()
    chosen: list[int] = []
    column = -1
    for i in range(rank):
        column += 1
        while int(transposed[i, column]) == 0:
            column += 1
        chosen.append(column)
    reached: set[int] = set()
    todo = [m for t in chosen for m in others[t]]
    while todo:
        m = todo.pop()
        if m in reached or m not in pivot_rows:
            continue
        reached.add(m)
        todo.extend(pivot_rows[m])
    pivots = sorted(pivot_index[m] for m in reached)
    return pivots + [other_index[t] for t in chosen]


def _schur_left(
    *,
    d: Any,
    a_blocks: dict[tuple[int, int], Any],
    b_blocks: list[Any],
    c_blocks: dict[int, Any],
    height: int,
    block_rows: Callable[[int], int],
    p: int,
) -> Any:
    """``D - (C A^-1) B`` with ``C A^-1`` by block forward substitution.

    The cheaper side when ``C`` has fewer rows than ``B`` has columns (a
    replayed matrix keeps only the few rows that do not reduce to zero):
    the triangular solves then cost in proportion to ``C``'s rows.  Block
    columns of ``C A^-1`` that stay zero are skipped.
    """
    solved: list[Any] = [None] * len(b_blocks)
    for b in range(len(b_blocks)):
        rhs = c_blocks.get(b)
        for a in range(b):
            block = a_blocks.get((a, b))
            if block is not None and solved[a] is not None:
                if rhs is None:
                    rhs = flint.nmod_mat(height, block_rows(b), p)
                rhs = rhs - solved[a] * block
        if rhs is not None:
            solved[b] = a_blocks[b, b].transpose().solve(rhs.transpose()).transpose()
            d = d - solved[b] * b_blocks[b]
    return d


class _F4:
    """One F4 run modulo ``p``, on packed monomials (see :class:`Packing`)."""

    def __init__(
        self, polys: Sequence[ModPoly], p: int, order: str, nvars: int, learn: bool = False
    ) -> None:
        self.p = p
        # learning run: the rows each matrix needed, for replay modulo other primes
        self.trace: Trace | None = Trace() if learn else None
        self.pack = Packing(nvars, order)
        self.polys: list[dict[int, int]] = []
        self.sugar: list[int] = []  # Giovini et al.'s sugar degree, the selection key
        self.leads: list[Monomial] = []  # exponent tuples, for the pair criteria
        self.lead_keys: list[int] = []
        self.lead_masks: list[int] = []
        self.active: list[int] = []  # indices of the current (non-redundant) basis
        self.pairs: list[Pair] = []
        self.reducer: dict[int, int] = {}
        self.matrices: list[tuple[int, int]] = []
        initial = []
        for poly in polys:
            packed = {self.pack.encode(m): c % p for m, c in poly.items() if c % p}
            if packed:
                initial.append(packed)
        # start from the input reduced against itself: one matrix, no pairs yet
        for row in self._reduce_rows([(0, q) for q in initial], keep_all=True):
            self._add(row, max(sum(self.pack.decode(m)) for m in row))
        if self.trace is not None:
            self.trace.initial = list(self.lead_keys)

    def _add(self, poly: dict[int, int], sugar: int) -> None:
        index = self._append(poly, sugar)
        self.pairs, self.active = gebauer_moller(self.leads, self.pairs, self.active, index)

    def _append(self, poly: dict[int, int], sugar: int) -> int:
        index = len(self.polys)
        self.polys.append(poly)
        self.sugar.append(sugar)
        key = max(poly)
        lead = self.pack.decode(key)
        self.leads.append(lead)
        self.lead_keys.append(key)
        self.lead_masks.append(self.pack.divmask(lead))
        return index

    def _find_reducer(self, m: int) -> int | None:
        found = self.reducer.get(m)
        if found is not None:
            return found
        guard = self.pack.guard
        mask = self.pack.divmask(self.pack.decode(m)) | guard
        masks = self.lead_masks
        for g in reversed(self.active):
            if (mask - masks[g]) & guard == guard:
                self.reducer[m] = g
                return g
        return None

    def _reduce_rows(
        self,
        seeds: list[tuple[int, dict[int, int]]],
        keep_all: bool = False,
        origins: list[tuple[int, int]] | None = None,
    ) -> list[dict[int, int]]:
        """Symbolic preprocessing, then the Macaulay matrix's reduction modulo ``p``.

        ``keep_all``: every row of the rref (the input's and the final
        inter-reduction, one dense FLINT rref); otherwise only the rows with
        new leading monomials, by the block elimination of :meth:`_eliminate`.
        ``origins`` (a learning run): the seeds' ``(multiplier, element)``,
        extended with the reducers', so the trace can name the rows it keeps.
        """
        rows = [{m + mult: c for m, c in poly.items()} if mult else poly for mult, poly in seeds]
        heads = {max(r) for r in rows}
        monos: set[int] = set()
        for r in rows:
            monos.update(r)
        todo = [m for m in monos if m not in heads]
        pivots = set(heads)
        while todo:
            m = todo.pop()
            if m in pivots:
                continue
            pivots.add(m)
            g = self._find_reducer(m)
            if g is None:
                continue
            mult = m - self.lead_keys[g]
            row = {k + mult: c for k, c in self.polys[g].items()}
            rows.append(row)
            if origins is not None:
                origins.append((mult, g))
            heads.add(m)
            for k in row:
                if k not in monos:
                    monos.add(k)
                    todo.append(k)
        cols = sorted(monos, reverse=True)
        if len(rows) * len(cols) > MAX_MATRIX_ENTRIES:
            raise SymbolicMathError(
                f"F4 matrix of {len(rows)} x {len(cols)} is too large",
                hint="try method='buchberger' or fewer variables",
            )
        self.matrices.append((len(rows), len(cols)))
        if not keep_all:
            new, needed = self._eliminate(rows, cols, learn=origins is not None)
            if origins is not None and self.trace is not None:
                self.trace.rounds.append(([origins[i] for i in needed], [max(r) for r in new]))
            return new
        index = {m: i for i, m in enumerate(cols)}
        matrix = flint.nmod_mat(len(rows), len(cols), self.p)
        for i, row in enumerate(rows):
            for m, c in row.items():
                matrix[i, index[m]] = c
        reduced, rank = matrix.rref()
        out: list[dict[int, int]] = []
        column = -1
        width = len(cols)
        for i in range(rank):
            column += 1
            while int(reduced[i, column]) == 0:
                column += 1
            out.append({cols[k]: v for k in range(column, width) if (v := int(reduced[i, k])) != 0})
        return out

    def _eliminate(
        self, rows: list[dict[int, int]], cols: list[int], learn: bool = False
    ) -> tuple[list[dict[int, int]], list[int]]:
        """The rows of the rref whose leading monomial is new, by block elimination.

        The Faugère–Lachartre split: one row per leading monomial is a
        *pivot* row; its leading monomials are the pivot columns, and the
        pivot rows form an upper-triangular ``A`` (pivot columns) beside
        ``B`` (the other columns); the remaining rows are ``C | D``.  The new
        basis elements are the rref of ``D - C A^-1 B`` (the rows of the full
        rref whose pivots are not leading monomials are exactly these, with
        zeros in every pivot column).  ``A^-1 B`` is found by block
        back-substitution: ``A`` is cut into square blocks on its diagonal,
        each solved by FLINT, with FLINT's fast matrix products for the
        blocks above the diagonal (most of which are zero and skipped), so
        the dense work is the small Schur complement instead of the rref of
        the whole matrix (measured 3x less time on katsura-7's matrices).

        Also returns, when ``learn``, the indices (into ``rows``) of the rows
        that matter: the non-pivot rows whose reductions are linearly
        independent (the first such set, from the rref of the transposed
        Schur complement) and the pivot rows their reduction reaches.  The
        same rows modulo another prime give the same new rows (most rows
        of F4's matrices reduce to zero: katsura-7's last four matrices
        have 276 non-pivot rows and rank 22).
        """
        p = self.p
        pivot_rows: dict[int, dict[int, int]] = {}
        pivot_index: dict[int, int] = {}
        others: list[dict[int, int]] = []
        other_index: list[int] = []
        for n, row in enumerate(rows):
            head = max(row)
            if head in pivot_rows:
                others.append(row)
                other_index.append(n)
            else:
                pivot_rows[head] = row
                pivot_index[head] = n
        pivot_cols = [m for m in cols if m in pivot_rows]
        free_cols = [m for m in cols if m not in pivot_rows]
        if not others or not free_cols:
            return [], []
        size = BLOCK
        nblocks = (len(pivot_cols) + size - 1) // size
        where = {m: divmod(i, size) for i, m in enumerate(pivot_cols)}
        free = {m: i for i, m in enumerate(free_cols)}
        width = len(free_cols)

        def block_rows(b: int) -> int:
            return min(size, len(pivot_cols) - b * size)

        a_blocks: dict[tuple[int, int], Any] = {}
        b_blocks = [flint.nmod_mat(block_rows(b), width, p) for b in range(nblocks)]
        for m in pivot_cols:
            bi, i = where[m]
            for k, c in pivot_rows[m].items():
                found = where.get(k)
                if found is None:
                    b_blocks[bi][i, free[k]] = c
                    continue
                bj, j = found
                block = a_blocks.get((bi, bj))
                if block is None:
                    block = a_blocks[bi, bj] = flint.nmod_mat(block_rows(bi), block_rows(bj), p)
                block[i, j] = c
        c_blocks: dict[int, Any] = {}
        d = flint.nmod_mat(len(others), width, p)
        for t, row in enumerate(others):
            for k, c in row.items():
                found = where.get(k)
                if found is None:
                    d[t, free[k]] = c
                    continue
                bj, j = found
                block = c_blocks.get(bj)
                if block is None:
                    block = c_blocks[bj] = flint.nmod_mat(len(others), block_rows(bj), p)
                block[t, j] = c
        if len(others) < width:
            d = _schur_left(
                d=d,
                a_blocks=a_blocks,
                b_blocks=b_blocks,
                c_blocks=c_blocks,
                height=len(others),
                block_rows=block_rows,
                p=p,
            )
        else:
            solved: list[Any] = [None] * nblocks
            for b in range(nblocks - 1, -1, -1):
                rhs = b_blocks[b]
                for c in range(b + 1, nblocks):
                    block = a_blocks.get((b, c))
                    if block is not None:
                        rhs = rhs - block * solved[c]
                solved[b] = a_blocks[b, b].solve(rhs)
            for b, block in c_blocks.items():
                d = d - block * solved[b]
        reduced, rank = d.rref()
        out: list[dict[int, int]] = []
        column = -1
        for i in range(rank):
            column += 1
            while int(reduced[i, column]) == 0:
                column += 1
            out.append(
                {free_cols[k]: v for k in range(column, width) if (v := int(reduced[i, k])) != 0}
            )
        if not learn or not out:
            return out, []
        return out, _needed_rows(
            schur=d,
            rank=rank,
            pivot_rows=pivot_rows,
            pivot_index=pivot_index,
            others=others,
            other_index=other_index,
        )

    def run(self) -> list[ModPoly]:
        trace = self.trace
        while self.pairs:
            sugars = [self._pair_sugar(pair) for pair in self.pairs]
            degree = min(sugars)
            chosen = [pair for pair, s in zip(self.pairs, sugars, strict=True) if s == degree]
            self.pairs = [pair for pair, s in zip(self.pairs, sugars, strict=True) if s != degree]
            seeds: dict[tuple[Monomial, int], tuple[int, int]] = {}
            for a, b, lcm in chosen:
                lcm_key = self.pack.encode(lcm)
                for g in (a, b):
                    seeds.setdefault((lcm, g), (lcm_key - self.lead_keys[g], g))
            origins = list(seeds.values()) if trace is not None else None
            rows = [(mult, self.polys[g]) for mult, g in seeds.values()]
            for row in self._reduce_rows(rows, origins=origins):
                self._add(row, degree)
        if trace is not None:
            trace.active = list(self.active)
        return self._reduced_basis()

    def replay(self, trace: Trace) -> list[ModPoly]:
        """The run of a learning prime, matrix by matrix, with only the rows it needed.

        No critical pairs and no symbolic preprocessing: each matrix is the
        trace's rows (multiplier, element) and must give the trace's new
        leading monomials, else :class:`TraceMismatchError` (an unlucky prime,
        or one on which the learned rows do not suffice).
        """
        if self.lead_keys != trace.initial:
            raise TraceMismatchError
        for needed, leads in trace.rounds:
            if not leads:
                continue
            polys = self.polys
            rows = [{k + mult: c for k, c in polys[g].items()} for mult, g in needed]
            monos: set[int] = set()
            for r in rows:
                monos.update(r)
            out, _ = self._eliminate(rows, sorted(monos, reverse=True))
            if [max(r) for r in out] != leads:
                raise TraceMismatchError
            for row in out:
                self._append(row, 0)
        self.active = list(trace.active)
        return self._reduced_basis()

    def _pair_sugar(self, pair: Pair) -> int:
        a, b, lcm = pair
        d = sum(lcm)
        if self.pack.order != "lex":
            return d  # graded: the normal strategy, which measured faster on cyclic-6
        return max(self.sugar[a] + d - sum(self.leads[a]), self.sugar[b] + d - sum(self.leads[b]))

    def _reduced_basis(self) -> list[ModPoly]:
        minimal: list[int] = []
        for g in self.active:
            lead = self.leads[g]
            if any(
                _divides(self.leads[h], lead) and (self.leads[h] != lead or h < g)
                for h in self.active
                if h != g
            ):
                continue
            minimal.append(g)
        self.active = minimal
        self.reducer = {}
        leads = {self.lead_keys[g] for g in minimal}
        rows = self._reduce_rows([(0, self.polys[g]) for g in minimal], keep_all=True)
        basis = [r for r in rows if max(r) in leads]
        basis.sort(key=max, reverse=True)
        decode = self.pack.decode
        return [{decode(k): c for k, c in r.items()} for r in basis]


def f4_mod_p(polys: Sequence[ModPoly], p: int, order: str) -> list[ModPoly]:
    """The reduced Gröbner basis modulo the prime ``p`` (monic, largest leading monomial first)."""
    return _f4_run(polys, p, order, None)[0]


def _f4_run(
    polys: Sequence[ModPoly], p: int, order: str, trace: Trace | None, learn: bool = False
) -> tuple[list[ModPoly], Trace | None]:
    """One prime: replayed from ``trace`` if given and it fits, else in full (learning if asked)."""
    nvars = len(next(iter(polys[0]))) if polys and polys[0] else 0
    if trace is not None:
        try:
            return _F4(polys, p, order, nvars).replay(trace), None
        except TraceMismatchError:
            pass
    run = _F4(polys, p, order, nvars, learn=learn)
    return run.run(), run.trace


# -- lifting to the rationals --------------------------------------------------


def _primes(start: int = (1 << 61) - 1) -> Iterator[int]:
    n = start if start % 2 else start - 1
    while n > 3:
        if flint.fmpz(n).is_prime():
            yield n
        n -= 2


def _rational_reconstruction(a: int, m: int) -> Fraction | None:
    """The fraction ``r/s = a (mod m)`` with ``|r|, s <= sqrt(m/2)``, if there is one."""
    bound = math.isqrt(m // 2)
    r0, r1 = m, a % m
    s0, s1 = 0, 1
    while r1 > bound:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        s0, s1 = s1, s0 - q * s1
    if s1 == 0 or abs(s1) > bound or math.gcd(r1, abs(s1)) != 1:
        return None
    return Fraction(r1, s1)


class _Lift:
    """Residues of one leading-monomial pattern, combined prime by prime."""

    def __init__(self, basis: list[ModPoly], p: int) -> None:
        self.modulus = p
        self.residues = [dict(poly) for poly in basis]
        self.primes = 1
        self.last: list[dict[Monomial, Fraction]] | None = None

    def add(self, basis: list[ModPoly], p: int) -> None:
        # Chinese remaindering: the residue mod modulus*p that is a mod modulus
        # and b mod p, with the modulus's inverse mod p computed once per prime
        modulus = self.modulus
        inverse = pow(modulus, -1, p)
        for acc, poly in zip(self.residues, basis, strict=True):
            for m in set(acc) | set(poly):
                a = acc.get(m, 0)
                acc[m] = a + modulus * ((poly.get(m, 0) - a) * inverse % p)
        self.modulus *= p
        self.primes += 1

    def reconstruct(self) -> list[dict[Monomial, Fraction]] | None:
        out = []
        for acc in self.residues:
            poly = {}
            for m, a in acc.items():
                value = _rational_reconstruction(a, self.modulus)
                if value is None:
                    return None
                if value:
                    poly[m] = value
            out.append(poly)
        return out


def _to_mod_p(polys: Sequence[dict[Monomial, Fraction]], p: int) -> list[ModPoly] | None:
    out = []
    for poly in polys:
        image = {}
        for m, c in poly.items():
            if c.denominator % p == 0:
                return None
            image[m] = c.numerator * pow(c.denominator, -1, p) % p
        out.append(image)
    return out


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, restored after.

    F4 allocates hundreds of thousands of short-lived dicts and tuples and
    no reference cycles, so the collector's passes find nothing; in a
    process holding many objects (SymPy loaded, say) its full passes cost
    15-20% of katsura-6 (measured 0.24 -> 0.20 s CPU).  Reference counting
    still frees everything at once.  If the collector was already off
    (the caller's choice, or another thread's F4) it is left off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def f4(
    polys: Sequence[dict[Monomial, Fraction]],
    order: str,
    is_groebner: Callable[[list[dict[Monomial, Fraction]]], bool],
) -> list[dict[Monomial, Fraction]]:
    """The reduced Gröbner basis over Q (monic, largest leading monomial first).

    ``is_groebner(candidate)`` is the final check over the integers (the
    caller's ring does it with FLINT); a candidate that fails it sends the
    lifting on to more primes.
    """
    with _collector_paused():
        return _lift_to_q(polys, order, is_groebner)


def _lift_to_q(
    polys: Sequence[dict[Monomial, Fraction]],
    order: str,
    is_groebner: Callable[[list[dict[Monomial, Fraction]]], bool],
) -> list[dict[Monomial, Fraction]]:
    lifts: dict[tuple[Monomial, ...], _Lift] = {}
    failed_checks = 0
    trace: Trace | None = None
    tracing = True  # the first prime learns a trace, later ones replay it
    for count, p in enumerate(_primes()):
        if count >= MAX_PRIMES:
            break
        images = _to_mod_p(polys, p)
        if images is None:
            continue  # p divides a denominator of the input
        basis, learned = _f4_run(images, p, order, trace, learn=tracing and trace is None)
        if learned is not None:
            trace = learned
        key = monomial_key(order)
        pattern = tuple(max(poly, key=key) for poly in basis)
        lift = lifts.get(pattern)
        if lift is None:
            lifts[pattern] = lift = _Lift(basis, p)
        else:
            lift.add(basis, p)
        best = max(lifts.values(), key=lambda item: item.primes)
        if best is not lift:
            continue  # an unlucky prime (for now in the minority)
        candidate = lift.reconstruct()
        if candidate is None:
            continue
        # Reconstruction succeeding by accident is very unlikely with hundreds of
        # coefficients, and the check is a proof: try it at once, and after a
        # failed check only once a further prime leaves the candidate unchanged.
        if (not failed_checks or candidate == lift.last) and is_groebner(candidate):
            return candidate
        if tracing:
            # A replay can only pass for a right image if the learning prime
            # was sound; rather than trust it, start again with full runs.
            tracing, trace, lifts, failed_checks = False, None, {}, 0
            continue
        if not failed_checks or candidate == lift.last:
            failed_checks += 1
        lift.last = candidate
    raise SymbolicMathError(
        f"F4 lifting did not converge within {MAX_PRIMES} primes",
        hint="the coefficients are enormous; try method='buchberger'",
    )

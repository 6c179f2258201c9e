"""Generating synthetic tables from a checked :class:`GeneratorSchema`.

Every column is drawn for all rows at once with NumPy.  Numeric columns are
produced by inverse-CDF sampling of uniforms, which is what lets columns be
correlated: correlated columns share uniforms drawn from a Gaussian copula,
then each keeps its own marginal exactly.  Each column has its own random
stream keyed by (seed, table, column), so adding a column never changes the
values of the others, and the same seed always gives the same tables.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped
from scipy import stats  # type: ignore[import-untyped]  # no stubs shipped

from synthetic_pipeline_engine._personal import email_from_names, provide
from synthetic_pipeline_engine._regex import RegexGenerator
from synthetic_pipeline_engine._schema import (
    ColumnSpec,
    GeneratorSchema,
    TableSpec,
    parse_duration,
    parse_time,
)
from synthetic_pipeline_engine.errors import PipelineSchemaError

__all__ = ["generate_tables"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _rng(seed: int, table: str, column: str) -> np.random.Generator:
    return np.random.default_rng(
        [seed & 0xFFFFFFFF, zlib.crc32(table.encode()), zlib.crc32(column.encode())]
    )


def _discrete_ppf(pmf: np.ndarray, u: np.ndarray, offset: int) -> np.ndarray:
    cdf = np.cumsum(pmf)
    cdf /= cdf[-1]
    return np.searchsorted(cdf, u, side="right").clip(0, len(pmf) - 1) + offset


def _from_uniform(col: ColumnSpec, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of the column's distribution, truncated to [min, max]."""
    dist = col.get("distribution", "uniform")
    lo, hi = col.get("min"), col.get("max")
    if dist == "zipf":
        top = int(hi) if hi is not None else 10_000
        first = int(lo) if lo is not None else 1
        support = np.arange(max(first, 1), max(top, first) + 1, dtype=np.float64)
        return _discrete_ppf(support ** -float(col.get("a")), u, int(support[0]))
    if dist == "poisson":
        lam = float(col.get("lam", 1.0))
        top = int(hi) if hi is not None else int(stats.poisson.ppf(1 - 1e-12, lam)) + 1
        first = int(lo) if lo is not None else 0
        support = np.arange(first, max(top, first) + 1, dtype=np.float64)
        return _discrete_ppf(stats.poisson.pmf(support, lam), u, first)
    if dist == "uniform":
        a = float(lo) if lo is not None else 0.0
        b = float(hi) if hi is not None else 1.0
        if col.type == "int":
            return np.floor(a + u * (b - a + 1)).clip(a, b)
        return a + u * (b - a)
    if dist == "normal":
        frozen = stats.norm(float(col.get("mean", 0.0)), float(col.get("std", 1.0)))
    elif dist == "lognormal":
        frozen = stats.lognorm(
            float(col.get("sigma", 1.0)), scale=float(np.exp(float(col.get("mean", 0.0))))
        )
    else:  # exponential
        frozen = stats.expon(scale=float(col.get("scale", 1.0)))
    f_lo = frozen.cdf(float(lo)) if lo is not None else 0.0
    f_hi = frozen.cdf(float(hi)) if hi is not None else 1.0
    values = frozen.ppf(f_lo + u * (f_hi - f_lo))
    if lo is not None or hi is not None:
        values = np.clip(
            values, lo if lo is not None else -np.inf, hi if hi is not None else np.inf
        )
    if col.type == "int":
        values = np.rint(values)
    return np.asarray(values)


def _uniforms(table: TableSpec, seed: int) -> dict[str, np.ndarray]:
    """Copula uniforms for correlated columns (independent columns get none here)."""
    names = sorted({c for a, b, _ in table.correlations for c in (a, b)})
    if not names:
        return {}
    index = {n: i for i, n in enumerate(names)}
    corr = np.eye(len(names))
    for a, b, rho in table.correlations:
        corr[index[a], index[b]] = corr[index[b], index[a]] = rho
    try:
        chol = np.linalg.cholesky(corr)
    except np.linalg.LinAlgError:
        raise PipelineSchemaError(
            f"{table.name}: the correlations are not jointly possible (matrix not positive definite)",
            table=table.name,
            hint="lower some of the correlation coefficients",
        ) from None
    rng = _rng(seed, table.name, "__copula__")
    z = rng.standard_normal((table.rows, len(names))) @ chol.T
    u = stats.norm.cdf(z)
    return {n: u[:, index[n]] for n in names}


def _unique_ints(col: ColumnSpec, rows: int, rng: np.random.Generator) -> np.ndarray:
    lo = int(col.get("min", 1))
    hi = int(col.get("max", lo + max(rows * 10, 1000)))
    span = hi - lo + 1
    if span < rows:
        raise PipelineSchemaError(
            f"{col.name}: {rows} unique values do not fit in [{lo}, {hi}]",
            column=col.name,
            hint="widen min/max or lower rows",
        )
    if span <= 4 * rows:
        return np.asarray(rng.permutation(span)[:rows].astype(np.int64) + lo)
    # sparse: draw with replacement, keep first occurrences, top up; O(rows) memory
    out = np.empty(0, dtype=np.int64)
    while out.size < rows:
        draw = rng.integers(lo, hi + 1, size=int((rows - out.size) * 1.2) + 16, dtype=np.int64)
        merged = np.concatenate([out, draw])
        _, first = np.unique(merged, return_index=True)
        out = merged[np.sort(first)]
    return np.asarray(out[:rows])


def _unique_strings(make: Callable[[int], pl.Series], col: ColumnSpec, rows: int) -> pl.Series:
    values: pl.Series = make(rows)
    for _ in range(20):
        dup = values.is_duplicated() & ~values.is_first_distinct()
        count = int(dup.sum())
        if count == 0:
            return values
        fresh: pl.Series = make(count)
        values = values.scatter(np.flatnonzero(dup.to_numpy()), fresh)
    raise PipelineSchemaError(
        f"{col.name}: cannot draw {rows} unique values",
        column=col.name,
        hint="widen the regex or drop unique",
    )


def _times(col: ColumnSpec, rows: int, u: np.ndarray) -> np.ndarray:
    """Microseconds since the epoch: a regular sequence with ``freq``, else uniform in [start, end]."""
    start = parse_time(col.get("start", "2024-01-01"), col.name)
    start_us = (start - _EPOCH) // timedelta(microseconds=1)
    if "freq" in col.options:
        step = parse_duration(col.get("freq")) // timedelta(microseconds=1)
        return start_us + np.arange(rows, dtype=np.int64) * step
    end = (
        parse_time(col.get("end"), col.name)
        if "end" in col.options
        else start + timedelta(days=365)
    )
    end_us = (end - _EPOCH) // timedelta(microseconds=1)
    return (start_us + u * (end_us - start_us)).astype(np.int64)


def _series(col: ColumnSpec, rows: int, rng: np.random.Generator) -> np.ndarray:
    spec: Mapping[str, object] = col.get("series")
    t = np.arange(rows, dtype=np.float64)
    values = np.full(rows, float(spec.get("base", 0.0))) + float(spec.get("trend", 0.0)) * t  # type: ignore[arg-type]
    for season in spec.get("seasonality", []) or []:  # type: ignore[attr-defined]
        phase = float(season.get("phase", 0.0))
        values += float(season.get("amplitude", 1.0)) * np.sin(
            2 * np.pi * t / float(season["period"]) + phase
        )
    noise = float(spec.get("noise", 0.0))  # type: ignore[arg-type]
    if noise:
        values += rng.normal(0.0, noise, size=rows)
    return np.asarray(values, dtype=np.float64)


def _fk_indices(col: ColumnSpec, rows: int, parents: int, rng: np.random.Generator) -> np.ndarray:
    if parents == 0:
        raise PipelineSchemaError(
            f"{col.name}: parent table {col.get('foreign_key')} has no rows",
            column=col.name,
            hint="give the parent table rows",
        )
    if col.get("cardinality", "uniform") == "zipf":
        weights = np.arange(1, parents + 1, dtype=np.float64) ** -float(col.get("a", 1.2))
        rank_to_parent = rng.permutation(parents)
        return np.asarray(rank_to_parent[_discrete_ppf(weights, rng.random(rows), 0)])
    return np.asarray(rng.integers(0, parents, size=rows))


def _column(
    table: TableSpec,
    col: ColumnSpec,
    *,
    seed: int,
    copula: Mapping[str, np.ndarray],
    done: dict[str, pa.Array],
    produced: Mapping[str, Mapping[str, pa.Array]],
) -> pa.Array:
    rows = table.rows
    rng = _rng(seed, table.name, col.name)
    kind = col.type
    if col.get("foreign_key"):
        parent, _, parent_col = str(col.get("foreign_key")).partition(".")
        keys = produced[parent][parent_col] if parent != table.name else done[parent_col]
        idx = _fk_indices(col, rows, len(keys), rng)
        return keys.take(pa.array(idx))
    if col.get("sequence") is not None:
        start = int(col.get("sequence"))
        values = np.arange(start, start + rows, dtype=np.int64)
        return pa.array(values.astype(np.float64) if kind == "float" else values)
    if "series" in col.options:
        return pa.array(_series(col, rows, rng))
    if "provider" in col.options:
        locale = str(col.get("locale", "en"))
        source = col.get("from")
        if col.get("provider") == "email" and source is not None:
            names = pl.Series(done[source])
            return email_from_names(names.cast(pl.Utf8), rng, locale).to_arrow()

        def make(n: int) -> pl.Series:
            return provide(str(col.get("provider")), n, rng, locale)

        series = _unique_strings(make, col, rows) if col.get("unique") else make(rows)
        return series.to_arrow()
    if "regex" in col.options:
        gen = RegexGenerator(str(col.get("regex")))

        def make_regex(n: int) -> pl.Series:
            return pl.Series(col.name, gen.generate(n, rng), dtype=pl.Utf8)

        series = _unique_strings(make_regex, col, rows) if col.get("unique") else make_regex(rows)
        return series.to_arrow()
    if kind in ("category", "string") or (
        kind in ("int", "float", "bool") and "values" in col.options
    ):
        raw = col.get("values", ["a", "b", "c"])
        labels = list(raw) if not isinstance(raw, Mapping) else list(raw.keys())
        weights = (
            np.ones(len(labels))
            if not isinstance(raw, Mapping)
            else np.array(list(raw.values()), dtype=np.float64)
        )
        u = copula.get(col.name, rng.random(rows))
        idx = _discrete_ppf(weights, u, 0)
        if kind in ("category", "string"):
            labels = [str(v) for v in labels]  # a category column is text, whatever YAML typed
        elif kind == "float":
            labels = [float(v) for v in labels]
        return pa.array(labels).take(pa.array(idx))
    if kind == "bool":
        return pa.array(rng.random(rows) < float(col.get("p", 0.5)))
    shared = copula.get(col.name)
    u = shared if shared is not None else rng.random(rows)
    if kind in ("date", "timestamp"):
        micros = _times(col, rows, u)
        if kind == "date":
            return pa.array((micros // 86_400_000_000).astype(np.int32), type=pa.date32())
        return pa.array(micros, type=pa.timestamp("us"))
    if kind == "int" and col.get("unique"):
        return pa.array(_unique_ints(col, rows, rng))
    values = _from_uniform(col, u)
    if kind == "int":
        return pa.array(values.astype(np.int64))
    decimals = col.get("round")
    if decimals is not None:
        values = np.round(values, int(decimals))
    return pa.array(values.astype(np.float64))


def _with_nulls(array: pa.Array, rate: float, rng: np.random.Generator) -> pa.Array:
    if rate <= 0:
        return array
    mask = pa.array(rng.random(len(array)) < rate)
    return pa.compute.if_else(mask, pa.scalar(None, type=array.type), array)


def generate_tables(
    schema: GeneratorSchema, *, seed: int | None = None, rows: Mapping[str, int] | None = None
) -> dict[str, pa.Table]:
    """Generate every table of ``schema`` (parents before children).

    Args:
        schema: a checked schema.
        seed: overrides the schema's seed; same seed, same tables.
        rows: per-table row-count overrides.
    """
    import pyarrow.compute  # type: ignore[import-untyped]  # noqa: F401  # registers pa.compute

    base_seed = schema.seed if seed is None else seed
    produced: dict[str, dict[str, pa.Array]] = {}
    out: dict[str, pa.Table] = {}
    for name, declared in schema.tables.items():
        table = declared
        if rows and name in rows:
            table = TableSpec(
                declared.name,
                int(rows[name]),
                declared.columns,
                declared.correlations,
                declared.log,
            )
        if table.log is not None:
            from synthetic_pipeline_engine._logs import generate_log

            out[name] = generate_log(table.log, table.rows, base_seed, name)
            produced[name] = {
                c: out[name].column(c).combine_chunks() for c in out[name].column_names
            }
            continue
        copula = _uniforms(table, base_seed)
        done: dict[str, pa.Array] = {}
        pending = list(table.columns.values())
        # columns derived from others ('from', self-references) come after their sources
        pending.sort(
            key=lambda c: (
                1
                if c.get("from") or str(c.get("foreign_key", "")).startswith(table.name + ".")
                else 0
            )
        )
        for col in pending:
            array = _column(table, col, seed=base_seed, copula=copula, done=done, produced=produced)
            if isinstance(array, pa.ChunkedArray):
                array = array.combine_chunks()
            done[col.name] = array
        final = {}
        for col in table.columns.values():
            rate = float(col.get("null_rate", 0.0) or 0.0)
            final[col.name] = _with_nulls(
                done[col.name], rate, _rng(base_seed, table.name, col.name + "/nulls")
            )
        produced[name] = final
        out[name] = pa.table(final)
    return out

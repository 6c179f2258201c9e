"""Fidelity and privacy of synthetic data, scored as SDMetrics scores them.

*Column shapes*: KSComplement (1 - the two-sample Kolmogorov-Smirnov
statistic) for numerical and datetime columns, TVComplement (1 - total
variation distance of category frequencies) for categorical and boolean
ones.  *Column pair trends*: CorrelationSimilarity (1 - |r_real - r_syn| / 2,
Pearson) for two continuous columns, ContingencySimilarity (1 - total
variation of the joint frequency table) otherwise, with continuous columns
cut into 10 equal-width bins of their own range.  The overall quality is the
mean of the two properties.  These follow SDMetrics' ``QualityReport``
definitions; the test suite checks them against sdmetrics itself.

*Privacy*: distance to closest record (DCR; per column |a - b| / range
capped at 1 for numbers, 0/1 for categories, averaged) of each synthetic
row to the real table, and SDMetrics' DCRBaselineProtection score: the
median synthetic DCR over the median DCR of uniformly random data, capped
at 1.  And the exact-copy rate: the share of synthetic rows equal to a real
row.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped
from scipy import stats  # type: ignore[import-untyped]  # no stubs shipped

from synthetic_pipeline_engine._tabular import ColumnView, infer_sdtypes, view_column
from synthetic_pipeline_engine.errors import PipelineInputError

__all__ = ["PrivacyReport", "QualityReport", "evaluate_privacy", "evaluate_quality"]

_CONTINUOUS = ("numerical", "datetime")
_DISCRETE = ("categorical", "boolean")


@dataclass
class QualityReport:
    """Scores in [0, 1]: per column, per pair, per property, overall."""

    column_shapes: dict[str, float]
    pair_trends: dict[str, float]
    shapes_score: float
    trends_score: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def overall(self) -> float:
        """Mean of the property scores that exist (pair trends may have no related pair)."""
        scores = [s for s in (self.shapes_score, self.trends_score) if not math.isnan(s)]
        return sum(scores) / len(scores) if scores else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": _finite(self.overall),
            "column_shapes": _finite(self.shapes_score),
            "column_pair_trends": _finite(self.trends_score),
            "counted_pairs": len(self.details.get("counted_pairs", [])),
            "columns": {k: _finite(v) for k, v in self.column_shapes.items()},
            "pairs": {k: _finite(v) for k, v in self.pair_trends.items()},
        }


def _finite(value: float) -> float | None:
    """Rounded score, or None (JSON null) when it does not exist."""
    return None if math.isnan(value) else round(value, 6)


@dataclass
class PrivacyReport:
    """Distance-to-closest-record figures and the exact-copy rate."""

    dcr_median: float
    random_dcr_median: float
    dcr_protection: float
    exact_copies: int
    exact_copy_rate: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "dcr_median": _finite(self.dcr_median),
            "random_dcr_median": _finite(self.random_dcr_median),
            "dcr_baseline_protection": _finite(self.dcr_protection),
            "exact_copies": self.exact_copies,
            "exact_copy_rate": round(self.exact_copy_rate, 6),
        }


def _check_tables(real: pa.Table, synthetic: pa.Table) -> None:
    missing = [c for c in real.column_names if c not in synthetic.column_names]
    if missing:
        raise PipelineInputError(
            f"synthetic table lacks column(s) {', '.join(missing)}",
            hint="compare tables with the same columns",
        )
    if real.num_rows == 0 or synthetic.num_rows == 0:
        raise PipelineInputError("cannot score an empty table", hint="give both tables rows")


def _ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    a = np.round(real[~np.isnan(real)], 12)
    b = np.round(synthetic[~np.isnan(synthetic)], 12)
    if a.size == 0 or b.size == 0:
        return float("nan")
    with warnings.catch_warnings():  # the exact method falls back to asymptotic, as in SDMetrics
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(1 - stats.ks_2samp(a, b).statistic)


def _frequencies(values: np.ndarray) -> dict[Any, float]:
    keys, counts = np.unique(
        np.array(["\0null" if v is None else repr(v) for v in values], dtype=object),
        return_counts=True,
    )
    total = counts.sum()
    return {k: c / total for k, c in zip(keys.tolist(), counts.tolist(), strict=True)}


def _tv_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    fr, fs = _frequencies(real), _frequencies(synthetic)
    keys = set(fr) | set(fs)
    return float(1 - 0.5 * sum(abs(fr.get(k, 0.0) - fs.get(k, 0.0)) for k in keys))


def _discretize(numbers: np.ndarray) -> np.ndarray:
    present = numbers[~np.isnan(numbers)]
    if present.size == 0:
        return np.full(numbers.size, "nan", dtype=object)
    edges = np.histogram_bin_edges(present, bins=10)
    return np.asarray(np.digitize(numbers, bins=edges).astype(object))


def _codes(view: ColumnView) -> np.ndarray:
    if view.numbers is not None:
        return _discretize(view.numbers)
    labels = view.labels if view.labels is not None else np.empty(0, dtype=object)
    return np.array(["\0null" if v is None else repr(v) for v in labels], dtype=object)


def _contingency(
    real: tuple[np.ndarray, np.ndarray], synthetic: tuple[np.ndarray, np.ndarray]
) -> float:
    def table(a: np.ndarray, b: np.ndarray) -> dict[tuple[Any, Any], float]:
        keys, counts = np.unique(
            np.array([f"{x}\x1f{y}" for x, y in zip(a, b, strict=True)], dtype=object),
            return_counts=True,
        )
        return {k: c / len(a) for k, c in zip(keys.tolist(), counts.tolist(), strict=True)}

    tr, ts = table(*real), table(*synthetic)
    return float(1 - 0.5 * sum(abs(tr.get(k, 0.0) - ts.get(k, 0.0)) for k in set(tr) | set(ts)))


def _correlation_similarity(
    real: tuple[np.ndarray, np.ndarray], synthetic: tuple[np.ndarray, np.ndarray]
) -> float:
    def pearson(a: np.ndarray, b: np.ndarray) -> float:
        ok = ~np.isnan(a) & ~np.isnan(b)
        if ok.sum() < 2 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
            return float("nan")
        return float(np.corrcoef(a[ok], b[ok])[0, 1])

    r, s = pearson(*real), pearson(*synthetic)
    if np.isnan(r) or np.isnan(s):
        return float("nan")
    return 1 - abs(r - s) / 2


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V of two code arrays (SDMetrics' real-association measure)."""
    from scipy.stats.contingency import association  # type: ignore[import-untyped]  # no stubs shipped

    rows = {v: i for i, v in enumerate(dict.fromkeys(a.tolist()))}
    cols = {v: i for i, v in enumerate(dict.fromkeys(b.tolist()))}
    counts = np.zeros((len(rows), len(cols)), dtype=np.int64)
    np.add.at(counts, ([rows[v] for v in a.tolist()], [cols[v] for v in b.tolist()]), 1)
    if counts.sum() == 0 or min(counts.shape) < 2:
        return float("nan")
    return float(association(counts, method="cramer"))


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = ~np.isnan(a) & ~np.isnan(b)
    if ok.sum() < 2 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def evaluate_quality(
    real: pa.Table,
    synthetic: pa.Table,
    *,
    sdtypes: Mapping[str, str] | None = None,
    correlation_threshold: float = 0.5,
    association_threshold: float = 0.3,
) -> QualityReport:
    """Column-shape and column-pair-trend scores of ``synthetic`` against ``real``.

    As SDMetrics' ``QualityReport`` (0.32) does, only pairs that are related
    in the real data count towards the pair-trend score: continuous pairs with
    |Pearson r| above ``correlation_threshold`` and other pairs with Cramér's V
    above ``association_threshold``.  Pass 0 for both to average every pair,
    as older SDMetrics releases did.  Every pair's score is kept in
    ``pair_trends`` either way; ``details['counted_pairs']`` lists those averaged.
    """
    _check_tables(real, synthetic)
    types = infer_sdtypes(real, sdtypes)
    names = [c for c in real.column_names if types[c] != "id"]
    real_views = {c: view_column(real, c, types[c]) for c in names}
    syn_views = {c: view_column(synthetic.select(real.column_names), c, types[c]) for c in names}
    shapes: dict[str, float] = {}
    for c in names:
        r, s = real_views[c], syn_views[c]
        if types[c] in _CONTINUOUS and r.numbers is not None and s.numbers is not None:
            shapes[c] = _ks_complement(r.numbers, s.numbers)
        else:
            shapes[c] = _tv_complement(
                _codes(r) if r.labels is None else r.labels,
                _codes(s) if s.labels is None else s.labels,
            )
    trends: dict[str, float] = {}
    real_codes = {c: _codes(real_views[c]) for c in names}
    syn_codes = {c: _codes(syn_views[c]) for c in names}
    counted: list[str] = []
    for a, b in itertools.combinations(names, 2):
        continuous = types[a] in _CONTINUOUS and types[b] in _CONTINUOUS
        key = f"{a}|{b}"
        ra, rb = real_views[a].numbers, real_views[b].numbers
        if continuous and ra is not None and rb is not None:
            score = _correlation_similarity(
                (ra, rb),
                (syn_views[a].numbers, syn_views[b].numbers),  # type: ignore[arg-type]
            )
            strength = abs(_pearson(ra, rb))
            if (
                not np.isnan(strength) and strength > correlation_threshold
            ) or correlation_threshold <= 0:
                counted.append(key)
        else:
            score = _contingency((real_codes[a], real_codes[b]), (syn_codes[a], syn_codes[b]))
            strength = (
                _cramers_v(real_codes[a], real_codes[b]) if association_threshold > 0 else 1.0
            )
            if (
                not np.isnan(strength) and strength > association_threshold
            ) or association_threshold <= 0:
                counted.append(key)
        trends[key] = score
    shape_values = [v for v in shapes.values() if not np.isnan(v)]
    trend_values = [trends[k] for k in counted if not np.isnan(trends[k])]
    return QualityReport(
        shapes,
        trends,
        float(np.mean(shape_values)) if shape_values else float("nan"),
        float(np.mean(trend_values)) if trend_values else float("nan"),
        {"sdtypes": types, "counted_pairs": counted},
    )


def _distance_matrix_parts(real: pa.Table, types: Mapping[str, str]) -> list[tuple[str, float]]:
    parts = []
    for c in real.column_names:
        if types[c] == "id":
            continue
        view = view_column(real, c, types[c])
        if view.numbers is not None and types[c] in _CONTINUOUS:
            present = view.numbers[~np.isnan(view.numbers)]
            parts.append((c, float(np.ptp(present)) if present.size else 0.0))
        else:
            parts.append((c, -1.0))
    return parts


def _vocab_codes(values: np.ndarray, vocab: dict[str, int]) -> np.ndarray:
    return np.array([vocab.setdefault(repr(v), len(vocab)) for v in values], dtype=np.int64)


def _dcr(
    data: pa.Table, reference: pa.Table, types: Mapping[str, str], chunk: int = 512
) -> np.ndarray:
    """For each row of ``data``, the distance to its closest row of ``reference``."""
    parts = _distance_matrix_parts(reference, types)
    encoded_data, encoded_ref = [], []
    for c, span in parts:
        dv, rv = view_column(data, c, types[c]), view_column(reference, c, types[c])
        if span >= 0 and dv.numbers is not None and rv.numbers is not None:
            encoded_data.append(("num", dv.numbers, span))
            encoded_ref.append(("num", rv.numbers, span))
        else:
            vocab: dict[str, int] = {}
            rc = _vocab_codes(_codes(rv) if rv.labels is None else rv.labels, vocab)
            dc = _vocab_codes(_codes(dv) if dv.labels is None else dv.labels, vocab)
            encoded_data.append(("cat", dc, 0.0))
            encoded_ref.append(("cat", rc, 0.0))
    # NaN handling only for columns that have NaNs (same numbers, fewer passes)
    has_nan = [
        kind == "num" and bool(np.isnan(dvals).any() or np.isnan(rvals).any())
        for (kind, dvals, _), (_, rvals, _) in zip(encoded_data, encoded_ref, strict=True)
    ]
    out = np.empty(data.num_rows)
    for start in range(0, data.num_rows, chunk):
        stop = min(start + chunk, data.num_rows)
        total = np.zeros((stop - start, reference.num_rows))
        for (kind, dvals, span), (_, rvals, _), nan in zip(
            encoded_data, encoded_ref, has_nan, strict=True
        ):
            a = dvals[start:stop, None]
            b = rvals[None, :]
            if kind == "num":
                diff = np.abs(a - b)
                d = (diff > 0).astype(float) if span == 0 else np.minimum(diff / span, 1.0)
                if nan:
                    a_nan, b_nan = np.isnan(a), np.isnan(b)
                    d = np.where(a_nan ^ b_nan, 1.0, d)
                    d = np.where(a_nan & b_nan, 0.0, d)
                total += d
            else:
                total += a != b
        out[start:stop] = (total / max(len(parts), 1)).min(axis=1)
    return out


def _random_like(
    real: pa.Table, types: Mapping[str, str], rows: int, rng: np.random.Generator
) -> pa.Table:
    arrays = {}
    for c in real.column_names:
        view = view_column(real, c, types[c])
        if types[c] == "id":
            arrays[c] = pa.array(np.arange(rows))
            continue
        nulls = rng.random(rows) < float(view.nulls.mean())
        if view.numbers is not None and types[c] in _CONTINUOUS:
            present = view.numbers[~np.isnan(view.numbers)]
            lo, hi = (float(present.min()), float(present.max())) if present.size else (0.0, 0.0)
            values = rng.uniform(lo, hi, size=rows)
            arrays[c] = pa.array(np.where(nulls, np.nan, values), from_pandas=True)
        else:
            labels = view.labels if view.labels is not None else _codes(view)
            choices = sorted({repr(v): v for v in labels if v is not None}.items())
            picks = (
                [choices[i][1] for i in rng.integers(0, len(choices), size=rows)]
                if choices
                else [None] * rows
            )
            arrays[c] = pa.array(
                [None if n else v for v, n in zip(picks, nulls, strict=True)],
                type=real.schema.field(c).type if view.labels is not None else None,
            )
    return pa.table(arrays)


def evaluate_privacy(
    real: pa.Table,
    synthetic: pa.Table,
    *,
    sdtypes: Mapping[str, str] | None = None,
    max_rows: int = 2000,
    seed: int = 0,
) -> PrivacyReport:
    """DCR figures and exact copies of real rows in ``synthetic``.

    Tables larger than ``max_rows`` are subsampled for the DCR (the exact-copy
    count always uses every row).
    """
    from synthetic_pipeline_engine._copula import _row_fingerprints

    _check_tables(real, synthetic)
    synthetic = synthetic.select(real.column_names)
    types = infer_sdtypes(real, sdtypes)
    compared = [c for c in real.column_names if types[c] != "id"]
    known = set(_row_fingerprints(real, compared))
    copies = sum(1 for p in _row_fingerprints(synthetic, compared) if p in known)
    rng = np.random.default_rng(seed)

    def subsample(table: pa.Table) -> pa.Table:
        if table.num_rows <= max_rows:
            return table
        return table.take(pa.array(np.sort(rng.choice(table.num_rows, max_rows, replace=False))))

    real_s, syn_s = subsample(real), subsample(synthetic)
    random_table = _random_like(real_s, types, syn_s.num_rows, rng)
    syn_median = float(np.median(_dcr(syn_s, real_s, types)))
    random_median = float(np.median(_dcr(random_table, real_s, types)))
    protection = min(syn_median / random_median, 1.0) if random_median > 0 else float("nan")
    return PrivacyReport(syn_median, random_median, protection, copies, copies / synthetic.num_rows)

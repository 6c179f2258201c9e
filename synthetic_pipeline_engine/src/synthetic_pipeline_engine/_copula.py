"""A Gaussian-copula synthesizer fitted on a real table.

The model SDV's ``GaussianCopulaSynthesizer`` popularised, with two changes
that matter on small tables:

* marginals are the *empirical* distributions (interpolated between observed
  values for continuous columns, exact frequencies for discrete ones) rather
  than a best-fit parametric family, so column shapes are kept without
  guessing a distribution;
* missing values get their own latent variable (as SDV does) and the latent
  correlation matrix is estimated from pairwise-complete normal scores, then
  projected to the nearest valid correlation matrix, so "salary is null
  exactly when placed is false" survives.

Categories map to intervals of [0, 1] in order of frequency (SDV's
``UniformEncoder``).  Sampling draws correlated normals, maps them through
each marginal's inverse CDF, and re-draws any row that would exactly copy a
real row, so the synthesizer never leaks a training record verbatim.
The fitted model is plain JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped
import pyarrow.compute  # type: ignore[import-untyped]  # no stubs shipped
from scipy import special  # type: ignore[import-untyped]  # no stubs shipped

from synthetic_pipeline_engine._tabular import infer_sdtypes, view_column
from synthetic_pipeline_engine.errors import PipelineInputError, PipelineModelError

__all__ = ["Candidates", "GaussianCopula"]

FORMAT = "spe-gaussian-copula/1"
_MAX_QUANTILES = 2000
_DISCRETE_LIMIT = 25
DEFAULT_SMOOTHING = 1.0
DEFAULT_SHRINKAGE = 0.1
PRIVATE_SHARE = 0.52  # far rows in a private sample (the median must land beyond the threshold)
PRIVATE_TEMPERATURE = 1.3  # latent scale of the private preset's far-row proposal
PRESETS: dict[str, dict[str, Any]] = {
    # best fidelity; zero exact copies still guaranteed by sampling
    "fidelity": {"smoothing": DEFAULT_SMOOTHING, "shrinkage": DEFAULT_SHRINKAGE, "jitter": False},
    # the same model, sampled through the median-calibrated DCR filter
    # (_dcr_filter): DCR protection >= 0.7 at a few points of fidelity;
    # sampling then needs the real table
    "private": {
        "smoothing": DEFAULT_SMOOTHING,
        "shrinkage": DEFAULT_SHRINKAGE,
        "jitter": False,
        "keep_away": True,
    },
}


def _position(rng: np.random.Generator, size: int, jitter: bool) -> np.ndarray:
    """Where in its interval a discrete value's latent uniform sits.

    By default the middle: unlike a random point (SDV's choice, ``jitter``),
    midpoints keep two discrete columns that determine each other perfectly
    correlated in the latent space, so "salary is null exactly when placed is
    false" survives sampling.  Jitter blurs such links, which helps privacy.
    """
    if jitter:
        return rng.random(size)
    return np.full(size, 0.5)


def _ndtri(u: np.ndarray) -> np.ndarray:
    return np.asarray(special.ndtri(np.clip(u, 1e-9, 1 - 1e-9)))


def _ndtr(z: np.ndarray) -> np.ndarray:
    return np.asarray(special.ndtr(z))


def _quantile_curve(q: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The inverse CDF through sorted values ``q`` at ``u``.

    ``q[i]`` sits at (i + 0.5) / n, flat beyond the first and last; linear
    in between.  The knots are evenly spaced, so the segment is found by
    arithmetic rather than the binary search of ``np.interp`` (twice as fast,
    same values to rounding).
    """
    n = q.size
    if n < 2:
        return np.full(u.shape, q[0] if n else np.nan)
    position = np.clip(u * n - 0.5, 0.0, n - 1.0)
    index = np.minimum(position.astype(np.intp), n - 2)
    low = q[index]
    return np.asarray(low + (position - index) * (q[index + 1] - low))


def _correlate(z: np.ndarray, chol: np.ndarray, block: int = 512) -> np.ndarray:
    """``z @ chol.T`` in row blocks.

    The product is tiny per row; on the whole array OpenBLAS spreads it over
    threads, which on a busy machine made it 10x slower (1-3 µs a row
    instead of 0.1).  Blocks of 512 rows stay on one thread, same result.
    """
    out = np.empty((z.shape[0], chol.shape[0]))
    for start in range(0, z.shape[0], block):
        np.matmul(z[start : start + block], chol.T, out=out[start : start + block])
    return out


def _decimals(values: np.ndarray) -> int | None:
    for digits in range(0, 7):
        if np.allclose(values, np.round(values, digits), atol=1e-9, rtol=0):
            return digits
    return None


def _nearest_correlation(matrix: np.ndarray) -> np.ndarray:
    """Clip negative eigenvalues and rescale to a unit diagonal."""
    sym = (matrix + matrix.T) / 2
    values, vectors = np.linalg.eigh(sym)
    fixed = (vectors * np.clip(values, 1e-6, None)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    out = fixed / np.outer(scale, scale)
    np.fill_diagonal(out, 1.0)
    return np.asarray(out, dtype=np.float64)


def _pairwise_correlation(z: np.ndarray) -> np.ndarray:
    """Pearson correlation of columns with NaN, over pairwise-complete rows."""
    d = z.shape[1]
    valid = ~np.isnan(z)
    filled = np.where(valid, z, 0.0)
    out = np.eye(d)
    for i in range(d):
        for j in range(i + 1, d):
            both = valid[:, i] & valid[:, j]
            if both.sum() < 3:
                continue
            a = filled[both, i]
            b = filled[both, j]
            sa, sb = a.std(), b.std()
            if sa == 0 or sb == 0:
                continue
            out[i, j] = out[j, i] = float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))
    return out


@dataclass
class Candidates:
    """Drawn rows as arrays, before they become an Arrow table.

    ``values`` holds, per modelled column, category indices (categorical
    columns) or numbers as stored (numeric and datetime ones); ``nulls`` the
    null mask of columns that can be null.
    """

    rows: int
    values: dict[str, np.ndarray]
    nulls: dict[str, np.ndarray]

    def take(self, index: np.ndarray) -> Candidates:
        return Candidates(
            int(index.size),
            {k: v[index] for k, v in self.values.items()},
            {k: v[index] for k, v in self.nulls.items()},
        )

    @staticmethod
    def concat(parts: list[Candidates]) -> Candidates:
        first = parts[0]
        return Candidates(
            sum(p.rows for p in parts),
            {k: np.concatenate([p.values[k] for p in parts]) for k in first.values},
            {k: np.concatenate([p.nulls[k] for p in parts]) for k in first.nulls},
        )


@dataclass
class GaussianCopula:
    """A fitted model; build it with :meth:`fit`, use :meth:`sample`, persist with :meth:`save`."""

    columns: list[dict[str, Any]]
    correlation: np.ndarray
    variables: list[str]
    fingerprints: list[str] = field(default_factory=list)
    rows: int = 0
    privacy: dict[str, Any] | None = None  # DistanceFilter settings (private preset)
    # where the training table was (path, BLAKE3 of the file), so the CLI can
    # sample a private model without --real; never the rows themselves
    source: dict[str, str] | None = None

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(
        cls,
        table: pa.Table,
        *,
        sdtypes: Mapping[str, str] | None = None,
        seed: int = 0,
        smoothing: float = DEFAULT_SMOOTHING,
        shrinkage: float = DEFAULT_SHRINKAGE,
        jitter: bool = False,
        keep_away: bool = False,
    ) -> GaussianCopula:
        """Fit marginals and the latent correlation on ``table``.

        Args:
            table: the real data.
            sdtypes: column sdtypes where the guess from Arrow types is wrong
                (``{"student_id": "id"}``).
            seed: for the random tie-breaking inside category intervals.
            smoothing: kernel bandwidth for continuous columns, as a multiple
                of Silverman's rule; 0 resamples the empirical distribution.
                It moves synthetic values away from the real ones (privacy)
                at a small cost in column shape.
            shrinkage: pulls the latent correlation towards independence
                (0 keeps it, 1 removes it); the other privacy/fidelity knob.
            jitter: place discrete values at random points of their latent
                interval (as SDV does) instead of the midpoint; weaker links
                between discrete columns, more distance from real rows.
            keep_away: sample through the median-calibrated DCR filter
                (:mod:`._dcr_filter`); :meth:`sample` then needs the real table.

        Raises:
            PipelineInputError: the table is empty or has no modellable column.
        """
        if table.num_rows < 2:
            raise PipelineInputError(
                "cannot fit a synthesizer on fewer than 2 rows", hint="give it a real table"
            )
        types = infer_sdtypes(table, sdtypes)
        rng = np.random.default_rng(seed)
        n = table.num_rows
        columns: list[dict[str, Any]] = []
        latent: list[np.ndarray] = []
        variables: list[str] = []
        for name in table.column_names:
            sdtype = types[name]
            view = view_column(table, name, sdtype)
            arrow_type = str(table.schema.field(name).type)
            spec: dict[str, Any] = {"name": name, "sdtype": sdtype, "arrow_type": arrow_type}
            nulls = view.nulls
            spec["null_rate"] = float(nulls.mean())
            if sdtype == "id":
                if view.numbers is not None or pa.types.is_integer(table.schema.field(name).type):
                    values = np.asarray(
                        table.column(name).to_numpy(zero_copy_only=False), dtype=np.int64
                    )
                    spec["next_id"] = int(values.max()) + 1
                else:
                    spec["next_id"] = 0
                columns.append(spec)
                continue
            if view.numbers is not None:
                present = view.numbers[~nulls]
                if present.size == 0:
                    spec["kind"] = "empty"
                    columns.append(spec)
                    continue
                uniques = np.unique(present)
                discrete = uniques.size <= _DISCRETE_LIMIT
                spec["discrete"] = bool(discrete)
                spec["decimals"] = _decimals(present)
                if discrete:
                    counts = np.array(
                        [np.count_nonzero(present == v) for v in uniques], dtype=np.float64
                    )
                    spec["values"] = uniques.tolist()
                    spec["cdf"] = (np.cumsum(counts) / counts.sum()).tolist()
                    lower = np.concatenate([[0.0], spec["cdf"][:-1]])
                    index = np.searchsorted(uniques, present)
                    u = lower[index] + _position(rng, present.size, jitter) * (
                        np.asarray(spec["cdf"])[index] - lower[index]
                    )
                else:
                    ordered = np.sort(present)
                    spec["all_values"] = bool(ordered.size <= _MAX_QUANTILES)
                    if ordered.size > _MAX_QUANTILES:
                        ordered = np.quantile(ordered, np.linspace(0, 1, _MAX_QUANTILES))
                    spec["quantiles"] = ordered.tolist()
                    spread = float(
                        min(
                            present.std(),
                            (np.quantile(present, 0.75) - np.quantile(present, 0.25)) / 1.349
                            or present.std(),
                        )
                    )
                    spec["bandwidth"] = float(smoothing * 0.9 * spread * present.size**-0.2)
                    spec["min"], spec["max"] = float(present.min()), float(present.max())
                    ranks = np.argsort(
                        np.argsort(
                            present + rng.random(present.size) * 1e-9 * (np.ptp(present) or 1)
                        )
                    )
                    u = (ranks + 0.5) / present.size
                z = np.full(n, np.nan)
                z[~nulls] = _ndtri(u)
            else:
                labels = view.labels if view.labels is not None else np.empty(0, dtype=object)
                present_labels = [
                    v for v, missing in zip(labels, nulls, strict=True) if not missing
                ]
                if not present_labels:
                    spec["kind"] = "empty"
                    columns.append(spec)
                    continue
                tally: dict[Any, int] = {}
                for value in present_labels:
                    tally[value] = tally.get(value, 0) + 1
                categories = sorted(tally, key=lambda v: (-tally[v], str(v)))
                probs = np.array([tally[c] for c in categories], dtype=np.float64)
                cdf = np.cumsum(probs) / probs.sum()
                spec["categories"] = [
                    c if isinstance(c, bool | int | float | str) else str(c) for c in categories
                ]
                spec["cdf"] = cdf.tolist()
                lower = np.concatenate([[0.0], cdf[:-1]])
                position = {c: i for i, c in enumerate(categories)}
                index = np.array([position[v] for v in present_labels])
                u = lower[index] + _position(rng, index.size, jitter) * (cdf[index] - lower[index])
                z = np.full(n, np.nan)
                z[~nulls] = _ndtri(u)
            spec["variable"] = len(variables)
            variables.append(name)
            latent.append(z)
            if 0 < spec["null_rate"] < 1:
                indicator = np.where(nulls, 1.0, 0.0)
                p = spec["null_rate"]
                u_null = np.where(
                    nulls,
                    (1 - p) + _position(rng, n, jitter) * p,
                    _position(rng, n, jitter) * (1 - p),
                )
                spec["null_variable"] = len(variables)
                variables.append(f"{name}.__null__")
                latent.append(_ndtri(u_null))
                del indicator
            columns.append(spec)
        if not 0 <= shrinkage <= 1 or smoothing < 0:
            raise PipelineInputError(
                "shrinkage must be in [0, 1] and smoothing >= 0",
                hint="e.g. smoothing 1.0, shrinkage 0.1",
            )
        if latent:
            raw = _pairwise_correlation(np.column_stack(latent))
            correlation = _nearest_correlation(
                (1 - shrinkage) * raw + shrinkage * np.eye(len(variables))
            )
        else:
            correlation = np.eye(0)
        model = cls(columns, correlation, variables, rows=n)
        if keep_away:
            model.privacy = cls._private_filter(
                table, sdtypes, seed, smoothing, np.eye(0) if not latent else raw
            )
        # only digests of real rows are kept: the model file never holds a real row verbatim
        model.fingerprints = sorted(_digests(_row_fingerprints(table, model.compared_columns())))
        return model

    @classmethod
    def _private_filter(
        cls,
        table: pa.Table,
        sdtypes: Mapping[str, str] | None,
        seed: int,
        smoothing: float,
        raw: np.ndarray,
    ) -> dict[str, Any]:
        """The ``private`` preset's DCR filter settings, with its two proposal models.

        Far rows are rare in the model itself (about 7% of draws on
        ``student_placements``), so rejection from it needs ~7 candidates per
        far row.  They are drawn instead from a looser variant with the same
        marginals: correlations fitted with random positions inside category
        intervals (``jitter``), shrunk halfway to independence, latent normals
        scaled by 1.3.  About 39% of its draws are far, and the far ones keep
        the column shapes; the near rows come from the unshrunk correlation,
        which makes up most of the pair-trend fidelity the looser far rows
        cost (docs/BENCHMARKS.md has the trade-off runs).
        """
        from synthetic_pipeline_engine._dcr_filter import DistanceFilter

        if raw.size == 0:
            return DistanceFilter(share=PRIVATE_SHARE).as_dict()
        loose = cls.fit(
            table, sdtypes=sdtypes, seed=seed, smoothing=smoothing, shrinkage=0.5, jitter=True
        )
        return DistanceFilter(
            share=PRIVATE_SHARE,
            far_correlation=tuple(tuple(float(v) for v in r) for r in loose.correlation),
            far_temperature=PRIVATE_TEMPERATURE,
            near_correlation=tuple(tuple(float(v) for v in r) for r in _nearest_correlation(raw)),
        ).as_dict()

    def compared_columns(self) -> list[str]:
        """Columns compared when checking for copies of real rows (ids excluded)."""
        return [c["name"] for c in self.columns if c["sdtype"] != "id"]

    # ------------------------------------------------------------------ sample
    def sample(
        self,
        rows: int,
        *,
        seed: int = 0,
        allow_copies: bool = False,
        real: pa.Table | None = None,
    ) -> pa.Table:
        """Draw ``rows`` synthetic rows; no row equals a training row unless ``allow_copies``.

        A model fitted with ``keep_away`` (the ``private`` preset) samples
        through its DCR filter, which measures candidates against ``real``,
        the table it was fitted on.

        Raises:
            PipelineInputError: a private model without ``real``.
            PipelineModelError: copies or the DCR target could not be avoided.
        """
        if self.privacy is not None and not allow_copies:
            if real is None:
                raise PipelineInputError(
                    "this model was fitted with the private preset: sampling needs the real table",
                    hint="pass the table it was fitted on (spe sample ... --real TABLE)",
                )
            from synthetic_pipeline_engine._dcr_filter import DistanceFilter

            if rows < 0:
                raise PipelineInputError("rows must be non-negative", hint="pass -n 1000")
            return DistanceFilter.from_dict(self.privacy).sample(self, real, rows, seed=seed)
        return self.draw(rows, seed=seed, allow_copies=allow_copies)

    def draw(self, rows: int, *, seed: int = 0, allow_copies: bool = False) -> pa.Table:
        """Rows from the copula, copies of training rows re-drawn; no DCR filter."""
        if rows < 0:
            raise PipelineInputError("rows must be non-negative", hint="pass -n 1000")
        return self.draw_guarded(rows, np.random.default_rng(seed), allow_copies=allow_copies)

    def draw_guarded(
        self,
        rows: int,
        rng: np.random.Generator,
        *,
        correlation: np.ndarray | None = None,
        allow_copies: bool = False,
    ) -> pa.Table:
        """:meth:`draw` from ``rng``, optionally with another latent ``correlation``."""
        table = self.materialize(self.draw_candidates(rows, rng, correlation=correlation))
        if allow_copies:
            return table
        return self.redraw_copies(table, rng, correlation=correlation)

    def redraw_copies(
        self, table: pa.Table, rng: np.random.Generator, *, correlation: np.ndarray | None = None
    ) -> pa.Table:
        """``table`` with every row equal to a training row replaced by a fresh draw.

        Raises:
            PipelineModelError: copies keep coming back after 50 redraws.
        """
        if table.num_rows == 0 or not self.fingerprints:
            return table
        known = set(self.fingerprints)
        for _ in range(50):
            copies = self._copies(table, known)
            if not copies.any():
                return table
            fresh = self.materialize(
                self.draw_candidates(int(copies.sum()), rng, correlation=correlation)
            )
            table = _replace_rows(table, np.flatnonzero(copies), fresh)
        raise PipelineModelError(
            "could not avoid copying real rows after 50 redraws",
            hint="the table is too small or too discrete to synthesise privately; add columns or rows",
        )

    def _copies(self, table: pa.Table, known: set[str]) -> np.ndarray:
        """Mask of rows equal to a training row.

        A row can only be a copy if its value in the most continuous column
        is one of the real values (kept in that column's marginal), so only
        those candidates are fingerprinted.
        """
        import polars as pl

        mask = np.zeros(table.num_rows, dtype=bool)
        candidates = np.arange(table.num_rows)
        # usable only when the marginal holds every real value of the column
        continuous = [c for c in self.columns if "quantiles" in c and c.get("all_values")]
        if continuous:
            widest = max(continuous, key=lambda c: len(c["quantiles"]))
            column = pl.Series(table.column(widest["name"])).cast(pl.Float64)
            real_values = pl.Series(widest["quantiles"], dtype=pl.Float64)
            hit = column.is_in(real_values.implode()) | column.is_null()
            candidates = np.flatnonzero(hit.to_numpy())
        if candidates.size:
            subset = table.take(pa.array(candidates))
            prints = _digests(_row_fingerprints(subset, self.compared_columns()))
            mask[candidates] = np.array([p in known for p in prints], dtype=bool)
        return mask

    def _draw(self, rows: int, rng: np.random.Generator) -> pa.Table:
        return self.materialize(self.draw_candidates(rows, rng))

    def draw_candidates(
        self,
        rows: int,
        rng: np.random.Generator,
        *,
        correlation: np.ndarray | None = None,
        temperature: float = 1.0,
    ) -> Candidates:
        """Rows from the copula as NumPy arrays, not yet Arrow columns.

        Filters (:mod:`._dcr_filter`) look at many more candidates than they
        keep; building Arrow columns only for the kept ones is what makes that
        cheap.  ``correlation`` and ``temperature`` (a scale on the latent
        normals) draw from a variant of the model with the same marginals.
        Values are exactly what :meth:`materialize` stores (rounded to the
        column's decimals and Arrow type), so distances measured on them are
        distances of the final rows.
        """
        d = len(self.variables)
        z = np.zeros((rows, d))
        if d:
            matrix = self.correlation if correlation is None else correlation
            chol = np.linalg.cholesky(matrix + np.eye(d) * 1e-10)
            z = _correlate(rng.standard_normal((rows, d)), chol)
            if temperature != 1.0:
                z *= temperature
        values: dict[str, np.ndarray] = {}
        nulls: dict[str, np.ndarray] = {}
        for spec in self.columns:
            if spec["sdtype"] == "id" or spec.get("kind") == "empty":
                continue
            values[spec["name"]] = self._column_values(spec, z, rows, rng)
            if "null_variable" in spec:
                # u >= 1 - rate, compared on the normal scale (no CDF per row)
                cut = float(special.ndtri(1 - float(spec["null_rate"])))
                nulls[spec["name"]] = z[:, spec["null_variable"]] >= cut
        return Candidates(rows, values, nulls)

    def materialize(self, candidates: Candidates) -> pa.Table:
        """The Arrow table of ``candidates`` (fresh ids for id columns)."""
        rows = candidates.rows
        arrays: dict[str, pa.Array] = {}
        for spec in self.columns:
            arrow_type = _arrow_type(spec["arrow_type"])
            name = spec["name"]
            if spec["sdtype"] == "id":
                arrays[name] = self._ids(spec, rows)
                continue
            if spec.get("kind") == "empty":
                arrays[name] = pa.nulls(rows, type=arrow_type)
                continue
            drawn = candidates.values[name]
            if "categories" in spec:
                values: pa.Array = pa.array(
                    spec["categories"],
                    type=arrow_type if not pa.types.is_dictionary(arrow_type) else None,
                ).take(pa.array(drawn))
            else:
                values = _numbers_to_arrow(drawn, arrow_type)
            if name in candidates.nulls:
                values = pa.compute.if_else(
                    pa.array(candidates.nulls[name]), pa.scalar(None, type=values.type), values
                )
            arrays[name] = values
        return pa.table(arrays)

    def _ids(self, spec: dict[str, Any], rows: int) -> pa.Array:
        arrow_type = _arrow_type(spec["arrow_type"])
        start = int(spec.get("next_id", 0))
        ids = np.arange(start, start + rows, dtype=np.int64)
        spec["next_id"] = start + rows  # ids stay unique across calls
        if pa.types.is_integer(arrow_type):
            return pa.array(ids).cast(arrow_type)
        return pa.array([f"syn-{i}" for i in ids], type=arrow_type)

    def _column_values(
        self, spec: Mapping[str, Any], z: np.ndarray, rows: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Category indices (categorical columns) or final numbers (numeric ones).

        ``z`` holds the latent normals; discrete columns compare them with the
        normal quantiles of their CDF steps, so only continuous columns pay
        for the normal CDF.
        """
        column_z = z[:, spec["variable"]]
        if "categories" in spec or spec["discrete"]:
            steps = special.ndtri(np.asarray(spec["cdf"], dtype=np.float64))
            index = np.searchsorted(steps, column_z, side="right")
            if "categories" in spec:
                return np.asarray(index.clip(0, len(spec["categories"]) - 1), dtype=np.int64)
            numbers = np.asarray(spec["values"], dtype=np.float64)[
                index.clip(0, len(spec["values"]) - 1)
            ]
        else:
            column_u = _ndtr(column_z)
            numbers = _quantile_curve(np.asarray(spec["quantiles"], dtype=np.float64), column_u)
            bandwidth = float(spec.get("bandwidth", 0.0))
            if bandwidth > 0:
                numbers = np.clip(
                    numbers + rng.normal(0.0, bandwidth, size=rows), spec["min"], spec["max"]
                )
            if spec.get("decimals") is not None:
                numbers = np.round(numbers, int(spec["decimals"]))
        return _as_stored(numbers, _arrow_type(spec["arrow_type"]))

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "rows": self.rows,
            "columns": self.columns,
            "variables": self.variables,
            "correlation": self.correlation.tolist(),
            "fingerprints": self.fingerprints,
            **({"privacy": self.privacy} if self.privacy is not None else {}),
            **({"source": self.source} if self.source is not None else {}),
        }

    def save(self, path: str | Path) -> None:
        """Write the model as JSON (atomically)."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            tmp.write_text(json.dumps(self.to_dict(), default=_json_default), encoding="utf-8")
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise PipelineModelError(
                f"cannot write model {str(target)!r}: {exc.strerror}",
                path=str(target),
                hint="check the directory",
            ) from exc

    @classmethod
    def from_dict(cls, data: object) -> GaussianCopula:
        """Rebuild a model from :meth:`to_dict` output; raises :class:`PipelineInputError` if malformed."""
        try:
            return cls(*_parse_model(data))
        except (KeyError, TypeError, ValueError, np.linalg.LinAlgError) as exc:
            raise PipelineInputError(
                f"not a valid synthesizer model: {exc}",
                hint="fit one with 'spe fit TABLE -o MODEL'",
            ) from None

    @classmethod
    def load(cls, path: str | Path) -> GaussianCopula:
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PipelineInputError(
                f"model {str(source)!r} does not exist",
                path=str(source),
                hint="fit one with 'spe fit TABLE -o MODEL'",
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PipelineInputError(
                f"model {str(source)!r} is not readable JSON: {exc}",
                path=str(source),
                hint="fit it again",
            ) from None
        return cls.from_dict(data)


def _parse_model(
    data: object,
) -> tuple[
    list[dict[str, Any]],
    np.ndarray,
    list[str],
    list[str],
    int,
    dict[str, Any] | None,
    dict[str, str] | None,
]:
    """Check a model document; raises ValueError (or KeyError/TypeError) when malformed."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} model")
    variables = [str(v) for v in data["variables"]]
    correlation = np.asarray(data["correlation"], dtype=np.float64).reshape(
        len(variables), len(variables)
    )
    if not np.all(np.isfinite(correlation)):
        raise ValueError("correlation has non-finite entries")
    columns = [dict(c) for c in data["columns"]]
    for spec in columns:
        _arrow_type(str(spec["arrow_type"]))
        if "variable" in spec and not 0 <= int(spec["variable"]) < len(variables):
            raise ValueError("variable index out of range")
        if "null_variable" in spec and not 0 <= int(spec["null_variable"]) < len(variables):
            raise ValueError("null variable index out of range")
        if (
            spec.get("sdtype") != "id"
            and spec.get("kind") != "empty"
            and not ({"categories", "values", "quantiles"} & set(spec))
        ):
            raise ValueError(f"column {spec.get('name')!r} has no marginal")
        if "variable" not in spec and spec.get("sdtype") != "id" and spec.get("kind") != "empty":
            raise ValueError(f"column {spec.get('name')!r} has no latent variable")
    np.linalg.cholesky(correlation + np.eye(len(variables)) * 1e-10)
    fingerprints = [str(f) for f in data.get("fingerprints", [])]
    privacy = data.get("privacy")
    if privacy is not None:
        from synthetic_pipeline_engine._dcr_filter import DistanceFilter

        if not isinstance(privacy, Mapping):
            raise ValueError("privacy must be a mapping")
        settings = DistanceFilter.from_dict(privacy)
        for matrix in (settings.far_correlation, settings.near_correlation):
            if matrix is not None and len(matrix) != len(variables):
                raise ValueError("privacy filter correlation does not match the variables")
        privacy = settings.as_dict()
    source = data.get("source")
    if source is not None:
        if not isinstance(source, Mapping) or not all(
            isinstance(source.get(k), str) for k in ("path", "blake3")
        ):
            raise ValueError("source must name the training table's path and blake3")
        source = {"path": source["path"], "blake3": source["blake3"]}
    rows = int(data.get("rows", 0))
    return columns, correlation, variables, fingerprints, rows, privacy, source


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


_TYPES = {
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint8": pa.uint8(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "uint64": pa.uint64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "large_string": pa.large_string(),
    "date32[day]": pa.date32(),
    "date64[ms]": pa.date64(),
    "timestamp[s]": pa.timestamp("s"),
    "timestamp[ms]": pa.timestamp("ms"),
    "timestamp[us]": pa.timestamp("us"),
    "timestamp[ns]": pa.timestamp("ns"),
}


def _arrow_type(name: str) -> pa.DataType:
    if name in _TYPES:
        return _TYPES[name]
    if name.startswith("timestamp["):
        return pa.timestamp("us")
    if name.startswith("dictionary<"):
        return pa.string()
    raise ValueError(f"unsupported column type {name!r}")


def _as_stored(numbers: np.ndarray, arrow_type: pa.DataType) -> np.ndarray:
    """``numbers`` as the Arrow column will hold them (whole for integer-backed types)."""
    if (
        pa.types.is_integer(arrow_type)
        or pa.types.is_timestamp(arrow_type)
        or pa.types.is_date(arrow_type)
    ):
        return np.asarray(np.rint(numbers), dtype=np.float64)
    if pa.types.is_float32(arrow_type):
        return np.asarray(numbers, dtype=np.float32).astype(np.float64)
    return np.asarray(numbers, dtype=np.float64)


def _numbers_to_arrow(numbers: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    if pa.types.is_integer(arrow_type):
        return pa.array(np.rint(numbers).astype(np.int64)).cast(arrow_type)
    if pa.types.is_timestamp(arrow_type):
        return (
            pa.array(np.rint(numbers).astype(np.int64), type=pa.int64())
            .cast(pa.timestamp("us"))
            .cast(arrow_type)
        )
    if pa.types.is_date(arrow_type):
        return (
            pa.array(np.rint(numbers).astype(np.int32), type=pa.int32())
            .cast(pa.date32())
            .cast(arrow_type)
        )
    return pa.array(numbers.astype(np.float64)).cast(arrow_type)


def _digests(texts: list[str]) -> list[str]:
    """Short BLAKE3 digests of row texts (what a model stores instead of rows)."""
    import blake3

    return [str(blake3.blake3(t.encode()).hexdigest())[:32] for t in texts]


def _row_fingerprints(table: pa.Table, columns: list[str]) -> list[str]:
    """One hashable text per row over ``columns`` (nulls included), for copy detection."""
    import polars as pl

    if not columns:
        return []
    frame = pl.DataFrame(table.select(columns))
    hashed = frame.select(
        pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("\0") for c in columns], separator="\x1f")
    )
    return [str(v) for v in hashed.to_series().to_list()]


def _replace_rows(table: pa.Table, positions: np.ndarray, fresh: pa.Table) -> pa.Table:
    """``table`` with the rows at ``positions`` replaced by ``fresh``'s rows, in order."""
    import polars as pl

    frame = pl.DataFrame(table)
    new = pl.DataFrame(fresh)
    index = pl.Series(positions.astype(np.int64))
    columns = {
        name: frame.get_column(name).scatter(index, new.get_column(name)) for name in frame.columns
    }
    return pl.DataFrame(columns).to_arrow().cast(table.schema)

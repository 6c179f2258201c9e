"""Distance from drawn candidates to their closest real row, answered fast.

The DCR filter (:mod:`._dcr_filter`) has to sort hundreds of thousands of
candidate rows into "at least ``threshold`` from every real row" and "closer
than that".  Measuring every candidate against every real row in every
column (:func:`._quality._dcr`, the reference definition) costs about 15 µs
a candidate on ``student_placements``; this index answers the same question
in a few microseconds, exactly, with two observations:

* **Most columns take few values.**  Categories, booleans, discrete numbers
  (``experience_years``) and the null flags of nullable numbers have a
  handful of values each, so a candidate's distance contribution from all of
  them together depends only on its *pattern* (the tuple of those values).
  Candidates are grouped by pattern; a group's contribution to every real row
  is one small table lookup.
* **Only real rows close on the pattern can be close at all.**  The
  per-column distances are non-negative, so a real row whose pattern part
  alone reaches the threshold can never be the reason a candidate is near.
  The continuous columns (the only per-candidate arithmetic) are measured
  against the remaining real rows only: on ``student_placements`` about a
  quarter of them, and under a tenth for the candidates that turn out far.

The answer is the reference DCR wherever it is below ``threshold``; elsewhere
it is some value at least ``threshold``, and so is the true DCR.  Both hold
up to float32 rounding.  Candidates are expected inside the real columns' ranges (copula
draws are); a value outside is clipped to the range first, which can only
make its distance smaller, so a "far" verdict always holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped

from synthetic_pipeline_engine._tabular import view_column
from synthetic_pipeline_engine.errors import PipelineInputError

if TYPE_CHECKING:
    from synthetic_pipeline_engine._copula import Candidates

__all__ = ["NearestRecords"]

_CONTINUOUS = ("numerical", "datetime")
_BLOCK = 1 << 16  # cells of one candidates x real rows block (stays in cache)


@dataclass
class _KeyColumn:
    """A column a candidate's pattern is made of: key per candidate, contribution per key."""

    name: str
    table: np.ndarray  # (keys, real rows) float32: distance contribution of each key
    kind: str  # "category" | "discrete" | "nullflag" | "empty"
    lookup: np.ndarray | None = None  # the marginal's sorted values (discrete numbers)


@dataclass
class _DenseColumn:
    """A continuous column, measured candidate by candidate."""

    name: str
    low: float
    span: float
    real: np.ndarray  # (real rows,) float32, scaled to [0, 1]; 0 where null
    real_present: np.ndarray | None  # (real rows,) float32 1/0 when the real column has nulls


def _label_key(value: Any) -> str:
    """The reference DCR compares categories by ``repr`` (None included)."""
    return repr(value)


class NearestRecords:
    """The real table encoded once for DCR questions about a model's candidates."""

    def __init__(self, columns: list[dict[str, Any]], real: pa.Table, types: Mapping[str, str]):
        """Encode ``real`` for the model ``columns`` (id columns are not compared).

        ``types`` are the real table's sdtypes; the distance follows the
        reference ``_dcr``: per column |a - b| / range for numerical and
        datetime columns (0/1 when the range is 0), 0/1 for anything else,
        null equal to null and 1 from any value, averaged over the columns.
        """
        self.rows = real.num_rows
        self.keys: list[_KeyColumn] = []
        self.dense: list[_DenseColumn] = []
        self.parts = 0
        for spec in columns:
            name = spec["name"]
            if spec["sdtype"] == "id" or types.get(name) == "id":
                continue
            self.parts += 1
            view = view_column(real, name, types[name])
            numbers = view.numbers if types[name] in _CONTINUOUS else None
            if spec.get("kind") == "empty":  # never drawn: every candidate is null here
                present = ~view.nulls
                self.keys.append(_KeyColumn(name, present[None, :].astype(np.float32), "empty"))
            elif numbers is None:
                self.keys.append(self._category(spec, view.labels))
            else:
                self._numeric(spec, numbers)

    # ------------------------------------------------------------------ encoding
    def _category(self, spec: Mapping[str, Any], labels: np.ndarray | None) -> _KeyColumn:
        if labels is None or "categories" not in spec:
            raise PipelineInputError(
                f"column {spec['name']!r} of the real table does not have the model's type",
                hint="pass the table the model was fitted on",
            )
        real_keys = np.array([_label_key(v) for v in labels], dtype=object)
        keys = [_label_key(c) for c in spec["categories"]] + [_label_key(None)]
        table = np.array([real_keys != k for k in keys], dtype=np.float32)
        return _KeyColumn(spec["name"], table.reshape(len(keys), -1), "category")

    def _numeric(self, spec: Mapping[str, Any], numbers: np.ndarray) -> None:
        name = spec["name"]
        real_null = np.isnan(numbers)
        present = numbers[~real_null]
        low = float(present.min()) if present.size else 0.0
        span = float(np.ptp(present)) if present.size else 0.0
        if "categories" in spec:
            raise PipelineInputError(
                f"column {name!r} of the real table does not have the model's type",
                hint="pass the table the model was fitted on",
            )
        if "values" in spec:  # discrete: every value's distance to every real row, once
            values = np.asarray(spec["values"], dtype=np.float64)
            rows = [self._numeric_distance(v, numbers, low, span) for v in values]
            rows.append((~real_null).astype(np.float64))  # a null candidate
            table = np.asarray(rows, dtype=np.float32)
            self.keys.append(_KeyColumn(name, table, "discrete", values))
            return
        if "null_variable" in spec or real_null.any():
            # candidate present / null: what the nulls contribute (the values come later)
            table = np.stack([real_null, ~real_null]).astype(np.float32)
            self.keys.append(_KeyColumn(name, table, "nullflag"))
        scaled = np.zeros(numbers.size, dtype=np.float32)
        if span > 0:
            scaled[~real_null] = ((present - low) / span).astype(np.float32)
        else:
            scaled[~real_null] = 0.0
        self.dense.append(
            _DenseColumn(
                name,
                low,
                span,
                scaled,
                (~real_null).astype(np.float32) if real_null.any() else None,
            )
        )

    @staticmethod
    def _numeric_distance(value: float, numbers: np.ndarray, low: float, span: float) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            diff = np.abs(value - numbers)
            d = (diff > 0).astype(np.float64) if span == 0 else np.minimum(diff / span, 1.0)
        return np.where(np.isnan(numbers), 1.0, d)

    def _candidate_keys(self, candidates: Candidates) -> list[np.ndarray]:
        out = []
        for column in self.keys:
            if column.kind == "empty":
                out.append(np.zeros(candidates.rows, dtype=np.int64))
                continue
            nulls = candidates.nulls.get(column.name)
            null_key = column.table.shape[0] - 1
            if column.kind == "nullflag":
                key = np.zeros(candidates.rows, dtype=np.int64)
            elif column.kind == "category" or column.lookup is None:
                key = candidates.values[column.name].astype(np.int64)
            else:
                drawn = candidates.values[column.name]
                key = np.searchsorted(column.lookup, drawn).clip(0, column.lookup.size - 1)
                # a value the marginal does not hold (never from the copula): no match
                key = np.where(column.lookup[key] == drawn, key, null_key)
            if nulls is not None:
                key = np.where(nulls, null_key, key)
            out.append(key)
        return out

    # ------------------------------------------------------------------ queries
    def distances(self, candidates: Candidates, threshold: float) -> np.ndarray:
        """Each candidate's DCR where it is below ``threshold``; elsewhere a value >= it.

        (In the second case the true DCR is at least ``threshold`` too; the
        value returned need not be the true one.)
        """
        n = candidates.rows
        out = np.empty(n, dtype=np.float64)
        if n == 0:
            return out
        limit = np.float32(threshold * self.parts)
        keys = self._candidate_keys(candidates)
        grouped = self._grouping(keys)
        pattern = np.zeros(n, dtype=np.int64)
        for i in grouped:
            pattern = pattern * self.keys[i].table.shape[0] + keys[i]
        # within a group, members with equal remaining key columns sit together,
        # so a block of them rules out the same real rows (see _group)
        fine = np.zeros(n, dtype=np.int64)
        bound = 1
        for i in range(len(keys)):
            if i in grouped:
                continue
            width = self.keys[i].table.shape[0]
            if bound * width >= 1 << 62:  # compact before the mixed-radix code overflows
                _, fine = np.unique(fine, return_inverse=True)
                bound = int(fine.max()) + 1
            fine = fine * width + keys[i]
            bound *= width
        order = np.lexsort((fine, pattern))
        ordered = pattern[order]
        starts = np.concatenate([[0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1])
        ends = np.concatenate([starts[1:], [n]])
        heads = order[starts]
        # the grouped columns' part of every group's distance to every real row
        base = np.zeros((starts.size, self.rows), dtype=np.float32)
        for i in grouped:
            base += self.keys[i].table[keys[i][heads]]
        gathered = [(self.keys[i].table, keys[i]) for i in range(len(keys)) if i not in grouped]
        dense_values = [self._scaled(candidates, d) for d in self.dense]
        dense_nulls = [candidates.nulls.get(d.name) for d in self.dense]
        for g in range(starts.size):
            members = order[starts[g] : ends[g]]
            row = base[g]
            near = np.flatnonzero(row < limit)  # other real rows are too far on these columns
            if near.size == 0:
                out[members] = float(row.min()) / self.parts
                continue
            head = heads[g]
            active = [
                (values, column)
                for values, column, nulls in zip(dense_values, self.dense, dense_nulls, strict=True)
                if nulls is None or not nulls[head]  # null flags are part of the pattern
            ]
            out[members] = (
                self._group(members, near, row[near], gathered, active, limit=limit) / self.parts
            )
        return out

    def _grouping(self, keys: list[np.ndarray]) -> list[int]:
        """Key columns to group candidates by: as many as keep groups large.

        Every group costs a few dozen NumPy calls, so groups of a handful of
        candidates would spend more time in Python than in arithmetic; a
        column that would split groups too finely is looked up per candidate
        instead.  Decided on a prefix of the batch.
        """
        probe = min(keys[0].size if keys else 0, 4096)
        most = max(8, probe // 24)
        chosen: list[int] = []
        pattern = np.zeros(probe, dtype=np.int64)
        bound = 1
        for i in sorted(range(len(keys)), key=lambda i: self.keys[i].table.shape[0]):
            width = self.keys[i].table.shape[0]
            if bound * width >= 1 << 62:
                continue
            trial = pattern * width + keys[i][:probe]
            if np.unique(trial).size <= most:
                chosen.append(i)
                pattern, bound = trial, bound * width
        return sorted(chosen)

    @staticmethod
    def _scaled(candidates: Candidates, column: _DenseColumn) -> np.ndarray:
        values = candidates.values[column.name]
        if column.span > 0:
            scaled = np.clip((values - column.low) / column.span, 0.0, 1.0)
        else:
            scaled = np.where(values == column.low, 0.0, 1.0)
        return np.asarray(np.nan_to_num(scaled), dtype=np.float32)

    @staticmethod
    def _group(
        members: np.ndarray,
        near: np.ndarray,
        base: np.ndarray,
        gathered: list[tuple[np.ndarray, np.ndarray]],
        active: list[tuple[np.ndarray, _DenseColumn]],
        *,
        limit: np.float32,
    ) -> np.ndarray:
        """Smallest distance (sum over columns) of each member to the ``near`` real rows.

        Exact where below ``limit``; elsewhere some value at least ``limit``
        (and then so is the true distance).  Per block of members, real rows whose key-column part
        alone reaches ``limit`` for every member are dropped before the
        continuous columns are measured.
        """
        lookups = [(table[:, near], key) for table, key in gathered]
        reals = [
            (
                values,
                column.real[near],
                None if column.real_present is None else column.real_present[near],
            )
            for values, column in active
        ]
        step = max(1, _BLOCK // near.size)
        out = np.empty(members.size, dtype=np.float64)
        total = np.empty((min(step, members.size), near.size), dtype=np.float32)
        work = np.empty_like(total)
        for lo in range(0, members.size, step):
            chunk = members[lo : lo + step]
            acc = total[: chunk.size]
            acc[:] = base
            for table, key in lookups:
                acc += table[key[chunk]]
            if not reals:
                out[lo : lo + chunk.size] = acc.min(axis=1)
                continue
            alive = np.flatnonzero((acc < limit).any(axis=0))
            if alive.size == 0:  # the key columns alone keep every real row away
                out[lo : lo + chunk.size] = acc.min(axis=1)
                continue
            columns = reals
            if alive.size < 0.8 * near.size:
                acc = acc[:, alive]
                columns = [
                    (values, real[alive], None if present is None else present[alive])
                    for values, real, present in reals
                ]
                tmp = np.empty_like(acc)
            else:
                tmp = work[: chunk.size]
            for values, real, present in columns:
                np.subtract(values[chunk, None], real[None, :], out=tmp)
                np.abs(tmp, out=tmp)
                if present is not None:  # null real rows: their 1 is in the pattern part
                    tmp *= present
                acc += tmp
            # dropped real rows are at least ``limit`` away, so a minimum below it is
            # exact, and one at or past it means the true distance is past it too
            out[lo : lo + chunk.size] = acc.min(axis=1)
        return out

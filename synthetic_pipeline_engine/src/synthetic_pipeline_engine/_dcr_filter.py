"""Keeping synthetic rows away from real ones: a median-calibrated DCR filter.

SDMetrics' ``DCRBaselineProtection`` divides the *median* distance from a
synthetic row to its closest real row (DCR) by the same median for
uniformly random rows, capped at 1.  Only the median has to move, not every
row, and that is what this filter exploits:

1. ``share`` of the output (more than half) are *far* rows: candidates at
   least ``target`` times the random baseline away from every real row,
   found by drawing candidates and measuring each exactly against the real
   table (:class:`~synthetic_pipeline_engine._nearest.NearestRecords`, the
   metric's own distance);
2. the rest are ordinary draws (copies of real rows re-drawn).

Rejecting every near candidate instead (the obvious filter) empties the
dense regions the real rows sit in and costs several points of column
shapes and pair trends; keeping the near ones in proportion moves the
median with the least re-weighting.

Far rows are rare in the model itself (about 7% of draws on
``student_placements``), so a model fitted with the ``private`` preset
stores two *proposals* with the same marginals: a looser latent
correlation and scale for the far rows (about 40% of its draws are far),
and the unshrunk correlation for the near share, which gives back most of
the pair-trend fidelity the looser far rows cost.  Models saved without
proposals sample both shares from their own correlation.

The filter needs the real table at sampling time (a fitted model never
holds real rows).  It raises instead of silently returning a less private
sample when not enough far candidates turn up within the allowance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped

from synthetic_pipeline_engine._copula import Candidates
from synthetic_pipeline_engine.errors import PipelineInputError, PipelineModelError

if TYPE_CHECKING:
    from synthetic_pipeline_engine._copula import GaussianCopula
    from synthetic_pipeline_engine._nearest import NearestRecords

__all__ = ["DistanceFilter"]

_MAX_BATCH = 200_000  # candidates drawn at once (bounds memory, ~30 MB on 17 columns)


@dataclass(frozen=True)
class DistanceFilter:
    """Settings of the filter; stored in a model fitted with the ``private`` preset.

    Attributes:
        target: threshold as a fraction of the random rows' median DCR.
        share: fraction of output rows drawn from candidates beyond the threshold
            (above 0.5, so the median lands beyond it).
        oversample: candidates allowed per wanted row per round before giving up.
        rounds: rounds of that allowance.
        baseline_draws: random tables averaged for the baseline median.
        far_correlation: latent correlation the far candidates are drawn with
            (None: the model's own).
        far_temperature: scale on the far candidates' latent normals.
        near_correlation: latent correlation the near candidates are drawn with.
    """

    target: float = 0.75
    share: float = 0.55
    oversample: int = 30
    rounds: int = 5
    baseline_draws: int = 3
    far_correlation: tuple[tuple[float, ...], ...] | None = None
    far_temperature: float = 1.0
    near_correlation: tuple[tuple[float, ...], ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "share": self.share,
            "oversample": self.oversample,
        }
        if self.far_correlation is not None:
            out["far_correlation"] = [list(r) for r in self.far_correlation]
            out["far_temperature"] = self.far_temperature
        if self.near_correlation is not None:
            out["near_correlation"] = [list(r) for r in self.near_correlation]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DistanceFilter:
        """Raises ValueError for settings outside their ranges."""

        def matrix(key: str) -> tuple[tuple[float, ...], ...] | None:
            raw = data.get(key)
            if raw is None:
                return None
            array = np.asarray(raw, dtype=np.float64)
            if array.ndim != 2 or array.shape[0] != array.shape[1]:
                raise ValueError(f"{key} must be a square matrix")
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{key} has non-finite entries")
            np.linalg.cholesky(array + np.eye(array.shape[0]) * 1e-10)  # LinAlgError: ValueError
            return tuple(tuple(float(v) for v in r) for r in array)

        made = cls(
            target=float(data.get("target", cls.target)),
            share=float(data.get("share", cls.share)),
            oversample=int(data.get("oversample", cls.oversample)),
            far_correlation=matrix("far_correlation"),
            far_temperature=float(data.get("far_temperature", 1.0)),
            near_correlation=matrix("near_correlation"),
        )
        if not (
            0 < made.target <= 1
            and 0.5 < made.share <= 1
            and made.oversample >= 1
            and 0.5 <= made.far_temperature <= 3
        ):
            raise ValueError("privacy filter settings out of range")
        return made

    def baseline(self, real: pa.Table, types: Mapping[str, str], seed: int) -> float:
        """The median DCR of uniformly random rows to ``real`` (the metric's denominator)."""
        from synthetic_pipeline_engine._quality import _dcr, _random_like

        rng = np.random.default_rng([seed, 0xDC12])
        medians = [
            float(np.median(_dcr(_random_like(real, types, real.num_rows, rng), real, types)))
            for _ in range(self.baseline_draws)
        ]
        return float(np.mean(medians))

    def sample(
        self, model: GaussianCopula, real: pa.Table, rows: int, *, seed: int = 0
    ) -> pa.Table:
        """``rows`` synthetic rows whose median DCR to ``real`` clears the threshold.

        Raises:
            PipelineInputError: ``real`` does not have the model's columns.
            PipelineModelError: not enough far candidates within the allowance,
                or the stored proposal matrices do not fit the model.
        """
        from synthetic_pipeline_engine._nearest import NearestRecords

        types = {c["name"]: str(c["sdtype"]) for c in model.columns}
        missing = [name for name in types if name not in real.column_names]
        if missing:
            raise PipelineInputError(
                f"the real table lacks the model's column(s) {', '.join(missing)}",
                hint="pass the table the model was fitted on",
            )
        real = real.select(list(types))
        if rows == 0:
            return model.draw(0, seed=seed)
        index = NearestRecords(model.columns, real, types)
        threshold = self.target * self.baseline(real, types, seed)
        want_far = int(np.ceil(self.share * rows))
        rng = np.random.default_rng([seed, 0xF1])
        far = self._collect(
            model,
            index,
            threshold,
            want_far,
            rng,
            correlation=self._matrix(self.far_correlation, model),
            temperature=self.far_temperature,
        )
        # the near share: plain draws; on student_placements 99% of them are
        # nearer than the threshold anyway, so measuring them buys nothing
        near_correlation = self._matrix(self.near_correlation, model)
        near = model.draw_candidates(rows - want_far, rng, correlation=near_correlation)
        both = Candidates.concat([far, near]).take(rng.permutation(rows))
        # far rows cannot be copies; near ones can, and are re-drawn
        return model.redraw_copies(model.materialize(both), rng, correlation=near_correlation)

    @staticmethod
    def _matrix(
        stored: tuple[tuple[float, ...], ...] | None, model: GaussianCopula
    ) -> np.ndarray | None:
        if stored is None:
            return None
        matrix = np.asarray(stored, dtype=np.float64)
        if matrix.shape != model.correlation.shape:
            raise PipelineModelError(
                "the model's privacy filter does not match its variables",
                hint="fit the model again with --preset private",
            )
        return matrix

    def _collect(
        self,
        model: GaussianCopula,
        index: NearestRecords,
        threshold: float,
        wanted: int,
        rng: np.random.Generator,
        *,
        correlation: np.ndarray | None,
        temperature: float,
    ) -> Candidates:
        """``wanted`` candidates at least ``threshold`` from every real row (and no copy).

        Batches are sized from the acceptance rate seen so far, so a few
        rounds suffice; only the kept candidates ever become Arrow rows.
        """
        kept: list[Candidates] = []
        have = drawn = 0
        budget = self.oversample * self.rounds * max(wanted, 1)
        rate = 0.3
        while have < wanted:
            if drawn >= budget:
                raise PipelineModelError(
                    f"only {have} of {wanted} rows could be kept {self.target:g}x the random "
                    "baseline away from the real rows",
                    hint="lower the target, or use the fidelity preset for this table",
                )
            need = wanted - have
            batch = int(min(max(np.ceil(need / max(rate, 1e-3) * 1.1), 256), _MAX_BATCH))
            batch = min(batch, budget - drawn)
            candidates = model.draw_candidates(
                batch, rng, correlation=correlation, temperature=temperature
            )
            drawn += batch
            # exact below the threshold, and exact zeros (copies) even when it is 0
            distance = index.distances(candidates, max(threshold, 1e-9))
            accepted = np.flatnonzero((distance >= threshold) & (distance > 0))
            rate = max(accepted.size / batch, 0.5 * rate)
            take = accepted[:need]
            if take.size:
                kept.append(candidates.take(take))
                have += int(take.size)
        if not kept:
            return model.draw_candidates(0, rng)
        return Candidates.concat(kept)

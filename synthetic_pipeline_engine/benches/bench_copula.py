"""Gaussian copula on student_placements (215 x 17, shipped inside sdmetrics).

Measures fit time, sampling rate, SDMetrics-defined quality (overall, column
shapes, pair trends), DCR privacy and exact copies, for both presets, and
the real-half-vs-real-half noise ceiling.  SDV's GaussianCopulaSynthesizer is
run in the same process when it is importable (it pulls torch: install it
only in a separate bench venv with pip, CPU build, one thread); otherwise its
figures from SYSTEMS.md are printed for reference.

    uv run python synthetic_pipeline_engine/benches/bench_copula.py [--seeds 5]
    uv run python synthetic_pipeline_engine/benches/bench_copula.py --rate-only --seeds 5
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import time
from typing import Any

import numpy as np

from synthetic_pipeline_engine import GaussianCopula, evaluate_privacy, evaluate_quality, read_table
from synthetic_pipeline_engine._copula import PRESETS

SDV_SYSTEMS_MD = {
    "overall": 0.772,
    "column_shapes": 0.844,
    "pair_trends": 0.701,
    "fit_s": 1.9,
    "sample_rows_per_s": 4300,
}


def _sdmetrics_dcr(real: Any, synthetic: Any, types: dict[str, str]) -> float:
    """SDMetrics' own DCRBaselineProtection score (its random baseline, its distance)."""
    from sdmetrics.single_table import DCRBaselineProtection

    metadata = {
        "columns": {
            c: {"sdtype": t, "datetime_format": "%Y-%m-%d"} if t == "datetime" else {"sdtype": t}
            for c, t in types.items()
        }
    }
    result = DCRBaselineProtection.compute_breakdown(
        real.to_pandas(), synthetic.to_pandas(), metadata, None
    )
    return float(result["score"])


def _row(bench: str, unit: str, ours: float, peer: float, *, peer_name: str, better: str) -> None:
    """One line of the bench contract (ratio > 1: ours is better)."""
    ratio = ours / peer if better == "higher" else peer / ours
    print(
        json.dumps(
            {
                "system": "synthetic_pipeline_engine",
                "bench": bench,
                "unit": unit,
                "ours": round(ours, 4),
                "peer": round(peer, 4),
                "peer_name": peer_name,
                "ratio": round(ratio, 2),
            }
        )
    )


def _rates(real: Any, sdtypes: dict[str, str], repeats: int, rows: int) -> None:
    """Sampling rate of both presets, measured alternately so they share the load."""
    models = {
        preset: GaussianCopula.fit(real, sdtypes=sdtypes, seed=0, **knobs)
        for preset, knobs in PRESETS.items()
    }
    for model in models.values():  # warm up (imports, first allocations)
        model.sample(1000, seed=0, real=real)
    rates: dict[str, list[float]] = {preset: [] for preset in models}
    for seed in range(repeats):
        for preset, model in models.items():
            start = time.perf_counter()
            model.sample(rows, seed=seed, real=real)
            rates[preset].append(rows / (time.perf_counter() - start))
    medians = {preset: statistics.median(r) for preset, r in rates.items()}
    print(
        json.dumps(
            {
                "rows": rows,
                "repeats": repeats,
                **{f"{p}_rows_per_s_median": round(m) for p, m in medians.items()},
                **{f"{p}_rows_per_s_min": round(min(rates[p])) for p in rates},
                "private_over_fidelity": round(medians["private"] / medians["fidelity"], 3),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sample-rows", type=int, default=200_000)
    parser.add_argument(
        "--rate-only",
        action="store_true",
        help="only the sampling rates: both presets, interleaved, --seeds repeats",
    )
    args = parser.parse_args()
    import sdmetrics

    from synthetic_pipeline_engine._tabular import infer_sdtypes

    path = (
        pathlib.Path(sdmetrics.__file__).parent
        / "demos"
        / "single_table"
        / "student_placements_real.csv"
    )
    real = read_table(path)
    sdtypes = {"student_id": "id"}
    types = dict(infer_sdtypes(real, sdtypes))
    if args.rate_only:
        _rates(real, sdtypes, args.seeds, args.sample_rows)
        return
    ours: dict[str, dict[str, float]] = {}
    for preset, knobs in PRESETS.items():
        fits, rates, rows = [], [], []
        for seed in range(args.seeds):
            start = time.perf_counter()
            model = GaussianCopula.fit(real, sdtypes=sdtypes, seed=seed, **knobs)
            fits.append(time.perf_counter() - start)
            timed_rows = args.sample_rows
            start = time.perf_counter()
            model.sample(timed_rows, seed=seed, real=real)
            rates.append(timed_rows / (time.perf_counter() - start))
            synthetic = model.sample(real.num_rows, seed=1000 + seed, real=real)
            q = evaluate_quality(real, synthetic, sdtypes=sdtypes)
            p = evaluate_privacy(real, synthetic, sdtypes=sdtypes, seed=seed)
            rows.append(
                (
                    q.overall,
                    q.shapes_score,
                    q.trends_score,
                    p.dcr_protection,
                    _sdmetrics_dcr(real, synthetic, types),
                    p.exact_copies,
                )
            )
        mean = np.mean(rows, axis=0)
        ours[preset] = {
            "overall": float(mean[0]),
            "pair_trends": float(mean[2]),
            "dcr_sdmetrics": float(mean[4]),
            "fit_s": statistics.median(fits),
            "rate": statistics.median(rates),
        }
        print(
            json.dumps(
                {
                    "contender": f"ours[{preset}]",
                    "fit_s_median": round(statistics.median(fits), 4),
                    "sample_rows_per_s_median": round(statistics.median(rates)),
                    "overall": round(float(mean[0]), 4),
                    "column_shapes": round(float(mean[1]), 4),
                    "pair_trends": round(float(mean[2]), 4),
                    "dcr_protection": round(float(mean[3]), 4),
                    "dcr_protection_sdmetrics": round(float(mean[4]), 4),
                    "min_overall": round(float(np.min([r[0] for r in rows])), 4),
                    "min_pair_trends": round(float(np.min([r[2] for r in rows])), 4),
                    "min_dcr_sdmetrics": round(float(np.min([r[4] for r in rows])), 4),
                    "exact_copies_total": int(sum(r[5] for r in rows)),
                }
            )
        )
    ceiling = []
    for seed in range(args.seeds):
        order = np.random.default_rng(seed).permutation(real.num_rows)
        half = real.num_rows // 2
        ceiling.append(
            evaluate_quality(
                real.take(order[:half]), real.take(order[half:]), sdtypes=sdtypes
            ).overall
        )
    print(
        json.dumps(
            {"contender": "real-half vs real-half", "overall": round(float(np.mean(ceiling)), 4)}
        )
    )
    try:
        import torch  # type: ignore[import-not-found]
        from sdv.metadata import Metadata  # type: ignore[import-not-found]
        from sdv.single_table import GaussianCopulaSynthesizer  # type: ignore[import-not-found]

        torch.set_num_threads(1)
    except ImportError:
        print(
            json.dumps(
                {
                    "contender": "sdv GaussianCopula",
                    "source": "SYSTEMS.md (not installed here)",
                    **SDV_SYSTEMS_MD,
                }
            )
        )
        return
    import pyarrow as pa

    frame = real.to_pandas()
    sdv_rows = []
    for seed in range(args.seeds):
        detect = getattr(Metadata, "detect_from_dataframe", None)  # SDV 1.x
        if detect is not None:
            metadata = detect(frame, table_name="student_placements")
        else:  # SDV 2.x
            metadata = Metadata.detect_from_dataframes({"student_placements": frame})
        metadata.update_column("student_id", sdtype="id", table_name="student_placements")
        start = time.perf_counter()
        synth = GaussianCopulaSynthesizer(metadata)
        synth.fit(frame if detect is not None else {"student_placements": frame})
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        sample = synth.sample(20_000)
        rate = 20_000 / (time.perf_counter() - start)
        drawn = synth.sample(real.num_rows)
        if isinstance(drawn, dict):  # SDV 2.x returns {table: frame}
            drawn = drawn["student_placements"]
        synthetic = pa.Table.from_pandas(drawn, preserve_index=False).cast(real.schema)
        q = evaluate_quality(real, synthetic, sdtypes=sdtypes)
        p = evaluate_privacy(real, synthetic, sdtypes=sdtypes, seed=seed)
        sdv_rows.append(
            (
                q.overall,
                q.trends_score,
                _sdmetrics_dcr(real, synthetic, types),
                p.exact_copies,
                fit_s,
                rate,
            )
        )
        del sample
    sdv = np.mean(sdv_rows, axis=0)
    print(
        json.dumps(
            {
                "contender": "sdv GaussianCopula",
                "overall": round(float(sdv[0]), 4),
                "pair_trends": round(float(sdv[1]), 4),
                "dcr_protection_sdmetrics": round(float(sdv[2]), 4),
                "exact_copies_total": int(sum(r[3] for r in sdv_rows)),
                "fit_s_median": round(statistics.median(r[4] for r in sdv_rows), 3),
                "sample_rows_per_s_median": round(statistics.median(r[5] for r in sdv_rows)),
            }
        )
    )
    name = "SDV GaussianCopula"
    for preset in ours:
        _row(
            f"student_placements quality [{preset}]",
            "overall %",
            100 * ours[preset]["overall"],
            100 * float(sdv[0]),
            peer_name=name,
            better="higher",
        )
        _row(
            f"student_placements pair trends [{preset}]",
            "%",
            100 * ours[preset]["pair_trends"],
            100 * float(sdv[1]),
            peer_name=name,
            better="higher",
        )
        _row(
            f"student_placements DCR protection [{preset}]",
            "sdmetrics score",
            ours[preset]["dcr_sdmetrics"],
            float(sdv[2]),
            peer_name=name,
            better="higher",
        )
    _row(
        "student_placements fit",
        "s",
        ours["fidelity"]["fit_s"],
        statistics.median(r[4] for r in sdv_rows),
        peer_name=name,
        better="lower",
    )
    _row(
        "student_placements sampling [private]",
        "rows/s",
        ours["private"]["rate"],
        statistics.median(r[5] for r in sdv_rows),
        peer_name=name,
        better="higher",
    )
    _row(
        "student_placements sampling",
        "rows/s",
        ours["fidelity"]["rate"],
        statistics.median(r[5] for r in sdv_rows),
        peer_name=name,
        better="higher",
    )


if __name__ == "__main__":
    main()

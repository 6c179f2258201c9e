"""Gaussian copula on student_placements (215 x 17, shipped inside sdmetrics).

Measures fit time, sampling rate, SDMetrics-defined quality (overall, column
shapes, pair trends), DCR privacy and exact copies, for both presets, and
the real-half-vs-real-half noise ceiling.  SDV's GaussianCopulaSynthesizer is
run in the same process when it is importable (it pulls torch: install it
only in a separate bench venv with pip, CPU build, one thread); otherwise its
figures from SYSTEMS.md are printed for reference.

    uv run python synthetic_pipeline_engine/benches/bench_copula.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import time

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sample-rows", type=int, default=200_000)
    args = parser.parse_args()
    import sdmetrics

    path = (
        pathlib.Path(sdmetrics.__file__).parent
        / "demos"
        / "single_table"
        / "student_placements_real.csv"
    )
    real = read_table(path)
    sdtypes = {"student_id": "id"}
    for preset, knobs in PRESETS.items():
        fits, rates, rows = [], [], []
        for seed in range(args.seeds):
            start = time.perf_counter()
            model = GaussianCopula.fit(real, sdtypes=sdtypes, seed=seed, **knobs)
            fits.append(time.perf_counter() - start)
            start = time.perf_counter()
            model.sample(args.sample_rows, seed=seed)
            rates.append(args.sample_rows / (time.perf_counter() - start))
            synthetic = model.sample(real.num_rows, seed=1000 + seed)
            q = evaluate_quality(real, synthetic, sdtypes=sdtypes)
            p = evaluate_privacy(real, synthetic, sdtypes=sdtypes, seed=seed)
            rows.append(
                (q.overall, q.shapes_score, q.trends_score, p.dcr_protection, p.exact_copies)
            )
        mean = np.mean(rows, axis=0)
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
                    "exact_copies_total": int(sum(r[4] for r in rows)),
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
        from sdv.metadata import Metadata  # type: ignore[import-not-found]
        from sdv.single_table import GaussianCopulaSynthesizer  # type: ignore[import-not-found]
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
    frame = real.to_pandas()
    metadata = Metadata.detect_from_dataframe(frame)
    start = time.perf_counter()
    synth = GaussianCopulaSynthesizer(metadata)
    synth.fit(frame)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    sample = synth.sample(20_000)
    rate = 20_000 / (time.perf_counter() - start)
    import pyarrow as pa

    q = evaluate_quality(
        real,
        pa.Table.from_pandas(sample.head(real.num_rows), preserve_index=False),
        sdtypes=sdtypes,
    )
    print(
        json.dumps(
            {
                "contender": "sdv GaussianCopula",
                "fit_s": round(fit_s, 3),
                "sample_rows_per_s": round(rate),
                "overall": round(q.overall, 4),
            }
        )
    )


if __name__ == "__main__":
    main()

"""The nearest-real-record index behind the private preset, against the reference DCR."""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthetic_pipeline_engine import (
    GaussianCopula,
    PipelineInputError,
    evaluate_privacy,
    read_table,
)
from synthetic_pipeline_engine._copula import PRESETS
from synthetic_pipeline_engine._dcr_filter import DistanceFilter
from synthetic_pipeline_engine._nearest import NearestRecords
from synthetic_pipeline_engine._quality import _dcr


def _agrees(model: GaussianCopula, real: pa.Table, rows: int, seed: int) -> float:
    """Check the index against ``_dcr`` on drawn candidates; returns the far share."""
    types = {c["name"]: str(c["sdtype"]) for c in model.columns}
    real = real.select(list(types))
    index = NearestRecords(model.columns, real, types)
    candidates = model.draw_candidates(rows, np.random.default_rng(seed), temperature=1.3)
    reference = _dcr(model.materialize(candidates), real, types)
    threshold = float(np.quantile(reference, 0.6))
    ours = index.distances(candidates, threshold)
    below = reference < threshold
    np.testing.assert_allclose(ours[below], reference[below], atol=1e-5)
    assert np.all(ours[~below] >= threshold - 1e-5)
    return float(np.mean(~below))


def _student_placements() -> pa.Table:
    """The demo table inside the installed sdmetrics (compare extra), without importing it."""
    import importlib.util

    found = importlib.util.find_spec("sdmetrics")
    if found is None or found.origin is None:
        pytest.skip("sdmetrics (compare extra) is not installed")
    base = pathlib.Path(found.origin).parent / "demos" / "single_table"
    return read_table(base / "student_placements_real.csv")


def _mixed_table(seed: int, rows: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 10, rows)
    null = rng.random(rows) < 0.3
    return pa.table(
        {
            "id": np.arange(rows),
            "x": np.round(x, 2),
            "y": np.round(x * 0.5 + rng.normal(0, 3, rows), 1),
            "salary": pa.array(
                np.where(null, np.nan, rng.lognormal(10, 0.3, rows)), from_pandas=True
            ),
            "years": rng.integers(0, 4, rows),
            "city": pa.array(
                [
                    None if n else c
                    for n, c in zip(null, rng.choice(["a", "b", "c"], rows), strict=True)
                ]
            ),
            "flag": rng.random(rows) < 0.4,
            "day": pa.array(
                [
                    dt.date(2024, 1, 1) + dt.timedelta(days=int(d))
                    for d in rng.integers(0, 300, rows)
                ]
            ),
            "const": np.full(rows, 7.0),
        }
    )


class TestNearestRecords:
    def test_matches_the_reference_dcr_on_student_placements(self) -> None:
        real = _student_placements()
        model = GaussianCopula.fit(real, sdtypes={"student_id": "id"}, seed=0)
        assert 0.2 < _agrees(model, real, 3000, seed=1) < 0.6

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(seed=st.integers(0, 10_000), rows=st.integers(12, 120))
    def test_matches_the_reference_dcr_on_mixed_tables(self, seed: int, rows: int) -> None:
        """Nulls, categories, booleans, dates, discrete and constant columns, any size."""
        real = _mixed_table(seed, rows)
        model = GaussianCopula.fit(real, sdtypes={"id": "id"}, seed=seed)
        _agrees(model, real, 400, seed)

    def test_real_table_of_another_type_is_refused(self) -> None:
        real = _mixed_table(0, 50)
        model = GaussianCopula.fit(real, sdtypes={"id": "id"})
        types = {c["name"]: str(c["sdtype"]) for c in model.columns}
        wrong = real.set_column(real.column_names.index("city"), "city", pa.array(np.arange(50.0)))
        with pytest.raises(PipelineInputError, match="does not have the model's type"):
            NearestRecords(model.columns, wrong, {**types, "city": "numerical"})


class TestPrivateSampling:
    def test_no_exact_copies_where_copies_are_likely(self) -> None:
        """Near rows at distance 0 are copies and are never kept."""
        rng = np.random.default_rng(0)
        letters = list("abcdef")
        real = pa.table({k: pa.array(rng.choice(letters, 300).tolist()) for k in ("x", "y", "z")})
        model = GaussianCopula.fit(real, **PRESETS["private"])
        assert evaluate_privacy(real, model.sample(400, seed=1, allow_copies=True)).exact_copies > 5
        kept = model.sample(3000, seed=1, real=real)
        assert kept.num_rows == 3000
        assert evaluate_privacy(real, kept).exact_copies == 0

    def test_large_sample_keeps_the_share_of_far_rows(self) -> None:
        """Many rows at once (several candidate batches): share and ids hold."""
        real = _mixed_table(3, 200)
        model = GaussianCopula.fit(real, sdtypes={"id": "id"}, **PRESETS["private"])
        settings_ = DistanceFilter.from_dict(model.privacy or {})
        types = {c["name"]: str(c["sdtype"]) for c in model.columns}
        threshold = settings_.target * settings_.baseline(real.select(list(types)), types, 4)
        sample = model.sample(30_000, seed=4, real=real)
        assert sample.num_rows == 30_000
        assert len(set(sample.column("id").to_pylist())) == 30_000
        part = sample.slice(0, 3000)  # rows are shuffled: any slice is representative
        distances = _dcr(part, real.select(list(types)), types)
        assert np.mean(distances >= threshold - 1e-9) >= settings_.share - 0.05
        assert np.median(distances) >= threshold - 1e-9
        assert evaluate_privacy(real, sample, sdtypes={"id": "id"}).exact_copies == 0

    def test_deterministic_under_a_seed(self) -> None:
        real = _mixed_table(5, 150)
        model = GaussianCopula.fit(real, sdtypes={"id": "id"}, **PRESETS["private"])
        a = model.sample(500, seed=9, real=real).drop_columns(["id"])
        b = model.sample(500, seed=9, real=real).drop_columns(["id"])
        assert a.equals(b)

    def test_proposals_survive_save_and_load(self, tmp_path: pathlib.Path) -> None:
        real = _mixed_table(6, 120)
        model = GaussianCopula.fit(real, sdtypes={"id": "id"}, **PRESETS["private"])
        assert model.privacy is not None
        assert "far_correlation" in model.privacy
        path = tmp_path / "m.json"
        model.save(path)
        assert GaussianCopula.load(path).privacy == model.privacy

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("far_correlation", [[1.0, 0.0], [0.0, 1.0]]),
            ("far_correlation", [[1.0, 2.0], [2.0, 1.0]]),
            ("near_correlation", "x"),
            ("far_temperature", 40),
        ],
    )
    def test_bad_proposals_in_a_model_file(
        self, tmp_path: pathlib.Path, key: str, value: object
    ) -> None:
        real = _mixed_table(7, 80)
        data = GaussianCopula.fit(real, sdtypes={"id": "id"}, **PRESETS["private"]).to_dict()
        data["privacy"][key] = value
        path = tmp_path / "m.json"
        path.write_text(json.dumps(data))
        with pytest.raises(PipelineInputError, match="not a valid synthesizer model"):
            GaussianCopula.load(path)

    def test_old_private_model_files_still_sample(self, tmp_path: pathlib.Path) -> None:
        """A model saved before the proposals existed samples from its own correlation."""
        real = _mixed_table(8, 120)
        data = GaussianCopula.fit(real, sdtypes={"id": "id"}, **PRESETS["private"]).to_dict()
        data["privacy"] = {"target": 0.75, "share": 0.55, "oversample": 30}
        path = tmp_path / "m.json"
        path.write_text(json.dumps(data))
        assert GaussianCopula.load(path).sample(200, seed=1, real=real).num_rows == 200


def test_read_table_roundtrip_keeps_private_sampling(tmp_path: pathlib.Path) -> None:
    """A real table read back from CSV (the CLI's path) is accepted by the filter."""
    real = _mixed_table(9, 100).drop_columns(["day"])
    path = tmp_path / "real.csv"
    import pyarrow.csv as pacsv

    pacsv.write_csv(real, path)
    again = read_table(path)
    model = GaussianCopula.fit(again, sdtypes={"id": "id"}, **PRESETS["private"])
    assert model.sample(300, seed=2, real=again).num_rows == 300


@pytest.mark.parametrize("source", [5, {"path": "x"}, {"path": 1, "blake3": "y"}])
def test_bad_source_in_a_model_file(tmp_path: pathlib.Path, source: object) -> None:
    data = GaussianCopula.fit(_mixed_table(10, 60), **PRESETS["private"]).to_dict()
    data["source"] = source
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PipelineInputError, match="not a valid synthesizer model"):
        GaussianCopula.load(path)

"""The Gaussian-copula synthesizer, its quality and privacy scores."""

from __future__ import annotations

import json
import pathlib
import re
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthetic_pipeline_engine import (
    GaussianCopula,
    PipelineInputError,
    PipelineModelError,
    evaluate_privacy,
    evaluate_quality,
    generate_tables,
    parse_generator_schema,
    read_table,
)
from synthetic_pipeline_engine._copula import PRESETS


@pytest.fixture(scope="module")
def real() -> pa.Table:
    schema = parse_generator_schema(
        {
            "seed": 11,
            "tables": {
                "t": {
                    "rows": 600,
                    "columns": {
                        "id": {"type": "int", "sequence": 1},
                        "age": {
                            "type": "int",
                            "distribution": "normal",
                            "mean": 40,
                            "std": 10,
                            "min": 18,
                            "max": 80,
                        },
                        "income": {
                            "type": "float",
                            "distribution": "lognormal",
                            "mean": 10,
                            "sigma": 0.4,
                            "round": 2,
                        },
                        "city": {"values": {"Paris": 0.5, "Lyon": 0.3, "Nice": 0.2}},
                        "member": {"type": "bool", "p": 0.3},
                        "joined": {"type": "date", "start": "2020-01-01", "end": "2023-12-31"},
                    },
                    "correlations": [["age", "income", 0.8]],
                }
            },
        }
    )
    table = generate_tables(schema)["t"]
    frame = pl.DataFrame(table).with_columns(
        bonus=pl.when(pl.col("member")).then(pl.col("income") * 0.1).otherwise(None)
    )
    return frame.to_arrow()


@pytest.fixture(scope="module")
def model(real: pa.Table) -> GaussianCopula:
    return GaussianCopula.fit(real)


class TestSynthesis:
    def test_types_and_columns_kept(self, real: pa.Table, model: GaussianCopula) -> None:
        """Samples have the real table's columns and types."""
        synthetic = model.sample(1000, seed=1)
        assert synthetic.schema.names == real.schema.names
        assert synthetic.schema == real.schema
        assert synthetic.num_rows == 1000

    def test_ids_are_new_and_unique(self, real: pa.Table, model: GaussianCopula) -> None:
        """Id columns are regenerated past the real ones, never reused."""
        ids = pl.DataFrame(model.sample(300, seed=2))["id"]
        assert ids.n_unique() == 300
        assert ids.min() > pl.DataFrame(real)["id"].max()

    def test_marginals_and_correlation_kept(self, real: pa.Table, model: GaussianCopula) -> None:
        """Shapes score high and the age/income correlation survives."""
        synthetic = model.sample(2000, seed=3)
        quality = evaluate_quality(real, synthetic)
        assert quality.shapes_score > 0.9
        r, s = pl.DataFrame(real), pl.DataFrame(synthetic)
        real_corr = np.corrcoef(r["age"], r["income"])[0, 1]
        syn_corr = np.corrcoef(s["age"], s["income"])[0, 1]
        assert abs(real_corr - syn_corr) < 0.12
        assert set(s["city"].unique()) <= set(r["city"].unique())
        assert s["age"].min() >= r["age"].min()
        assert s["age"].max() <= r["age"].max()

    def test_null_pattern_follows_other_columns(self, model: GaussianCopula) -> None:
        """bonus is null exactly for non-members in the real data; mostly so in samples."""
        s = pl.DataFrame(model.sample(2000, seed=4))
        agree = (s["bonus"].is_null() == ~s["member"]).mean()
        assert agree > 0.85
        assert s["bonus"].null_count() / 2000 == pytest.approx(0.7, abs=0.05)

    def test_deterministic(self, model: GaussianCopula) -> None:
        """The same seed gives the same rows."""
        a = pl.DataFrame(model.sample(100, seed=5)).drop("id")
        b = pl.DataFrame(model.sample(100, seed=5)).drop("id")
        assert a.equals(b)

    def test_roundtrip_json(self, tmp_path: pathlib.Path, model: GaussianCopula) -> None:
        """A saved model loads back and samples the same rows."""
        path = tmp_path / "m.json"
        model.save(path)
        stored = json.loads(path.read_text())["fingerprints"]
        assert len(stored) == 600
        assert all(re.fullmatch(r"[0-9a-f]{32}", f) for f in stored)  # digests, never rows
        again = GaussianCopula.load(path)
        a = pl.DataFrame(model.sample(50, seed=6)).drop("id")
        b = pl.DataFrame(again.sample(50, seed=6)).drop("id")
        assert a.equals(b)


class TestPrivacy:
    def test_no_exact_copies_where_copies_are_likely(self) -> None:
        """On a discrete table, unguarded sampling copies real rows; guarded never does."""
        rng = np.random.default_rng(0)
        letters = list("abcdefghij")
        real = pa.table({k: pa.array(rng.choice(letters, 300).tolist()) for k in ("x", "y", "z")})
        model = GaussianCopula.fit(real)
        unguarded = evaluate_privacy(real, model.sample(500, seed=1, allow_copies=True))
        assert unguarded.exact_copies > 20
        guarded = evaluate_privacy(real, model.sample(500, seed=1))
        assert guarded.exact_copies == 0
        assert guarded.exact_copy_rate == 0.0

    def test_impossible_privacy_is_an_error(self) -> None:
        """When every possible row is a real row, sampling refuses instead of leaking."""
        real = pa.table({"a": [True, False, True, False], "b": ["x", "x", "y", "y"]})
        with pytest.raises(PipelineModelError, match="could not avoid copying real rows"):
            GaussianCopula.fit(real).sample(10)

    def test_real_against_itself(self, real: pa.Table) -> None:
        """A copy of the real table has every row copied and zero distance."""
        report = evaluate_privacy(real, real)
        assert report.exact_copies == real.num_rows
        assert report.dcr_median == 0.0
        assert report.dcr_protection == 0.0


class TestErrors:
    def test_too_few_rows(self) -> None:
        """Fitting needs at least two rows."""
        with pytest.raises(PipelineInputError, match="fewer than 2 rows"):
            GaussianCopula.fit(pa.table({"a": [1]}))

    def test_missing_model_file(self, tmp_path: pathlib.Path) -> None:
        """Loading a missing model is an input error naming the file."""
        with pytest.raises(PipelineInputError, match="does not exist"):
            GaussianCopula.load(tmp_path / "nope.json")

    @settings(max_examples=150, deadline=None)
    @given(
        doc=st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False)
            | st.text(max_size=5),
            lambda c: (
                st.lists(c, max_size=3)
                | st.dictionaries(
                    st.sampled_from(["format", "columns", "variables", "correlation", "rows", "x"]),
                    c,
                    max_size=5,
                )
            ),
            max_leaves=15,
        )
    )
    def test_arbitrary_model_documents(self, doc: Any) -> None:
        """Any JSON document is a model or a PipelineInputError."""
        try:
            model = GaussianCopula.from_dict(doc)
        except PipelineInputError:
            return
        model.sample(3)

    def test_corrupted_model_text(self, tmp_path: pathlib.Path, model: GaussianCopula) -> None:
        """A truncated or edited model file is rejected, not half-used."""
        path = tmp_path / "m.json"
        model.save(path)
        text = path.read_text()
        path.write_text(text[: len(text) // 2])
        with pytest.raises(PipelineInputError, match="not readable JSON"):
            GaussianCopula.load(path)
        data = json.loads(text)
        data["columns"][1]["variable"] = 99
        path.write_text(json.dumps(data))
        with pytest.raises(PipelineInputError, match="out of range"):
            GaussianCopula.load(path)


def _student_placements() -> tuple[pa.Table, pathlib.Path]:
    """The demo table inside the installed sdmetrics, found without importing it (slow)."""
    import importlib.util

    found = importlib.util.find_spec("sdmetrics")
    if found is None or found.origin is None:
        pytest.skip("sdmetrics (compare extra) is not installed")
    base = pathlib.Path(found.origin).parent / "demos" / "single_table"
    return read_table(base / "student_placements_real.csv"), base


class TestStudentPlacements:
    def test_targets(self) -> None:
        """On student_placements: overall >= 80%, pair trends >= 74%, no copies."""
        real, _ = _student_placements()
        sdtypes = {"student_id": "id"}
        scores = []
        for seed in range(3):
            model = GaussianCopula.fit(real, sdtypes=sdtypes, seed=seed)
            synthetic = model.sample(real.num_rows, seed=100 + seed)
            scores.append(evaluate_quality(real, synthetic, sdtypes=sdtypes))
            assert evaluate_privacy(real, synthetic, sdtypes=sdtypes).exact_copies == 0
        assert np.mean([q.overall for q in scores]) >= 0.80
        assert np.mean([q.trends_score for q in scores]) >= 0.74

    @pytest.mark.slow
    def test_scores_match_sdmetrics(self, tmp_path: pathlib.Path) -> None:
        """Our column-shape and pair-trend scores equal SDMetrics' QualityReport."""
        real, base = _student_placements()
        pytest.importorskip("sdmetrics")
        pd = pytest.importorskip("pandas")
        import warnings

        from sdmetrics.reports import QualityReport

        synthetic = GaussianCopula.fit(real, sdtypes={"student_id": "id"}).sample(215, seed=9)
        out = tmp_path / "syn.csv"
        import pyarrow.csv as pacsv

        pacsv.write_csv(synthetic, out)
        metadata = json.loads((base / "metadata.json").read_text())
        with warnings.catch_warnings():  # the peer's own deprecation and pandas warnings
            warnings.simplefilter("ignore")
            report = QualityReport()
            report.generate(
                {"student_placements": pd.read_csv(base / "student_placements_real.csv")},
                {"student_placements": pd.read_csv(out)},
                metadata,
                verbose=False,
            )
        theirs = dict(
            zip(report.get_properties()["Property"], report.get_properties()["Score"], strict=True)
        )
        ours = evaluate_quality(real, read_table(out), sdtypes={"student_id": "id"})
        assert ours.shapes_score == pytest.approx(theirs["Column Shapes"], abs=1e-9)
        assert ours.trends_score == pytest.approx(theirs["Column Pair Trends"], abs=1e-9)
        assert ours.overall == pytest.approx(report.get_score(), abs=1e-9)


class TestPrivatePreset:
    def test_targets_together(self) -> None:
        """One preset: overall >= 80%, pair trends >= 74%, DCR protection >= 0.70, no copies."""
        real, _ = _student_placements()
        sdtypes = {"student_id": "id"}
        rows = []
        for seed in range(3):
            model = GaussianCopula.fit(real, sdtypes=sdtypes, seed=seed, **PRESETS["private"])
            synthetic = model.sample(real.num_rows, seed=100 + seed, real=real)
            assert synthetic.num_rows == real.num_rows
            assert len(set(synthetic.column("student_id").to_pylist())) == real.num_rows
            quality = evaluate_quality(real, synthetic, sdtypes=sdtypes)
            privacy = evaluate_privacy(real, synthetic, sdtypes=sdtypes, seed=seed)
            assert privacy.exact_copies == 0
            rows.append((quality.overall, quality.trends_score, privacy.dcr_protection))
        overall, trends, dcr = np.mean(rows, axis=0)
        assert overall >= 0.80
        assert trends >= 0.74
        assert dcr >= 0.70

    def test_private_model_needs_the_real_table(self, tmp_path: pathlib.Path) -> None:
        """A private model refuses to sample blind, and keeps its filter through save/load."""
        real = pa.table(
            {
                "a": np.random.default_rng(0).normal(size=300),
                "b": np.random.default_rng(1).integers(0, 4, 300),
            }
        )
        model = GaussianCopula.fit(real, **PRESETS["private"])
        with pytest.raises(PipelineInputError, match="needs the real table"):
            model.sample(10)
        path = tmp_path / "m.json"
        model.save(path)
        loaded = GaussianCopula.load(path)
        assert loaded.privacy == model.privacy
        assert loaded.sample(50, seed=3, real=real).num_rows == 50
        with pytest.raises(PipelineInputError, match="lacks the model's column"):
            loaded.sample(5, real=real.select(["a"]))

    def test_filter_lifts_the_median_distance(self) -> None:
        """The filtered sample's median DCR clears target x baseline; unfiltered does not."""
        from synthetic_pipeline_engine._dcr_filter import DistanceFilter
        from synthetic_pipeline_engine._quality import _dcr
        from synthetic_pipeline_engine._tabular import infer_sdtypes

        rng = np.random.default_rng(5)
        x = rng.normal(size=400)
        real = pa.table(
            {
                "x": x,
                "y": x * 2 + rng.normal(scale=0.3, size=400),
                "c": rng.choice(["p", "q", "r"], 400),
            }
        )
        model = GaussianCopula.fit(real)
        flt = DistanceFilter(target=0.8, share=0.6)
        types = dict(infer_sdtypes(real, None))
        baseline = flt.baseline(real, types, seed=1)
        plain = model.sample(400, seed=1)
        kept = flt.sample(model, real, 400, seed=1)
        assert np.median(_dcr(plain, real, types)) < 0.8 * baseline
        distances = _dcr(kept, real, types)
        assert np.mean(distances >= 0.8 * baseline) >= 0.6
        assert np.median(distances) >= 0.8 * baseline

    def test_unreachable_target_raises(self) -> None:
        """A target no candidate reaches is an error, not a quietly weaker sample."""
        from synthetic_pipeline_engine._dcr_filter import DistanceFilter

        rng = np.random.default_rng(2)  # two tight clusters: random rows fall between them
        x = np.concatenate([rng.normal(0, 0.01, 200), rng.normal(100, 0.01, 200)])
        real = pa.table({"x": x})
        model = GaussianCopula.fit(real, smoothing=0.0)
        with pytest.raises(PipelineModelError, match="could be kept"):
            DistanceFilter(target=1.0, share=0.9, rounds=2).sample(model, real, 20, seed=0)

    def test_bad_filter_settings_in_a_model_file(self, tmp_path: pathlib.Path) -> None:
        real = pa.table({"a": np.arange(50.0)})
        model = GaussianCopula.fit(real, keep_away=True)
        data = model.to_dict()
        data["privacy"] = {"target": 3.0, "share": 0.2}
        path = tmp_path / "m.json"
        path.write_text(json.dumps(data))
        with pytest.raises(PipelineInputError, match="out of range"):
            GaussianCopula.load(path)

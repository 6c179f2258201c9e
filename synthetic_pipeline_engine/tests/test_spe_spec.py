"""Pipeline declarations: YAML, Python builder, and their errors."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthetic_pipeline_engine import (
    Pipeline,
    PipelineInputError,
    PipelineSpecError,
    load_pipeline,
    parse_pipeline,
)


def _doc(*stages: dict[str, object], **top: object) -> dict[str, object]:
    return {"name": "p", "stages": list(stages), **top}


class TestParse:
    def test_minimal_pipeline(self, tmp_path: Path) -> None:
        """A source and a SQL transform parse into ordered stage specs."""
        spec = parse_pipeline(
            _doc(
                {"name": "a", "kind": "source", "format": "csv", "path": "a.csv"},
                {"name": "b", "kind": "transform", "inputs": ["a"], "sql": "SELECT * FROM a"},
            ),
            base_dir=tmp_path,
        )
        assert list(spec.stages) == ["a", "b"]
        assert spec.stages["b"].inputs == ("a",)
        assert spec.stages["a"].config["format"] == "csv"

    def test_defaults_apply_to_stages(self, tmp_path: Path) -> None:
        """Top-level defaults set retries/backoff/timeout unless a stage overrides them."""
        spec = parse_pipeline(
            _doc(
                {"name": "a", "kind": "source", "format": "csv", "path": "a.csv"},
                {"name": "b", "kind": "source", "format": "csv", "path": "b.csv", "retries": 5},
                defaults={"retries": 2, "timeout": 9},
            ),
            base_dir=tmp_path,
        )
        assert spec.stages["a"].retries == 2
        assert spec.stages["b"].retries == 5
        assert spec.stages["a"].timeout == 9.0

    @pytest.mark.parametrize(
        ("stage", "fragment"),
        [
            ({"name": "a", "kind": "nope"}, "unknown kind"),
            ({"name": "bad name", "kind": "source"}, "not an identifier"),
            (
                {"name": "a", "kind": "source", "format": "xls", "path": "x"},
                "unknown source format",
            ),
            ({"name": "a", "kind": "source", "format": "csv"}, "needs 'path'"),
            (
                {"name": "a", "kind": "source", "format": "csv", "path": "x", "sql": "x"},
                "unknown key",
            ),
            (
                {"name": "a", "kind": "transform", "inputs": []},
                "exactly one of 'sql' or 'function'",
            ),
            ({"name": "a", "kind": "validate", "inputs": []}, "exactly one input"),
            (
                {"name": "a", "kind": "source", "format": "csv", "path": "x", "retries": -1},
                "non-negative",
            ),
            (
                {
                    "name": "a",
                    "kind": "source",
                    "format": "csv",
                    "path": "x",
                    "schema": {"c": "blob"},
                },
                "unknown type",
            ),
        ],
    )
    def test_bad_stage_names_the_stage(
        self, tmp_path: Path, stage: dict[str, object], fragment: str
    ) -> None:
        """Each malformed stage raises PipelineSpecError saying what is wrong."""
        with pytest.raises(PipelineSpecError) as info:
            parse_pipeline(_doc(stage), base_dir=tmp_path)
        assert fragment in str(info.value)
        assert info.value.exit_code == 2

    def test_duplicate_stage(self, tmp_path: Path) -> None:
        """Two stages with one name are rejected, naming it."""
        stage = {"name": "a", "kind": "source", "format": "csv", "path": "a.csv"}
        with pytest.raises(PipelineSpecError, match="'a' is declared twice"):
            parse_pipeline(_doc(stage, stage), base_dir=tmp_path)

    def test_bad_expectation(self, tmp_path: Path) -> None:
        """An expectation with two rules is rejected."""
        doc = _doc(
            {"name": "a", "kind": "source", "format": "csv", "path": "a.csv"},
            {
                "name": "v",
                "kind": "validate",
                "inputs": ["a"],
                "expectations": [{"column": "x", "unique": True, "not_null": True}],
            },
        )
        with pytest.raises(PipelineSpecError, match="exactly one rule"):
            parse_pipeline(doc, base_dir=tmp_path)

    def test_function_file_resolved_and_hashed(self, tmp_path: Path) -> None:
        """function: file.py:name imports the file and hashes its source."""
        (tmp_path / "fns.py").write_text("def f(a):\n    return a\n")
        doc = _doc(
            {"name": "a", "kind": "source", "format": "csv", "path": "a.csv"},
            {"name": "b", "kind": "transform", "inputs": ["a"], "function": "fns.py:f"},
        )
        first = parse_pipeline(doc, base_dir=tmp_path).stages["b"]
        assert first.function is not None
        assert first.function.__name__ == "f"
        (tmp_path / "fns.py").write_text("def f(a):\n    return a  # changed\n")
        second = parse_pipeline(doc, base_dir=tmp_path).stages["b"]
        assert first.code_hash != second.code_hash
        assert first.fingerprint() != second.fingerprint()

    def test_missing_function(self, tmp_path: Path) -> None:
        """A function reference that does not resolve is a spec error."""
        (tmp_path / "fns.py").write_text("x = 1\n")
        doc = _doc({"name": "b", "kind": "transform", "function": "fns.py:nope"})
        with pytest.raises(PipelineSpecError, match="no function 'nope'"):
            parse_pipeline(doc, base_dir=tmp_path)


class TestLoad:
    def test_yaml_error_has_line(self, tmp_path: Path) -> None:
        """Invalid YAML is reported with the file and line."""
        path = tmp_path / "p.yaml"
        path.write_text("name: p\nstages:\n  - {name: a\n")
        with pytest.raises(PipelineSpecError) as info:
            load_pipeline(path)
        assert info.value.context["path"] == str(path)
        assert "line" in info.value.context

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing pipeline file is an input error naming the path."""
        with pytest.raises(PipelineSpecError, match="does not exist"):
            load_pipeline(tmp_path / "none.yaml")

    def test_python_pipeline(self, tmp_path: Path) -> None:
        """A .py file defining `pipeline` with the builder loads like YAML."""
        path = tmp_path / "p.py"
        path.write_text(
            "import polars as pl\n"
            "from synthetic_pipeline_engine import Pipeline\n"
            "pipeline = Pipeline('py')\n"
            "pipeline.source('raw', format='csv', path='raw.csv')\n"
            "@pipeline.transform(inputs=['raw'])\n"
            "def doubled(raw):\n"
            "    return raw.with_columns(pl.col('x') * 2)\n"
        )
        spec = load_pipeline(path)
        assert spec.name == "py"
        assert list(spec.stages) == ["raw", "doubled"]
        assert spec.stages["doubled"].function is not None

    def test_builder_checks_like_yaml(self) -> None:
        """The builder rejects the same mistakes as YAML."""
        with pytest.raises(PipelineSpecError, match="unknown source format"):
            Pipeline("x").source("a", format="xml", path="a.xml").build()


_yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


class TestFuzz:
    @settings(
        max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(text=st.text(max_size=300))
    def test_arbitrary_text_is_spec_error(self, tmp_path: Path, text: str) -> None:
        """Any text as a pipeline file gives PipelineInputError or a pipeline, never a crash."""
        path = tmp_path / "fuzz.yaml"
        path.write_text(text, encoding="utf-8")
        with contextlib.suppress(PipelineInputError):
            load_pipeline(path)

    @settings(max_examples=200, deadline=None)
    @given(doc=_yaml_values)
    def test_arbitrary_documents_are_spec_errors(self, doc: object) -> None:
        """Any YAML-shaped document gives PipelineInputError or a pipeline."""
        with contextlib.suppress(PipelineInputError):
            parse_pipeline(doc, base_dir=Path("/nonexistent"))

    @settings(max_examples=100, deadline=None)
    @given(
        stage=st.fixed_dictionaries(
            {
                "name": st.sampled_from(["a", "b"]),
                "kind": st.sampled_from(
                    ["source", "transform", "validate", "sink", "generate", "synthesize"]
                ),
            },
            optional={
                "inputs": _yaml_values,
                "format": st.sampled_from(["csv", "parquet", "sqlite", "x"]) | _yaml_values,
                "path": _yaml_values,
                "sql": _yaml_values,
                "query": _yaml_values,
                "expectations": _yaml_values,
                "generator": _yaml_values,
                "rows": _yaml_values,
                "schema": _yaml_values,
                "retries": _yaml_values,
                "timeout": _yaml_values,
            },
        )
    )
    def test_structured_stage_fuzz(self, stage: dict[str, object]) -> None:
        """Stages with arbitrary values for real keys give PipelineInputError or parse."""
        with contextlib.suppress(PipelineInputError):
            parse_pipeline({"name": "p", "stages": [stage]}, base_dir=Path("/nonexistent"))

    def test_yaml_dump_roundtrip_of_valid_doc(self, tmp_path: Path) -> None:
        """A valid document written as YAML loads back to the same stages."""
        doc = _doc({"name": "a", "kind": "source", "format": "parquet", "path": "a.parquet"})
        path = tmp_path / "p.yml"
        path.write_text(yaml.safe_dump(doc))
        assert list(load_pipeline(path).stages) == ["a"]

"""The DAG is checked before any stage runs: cycles, missing inputs, type mismatches."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic_pipeline_engine import PipelineDagError, check_pipeline, parse_pipeline


def _check(tmp_path: Path, *stages: dict[str, object]) -> object:
    return check_pipeline(parse_pipeline({"name": "p", "stages": list(stages)}, base_dir=tmp_path))


SRC = {
    "name": "users",
    "kind": "source",
    "format": "csv",
    "path": "u.csv",
    "schema": {"id": "int64", "email": "string", "age": "int64"},
}


class TestStructure:
    def test_order_is_topological(self, tmp_path: Path) -> None:
        """Stages come after their inputs even when declared before them."""
        dag = _check(
            tmp_path,
            {"name": "b", "kind": "transform", "inputs": ["users"], "sql": "SELECT id FROM users"},
            SRC,
        )
        assert dag.order == ["users", "b"]  # type: ignore[attr-defined]

    def test_missing_input_names_both(self, tmp_path: Path) -> None:
        """A stage reading an undeclared stage names itself and the missing one."""
        with pytest.raises(PipelineDagError) as info:
            _check(
                tmp_path, {"name": "b", "kind": "transform", "inputs": ["ghost"], "sql": "SELECT 1"}
            )
        assert "'b' reads 'ghost'" in str(info.value)
        assert info.value.context["stage"] == "b"

    def test_cycle_is_reported_with_path(self, tmp_path: Path) -> None:
        """A cycle is an error that spells out the loop."""
        with pytest.raises(PipelineDagError, match=r"cycle: (a -> b -> a|b -> a -> b)"):
            _check(
                tmp_path,
                {"name": "a", "kind": "transform", "inputs": ["b"], "sql": "SELECT * FROM b"},
                {"name": "b", "kind": "transform", "inputs": ["a"], "sql": "SELECT * FROM a"},
            )

    def test_foreign_key_adds_dependency(self, tmp_path: Path) -> None:
        """A validator's foreign key makes the referenced stage run first."""
        dag = _check(
            tmp_path,
            {"name": "orders", "kind": "source", "format": "csv", "path": "o.csv"},
            {
                "name": "v",
                "kind": "validate",
                "inputs": ["orders"],
                "expectations": [{"column": "user_id", "foreign_key": "users.id"}],
            },
            SRC,
        )
        assert dag.deps["v"] == ("orders", "users")  # type: ignore[attr-defined]
        assert dag.order.index("users") < dag.order.index("v")  # type: ignore[attr-defined]

    def test_downstream_and_upstream(self, tmp_path: Path) -> None:
        """downstream/upstream follow the edges transitively."""
        dag = _check(
            tmp_path,
            SRC,
            {"name": "b", "kind": "transform", "inputs": ["users"], "sql": "SELECT id FROM users"},
            {"name": "c", "kind": "transform", "inputs": ["b"], "sql": "SELECT id FROM b"},
        )
        assert dag.downstream("b") == {"b", "c"}  # type: ignore[attr-defined]
        assert dag.upstream("c") == {"users", "b", "c"}  # type: ignore[attr-defined]


class TestTypes:
    def test_sql_schema_is_inferred(self, tmp_path: Path) -> None:
        """DuckDB describes a SQL transform over the declared input schemas."""
        dag = _check(
            tmp_path,
            SRC,
            {
                "name": "b",
                "kind": "transform",
                "inputs": ["users"],
                "sql": "SELECT id, age * 1.5 AS score FROM users",
            },
        )
        assert dag.schemas["b"] == {"id": "int64", "score": "float64"}  # type: ignore[attr-defined]

    def test_sql_unknown_column_names_stage(self, tmp_path: Path) -> None:
        """SQL using a column the input lacks fails before running, naming the stage."""
        with pytest.raises(PipelineDagError, match="stage 'b': SQL does not fit its inputs"):
            _check(
                tmp_path,
                SRC,
                {
                    "name": "b",
                    "kind": "transform",
                    "inputs": ["users"],
                    "sql": "SELECT salary FROM users",
                },
            )

    def test_declared_schema_mismatch(self, tmp_path: Path) -> None:
        """A transform declaring a type its SQL does not produce is an error."""
        with pytest.raises(
            PipelineDagError, match="declares 'email' as int64 but its query produces string"
        ):
            _check(
                tmp_path,
                SRC,
                {
                    "name": "b",
                    "kind": "transform",
                    "inputs": ["users"],
                    "sql": "SELECT email FROM users",
                    "schema": {"email": "int64"},
                },
            )

    def test_validator_type_mismatch_names_both_stages(self, tmp_path: Path) -> None:
        """A validator expecting a different type names itself and its input."""
        with pytest.raises(PipelineDagError) as info:
            _check(
                tmp_path,
                SRC,
                {"name": "v", "kind": "validate", "inputs": ["users"], "schema": {"age": "string"}},
            )
        assert "stage 'v'" in str(info.value)
        assert "'users' produces int64" in str(info.value)

    def test_range_on_text_is_mismatch(self, tmp_path: Path) -> None:
        """A range expectation on a string column is caught before the run."""
        with pytest.raises(PipelineDagError, match="range on 'email'"):
            _check(
                tmp_path,
                SRC,
                {
                    "name": "v",
                    "kind": "validate",
                    "inputs": ["users"],
                    "expectations": [{"column": "email", "range": [0, 1]}],
                },
            )

    def test_foreign_key_type_mismatch(self, tmp_path: Path) -> None:
        """A foreign key between an int and a string column is an error."""
        orders = {
            "name": "orders",
            "kind": "source",
            "format": "csv",
            "path": "o.csv",
            "schema": {"user": "string"},
        }
        with pytest.raises(PipelineDagError, match="joins different types"):
            _check(
                tmp_path,
                SRC,
                orders,
                {
                    "name": "v",
                    "kind": "validate",
                    "inputs": ["orders"],
                    "expectations": [{"column": "user", "foreign_key": "users.id"}],
                },
            )

    def test_generator_schema_flows(self, tmp_path: Path) -> None:
        """A generate stage's schema is known from its generator schema."""
        gen = {
            "tables": {
                "t": {
                    "rows": 5,
                    "columns": {"id": {"type": "int", "sequence": 1}, "x": {"type": "float"}},
                }
            }
        }
        dag = _check(
            tmp_path,
            {"name": "g", "kind": "generate", "generator": gen},
            {
                "name": "s",
                "kind": "transform",
                "inputs": ["g"],
                "sql": "SELECT id, x > 0.5 AS big FROM g",
            },
        )
        assert dag.schemas["s"] == {"id": "int64", "big": "bool"}  # type: ignore[attr-defined]

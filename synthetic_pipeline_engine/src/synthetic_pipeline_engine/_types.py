"""Column types that stages declare, and their Arrow equivalents.

A pipeline names column types with short words (``int64``, ``string``...) so a
YAML file stays readable; this module is the single mapping between those
words, Arrow types and DuckDB's type names, used both when a stage's declared
schema is checked against its neighbours before a run and when data is cast.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped

from synthetic_pipeline_engine.errors import PipelineSpecError

__all__ = ["TYPE_NAMES", "Schema", "arrow_schema", "arrow_type", "parse_schema", "type_name"]

Schema = dict[str, str]
"""Column name to type name, in column order."""

_ARROW: dict[str, pa.DataType] = {
    "int64": pa.int64(),
    "int32": pa.int32(),
    "float64": pa.float64(),
    "float32": pa.float32(),
    "string": pa.large_string(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}
_ALIASES = {
    "int": "int64",
    "integer": "int64",
    "bigint": "int64",
    "long": "int64",
    "float": "float64",
    "double": "float64",
    "number": "float64",
    "str": "string",
    "text": "string",
    "varchar": "string",
    "boolean": "bool",
    "datetime": "timestamp",
}
TYPE_NAMES = tuple(_ARROW)


def _canonical(name: str) -> str | None:
    word = name.strip().lower()
    word = _ALIASES.get(word, word)
    return word if word in _ARROW else None


def arrow_type(name: str) -> pa.DataType:
    """The Arrow type of a type name; raises :class:`PipelineSpecError` if unknown."""
    canonical = _canonical(name)
    if canonical is None:
        raise PipelineSpecError(
            f"unknown column type {name!r}",
            hint=f"use one of {', '.join(TYPE_NAMES)}",
        )
    return _ARROW[canonical]


def type_name(dtype: pa.DataType) -> str:
    """The type name of an Arrow type (the closest family: all ints are ``int64``)."""
    if pa.types.is_integer(dtype):
        return "int64"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "float64"
    if pa.types.is_boolean(dtype):
        return "bool"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_timestamp(dtype):
        return "timestamp"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "string"
    if pa.types.is_dictionary(dtype):
        return type_name(dtype.value_type)
    return str(dtype)


def family(name: str) -> str:
    """The comparison family of a type: ints and floats differ, widths do not."""
    canonical = _canonical(name) or name
    return {"int32": "int64", "float32": "float64"}.get(canonical, canonical)


def duckdb_type_name(sql_type: str) -> str:
    """The type name of a DuckDB column type as ``DESCRIBE`` reports it."""
    upper = sql_type.upper()
    if upper in {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"}:
        return "int64"
    if upper in {"DOUBLE", "FLOAT", "REAL"} or upper.startswith("DECIMAL"):
        return "float64"
    if upper == "BOOLEAN":
        return "bool"
    if upper == "DATE":
        return "date"
    if upper.startswith("TIMESTAMP"):
        return "timestamp"
    if upper == "VARCHAR":
        return "string"
    return sql_type.lower()


def parse_schema(raw: object, *, stage: str | None = None) -> Schema:
    """Read a declared schema: a mapping of column name to type name.

    Raises:
        PipelineSpecError: the value is not a mapping of strings to known types.
    """
    if not isinstance(raw, Mapping):
        raise PipelineSpecError(
            "a schema must be a mapping of column name to type",
            stage=stage,
            hint="write e.g. schema: {id: int64, email: string}",
        )
    schema: Schema = {}
    for column, type_word in raw.items():
        if not isinstance(column, str) or not isinstance(type_word, str):
            raise PipelineSpecError(
                f"schema entry {column!r}: {type_word!r} is not 'name: type'",
                stage=stage,
                hint=f"types are {', '.join(TYPE_NAMES)}",
            )
        canonical = _canonical(type_word)
        if canonical is None:
            raise PipelineSpecError(
                f"schema column {column!r} has unknown type {type_word!r}",
                stage=stage,
                hint=f"use one of {', '.join(TYPE_NAMES)}",
            )
        schema[column] = canonical
    return schema


def arrow_schema(schema: Schema) -> pa.Schema:
    """The Arrow schema of a declared schema."""
    return pa.schema([(name, _ARROW[family(t)]) for name, t in schema.items()])


def schema_of(table: pa.Table) -> Schema:
    """The declared-schema view of an Arrow table."""
    return {field.name: type_name(field.type) for field in table.schema}

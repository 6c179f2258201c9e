"""What each kind of stage does with its inputs.

Stages exchange Arrow tables.  Python transforms receive Polars DataFrames
(zero-copy views of the Arrow data) and may return either; SQL transforms run
in an in-memory DuckDB that sees each input as a table named after its stage.
Sinks write atomically (a temporary file renamed into place), so a failure
half-way never leaves a truncated output where a good one was.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import sqlite3
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped
import pyarrow.compute as pc  # type: ignore[import-untyped]  # no stubs shipped

from synthetic_pipeline_engine._expectations import ExpectationResult, evaluate, parse_expectations
from synthetic_pipeline_engine._partitions import Partition
from synthetic_pipeline_engine._spec import PipelineSpec, StageSpec
from synthetic_pipeline_engine._types import arrow_schema, family, schema_of
from synthetic_pipeline_engine.errors import PipelineStageError, PipelineValidationError

__all__ = ["StageOutput", "execute_stage", "profile_table", "substitute"]

Loader = Callable[[str], pa.Table]


@dataclass
class StageOutput:
    """What a stage produced: a table (None for pass-through kinds) and details."""

    table: pa.Table | None
    details: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    passed: bool = True


def substitute(text: str, partition: Partition | None) -> str:
    """Replace ``{partition}``, ``{partition_start}``, ``{partition_end}`` in ``text``."""
    if partition is None:
        return text
    for key, value in partition.variables().items():
        text = text.replace("{" + key + "}", value)
    return text


def resolve_path(spec: PipelineSpec, raw: str, partition: Partition | None) -> Path:
    path = Path(substitute(raw, partition))
    return path if path.is_absolute() else spec.base_dir / path


def _stage_error(stage: StageSpec, message: str, hint: str) -> PipelineStageError:
    return PipelineStageError(f"stage {stage.name!r}: {message}", stage=stage.name, hint=hint)


def _apply_schema(stage: StageSpec, table: pa.Table) -> pa.Table:
    if stage.schema is None:
        return table
    missing = [c for c in stage.schema if c not in table.column_names]
    if missing:
        raise _stage_error(
            stage,
            f"data has no column(s) {', '.join(missing)}",
            f"it has {', '.join(table.column_names)}; fix the declared schema or the data",
        )
    target = arrow_schema(stage.schema)
    try:
        return table.select(list(stage.schema)).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise _stage_error(
            stage, f"data does not fit the declared schema: {exc}", "fix the data or the schema"
        ) from exc


def _arrow_result(con: Any, query: str) -> pa.Table:
    """The result of a DuckDB query as an Arrow table (the method's name varies by release)."""
    result = con.sql(query)
    if result is None:
        raise PipelineStageError(
            "the SQL is not a query (it returns no rows)", hint="write a SELECT"
        )
    for method in ("to_arrow_table", "fetch_arrow_table", "arrow"):
        fetch = getattr(result, method, None)
        if fetch is not None:
            table = fetch()
            return table if isinstance(table, pa.Table) else table.read_all()
    raise PipelineStageError(
        "this DuckDB release cannot return Arrow tables", hint="install duckdb>=1.0"
    )


def _read_source(spec: PipelineSpec, stage: StageSpec, partition: Partition | None) -> pa.Table:
    fmt = stage.config["format"]
    raw_path = stage.config.get("path")
    path = resolve_path(spec, raw_path, partition) if raw_path else None
    if path is not None and not path.exists():
        raise _stage_error(
            stage,
            f"input {str(path)!r} does not exist",
            "check the path (relative to the pipeline file)",
        )
    try:
        if fmt == "csv":
            import pyarrow.csv as pacsv  # type: ignore[import-untyped]  # no stubs shipped

            convert = pacsv.ConvertOptions(
                column_types=arrow_schema(stage.schema) if stage.schema else None
            )
            return pacsv.read_csv(path, convert_options=convert)
        if fmt == "parquet":
            import pyarrow.parquet as pq  # type: ignore[import-untyped]  # no stubs shipped

            return pq.read_table(path)
        if fmt == "jsonl":
            import pyarrow.json as pajson  # type: ignore[import-untyped]  # no stubs shipped

            parse = pajson.ParseOptions(
                explicit_schema=arrow_schema(stage.schema) if stage.schema else None
            )
            return pajson.read_json(path, parse_options=parse)
        query = substitute(stage.config["query"], partition)
        if fmt == "sqlite":
            uri = f"file:{path}?mode=ro"
            con = sqlite3.connect(uri, uri=True)
            try:
                cursor = con.execute(query)
                names = [d[0] for d in cursor.description or ()]
                rows = cursor.fetchall()
            finally:
                con.close()
            columns: list[list[Any]] = (
                [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in names]
            )
            return pa.table({n: pa.array(c) for n, c in zip(names, columns, strict=True)})
        import duckdb

        db = duckdb.connect(str(path) if path else ":memory:", read_only=path is not None)
        try:
            return _arrow_result(db, query)
        finally:
            db.close()
    except PipelineStageError:
        raise
    except Exception as exc:
        raise _stage_error(
            stage,
            f"cannot read {fmt} source: {type(exc).__name__}: {exc}",
            "check the file and the query",
        ) from exc


def _run_sql(
    stage: StageSpec, inputs: Mapping[str, pa.Table], partition: Partition | None
) -> pa.Table:
    import duckdb

    con = duckdb.connect()
    try:
        for name, table in inputs.items():
            con.register(name, table)
        try:
            return _arrow_result(con, substitute(stage.config["sql"], partition))
        except duckdb.Error as exc:
            raise _stage_error(
                stage,
                f"SQL failed: {str(exc).splitlines()[0]}",
                "check the query against the input tables",
            ) from exc
    finally:
        con.close()


def _accepts_partition(func: Callable[..., Any]) -> bool:
    """Whether ``func`` takes a ``partition`` argument (asked once per function)."""
    try:
        return _signature_has_partition(func)
    except TypeError:  # an unhashable callable object: ask every time
        return _signature_has_partition.__wrapped__(func)


@functools.lru_cache(maxsize=1024)
def _signature_has_partition(func: Callable[..., Any]) -> bool:
    try:
        return "partition" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def _run_function(
    stage: StageSpec, inputs: Mapping[str, pa.Table], partition: Partition | None
) -> pa.Table:
    func = stage.function
    if func is None:
        raise _stage_error(stage, "has no function", "declare function: module:name")
    frames = [pl.DataFrame(inputs[name]) for name in stage.inputs]
    kwargs = dict(stage.config.get("params", {}))
    if _accepts_partition(func):
        kwargs["partition"] = partition.key if partition else None
    result = func(*frames, **kwargs)
    if isinstance(result, pl.DataFrame):
        return result.to_arrow()
    if isinstance(result, pa.Table):
        return result
    raise _stage_error(
        stage,
        f"function returned {type(result).__name__}, not a table",
        "return a polars.DataFrame or a pyarrow.Table",
    )


def _validate(stage: StageSpec, table: pa.Table, load: Loader) -> StageOutput:
    frame = pl.DataFrame(table)
    results: list[ExpectationResult] = []
    if stage.schema is not None:
        actual = schema_of(table)
        for column, type_word in stage.schema.items():
            found = actual.get(column)
            ok = found is not None and family(found) == family(type_word)
            results.append(
                ExpectationResult(f"{column}: type {type_word}", column, ok, found or "missing")
            )
    expectations = parse_expectations(stage.config.get("expectations", []), stage=stage.name)
    references: dict[str, pl.DataFrame] = {}
    for expectation in expectations:
        ref = expectation.reference
        if ref is not None and ref[0] not in references:
            references[ref[0]] = pl.DataFrame(load(ref[0]))
        results.append(evaluate(expectation, frame, references))
    passed = all(r.passed for r in results)
    details = {"validation": [r.as_dict() for r in results], "passed": passed}
    if not passed and stage.config.get("on_failure", "fail") == "fail":
        failed = [r for r in results if not r.passed]
        summary = "; ".join(
            f"{r.expectation} (observed {r.observed}, {r.failing_rows} rows)" for r in failed[:3]
        )
        error = PipelineValidationError(
            f"stage {stage.name!r}: {len(failed)} of {len(results)} expectation(s) failed: {summary}",
            stage=stage.name,
            hint="fix the data upstream, or set on_failure: warn to let it through",
        )
        error.details = details  # type: ignore[attr-defined]  # carried to the run record
        raise error
    return StageOutput(None, details, passed=passed)


def _atomic_target(path: Path) -> tuple[Path, Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp), path


def _write_sink(
    spec: PipelineSpec, stage: StageSpec, table: pa.Table, partition: Partition | None
) -> StageOutput:
    fmt = stage.config["format"]
    path = resolve_path(spec, stage.config["path"], partition)
    try:
        if fmt in ("csv", "parquet", "jsonl"):
            tmp, final = _atomic_target(path)
            try:
                if fmt == "csv":
                    import pyarrow.csv as pacsv

                    pacsv.write_csv(table, tmp)
                elif fmt == "parquet":
                    import pyarrow.parquet as pq

                    pq.write_table(table, tmp)
                else:
                    pl.DataFrame(table).write_ndjson(tmp)
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
        elif fmt == "sqlite":
            _write_sqlite(path, stage.config["table"], table, stage.config.get("mode", "replace"))
        else:
            _write_duckdb(path, stage.config["table"], table, stage.config.get("mode", "replace"))
    except PipelineStageError:
        raise
    except Exception as exc:
        raise _stage_error(
            stage,
            f"cannot write {fmt} sink {str(path)!r}: {type(exc).__name__}: {exc}",
            "check the directory is writable",
        ) from exc
    return StageOutput(None, {"target": str(path)}, target=str(path))


_SQLITE_TYPES = {"int64": "INTEGER", "float64": "REAL", "bool": "INTEGER", "string": "TEXT"}

# Why the sinks' SQL is built with f-strings (bandit B608) and is still safe:
# SQL cannot take a table or column *name* as a bound parameter, so names are
# spliced in -- but only through sql_identifier(), which makes any text one
# double-quoted identifier (an embedded quote is doubled, the standard
# escape in both SQLite and DuckDB, so the name cannot end the quoted token
# early; NUL, which neither engine can hold, is refused).  Every *value*
# travels as a bound parameter ("?") or as the registered Arrow table.
# tests/test_spe_sinks_sql.py writes tables under arbitrary generated names
# and checks each lands as exactly one table of exactly that name.


def sql_identifier(name: str) -> str:
    """``name`` as one quoted SQL identifier (SQLite and DuckDB); raises on NUL.

    Raises:
        PipelineStageError: the name contains a NUL character.
    """
    if "\0" in name:
        raise PipelineStageError(
            f"SQL name {name!r} contains a NUL character", hint="rename the table or column"
        )
    return '"' + name.replace('"', '""') + '"'


def _write_duckdb(path: Path, table_name: str, table: pa.Table, mode: str) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    name = sql_identifier(table_name)
    con = duckdb.connect(str(path))
    try:
        con.register("_spe_input", table)
        con.execute("BEGIN")
        try:
            if mode == "append":
                con.execute(
                    f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM _spe_input WHERE false"  # noqa: S608  # nosec B608 -- name is sql_identifier() (see above)
                )
                con.execute(f"INSERT INTO {name} SELECT * FROM _spe_input")  # noqa: S608  # nosec B608 -- name is sql_identifier()
            else:
                con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _spe_input")  # noqa: S608  # nosec B608 -- name is sql_identifier()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()


def _write_sqlite(path: Path, table_name: str, table: pa.Table, mode: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = schema_of(table)
    name = sql_identifier(table_name)
    cols = ", ".join(
        sql_identifier(c) + " " + _SQLITE_TYPES.get(t, "TEXT") for c, t in schema.items()
    )
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            if mode == "replace":
                con.execute(f"DROP TABLE IF EXISTS {name}")
            con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")
            placeholders = ",".join("?" * len(schema))
            columns = [table.column(c).to_pylist() for c in schema]
            rows = [
                tuple(v.isoformat() if hasattr(v, "isoformat") else v for v in row)
                for row in zip(*columns, strict=True)
            ]
            con.executemany(f"INSERT INTO {name} VALUES ({placeholders})", rows)  # noqa: S608  # nosec B608 -- name is sql_identifier(), values are bound
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()


def execute_stage(
    spec: PipelineSpec, stage: StageSpec, load: Loader, partition: Partition | None
) -> StageOutput:
    """Run one stage once.  ``load(name)`` returns the output table of stage ``name``."""
    if stage.kind == "source":
        return StageOutput(_apply_schema(stage, _read_source(spec, stage, partition)))
    if stage.kind == "transform":
        inputs = {name: load(name) for name in stage.inputs}
        if "sql" in stage.config:
            table = _run_sql(stage, inputs, partition)
        else:
            table = _run_function(stage, inputs, partition)
        return StageOutput(_apply_schema(stage, table))
    if stage.kind == "validate":
        return _validate(stage, load(stage.inputs[0]), load)
    if stage.kind == "sink":
        return _write_sink(spec, stage, load(stage.inputs[0]), partition)
    if stage.kind == "generate":
        from synthetic_pipeline_engine._generate import generate_tables
        from synthetic_pipeline_engine._schema import parse_generator_schema

        schema = parse_generator_schema(stage.config["generator"])
        seed = int(stage.config.get("seed", 0))
        if partition is not None:
            seed = int.from_bytes(partition.key.encode()[:8].ljust(8, b"\0"), "little") ^ seed
        rows = stage.config.get("rows")
        tables = generate_tables(
            schema, seed=seed, rows={stage.config["table"]: rows} if rows is not None else None
        )
        return StageOutput(tables[stage.config["table"]])
    # synthesize
    from synthetic_pipeline_engine._copula import PRESETS, GaussianCopula

    source = load(stage.inputs[0])
    missing = [c for c in stage.config.get("ids", []) if c not in source.column_names]
    if missing:
        raise _stage_error(
            stage,
            f"ids name unknown column(s) {', '.join(missing)}",
            "list key columns of the input",
        )
    model = GaussianCopula.fit(
        source,
        sdtypes=dict.fromkeys(stage.config.get("ids", []), "id"),
        **PRESETS[stage.config.get("preset", "fidelity")],
    )
    rows = stage.config.get("rows")
    return StageOutput(
        model.sample(
            rows if rows is not None else source.num_rows,
            seed=int(stage.config.get("seed", 0)),
            real=source,
        )
    )


def profile_table(table: pa.Table, *, bins: int = 20, sample: int = 200_000) -> dict[str, Any]:
    """Per-column data-quality figures for reports: nulls, range, mean, histogram."""
    columns: dict[str, Any] = {}
    for name in table.column_names:
        column = table.column(name)
        info: dict[str, Any] = {
            "type": schema_of(table.select([name]))[name],
            "nulls": column.null_count,
        }
        dtype = column.type
        if (pa.types.is_integer(dtype) or pa.types.is_floating(dtype)) and len(column) <= 64:
            info.update(_small_numeric_profile(column.drop_null().to_pylist(), bins))
        elif pa.types.is_integer(dtype) or pa.types.is_floating(dtype):
            values = column.drop_null().to_numpy()
            if len(values) > sample:
                values = values[:: len(values) // sample + 1]
            values = values[np.isfinite(values)] if values.dtype.kind == "f" else values
            if len(values):
                lo, hi = float(values.min()), float(values.max())
                span = hi - lo
                if span > 0:
                    index = ((values - lo) * (bins / span)).astype(np.int64).clip(0, bins - 1)
                else:
                    index = np.zeros(len(values), dtype=np.int64)
                counts = np.bincount(index, minlength=bins)
                edges = np.linspace(lo, hi if span > 0 else lo + 1, bins + 1)
                info.update(
                    min=float(values.min()),
                    max=float(values.max()),
                    mean=float(values.mean()),
                    histogram={"counts": counts.tolist(), "edges": [float(e) for e in edges]},
                )
        elif (
            pa.types.is_string(dtype)
            or pa.types.is_large_string(dtype)
            or pa.types.is_boolean(dtype)
        ):
            counts_table = pc.value_counts(column.slice(0, sample)).to_pylist()
            top = sorted(counts_table, key=lambda d: -int(d["counts"]))[:10]
            info["top"] = [[str(d["values"]), int(d["counts"])] for d in top]
        columns[name] = info
    return {"rows": table.num_rows, "columns": columns}


def _small_numeric_profile(values: list[Any], bins: int) -> dict[str, Any]:
    """The numeric profile of a few values in plain Python (NumPy's per-call cost dominates there)."""
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return {}
    lo, hi = min(finite), max(finite)
    span = hi - lo
    counts = [0] * bins
    for v in finite:
        counts[min(int((v - lo) * (bins / span)), bins - 1) if span > 0 else 0] += 1
    top = hi if span > 0 else lo + 1
    step = (top - lo) / bins
    edges = [lo + step * i for i in range(bins)] + [top]
    return {
        "min": lo,
        "max": hi,
        "mean": math.fsum(finite) / len(finite),
        "histogram": {"counts": counts, "edges": edges},
    }

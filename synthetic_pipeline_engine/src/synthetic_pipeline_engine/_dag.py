"""The stage graph, checked before anything runs.

:func:`check_pipeline` turns a :class:`PipelineSpec` into a :class:`Dag`: the
stages in a topological order with their dependencies (declared inputs plus
the stages that foreign-key expectations refer to) and, where it can be
known without running anything, each stage's output schema.  Schemas flow
from declared sources and generators through SQL transforms (DuckDB describes
the query over empty tables of the input schemas) to validators and sinks,
so a type mismatch between two stages is an error naming both, found in
milliseconds rather than an hour into a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from synthetic_pipeline_engine._expectations import parse_expectations
from synthetic_pipeline_engine._spec import PipelineSpec, StageSpec
from synthetic_pipeline_engine._types import Schema, arrow_schema, duckdb_type_name, family
from synthetic_pipeline_engine.errors import PipelineDagError

__all__ = ["Dag", "check_pipeline"]

_NUMERIC = {"int64", "float64"}


@dataclass
class Dag:
    """A checked pipeline: order, dependencies, known schemas."""

    spec: PipelineSpec
    order: list[str]
    deps: dict[str, tuple[str, ...]]
    schemas: dict[str, Schema | None] = field(default_factory=dict)

    def downstream(self, stage: str) -> set[str]:
        """``stage`` and every stage that depends on it, transitively."""
        children: dict[str, list[str]] = {name: [] for name in self.order}
        for name, parents in self.deps.items():
            for parent in parents:
                children[parent].append(name)
        seen = {stage}
        stack = [stage]
        while stack:
            for child in children[stack.pop()]:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def upstream(self, stage: str) -> set[str]:
        """``stage`` and everything it depends on, transitively."""
        seen = {stage}
        stack = [stage]
        while stack:
            for parent in self.deps[stack.pop()]:
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen


def _dependencies(stage: StageSpec) -> tuple[str, ...]:
    deps = list(stage.inputs)
    if stage.kind == "validate":
        for expectation in parse_expectations(
            stage.config.get("expectations", []), stage=stage.name
        ):
            ref = expectation.reference
            if ref is not None and ref[0] not in deps:
                deps.append(ref[0])
    return tuple(deps)


def _toposort(deps: Mapping[str, tuple[str, ...]], declared: list[str]) -> list[str]:
    """Kahn's algorithm in declaration order; a cycle is reported with its path."""
    indegree = {name: len(parents) for name, parents in deps.items()}
    children: dict[str, list[str]] = {name: [] for name in deps}
    for name, parents in deps.items():
        for parent in parents:
            children[parent].append(name)
    position = {name: i for i, name in enumerate(declared)}
    ready = sorted((n for n, d in indegree.items() if d == 0), key=position.__getitem__)
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        added = []
        for child in children[node]:
            indegree[child] -= 1
            if indegree[child] == 0:
                added.append(child)
        if added:
            ready = sorted(ready + added, key=position.__getitem__)
    if len(order) != len(deps):
        remaining = {n for n in deps if n not in set(order)}
        cycle = _find_cycle(deps, remaining)
        raise PipelineDagError(
            f"the stages form a cycle: {' -> '.join(cycle)}",
            stage=cycle[0],
            hint="a stage cannot depend on its own output; break the loop",
        )
    return order


def _find_cycle(deps: Mapping[str, tuple[str, ...]], remaining: set[str]) -> list[str]:
    start = min(remaining)
    path: list[str] = []
    seen: dict[str, int] = {}
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(p for p in deps[node] if p in remaining)
    return [*path[seen[node] :], node]


def _mismatch(stage: str, message: str, hint: str) -> PipelineDagError:
    return PipelineDagError(f"stage {stage!r}: {message}", stage=stage, hint=hint)


def _sql_schema(stage: StageSpec, inputs: dict[str, Schema]) -> Schema:
    import duckdb
    import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped

    con = duckdb.connect()
    try:
        for name, schema in inputs.items():
            empty = pa.Table.from_pylist([], schema=arrow_schema(schema))
            con.register(name, empty)
        try:
            rows = con.execute(f"DESCRIBE {stage.config['sql']}").fetchall()
        except duckdb.Error as exc:
            raise _mismatch(
                stage.name,
                f"SQL does not fit its inputs: {str(exc).splitlines()[0]}",
                "check column names and types against the input stages' schemas",
            ) from None
        return {str(row[0]): duckdb_type_name(str(row[1])) for row in rows}
    finally:
        con.close()


def _check_declared(stage: StageSpec, inferred: Schema) -> None:
    if stage.schema is None:
        return
    for column, type_word in stage.schema.items():
        if column not in inferred:
            raise _mismatch(
                stage.name,
                f"declares column {column!r} but its query does not produce it",
                f"it produces {', '.join(inferred) or 'no columns'}",
            )
        if family(inferred[column]) != family(type_word):
            raise _mismatch(
                stage.name,
                f"declares {column!r} as {type_word} but its query produces {inferred[column]}",
                "cast in the SQL or fix the declared schema",
            )


def _check_validator(
    stage: StageSpec, upstream: str, schema: Schema, schemas: Mapping[str, Schema | None]
) -> None:
    if stage.schema is not None:
        for column, type_word in stage.schema.items():
            if column not in schema:
                raise _mismatch(
                    stage.name,
                    f"expects column {column!r} but input {upstream!r} does not produce it",
                    f"{upstream!r} produces {', '.join(schema)}",
                )
            if family(schema[column]) != family(type_word):
                raise _mismatch(
                    stage.name,
                    f"expects {column!r} as {type_word} but input {upstream!r} produces {schema[column]}",
                    "fix the upstream stage or the validator's schema",
                )
    for expectation in parse_expectations(stage.config.get("expectations", []), stage=stage.name):
        if expectation.column is None:
            continue
        col: str = expectation.column
        if col not in schema:
            raise _mismatch(
                stage.name,
                f"expectation on column {col!r} but input {upstream!r} does not produce it",
                f"{upstream!r} produces {', '.join(schema)}",
            )
        if expectation.rule == "range" and family(schema[col]) not in _NUMERIC:
            raise _mismatch(
                stage.name,
                f"range on {col!r}, which input {upstream!r} produces as {schema[col]}",
                "ranges apply to int64 and float64 columns",
            )
        ref = expectation.reference
        if ref is not None:
            ref_schema = schemas.get(ref[0])
            if ref_schema is None:
                continue
            if ref[1] not in ref_schema:
                raise _mismatch(
                    stage.name,
                    f"foreign key to {ref[0]}.{ref[1]}, a col {ref[0]!r} does not produce",
                    f"{ref[0]!r} produces {', '.join(ref_schema)}",
                )
            if family(ref_schema[ref[1]]) != family(schema[col]):
                raise _mismatch(
                    stage.name,
                    f"foreign key {col} ({schema[col]}) -> {ref[0]}.{ref[1]} ({ref_schema[ref[1]]}) joins different types",
                    "cast one side so both have the same type",
                )


def check_pipeline(spec: PipelineSpec) -> Dag:
    """Check the whole graph and infer schemas; raises :class:`PipelineDagError`."""
    deps: dict[str, tuple[str, ...]] = {}
    for stage in spec.stages.values():
        stage_deps = _dependencies(stage)
        for dep in stage_deps:
            if dep not in spec.stages:
                raise PipelineDagError(
                    f"stage {stage.name!r} reads {dep!r}, which no stage produces",
                    stage=stage.name,
                    hint=f"declare a stage named {dep!r} or fix the name; stages are {', '.join(spec.stages)}",
                )
            if dep == stage.name:
                raise PipelineDagError(
                    f"stage {stage.name!r} reads its own output",
                    stage=stage.name,
                    hint="a stage cannot be its own input",
                )
        deps[stage.name] = stage_deps
    order = _toposort(deps, list(spec.stages))
    schemas: dict[str, Schema | None] = {}
    for name in order:
        stage = spec.stages[name]
        input_schemas = {i: schemas[i] for i in stage.inputs}
        known = {k: v for k, v in input_schemas.items() if v is not None}
        inferred: Schema | None
        if stage.kind == "source":
            inferred = stage.schema
        elif stage.kind == "generate":
            from synthetic_pipeline_engine._schema import parse_generator_schema

            inferred = (
                parse_generator_schema(stage.config["generator"])
                .tables[stage.config["table"]]
                .schema()
            )
        elif (
            stage.kind == "transform" and "sql" in stage.config and len(known) == len(stage.inputs)
        ):
            inferred = _sql_schema(stage, known)
            _check_declared(stage, inferred)
        elif stage.kind == "transform":
            inferred = stage.schema
        elif stage.kind == "validate":
            upstream = stage.inputs[0]
            parent = input_schemas[upstream]
            if parent is not None:
                _check_validator(stage, upstream, parent, schemas)
                inferred = parent
            else:
                inferred = stage.schema
        else:  # sink, synthesize: same columns as their input
            inferred = input_schemas[stage.inputs[0]]
        schemas[name] = inferred
    return Dag(spec, order, deps, schemas)

"""Generator schemas: what synthetic tables look like, column by column.

A schema is plain data (YAML or a dict)::

    seed: 7
    tables:
      users:
        rows: 1000
        columns:
          id:     {type: int, sequence: 1}
          name:   {provider: full_name}
          email:  {provider: email, from: name}
          age:    {type: int, distribution: normal, mean: 41, std: 12, min: 18, max: 90}
          tier:   {type: category, values: {gold: 0.1, silver: 0.3, bronze: 0.6}}
          code:   {type: string, regex: "[A-Z]{3}-\\d{4}", unique: true}
        correlations: [[age, income, 0.6]]
      orders:
        rows: 5000
        columns:
          user_id: {foreign_key: users.id, cardinality: zipf, a: 1.3}

:func:`parse_generator_schema` checks all of it before anything is generated
and raises :class:`PipelineSchemaError` naming the table and column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from synthetic_pipeline_engine._types import Schema
from synthetic_pipeline_engine.errors import PipelineSchemaError

__all__ = ["ColumnSpec", "GeneratorSchema", "TableSpec", "parse_duration", "parse_generator_schema"]

DISTRIBUTIONS = ("uniform", "normal", "lognormal", "zipf", "exponential", "poisson")
COLUMN_TYPES = ("int", "float", "string", "bool", "date", "timestamp", "category")
LOG_KINDS = ("sshd", "web", "waf")
_COLUMN_KEYS = {
    "type",
    "distribution",
    "min",
    "max",
    "mean",
    "std",
    "sigma",
    "a",
    "scale",
    "lam",
    "values",
    "regex",
    "provider",
    "from",
    "locale",
    "sequence",
    "unique",
    "null_rate",
    "foreign_key",
    "cardinality",
    "start",
    "end",
    "freq",
    "series",
    "round",
    "p",
}
_TYPE_NAMES = {
    "int": "int64",
    "float": "float64",
    "string": "string",
    "bool": "bool",
    "date": "date",
    "timestamp": "timestamp",
    "category": "string",
}
MAX_ROWS = 100_000_000


@dataclass(frozen=True)
class ColumnSpec:
    """One generated column; ``options`` keeps the checked settings."""

    name: str
    type: str
    options: Mapping[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


@dataclass(frozen=True)
class TableSpec:
    """One generated table (columns, or a log generator) with its row count."""

    name: str
    rows: int
    columns: Mapping[str, ColumnSpec] = field(default_factory=dict)
    correlations: tuple[tuple[str, str, float], ...] = ()
    log: Mapping[str, Any] | None = None

    def schema(self) -> Schema:
        if self.log is not None:
            from synthetic_pipeline_engine._logs import LOG_SCHEMA

            return dict(LOG_SCHEMA)
        return {name: _TYPE_NAMES[col.type] for name, col in self.columns.items()}

    def references(self) -> set[str]:
        return {
            str(c.get("foreign_key")).partition(".")[0]
            for c in self.columns.values()
            if c.get("foreign_key")
        }


@dataclass(frozen=True)
class GeneratorSchema:
    """All tables of a schema, in an order where parents precede children."""

    tables: Mapping[str, TableSpec]
    seed: int = 0


def _err(table: str, column: str | None, message: str, hint: str) -> PipelineSchemaError:
    where = f"{table}.{column}" if column else table
    return PipelineSchemaError(f"{where}: {message}", table=table, column=column, hint=hint)


def _num(
    raw: Mapping[str, Any], key: str, table: str, column: str, *, positive: bool = False
) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _err(table, column, f"{key} must be a number, not {value!r}", f"write {key}: 1.5")
    if positive and value <= 0:
        raise _err(table, column, f"{key} must be positive", f"write {key}: 1.5")
    return float(value)


def parse_duration(text: object) -> timedelta:
    """``30s``, ``5m``, ``1h``, ``2d`` as a timedelta."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if isinstance(text, str) and len(text) >= 2 and text[-1] in units:
        try:
            amount = float(text[:-1])
        except ValueError:
            amount = -1
        if amount > 0:
            return timedelta(seconds=amount * units[text[-1]])
    raise PipelineSchemaError(
        f"duration {text!r} is not like 30s, 5m, 1h or 2d", hint="write e.g. freq: 1h"
    )


def parse_time(text: object, where: str) -> datetime:
    """An ISO date or datetime (UTC when no zone is given)."""
    try:
        value = text if isinstance(text, datetime) else datetime.fromisoformat(str(text))
    except ValueError:
        raise PipelineSchemaError(
            f"{where}: {text!r} is not an ISO date or time",
            hint="write 2024-01-01 or 2024-01-01T12:00:00",
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


_VALUE_CHECKS: dict[str, Callable[[object], bool]] = {
    "int": _is_int,
    "float": _is_number,
    "bool": _is_bool,
}


def _column(table: str, name: str, raw: object) -> ColumnSpec:
    if not isinstance(raw, Mapping):
        raise _err(
            table, name, "a column must be a mapping", "write e.g. {type: int, min: 0, max: 9}"
        )
    unknown = set(raw) - _COLUMN_KEYS
    if unknown:
        raise _err(
            table,
            name,
            f"unknown key(s) {', '.join(sorted(map(str, unknown)))}",
            f"column keys are {', '.join(sorted(_COLUMN_KEYS))}",
        )
    opts = dict(raw)
    kind = opts.get("type")
    if kind is None:
        if "provider" in opts or "regex" in opts:
            kind = "string"
        elif "values" in opts:
            kind = "category"
        elif "foreign_key" in opts:
            kind = "int"
        elif "series" in opts:
            kind = "float"
        else:
            raise _err(table, name, "needs a 'type'", f"types are {', '.join(COLUMN_TYPES)}")
    if kind not in COLUMN_TYPES:
        raise _err(table, name, f"unknown type {kind!r}", f"types are {', '.join(COLUMN_TYPES)}")
    for key in ("min", "max", "mean", "round", "sequence"):
        _num(opts, key, table, name)
    for key in ("std", "sigma", "a", "scale", "lam"):
        _num(opts, key, table, name, positive=True)
    dist = opts.get("distribution")
    if dist is not None:
        if dist not in DISTRIBUTIONS:
            raise _err(
                table,
                name,
                f"unknown distribution {dist!r}",
                f"use one of {', '.join(DISTRIBUTIONS)}",
            )
        if kind not in ("int", "float"):
            raise _err(
                table,
                name,
                f"a distribution needs type int or float, not {kind}",
                "set type: float",
            )
        if dist == "zipf" and (opts.get("a") is None or float(opts["a"]) <= 1):
            raise _err(table, name, "zipf needs a > 1", "write a: 1.5")
    lo, hi = opts.get("min"), opts.get("max")
    if lo is not None and hi is not None and float(lo) > float(hi):
        raise _err(table, name, f"min {lo} is greater than max {hi}", "swap them")
    rate = _num(opts, "null_rate", table, name)
    if rate is not None and not 0 <= rate <= 1:
        raise _err(table, name, "null_rate must be in [0, 1]", "write null_rate: 0.05")
    p = _num(opts, "p", table, name)
    if p is not None and not 0 <= p <= 1:
        raise _err(table, name, "p must be in [0, 1]", "write p: 0.3")
    if "values" in opts:
        values = opts["values"]
        if isinstance(values, Mapping):
            weights = list(values.values())
            if (
                not values
                or not all(
                    isinstance(w, int | float) and not isinstance(w, bool) and w >= 0
                    for w in weights
                )
                or sum(weights) <= 0
            ):
                raise _err(
                    table,
                    name,
                    "values weights must be non-negative numbers with a positive sum",
                    "write values: {a: 0.7, b: 0.3}",
                )
        elif not isinstance(values, list) or not values:
            raise _err(
                table,
                name,
                "values must be a non-empty list or a mapping of weights",
                "write values: [a, b, c]",
            )
    if "values" in opts:
        labels = list(opts["values"])
        fits = _VALUE_CHECKS.get(str(kind), _is_scalar)
        if not all(fits(v) for v in labels):
            raise _err(
                table,
                name,
                f"values {labels[:5]!r} do not all fit type {kind}",
                "give values of the column's type (category values may be any scalars)",
            )
        if (
            isinstance(opts["values"], Mapping)
            and len(set(map(type, labels))) > 1
            and kind not in ("category", "string")
        ):
            raise _err(table, name, "values mix types", "use one type")
    if "regex" in opts:
        from synthetic_pipeline_engine._regex import RegexGenerator

        if not isinstance(opts["regex"], str):
            raise _err(table, name, "regex must be a string", "quote the pattern")
        try:
            RegexGenerator(opts["regex"])
        except PipelineSchemaError as exc:
            raise _err(table, name, exc.message, exc.hint or "fix the pattern") from None
    if "provider" in opts:
        from synthetic_pipeline_engine._personal import PROVIDERS

        if opts["provider"] not in PROVIDERS:
            raise _err(
                table,
                name,
                f"unknown provider {opts['provider']!r}",
                f"providers are {', '.join(sorted(PROVIDERS))}",
            )
    if "foreign_key" in opts:
        ref = opts["foreign_key"]
        if not isinstance(ref, str) or ref.count(".") != 1 or not all(ref.split(".")):
            raise _err(
                table,
                name,
                f"foreign_key {ref!r} is not 'table.column'",
                "write foreign_key: users.id",
            )
        if opts.get("cardinality", "uniform") not in ("uniform", "zipf"):
            raise _err(
                table, name, "cardinality must be uniform or zipf", "write cardinality: zipf"
            )
    for key in ("start", "end"):
        if key in opts:
            parse_time(opts[key], f"{table}.{name}.{key}")
    if "freq" in opts:
        parse_duration(opts["freq"])
    if "series" in opts:
        series = opts["series"]
        if not isinstance(series, Mapping) or set(series) - {
            "base",
            "trend",
            "seasonality",
            "noise",
        }:
            raise _err(
                table,
                name,
                "series takes base, trend, seasonality, noise",
                "write series: {base: 10, trend: 0.1, seasonality: [{period: 24, amplitude: 3}], noise: 1}",
            )
        for key in ("base", "trend", "noise"):
            _num(series, key, table, name)
        seasons = series.get("seasonality", [])
        if not isinstance(seasons, list) or not all(
            isinstance(s, Mapping)
            and isinstance(s.get("period"), int | float)
            and s["period"] > 0
            and isinstance(s.get("amplitude", 1), int | float)
            for s in seasons
        ):
            raise _err(
                table,
                name,
                "seasonality must be a list of {period, amplitude}",
                "write seasonality: [{period: 24, amplitude: 3}]",
            )
    return ColumnSpec(name, str(kind), opts)


def _log(table: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    kind = raw.get("log")
    if kind not in LOG_KINDS:
        raise _err(table, None, f"unknown log kind {kind!r}", f"use one of {', '.join(LOG_KINDS)}")
    start = parse_time(raw.get("start", "2024-01-01T00:00:00"), f"{table}.start")
    end = (
        parse_time(raw["end"], f"{table}.end")
        if "end" in raw
        else start + parse_duration(raw.get("duration", "1d"))
    )
    if end <= start:
        raise _err(table, None, "end must be after start", "check start and end")
    rate = raw.get("attack_rate", 0.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise _err(table, None, "attack_rate must be in [0, 1]", "write attack_rate: 0.02")
    campaigns = raw.get("campaigns", [])
    if not isinstance(campaigns, list):
        raise _err(
            table,
            None,
            "campaigns must be a list",
            "write campaigns: [{attack: brute_force, start: ..., duration: 30m}]",
        )
    from synthetic_pipeline_engine._logs import ATTACKS

    checked = []
    for i, item in enumerate(campaigns):
        if not isinstance(item, Mapping) or item.get("attack") not in ATTACKS[str(kind)]:
            raise _err(
                table,
                None,
                f"campaign {i}: attack must be one of {', '.join(ATTACKS[str(kind)])}",
                "write attack: NAME",
            )
        c_start = parse_time(item.get("start", start), f"{table}.campaigns[{i}].start")
        c_end = c_start + parse_duration(item.get("duration", "30m"))
        share = item.get("share", 0.05)
        sources = item.get("sources", 3)
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
            raise _err(
                table,
                None,
                f"campaign {i}: share must be in (0, 1)",
                "write share: 0.05 (of all lines)",
            )
        if isinstance(sources, bool) or not isinstance(sources, int) or not 1 <= sources <= 100_000:
            raise _err(
                table, None, f"campaign {i}: sources must be a positive integer", "write sources: 5"
            )
        checked.append(
            {
                "attack": item["attack"],
                "start": c_start,
                "end": c_end,
                "share": float(share),
                "sources": sources,
                "id": item.get("id", f"c{i + 1}"),
            }
        )
    return {
        "kind": kind,
        "start": start,
        "end": end,
        "attack_rate": float(rate),
        "campaigns": checked,
        "host": str(raw.get("host", "web-01")),
    }


def parse_generator_schema(raw: object) -> GeneratorSchema:
    """Check a generator schema document; raises :class:`PipelineSchemaError`."""
    if (
        not isinstance(raw, Mapping)
        or not isinstance(raw.get("tables"), Mapping)
        or not raw["tables"]
    ):
        raise PipelineSchemaError(
            "a generator schema needs a non-empty 'tables' mapping",
            hint="write tables: {users: {rows: 10, columns: {...}}}",
        )
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise PipelineSchemaError(f"seed must be an integer, not {seed!r}", hint="write seed: 42")
    tables: dict[str, TableSpec] = {}
    for name, body in raw["tables"].items():
        if not isinstance(name, str) or not isinstance(body, Mapping):
            raise PipelineSchemaError(
                f"table {name!r} must be a mapping",
                hint="write tables: {users: {rows: 10, columns: {...}}}",
            )
        rows = body.get("rows", 100)
        if isinstance(rows, bool) or not isinstance(rows, int) or not 0 <= rows <= MAX_ROWS:
            raise _err(
                name, None, f"rows must be an integer in [0, {MAX_ROWS}]", "write rows: 1000"
            )
        if "log" in body:
            tables[name] = TableSpec(name, rows, log=_log(name, body))
            continue
        columns_raw = body.get("columns")
        if not isinstance(columns_raw, Mapping) or not columns_raw:
            raise _err(
                name,
                None,
                "needs a non-empty 'columns' mapping",
                "write columns: {id: {type: int, sequence: 1}}",
            )
        columns = {str(c): _column(name, str(c), spec) for c, spec in columns_raw.items()}
        for col in columns.values():
            source = col.get("from")
            if source is not None and source not in columns:
                raise _err(
                    name,
                    col.name,
                    f"'from' names unknown column {source!r}",
                    f"columns are {', '.join(columns)}",
                )
        correlations = []
        for item in body.get("correlations", []) or []:
            if not (
                isinstance(item, list)
                and len(item) == 3
                and item[0] in columns
                and item[1] in columns
                and isinstance(item[2], int | float)
                and -1 < item[2] < 1
                and item[0] != item[1]
            ):
                raise _err(
                    name,
                    None,
                    f"correlation {item!r} is not [column, column, rho] with -1 < rho < 1",
                    "write correlations: [[age, income, 0.6]]",
                )
            for col_name in item[:2]:
                if (
                    columns[col_name].type not in ("int", "float")
                    or "series" in columns[col_name].options
                    or "sequence" in columns[col_name].options
                ):
                    raise _err(
                        name,
                        col_name,
                        "only distribution columns (int/float) can be correlated",
                        "remove it from correlations",
                    )
            correlations.append((str(item[0]), str(item[1]), float(item[2])))
        tables[name] = TableSpec(name, rows, columns, tuple(correlations))
    # parents first; reject unknown references and cycles
    order: list[str] = []
    visiting: set[str] = set()

    def visit(table: str, path: tuple[str, ...]) -> None:
        if table in order:
            return
        if table in visiting:
            raise PipelineSchemaError(
                f"foreign keys form a cycle: {' -> '.join((*path, table))}",
                table=table,
                hint="one table must be the root",
            )
        visiting.add(table)
        for col in tables[table].columns.values():
            ref = col.get("foreign_key")
            if ref:
                parent, _, parent_col = str(ref).partition(".")
                if parent not in tables or parent_col not in tables[parent].columns:
                    raise _err(
                        table,
                        col.name,
                        f"foreign_key {ref!r} names no generated column",
                        f"tables are {', '.join(tables)}",
                    )
                if parent != table:
                    visit(parent, (*path, table))
        visiting.discard(table)
        order.append(table)

    for table in tables:
        visit(table, ())
    return GeneratorSchema({t: tables[t] for t in order}, seed)

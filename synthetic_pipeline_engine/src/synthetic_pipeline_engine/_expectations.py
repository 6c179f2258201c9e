"""Expectations a validator stage checks on its input's data.

Each expectation is one rule on one column (or on the row count), evaluated
with Polars over the whole table; a result records what was observed and a
few offending values, so a failed run says *which* rows are wrong, not just
that something is.  Foreign keys name another stage (``stage.column``); the
DAG makes that stage an implicit input of the validator.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from synthetic_pipeline_engine.errors import PipelineSpecError

__all__ = ["Expectation", "ExpectationResult", "evaluate", "parse_expectations"]

_RULES = ("range", "unique", "max_null_rate", "not_null", "in", "regex", "foreign_key", "row_count")
_SAMPLE = 5


@dataclass(frozen=True)
class Expectation:
    """One rule: ``rule`` with its ``value``, on ``column`` (None for row_count)."""

    rule: str
    value: Any
    column: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {self.rule: self.value}
        if self.column is not None:
            out["column"] = self.column
        return out

    @property
    def reference(self) -> tuple[str, str] | None:
        """``(stage, column)`` of a foreign key, else None."""
        if self.rule != "foreign_key":
            return None
        stage, _, column = str(self.value).partition(".")
        return stage, column

    def describe(self) -> str:
        where = f"{self.column}: " if self.column else ""
        return f"{where}{self.rule} {self.value}"


@dataclass
class ExpectationResult:
    """The outcome of one expectation on one table."""

    expectation: str
    column: str | None
    passed: bool
    observed: Any
    failing_rows: int = 0
    examples: list[Any] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "column": self.column,
            "passed": self.passed,
            "observed": self.observed,
            "failing_rows": self.failing_rows,
            "examples": self.examples,
        }


def _bad(stage: str, message: str, hint: str) -> PipelineSpecError:
    return PipelineSpecError(f"stage {stage!r}: {message}", stage=stage, hint=hint)


def parse_expectations(raw: object, *, stage: str) -> list[Expectation]:
    """Check a validator's ``expectations:`` list.

    Raises:
        PipelineSpecError: an entry is not one known rule with a well-typed value.
    """
    if not isinstance(raw, list):
        raise _bad(
            stage, "expectations must be a list", "write expectations: [{column: a, unique: true}]"
        )
    out: list[Expectation] = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise _bad(
                stage, f"expectation {item!r} is not a mapping", "write {column: a, unique: true}"
            )
        column = item.get("column")
        rules = [k for k in item if k != "column"]
        if len(rules) != 1 or rules[0] not in _RULES:
            raise _bad(
                stage,
                f"expectation {dict(item)!r} must have exactly one rule",
                f"rules are {', '.join(_RULES)}",
            )
        rule = str(rules[0])
        value = item[rule]
        if rule != "row_count" and not isinstance(column, str):
            raise _bad(stage, f"expectation {rule!r} needs a 'column'", "add column: NAME")
        if rule in ("range", "row_count"):
            ok = (
                isinstance(value, list)
                and len(value) == 2
                and all(
                    v is None or (isinstance(v, int | float) and not isinstance(v, bool))
                    for v in value
                )
            )
            if not ok:
                raise _bad(stage, f"{rule} must be [min, max] (null for open)", f"{rule}: [0, 100]")
        elif rule in ("unique", "not_null"):
            if not isinstance(value, bool):
                raise _bad(stage, f"{rule} must be true or false", f"{rule}: true")
        elif rule == "max_null_rate":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise _bad(stage, "max_null_rate must be a number in [0, 1]", "max_null_rate: 0.05")
        elif rule == "in":
            if not isinstance(value, list) or not value:
                raise _bad(stage, "'in' must be a non-empty list", "in: [a, b]")
        elif rule == "regex":
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)
                    re.compile(str(value))
            except re.error as exc:
                raise _bad(
                    stage, f"regex {value!r} does not compile: {exc}", "fix the pattern"
                ) from None
        elif rule == "foreign_key":
            ref_stage, dot, ref_col = str(value).partition(".")
            if not dot or not ref_stage or not ref_col:
                raise _bad(
                    stage, f"foreign_key {value!r} is not 'stage.column'", "foreign_key: users.id"
                )
        out.append(Expectation(rule, value, column if isinstance(column, str) else None))
    return out


def _examples(series: pl.Series) -> list[Any]:
    return [
        v if isinstance(v, int | float | str | bool) or v is None else str(v)
        for v in series.head(_SAMPLE).to_list()
    ]


def evaluate(
    expectation: Expectation,
    frame: pl.DataFrame,
    references: Mapping[str, pl.DataFrame] | None = None,
) -> ExpectationResult:
    """Evaluate one expectation on ``frame``; foreign keys look up ``references``."""
    rule, value, column = expectation.rule, expectation.value, expectation.column
    label = expectation.describe()
    if rule == "row_count":
        lo, hi = value
        n = frame.height
        ok = (lo is None or n >= lo) and (hi is None or n <= hi)
        return ExpectationResult(label, None, ok, n)
    if column is None or column not in frame.columns:
        return ExpectationResult(label, column, False, "column missing", frame.height)
    series = frame.get_column(column)
    non_null = series.drop_nulls()
    if rule == "range":
        lo, hi = value
        mask = (
            pl.Series([True] * non_null.len(), dtype=pl.Boolean)
            if non_null.len()
            else pl.Series([], dtype=pl.Boolean)
        )
        if lo is not None:
            mask = mask & (non_null >= lo)
        if hi is not None:
            mask = mask & (non_null <= hi)
        bad = non_null.filter(~mask)
        observed = [non_null.min(), non_null.max()] if non_null.len() else [None, None]
        return ExpectationResult(label, column, bad.len() == 0, observed, bad.len(), _examples(bad))
    if rule == "unique":
        dup = series.filter(series.is_duplicated())
        ok = dup.len() == 0 if value else True
        return ExpectationResult(
            label, column, ok, series.n_unique(), dup.len(), _examples(dup.unique())
        )
    if rule in ("max_null_rate", "not_null"):
        limit = (
            0.0
            if rule == "not_null" and value
            else float(value)
            if rule == "max_null_rate"
            else 1.0
        )
        nulls = series.null_count()
        rate = nulls / frame.height if frame.height else 0.0
        return ExpectationResult(label, column, rate <= limit, round(rate, 6), nulls)
    if rule == "in":
        allowed = pl.Series(list(value))
        try:
            bad = non_null.filter(
                ~non_null.is_in(allowed.cast(non_null.dtype, strict=False).implode())
            )
        except pl.exceptions.PolarsError:
            bad = non_null
        return ExpectationResult(
            label,
            column,
            bad.len() == 0,
            sorted(map(str, non_null.unique().head(20).to_list())),
            bad.len(),
            _examples(bad),
        )
    if rule == "regex":
        text = non_null.cast(pl.Utf8, strict=False)
        bad = text.filter(~text.str.contains(f"^(?:{value})$"))
        return ExpectationResult(
            label,
            column,
            bad.len() == 0,
            f"{text.len() - bad.len()} match",
            bad.len(),
            _examples(bad),
        )
    # foreign_key
    ref = expectation.reference or ("", "")
    ref_frame = (references or {}).get(ref[0])
    if ref_frame is None or ref[1] not in ref_frame.columns:
        return ExpectationResult(
            label, column, False, f"reference {value} unavailable", frame.height
        )
    parent = ref_frame.get_column(ref[1]).drop_nulls()
    try:
        bad = non_null.filter(~non_null.is_in(parent.cast(non_null.dtype, strict=False).implode()))
    except pl.exceptions.PolarsError:
        bad = non_null
    return ExpectationResult(
        label,
        column,
        bad.len() == 0,
        f"{non_null.len() - bad.len()} of {non_null.len()} found",
        bad.len(),
        _examples(bad.unique()),
    )

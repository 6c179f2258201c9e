"""Readers for labelled records in CSV and JSON-lines files.

Both return a list of flat dictionaries (one per row) and never let a parser
exception escape: a malformed file raises :class:`LearnerInputError` naming the
file, the line and what to fix.  Values stay as read (strings from CSV, JSON
scalars from JSON lines); :class:`RecordEncoder` decides how to encode them.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["Record", "parse_csv", "parse_jsonl", "read_records", "split_target"]

Record = dict[str, Any]

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


def read_records(path: str | Path) -> list[Record]:
    """Read a ``.csv`` or ``.jsonl``/``.ndjson`` file into records."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise LearnerInputError(
            f"cannot read {str(p)!r}: {exc.strerror or exc}",
            hint="check the path and permissions",
            path=str(p),
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LearnerInputError(
            f"{p}: not UTF-8 text (byte {exc.start})",
            hint="convert the file to UTF-8 CSV or JSON lines",
            path=str(p),
        ) from None
    if p.suffix.lower() in _JSONL_SUFFIXES:
        return parse_jsonl(text, source=str(p))
    return parse_csv(text, source=str(p))


def parse_csv(text: str, *, source: str = "<csv>") -> list[Record]:
    """Parse CSV text with a header row; every row must have the header's width."""
    if "\x00" in text:
        raise LearnerInputError(f"{source}: contains NUL bytes", hint="is this a binary file?")
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        rows = list(reader)
    except csv.Error as exc:
        raise LearnerInputError(f"{source}: malformed CSV: {exc}", hint="check quoting") from None
    rows = [r for r in rows if r]
    if not rows:
        raise LearnerInputError(f"{source}: empty file", hint="the first row must name the columns")
    header = [h.strip() for h in rows[0]]
    if any(h == "" for h in header) or len(set(header)) != len(header):
        raise LearnerInputError(
            f"{source}: line 1: column names must be non-empty and unique",
            hint="fix the header row",
        )
    out: list[Record] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise LearnerInputError(
                f"{source}: line {lineno}: {len(row)} fields, header has {len(header)}",
                hint="every row needs one value per column (quote values containing commas)",
                line=lineno,
            )
        out.append(dict(zip(header, row, strict=True)))
    return out


def parse_jsonl(text: str, *, source: str = "<jsonl>") -> list[Record]:
    """Parse JSON lines: one flat object per non-blank line, scalar values only."""
    out: list[Record] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise LearnerInputError(
                f"{source}: line {lineno}: invalid JSON: {msg}",
                hint="each line must be one JSON object",
                line=lineno,
            ) from None
        if not isinstance(obj, dict):
            raise LearnerInputError(
                f"{source}: line {lineno}: expected a JSON object, got {type(obj).__name__}",
                hint='write one object per line, e.g. {"x": 1.5, "label": "a"}',
                line=lineno,
            )
        for key, value in obj.items():
            if isinstance(value, dict | list):
                raise LearnerInputError(
                    f"{source}: line {lineno}: field {key!r} is nested",
                    hint="flatten nested fields into scalar columns",
                    line=lineno,
                )
            if isinstance(value, float) and not math.isfinite(value):
                raise LearnerInputError(
                    f"{source}: line {lineno}: field {key!r} is not finite",
                    hint="drop or impute NaN and infinity",
                    line=lineno,
                )
        out.append(obj)
    if not out:
        raise LearnerInputError(f"{source}: no records", hint="the file has no JSON objects")
    return out


def split_target(
    records: Sequence[Mapping[str, Any]], target: str, *, source: str = "<records>"
) -> tuple[list[Record], list[Any]]:
    """Separate the target column from the features; every record must have it."""
    features: list[Record] = []
    labels: list[Any] = []
    for i, rec in enumerate(records, start=1):
        if target not in rec or rec[target] is None or rec[target] == "":
            raise LearnerInputError(
                f"{source}: record {i} has no value for target {target!r}",
                hint=f"pass --target with one of: {', '.join(sorted(map(str, rec)))[:200]}",
                record=i,
            )
        labels.append(rec[target])
        features.append({k: v for k, v in rec.items() if k != target})
    return features, labels

"""How a real table's columns are read for modelling and scoring.

Both the synthesizer and the quality report need the same view of a table:
each column's *sdtype* (numerical, datetime, categorical, boolean, id, as
SDV's metadata names them) and its values as NumPy arrays (numbers and
datetimes as float64 with NaN for null; categories as Python objects with
None for null).  Keeping that in one place means a score and a model never
disagree about what a column is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped
import pyarrow.compute  # type: ignore[import-untyped]  # no stubs shipped

__all__ = ["ColumnView", "infer_sdtypes", "view_column"]

SDTYPES = ("numerical", "datetime", "categorical", "boolean", "id")


@dataclass
class ColumnView:
    """One column as arrays: ``numbers`` (float64, NaN null) or ``labels`` (object, None null)."""

    name: str
    sdtype: str
    arrow_type: pa.DataType
    numbers: np.ndarray | None
    labels: np.ndarray | None

    @property
    def nulls(self) -> np.ndarray:
        if self.numbers is not None:
            return np.asarray(np.isnan(self.numbers), dtype=bool)
        labels = self.labels if self.labels is not None else np.empty(0, dtype=object)
        return np.array([v is None for v in labels], dtype=bool)


def _looks_like_id(name: str, column: pa.ChunkedArray) -> bool:
    lowered = name.lower()
    named = lowered == "id" or (lowered.endswith(("_id", "id")) and len(lowered) > 2)
    if not named or column.null_count:
        return False
    if not (
        pa.types.is_integer(column.type)
        or pa.types.is_string(column.type)
        or pa.types.is_large_string(column.type)
    ):
        return False
    return bool(pa.compute.count_distinct(column).as_py() == len(column))


def infer_sdtypes(table: pa.Table, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Guess each column's sdtype from its Arrow type (ids: unique and named ``*id``)."""
    out: dict[str, str] = {}
    for name in table.column_names:
        column = table.column(name)
        dtype = column.type
        if overrides and name in overrides:
            out[name] = overrides[name]
        elif _looks_like_id(name, column):
            out[name] = "id"
        elif pa.types.is_boolean(dtype):
            out[name] = "boolean"
        elif (
            pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype)
        ):
            out[name] = "numerical"
        elif pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
            out[name] = "datetime"
        else:
            out[name] = "categorical"
    return out


def view_column(table: pa.Table, name: str, sdtype: str) -> ColumnView:
    """The arrays of one column for its sdtype."""
    column = table.column(name)
    dtype = column.type
    if sdtype in ("numerical", "datetime") and not (
        pa.types.is_string(dtype) or pa.types.is_large_string(dtype)
    ):
        if pa.types.is_timestamp(dtype):
            column = column.cast(pa.timestamp("us")).cast(pa.int64())
        elif pa.types.is_date(dtype):
            column = column.cast(pa.date32()).cast(pa.int32())
        numbers = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
        return ColumnView(name, sdtype, dtype, np.asarray(numbers, dtype=np.float64), None)
    labels = np.asarray(column.to_pylist(), dtype=object)
    return ColumnView(name, sdtype, dtype, None, labels)

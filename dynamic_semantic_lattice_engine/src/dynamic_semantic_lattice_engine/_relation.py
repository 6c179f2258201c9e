"""Relations as columnar tables of interned integers.

A relation is a Polars frame with one ``Int64`` column per argument
(``c0``, ``c1``, ...) and a ``r`` column holding the evaluation round in which
the row was derived (0 for base facts), which is what explanations use to
find a well-founded derivation.  A lattice relation keeps its value in a
``v`` column: a ``Float64`` for numeric lattices joined by a columnar
``max``/``min``, or an ``Int64`` id into a :class:`ValueTable` for any other
lattice.  Rows with equal key columns are one fact whose value is the join of
theirs; :meth:`Relation.merge` returns exactly the rows that grew, which is
the delta semi-naive evaluation feeds back.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from dynamic_semantic_lattice_engine._index import Row, TupleIndex
from dynamic_semantic_lattice_engine._lattice import Lattice
from dynamic_semantic_lattice_engine._program import Decl

__all__ = ["Relation", "ValueTable"]

ROUND = "r"
VALUE = "v"
SMALL_BATCH = 5_000
"""Merges and removals of at most this many rows go tuple at a time once the rows are indexed."""


def _hashable(value: Any) -> Hashable:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, set):
        return frozenset(value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value  # type: ignore[no-any-return]


class KeyIndex:
    """Membership of rows, as integer keys in sorted runs (a small log-structured merge tree).

    A row of ``k`` ids packs into one ``uint64`` when every id fits in
    ``64 // k`` bits.  Looking up a delta costs a binary search per run and
    adding one appends a run, merging runs of similar size, so the cost of a
    semi-naive iteration follows the delta, not the relation.
    """

    def __init__(self, arity: int) -> None:
        self.bits = 64 // max(arity, 1)
        self.runs: list[npt.NDArray[np.uint64]] = []

    @staticmethod
    def fits(frame: pl.DataFrame, columns: list[str]) -> bool:
        if not columns or len(columns) > 4:
            return False
        if frame.height == 0:
            return True
        bits = 64 // len(columns)
        return all(
            frame.get_column(c).min() >= 0 and frame.get_column(c).max() < (1 << bits)  # type: ignore[operator]
            for c in columns
        )

    def pack(self, frame: pl.DataFrame, columns: list[str]) -> npt.NDArray[np.uint64] | None:
        """Keys of the rows, or ``None`` if an id does not fit."""
        key = np.zeros(frame.height, dtype=np.uint64)
        limit = 1 << self.bits
        for col in columns:
            values = frame.get_column(col).to_numpy()
            if values.size and (values.min() < 0 or values.max() >= limit):
                return None
            key = (key << np.uint64(self.bits)) | values.astype(np.uint64)
        return key

    def pack_arrays(self, arrays: list[npt.NDArray[np.int64]]) -> npt.NDArray[np.uint64] | None:
        """Keys of rows given as columns, or ``None`` if an id does not fit."""
        key = np.zeros(arrays[0].shape[0] if arrays else 0, dtype=np.uint64)
        limit = 1 << self.bits
        for values in arrays:
            if values.size and (values.min() < 0 or values.max() >= limit):
                return None
            key = (key << np.uint64(self.bits)) | values.astype(np.uint64)
        return key

    def contains(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        found = np.zeros(keys.shape[0], dtype=bool)
        for run in self.runs:
            where = np.searchsorted(run, keys)
            where[where == run.shape[0]] = 0
            found |= run[where] == keys
        return found

    def add(self, keys: npt.NDArray[np.uint64] | None, *, unique: bool = False) -> None:
        """Add keys not yet present (callers filter with :meth:`contains` first).

        ``unique`` says the keys are already sorted and distinct (no re-sort).
        """
        if keys is None or keys.shape[0] == 0:
            return
        self.runs.append(keys if unique else np.unique(keys))
        while len(self.runs) > 1 and self.runs[-2].shape[0] <= 2 * self.runs[-1].shape[0]:
            last = self.runs.pop()
            # runs are sorted and disjoint: a merge by insertion, no re-hashing or dedup
            self.runs[-1] = np.insert(self.runs[-1], np.searchsorted(self.runs[-1], last), last)


class ValueTable:
    """Interns arbitrary hashable lattice values to ids (per relation)."""

    def __init__(self) -> None:
        self._ids: dict[Hashable, int] = {}
        self._values: list[Any] = []

    def intern(self, value: Any) -> int:
        key = _hashable(value)
        found = self._ids.get(key)
        if found is None:
            found = len(self._values)
            self._ids[key] = found
            self._values.append(key)
        return found

    def value(self, ident: int) -> Any:
        return self._values[ident]


class Relation:
    """One predicate's rows.

    Args:
        decl: its declaration (arity, column types, lattice name).
        lattice: the lattice object when ``decl.lattice`` is set.
    """

    def __init__(self, decl: Decl, lattice: Lattice[Any] | None = None) -> None:
        self.decl = decl
        self.lattice = lattice
        arity = decl.arity
        if lattice is not None:
            self.key_columns = [f"c{i}" for i in range(arity - 1)]
            self.columns = [*self.key_columns, VALUE]
            self.numeric = lattice.vector_join is not None
            self.values: ValueTable | None = None if self.numeric else ValueTable()
            value_type: pl.DataType = pl.Float64() if self.numeric else pl.Int64()
        else:
            self.key_columns = [f"c{i}" for i in range(arity)]
            self.columns = list(self.key_columns)
            self.numeric = False
            self.values = None
            value_type = pl.Int64()
        schema: dict[str, pl.DataType] = {c: pl.Int64() for c in self.key_columns}
        if lattice is not None:
            schema[VALUE] = value_type
        schema[ROUND] = pl.Int64()
        self.schema = schema
        self._frame = pl.DataFrame(schema=schema)
        self._index: KeyIndex | None = None
        self._tuples: TupleIndex | None = None
        self._pending_add: dict[Row, int] = {}
        self._pending_del: set[Row] = set()
        self._appended: list[pl.DataFrame] = []  # chunks merged since the frame was last read
        self._appended_rows = 0
        self.version = 0
        """Bumped by every change, so caches derived from the rows know when to rebuild."""

    @property
    def frame(self) -> pl.DataFrame:
        """The rows (columns ``c0..``, ``v`` for lattice relations, and the round ``r``)."""
        if self._appended:
            self._frame = pl.concat([self._frame, *self._appended], how="vertical", rechunk=False)
            self._appended.clear()
            self._appended_rows = 0
        if self._pending_add or self._pending_del:
            self._materialise()
        return self._frame

    @frame.setter
    def frame(self, value: pl.DataFrame) -> None:
        self._frame = value
        self._index = None  # rebuilt on the next merge
        self._tuples = None  # rebuilt on the next incremental update
        self._pending_add.clear()
        self._pending_del.clear()
        self._appended.clear()
        self._appended_rows = 0
        self.version += 1

    def _append(self, fresh: pl.DataFrame, round_: int) -> None:
        """Queue merged rows; the columnar table is concatenated once, when next read."""
        self._appended.append(fresh)
        self._appended_rows += fresh.height
        self.version += 1
        if self._tuples is not None:
            for row in fresh.select(self.columns).iter_rows():
                self._tuples.add(row, base=round_ == 0)

    def extend_new(self, fresh: pl.DataFrame, round_: int) -> None:
        """Append rows the caller knows are absent (a closure that tracks its own membership).

        Skips the packed-key membership test of :meth:`merge`; the key index
        is dropped and rebuilt by the next merge that needs it.
        """
        self._append(fresh, round_)
        self._index = None

    # -- tuple-at-a-time access (incremental maintenance) ----------------
    def tuples(self) -> TupleIndex:
        """The rows as a :class:`TupleIndex`, built on first use and kept current after."""
        if self._tuples is None:
            frame = self.frame
            columns = [frame.get_column(c).to_list() for c in self.columns]
            rows = list(zip(*columns, strict=True)) if columns else []
            base = frame.select(self.columns).filter(frame.get_column(ROUND) == 0).iter_rows()
            integral = bool(self.columns) and all(self.schema[c].is_integer() for c in self.columns)
            arrays = (
                [frame.get_column(c).to_numpy().astype(np.int64) for c in self.columns]
                if integral
                else None
            )
            self._tuples = TupleIndex(rows, base, arrays)
        return self._tuples

    def discard_rows(self, rows: Iterable[Row]) -> list[Row]:
        """Remove plain rows given as tuples, tuple at a time; the ones that were present.

        The small-batch path of :meth:`remove` without the data frames: for
        ten facts, building, casting and deduplicating frames costs more than
        the removal itself.
        """
        index = self.tuples()
        present = [row for row in dict.fromkeys(rows) if row in index.rows]
        self.apply(present)
        return present

    def add_rows(self, rows: Iterable[Row], round_: int) -> list[Row] | None:
        """Add plain rows given as tuples; the new ones, or ``None`` before the tuple index exists.

        The small-batch path of :meth:`merge` without the data frames (the
        caller takes the columnar path when this answers ``None``).
        """
        index = self._tuples
        if index is None or self.lattice is not None:
            return None
        added = {row: round_ for row in rows if row not in index.rows}
        self.apply((), added)
        return list(added)

    def apply(self, removed: Iterable[Row] = (), added: Mapping[Row, int] | None = None) -> None:
        """Remove then add rows (``added`` maps a row to its round), tuple at a time.

        The index changes at once; the frame catches up when it is next read,
        so a stream of small updates never rewrites the columnar table.
        """
        index = self.tuples()
        for row in removed:
            if index.discard(row):
                self._pending_add.pop(row, None)
                self._pending_del.add(row)
        for row, round_ in (added or {}).items():
            index.add(row, base=round_ == 0)
            self._pending_add[row] = round_
        self._index = None  # the packed-key index cannot forget rows: rebuilt on the next merge
        self.version += 1

    def _materialise(self) -> None:
        frame = self._frame
        if self._pending_del and frame.height:
            gone = pl.DataFrame(
                list(self._pending_del),
                schema={c: self.schema[c] for c in self.columns},
                orient="row",
            )
            frame = frame.join(gone, on=self.columns, how="anti", nulls_equal=True)
        if self._pending_add:
            rows = [(*row, round_) for row, round_ in self._pending_add.items()]
            fresh = pl.DataFrame(rows, schema=self.schema, orient="row")
            frame = pl.concat([frame, fresh], how="vertical", rechunk=False)
        self._pending_add.clear()
        self._pending_del.clear()
        self._frame = frame

    @property
    def name(self) -> str:
        return self.decl.name

    def __len__(self) -> int:
        if self._tuples is not None:
            return len(self._tuples)
        if not (self._pending_add or self._pending_del):
            return self._frame.height + self._appended_rows
        return self.frame.height

    def empty_frame(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema)

    def column_name(self, index: int) -> str:
        """The frame column holding argument ``index``."""
        return self.columns[index]

    def conform(self, rows: pl.DataFrame, round_: int) -> pl.DataFrame:
        """Cast ``rows`` (columns named like this relation's) to its schema, stamping ``round_``."""
        exprs = [pl.col(c).cast(self.schema[c]) for c in self.columns]
        return rows.select([*exprs, pl.lit(round_, dtype=pl.Int64).alias(ROUND)])

    def merge(self, rows: pl.DataFrame, round_: int) -> pl.DataFrame:
        """Add ``rows`` and return the rows that are new or whose lattice value grew."""
        if rows.height == 0:
            return self.empty_frame()
        if self.lattice is None:
            return self._merge_plain(rows, round_)
        if self.numeric:
            return self._merge_numeric(rows, round_)
        return self._merge_generic(rows, round_)

    def _merge_plain(self, rows: pl.DataFrame, round_: int) -> pl.DataFrame:
        """Set union for a relation without lattice values; the rows not seen before."""
        if self._tuples is not None and rows.height <= SMALL_BATCH:  # tuple at a time
            index = self._tuples
            fresh_rows = rows.select([pl.col(c).cast(pl.Int64) for c in self.columns]).unique()
            added = {row: round_ for row in fresh_rows.iter_rows() if row not in index.rows}
            self.apply((), added)
            return pl.DataFrame([(*row, round_) for row in added], schema=self.schema, orient="row")
        if self._index is None:
            frame = self.frame
            if KeyIndex.fits(frame, self.columns):
                self._index = KeyIndex(len(self.columns))
                self._index.add(self._index.pack(frame, self.columns))
        no_nulls = not any(rows.get_column(c).null_count() for c in self.columns)
        if self._index is not None and no_nulls:
            arrays = [rows.get_column(c).to_numpy().astype(np.int64) for c in self.columns]
            keys = self._index.pack_arrays(arrays)
            if keys is not None:  # numpy all the way: unique, membership, one new chunk
                keys, first = np.unique(keys, return_index=True)
                unseen = ~self._index.contains(keys)
                if not unseen.any():
                    return self.empty_frame()
                self._index.add(keys[unseen], unique=True)  # np.unique sorted them
                chosen = first[unseen]
                series = [
                    pl.Series(c, a[chosen]) for c, a in zip(self.columns, arrays, strict=True)
                ]
                series.append(pl.Series(ROUND, np.full(chosen.shape[0], round_, dtype=np.int64)))
                fresh = pl.DataFrame(series)
                self._append(fresh, round_)
                return fresh
            self._index = None
        fresh = rows.select([pl.col(c).cast(pl.Int64) for c in self.columns]).unique()
        packed = self._index.pack(fresh, self.columns) if self._index is not None else None
        if self._index is not None and packed is not None:  # Polars dedups, the index filters
            unseen = ~self._index.contains(packed)
            fresh = fresh.filter(pl.Series(unseen))
            self._index.add(packed[unseen])
        else:
            self._index = None
            frame = self.frame
            if frame.height:
                fresh = fresh.join(frame, on=self.columns, how="anti")
        if fresh.height == 0:
            return self.empty_frame()
        fresh = self.conform(fresh, round_)
        self._append(fresh, round_)
        return fresh

    def _lat(self) -> Lattice[Any]:
        if self.lattice is None:
            raise TypeError(f"relation {self.name} carries no lattice value")
        return self.lattice

    def _table(self) -> ValueTable:
        if self.values is None:
            self.values = ValueTable()
        return self.values

    def _merge_numeric(self, rows: pl.DataFrame, round_: int) -> pl.DataFrame:
        lattice = self._lat()
        agg = pl.col(VALUE).max() if lattice.vector_join == "max" else pl.col(VALUE).min()
        keys = self.key_columns
        cand = rows.select(
            [*(pl.col(c).cast(pl.Int64) for c in keys), pl.col(VALUE).cast(pl.Float64)]
        )
        cand = cand.group_by(keys).agg(agg) if keys else cand.select(agg)
        if self.frame.height:
            old = self.frame.select([*keys, pl.col(VALUE).alias("__old")])
            joined = cand.join(old, on=keys, how="left") if keys else cand.join(old, how="cross")
            better = (
                (pl.col(VALUE) > pl.col("__old"))
                if lattice.vector_join == "max"
                else (pl.col(VALUE) < pl.col("__old"))
            )
            changed = joined.filter(pl.col("__old").is_null() | better).drop("__old")
        else:
            changed = cand
        if changed.height == 0:
            return self.empty_frame()
        changed = self.conform(changed, round_)
        kept = self.frame.join(changed, on=keys, how="anti") if keys else self.frame.clear()
        self.frame = pl.concat([kept, changed], how="vertical")
        return changed

    def _merge_generic(self, rows: pl.DataFrame, round_: int) -> pl.DataFrame:
        lattice = self._lat()
        table = self._table()
        keys = self.key_columns
        current: dict[tuple[int, ...], int] = {}
        if self.frame.height:
            for row in self.frame.select([*keys, VALUE]).iter_rows():
                current[tuple(row[:-1])] = row[-1]
        updates: dict[tuple[int, ...], int] = {}
        for row in rows.select([*keys, VALUE]).iter_rows():
            key = tuple(row[:-1])
            base = updates.get(key, current.get(key))
            incoming = table.value(row[-1])
            if base is None:
                merged = lattice.join(lattice.bottom(), incoming)
            else:
                merged = lattice.join(table.value(base), incoming)
            merged_id = table.intern(merged)
            if merged_id != base:
                updates[key] = merged_id
        changed_rows = [(*k, v) for k, v in updates.items() if current.get(k) != v]
        if not changed_rows:
            return self.empty_frame()
        changed = pl.DataFrame(changed_rows, schema=[*keys, VALUE], orient="row")
        changed = self.conform(changed, round_)
        kept = self.frame.join(changed, on=keys, how="anti") if keys else self.frame.clear()
        self.frame = pl.concat([kept, changed], how="vertical")
        return changed

    def remove(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Delete rows matching ``rows`` on the key columns; return the removed rows."""
        if rows.height == 0 or len(self) == 0:
            return self.empty_frame()
        keys = self.key_columns
        probe = rows.select([pl.col(c).cast(pl.Int64) for c in keys]).unique()
        if self.lattice is None and probe.height <= SMALL_BATCH:  # tuple at a time, no rewrite
            index = self.tuples()
            present = [row for row in probe.iter_rows() if row in index.rows]
            rounds = [0 if row in index.base else 1 for row in present]
            self.apply(present)
            return pl.DataFrame(
                [(*row, r) for row, r in zip(present, rounds, strict=True)],
                schema=self.schema,
                orient="row",
            )
        gone = self.frame.join(probe, on=keys, how="semi")
        if gone.height:
            self.frame = self.frame.join(probe, on=keys, how="anti")
        return gone

    def encode_value(self, value: Any) -> float | int:
        """A lattice value as stored in the ``v`` column."""
        coerced = self._lat().coerce(value)
        if self.numeric:
            return float(coerced)
        return self._table().intern(coerced)

    def decode_value(self, stored: Any) -> Any:
        """The lattice value behind a ``v`` column entry."""
        if self.numeric or self.values is None:
            return stored
        return self.values.value(int(stored))

    def rows(self) -> Iterable[tuple[Any, ...]]:
        """The stored rows without the round column."""
        return self.frame.select(self.columns).iter_rows()

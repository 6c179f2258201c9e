"""Hash indexes over a relation's rows, for maintenance that follows a small change.

Full evaluation joins whole columns with Polars, which pays a fixed cost
per operation of a millisecond or more; a batch of ten deletions touches a
few hundred rows, and would pay that cost hundreds of times.  Incremental
maintenance therefore works tuple at a time against :class:`TupleIndex`: the
rows as a Python set plus one hash index per *binding pattern* (the columns
a join binds), each built on first use and kept up to date by every change,
so a lookup costs what it returns, not what the relation holds.

:class:`OldView` presents the state before a change (current rows, minus
what was added, plus what was removed) without copying anything, which the
delta rules of counting and DRed need for the atoms after the delta atom.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from operator import itemgetter
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["EMPTY", "OldView", "Row", "TupleIndex", "View", "key_of"]

Row = tuple[Any, ...]
Positions = tuple[int, ...]
EMPTY: frozenset[Row] = frozenset()
_COPY_SPAN = 16
"""Spans up to this long are sliced (a copy); longer ones are read in place, lazily."""
_MEMO_LIMIT = 1 << 18
"""Memoised key positions per sorted index before the memo starts over."""


def key_of(positions: Positions) -> Any:
    """The function giving a row's key for ``positions``: a scalar for one column, else a tuple."""
    if len(positions) == 1:
        return itemgetter(positions[0])
    return itemgetter(*positions)


class View(Protocol):
    """Read access to one relation in some state (current or before a change)."""

    def lookup(self, positions: Positions, key: Any) -> Iterable[Row]:
        """Rows whose columns at ``positions`` equal ``key`` (scalar for one column)."""
        ...

    def contains(self, row: Row) -> bool: ...

    def exists(self, positions: Positions, key: Any) -> bool: ...

    def estimate(self, positions: Positions, key: Any) -> int:
        """About how many rows :meth:`lookup` yields (never fewer), without producing them."""
        ...


class _Sorted:
    """A snapshot's rows sorted by one binding pattern's packed key.

    Built by one numpy argsort, where a dict of sets would cost a Python
    loop over every row; a lookup is two ``bisect`` calls on the packed keys
    and a span of the sorted rows.
    """

    def __init__(
        self, columns: list[npt.NDArray[np.int64]], snapshot: list[Row], positions: Positions
    ) -> None:
        lows = [int(columns[p].min()) if columns[p].size else 0 for p in positions]
        highs = [int(columns[p].max()) if columns[p].size else 0 for p in positions]
        widths = [h - lo + 1 for lo, h in zip(lows, highs, strict=True)]
        self.lows, self.highs = lows, highs
        self.multipliers: list[int] = []
        scale = 1
        for width in reversed(widths):
            self.multipliers.append(scale)
            scale *= width
        self.multipliers.reverse()
        self.fits = scale < (1 << 62)
        self.keys: list[int] = []
        self.rows: list[Row] = []
        if self.fits:
            packed = np.zeros(columns[0].shape[0] if columns else 0, dtype=np.int64)
            for p, lo, mult in zip(positions, lows, self.multipliers, strict=True):
                packed += (columns[p] - lo) * mult
            order = np.argsort(packed, kind="stable")
            self.keys = packed[order].tolist()
            self.rows = [snapshot[i] for i in order.tolist()]
        self.pack = self._packer()
        self._memo: dict[Any, tuple[int, int]] = {}

    def _packer(self) -> Callable[[Any], int | None]:
        """The function packing a lookup key (scalar for one column), ``None`` if out of range.

        Specialised once per index: lookups call it for every probe.
        """
        if len(self.lows) == 1:
            low, high = self.lows[0], self.highs[0]

            def one(key: Any) -> int | None:
                if isinstance(key, int) and low <= key <= high:
                    return int(key - low)
                return None

            return one
        spec = tuple(zip(self.lows, self.highs, self.multipliers, strict=True))

        def many(key: Any) -> int | None:
            out = 0
            for value, (low, high, mult) in zip(key, spec, strict=True):
                if not isinstance(value, int) or value < low or value > high:
                    return None
                out += (value - low) * mult
            return out

        return many

    def locate(self, key: Any) -> tuple[int, int] | None:
        """The slice of :attr:`rows` whose key is ``key``, or ``None`` if it cannot occur.

        The snapshot never changes, so answers are memoised: maintenance
        probes the same few keys (a class, a property) again and again, and
        a dict hit is far cheaper than packing the key and two bisections.
        """
        found = self._memo.get(key)
        if found is None:
            packed = self.pack(key)
            if packed is None:
                return None
            keys = self.keys
            lo = bisect_left(keys, packed)
            found = (lo, bisect_right(keys, packed, lo))
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = found
        return found


def _span(rows: list[Row], lo: int, hi: int) -> Iterable[Row]:
    """``rows[lo:hi]`` without copying a long span that an existence test may leave at once."""
    if hi - lo <= _COPY_SPAN:
        return rows[lo:hi]
    return map(rows.__getitem__, range(lo, hi))


def _filtered(rows: Iterable[Row], gone: set[Row], extra: Iterable[Row]) -> Iterator[Row]:
    """Rows of a sorted span minus the removed ones, plus rows added since: lazily."""
    for row in rows:
        if row not in gone:
            yield row
    yield from extra


class TupleIndex:
    """A relation's rows as a set, with lazily built indexes by binding pattern.

    Args:
        rows: the rows (tuples of interned ids, numbers and encoded values).
        base: the rows that are base facts (round 0), which deletion must keep
            unless they are deleted themselves.
        columns: the same rows as integer columns, when every column is an
            integer; indexes over this snapshot are then sorted numpy arrays
            (built by one argsort each) and only later changes go into dicts.
    """

    def __init__(
        self,
        rows: Iterable[Row],
        base: Iterable[Row] = (),
        columns: list[npt.NDArray[np.int64]] | None = None,
    ) -> None:
        self._snapshot: list[Row] = list(rows)
        self.rows: set[Row] = set(self._snapshot)
        self.base: set[Row] = set(base)
        self._columns = columns
        self._gone: set[Row] = set()  # snapshot rows removed since (lookups re-check membership)
        self._fresh: set[Row] = set()  # rows added since the snapshot (the dict indexes hold them)
        self._sorted: dict[Positions, _Sorted] = {}
        self._by: dict[Positions, dict[Any, set[Row]]] = {}
        if columns is None:
            self._snapshot = []

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def _index(self, positions: Positions) -> dict[Any, set[Row]]:
        """The dict index: every row without a snapshot, else the rows added after it."""
        index = self._by.get(positions)
        if index is None:
            index = {}
            key = key_of(positions)
            source = self.rows if self._columns is None else self._fresh
            for row in source:
                k = key(row)
                bucket = index.get(k)
                if bucket is None:
                    index[k] = {row}
                else:
                    bucket.add(row)
            self._by[positions] = index
        return index

    def _sorted_for(self, positions: Positions) -> _Sorted | None:
        if self._columns is None:
            return None
        found = self._sorted.get(positions)
        if found is None:
            found = _Sorted(self._columns, self._snapshot, positions)
            self._sorted[positions] = found
        return found if found.fits else None

    def lookup(self, positions: Positions, key: Any) -> Iterable[Row]:
        """The rows matching ``key`` at ``positions``, to be iterated once."""
        if not positions:
            return self.rows
        ordered = self._sorted_for(positions)
        if ordered is None:
            self._drop_snapshot()
            return self._index(positions).get(key, EMPTY)
        extra = self._index(positions).get(key, EMPTY)
        span = ordered.locate(key)
        if span is None:
            return extra
        lo, hi = span
        if lo == hi:
            return extra
        if hi - lo <= _COPY_SPAN and self._gone:
            gone = self._gone
            kept = [row for row in ordered.rows[lo:hi] if row not in gone]
            if extra:
                kept.extend(extra)
            return kept
        found = _span(ordered.rows, lo, hi)
        if self._gone:  # lazily, so an existence test stops at the first surviving row
            return _filtered(found, self._gone, extra)
        if extra:
            return chain(found, extra)
        return found

    def contains(self, row: Row) -> bool:
        return row in self.rows

    def prepare(self, positions: Positions) -> None:
        """Build the indexes for ``positions`` now rather than at their first lookup."""
        if positions:
            if self._sorted_for(positions) is None:
                self._drop_snapshot()
            self._index(positions)

    def _drop_snapshot(self) -> None:
        """Index every row by dict: a snapshot whose key does not pack (too wide a range)."""
        if self._columns is not None:
            self._columns = None
            self._snapshot = []
            self._by.clear()
            self._sorted.clear()
            self._gone.clear()
            self._fresh.clear()

    def estimate(self, positions: Positions, key: Any) -> int:
        """The size of the snapshot's span plus the rows added since (removed rows still count).

        Two bisections, so a join can pick its cheapest atom before it reads any row.
        """
        if not positions:
            return len(self.rows)
        ordered = self._sorted_for(positions)
        if ordered is None:
            self.lookup(positions, key)  # drops an unpackable snapshot, as a lookup would
            return len(self._index(positions).get(key, EMPTY))
        extra = len(self._index(positions).get(key, EMPTY))
        span = ordered.locate(key)
        if span is None:
            return extra
        return span[1] - span[0] + extra

    def exists(self, positions: Positions, key: Any) -> bool:
        if not positions:
            return bool(self.rows)
        return next(iter(self.lookup(positions, key)), None) is not None

    def add(self, row: Row, *, base: bool = False) -> bool:
        """Add ``row``; returns whether it was new."""
        if base:
            self.base.add(row)
        if row in self.rows:
            return False
        self.rows.add(row)
        if self._columns is not None and row in self._gone:
            self._gone.discard(row)  # back in the snapshot's sorted indexes
            return True
        self._fresh.add(row)
        for positions, index in self._by.items():
            k = key_of(positions)(row)
            bucket = index.get(k)
            if bucket is None:
                index[k] = {row}
            else:
                bucket.add(row)
        return True

    def discard(self, row: Row) -> bool:
        """Remove ``row`` (and its base mark); returns whether it was present."""
        self.base.discard(row)
        if row not in self.rows:
            return False
        self.rows.discard(row)
        if self._columns is not None and row not in self._fresh:
            self._gone.add(row)  # a snapshot row: its sorted indexes keep it, lookups filter it
            return True
        self._fresh.discard(row)
        for positions, index in self._by.items():
            k = key_of(positions)(row)
            bucket = index.get(k)
            if bucket is not None:
                bucket.discard(row)
                if not bucket:
                    del index[k]
        return True


class OldView:
    """The state before a change: ``current`` without ``added``, with ``removed``.

    ``added`` and ``removed`` are the change's rows (small); lookups cost a
    lookup in each, never a copy of ``current``.
    """

    def __init__(self, current: TupleIndex, added: TupleIndex, removed: TupleIndex) -> None:
        self.current = current
        self.added = added
        self.removed = removed

    def lookup(self, positions: Positions, key: Any) -> Iterator[Row]:
        added = self.added.rows
        for row in self.current.lookup(positions, key):
            if row not in added:
                yield row
        yield from self.removed.lookup(positions, key)

    def contains(self, row: Row) -> bool:
        return (row in self.current.rows and row not in self.added.rows) or row in self.removed.rows

    def estimate(self, positions: Positions, key: Any) -> int:
        return self.current.estimate(positions, key) + self.removed.estimate(positions, key)

    def exists(self, positions: Positions, key: Any) -> bool:
        return next(iter(self.lookup(positions, key)), None) is not None

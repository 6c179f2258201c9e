"""Time partitions: daily or hourly keys, and ranges of them for backfills.

A partitioned pipeline runs once per key; the key is substituted into paths
and queries (``{partition}``, ``{partition_start}``, ``{partition_end}``) and
passed to Python transforms that accept a ``partition`` argument.  Keys are
part of every cache key, so each partition is cached on its own and a
backfill re-runs only the partitions whose inputs changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from synthetic_pipeline_engine.errors import PipelineInputError, PipelineSpecError

__all__ = ["Partition", "PartitionSpec", "parse_partitions"]

_FORMATS = {"daily": "%Y-%m-%d", "hourly": "%Y-%m-%dT%H"}
_STEPS = {"daily": timedelta(days=1), "hourly": timedelta(hours=1)}
MAX_BACKFILL = 100_000


@dataclass(frozen=True)
class Partition:
    """One partition: its key and the half-open time window it covers."""

    key: str
    start: datetime
    end: datetime

    def variables(self) -> dict[str, str]:
        """The values substituted into paths and queries."""
        return {
            "partition": self.key,
            "partition_start": self.start.isoformat(),
            "partition_end": self.end.isoformat(),
        }


@dataclass(frozen=True)
class PartitionSpec:
    """How a pipeline is partitioned: ``daily`` or ``hourly`` from ``start``."""

    kind: str
    start: datetime

    @property
    def step(self) -> timedelta:
        return _STEPS[self.kind]

    def parse_key(self, key: str) -> Partition:
        """The partition of ``key``; raises :class:`PipelineInputError` if malformed."""
        fmt = _FORMATS[self.kind]
        try:
            start = datetime.strptime(key, fmt).replace(tzinfo=UTC)
        except ValueError:
            example = self.start.strftime(fmt)
            raise PipelineInputError(
                f"partition {key!r} is not a {self.kind} key",
                hint=f"write it as {example} (format {fmt})",
            ) from None
        if start < self.start:
            raise PipelineInputError(
                f"partition {key!r} is before the pipeline's first partition",
                hint=f"partitions start at {self.start.strftime(fmt)}",
            )
        return Partition(start.strftime(fmt), start, start + self.step)

    def range(self, spec: str) -> list[Partition]:
        """Partitions of ``FIRST..LAST`` (inclusive) or of a single key."""
        first, sep, last = spec.partition("..")
        lo = self.parse_key(first.strip())
        hi = self.parse_key(last.strip()) if sep else lo
        if hi.start < lo.start:
            raise PipelineInputError(
                f"backfill range {spec!r} ends before it starts", hint="write FIRST..LAST"
            )
        count = int((hi.start - lo.start) / self.step) + 1
        if count > MAX_BACKFILL:
            raise PipelineInputError(
                f"backfill range {spec!r} has {count} partitions",
                hint=f"split it into ranges of at most {MAX_BACKFILL}",
            )
        fmt = _FORMATS[self.kind]
        out = []
        for i in range(count):
            start = lo.start + i * self.step
            out.append(Partition(start.strftime(fmt), start, start + self.step))
        return out


def parse_partitions(raw: object) -> PartitionSpec | None:
    """Read a pipeline's ``partitions:`` block (``kind`` and ``start``)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) - {"kind", "start"}:
        raise PipelineSpecError(
            "partitions must be a mapping with 'kind' and 'start'",
            hint="write partitions: {kind: daily, start: 2024-01-01}",
        )
    kind = raw.get("kind", "daily")
    if kind not in _FORMATS:
        raise PipelineSpecError(f"unknown partition kind {kind!r}", hint="use daily or hourly")
    start_raw = raw.get("start")
    try:
        if isinstance(start_raw, datetime):
            start = start_raw
        else:
            start = datetime.fromisoformat(str(start_raw))
    except ValueError:
        raise PipelineSpecError(
            f"partitions start {start_raw!r} is not an ISO date",
            hint="write start: 2024-01-01",
        ) from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return PartitionSpec(kind, start)

"""The run summary: what ran, how long each task took, and the critical path.

The critical path is measured, not estimated: the chain of dependent tasks
whose summed run times is largest.  It bounds how fast the run could have
been with unlimited workers, so comparing it with the wall time tells whether
a run was limited by parallelism (wall time near the sum of work divided by
workers) or by dependencies (wall time near the critical path).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parallel_architecture_framework._node import Node

__all__ = ["RunSummary", "TaskRecord", "summarize"]


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """Timing of one task: epoch seconds as measured where it ran."""

    key: str
    name: str
    state: str
    attempts: int
    submitted: float
    started: float
    finished: float
    worker: str
    cache_hit: bool
    deps: tuple[str, ...]

    @property
    def duration(self) -> float:
        """Run time of the last attempt (0 for tasks that never started)."""
        return max(self.finished - self.started, 0.0) if self.started else 0.0


@dataclass(frozen=True, slots=True)
class RunSummary:
    """Counts, timing and the measured critical path of a client's tasks."""

    executor: str
    counts: dict[str, int]
    wall_seconds: float
    busy_seconds: float
    critical_path: tuple[str, ...]
    critical_path_seconds: float
    tasks: tuple[TaskRecord, ...] = field(repr=False)

    def to_dict(self, *, tasks: bool = False) -> dict[str, Any]:
        """Plain data for ``--json``; per-task records only when ``tasks``."""
        data: dict[str, Any] = {
            "executor": self.executor,
            "counts": dict(self.counts),
            "wall_seconds": round(self.wall_seconds, 6),
            "busy_seconds": round(self.busy_seconds, 6),
            "critical_path": list(self.critical_path),
            "critical_path_seconds": round(self.critical_path_seconds, 6),
        }
        if tasks:
            data["tasks"] = [
                {
                    "key": t.key,
                    "state": t.state,
                    "attempts": t.attempts,
                    "seconds": round(t.duration, 6),
                    "worker": t.worker,
                    "cache_hit": t.cache_hit,
                    "deps": list(t.deps),
                }
                for t in self.tasks
            ]
        return data

    def render(self, slowest: int = 5) -> str:
        """A few lines for people: counts, times, the critical path and the slowest tasks."""
        counts = ", ".join(f"{v} {k}" for k, v in self.counts.items() if v)
        lines = [
            f"executor {self.executor}: {counts or 'no tasks'}",
            f"wall {self.wall_seconds:.3f} s, task time {self.busy_seconds:.3f} s, "
            f"critical path {self.critical_path_seconds:.3f} s over {len(self.critical_path)} tasks",
        ]
        if self.critical_path:
            shown = list(self.critical_path)
            if len(shown) > 8:
                shown = [*shown[:4], "...", *shown[-3:]]
            lines.append("critical path: " + " -> ".join(shown))
        ranked = sorted(self.tasks, key=lambda t: t.duration, reverse=True)[:slowest]
        lines.extend(
            f"  {t.key:<30} {t.duration * 1000:10.3f} ms  {t.state}" for t in ranked if t.started
        )
        return "\n".join(lines)


def summarize(nodes: list[Node], executor: str, started: float) -> RunSummary:
    """Build a :class:`RunSummary` from scheduler nodes (in submission order)."""
    from parallel_architecture_framework._node import STATE_NAMES

    counts = dict.fromkeys(STATE_NAMES, 0)
    records: list[TaskRecord] = []
    best: dict[str, tuple[float, str | None]] = {}
    for node in nodes:
        counts[STATE_NAMES[node.state]] += 1
        record = TaskRecord(
            node.key,
            node.task.name,
            STATE_NAMES[node.state],
            node.attempt,
            node.submitted,
            node.started,
            node.finished,
            node.worker,
            node.cache_hit,
            tuple(d.key for d in node.deps),
        )
        records.append(record)
        # nodes come in submission order, so every dependency is already scored
        upstream, via = 0.0, None
        for dep in node.deps:
            score = best.get(dep.key, (0.0, None))[0]
            if score > upstream or via is None:
                upstream, via = score, dep.key
        best[node.key] = (upstream + record.duration, via)
    path: list[str] = []
    total = 0.0
    if best:
        end = max(
            reversed(best), key=lambda k: best[k][0]
        )  # ties: the latest task, the longer chain
        total = best[end][0]
        cursor: str | None = end
        while cursor is not None:
            path.append(cursor)
            cursor = best[cursor][1]
        path.reverse()
    first = min((r.submitted for r in records), default=started)
    last = max((r.finished for r in records), default=first)
    return RunSummary(
        executor=executor,
        counts=counts,
        wall_seconds=max(last - first, 0.0),
        busy_seconds=sum(r.duration for r in records),
        critical_path=tuple(path),
        critical_path_seconds=total,
        tasks=tuple(records),
    )

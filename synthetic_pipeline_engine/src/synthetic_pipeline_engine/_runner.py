"""Running a checked pipeline: caching, retries, timeouts, resume, lineage.

The scheduler walks the DAG with a ready queue.  For each ready stage it
computes a cache key from the stage's fingerprint (kind, config, declared
schema, code hash), its inputs' *output content hashes* and its partition; a
hit skips the stage without loading any data, which is why an unchanged
1,000-stage pipeline re-runs in well under a second.  Because keys use the
content of inputs rather than their keys, a stage whose code changed but
whose output did not leaves everything downstream cached (early cut-off).

Stages that must run go to an :class:`Executor` as a
:class:`~synthetic_pipeline_engine._jobs.StageJob` (a local thread pool by
default; ``parallel_architecture_framework``'s threads or processes with the
``paf`` extra).  The job owns the attempts (per-attempt timeouts, retries
with exponential backoff and jitter) and returns an outcome, so a failure
reads the same on every executor; everything recorded (cache entries,
lineage, history) is written here, by the runner, whichever executor ran
the stage.  Every finished stage is committed to the store at once, so a
crashed run resumes from the last completed stage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import blake3
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped

from synthetic_pipeline_engine._dag import Dag, check_pipeline
from synthetic_pipeline_engine._jobs import (
    StageJob,
    StageOutcome,
    failure_of,
    read_ipc,
    run_stage_job,
    store_table,
)
from synthetic_pipeline_engine._partitions import Partition
from synthetic_pipeline_engine._spec import PipelineSpec, StageSpec
from synthetic_pipeline_engine._stages import profile_table, resolve_path, substitute
from synthetic_pipeline_engine._store import CacheEntry, RunStore
from synthetic_pipeline_engine.errors import PipelineInputError, PipelineStageError

__all__ = [
    "EXECUTORS",
    "Executor",
    "LocalExecutor",
    "PlanItem",
    "RunResult",
    "StageResult",
    "make_executor",
    "plan",
    "run",
    "run_partitions",
]

_PASS_THROUGH = ("validate", "sink")


class Executor(Protocol):
    """Where stage jobs run (``parallel_architecture_framework`` provides some, see ``_paf``).

    ``shares_memory``: jobs run in this process, so they get the runner's
    in-memory loader and hand their table back; otherwise each job is
    pickled to a worker, reads its inputs from the Arrow cache files and
    writes its output there (:class:`StageJob` explains both modes).
    """

    shares_memory: bool

    def submit(self, job: StageJob) -> Future[StageOutcome]: ...

    def shutdown(self) -> None: ...


class LocalExecutor:
    """A thread pool: stages are I/O or release the GIL in Arrow, Polars and DuckDB.

    When only one stage can run (a chain), the scheduler runs it on its own
    thread instead of handing it over, which saves a thread wake-up per stage.
    """

    shares_memory = True
    runs_inline_when_alone = True

    def __init__(self, max_workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="spe-stage")

    def submit(self, job: StageJob) -> Future[StageOutcome]:
        return self._pool.submit(run_stage_job, job)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


EXECUTORS = ("local", "paf:threads", "paf:processes")


def make_executor(name: str, workers: int | None = None) -> Executor:
    """The executor called ``name``: ``local`` or ``paf:threads`` / ``paf:processes``.

    Raises:
        PipelineInputError: unknown name, or the paf extra is not installed.
    """
    if name == "local":
        return LocalExecutor(workers or 2)
    family, _, kind = name.partition(":")
    if family == "paf" and kind:
        from synthetic_pipeline_engine._paf import PafExecutor

        return PafExecutor(kind, workers)
    raise PipelineInputError(
        f"unknown executor {name!r}", hint=f"use one of {', '.join(EXECUTORS)}"
    )


@dataclass
class StageResult:
    """What happened to one stage in one run."""

    stage: str
    kind: str
    status: str  # ran | cached | failed | skipped | warned
    reason: str = ""
    attempts: int = 0
    duration: float = 0.0
    rows: int | None = None
    cache_key: str | None = None
    output_hash: str | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """The outcome of one run of one partition."""

    run_id: str
    pipeline: str
    partition: str | None
    status: str
    stages: dict[str, StageResult]
    duration: float

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


@dataclass
class PlanItem:
    """What ``plan`` says a stage would do, and why."""

    stage: str
    kind: str
    action: str  # run | cached
    reason: str


def _file_digest(path: Path) -> str:
    hasher = blake3.blake3()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    return str(hasher.hexdigest())


def _external_digest(
    spec: PipelineSpec, stage: StageSpec, partition: Partition | None
) -> str | None:
    """Content digest of what a source reads; None when it cannot be known (always re-read)."""
    if stage.kind != "source":
        return ""
    raw = stage.config.get("path")
    if not raw:
        return None
    path = resolve_path(spec, raw, partition)
    if not path.is_file():
        return "missing"
    return _file_digest(path)


def _cache_key(
    stage: StageSpec, input_hashes: dict[str, str], external: str, partition: Partition | None
) -> str:
    hasher = blake3.blake3()
    hasher.update(stage.fingerprint().encode())
    for name in sorted(input_hashes):
        hasher.update(f"|{name}={input_hashes[name]}".encode())
    hasher.update(f"|ext={external}|part={partition.key if partition else ''}".encode())
    if stage.kind == "sink" and partition is not None:
        hasher.update(substitute(str(stage.config.get("path")), partition).encode())
    return str(hasher.hexdigest())[:40]


def _prepare(pipeline: PipelineSpec | Dag) -> Dag:
    return pipeline if isinstance(pipeline, Dag) else check_pipeline(pipeline)


def _previous_keys(store: RunStore, partition: Partition | None) -> dict[str, str]:
    """The latest cache key recorded for each stage in this partition (one query)."""
    key = partition.key if partition else None
    rows = store._query(  # the store's read helper; read-only
        "SELECT s.stage AS stage, s.cache_key AS cache_key, max(s.started) FROM stage_runs s "
        "JOIN runs r ON r.run_id=s.run_id "
        "WHERE s.cache_key IS NOT NULL AND (r.partition IS ? OR r.partition=?) GROUP BY s.stage",
        (key, key),
    )
    return {str(r["stage"]): str(r["cache_key"]) for r in rows}


def _last_details(store: RunStore, previous: dict[str, str], stage: str) -> dict[str, Any] | None:
    cache_key = previous.get(stage)
    if cache_key is None:
        return None
    entry = store.cache_get(cache_key)
    return entry.details if entry else None


def _why(
    stage: StageSpec, previous: dict[str, Any] | None, inputs: dict[str, str], external: str | None
) -> str:
    if previous is None:
        return "never ran"
    if previous.get("fingerprint") != stage.fingerprint():
        return "code or config changed"
    if external is not None and previous.get("external") != external:
        return "input file changed"
    old_inputs = previous.get("inputs", {})
    changed = [name for name, digest in inputs.items() if old_inputs.get(name) != digest]
    if changed:
        return f"input {', '.join(repr(c) for c in changed)} changed"
    return "cached output missing"


def plan(
    pipeline: PipelineSpec | Dag,
    state_dir: str | Path,
    *,
    partition: Partition | None = None,
    from_stage: str | None = None,
) -> list[PlanItem]:
    """What a run would do now, and why, without running anything."""
    dag = _prepare(pipeline)
    forced = _forced(dag, from_stage)
    items: list[PlanItem] = []
    hashes: dict[str, str | None] = {}
    with RunStore(state_dir) as store:
        previous_keys = _previous_keys(store, partition)
        for name in dag.order:
            stage = dag.spec.stages[name]
            unknown = [d for d in dag.deps[name] if hashes.get(d) is None]
            if name in forced:
                items.append(PlanItem(name, stage.kind, "run", f"forced by --from {from_stage}"))
                hashes[name] = None
                continue
            if unknown:
                items.append(PlanItem(name, stage.kind, "run", f"input {unknown[0]!r} will run"))
                hashes[name] = None
                continue
            inputs = {d: str(hashes[d]) for d in dag.deps[name]}
            external = _external_digest(dag.spec, stage, partition)
            if external is None:
                items.append(
                    PlanItem(name, stage.kind, "run", "source without a file is always read")
                )
                hashes[name] = None
                continue
            key = _cache_key(stage, inputs, external, partition)
            entry = store.cache_get(key)
            if entry is not None and _entry_usable(store, stage, entry):
                items.append(
                    PlanItem(name, stage.kind, "cached", "code, config and inputs unchanged")
                )
                hashes[name] = entry.output_hash
            else:
                previous = _last_details(store, previous_keys, name)
                items.append(
                    PlanItem(name, stage.kind, "run", _why(stage, previous, inputs, external))
                )
                hashes[name] = None
    return items


def _forced(dag: Dag, from_stage: str | None) -> set[str]:
    if from_stage is None:
        return set()
    if from_stage not in dag.spec.stages:
        raise PipelineInputError(
            f"--from names unknown stage {from_stage!r}",
            hint=f"stages are {', '.join(dag.order)}",
        )
    return dag.downstream(from_stage)


def _entry_usable(store: RunStore, stage: StageSpec, entry: CacheEntry) -> bool:
    if stage.kind == "sink":
        target = entry.details.get("target")
        if not target or not Path(target).exists():
            return False
        digest = entry.details.get("target_hash")
        return digest is None or _file_digest(Path(target)) == digest
    if stage.kind in _PASS_THROUGH:
        return True
    return store.cache_path(entry.output_hash).is_file()


def run(
    pipeline: PipelineSpec | Dag,
    state_dir: str | Path,
    *,
    partition: Partition | None = None,
    from_stage: str | None = None,
    executor: Executor | None = None,
    on_stage: Callable[[StageResult], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    seed: int | None = None,
    resumed_from: str | None = None,
) -> RunResult:
    """Run a pipeline (one partition) and return what happened to every stage.

    Stage failures do not raise: they are in the result (status ``failed``)
    and their dependants are ``skipped``; independent branches still run.

    Raises:
        PipelineDagError, PipelineSpecError: the pipeline is malformed.
        PipelineStoreError: the state directory is unusable.
    """
    dag = _prepare(pipeline)
    spec = dag.spec
    forced = _forced(dag, from_stage)
    own_executor = executor is None
    pool: Executor = executor if executor is not None else LocalExecutor()
    started = time.perf_counter()
    with RunStore(state_dir) as store:
        previous_keys = _previous_keys(store, partition)
        store.mark_crashed(spec.name)
        run_id = store.start_run(
            spec.name,
            str(spec.source_path) if spec.source_path else None,
            partition.key if partition else None,
            resumed_from,
            {
                "order": dag.order,
                "deps": {k: list(v) for k, v in dag.deps.items()},
                "kinds": {k: spec.stages[k].kind for k in dag.order},
            },
        )
        store.open_journal(run_id)
        results: dict[str, StageResult] = {}
        outputs: dict[str, tuple[str, Path | None]] = {}  # stage -> (output hash, data file)
        children: dict[str, list[str]] = {n: [] for n in dag.order}
        waiting = {n: len(dag.deps[n]) for n in dag.order}
        for name, parents in dag.deps.items():
            for parent in parents:
                children[parent].append(name)
        ready = [n for n in dag.order if waiting[n] == 0]
        running: dict[Future[StageOutcome], tuple[str, str, dict[str, Any], float]] = {}
        inline: list[tuple[tuple[str, str, dict[str, Any], float], StageOutcome]] = []

        # Tables made in this run stay in memory until their last reader has finished.
        memory: dict[str, pa.Table] = {}
        readers = {n: len(children[n]) for n in dag.order}
        memory_lock = threading.Lock()

        def alias(name: str, source: str) -> None:
            with memory_lock:
                if source in memory and readers[name] > 0:
                    memory[name] = memory[source]

        def load(name: str) -> pa.Table:
            with memory_lock:
                held = memory.get(name)
            if held is not None:
                return held
            _digest, path = outputs[name]
            if path is None:
                raise PipelineStageError(
                    f"output of {name!r} is not available",
                    stage=name,
                    hint="re-run with --from " + name,
                )
            return read_ipc(path)

        def finish(
            name: str,
            result: StageResult,
            cache: CacheEntry | None = None,
            lineage: dict[str, Any] | None = None,
        ) -> None:
            results[name] = result
            store.record_completion(
                run_id,
                name,
                result.kind,
                cache=cache,
                lineage=lineage,
                status=result.status,
                reason=result.reason,
                attempts=result.attempts,
                started=time.time() - result.duration,
                duration=result.duration,
                rows=result.rows,
                cache_key=result.cache_key,
                output_hash=result.output_hash,
                error=result.error,
                details=result.details,
            )
            if on_stage is not None:
                on_stage(result)
            with memory_lock:
                for parent in dag.deps[name]:
                    readers[parent] -= 1
                    if readers[parent] <= 0:
                        memory.pop(parent, None)
            for child in children[name]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)

        def decide(name: str) -> None:
            stage = spec.stages[name]
            failed = [d for d in dag.deps[name] if results[d].status in ("failed", "skipped")]
            if failed:
                finish(
                    name,
                    StageResult(
                        name, stage.kind, "skipped", f"input {failed[0]!r} did not complete"
                    ),
                )
                return
            inputs = {d: outputs[d][0] for d in dag.deps[name]}
            external = _external_digest(spec, stage, partition)
            key = (
                _cache_key(stage, inputs, external or "", partition)
                if external is not None
                else None
            )
            if key is not None and name not in forced:
                entry = store.cache_get(key)
                if entry is not None and _entry_usable(store, stage, entry):
                    if stage.kind in _PASS_THROUGH:
                        outputs[name] = outputs[stage.inputs[0]]
                        alias(name, stage.inputs[0])
                    else:
                        outputs[name] = (entry.output_hash, store.cache_path(entry.output_hash))
                    status = "warned" if entry.details.get("passed") is False else "cached"
                    finish(
                        name,
                        StageResult(
                            name,
                            stage.kind,
                            status,
                            "unchanged",
                            0,
                            0.0,
                            entry.rows,
                            key,
                            entry.output_hash,
                            details=entry.details,
                        ),
                    )
                    return
            previous = None if name in forced else _last_details(store, previous_keys, name)
            reason = (
                f"forced by --from {from_stage}"
                if name in forced
                else _why(stage, previous, inputs, external)
            )
            meta = {
                "stage": stage,  # for the lost-job deadline (_budget)
                "fingerprint": stage.fingerprint(),
                "inputs": inputs,
                "external": external,
                "key": key,
            }
            job = StageJob(
                spec,
                stage,
                partition,
                {
                    d: str(outputs[d][1]) if outputs[d][1] is not None else ""
                    for d in dag.deps[name]
                },
                str(store.cache_dir),
                seed,
                load if pool.shares_memory else None,
                sleep,
            )
            t_start = time.perf_counter()
            if getattr(pool, "runs_inline_when_alone", False) and not running and not ready:
                inline.append(((name, reason, meta, t_start), run_stage_job(job)))
                return
            future = pool.submit(job)
            running[future] = (name, reason, meta, t_start)

        def complete(future: Future[StageOutcome]) -> None:
            started_as = running.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:  # the executor itself failed (e.g. could not send the job)
                message, details = failure_of(exc)
                outcome = StageOutcome(1, error=message, details=details)
            record(started_as, outcome)

        def record(
            started_as: tuple[str, str, dict[str, Any], float], outcome: StageOutcome
        ) -> None:
            name, reason, meta, t0 = started_as
            stage = spec.stages[name]
            duration = time.perf_counter() - t0
            if outcome.output is None:
                finish(
                    name,
                    StageResult(
                        name,
                        stage.kind,
                        "failed",
                        reason,
                        outcome.attempts,
                        duration,
                        error=outcome.error,
                        details=outcome.details,
                    ),
                )
                return
            output = outcome.output
            details = dict(output.details)
            table = output.table
            if outcome.stored is not None:  # a detached job wrote its output to the cache
                outputs[name] = (outcome.stored[0], Path(outcome.stored[1]))
                table = read_ipc(Path(outcome.stored[1]))
            elif table is not None:
                outputs[name] = store_table(table, store.cache_dir)
                if readers[name] > 0:
                    with memory_lock:
                        memory[name] = table
            if table is not None:
                rows: int | None = table.num_rows
                details["profile"] = profile_table(table)
            else:
                outputs[name] = outputs[stage.inputs[0]]
                alias(name, stage.inputs[0])
                rows = results[stage.inputs[0]].rows
                if (
                    output.target is not None
                    and Path(output.target).is_file()
                    and stage.config.get("format") in ("csv", "parquet", "jsonl")
                ):
                    details["target_hash"] = _file_digest(Path(output.target))
            digest = outputs[name][0]
            details.update(
                fingerprint=meta["fingerprint"], inputs=meta["inputs"], external=meta["external"]
            )
            status = "warned" if not output.passed else "ran"
            finish(
                name,
                StageResult(
                    name,
                    stage.kind,
                    status,
                    reason,
                    outcome.attempts,
                    duration,
                    rows,
                    meta["key"],
                    digest,
                    details=details,
                ),
                cache=CacheEntry(meta["key"], name, digest, rows or 0, details)
                if meta["key"] is not None
                else None,
                lineage={
                    "output_hash": digest,
                    "stage": name,
                    "pipeline": spec.name,
                    "run_id": run_id,
                    "partition": partition.key if partition else None,
                    "target": output.target,
                    "code_hash": stage.code_hash,
                    "params": dict(stage.config),
                    "inputs": [
                        {"stage": d, "output_hash": meta["inputs"][d]} for d in dag.deps[name]
                    ],
                },
            )

        try:
            while ready or running or inline:
                while ready:
                    decide(ready.pop(0))
                    while inline:  # ran on this thread: record it before deciding more
                        record(*inline.pop())
                if running:
                    done, _ = wait(
                        list(running), timeout=_next_deadline(running), return_when=FIRST_COMPLETED
                    )
                    for future in done:
                        complete(future)
                    for future in _overdue(running):
                        started_as = running.pop(future)
                        stage = spec.stages[started_as[0]]
                        record(
                            started_as,
                            StageOutcome(
                                stage.retries + 1,
                                error=f"stage {stage.name!r}: the executor returned no result "
                                f"within {_budget(stage):g} s (its timeouts and retries allow "
                                "less); the job was lost",
                            ),
                        )
        except BaseException as exc:
            store.flush()
            store.finish_run(run_id, "crashed", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if own_executor:
                pool.shutdown()
        failed = [r for r in results.values() if r.status == "failed"]
        status = "failed" if failed else "succeeded"
        store.flush()
        store.finish_run(run_id, status, failed[0].error if failed else None)
    return RunResult(
        run_id,
        spec.name,
        partition.key if partition else None,
        status,
        results,
        time.perf_counter() - started,
    )


_LOST_GRACE = 30.0  # seconds past a stage's own time budget before its job counts as lost


def _budget(stage: StageSpec) -> float:
    """The longest a stage with a timeout can take: every attempt timed out, every backoff slept."""
    if stage.timeout is None:
        return float("inf")
    backoffs = sum(min(stage.backoff * 2.0**k, 60.0) for k in range(stage.retries))
    return float(stage.timeout * (stage.retries + 1) + backoffs + _LOST_GRACE)


def _next_deadline(running: dict[Future[StageOutcome], tuple[Any, ...]]) -> float | None:
    """Seconds until the earliest running stage overruns its budget (None: no stage has one).

    A job an executor loses (a worker pool bug, a lost message) would
    otherwise leave the run waiting forever; stages with a timeout bound
    how long that can be.
    """
    deadlines = [float(entry[3]) + _budget(entry[2]["stage"]) for entry in running.values()]
    finite = [d for d in deadlines if d != float("inf")]
    if not finite:
        return None
    return max(0.0, min(finite) - time.perf_counter())


def _overdue(running: dict[Future[StageOutcome], tuple[Any, ...]]) -> list[Future[StageOutcome]]:
    now = time.perf_counter()
    return [
        future
        for future, entry in running.items()
        if not future.done() and now > float(entry[3]) + _budget(entry[2]["stage"])
    ]


def run_partitions(
    pipeline: PipelineSpec | Dag,
    state_dir: str | Path,
    partitions: Sequence[Partition | None],
    *,
    executor: Executor | None = None,
    parallel: int = 1,
    **options: Any,
) -> list[RunResult]:
    """Run several partitions (a backfill), up to ``parallel`` of them at once.

    Each partition is its own run with its own history row, exactly as if
    run one after the other; with ``parallel > 1`` their stages share
    ``executor``, so independent partitions fill its workers.  Results come
    back in the order of ``partitions``.  ``options`` go to :func:`run`.
    """
    dag = _prepare(pipeline)
    own_executor = executor is None
    pool: Executor = executor if executor is not None else LocalExecutor()
    try:
        if parallel <= 1 or len(partitions) <= 1:
            return [run(dag, state_dir, partition=p, executor=pool, **options) for p in partitions]
        with ThreadPoolExecutor(
            max_workers=min(parallel, len(partitions)), thread_name_prefix="spe-partition"
        ) as drivers:
            futures = [
                drivers.submit(run, dag, state_dir, partition=p, executor=pool, **options)
                for p in partitions
            ]
            return [f.result() for f in futures]
    finally:
        if own_executor:
            pool.shutdown()

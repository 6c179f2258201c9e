"""Running a checked pipeline: caching, retries, timeouts, resume, lineage.

The scheduler walks the DAG with a ready queue.  For each ready stage it
computes a cache key from the stage's fingerprint (kind, config, declared
schema, code hash), its inputs' *output content hashes* and its partition; a
hit skips the stage without loading any data, which is why an unchanged
1,000-stage pipeline re-runs in well under a second.  Because keys use the
content of inputs rather than their keys, a stage whose code changed but
whose output did not leaves everything downstream cached (early cut-off).

Stages that must run go to an :class:`Executor` (a local thread pool by
default).  Each attempt may have a timeout; failures are retried with
exponential backoff and jitter.  Every finished stage is committed to the
store at once, so a crashed run resumes from the last completed stage.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import blake3
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped

from synthetic_pipeline_engine._dag import Dag, check_pipeline
from synthetic_pipeline_engine._partitions import Partition
from synthetic_pipeline_engine._spec import PipelineSpec, StageSpec
from synthetic_pipeline_engine._stages import (
    StageOutput,
    execute_stage,
    profile_table,
    resolve_path,
    substitute,
)
from synthetic_pipeline_engine._store import CacheEntry, RunStore
from synthetic_pipeline_engine.errors import (
    PipelineError,
    PipelineInputError,
    PipelineStageError,
    PipelineStageTimeoutError,
    PipelineValidationError,
)

__all__ = ["Executor", "LocalExecutor", "PlanItem", "RunResult", "StageResult", "plan", "run"]

_PASS_THROUGH = ("validate", "sink")


class Executor(Protocol):
    """Where stage attempts run; ``parallel_architecture_framework`` can provide one."""

    def submit(self, fn: Callable[[], StageOutput]) -> Future[StageOutput]: ...

    def shutdown(self) -> None: ...


class LocalExecutor:
    """A thread pool: stages are I/O or release the GIL in Arrow, Polars and DuckDB.

    When only one stage can run (a chain), the scheduler runs it on its own
    thread instead of handing it over, which saves a thread wake-up per stage.
    """

    runs_inline_when_alone = True

    def __init__(self, max_workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="spe-stage")

    def submit(self, fn: Callable[[], StageOutput]) -> Future[StageOutput]:
        return self._pool.submit(fn)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


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


def _store_table(table: pa.Table, cache_dir: Path) -> tuple[str, Path]:
    """Write ``table`` as Arrow IPC named by its content hash; return (hash, path)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    buffer = sink.getvalue()
    digest = str(blake3.blake3(memoryview(buffer)).hexdigest())[:40]
    final = cache_dir / f"{digest}.arrow"
    if not final.is_file():
        tmp = cache_dir / f".{digest}.{threading.get_ident()}.tmp"
        with pa.OSFile(str(tmp), "wb") as handle:
            handle.write(buffer)
        tmp.replace(final)
    return digest, final


def _read_ipc(path: Path) -> pa.Table:
    with pa.memory_map(str(path), "r") as source:
        return pa.ipc.open_file(source).read_all()


class _Attempts:
    """Runs one stage with retries, backoff and per-attempt timeouts."""

    def __init__(self, sleep: Callable[[float], None], rng: random.Random) -> None:
        self.sleep = sleep
        self.rng = rng
        self.lock = threading.Lock()

    def delay(self, stage: StageSpec, attempt: int) -> float:
        with self.lock:
            jitter = self.rng.uniform(0.5, 1.0)
        return float(min(stage.backoff * (2**attempt) * jitter, 60.0))

    def once(self, stage: StageSpec, call: Callable[[], StageOutput]) -> StageOutput:
        if stage.timeout is None:
            return call()
        box: dict[str, Any] = {}
        done = threading.Event()

        def target() -> None:
            try:
                box["value"] = call()
            except BaseException as exc:  # handed to the waiting thread below
                box["error"] = exc
            finally:
                done.set()

        worker = threading.Thread(target=target, name=f"spe-{stage.name}", daemon=True)
        worker.start()
        if not done.wait(stage.timeout):
            raise PipelineStageTimeoutError(
                f"stage {stage.name!r} ran longer than its timeout of {stage.timeout:g} s",
                stage=stage.name,
                hint="raise 'timeout' for this stage or make it faster",
            )
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]  # set by target() before done

    def run(
        self, stage: StageSpec, call: Callable[[], StageOutput], counter: list[int]
    ) -> StageOutput:
        attempt = 0
        while True:
            counter[0] = attempt + 1
            try:
                return self.once(stage, call)
            except PipelineValidationError:
                raise  # data problems do not go away by retrying
            except Exception as exc:
                if attempt >= stage.retries:
                    if isinstance(exc, PipelineError):
                        raise
                    raise PipelineStageError(
                        f"stage {stage.name!r} failed after {attempt + 1} attempt(s): {type(exc).__name__}: {exc}",
                        stage=stage.name,
                        hint="see the stage's error in 'spe report' and fix the cause",
                    ) from exc
                self.sleep(self.delay(stage, attempt))
                attempt += 1


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
    attempts = _Attempts(sleep, random.Random(seed))  # noqa: S311  # jitter, not security
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
        results: dict[str, StageResult] = {}
        outputs: dict[str, tuple[str, Path | None]] = {}  # stage -> (output hash, data file)
        children: dict[str, list[str]] = {n: [] for n in dag.order}
        waiting = {n: len(dag.deps[n]) for n in dag.order}
        for name, parents in dag.deps.items():
            for parent in parents:
                children[parent].append(name)
        ready = [n for n in dag.order if waiting[n] == 0]
        running: dict[Future[StageOutput], tuple[str, str, dict[str, Any], float, list[int]]] = {}

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
            return _read_ipc(path)

        def finish(name: str, result: StageResult) -> None:
            results[name] = result
            store.record_stage(
                run_id,
                name,
                result.kind,
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
                "fingerprint": stage.fingerprint(),
                "inputs": inputs,
                "external": external,
                "key": key,
            }
            counter = [0]
            t_start = time.perf_counter()
            if getattr(pool, "runs_inline_when_alone", False) and not running and not ready:
                inline: Future[StageOutput] = Future()
                try:
                    inline.set_result(
                        attempts.run(
                            stage, lambda: execute_stage(spec, stage, load, partition), counter
                        )
                    )
                except Exception as exc:
                    inline.set_exception(exc)
                running[inline] = (name, reason, meta, t_start, counter)
                return
            future = pool.submit(
                lambda: attempts.run(
                    stage, lambda: execute_stage(spec, stage, load, partition), counter
                )
            )
            running[future] = (name, reason, meta, time.perf_counter(), counter)

        def complete(future: Future[StageOutput]) -> None:
            name, reason, meta, t0, counter = running.pop(future)
            stage = spec.stages[name]
            duration = time.perf_counter() - t0
            try:
                output = future.result()
            except Exception as exc:
                details = dict(getattr(exc, "details", {}) or {})
                message = (
                    exc.one_line()
                    if isinstance(exc, PipelineError)
                    else f"{type(exc).__name__}: {exc}"
                )
                finish(
                    name,
                    StageResult(
                        name,
                        stage.kind,
                        "failed",
                        reason,
                        counter[0],
                        duration,
                        error=message,
                        details=details,
                    ),
                )
                return
            details = dict(output.details)
            if output.table is not None:
                outputs[name] = _store_table(output.table, store.cache_dir)
                if readers[name] > 0:
                    with memory_lock:
                        memory[name] = output.table
                rows: int | None = output.table.num_rows
                details["profile"] = profile_table(output.table)
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
            with store.transaction():
                if meta["key"] is not None:
                    store.cache_put(CacheEntry(meta["key"], name, digest, rows or 0, details))
                store.record_lineage(
                    output_hash=digest,
                    stage=name,
                    pipeline=spec.name,
                    run_id=run_id,
                    partition=partition.key if partition else None,
                    target=output.target,
                    code_hash=stage.code_hash,
                    params=dict(stage.config),
                    inputs=[{"stage": d, "output_hash": meta["inputs"][d]} for d in dag.deps[name]],
                )
                status = "warned" if not output.passed else "ran"
                finish(
                    name,
                    StageResult(
                        name,
                        stage.kind,
                        status,
                        reason,
                        counter[0],
                        duration,
                        rows,
                        meta["key"],
                        digest,
                        details=details,
                    ),
                )

        try:
            while ready or running:
                while ready:
                    decide(ready.pop(0))
                if running:
                    done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                    for future in done:
                        complete(future)
        except BaseException as exc:
            store.finish_run(run_id, "crashed", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if own_executor:
                pool.shutdown()
        failed = [r for r in results.values() if r.status == "failed"]
        status = "failed" if failed else "succeeded"
        store.finish_run(run_id, status, failed[0].error if failed else None)
    return RunResult(
        run_id,
        spec.name,
        partition.key if partition else None,
        status,
        results,
        time.perf_counter() - started,
    )

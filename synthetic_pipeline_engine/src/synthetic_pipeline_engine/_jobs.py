"""A stage job: one stage with all its attempts, runnable here or in another process.

The runner decides *whether* a stage runs (cache keys, resume, ``--from``);
a :class:`StageJob` is *how* it runs: attempts with per-attempt timeouts and
retries with backoff, ending in a :class:`StageOutcome` that carries either
the output or a one-line error, never an exception.  Because the outcome is
built in one place, a failing stage is reported with the same message,
attempt count and details whichever executor ran it.

A job runs in one of two modes:

* **in memory** (threads in this process): it reads inputs through the
  runner's loader, which hands over tables already held, and returns its
  table for the runner to store;
* **detached** (worker processes): the loader does not travel; the job
  memory-maps its inputs from the content-addressed Arrow cache files and
  writes its own output there, returning only the content hash.  Stage
  specifications travel with their function as a *reference* (module, name,
  file) that the worker resolves, see :meth:`StageSpec.__reduce__`.

Both modes write the cache file with the same function
(:func:`store_table`), so outputs are byte-identical across executors.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import blake3
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped

from synthetic_pipeline_engine._partitions import Partition
from synthetic_pipeline_engine._spec import PipelineSpec, StageSpec, restore_stage, stage_state
from synthetic_pipeline_engine._stages import Loader, StageOutput, execute_stage
from synthetic_pipeline_engine.errors import (
    PipelineError,
    PipelineStageError,
    PipelineStageTimeoutError,
    PipelineValidationError,
)

__all__ = ["StageJob", "StageOutcome", "failure_of", "read_ipc", "run_stage_job", "store_table"]


def store_table(table: pa.Table, cache_dir: Path) -> tuple[str, Path]:
    """Write ``table`` as Arrow IPC named by its content hash; return (hash, path).

    The file appears atomically (written aside, renamed), so a reader in
    another process never sees half of it; an existing file is left alone,
    since equal names mean equal bytes.
    """
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    buffer = sink.getvalue()
    digest = str(blake3.blake3(memoryview(buffer)).hexdigest())[:40]
    final = cache_dir / f"{digest}.arrow"
    if not final.is_file():
        tmp = cache_dir / f".{digest}.{threading.get_ident()}.{time.monotonic_ns()}.tmp"
        with pa.OSFile(str(tmp), "wb") as handle:
            handle.write(buffer)
        tmp.replace(final)
    return digest, final


def read_ipc(path: Path) -> pa.Table:
    """A cached stage output, memory-mapped (no copy until a column is touched)."""
    with pa.memory_map(str(path), "r") as source:
        return pa.ipc.open_file(source).read_all()


def failure_of(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """The one-line message and details a failed stage is recorded with."""
    details = dict(getattr(exc, "details", {}) or {})
    if isinstance(exc, PipelineError):
        return exc.one_line(), details
    return f"{type(exc).__name__}: {exc}", details


@dataclass
class StageOutcome:
    """What all attempts of one stage gave: an output or an error message.

    ``stored`` is set by detached jobs, which write their table to the cache
    themselves: (content hash, Arrow IPC path).
    """

    attempts: int
    output: StageOutput | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    stored: tuple[str, str] | None = None


@dataclass
class StageJob:
    """Everything needed to run one stage; picklable when ``load`` and ``sleep`` are dropped.

    Attributes:
        spec: the pipeline (paths resolve against its base directory).
        stage: the stage to run.
        partition: the partition being run, if any.
        input_files: Arrow IPC cache file of each input stage (detached mode).
        cache_dir: where detached jobs write their output.
        seed: seeds the retry jitter (None: fresh entropy).
        load: the runner's in-memory loader; not pickled.
        sleep: how to wait between attempts (tests inject a recorder); not pickled.
    """

    spec: PipelineSpec
    stage: StageSpec
    partition: Partition | None
    input_files: dict[str, str]
    cache_dir: str
    seed: int | None = None
    load: Loader | None = None
    sleep: Callable[[float], None] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Plain data for a worker: no loader, no sleep, the function as a reference."""
        state = dict(self.__dict__)
        state["load"] = None
        state["sleep"] = None
        state["stage"] = stage_state(self.stage)
        state["spec"] = replace(self.spec, stages={})  # paths need only its base directory
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # The stage is restored when the job runs, so a function the worker
        # cannot load becomes this stage's error rather than a broken message.
        self.__dict__.update(state)

    def __call__(self) -> StageOutcome:
        return run_stage_job(self)

    # ------------------------------------------------------------- attempts
    def _jitter(self) -> random.Random:
        if self.seed is None:
            return random.Random()  # noqa: S311  # nosec B311 -- jitter, not security
        return random.Random(f"{self.seed}/{self.stage.name}")  # noqa: S311  # nosec B311 -- jitter, not security

    def _load_file(self, name: str) -> pa.Table:
        path = self.input_files.get(name)
        if not path:
            raise PipelineStageError(
                f"output of {name!r} is not available",
                stage=name,
                hint="re-run with --from " + name,
            )
        return read_ipc(Path(path))

    def _once(self, call: Callable[[], StageOutput]) -> StageOutput:
        stage = self.stage
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

    def attempt_all(self, counter: list[int]) -> StageOutput:
        """Run the stage until it succeeds or its retries are spent; raise the last error.

        ``counter[0]`` holds the number of the attempt under way, so a caller
        knows how many attempts a failure took.
        """
        arrived: Any = self.stage
        if isinstance(arrived, tuple):  # sent from another process as stage_state()
            counter[0] = 1
            self.stage = restore_stage(arrived)
        stage = self.stage
        load = self.load if self.load is not None else self._load_file
        sleep = self.sleep if self.sleep is not None else time.sleep
        rng: random.Random | None = None

        def call() -> StageOutput:
            return execute_stage(self.spec, stage, load, self.partition)

        attempt = 0
        while True:
            counter[0] = attempt + 1
            try:
                return self._once(call)
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
                if rng is None:
                    rng = self._jitter()
                sleep(float(min(stage.backoff * (2**attempt) * rng.uniform(0.5, 1.0), 60.0)))
                attempt += 1


def run_stage_job(job: StageJob) -> StageOutcome:
    """Run ``job`` to its outcome; the function executors call (importable, so it pickles by name)."""
    counter = [0]
    try:
        output = job.attempt_all(counter)
    except Exception as exc:
        message, details = failure_of(exc)
        return StageOutcome(counter[0], error=message, details=details)
    attempts = counter[0]
    if job.load is None and output.table is not None:
        digest, path = store_table(output.table, Path(job.cache_dir))
        return StageOutcome(
            attempts,
            StageOutput(None, output.details, output.target, output.passed),
            stored=(digest, str(path)),
        )
    return StageOutcome(attempts, output)

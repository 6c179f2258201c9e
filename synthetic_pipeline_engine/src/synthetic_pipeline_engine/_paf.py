"""Stages as tasks of ``parallel_architecture_framework`` (the optional ``paf`` extra).

The runner keeps everything that decides *whether* and *what* a stage
records: cache keys, early cut-off, ``--from``, resume, lineage and the run
history stay in this process and in its SQLite store.  paf only runs
:class:`~synthetic_pipeline_engine._jobs.StageJob` s: on its thread pool the
job shares memory with the runner (tables handed over in memory, as with
the local executor); on its process pool the job travels pickled, reads its
inputs from the content-addressed Arrow cache and writes its output there,
so large tables never cross a pipe.

Retries, backoff and timeouts are the job's own (not paf's task options), so
attempt counts and error messages are the same on every executor; paf's
re-run of an attempt whose worker process died comes on top and is
invisible here except as time.

``parallel_architecture_framework`` is imported only when a
:class:`PafExecutor` is made; ``synthetic_pipeline_engine`` works without it.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from synthetic_pipeline_engine._jobs import StageJob, StageOutcome, run_stage_job
from synthetic_pipeline_engine.errors import PipelineInputError

__all__ = ["EXECUTOR_KINDS", "PafExecutor"]

EXECUTOR_KINDS = ("threads", "processes")


class PafExecutor:
    """Run stage jobs as tasks on a ``parallel_architecture_framework`` client.

    Args:
        kind: ``threads`` or ``processes`` (paf's executors of those names).
        workers: worker threads or processes (paf's default: available cores).

    Raises:
        PipelineInputError: unknown kind, or paf is not installed.
    """

    runs_inline_when_alone = False

    def __init__(self, kind: str = "processes", workers: int | None = None) -> None:
        if kind not in EXECUTOR_KINDS:
            raise PipelineInputError(
                f"unknown paf executor {kind!r}",
                hint=f"use paf:{' or paf:'.join(EXECUTOR_KINDS)}",
            )
        try:
            from parallel_architecture_framework import Client
        except ImportError as exc:
            raise PipelineInputError(
                "the paf executor needs parallel_architecture_framework, which is not installed",
                hint="pip install 'synthetic_pipeline_engine[paf]', or use --executor local",
            ) from exc
        self.kind = kind
        self.shares_memory = kind == "threads"
        self._client: Any = Client(kind, workers=workers, metrics=False, trace=False)

    @property
    def client(self) -> Any:
        """The paf ``Client`` (for its run summary and metrics)."""
        return self._client

    def submit(self, job: StageJob) -> Future[StageOutcome]:
        done: Future[StageOutcome] = Future()
        done.set_running_or_notify_cancel()
        task = self._client.submit(run_stage_job, job)

        def settle(settled: Any) -> None:
            error = settled.exception()
            if error is None:
                done.set_result(settled.result())
            else:
                done.set_exception(error)

        task.add_done_callback(settle)
        return done

    def shutdown(self) -> None:
        self._client.close()

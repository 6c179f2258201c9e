"""Declarative data pipelines with caching and lineage, and synthetic data that keeps the statistics of the real thing.

Pipelines: declare stages in YAML (:func:`load_pipeline`) or Python
(:class:`Pipeline`), check the graph (:func:`check_pipeline`), see what would
run (:func:`plan`) and run it (:func:`run`) with content-hash caching,
retries, timeouts, partitions and lineage kept in a :class:`RunStore`.

Synthetic data: describe tables (:func:`parse_generator_schema`) and
generate them (:func:`generate_tables`); or fit a :class:`GaussianCopula` on
a real table and sample from it; score the result with
:func:`evaluate_quality` and :func:`evaluate_privacy`.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from synthetic_pipeline_engine.errors import (
    PipelineDagError,
    PipelineError,
    PipelineInputError,
    PipelineModelError,
    PipelineSchemaError,
    PipelineSpecError,
    PipelineStageError,
    PipelineStageTimeoutError,
    PipelineStoreError,
    PipelineValidationError,
)

try:
    __version__ = version("synthetic_pipeline_engine")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"


if TYPE_CHECKING:
    from synthetic_pipeline_engine._copula import GaussianCopula
    from synthetic_pipeline_engine._dag import Dag, check_pipeline
    from synthetic_pipeline_engine._expectations import Expectation, ExpectationResult
    from synthetic_pipeline_engine._generate import generate_tables
    from synthetic_pipeline_engine._jobs import StageJob, StageOutcome
    from synthetic_pipeline_engine._multitable import ForeignKey, MultiTableSynthesizer
    from synthetic_pipeline_engine._paf import PafExecutor
    from synthetic_pipeline_engine._partitions import Partition, PartitionSpec
    from synthetic_pipeline_engine._quality import (
        PrivacyReport,
        QualityReport,
        evaluate_privacy,
        evaluate_quality,
    )
    from synthetic_pipeline_engine._regex import RegexGenerator
    from synthetic_pipeline_engine._report import render_quality_html, render_run_html
    from synthetic_pipeline_engine._runner import (
        Executor,
        LocalExecutor,
        PlanItem,
        RunResult,
        StageResult,
        make_executor,
        plan,
        run,
        run_partitions,
    )
    from synthetic_pipeline_engine._schema import GeneratorSchema, parse_generator_schema
    from synthetic_pipeline_engine._spec import (
        Pipeline,
        PipelineSpec,
        StageSpec,
        load_pipeline,
        parse_pipeline,
    )
    from synthetic_pipeline_engine._store import RunStore
    from synthetic_pipeline_engine._tableio import read_table, write_table
    from synthetic_pipeline_engine.config import PipelineSettings

_LAZY = {
    "GaussianCopula": "synthetic_pipeline_engine._copula",
    "Dag": "synthetic_pipeline_engine._dag",
    "check_pipeline": "synthetic_pipeline_engine._dag",
    "Expectation": "synthetic_pipeline_engine._expectations",
    "ExpectationResult": "synthetic_pipeline_engine._expectations",
    "generate_tables": "synthetic_pipeline_engine._generate",
    "StageJob": "synthetic_pipeline_engine._jobs",
    "StageOutcome": "synthetic_pipeline_engine._jobs",
    "PafExecutor": "synthetic_pipeline_engine._paf",
    "ForeignKey": "synthetic_pipeline_engine._multitable",
    "MultiTableSynthesizer": "synthetic_pipeline_engine._multitable",
    "Partition": "synthetic_pipeline_engine._partitions",
    "PartitionSpec": "synthetic_pipeline_engine._partitions",
    "PrivacyReport": "synthetic_pipeline_engine._quality",
    "QualityReport": "synthetic_pipeline_engine._quality",
    "evaluate_privacy": "synthetic_pipeline_engine._quality",
    "evaluate_quality": "synthetic_pipeline_engine._quality",
    "RegexGenerator": "synthetic_pipeline_engine._regex",
    "render_quality_html": "synthetic_pipeline_engine._report",
    "render_run_html": "synthetic_pipeline_engine._report",
    "Executor": "synthetic_pipeline_engine._runner",
    "LocalExecutor": "synthetic_pipeline_engine._runner",
    "PlanItem": "synthetic_pipeline_engine._runner",
    "RunResult": "synthetic_pipeline_engine._runner",
    "StageResult": "synthetic_pipeline_engine._runner",
    "make_executor": "synthetic_pipeline_engine._runner",
    "plan": "synthetic_pipeline_engine._runner",
    "run": "synthetic_pipeline_engine._runner",
    "run_partitions": "synthetic_pipeline_engine._runner",
    "GeneratorSchema": "synthetic_pipeline_engine._schema",
    "parse_generator_schema": "synthetic_pipeline_engine._schema",
    "Pipeline": "synthetic_pipeline_engine._spec",
    "PipelineSpec": "synthetic_pipeline_engine._spec",
    "StageSpec": "synthetic_pipeline_engine._spec",
    "load_pipeline": "synthetic_pipeline_engine._spec",
    "parse_pipeline": "synthetic_pipeline_engine._spec",
    "RunStore": "synthetic_pipeline_engine._store",
    "read_table": "synthetic_pipeline_engine._tableio",
    "write_table": "synthetic_pipeline_engine._tableio",
    "PipelineSettings": "synthetic_pipeline_engine.config",
}


__all__ = [
    "Dag",
    "Executor",
    "Expectation",
    "ExpectationResult",
    "ForeignKey",
    "GaussianCopula",
    "GeneratorSchema",
    "LocalExecutor",
    "MultiTableSynthesizer",
    "PafExecutor",
    "Partition",
    "PartitionSpec",
    "Pipeline",
    "PipelineDagError",
    "PipelineError",
    "PipelineInputError",
    "PipelineModelError",
    "PipelineSchemaError",
    "PipelineSettings",
    "PipelineSpec",
    "PipelineSpecError",
    "PipelineStageError",
    "PipelineStageTimeoutError",
    "PipelineStoreError",
    "PipelineValidationError",
    "PlanItem",
    "PrivacyReport",
    "QualityReport",
    "RegexGenerator",
    "RunResult",
    "RunStore",
    "StageJob",
    "StageOutcome",
    "StageResult",
    "StageSpec",
    "__version__",
    "check_pipeline",
    "evaluate_privacy",
    "evaluate_quality",
    "generate_tables",
    "load_pipeline",
    "make_executor",
    "parse_generator_schema",
    "parse_pipeline",
    "plan",
    "read_table",
    "render_quality_html",
    "render_run_html",
    "run",
    "run_partitions",
    "write_table",
]


def __getattr__(name: str) -> Any:
    """Import heavy modules (NumPy, SciPy, Arrow, DuckDB) only when first used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'synthetic_pipeline_engine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

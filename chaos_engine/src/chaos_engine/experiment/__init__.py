"""Chaos Toolkit-compatible experiments: load, validate, run, journal and report.

>>> from chaos_engine.experiment import load_experiment, validate_experiment, run_experiment
>>> exp = load_experiment("experiment.yaml")          # doctest: +SKIP
>>> validate_experiment(exp)                           # doctest: +SKIP
>>> journal = run_experiment(exp)                      # doctest: +SKIP
"""

from chaos_engine.experiment._controls import ExperimentInterrupted
from chaos_engine.experiment._events import CHAOS_SUBJECT, ExperimentEvents
from chaos_engine.experiment._jsonpath import JsonPathError
from chaos_engine.experiment._jsonpath import find as jsonpath_find
from chaos_engine.experiment._report import render_html, render_markdown
from chaos_engine.experiment._runner import DRY_MODES, RunOptions, exit_code_of, run_experiment
from chaos_engine.experiment._substitute import (
    convert_vars,
    load_configuration,
    load_secrets,
    merge_vars,
    substitute,
)
from chaos_engine.experiment._validate import (
    HYPOTHESIS_STRATEGIES,
    ROLLBACK_STRATEGIES,
    load_experiment,
    parse_experiment,
    validate_experiment,
)

__all__ = [
    "CHAOS_SUBJECT",
    "DRY_MODES",
    "HYPOTHESIS_STRATEGIES",
    "ROLLBACK_STRATEGIES",
    "ExperimentEvents",
    "ExperimentInterrupted",
    "JsonPathError",
    "RunOptions",
    "convert_vars",
    "exit_code_of",
    "jsonpath_find",
    "load_configuration",
    "load_experiment",
    "load_secrets",
    "merge_vars",
    "parse_experiment",
    "render_html",
    "render_markdown",
    "run_experiment",
    "substitute",
    "validate_experiment",
]

"""Loading an experiment file (JSON or YAML) and checking it the way Chaos Toolkit does.

Every problem is reported with the exact path inside the file, for example
``method[2].provider.module: missing``; :func:`validate_experiment` raises one
:class:`~chaos_engine.errors.ChaosExperimentError` naming the first problem
and carrying all of them in ``context['problems']``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import numbers
import os
import re
import shutil
from typing import Any

from chaos_engine.errors import ChaosExperimentError
from chaos_engine.experiment._jsonpath import JsonPathError, compile_path
from shared_core.cli import read_input_text

__all__ = [
    "HYPOTHESIS_STRATEGIES",
    "ROLLBACK_STRATEGIES",
    "load_experiment",
    "parse_experiment",
    "validate_experiment",
]

ROLLBACK_STRATEGIES = ("default", "always", "never", "deviated")
HYPOTHESIS_STRATEGIES = (
    "default",
    "before-method-only",
    "after-method-only",
    "during-method-only",
    "continuously",
)
_PROVIDERS = ("python", "process", "http")


def parse_experiment(text: str, source: str = "<experiment>") -> dict[str, Any]:
    """Parse JSON or YAML text into an experiment mapping (not yet validated)."""
    stripped = text.lstrip()
    data: Any
    if stripped.startswith(("{", "[")) or source.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ChaosExperimentError(
                f"not valid JSON: {exc.msg}", file=source, line=exc.lineno, column=exc.colno
            ) from exc
    else:
        yaml = importlib.import_module("yaml")

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise ChaosExperimentError(
                f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                file=source,
                line=mark.line + 1 if mark is not None else None,
                column=mark.column + 1 if mark is not None else None,
            ) from exc
    if not isinstance(data, dict):
        raise ChaosExperimentError(
            "an experiment must be a mapping at the top level", file=source, path="$"
        )
    return data


def load_experiment(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and parse an experiment file; raises :class:`ChaosExperimentError` when unreadable."""
    source = os.fspath(path)
    text = read_input_text(source, what="experiment", error=ChaosExperimentError)
    return parse_experiment(text, source)


class _Checker:
    def __init__(self, experiment: dict[str, Any]) -> None:
        self.experiment = experiment
        self.problems: list[tuple[str, str]] = []
        hypo = experiment.get("steady-state-hypothesis")
        method = experiment.get("method")
        named = list(method) if isinstance(method, list) else []
        if isinstance(hypo, dict) and isinstance(hypo.get("probes"), list):
            named += hypo["probes"]
        self.names = {
            a.get("name") for a in named if isinstance(a, dict) and isinstance(a.get("name"), str)
        }

    def fail(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def check(self) -> None:
        exp = self.experiment
        for key in ("title", "description"):
            if not exp.get(key):
                self.fail(key, "missing")
            elif not isinstance(exp[key], str):
                self.fail(key, "must be a string")
        tags = exp.get("tags")
        if tags is not None:
            if not isinstance(tags, list):
                self.fail("tags", "must be a list of strings")
            else:
                for i, tag in enumerate(tags):
                    if not isinstance(tag, str) or not tag:
                        self.fail(f"tags[{i}]", "must be a non-empty string")
        self.check_configuration(exp.get("configuration"))
        self.check_secrets(exp.get("secrets"))
        self.check_hypothesis(exp.get("steady-state-hypothesis"))
        method = exp.get("method")
        if method is None:
            self.fail("method", "missing (it may be an empty list)")
        elif not isinstance(method, list):
            self.fail("method", "must be a list of activities")
        else:
            for i, activity in enumerate(method):
                self.check_activity(f"method[{i}]", activity, allow_ref=True)
        rollbacks = exp.get("rollbacks", [])
        if not isinstance(rollbacks, list):
            self.fail("rollbacks", "must be a list of activities")
        else:
            for i, activity in enumerate(rollbacks):
                self.check_activity(f"rollbacks[{i}]", activity, allow_ref=False)
        self.check_controls("controls", exp.get("controls"))
        self.check_runtime(exp.get("runtime"))

    def check_configuration(self, conf: Any) -> None:
        if conf is None:
            return
        if not isinstance(conf, dict):
            self.fail("configuration", "must be a mapping")
            return
        for key, value in conf.items():
            if isinstance(value, dict) and value.get("type") == "env" and not value.get("key"):
                self.fail(f"configuration.{key}.key", "missing")
            if isinstance(value, dict) and value.get("type") == "probe":
                self.check_activity(f"configuration.{key}", value, allow_ref=False)

    def check_secrets(self, secrets: Any) -> None:
        if secrets is None:
            return
        if not isinstance(secrets, dict):
            self.fail("secrets", "must be a mapping of scopes")
            return
        for scope, entries in secrets.items():
            if not isinstance(entries, dict):
                self.fail(f"secrets.{scope}", "must be a mapping")
                continue
            for key, value in entries.items():
                if isinstance(value, dict) and value.get("type") == "env" and not value.get("key"):
                    self.fail(f"secrets.{scope}.{key}.key", "missing")

    def check_hypothesis(self, hypo: Any) -> None:
        if hypo is None:
            return
        if not isinstance(hypo, dict):
            self.fail("steady-state-hypothesis", "must be a mapping")
            return
        if not hypo.get("title"):
            self.fail("steady-state-hypothesis.title", "missing")
        probes = hypo.get("probes") or []
        if not isinstance(probes, list):
            self.fail("steady-state-hypothesis.probes", "must be a list of probes")
            return
        for i, probe in enumerate(probes):
            path = f"steady-state-hypothesis.probes[{i}]"
            self.check_activity(path, probe, allow_ref=False)
            if isinstance(probe, dict):
                if "tolerance" not in probe:
                    self.fail(f"{path}.tolerance", "missing")
                else:
                    self.check_tolerance(f"{path}.tolerance", probe["tolerance"])
        self.check_controls("steady-state-hypothesis.controls", hypo.get("controls"))

    def check_tolerance(self, path: str, tol: Any) -> None:
        if not isinstance(tol, bool | int | list | str | dict) or isinstance(tol, float):
            self.fail(path, "must be a boolean, an integer, a string, a list or a mapping")
            return
        if not isinstance(tol, dict):
            return
        kind = tol.get("type")
        if kind == "probe":
            self.check_activity(path, tol, allow_ref=False, tolerance_probe=True)
        elif kind == "regex":
            if "pattern" not in tol:
                self.fail(f"{path}.pattern", "missing")
            elif not isinstance(tol["pattern"], str):
                self.fail(f"{path}.pattern", "must be a string")
            else:
                try:
                    re.compile(tol["pattern"])
                except re.error as exc:
                    self.fail(f"{path}.pattern", f"invalid regular expression: {exc}")
        elif kind == "jsonpath":
            if "path" not in tol:
                self.fail(f"{path}.path", "missing")
            elif not isinstance(tol["path"], str) or not tol["path"].strip():
                self.fail(f"{path}.path", "must be a non-empty string")
            elif "${" not in tol["path"]:
                try:
                    compile_path(tol["path"])
                except JsonPathError as exc:
                    self.fail(f"{path}.path", f"invalid JSON path: {exc}")
        elif kind == "range":
            rng = tol.get("range")
            if rng is None:
                self.fail(f"{path}.range", "missing")
            elif not isinstance(rng, list) or len(rng) != 2:
                self.fail(f"{path}.range", "must be a list of two numbers")
            else:
                for j, bound in enumerate(rng):
                    if isinstance(bound, bool) or not isinstance(bound, int | float):
                        self.fail(f"{path}.range[{j}]", "must be a number")
        else:
            self.fail(f"{path}.type", f"unsupported tolerance type {kind!r}")

    def check_activity(
        self, path: str, activity: Any, *, allow_ref: bool, tolerance_probe: bool = False
    ) -> None:
        if not isinstance(activity, dict) or not activity:
            self.fail(path, "an activity must be a non-empty mapping")
            return
        if "ref" in activity:
            ref = activity["ref"]
            if not isinstance(ref, str) or not ref:
                self.fail(f"{path}.ref", "must be a non-empty string")
            elif allow_ref and ref not in self.names:
                self.fail(f"{path}.ref", f"no activity named {ref!r} in the method or hypothesis")
            return
        kind = activity.get("type")
        if not kind:
            self.fail(f"{path}.type", "missing")
        elif kind not in ("probe", "action") and not tolerance_probe:
            self.fail(f"{path}.type", f"must be 'probe' or 'action', not {kind!r}")
        if not activity.get("name"):
            self.fail(f"{path}.name", "missing")
        timeout = activity.get("timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float)
        ):
            self.fail(f"{path}.timeout", "must be a number of seconds")
        pauses = activity.get("pauses")
        if pauses is not None:
            if not isinstance(pauses, dict):
                self.fail(f"{path}.pauses", "must be a mapping with before/after")
            else:
                for when in ("before", "after"):
                    value = pauses.get(when)
                    if value is None or isinstance(value, numbers.Number):
                        continue
                    if not (
                        isinstance(value, str) and value.startswith("${") and value.endswith("}")
                    ):
                        self.fail(
                            f"{path}.pauses.{when}",
                            "must be a number or a ${name} reference to the configuration",
                        )
        if "background" in activity and not isinstance(activity["background"], bool):
            self.fail(f"{path}.background", "must be true or false")
        self.check_controls(f"{path}.controls", activity.get("controls"))
        provider = activity.get("provider")
        if not provider:
            self.fail(f"{path}.provider", "missing")
            return
        if not isinstance(provider, dict):
            self.fail(f"{path}.provider", "must be a mapping")
            return
        ptype = provider.get("type")
        if not ptype:
            self.fail(f"{path}.provider.type", "missing")
        elif ptype not in _PROVIDERS:
            self.fail(
                f"{path}.provider.type", f"must be one of python, process, http, not {ptype!r}"
            )
        elif ptype == "python":
            self.check_python(f"{path}.provider", provider, tolerance_probe)
        elif ptype == "process":
            self.check_process(f"{path}.provider", provider)
        else:
            self.check_http(f"{path}.provider", provider)

    def check_python(self, path: str, provider: dict[str, Any], tolerance_probe: bool) -> None:
        module, func = provider.get("module"), provider.get("func")
        if not module:
            self.fail(f"{path}.module", "missing")
        if not func:
            self.fail(f"{path}.func", "missing")
        if not module or not func:
            return
        arguments = provider.get("arguments", {})
        if arguments is not None and not isinstance(arguments, dict):
            self.fail(f"{path}.arguments", "must be a mapping of argument names to values")
            return
        try:
            mod = importlib.import_module(str(module))
        except Exception as exc:
            self.fail(f"{path}.module", f"cannot import {module!r}: {type(exc).__name__}: {exc}")
            return
        target = getattr(mod, str(func), None)
        if not callable(target):
            self.fail(f"{path}.func", f"module {module!r} has no function {func!r}")
            return
        try:
            sig = inspect.signature(target)
        except (TypeError, ValueError):
            return
        args = dict(arguments or {})
        for injected in ("secrets", "configuration"):
            if injected in sig.parameters:
                args[injected] = None
        if tolerance_probe:
            args.setdefault("value", None)
        try:
            sig.bind(**args)
        except TypeError as exc:
            self.fail(f"{path}.arguments", f"do not match {module}.{func}{sig}: {exc}")

    def check_process(self, path: str, provider: dict[str, Any]) -> None:
        raw = provider.get("path")
        if not raw:
            self.fail(f"{path}.path", "missing")
            return
        found = shutil.which(os.path.expanduser(str(raw)))
        if not found:
            self.fail(f"{path}.path", f"{raw!r} cannot be found")
        elif not os.access(found, os.X_OK):
            self.fail(f"{path}.path", f"{raw!r} is not executable")
        args = provider.get("arguments")
        if args is not None and not isinstance(args, list | str | dict):
            self.fail(f"{path}.arguments", "must be a list, a string or a mapping")
        timeout = provider.get("timeout")
        if timeout is not None and not isinstance(timeout, numbers.Number | str):
            self.fail(f"{path}.timeout", "must be a number of seconds")

    def check_http(self, path: str, provider: dict[str, Any]) -> None:
        if not provider.get("url"):
            self.fail(f"{path}.url", "missing")
        headers = provider.get("headers")
        if headers and not isinstance(headers, dict):
            self.fail(f"{path}.headers", "must be a mapping")

    def check_controls(self, path: str, controls: Any) -> None:
        if controls is None:
            return
        if not isinstance(controls, list):
            self.fail(path, "must be a list of controls")
            return
        for i, control in enumerate(controls):
            here = f"{path}[{i}]"
            if not isinstance(control, dict):
                self.fail(here, "a control must be a mapping")
                continue
            if not control.get("name"):
                self.fail(f"{here}.name", "missing")
            if "ref" in control:
                continue
            scope = control.get("scope")
            if scope is not None and scope not in ("before", "after"):
                self.fail(f"{here}.scope", "must be 'before' or 'after'")
            provider = control.get("provider")
            if not isinstance(provider, dict):
                self.fail(f"{here}.provider", "missing")
            elif provider.get("type") != "python":
                self.fail(f"{here}.provider.type", "must be 'python'")
            elif not provider.get("module"):
                self.fail(f"{here}.provider.module", "missing")

    def check_runtime(self, runtime: Any) -> None:
        if runtime is None:
            return
        if not isinstance(runtime, dict):
            self.fail("runtime", "must be a mapping")
            return
        for section, allowed in (
            ("rollbacks", ROLLBACK_STRATEGIES),
            ("hypothesis", HYPOTHESIS_STRATEGIES),
        ):
            value = runtime.get(section)
            if value is None:
                continue
            strategy = value.get("strategy") if isinstance(value, dict) else None
            if strategy is not None and strategy not in (*allowed, "continously"):
                self.fail(f"runtime.{section}.strategy", f"must be one of {', '.join(allowed)}")


def validate_experiment(experiment: dict[str, Any], source: str | None = None) -> None:
    """Raise :class:`ChaosExperimentError` naming the first problem's path; return when valid."""
    checker = _Checker(experiment)
    checker.check()
    if checker.problems:
        path, message = checker.problems[0]
        more = len(checker.problems) - 1
        text = f"{path}: {message}" + (
            f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        )
        raise ChaosExperimentError(
            text,
            file=source,
            path=path,
            problems=[f"{p}: {m}" for p, m in checker.problems],
            hint="fix the experiment file; 'chaos_engine validate FILE' lists every problem",
        )

"""Chaos Toolkit controls: Python hooks called before and after each level of a run.

A control names a module; the runner calls ``before_<level>_control`` and
``after_<level>_control`` for the levels ``experiment``, ``hypothesis``,
``method``, ``rollback`` and ``activity`` when the module defines them, plus
``configure_control`` once and ``cleanup_control`` at the end.  A control
that raises is logged and ignored, except :class:`ExperimentInterrupted`,
which stops the run as Chaos Toolkit's ``InterruptExecution`` does.
"""

from __future__ import annotations

import copy
import importlib
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from chaos_engine.experiment._substitute import substitute
from shared_core.logging import get_logger

__all__ = ["Controls", "ExperimentInterrupted"]

log = get_logger("chaos_engine.controls")


class ExperimentInterrupted(BaseException):
    """Stop the run now; rollbacks follow the rollback strategy.

    A ``BaseException`` so that a provider's ``except Exception`` cannot swallow it.
    """


def _module(control: dict[str, Any]) -> ModuleType | None:
    try:
        return importlib.import_module(str(control.get("provider", {}).get("module")))
    except ImportError:
        log.warning("control module cannot be imported", control=control.get("name"))
        return None


def _call(func: Any, fixed: dict[str, Any], offered: dict[str, Any]) -> None:
    params = inspect.signature(func).parameters
    args = dict(fixed)
    args.update({k: v for k, v in offered.items() if k in params})
    func(**args)


class Controls:
    """The controls of one experiment, applied around each level."""

    def __init__(
        self, experiment: dict[str, Any], configuration: dict[str, Any], secrets: dict[str, Any]
    ) -> None:
        self.experiment = experiment
        self.configuration = configuration
        self.secrets = secrets
        self.top: list[dict[str, Any]] = [
            c for c in experiment.get("controls", []) or [] if "provider" in c
        ]

    def _all(self) -> list[dict[str, Any]]:
        found = list(self.top)
        hypo = self.experiment.get("steady-state-hypothesis") or {}
        found += hypo.get("controls", []) or []
        for key in ("method", "rollbacks"):
            for activity in self.experiment.get(key, []) or []:
                found += activity.get("controls", []) or []
        for activity in hypo.get("probes", []) or []:
            found += activity.get("controls", []) or []
        return [c for c in found if "provider" in c]

    def configure(self) -> None:
        for control in self._all():
            mod = _module(control)
            func = getattr(mod, "configure_control", None)
            if func is None:
                continue
            try:
                _call(
                    func,
                    copy.deepcopy(control["provider"].get("arguments", {}) or {}),
                    {
                        "experiment": self.experiment,
                        "configuration": self.configuration,
                        "secrets": self.secrets,
                        "settings": {},
                    },
                )
            except Exception as exc:
                log.warning("configure_control failed", control=control.get("name"), error=str(exc))

    def cleanup(self) -> None:
        for control in self._all():
            func = getattr(_module(control), "cleanup_control", None)
            if func is not None:
                try:
                    func()
                except Exception as exc:
                    log.warning(
                        "cleanup_control failed", control=control.get("name"), error=str(exc)
                    )

    def _for(self, level: str, context: dict[str, Any]) -> list[dict[str, Any]]:
        own = [c for c in context.get("controls", []) or [] if level != "experiment"]
        automatic = [c for c in self.top if c.get("automatic", True)]
        if level in ("experiment", "method", "rollback"):
            return automatic if level != "experiment" else list(self.top)
        out: list[dict[str, Any]] = []
        names = {c.get("name") for c in own}
        out += [c for c in automatic if c.get("name") not in names]
        for c in own:
            if "ref" in c:
                out += [t for t in self.top if t.get("name") == c["ref"]]
            elif "provider" in c:
                out.append(c)
        return out

    def apply(self, level: str, scope: str, context: dict[str, Any], state: Any = None) -> None:
        for control in self._for(level, context):
            if control.get("scope") not in (None, scope):
                continue
            func = getattr(_module(control), f"{scope}_{level}_control", None)
            if func is None:
                continue
            arguments = copy.deepcopy(control["provider"].get("arguments", {}) or {})
            if self.configuration or self.secrets:
                arguments = substitute(arguments, self.configuration, self.secrets)
            offered = {
                "state": state,
                "experiment": self.experiment,
                "configuration": self.configuration,
                "secrets": self.secrets,
                "extensions": self.experiment.get("extensions"),
                "settings": {},
            }
            try:
                _call(func, {"context": context, **arguments}, offered)
            except ExperimentInterrupted:
                raise
            except Exception as exc:
                log.warning(
                    f"{scope}-control failed",
                    control=control.get("name"),
                    level=level,
                    error=str(exc),
                )

    @contextmanager
    def around(self, level: str, context: dict[str, Any]) -> Iterator[list[Any]]:
        """Apply before-controls, yield a one-slot box for the state, then after-controls."""
        box: list[Any] = [None]
        self.apply(level, "before", context)
        try:
            yield box
        finally:
            self.apply(level, "after", context, box[0])

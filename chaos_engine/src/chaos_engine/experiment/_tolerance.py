"""Checking a probe's output against its tolerance, with Chaos Toolkit's rules.

* ``true``/``false``, a string or an integer: equality (an integer against an
  output that has a ``status`` compares the status: process and HTTP probes).
* a list: membership of the ``status`` when the output has one, otherwise a
  two-element list is an inclusive range and a longer one a membership list.
* ``{"type": "regex", "pattern", "target"?}``, ``{"type": "jsonpath", "path",
  "expect"?, "count"?, "target"?}``, ``{"type": "range", "range": [lo, hi],
  "target"?}`` and ``{"type": "probe", ...}`` (an activity called with
  ``value=output``; truthy means within tolerance).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from chaos_engine.errors import ChaosActivityError
from chaos_engine.experiment._jsonpath import find
from chaos_engine.experiment._substitute import substitute

__all__ = ["within_tolerance"]

RunActivity = Callable[[dict[str, Any]], Any]


def _target(tolerance: dict[str, Any], value: Any) -> Any:
    target = tolerance.get("target")
    if target and isinstance(value, dict):
        return value.get(target, value)
    return value


def within_tolerance(
    tolerance: Any,
    value: Any,
    configuration: dict[str, Any],
    secrets: dict[str, Any],
    run_activity: RunActivity,
) -> bool:
    """Whether ``value`` is within ``tolerance`` (validated beforehand)."""
    if isinstance(tolerance, bool | str):
        return bool(value == tolerance)
    if isinstance(tolerance, int):
        if isinstance(value, dict) and "status" in value:
            return bool(value["status"] == tolerance)
        return bool(value == tolerance)
    if isinstance(tolerance, list):
        if isinstance(value, dict) and "status" in value:
            return value["status"] in tolerance
        if len(tolerance) == 2:
            try:
                return bool(tolerance[0] <= value <= tolerance[1])
            except TypeError:
                return False
        return value in tolerance
    if not isinstance(tolerance, dict):
        return False
    kind = tolerance.get("type")
    if kind == "probe":
        probe = dict(tolerance)
        provider = dict(probe.get("provider", {}))
        provider["arguments"] = {**provider.get("arguments", {}), "value": value}
        probe["provider"] = provider
        try:
            return bool(run_activity(probe))
        except ChaosActivityError:
            return False
    if kind == "regex":
        pattern = substitute(tolerance.get("pattern"), configuration, secrets)
        subject = _target(tolerance, value)
        if not isinstance(subject, str):
            subject = str(subject)
        return re.search(str(pattern), subject) is not None
    if kind == "jsonpath":
        path = substitute(tolerance.get("path"), configuration, secrets)
        subject = _target(tolerance, value)
        if isinstance(subject, bytes):
            subject = subject.decode("utf-8", "replace")
        if isinstance(subject, str):
            with contextlib.suppress(json.JSONDecodeError):
                subject = json.loads(subject)
        values = find(str(path), subject)
        result = len(values) > 0
        if tolerance.get("count") is not None:
            result = len(values) == tolerance["count"]
        if "expect" in tolerance:
            expect = substitute(tolerance["expect"], configuration, secrets)
            result = values == (expect if isinstance(expect, list) else [expect])
        return result
    if kind == "range":
        subject = _target(tolerance, value)
        try:
            number = Decimal(subject)
            low, high = (Decimal(b) for b in tolerance["range"])
        except (InvalidOperation, TypeError, ValueError):
            return False
        return low <= number <= high
    return False

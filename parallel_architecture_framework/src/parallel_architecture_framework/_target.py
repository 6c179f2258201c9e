"""What ``paf run module:function`` runs: finding the function and calling it.

The target is ``package.module:function`` (imported by name) or
``path/to/file.py:function`` (loaded from the file).  The function either
returns a :class:`Graph`, which is computed on the client, or takes one
parameter named ``client`` and uses it directly; its return value (futures
are gathered) is the run's result.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from parallel_architecture_framework._client import Client, gather
from parallel_architecture_framework._future import Future
from parallel_architecture_framework._graph import Graph
from parallel_architecture_framework.errors import ParallelInputError

__all__ = ["load_target", "parse_target", "run_target"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_target(spec: str) -> tuple[str, str]:
    """Split ``module:function``; raises :class:`ParallelInputError` on anything else."""
    module, sep, name = spec.rpartition(":")
    if not sep or not module or not name:
        raise ParallelInputError(
            f"target {spec!r} is not module:function",
            field="target",
            hint="e.g. paf run mypkg.jobs:build_graph or paf run ./jobs.py:build_graph",
        )
    if not all(_IDENTIFIER.match(part) for part in name.split(".")):
        raise ParallelInputError(
            f"{name!r} in target {spec!r} is not a Python name",
            field="target",
            hint="name a function defined at the module's top level",
        )
    if not module.endswith(".py") and not all(
        _IDENTIFIER.match(part) for part in module.split(".")
    ):
        raise ParallelInputError(
            f"{module!r} in target {spec!r} is neither a module name nor a .py file",
            field="target",
            hint="use dotted module names (mypkg.jobs) or a path ending in .py",
        )
    return module, name


def load_target(spec: str) -> Callable[..., Any]:
    """Import the module (or load the file) and return the named callable."""
    module_name, name = parse_target(spec)
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise ParallelInputError(f"no such file {path}", path=str(path), hint="check the path")
        unique = "paf_target_" + re.sub(r"\W", "_", path.stem)
        module_spec = importlib.util.spec_from_file_location(unique, path)
        if module_spec is None or module_spec.loader is None:
            raise ParallelInputError(
                f"cannot load {path} as Python", path=str(path), hint="name a .py file"
            )
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[unique] = module
        try:
            module_spec.loader.exec_module(module)
        except SyntaxError as exc:
            raise ParallelInputError(
                f"{path} has a syntax error: {exc.msg}",
                path=str(path),
                line=exc.lineno,
                hint="fix the file and rerun",
            ) from exc
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise ParallelInputError(
                f"cannot import module {module_name!r}: {exc}",
                field="target",
                hint="install the package, or give a path ending in .py",
            ) from exc
    target: Any = module
    for part in name.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ParallelInputError(
                f"{module_name} has no attribute {name!r}",
                field="target",
                hint="check the function name after the colon",
            )
    if not callable(target):
        raise ParallelInputError(
            f"{spec} is a {type(target).__name__}, not a function",
            field="target",
            hint="name a function that builds a Graph or takes a client",
        )
    return target  # type: ignore[no-any-return]


def run_target(
    func: Callable[..., Any], client: Client, kwargs: dict[str, Any], timeout: float | None = None
) -> Any:
    """Call the target and compute what it gives; returns plain results."""
    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):
        parameters = {}  # type: ignore[assignment]
    produced = func(client=client, **kwargs) if "client" in parameters else func(**kwargs)
    return _resolve(produced, client, timeout)


def _resolve(value: Any, client: Client, timeout: float | None) -> Any:
    if isinstance(value, Graph):
        results = client.run(value, timeout=timeout)
        sinks = _sinks(value)
        return results[sinks[0]] if len(sinks) == 1 else [results[i] for i in sinks]
    if isinstance(value, Future):
        return value.result(timeout=timeout)
    if isinstance(value, list | tuple) and value and all(isinstance(v, Future) for v in value):
        return gather(list(value), timeout=timeout)
    if isinstance(value, dict) and value and all(isinstance(v, Future) for v in value.values()):
        keys = list(value)
        return dict(zip(keys, gather([value[k] for k in keys], timeout=timeout), strict=True))
    return value


def _sinks(graph: Graph) -> list[int]:
    """Indexes of nodes nothing depends on: the graph's outputs."""
    used = {dep.index for node in graph.nodes for dep in node.deps}
    return [node.index for node in graph.nodes if node.index not in used]

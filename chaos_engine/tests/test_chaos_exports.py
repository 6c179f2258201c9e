"""Every public module's ``__all__`` lists exactly its public names."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = [
    "chaos_engine",
    "chaos_engine.experiment",
    "chaos_engine.proxy",
    "chaos_engine.host",
    "chaos_engine.actions",
    "chaos_engine.errors",
    "chaos_engine.lab_control",
    "chaos_engine.testing",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_complete(name: str) -> None:
    """Names defined or re-exported without an underscore are in ``__all__``, and all of ``__all__`` exists."""
    module = importlib.import_module(name)
    exported = set(module.__all__)
    assert all(hasattr(module, n) for n in exported)
    package = hasattr(module, "__path__")

    def defined_here(value: object) -> bool:
        origin = getattr(value, "__module__", None) or ""
        return origin == name or (package and origin.startswith(name + "."))

    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and not inspect.ismodule(v) and defined_here(v)
    }
    assert public - exported == set()

"""A Chaos Toolkit control that sets up a network lab before a run and removes it after.

Declare it in an experiment's ``controls`` (it also works under Chaos Toolkit)::

    "controls": [{"name": "lab", "provider": {"type": "python",
        "module": "chaos_engine.lab_control", "arguments": {"name": "demo", "hosts": ["a", "b"]}}}]
"""

from __future__ import annotations

from chaos_engine import host

__all__ = ["cleanup_control", "configure_control"]

_tokens: list[int] = []


def configure_control(
    name: str, hosts: list[str], subnet: str = "10.231.0.0/24", **_: object
) -> None:
    """Create the lab (namespaces on one bridge) before the experiment starts."""
    _tokens.append(host.create_lab(name, list(hosts), subnet).token)


def cleanup_control() -> None:
    """Remove the labs this control made."""
    while _tokens:
        host.UNDO.undo(_tokens.pop())

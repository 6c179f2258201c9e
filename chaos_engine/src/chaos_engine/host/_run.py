"""Running the system tools host faults use (``ip``, ``nft``, ``tc``), with clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess

from chaos_engine.errors import ChaosFaultError

__all__ = ["is_root", "need_root", "need_tool", "run_tool"]


def is_root() -> bool:
    """Whether this process runs as root (host faults need it)."""
    return os.geteuid() == 0


def need_root(what: str) -> None:
    if not is_root():
        raise ChaosFaultError(f"{what} needs root privileges", hint="run the experiment as root")


def need_tool(name: str) -> str:
    """The path of a system tool, or a :class:`ChaosFaultError` saying which package has it."""
    path = shutil.which(name)
    if path is None:
        package = {"nft": "nftables", "ip": "iproute2", "tc": "iproute2"}.get(name, name)
        raise ChaosFaultError(f"'{name}' is not installed", hint=f"install the {package} package")
    return path


def run_tool(
    *argv: str, namespace: str | None = None, stdin: str | None = None, check: bool = True
) -> str:
    """Run ``argv`` (inside ``namespace`` when given) and return its stdout."""
    cmd = [need_tool(argv[0]), *argv[1:]]
    if namespace is not None:
        cmd = [need_tool("ip"), "netns", "exec", namespace, *cmd]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False, timeout=30)
    if check and proc.returncode != 0:
        raise ChaosFaultError(
            f"{' '.join(argv[:3])} failed: {proc.stderr.strip() or proc.stdout.strip()}",
            command=" ".join(cmd),
        )
    return proc.stdout

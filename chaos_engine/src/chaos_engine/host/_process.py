"""Process faults: kill, stop (SIGSTOP) and continue (SIGCONT), by pid or command-line pattern.

A stop registers its continue as undo before it signals.  Targets are
checked first: pid 1, this process and its ancestors are always refused,
and when ``allowed_pids`` or ``allowed_patterns`` are given, anything else
is refused too, with a clear error.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
from pathlib import Path

from chaos_engine.errors import ChaosFaultError, ChaosFaultRefusedError
from chaos_engine.host._undo import UNDO

__all__ = ["check_targets", "find_processes", "signal_processes"]


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def _ancestors() -> set[int]:
    out = {os.getpid()}
    pid = os.getpid()
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        out.add(pid)
    return out


def find_processes(pattern: str) -> list[int]:
    """Pids whose command line matches the regular expression ``pattern`` (not this process)."""
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise ChaosFaultRefusedError(
            f"pattern {pattern!r} is not a valid regular expression: {exc}"
        ) from exc
    mine = _ancestors()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) not in mine:
            cmd = _cmdline(int(entry.name))
            if cmd and rx.search(cmd):
                found.append(int(entry.name))
    return sorted(found)


def check_targets(
    pids: list[int], allowed_pids: list[int] | None, allowed_patterns: list[str] | None
) -> None:
    """Refuse pid 1, this process and its ancestors; with an allow-list, anything not on it."""
    protected = _ancestors() | {1}
    for pid in pids:
        if pid in protected:
            raise ChaosFaultRefusedError(
                f"refusing to signal pid {pid}: it is init, this process or one of its parents"
            )
        if allowed_pids is None and allowed_patterns is None:
            continue
        ok = pid in (allowed_pids or []) or any(
            re.search(p, _cmdline(pid)) for p in allowed_patterns or []
        )
        if not ok:
            raise ChaosFaultRefusedError(
                f"refusing to signal pid {pid} ({_cmdline(pid)[:60]!r}): not among the experiment's allowed targets",
                hint="list it in allowed_pids or allowed_patterns",
            )


def _send(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def signal_processes(
    action: str,
    pid: int | None = None,
    pattern: str | None = None,
    allowed_pids: list[int] | None = None,
    allowed_patterns: list[str] | None = None,
) -> list[int]:
    """``kill``, ``stop`` or ``continue`` the target processes; returns their pids.

    ``stop`` registers ``continue`` as its undo first.  ``kill`` cannot be
    undone; it is refused for the same targets as the others.
    """
    signals = {
        "kill": signal.SIGKILL,
        "terminate": signal.SIGTERM,
        "stop": signal.SIGSTOP,
        "continue": signal.SIGCONT,
    }
    if action not in signals:
        raise ChaosFaultRefusedError(
            f"unknown process action {action!r}", hint=f"use one of {', '.join(signals)}"
        )
    if (pid is None) == (pattern is None):
        raise ChaosFaultRefusedError("give exactly one of pid or pattern")
    pids = [pid] if pid is not None else find_processes(str(pattern))
    if not pids:
        raise ChaosFaultError(f"no process matches {pattern!r}")
    check_targets(pids, allowed_pids, allowed_patterns)
    for target in pids:
        if action == "stop":
            UNDO.register(
                f"continue pid {target} (stopped)", functools.partial(_send, target, signal.SIGCONT)
            )
        try:
            os.kill(target, signals[action])
        except ProcessLookupError as exc:
            raise ChaosFaultError(f"pid {target} does not exist") from exc
        except PermissionError as exc:
            raise ChaosFaultError(
                f"not allowed to signal pid {target}", hint="run as root"
            ) from exc
    return pids

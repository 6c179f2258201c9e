"""The undo registry: every host fault registers how to revert itself *before* it acts.

Undos run in reverse order of registration: on the fault's own revert, at the
end of an experiment run (whatever its outcome), when the process gets SIGTERM
or SIGINT (:func:`undo_on_signals`), and at interpreter exit as a last resort.
An undo that fails is retried once and then reported; the others still run.
"""

from __future__ import annotations

import atexit
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from shared_core.logging import get_logger

__all__ = ["UNDO", "UndoRecord", "UndoRegistry", "undo_on_signals"]

log = get_logger("chaos_engine.undo")


@dataclass
class UndoRecord:
    """What was undone, or failed to be."""

    token: int
    description: str
    ok: bool = True
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"fault": self.description, "undone": self.ok}
        if self.error:
            data["error"] = self.error
        return data


@dataclass
class _Entry:
    token: int
    description: str
    func: Callable[[], object]
    done: threading.Event = field(default_factory=threading.Event)


class UndoRegistry:
    """A stack of pending undos, safe to use from several threads."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: dict[int, _Entry] = {}
        self._last = 0

    def register(self, description: str, func: Callable[[], object]) -> int:
        """Record ``func`` as the undo of a fault about to be applied; returns its token."""
        with self._lock:
            self._last += 1
            token = self._last
            self._entries[token] = _Entry(token, description, func)
            return token

    def mark(self) -> int:
        """A position: :meth:`undo_since` reverts only what was registered after it."""
        with self._lock:
            return self._last

    def pending(self) -> list[str]:
        """Descriptions of the faults still in force, oldest first."""
        with self._lock:
            return [e.description for e in sorted(self._entries.values(), key=lambda e: e.token)]

    def discard(self, token: int) -> None:
        """Forget an undo whose fault never took effect."""
        with self._lock:
            self._entries.pop(token, None)

    def undo(self, token: int) -> UndoRecord | None:
        """Run one undo now (no-op when already undone); returns what happened."""
        with self._lock:
            entry = self._entries.pop(token, None)
        if entry is None:
            return None
        return self._run(entry)

    def _run(self, entry: _Entry) -> UndoRecord:
        error: str | None = None
        for _attempt in range(2):
            try:
                entry.func()
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                continue
            error = None
            break
        if error:
            log.error("undo failed", fault=entry.description, error=error)
        entry.done.set()
        return UndoRecord(entry.token, entry.description, ok=error is None, error=error)

    def undo_matching(self, predicate: Callable[[str], bool]) -> list[UndoRecord]:
        """Undo, newest first, every pending fault whose description satisfies ``predicate``."""
        with self._lock:
            entries = sorted(
                (e for e in self._entries.values() if predicate(e.description)),
                key=lambda e: -e.token,
            )
            for e in entries:
                self._entries.pop(e.token, None)
        return [self._run(e) for e in entries]

    def undo_since(self, mark: int) -> list[UndoRecord]:
        """Undo, newest first, every fault registered after ``mark``."""
        with self._lock:
            entries = sorted(
                (e for e in self._entries.values() if e.token > mark), key=lambda e: -e.token
            )
            for e in entries:
                self._entries.pop(e.token, None)
        return [self._run(e) for e in entries]

    def undo_all(self) -> list[UndoRecord]:
        """Undo every pending fault, newest first."""
        return self.undo_since(0)


UNDO = UndoRegistry()
atexit.register(UNDO.undo_all)


@contextmanager
def undo_on_signals(registry: UndoRegistry = UNDO) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT first undo every pending fault, then act as before.

    SIGTERM raises :class:`SystemExit` (143) after the undos, unless a previous
    handler was installed, which is then called.  Only effective in the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        registry.undo_all()
        prev = previous.get(signum)
        if callable(prev):
            prev(signum, frame)
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt
        else:
            raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for number, prev in previous.items():
            signal.signal(number, prev)

"""Test helpers for code that runs on parallel_architecture_framework.

:class:`LeakCheck` snapshots this process's threads, child processes and
sockets and fails if a run left any behind; other packages' tests (for
example pipelines running their stages on our executors) can reuse it::

    check = LeakCheck()
    with Client("processes") as client:
        ...
    check.assert_clean()

Linux only (it reads ``/proc``).  Process-wide singletons that outlive every
client by design are not counted: multiprocessing's forkserver and resource
tracker, and Dask's shared helper threads.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

__all__ = ["GLOBAL_THREAD_PREFIXES", "LeakCheck"]

# Dask keeps process-wide helper threads alive after every client closes: the
# offload executor, the class-level executor of Future.add_done_callback, the
# profiler's watcher, and the "IO loop" thread its LoopRunner shares between
# all clients and clusters of the process.
GLOBAL_THREAD_PREFIXES = ("Dask-Offload", "Dask-Callback-Thread", "Profile", "IO loop")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def child_pids() -> set[int]:
    """Live (non-zombie) child processes of this process, minus multiprocessing's singletons."""
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    from multiprocessing import forkserver, resource_tracker

    for singleton in (
        getattr(forkserver._forkserver, "_forkserver_pid", None),
        getattr(resource_tracker._resource_tracker, "_pid", None),
    ):
        if singleton is not None:
            pids.discard(singleton)
    return {p for p in pids if _state(p) != "Z"}


def open_sockets() -> set[str]:
    """Socket inodes this process holds open (``socket:[1234]``)."""
    found: set[str] = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


def live_threads() -> set[threading.Thread]:
    """Threads of this process, minus the shared singletons of :data:`GLOBAL_THREAD_PREFIXES`."""
    return {t for t in threading.enumerate() if not t.name.startswith(GLOBAL_THREAD_PREFIXES)}


class LeakCheck:
    """Snapshot of threads, child processes and sockets, compared by :meth:`leaks`."""

    def __init__(self) -> None:
        self.threads = live_threads()
        self.children = child_pids()
        self.sockets = open_sockets()

    def leaks(self) -> dict[str, list[str]]:
        """What appeared since the snapshot and is still alive, by kind."""
        return {
            "threads": sorted(t.name for t in live_threads() - self.threads if t.is_alive()),
            "processes": [str(p) for p in sorted(child_pids() - self.children)],
            "sockets": sorted(open_sockets() - self.sockets),
        }

    def assert_clean(self, grace: float = 5.0) -> None:
        """Raise ``AssertionError`` naming every thread, process and socket still alive after *grace* seconds.

        Shutting down is asynchronous in places we do not own: AnyIO, for
        one, only *signals* its idle worker threads when the event loop
        closes, and they exit a moment later.  A leak is what is still there
        once that moment has passed, so the check polls instead of judging a
        single instant.
        """
        deadline = time.monotonic() + grace
        while True:
            found = {kind: items for kind, items in self.leaks().items() if items}
            if not found:
                return
            if time.monotonic() >= deadline:
                raise AssertionError(f"leaked after the run (waited {grace:g} s): {found}")
            time.sleep(0.05)

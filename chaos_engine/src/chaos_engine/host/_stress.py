"""CPU, memory and disk-fill stress with hard limits, run in child processes the undo kills.

Limits: CPU workers at most the number of CPUs, memory at most half of what
is available, a disk fill at most 90% of the free space and 1 GiB unless
raised, and every stress ends by itself after ``seconds`` (at most an hour).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from chaos_engine.errors import ChaosFaultRefusedError
from chaos_engine.host._undo import UNDO

__all__ = ["MAX_SECONDS", "stress_cpu", "stress_disk", "stress_memory"]

MAX_SECONDS = 3600
_fills = itertools.count(1)

_CPU = (
    "import time,sys\nend=time.monotonic()+float(sys.argv[1])\nwhile time.monotonic()<end: pass\n"
)
_MEM = (
    "import time,sys\nn=int(sys.argv[2]);b=bytearray(n)\n"
    "for i in range(0,n,4096): b[i]=1\ntime.sleep(float(sys.argv[1]))\n"
)


def _available_memory() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def _seconds(seconds: float) -> float:
    if not 0 < seconds <= MAX_SECONDS:
        raise ChaosFaultRefusedError(f"stress duration {seconds}s is not within 0-{MAX_SECONDS}s")
    return float(seconds)


def _spawn(code: str, *args: str, description: str, count: int = 1) -> int:
    """Start ``count`` children running ``code``; the undo (registered first) kills them."""
    procs: list[subprocess.Popen[bytes]] = []

    def undo() -> None:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=10)

    token = UNDO.register(description, undo)
    try:
        procs.extend(
            subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.DEVNULL)
            for _ in range(count)
        )
    except BaseException:
        UNDO.undo(token)
        raise
    return token


def stress_cpu(workers: int = 1, seconds: float = 10) -> int:
    """Busy-loop ``workers`` processes; returns the undo token (which stops them)."""
    limit = os.cpu_count() or 1
    if not 1 <= workers <= limit:
        raise ChaosFaultRefusedError(f"cpu stress workers must be 1-{limit}, not {workers}")
    secs = _seconds(seconds)
    return _spawn(
        _CPU, str(secs), description=f"cpu stress: {workers} workers for {secs}s", count=workers
    )


def stress_memory(size_bytes: int, seconds: float = 10) -> int:
    """Hold ``size_bytes`` of touched memory in a child; returns the undo token."""
    limit = _available_memory() // 2
    if not 0 < size_bytes <= limit:
        raise ChaosFaultRefusedError(
            f"memory stress of {size_bytes} bytes exceeds half the available memory ({limit})"
        )
    secs = _seconds(seconds)
    return _spawn(
        _MEM,
        str(secs),
        str(size_bytes),
        description=f"memory stress: {size_bytes} bytes for {secs}s",
    )


def stress_disk(directory: str, size_bytes: int, max_bytes: int = 1 << 30) -> int:
    """Fill ``directory`` with a file of ``size_bytes`` (removed by the undo); returns the undo token."""
    path = Path(directory)
    if not path.is_dir():
        raise ChaosFaultRefusedError(f"{directory} is not a directory")
    free = shutil.disk_usage(path).free
    if not 0 < size_bytes <= min(max_bytes, int(free * 0.9)):
        raise ChaosFaultRefusedError(
            f"disk fill of {size_bytes} bytes exceeds the limit ({min(max_bytes, int(free * 0.9))} bytes)"
        )
    target = path / f".chaos_engine_fill_{os.getpid()}_{next(_fills)}"
    token = UNDO.register(
        f"disk fill: {size_bytes} bytes in {target}", lambda: target.unlink(missing_ok=True)
    )
    try:
        with target.open("wb") as fh:
            block = b"\0" * (1 << 20)
            left = size_bytes
            while left > 0:
                left -= fh.write(block[: min(left, len(block))])
    except BaseException:
        UNDO.undo(token)
        raise
    return token

"""Import time of parallel_architecture_framework against dask and distributed (fresh interpreters).

uv run --with 'dask[distributed]' python parallel_architecture_framework/benches/bench_import.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys


def import_seconds(module: str, repeat: int = 5) -> float | None:
    """Median wall time of ``import module`` in a fresh interpreter, or None if absent."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    samples = []
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            return None
        samples.append(float(proc.stdout.strip()))
    return statistics.median(samples)


if __name__ == "__main__":
    for name in ("parallel_architecture_framework", "dask", "distributed"):
        seconds = import_seconds(name)
        print(f"{name:<34} {'not installed' if seconds is None else f'{seconds * 1000:7.1f} ms'}")

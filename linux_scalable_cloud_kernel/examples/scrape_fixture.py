"""Scrape a tiny fixture tree and print two node_exporter-named values.

uv run python linux_scalable_cloud_kernel/examples/scrape_fixture.py
"""

import tempfile
from pathlib import Path

from linux_scalable_cloud_kernel import NodeFiles, scrape


def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "proc").mkdir()
        (root / "proc/loadavg").write_text("0.42 0.30 0.10 1/99 123\n")
        (root / "proc/meminfo").write_text("MemTotal: 2048 kB\nMemAvailable: 1024 kB\n")
        samples = scrape(NodeFiles(root)).samples
        return {
            s.name: s.value
            for s in samples
            if s.name in ("node_load1", "node_memory_MemTotal_bytes")
        }


if __name__ == "__main__":
    print(main())

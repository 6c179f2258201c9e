"""Run the shop pipeline for three days, show the cache at work, write a report.

python examples/run_shop.py [WORKDIR]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from synthetic_pipeline_engine import RunStore, load_pipeline, plan, render_run_html, run


def main(workdir: Path) -> int:
    here = Path(__file__).parent / "shop"
    shutil.copytree(here, workdir, dirs_exist_ok=True)
    spec = load_pipeline(workdir / "pipeline.yaml")
    assert spec.partitions is not None
    state = workdir / ".spe"
    for partition in spec.partitions.range("2024-01-01..2024-01-03"):
        result = run(spec, state, partition=partition)
        print(partition.key, result.status, {s: r.status for s, r in result.stages.items()})
        if not result.ok:
            return 1
    again = plan(spec, state, partition=spec.partitions.parse_key("2024-01-02"))
    print("re-plan:", {item.stage: item.action for item in again})
    with RunStore(state) as store:
        report = workdir / "report.html"
        report.write_text(render_run_html(store.run("latest")), encoding="utf-8")
    print("report:", report)
    return 0


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="spe-shop-"))
    sys.exit(main(target))

"""Race the default portfolio on an Agrawal stream with an abrupt drift and write an HTML report.

uv run python cross_domain_auto_learner/examples/drift_report.py OUT_DIR [N]
"""

import sys
from pathlib import Path

from cross_domain_auto_learner import AutoSelector, prequential, synthetic_stream
from cross_domain_auto_learner._report import write_report


def main(out_dir: Path, n: int) -> None:
    stream = synthetic_stream("agrawal-drift", n, seed=1)
    model = AutoSelector()
    result = prequential(model, stream, batch_size=32, window=max(n // 50, 100))
    result.extra["selection"] = model.report()
    out_dir.mkdir(parents=True, exist_ok=True)
    write_report(result, html_path=out_dir / "report.html", png_path=out_dir / "report.png")
    print(f"accuracy {result.metrics['accuracy']:.4f}, selected {model.report()['leader']}")
    print(f"true change at {stream.drift_points}, detected at {result.detected_drifts}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 20000)

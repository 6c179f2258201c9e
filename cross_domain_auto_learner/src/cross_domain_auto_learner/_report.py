"""Reports of an evaluation run: a PNG plot and a self-contained HTML page.

The plot shows the windowed metric over the stream, with the stream's true
change points as dashed red lines and the changes the learner detected as
dotted green lines, so a reader sees at once how fast it noticed and
recovered.  matplotlib runs on the Agg backend (no display needed) and is
imported only here.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from cross_domain_auto_learner._evaluate import EvaluationResult
from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["render_html", "render_png", "write_report"]


def render_png(result: EvaluationResult) -> bytes:
    """The windowed-metric plot as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    task = str(result.extra.get("task", "classification"))
    label = "windowed accuracy" if task == "classification" else "windowed MAE"
    ax.plot(result.positions, result.windowed, color="#1f4e79", linewidth=1.5, label=label)
    for i, p in enumerate(result.drift_points):
        ax.axvline(
            p, color="#c0392b", linestyle="--", linewidth=1, label="true change" if i == 0 else None
        )
    for i, p in enumerate(result.detected_drifts):
        ax.axvline(
            p, color="#27ae60", linestyle=":", linewidth=1, label="detected" if i == 0 else None
        )
    ax.set_xlabel("examples seen")
    ax.set_ylabel(label)
    if task == "classification":
        ax.set_ylim(0.0, 1.02)
    ax.set_title(f"{result.stream}: {result.model}"[:110], fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def render_html(result: EvaluationResult, png: bytes | None = None) -> str:
    """A standalone HTML page: metrics table, plot (inlined) and drift points."""
    image = base64.b64encode(png if png is not None else render_png(result)).decode("ascii")
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{v:.4f}</td></tr>"
        for k, v in sorted(result.metrics.items())
    )
    rows += f"<tr><th>samples/s</th><td>{result.samples_per_second:,.0f}</td></tr>"
    rows += f"<tr><th>examples</th><td>{result.n_samples}</td></tr>"
    selection = result.extra.get("selection")
    sel_html = ""
    if isinstance(selection, dict):
        sel_rows = "".join(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                r.get("at"),
                html.escape(", ".join(f"{k}={v}" for k, v in dict(r.get("scores", {})).items())),
                html.escape(", ".join(map(str, r.get("kept", [])))),
            )
            for r in selection.get("rungs", [])
        )
        sel_html = (
            f"<h2>Model selection</h2><p>winner: <b>{html.escape(str(selection.get('winner')))}</b></p>"
            f"<table><tr><th>after</th><th>scores</th><th>kept</th></tr>{sel_rows}</table>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>cdal report: {html.escape(result.stream)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:960px}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style>
</head><body>
<h1>{html.escape(result.mode)} evaluation</h1>
<p>stream <code>{html.escape(result.stream)}</code>, model <code>{html.escape(result.model)}</code></p>
<table>{rows}</table>
<h2>Over time</h2>
<img alt="windowed metric with drift points" src="data:image/png;base64,{image}">
<p>true change points: {html.escape(", ".join(map(str, result.drift_points)) or "none")}<br>
detected changes: {html.escape(", ".join(map(str, result.detected_drifts)) or "none")}</p>
{sel_html}
</body></html>
"""


def write_report(
    result: EvaluationResult,
    *,
    html_path: str | Path | None = None,
    png_path: str | Path | None = None,
) -> list[Path]:
    """Write the PNG and/or HTML report; returns the paths written."""
    written: list[Path] = []
    png = render_png(result)
    try:
        if png_path is not None:
            Path(png_path).write_bytes(png)
            written.append(Path(png_path))
        if html_path is not None:
            Path(html_path).write_text(render_html(result, png), encoding="utf-8")
            written.append(Path(html_path))
    except OSError as exc:
        raise LearnerInputError(
            f"cannot write report: {exc.strerror or exc}", hint="check the output directory"
        ) from None
    return written

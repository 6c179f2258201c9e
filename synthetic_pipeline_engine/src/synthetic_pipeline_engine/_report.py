"""A run as one self-contained HTML page: the DAG, timings, rows, validation, data quality.

The page has no external assets (inline CSS and SVG), so it can be mailed,
attached to a ticket or opened from an artefact store years later.  The DAG
is laid out in layers by longest path from the sources; each node is
coloured by what happened to the stage.  Each stage's output profile (nulls,
ranges, a histogram per numeric column, top values per text column) is drawn
as small inline SVG charts.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Mapping
from typing import Any

import jinja2
from markupsafe import Markup

__all__ = ["render_quality_html", "render_run_html"]

_COLOURS = {
    "ran": "#2e7d32",
    "cached": "#1565c0",
    "failed": "#c62828",
    "skipped": "#9e9e9e",
    "warned": "#ef6c00",
    "pending": "#bdbdbd",
}

_PAGE = jinja2.Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:.3em .7em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{background:#fafafa} .ok{color:#2e7d32} .bad{color:#c62828} .muted{color:#777}
.badge{display:inline-block;padding:.1em .5em;border-radius:.6em;color:#fff;font-size:.85em}
.charts{display:flex;flex-wrap:wrap;gap:1em} .chart{border:1px solid #eee;padding:.4em} code{background:#f5f5f5;padding:0 .2em}
</style></head><body>
<h1>{{ title }}</h1>
{% for key, value in summary %}<div><b>{{ key }}:</b> {{ value }}</div>{% endfor %}
{{ body }}
</body></html>"""
)


def _e(value: object) -> str:
    return html.escape(str(value))


def _dag_svg(dag: Mapping[str, Any], status: Mapping[str, str]) -> str:
    order: list[str] = list(dag.get("order", []))
    deps: Mapping[str, list[str]] = dag.get("deps", {})
    if not order:
        return "<p class=muted>no DAG recorded</p>"
    depth: dict[str, int] = {}
    for name in order:
        depth[name] = 1 + max((depth[d] for d in deps.get(name, []) if d in depth), default=-1)
    layers: dict[int, list[str]] = {}
    for name in order:
        layers.setdefault(depth[name], []).append(name)
    box_w, box_h, gap_x, gap_y = 150, 34, 60, 18
    pos: dict[str, tuple[int, int]] = {}
    for level, names in layers.items():
        for i, name in enumerate(names):
            pos[name] = (20 + level * (box_w + gap_x), 20 + i * (box_h + gap_y))
    width = 40 + (max(layers) + 1) * (box_w + gap_x)
    height = 40 + max(len(v) for v in layers.values()) * (box_h + gap_y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="pipeline DAG">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#888"/></marker></defs>',
    ]
    for name in order:
        x2, y2 = pos[name]
        for dep in deps.get(name, []):
            if dep in pos:
                x1, y1 = pos[dep]
                parts.append(
                    f'<line x1="{x1 + box_w}" y1="{y1 + box_h // 2}" x2="{x2}" y2="{y2 + box_h // 2}" stroke="#888" marker-end="url(#arrow)"/>'
                )
    kinds = dag.get("kinds", {})
    for name in order:
        x, y = pos[name]
        colour = _COLOURS.get(status.get(name, "pending"), "#bdbdbd")
        parts.append(
            f"<g><title>{_e(name)} ({_e(kinds.get(name, ''))}): {_e(status.get(name, 'pending'))}</title>"
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="6" fill="{colour}"/>'
            f'<text x="{x + 8}" y="{y + 21}" fill="#fff" font-size="12">{_e(name[:20])}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _histogram_svg(counts: list[int], edges: list[float], label: str) -> str:
    width, height = 220, 90
    top = max(counts) or 1
    bar = width / max(len(counts), 1)
    rects = "".join(
        f'<rect x="{i * bar:.1f}" y="{height - 15 - (c / top) * (height - 25):.1f}" width="{bar - 1:.1f}" height="{(c / top) * (height - 25):.1f}" fill="#5c6bc0"><title>{edges[i]:.4g}..{edges[i + 1]:.4g}: {c}</title></rect>'
        for i, c in enumerate(counts)
    )
    return (
        f'<div class=chart><div>{_e(label)}</div><svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">{rects}'
        f'<text x="0" y="{height - 2}" font-size="10">{edges[0]:.4g}</text><text x="{width - 50}" y="{height - 2}" font-size="10">{edges[-1]:.4g}</text></svg></div>'
    )


def _bars_svg(items: list[tuple[str, float]], label: str, *, maximum: float | None = None) -> str:
    width, row = 320, 16
    top = maximum if maximum is not None else max((v for _, v in items), default=1) or 1
    rows = "".join(
        f'<text x="0" y="{i * row + 12}" font-size="11">{_e(name[:24])}</text>'
        f'<rect x="150" y="{i * row + 2}" width="{max(v / top, 0) * (width - 200):.1f}" height="{row - 4}" fill="#26a69a"/>'
        f'<text x="{155 + max(v / top, 0) * (width - 200):.1f}" y="{i * row + 12}" font-size="10">{v:.4g}</text>'
        for i, (name, v) in enumerate(items)
    )
    return f'<div class=chart><div>{_e(label)}</div><svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{len(items) * row + 4}">{rows}</svg></div>'


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_run_html(run: Mapping[str, Any]) -> str:
    """The HTML page of one run as returned by ``RunStore.run``."""
    stages: list[Mapping[str, Any]] = run.get("stages", [])
    status = {s["stage"]: s["status"] for s in stages}
    body = ["<h2>DAG</h2>", _dag_svg(run.get("dag", {}), status)]
    body.append(
        "<p>"
        + " ".join(
            f'<span class=badge style="background:{c}">{k}</span>' for k, c in _COLOURS.items()
        )
        + "</p>"
    )
    body.append(
        "<h2>Stages</h2><table><tr><th>stage</th><th>kind</th><th>status</th><th>why</th><th>attempts</th><th>seconds</th><th>rows</th><th>output</th><th>error</th></tr>"
    )
    for s in stages:
        colour = _COLOURS.get(s["status"], "#999")
        body.append(
            f'<tr><td>{_e(s["stage"])}</td><td>{_e(s["kind"])}</td><td><span class=badge style="background:{colour}">{_e(s["status"])}</span></td>'
            f"<td>{_e(s.get('reason') or '')}</td><td>{_e(s.get('attempts') or 0)}</td><td>{(s.get('duration') or 0):.3f}</td>"
            f"<td>{_e(s.get('rows') if s.get('rows') is not None else '-')}</td><td><code>{_e((s.get('output_hash') or '')[:12])}</code></td>"
            f"<td class=bad>{_e(s.get('error') or '')}</td></tr>"
        )
    body.append("</table>")
    timed = [(s["stage"], float(s.get("duration") or 0.0)) for s in stages if s.get("duration")]
    if timed:
        body.append(
            "<h2>Timings</h2><div class=charts>" + _bars_svg(timed, "seconds per stage") + "</div>"
        )
    validations = [
        (s["stage"], s["details"].get("validation"))
        for s in stages
        if s.get("details", {}).get("validation")
    ]
    if validations:
        body.append("<h2>Validation</h2>")
        for stage, results in validations:
            body.append(
                f"<h3>{_e(stage)}</h3><table><tr><th>expectation</th><th>result</th><th>observed</th><th>failing rows</th><th>examples</th></tr>"
            )
            for r in results:
                mark = (
                    "<span class=ok>pass</span>" if r["passed"] else "<span class=bad>FAIL</span>"
                )
                body.append(
                    f"<tr><td>{_e(r['expectation'])}</td><td>{mark}</td><td>{_e(r['observed'])}</td><td>{_e(r['failing_rows'])}</td><td>{_e(r['examples'])}</td></tr>"
                )
            body.append("</table>")
    profiled = [
        (s["stage"], s["details"].get("profile"))
        for s in stages
        if s.get("details", {}).get("profile")
    ]
    if profiled:
        body.append("<h2>Data quality</h2>")
        for stage, profile in profiled:
            body.append(
                f"<h3>{_e(stage)} <span class=muted>({_e(profile['rows'])} rows)</span></h3><table><tr><th>column</th><th>type</th><th>nulls</th><th>min</th><th>max</th><th>mean</th></tr>"
            )
            charts = []
            for column, info in profile["columns"].items():
                body.append(
                    f"<tr><td>{_e(column)}</td><td>{_e(info['type'])}</td><td>{_e(info['nulls'])}</td><td>{_e(info.get('min', ''))}</td><td>{_e(info.get('max', ''))}</td><td>{_e(round(info['mean'], 6) if 'mean' in info else '')}</td></tr>"
                )
                if "histogram" in info:
                    charts.append(
                        _histogram_svg(
                            info["histogram"]["counts"], info["histogram"]["edges"], column
                        )
                    )
                elif info.get("top"):
                    charts.append(_bars_svg([(str(k), float(v)) for k, v in info["top"]], column))
            body.append("</table><div class=charts>" + "".join(charts) + "</div>")
    summary = [
        ("run", run.get("run_id")),
        ("pipeline", run.get("pipeline")),
        ("partition", run.get("partition") or "-"),
        ("status", run.get("status")),
        ("started", _when(run.get("started"))),
        ("finished", _when(run.get("finished"))),
    ]
    if run.get("error"):
        summary.append(("error", run["error"]))
    return str(
        _PAGE.render(
            title=f"Run {run.get('run_id')} of {run.get('pipeline')}",
            summary=summary,
            body=Markup("\n".join(body)),  # noqa: S704  # nosec B704 -- every value in body went through _e()
        )
    )


def render_quality_html(
    quality: Mapping[str, Any], privacy: Mapping[str, Any] | None, title: str
) -> str:
    """A fidelity (and privacy) report page with per-column and per-pair charts."""
    body = ["<h2>Scores</h2><table>"]
    body.extend(
        f"<tr><th>{_e(key)}</th><td>{'n/a' if quality[key] is None else f'{quality[key] * 100:.1f}%'}</td></tr>"
        for key in ("overall", "column_shapes", "column_pair_trends")
    )
    body.append("</table>")
    body.append(
        "<div class=charts>"
        + _bars_svg(
            sorted(
                ((k, v) for k, v in quality["columns"].items() if v is not None),
                key=lambda kv: kv[1],
            ),
            "column shapes",
            maximum=1.0,
        )
        + "</div>"
    )
    pairs = sorted(
        ((k, v) for k, v in quality["pairs"].items() if v is not None and not math.isnan(v)),
        key=lambda kv: kv[1],
    )[:30]
    body.append(
        "<div class=charts>"
        + _bars_svg(pairs, "weakest column pair trends", maximum=1.0)
        + "</div>"
    )
    if privacy:
        body.append(
            "<h2>Privacy</h2><table>"
            + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in privacy.items())
            + "</table>"
        )
    return str(
        _PAGE.render(
            title=title,
            summary=[],
            body=Markup("\n".join(body)),  # noqa: S704  # nosec B704 -- every value in body went through _e()
        )
    )

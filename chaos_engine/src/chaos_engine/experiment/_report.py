"""Human reports of a journal: Markdown, and one self-contained HTML page.

Both show the outcome, the hypothesis checks (before, during, after) with each
probe's output against its tolerance, a timeline of every activity, and what
was rolled back (declared rollbacks and host faults the engine undid).
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any

__all__ = ["render_html", "render_markdown"]


def _ts(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _outcome(journal: dict[str, Any]) -> str:
    if journal.get("deviated"):
        return "deviated"
    before = (journal.get("steady_states") or {}).get("before")
    if before and before.get("steady_state_met") is False:
        return "steady state not met before the method"
    return str(journal.get("status"))


def _timeline(journal: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every activity run with the phase it belongs to, in start order."""
    rows: list[tuple[str, dict[str, Any]]] = []
    states = journal.get("steady_states") or {}
    if states.get("before"):
        rows += [("hypothesis before", r) for r in states["before"].get("probes", [])]
    for i, state in enumerate(states.get("during") or []):
        if state:
            rows += [(f"hypothesis during #{i + 1}", r) for r in state.get("probes", [])]
    rows += [("method", r) for r in journal.get("run") or []]
    if states.get("after"):
        rows += [("hypothesis after", r) for r in states["after"].get("probes", [])]
    rows += [("rollback", r) for r in journal.get("rollbacks") or []]
    rows.sort(key=lambda item: item[1].get("start") or "")
    return rows


def _checks(journal: dict[str, Any]) -> list[tuple[str, bool | None, list[dict[str, Any]]]]:
    states = journal.get("steady_states") or {}
    out: list[tuple[str, bool | None, list[dict[str, Any]]]] = []
    if states.get("before"):
        out.append(
            ("before", states["before"].get("steady_state_met"), states["before"].get("probes", []))
        )
    for i, state in enumerate(states.get("during") or []):
        if state:
            out.append((f"during #{i + 1}", state.get("steady_state_met"), state.get("probes", [])))
    if states.get("after"):
        out.append(
            ("after", states["after"].get("steady_state_met"), states["after"].get("probes", []))
        )
    return out


def _undone(journal: dict[str, Any]) -> list[dict[str, Any]]:
    return list((journal.get("chaos_engine") or {}).get("faults_undone") or [])


def render_markdown(journal: dict[str, Any]) -> str:
    """The journal as a Markdown report."""
    exp = journal.get("experiment") or {}
    lines = [
        f"# {exp.get('title', 'experiment')}",
        "",
        str(exp.get("description", "")),
        "",
        f"- **Outcome:** {_outcome(journal)}",
        f"- **Status:** {journal.get('status')}; **deviated:** {str(bool(journal.get('deviated'))).lower()}",
        f"- **Started:** {journal.get('start')}; **duration:** {float(journal.get('duration') or 0):.3f} s",
        "",
        "## Steady-state hypothesis",
        "",
    ]
    checks = _checks(journal)
    if not checks:
        lines.append("No hypothesis was checked.")
    for when, met, probes in checks:
        lines.append(f"### {when}: {'met' if met else 'not met'}")
        lines.append("")
        lines.append("| probe | status | output | tolerance | within |")
        lines.append("|---|---|---|---|---|")
        for run in probes:
            act = run.get("activity", {})
            lines.append(
                f"| {act.get('name')} | {run.get('status')} | `{_short(run.get('output'), 60)}` "
                f"| `{_short(act.get('tolerance'), 40)}` | {'yes' if run.get('tolerance_met') else 'no'} |"
            )
        lines.append("")
    lines += [
        "## Timeline",
        "",
        "| start | phase | type | name | status | duration (s) |",
        "|---|---|---|---|---|---|",
    ]
    for phase, run in _timeline(journal):
        act = run.get("activity", {})
        lines.append(
            f"| {run.get('start')} | {phase} | {act.get('type')} | {act.get('name')} "
            f"| {run.get('status')} | {float(run.get('duration') or 0):.3f} |"
        )
    lines += ["", "## Rolled back", ""]
    rollbacks = journal.get("rollbacks") or []
    undone = _undone(journal)
    if not rollbacks and not undone:
        lines.append("Nothing was rolled back.")
    for run in rollbacks:
        lines.append(f"- rollback **{run.get('activity', {}).get('name')}**: {run.get('status')}")
    for item in undone:
        lines.append(
            f"- host fault undone: {item.get('fault')} ({'ok' if item.get('undone') else 'FAILED: ' + str(item.get('error'))})"
        )
    failures = [r for _p, r in _timeline(journal) if r.get("status") == "failed"]
    if failures:
        lines += ["", "## Failures", ""]
        for run in failures:
            lines.append(
                f"- **{run.get('activity', {}).get('name')}**: {''.join(run.get('exception') or []).strip()}"
            )
    return "\n".join(lines) + "\n"


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222}
h1{margin-bottom:.2em} .badge{display:inline-block;padding:.15em .6em;border-radius:.8em;color:#fff;font-weight:600}
.ok{background:#2e7d32}.bad{background:#c62828}.warn{background:#ef6c00}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
code{font-size:12px;background:#f4f4f4;padding:0 .2em}
.tl{position:relative;height:1.1em;background:#f0f0f0;min-width:20em}.tl span{position:absolute;top:0;bottom:0;border-radius:2px}
.p-method{background:#1565c0}.p-rollback{background:#6a1b9a}.p-hyp{background:#2e7d32}.failed{outline:2px solid #c62828}
"""


def render_html(journal: dict[str, Any]) -> str:
    """The journal as one self-contained HTML page (inline CSS, no scripts, no external links)."""
    esc = html.escape
    exp = journal.get("experiment") or {}
    outcome = _outcome(journal)
    badge = "ok" if outcome == "completed" else ("warn" if "not met" in outcome else "bad")
    rows = _timeline(journal)
    t0 = _ts(journal.get("start"))
    t1 = _ts(journal.get("end"))
    total = max(((t1 - t0).total_seconds() if t0 and t1 else 0.0), 1e-6)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(str(exp.get('title', 'experiment')))}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(str(exp.get('title', 'experiment')))}</h1><p>{esc(str(exp.get('description', '')))}</p>",
        f"<p><span class='badge {badge}'>{esc(outcome)}</span> status <b>{esc(str(journal.get('status')))}</b>,"
        f" deviated <b>{str(bool(journal.get('deviated'))).lower()}</b>, started {esc(str(journal.get('start')))},"
        f" {float(journal.get('duration') or 0):.3f} s</p>",
        "<h2>Steady-state hypothesis</h2>",
    ]
    checks = _checks(journal)
    if not checks:
        parts.append("<p>No hypothesis was checked.</p>")
    for when, met, probes in checks:
        parts.append(
            f"<h3>{esc(when)}: <span class='badge {'ok' if met else 'bad'}'>{'met' if met else 'not met'}</span></h3>"
        )
        parts.append(
            "<table><tr><th>probe</th><th>status</th><th>output</th><th>tolerance</th><th>within</th></tr>"
        )
        for run in probes:
            act = run.get("activity", {})
            parts.append(
                f"<tr><td>{esc(str(act.get('name')))}</td><td>{esc(str(run.get('status')))}</td>"
                f"<td><code>{esc(_short(run.get('output')))}</code></td><td><code>{esc(_short(act.get('tolerance')))}</code></td>"
                f"<td>{'yes' if run.get('tolerance_met') else 'no'}</td></tr>"
            )
        parts.append("</table>")
    parts.append(
        "<h2>Timeline</h2><table><tr><th>phase</th><th>activity</th><th>status</th><th>duration</th><th style='width:40%'>when</th></tr>"
    )
    for phase, run in rows:
        act = run.get("activity", {})
        start, end = _ts(run.get("start")), _ts(run.get("end"))
        left = ((start - t0).total_seconds() / total * 100) if start and t0 else 0.0
        width = max(((end - start).total_seconds() / total * 100) if start and end else 0.0, 0.5)
        cls = "p-method" if phase == "method" else "p-rollback" if phase == "rollback" else "p-hyp"
        failed = " failed" if run.get("status") == "failed" else ""
        parts.append(
            f"<tr><td>{esc(phase)}</td><td>{esc(str(act.get('type')))} <b>{esc(str(act.get('name')))}</b></td>"
            f"<td>{esc(str(run.get('status')))}</td><td>{float(run.get('duration') or 0):.3f} s</td>"
            f"<td><div class='tl'><span class='{cls}{failed}' style='left:{min(left, 99.5):.2f}%;width:{min(width, 100 - min(left, 99.5)):.2f}%'></span></div></td></tr>"
        )
    parts.append("</table><h2>Rolled back</h2><ul>")
    rollbacks = journal.get("rollbacks") or []
    undone = _undone(journal)
    if not rollbacks and not undone:
        parts.append("<li>Nothing was rolled back.</li>")
    parts.extend(
        f"<li>rollback <b>{esc(str(run.get('activity', {}).get('name')))}</b>: {esc(str(run.get('status')))}</li>"
        for run in rollbacks
    )
    for item in undone:
        state = "ok" if item.get("undone") else f"FAILED: {item.get('error')}"
        parts.append(f"<li>host fault undone: {esc(str(item.get('fault')))} ({esc(state)})</li>")
    parts.append("</ul>")
    failures = [r for _p, r in rows if r.get("status") == "failed"]
    if failures:
        parts.append("<h2>Failures</h2><ul>")
        parts.extend(
            f"<li><b>{esc(str(run.get('activity', {}).get('name')))}</b>: <code>{esc(''.join(run.get('exception') or []).strip())}</code></li>"
            for run in failures
        )
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "".join(parts)

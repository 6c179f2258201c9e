"""Step 6: the summary, on the terminal (rich) and as one self-contained HTML file.

The HTML has no external resources (inline CSS, no scripts, no fonts or
images fetched), so it opens anywhere, offline, and can be attached to a
ticket as it is.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

__all__ = ["print_summary", "render_html", "write_html"]


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


def print_summary(summary: dict[str, Any]) -> None:
    """The summary as rich tables on the terminal (plain text when piped)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    det, att, enf, cha = (
        summary["detect"],
        summary["attestation"],
        summary["enforce"],
        summary["chaos"],
    )
    table = Table(title=f"scenario ({summary['size']}, seed {summary['seed']})", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("figure", overflow="fold")
    rows = [
        (
            "log lines",
            f"{summary['generate']['lines']:,} on {len(summary['generate']['hosts'])} hosts",
        ),
        ("campaign sources", str(summary["generate"]["campaign_sources"])),
        ("precision", _pct(det["precision"])),
        ("recall", _pct(det["recall"])),
        (
            "recall by signal",
            f"scenarios {_pct(det['recall_scenarios_only'])}, anomaly {_pct(det['recall_anomaly_only'])}",
        ),
        ("decisions", f"{det['decisions']} bans ({det['escalated']} escalated by reputation)"),
        ("ledger root", f"{summary['ledger']['root']} (size {summary['ledger']['size']})"),
        (
            "attestation",
            f"{att['id'][:16]}… verified offline: {att['verified_offline']}; "
            f"tampered checkpoint verified: {att['tampered_checkpoint_verified']}",
        ),
        ("policy bytecode", det["policy_sha256"]),
        (
            "nft set",
            f"{len(enf['nft_elements'])} elements = decisions: {enf['set_equals_decisions']}",
        ),
        ("module batch", enf["how"]),
        (
            "chaos",
            f"steady state {'held' if cha['held'] else 'DEVIATED'} "
            f"(latency query {cha['latency_query_ms']} ms, kill+restart {cha['killed_and_restarted']}, "
            f"{'replicated' if cha['replicated'] else 'standalone'})",
        ),
    ]
    rows += [(f"time: {s['step']}", f"{s['seconds']:.2f} s") for s in summary["steps"]]
    rows.append(("report", summary["report"]))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2330;color:#fff;padding:22px 32px}
header h1{margin:0 0 4px;font-size:22px}header p{margin:0;color:#b8c0d0}
main{padding:20px 32px;max-width:1180px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin-bottom:18px}
.card{background:#fff;border-radius:8px;padding:14px 16px;box-shadow:0 1px 2px #0001}
.card .v{font-size:26px;font-weight:600}.card .k{color:#5b6475;font-size:13px}
.ok{color:#137333}.bad{color:#b3261e}
section{background:#fff;border-radius:8px;padding:14px 18px;margin-bottom:16px;box-shadow:0 1px 2px #0001}
section h2{font-size:17px;margin:0 0 10px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e7e9ee;vertical-align:top}
th{color:#5b6475;font-weight:600}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px;word-break:break-all}
.bar{background:#3b6fd8;height:12px;border-radius:3px}
pre{background:#f0f2f5;padding:10px;border-radius:6px;overflow-x:auto;font-size:12.5px}
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _flag(ok: bool, yes: str = "yes", no: str = "no") -> str:
    return f'<span class="{"ok" if ok else "bad"}">{_e(yes if ok else no)}</span>'


def _rows(items: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in items)


def render_html(summary: dict[str, Any]) -> str:
    """The report page (one string, no external resources)."""
    gen, det, led, att, enf, cha = (
        summary["generate"],
        summary["detect"],
        summary["ledger"],
        summary["attestation"],
        summary["enforce"],
        summary["chaos"],
    )
    cards = [
        ("precision", _pct(det["precision"]), det["precision"] >= 0.9),
        ("recall", _pct(det["recall"]), det["recall"] >= 0.9),
        ("bans recorded", str(det["decisions"]), True),
        (
            "attestation verifies offline",
            "yes" if att["verified_offline"] else "no",
            att["verified_offline"],
        ),
        ("chaos steady state", "held" if cha["held"] else "deviated", cha["held"]),
        ("log lines", f"{gen['lines']:,}", True),
    ]
    card_html = "".join(
        f'<div class="card"><div class="v {"ok" if good else "bad"}">{_e(v)}</div>'
        f'<div class="k">{_e(k)}</div></div>'
        for k, v, good in cards
    )
    longest = max((s["seconds"] for s in summary["steps"]), default=1.0) or 1.0
    steps = "".join(
        f"<tr><td>{_e(s['step'])}</td><td style='width:55%'><div class='bar' "
        f"style='width:{max(1.0, 100 * s['seconds'] / longest):.1f}%'></div></td>"
        f"<td>{s['seconds']:.2f} s</td></tr>"
        for s in summary["steps"]
    )
    hosts = "".join(
        f"<tr><td>{_e(h['host'])}</td><td>{_e(h['kind'])}</td><td>{h['lines']:,}</td>"
        f"<td>{h['attack_lines']:,}</td><td>{h['lone_attack_lines']}</td><td>{h['campaigns']}</td></tr>"
        for h in gen["hosts"]
    )
    campaigns = "".join(
        f"<tr><td>{_e(c['campaign'])}</td><td>{_e(c['host'])}</td><td>{_e(c['attack'])}</td>"
        f"<td>{_e(c['window'])}</td><td>{c['sources']}</td><td>{c['by_scenarios']}</td>"
        f"<td>{c['by_anomaly']}</td><td>{c['escalated']}</td>"
        f"<td>{_flag(c['banned'] == c['sources'], str(c['banned']), str(c['banned']))}</td></tr>"
        for c in det["per_campaign"]
    )
    decisions = "".join(
        f"<tr><td>{d['id']}</td><td class='mono'>{_e(d['value'])}</td><td>{_e(d['scenario'])}</td>"
        f"<td>{d['hours']:g} h</td><td>{_flag(d['truth'] != 'benign', d['truth'], 'benign')}</td>"
        f"<td>{_e(d['reason'])}</td></tr>"
        for d in summary.get("decisions", [])[:300]
    )
    alerts = ", ".join(f"{_e(k)}: {v}" for k, v in det["alerts_by_scenario"].items())
    bad_nets = ", ".join(f"{_e(k)} ({v} members)" for k, v in det["bad_nets"].items()) or "none"
    detection = _rows(
        [
            (
                "events parsed",
                f"{det['events']:,} from {det['lines_read']:,} lines ({det['malformed']} malformed)",
            ),
            ("scenario alerts", f"{det['alerts']} ({alerts})"),
            ("sources profiled and scored", f"{det['sources_scored']:,}"),
            (
                "anomaly signal (cdal half-space trees)",
                f"{det['anomaly_flagged']} sources flagged (score ≥ {det['anomaly_threshold']} and "
                f"≥ {det['anomaly_min_failures']} failures)",
            ),
            (
                "recall by signal",
                f"scenarios alone {_pct(det['recall_scenarios_only'])}, anomaly alone "
                f"{_pct(det['recall_anomaly_only'])}, together {_pct(det['recall'])}",
            ),
            ("reputation (dsle)", f"bad /24s: {bad_nets}; {det['escalated']} offenders escalated"),
            (
                "ban policy (cec)",
                f"<code>{_e(det['policy_sha256'])}</code> — {det['decisions']} decisions, "
                f"{det['policy_gas_used']:,} gas (bound {det['policy_gas_bound_per_step']} per step), "
                f"bans {_hours(det['ban_seconds']['min'])} to {_hours(det['ban_seconds']['max'])}",
            ),
            (
                "precision / recall",
                f"{_pct(det['precision'])} / {_pct(det['recall'])} — "
                f"{det['banned_campaign_sources']} of {gen['campaign_sources']} campaign sources banned, "
                f"{det['banned_lone_attackers']} lone attackers, "
                f"{len(det['false_positives'])} false positives, {len(det['missed'])} missed",
            ),
        ]
    )
    ledger = _rows(
        [
            ("origin", _e(led["origin"])),
            ("entries", str(led["size"])),
            ("root", f"<code>{_e(led['root'])}</code>"),
            ("verifier key", f"<code>{_e(led['verifier_key'])}</code>"),
            ("signed checkpoint", f"<pre>{_e(led['checkpoint'])}</pre>"),
        ]
    )
    attestation = _rows(
        [
            ("attestation id", f"<code>{_e(att['id'])}</code> (log index {att['log_index']})"),
            (
                "subjects",
                f"checkpoint sha256 <code>{_e(att['checkpoint_sha256'])}</code><br>policy bytecode sha256 <code>{_e(att['policy_sha256'])}</code>",
            ),
            (
                "verified offline",
                _flag(att["verified_offline"])
                + (" — " + _e("; ".join(att["failures"])) if att["failures"] else ""),
            ),
            (
                "tampered checkpoint",
                _flag(not att["tampered_checkpoint_verified"], "rejected", "ACCEPTED")
                + " — "
                + _e("; ".join(att["tampered_checkpoint_failures"][:2])),
            ),
        ]
    )
    enforcement = _rows(
        [
            ("rules", str(enf["rules"])),
            ("nft set = decided offenders", _flag(enf["set_equals_decisions"])),
            ("kernel module", _e(enf["how"])),
            (
                "nftables script",
                _e(enf["nft_check_detail"])
                if enf["nft_check"] is None
                else _flag(
                    bool(enf["nft_check"]), enf["nft_check_detail"], enf["nft_check_detail"]
                ),
            ),
            (
                "files",
                f"<code>{_e(enf['nft_path'])}</code><br><code>{_e(enf['batch_path'])}</code>",
            ),
        ]
    )
    chaos = _rows(
        [
            ("verdict", _flag(cha["held"], "steady state held", "steady state deviated")),
            ("status", _e(cha["status"])),
            (
                "steady state before / after",
                f"{_flag(cha['steady_before'])} / {_flag(cha['steady_after'])}",
            ),
            ("replication", _e(cha["replication"])),
            ("query under 300 ms proxy latency", f"{cha['latency_query_ms']} ms"),
            ("node killed (SIGKILL) and restarted", _flag(cha["killed_and_restarted"])),
            (
                "decisions answered while the replica was down",
                _e("n/a (no replica)")
                if cha["queryable_while_down"] is None
                else _flag(bool(cha["queryable_while_down"])),
            ),
            ("latency rolled back", _flag(cha["rolled_back"])),
            ("journal", f"<code>{_e(cha['journal'])}</code>"),
        ]
    )
    activities = "".join(
        f"<tr><td>{_e(a['activity'])}</td><td>{_flag(a['status'] == 'succeeded', a['status'], a['status'])}</td>"
        f"<td><code>{_e(a['output'])}</code></td></tr>"
        for a in cha.get("activities", [])
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>End-to-end scenario — {_e(summary["size"])}</title><style>{_CSS}</style></head>
<body><header><h1>End-to-end scenario: one synthetic day, ten systems</h1>
<p>size {_e(summary["size"])} · seed {_e(summary["seed"])} · {gen["lines"]:,} log lines from {len(gen["hosts"])} hosts · generated on paf ({_e(gen["executor"])})</p></header>
<main><div class="cards">{card_html}</div>
<section><h2>Time per step</h2><table>{steps}</table></section>
<section><h2>1 · Logs (spe on paf)</h2><table><tr><th>host</th><th>log</th><th>lines</th><th>attack lines</th><th>lone attacks</th><th>campaigns</th></tr>{hosts}</table></section>
<section><h2>2 · Detection and decisions (cdabl, cdal, dsle, cec)</h2><table>{detection}</table>
<h2 style="margin-top:14px">Campaigns (ground truth) and what caught them</h2>
<table><tr><th>campaign</th><th>host</th><th>attack</th><th>window</th><th>sources</th><th>by scenarios</th><th>by anomaly</th><th>escalated</th><th>banned</th></tr>{campaigns}</table></section>
<section><h2>Decisions in the ledger</h2>
<table><tr><th>id</th><th>source</th><th>scenario</th><th>ban</th><th>ground truth</th><th>evidence</th></tr>{decisions}</table></section>
<section><h2>Ledger (cdabl)</h2><table>{ledger}</table></section>
<section><h2>3 · Attestation (uaa)</h2><table>{attestation}</table></section>
<section><h2>4 · Enforcement (lsck)</h2><table>{enforcement}</table></section>
<section><h2>5 · Chaos (chaos_engine)</h2><table>{chaos}</table>
<h2 style="margin-top:14px">Method and rollback, from the journal</h2>
<table><tr><th>activity</th><th>status</th><th>output</th></tr>{activities}</table></section>
</main></body></html>
"""


def write_html(summary: dict[str, Any], path: Path) -> Path:
    """Write :func:`render_html` to ``path``."""
    path.write_text(render_html(summary), encoding="utf-8")
    return path

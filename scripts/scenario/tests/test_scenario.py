"""The end-to-end scenario at size ``small``, run once through its CLI, then checked figure by figure.

Thresholds (measured, seed 7 and seeds 1-4 at size small, see
scripts/scenario/README.md): every run banned all 62 campaign sources and
nothing else (precision and recall 1.0).  The asserts leave room for one
or two sources to move either way if a system's defaults change (recall
>= 0.9: at most 6 of 62 missed; precision >= 0.95: at most 3 false bans),
while a real regression — a signal lost, benign clients banned en masse —
fails them.  Recall by the scenarios alone is about 47% and by the anomaly
signal alone about 94%: each must stay below the combined figure, or one of
the signals is not contributing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scenario.attest import BYTECODE, CHECKPOINT, verify_offline
from scenario.enforce import nft_set_elements

from shared_core.testing import nats_server_binary

pytestmark = [pytest.mark.slow, pytest.mark.network]

RUN = Path(__file__).resolve().parents[1] / "run.py"
SEED = 7


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("scenario") / "out"
    proc = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--size",
            "small",
            "--out",
            str(out),
            "--seed",
            str(SEED),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert json.loads(proc.stdout) == summary
    return out, summary


def test_detection_precision_and_recall(run: tuple[Path, dict[str, Any]]) -> None:
    _, summary = run
    det = summary["detect"]
    assert summary["generate"]["campaign_sources"] == 62
    assert det["recall"] >= 0.9, det["missed"]
    assert det["precision"] >= 0.95, det["false_positives"]
    # both signals contribute: neither alone reaches the combined recall
    assert det["recall_scenarios_only"] < det["recall"]
    assert det["recall_anomaly_only"] < det["recall"]
    # the low-and-slow campaigns are only caught by the anomaly signal
    by_campaign = {c["campaign"]: c for c in det["per_campaign"]}
    assert by_campaign["stuffing"]["by_scenarios"] == 0
    assert by_campaign["stuffing"]["by_anomaly"] >= 20
    # the /24 botnet is a reputation fact and its members are escalated
    assert "203.0.113.0/24" in det["bad_nets"]
    assert by_campaign["botnet-evening"]["escalated"] == by_campaign["botnet-evening"]["sources"]


def test_ban_durations_come_from_the_policy(run: tuple[Path, dict[str, Any]]) -> None:
    out, summary = run
    decisions = json.loads((out / "decisions.json").read_text())
    assert len(decisions) == summary["detect"]["decisions"] == summary["ledger"]["size"]
    seconds = {round(d["until"] - d["created"]) for d in decisions}
    # the contract's values: 1 h or 4 h base, x2 for repeat alerts, x2 for a high score, x4 for a bad /24
    assert seconds <= {3600 * k for k in (1, 2, 4, 8, 16, 32, 64, 128)}
    escalated = [d for d in decisions if d["value"].startswith("203.0.113.")]
    assert escalated
    assert all(d["until"] - d["created"] >= 4 * 14400 for d in escalated)


def test_attestation_verifies_offline(run: tuple[Path, dict[str, Any]]) -> None:
    out, summary = run
    verdict = verify_offline(out / "attestation")
    assert verdict.ok, verdict.failures
    assert verdict.root == summary["ledger"]["root"]
    assert verdict.size == summary["ledger"]["size"]
    assert summary["attestation"]["verified_offline"] is True
    assert summary["attestation"]["tampered_checkpoint_verified"] is False


def test_a_tampered_checkpoint_does_not_verify(
    run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    out, _ = run
    copy = tmp_path / "attestation"
    shutil.copytree(out / "attestation", copy)
    original = (copy / CHECKPOINT).read_bytes()
    origin, size, root, *rest = original.split(b"\n")
    (copy / CHECKPOINT).write_bytes(b"\n".join([origin, str(int(size) + 1).encode(), root, *rest]))
    verdict = verify_offline(copy)
    assert not verdict.ok
    assert any("not the attested checkpoint" in f for f in verdict.failures)
    assert any("not signed by the attested ledger key" in f for f in verdict.failures)


def test_another_policy_does_not_verify(run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    from scenario.policy import POLICY_SOURCE, compile_policy

    out, _ = run
    copy = tmp_path / "attestation"
    shutil.copytree(out / "attestation", copy)
    lenient = compile_policy(
        POLICY_SOURCE.replace("bad_net ? unusual * 4", "bad_net ? unusual * 1")
    )
    (copy / BYTECODE).write_bytes(lenient.bytecode)
    verdict = verify_offline(copy)
    assert not verdict.ok
    assert any("not the attested policy" in f for f in verdict.failures)


def test_nft_set_holds_exactly_the_decided_offenders(run: tuple[Path, dict[str, Any]]) -> None:
    out, summary = run
    decided = {d["value"] for d in json.loads((out / "decisions.json").read_text())}
    script = (out / "enforce" / "blocklist.nft").read_text()
    assert nft_set_elements(script) == decided
    assert "table inet lsck" in script
    batch = (out / "enforce" / "lsck.batch").read_text().splitlines()
    assert batch[:2] == ["batch", "flush"]
    assert {line.split()[1] for line in batch[2:]} == decided
    assert summary["enforce"]["set_equals_decisions"] is True
    # where nft and root are there (CI), the kernel accepted the script in check mode
    assert summary["enforce"]["nft_check"] is not False, summary["enforce"]["nft_check_detail"]
    if not Path("/dev/lsck").exists():
        assert summary["enforce"]["applied"] is False
        assert "not applied" in summary["enforce"]["how"]


def test_the_ledger_reopens_verified_with_the_reported_root(
    run: tuple[Path, dict[str, Any]],
) -> None:
    from cross_domain_autoblocker_ledger import Ledger

    out, summary = run
    paths = [out / "ledger" / "ledger.db"]
    if summary["chaos"]["replicated"]:  # the replica applied the same stream: the same root
        paths.append(out / "ledger-replica" / "ledger.db")
    for path in paths:
        ledger = Ledger.open(path, read_only=True)  # replays and verifies every checkpoint
        try:
            assert ledger.root().hex() == summary["ledger"]["root"]
            assert ledger.size == summary["ledger"]["size"]
        finally:
            ledger.close()


def test_chaos_steady_state_held(run: tuple[Path, dict[str, Any]]) -> None:
    out, summary = run
    chaos = summary["chaos"]
    assert chaos["held"] is True
    assert chaos["steady_before"]
    assert chaos["steady_after"]
    assert chaos["killed_and_restarted"] is True
    assert chaos["rolled_back"] is True
    journal = json.loads((out / "chaos" / "journal.json").read_text())
    assert journal["status"] == "completed"
    assert journal["deviated"] is False
    names = [r["activity"]["name"] for r in journal["run"]]
    if (
        nats_server_binary() is not None
    ):  # CI installs it (cross_domain_autoblocker_ledger/system-packages.txt)
        assert chaos["replicated"] is True
        assert chaos["queryable_while_down"] is True
        assert names == [
            "add-latency",
            "query-under-latency",
            "kill-replica",
            "decisions-queryable-while-replica-down",
            "restart-replica",
            "decisions-queryable-after-restart",
        ]
        after = journal["steady_states"]["after"]["probes"]
        assert {p["activity"]["name"] for p in after if p["tolerance_met"]} == {
            "decisions-queryable",
            "ledger-root-consistent",
            "replica-decisions-queryable",
            "replica-root-consistent",
        }
    else:
        assert chaos["replicated"] is False
        assert names == [
            "add-latency",
            "query-under-latency",
            "kill-ledger-node",
            "restart-ledger-node",
            "decisions-queryable-after-restart",
        ]
    experiment = json.loads((out / "chaos" / "experiment.json").read_text())
    assert experiment["steady-state-hypothesis"]["title"].startswith("decisions stay queryable")


def test_report_holds_the_figures(run: tuple[Path, dict[str, Any]]) -> None:
    out, summary = run
    page = (out / "report.html").read_text()
    det = summary["detect"]
    assert f"{100 * det['precision']:.1f}%" in page
    assert f"{100 * det['recall']:.1f}%" in page
    # the decisions table labels each ban with its ground truth, consistently with precision
    rows = summary["decisions"]
    assert len(rows) == det["decisions"]
    assert sorted(r["value"] for r in rows if r["truth"] == "benign") == det["false_positives"]
    assert all(r["value"] in page for r in rows)
    assert summary["ledger"]["root"] in page
    assert summary["attestation"]["id"] in page
    assert "steady state held" in page
    # self-contained: nothing fetched when opened
    assert "<script" not in page
    assert "<link" not in page
    assert " src=" not in page
    assert next(s["step"] for s in summary["steps"]) == "generate (spe on paf)"
    assert len(summary["steps"]) == 6


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--size", "huge"], "invalid choice"),
        (["--seed", "abc"], "is not an integer"),
        (["--seed", "-1"], "outside"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], needle: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(RUN), *argv], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]


def test_an_out_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    proc = subprocess.run(
        [sys.executable, str(RUN), "--size", "small", "--out", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "not a directory" in proc.stderr

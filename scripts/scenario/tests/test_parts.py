"""The scenario's parts on their own, with inputs whose answers are known (fast, no services)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario.chaos import NodeView, build_experiment
from scenario.enforce import nft_set_elements
from scenario.pipeline import same_addresses, score_detection
from scenario.policy import BanRequest, compile_policy
from scenario.reputation import derive_reputation


def test_score_detection_counts_lone_attackers_as_correct_bans() -> None:
    scores = score_detection(
        decided={"1.1.1.1", "2.2.2.2", "9.9.9.9", "5.5.5.5"},
        offenders={"1.1.1.1", "2.2.2.2", "3.3.3.3"},
        attackers={"1.1.1.1", "2.2.2.2", "3.3.3.3", "9.9.9.9"},
    )
    assert scores["precision"] == 3 / 4  # 5.5.5.5 never attacked
    assert scores["recall"] == 2 / 3  # 3.3.3.3 missed
    assert scores["false_positives"] == ["5.5.5.5"]
    assert scores["missed"] == ["3.3.3.3"]
    assert scores["banned_lone_attackers"] == 1


def test_a_slash24_with_three_offenders_is_a_bad_net() -> None:
    rep = derive_reputation(
        ["203.0.113.10", "203.0.113.11", "203.0.113.40", "198.51.100.1", "198.51.100.2"]
    )
    assert rep.bad_nets == {"203.0.113.0/24": 3}
    assert rep.escalated == {"203.0.113.10", "203.0.113.11", "203.0.113.40"}
    assert derive_reputation(["198.51.100.1", "198.51.100.2"]).bad_nets == {}


def test_the_policy_decides_known_durations_within_bounds() -> None:
    policy = compile_policy()
    assert policy.digest == compile_policy().digest  # same source, same bytecode hash
    seconds, gas = policy.decide(
        [
            BanRequest("10.0.0.1", (), 0, 0.5, False),  # anomaly only
            BanRequest("10.0.0.2", ("cdabl/ssh-bf",), 1, 0.5, False),
            BanRequest("10.0.0.3", ("cdabl/ssh-bf",), 5, 0.99, False),
            BanRequest("10.0.0.4", ("cdabl/ssh-bf",), 5, 0.99, True),  # 4h*2*2*4 = 64h
            BanRequest("10.0.0.5", ("a", "b"), 50, 1.0, True),
        ],
        "2024-03-02T00:00:00Z",
    )
    assert seconds == {
        "10.0.0.1": 3600,
        "10.0.0.2": 14400,
        "10.0.0.3": 57600,
        "10.0.0.4": 230400,
        "10.0.0.5": 230400,
    }
    assert 0 < gas <= 5 * policy.gas_bound + 100


def test_the_policy_refuses_an_out_of_range_score() -> None:
    with pytest.raises(RuntimeError, match="refused event 1"):
        compile_policy().decide([BanRequest("", (), 0, 0.0, False)], "2024-03-02T00:00:00Z")


def test_nft_set_elements_reads_both_families_and_drops_timeouts() -> None:
    script = (
        "table inet lsck {\n  set blocked4 {\n    type ipv4_addr; flags interval, timeout;\n"
        "    elements = { 192.0.2.1 timeout 60s, 198.51.100.0/24 }\n  }\n"
        "  set blocked6 {\n    elements = { 2001:db8::1 timeout 5s }\n  }\n}\n"
    )
    assert nft_set_elements(script) == {"192.0.2.1", "198.51.100.0/24", "2001:db8::1"}
    assert nft_set_elements("table inet lsck {\n}\n") == frozenset()


@pytest.mark.parametrize("replicated", [True, False])
def test_the_experiment_is_valid_chaos_toolkit(replicated: bool) -> None:
    from chaos_engine.experiment import validate_experiment

    primary = NodeView("ledger-1", "http://127.0.0.1:1", "k", "o")
    replica = NodeView("ledger-2", "http://127.0.0.1:2", "k2", "o2")
    experiment = build_experiment(
        proxy_api="http://127.0.0.1:3",
        proxy="ledger",
        primary=primary,
        victim=replica if replicated else primary,
        victim_pid=12345,
        replicated=replicated,
        sample=["192.0.2.1"],
        size=3,
        root="00" * 32,
    )
    validate_experiment(experiment)
    probes = [p["name"] for p in experiment["steady-state-hypothesis"]["probes"]]
    assert probes[:2] == ["decisions-queryable", "ledger-root-consistent"]
    assert ("replica-root-consistent" in probes) is replicated
    kill = next(a for a in experiment["method"] if a["name"].startswith("kill-"))
    assert kill["provider"] == {
        "type": "python",
        "module": "chaos_engine.actions",
        "func": "kill_process",
        "arguments": {"pid": 12345},
    }
    assert experiment["rollbacks"][0]["provider"]["method"] == "DELETE"


def test_nft_check_refuses_overlapping_intervals(tmp_path: Path) -> None:
    from scenario.enforce import check_nft

    script = tmp_path / "overlap.nft"
    script.write_text(
        "add table inet scenariotest\ndelete table inet scenariotest\n"
        "table inet scenariotest {\n  set s {\n    type ipv4_addr; flags interval, timeout;\n"
        "    elements = { 10.0.0.0/8, 10.1.2.3 timeout 60s }\n  }\n}\n"
    )
    verdict, detail = check_nft(script)
    if verdict is None:
        pytest.skip(detail)
    assert verdict is False
    assert "conflicting intervals" in detail


def test_same_addresses_compares_what_elements_cover() -> None:
    """A range or prefix equals the addresses it covers; a missing or extra address does not."""
    decided = {"10.0.0.0", "10.0.0.1", "2001:db8::5"}
    assert same_addresses({"10.0.0.0/31", "2001:db8::5"}, decided)
    assert same_addresses({"10.0.0.0-10.0.0.1", "2001:db8::5/128"}, decided)
    assert not same_addresses({"10.0.0.0/30", "2001:db8::5"}, decided)
    assert not same_addresses({"10.0.0.0", "2001:db8::5"}, decided)
    assert not same_addresses({"10.0.0.0/31"}, decided)

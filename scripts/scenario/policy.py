"""The ban-duration policy, written in cec's contract language and run in its gas-metered VM.

The policy is a contract so that it is *one hashed artefact*: the same source
always compiles to the same bytecode, whose SHA-256 is what uaa attests beside
the ledger checkpoint, so anyone can check which policy decided the bans.
Each offender is one exercise of the ``decide`` choice; the decision is the
``Ban`` event it emits.  ``ensure post`` bounds every ban between one hour and
one week, so no input can produce a zero or runaway ban.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["POLICY_SOURCE", "BanRequest", "CompiledPolicy", "compile_policy"]

POLICY_SOURCE = """\
// Ban durations for the end-to-end scenario (scripts/scenario/policy.py).
contract BanPolicy version 1 {
  party ledger: signatory;

  state decided: int = 0;
  state last_seconds: int = 0;

  event Ban(source: string, seconds: int);

  // scenarios: the cdabl scenarios that alerted on the source (may be empty
  // when only the anomaly signal flagged it); alerts: how many times;
  // anomaly: cdal's half-space-tree score; bad_net: dsle's reputation fact.
  choice decide(source: string, scenarios: list<string>, alerts: int, anomaly: double, bad_net: bool) by ledger
    ensure pre size(source) > 0 && alerts >= 0 && anomaly >= 0.0 && anomaly <= 1.0;
    ensure post last_seconds >= 3600 && last_seconds <= 604800;
  {
    let base = size(scenarios) > 0 ? 14400 : 3600;
    let repeated = alerts >= 3 ? base * 2 : base;
    let unusual = anomaly >= 0.95 ? repeated * 2 : repeated;
    let network = bad_net ? unusual * 4 : unusual;
    last_seconds = network > 604800 ? 604800 : network;
    decided = decided + 1;
    emit Ban(source, last_seconds);
  }
}
"""


@dataclass(frozen=True)
class BanRequest:
    """The evidence about one offender that the policy decides on."""

    source: str
    scenarios: tuple[str, ...]
    alerts: int
    anomaly: float
    bad_net: bool


@dataclass(frozen=True)
class CompiledPolicy:
    """The compiled contract: bytecode, its hash, and the decisions it makes."""

    bytecode: bytes
    digest: str
    gas_bound: int
    contract: Any  # contract_executable_compiler.CompiledContract

    def decide(self, requests: Sequence[BanRequest], at: str) -> tuple[dict[str, int], int]:
        """Ban seconds per source, and the gas used, from one run of the contract.

        Raises:
            RuntimeError: the contract refused an exercise (names the event and why).
        """
        from contract_executable_compiler import run_trace

        trace: list[dict[str, Any]] = [{"at": at, "create": {"signed_by": ["ledger"]}}]
        trace += [
            {
                "at": at,
                "party": "ledger",
                "choice": "decide",
                "args": {
                    "source": r.source,
                    "scenarios": list(r.scenarios),
                    "alerts": r.alerts,
                    "anomaly": min(max(float(r.anomaly), 0.0), 1.0),
                    "bad_net": r.bad_net,
                },
            }
            for r in requests
        ]
        run = run_trace(self.contract, trace, gas_limit=10_000_000)
        if run.failure is not None:
            raise RuntimeError(
                f"the ban policy refused event {run.failure.index}: {run.failure.message}"
            )
        seconds = {
            str(e["fields"]["source"]): int(e["fields"]["seconds"])
            for e in run.events
            if e["event"] == "Ban"
        }
        return seconds, int(run.gas_used)


def compile_policy(source: str = POLICY_SOURCE) -> CompiledPolicy:
    """Compile the policy (raises cec's ``ContractCompileError`` with diagnostics if it is wrong)."""
    from contract_executable_compiler import compile_contract

    contract = compile_contract(source, name="ban_policy.cec")
    return CompiledPolicy(contract.to_bytes(), contract.digest, contract.gas_bound, contract)

"""Contracts: checking, compilation, running traces, obligations, gas and atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contract_executable_compiler import (
    ContractBytecodeError,
    ContractCompileError,
    ContractInputError,
    check_contract,
    compile_contract,
    load_contract,
    run_trace,
)

EXAMPLES = Path(__file__).parent.parent / "examples"


def escrow_source() -> str:
    return (EXAMPLES / "escrow.cec").read_text(encoding="utf-8")


def escrow_trace() -> list[dict[str, object]]:
    lines = (EXAMPLES / "escrow_trace.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


COUNTER = """
contract Counter {
  party owner: signatory;
  party viewer: observer;
  state n: int = 0;
  state log: list<int> = [];
  event Bumped(to: int);
  choice bump(by: int) by owner
    ensure pre by > 0;
    ensure post n > 0;
  {
    n = n + by;
    log = log + [n];
    emit Bumped(n);
  }
  choice reset() by owner { n = 0; }
  choice spin(k: int) by owner { log = log.map(x, x + k).map(x, x * 2).map(x, x - k); }
}
"""
T0 = "2026-01-01T00:00:00Z"


def at(hours: int) -> str:
    return f"2026-01-01T{hours:02d}:00:00Z"


class TestEscrow:
    def test_happy_path(self) -> None:
        """fund, ship, confirm: closed, funds released, obligation discharged."""
        run = run_trace(compile_contract(escrow_source()), escrow_trace())
        doc = run.to_json()
        assert run.failure is None
        assert doc["status"] == "closed"
        assert doc["state"]["phase"] == "Closed"
        assert doc["state"]["item"] == {"name": "lamp", "price": 120}
        assert [e["event"] for e in doc["events"]] == ["Funded", "Shipped", "Released"]
        assert doc["obligations"]["delivery"]["status"] == "discharged"
        assert doc["gas_used"] > 0

    def test_missed_deadline_breaches_and_refunds(self) -> None:
        """If the seller never ships, the breach block refunds at the deadline."""
        trace = [*escrow_trace()[:2], {"at": "2026-04-01T00:00:00Z"}]
        doc = run_trace(compile_contract(escrow_source()), trace).to_json()
        assert doc["obligations"]["delivery"] == {
            "status": "breached",
            "due": "2026-03-08T10:00:00Z",
        }
        assert doc["events"][-1] == {
            "event": "Refunded",
            "at": "2026-03-08T10:00:00Z",
            "cause": "breach:delivery",
            "fields": {"to": "buyer", "amount": 120},
        }
        assert doc["status"] == "closed"

    def test_wrong_controller_fails_authorisation(self) -> None:
        """Only the controller may exercise a choice; the state stays as it was."""
        trace = escrow_trace()[:2]
        trace.append(
            {
                "at": "2026-03-02T00:00:00Z",
                "party": "buyer",
                "choice": "ship",
                "args": {"tracking": "ABC1234"},
            }
        )
        run = run_trace(compile_contract(escrow_source()), trace)
        assert run.failure is not None
        assert run.failure.kind == "authorisation"
        assert run.to_json()["state"]["phase"] == "Funded"

    def test_precondition_failure_keeps_state(self) -> None:
        """A failed ensure pre rejects the choice atomically."""
        trace = escrow_trace()[:2]
        trace.append(
            {
                "at": "2026-03-02T00:00:00Z",
                "party": "seller",
                "choice": "ship",
                "args": {"tracking": "bad"},
            }
        )
        run = run_trace(compile_contract(escrow_source()), trace)
        assert run.failure is not None
        assert "precondition failed" in run.failure.message
        assert run.to_json()["state"]["history"] == ["funded lamp"]

    def test_missing_signature(self) -> None:
        """Every signatory must sign the creation."""
        trace = [{"at": T0, "create": {"signed_by": ["buyer"]}}]
        run = run_trace(compile_contract(escrow_source()), trace)
        assert run.failure is not None
        assert run.failure.kind == "authorisation"
        assert "seller" in run.failure.message


class TestCounter:
    def test_postcondition_failure_rolls_back(self) -> None:
        """ensure post failing undoes the whole choice, events included."""
        c = compile_contract(COUNTER)
        trace = [
            {"at": T0, "create": {"signed_by": ["owner"]}},
            {"at": at(1), "party": "owner", "choice": "bump", "args": {"by": 2}},
            {"at": at(2), "party": "owner", "choice": "reset", "args": {}},
        ]
        run = run_trace(c, trace)
        assert run.failure is None
        assert run.to_json()["state"]["n"] == 0

    def test_out_of_gas_leaves_state_unchanged(self) -> None:
        """A step that runs out of gas stops cleanly; nothing it did is kept."""
        c = compile_contract(COUNTER)
        trace = [{"at": T0, "create": {"signed_by": ["owner"]}}]
        trace += [
            {"at": at(1), "party": "owner", "choice": "bump", "args": {"by": 1}} for _ in range(30)
        ]
        trace.append({"at": at(2), "party": "owner", "choice": "spin", "args": {"k": 3}})
        full = run_trace(c, trace, gas_limit=10_000)
        assert full.failure is None
        starved = run_trace(c, trace, gas_limit=60)
        assert starved.failure is not None
        assert starved.failure.kind == "gas"
        assert starved.failure.index == 31
        assert starved.to_json()["state"]["log"] == list(range(1, 31))

    def test_state_round_trip(self) -> None:
        """A run can continue from the JSON state of an earlier run."""
        c = compile_contract(COUNTER)
        first = run_trace(
            c,
            [
                {"at": T0, "create": {"signed_by": ["owner"]}},
                {"at": at(1), "party": "owner", "choice": "bump", "args": {"by": 5}},
            ],
        )
        state = json.loads(json.dumps(first.to_json()))
        second = run_trace(
            c, [{"at": at(2), "party": "owner", "choice": "bump", "args": {"by": 1}}], state=state
        )
        assert second.to_json()["state"] == {"log": [5, 6], "n": 6}

    def test_state_of_another_contract_is_refused(self) -> None:
        """A state file is bound to the bytecode hash it came from."""
        c = compile_contract(COUNTER)
        other = compile_contract(COUNTER.replace("state n: int = 0;", "state n: int = 1;"))
        doc = run_trace(c, [{"at": T0, "create": {"signed_by": ["owner"]}}]).to_json()
        with pytest.raises(ContractInputError, match="E0207"):
            run_trace(other, [], state=doc)

    def test_time_must_not_go_backwards(self) -> None:
        """A trace out of time order is bad input."""
        c = compile_contract(COUNTER)
        with pytest.raises(ContractInputError, match="before the previous"):
            run_trace(c, [{"at": at(5), "create": {"signed_by": ["owner"]}}, {"at": at(1)}])

    def test_bad_argument_type(self) -> None:
        """Arguments are read with the declared parameter types."""
        c = compile_contract(COUNTER)
        trace = [
            {"at": T0, "create": {"signed_by": ["owner"]}},
            {"at": at(1), "party": "owner", "choice": "bump", "args": {"by": "two"}},
        ]
        with pytest.raises(ContractInputError, match="expected int"):
            run_trace(c, trace)


class TestBytecode:
    def test_round_trip(self) -> None:
        """A contract survives to_bytes/load_contract byte for byte."""
        c = compile_contract(escrow_source())
        data = c.to_bytes()
        loaded = load_contract(data)
        assert loaded.to_bytes() == data
        assert run_trace(loaded, escrow_trace()).to_json() == run_trace(c, escrow_trace()).to_json()

    def test_truncated_file_is_refused(self) -> None:
        """A truncated file is refused with a clear error."""
        data = compile_contract(escrow_source()).to_bytes()
        with pytest.raises(ContractBytecodeError, match="truncated"):
            load_contract(data[:-10])


class TestChecks:
    def test_several_independent_errors(self) -> None:
        """One check reports every independent problem with its own code."""
        src = """
        contract Bad {
          party a: signatory;
          party a: observer;
          state x: int = "no";
          state y: Missing = 0;
          choice c(z: int) by nobody { w = 1; x = z + "s"; }
        }
        """
        compiled, diags = check_contract(src)
        assert compiled is None
        codes = [d.code for d in diags]
        for code in ("E0201", "E0103", "E0204", "E0202", "E0205", "E0102"):
            assert code in codes, (code, codes)

    def test_compile_error_carries_diagnostics(self) -> None:
        """compile_contract raises with every diagnostic attached."""
        with pytest.raises(ContractCompileError) as info:
            compile_contract(
                "contract X { party p: signatory; choice c() by p { q = 1; } }", name="x.cec"
            )
        assert info.value.diagnostics[0].code == "E0205"
        assert str(info.value).startswith("x.cec:1:")


class TestMoney:
    SOURCE = """
    contract Wallet {
      party owner: signatory;
      state balance: money = money("0 EUR");
      event Paid(amount: money);
      choice deposit(amount: money) by owner
        ensure pre amount > money("0 EUR");
      {
        balance = balance + amount;
        emit Paid(amount);
      }
    }
    """

    def test_exact_amounts_and_state_round_trip(self) -> None:
        """Money is exact, typed in state and arguments, and survives a state file."""
        c = compile_contract(self.SOURCE)
        trace = [{"at": T0, "create": {"signed_by": ["owner"]}}]
        trace += [
            {"at": at(1), "party": "owner", "choice": "deposit", "args": {"amount": "0.10 EUR"}}
        ] * 3
        doc = run_trace(c, trace).to_json()
        assert doc["state"]["balance"] == "0.30 EUR"
        assert doc["events"][0]["fields"] == {"amount": "0.10 EUR"}
        again = run_trace(
            c,
            [{"at": at(2), "party": "owner", "choice": "deposit", "args": {"amount": "1 EUR"}}],
            state=doc,
        )
        assert again.to_json()["state"]["balance"] == "1.30 EUR"

    def test_currency_mismatch_fails_the_choice(self) -> None:
        """Another currency is a run-time error and the state is kept."""
        c = compile_contract(self.SOURCE)
        trace = [
            {"at": T0, "create": {"signed_by": ["owner"]}},
            {"at": at(1), "party": "owner", "choice": "deposit", "args": {"amount": "5 USD"}},
        ]
        run = run_trace(c, trace)
        assert run.failure is not None
        assert "currency mismatch" in run.failure.message
        assert run.to_json()["state"]["balance"] == "0.00 EUR"


class TestOptionalState:
    SOURCE = """
    contract Claim {
      party insurer: signatory;
      state approved_at: optional<timestamp> = optional.none();
      state notes: map<string, string> = {};
      choice approve(note: string) by insurer ensure pre !approved_at.hasValue(); {
        approved_at = optional.of(now);
        notes = {?"note": optional.ofNonZeroValue(note)};
      }
    }
    """

    def test_optional_fields_round_trip(self) -> None:
        """optional<T> is null or the value in state files, and reads back typed."""
        c = compile_contract(self.SOURCE)
        created = run_trace(c, [{"at": T0, "create": {"signed_by": ["insurer"]}}]).to_json()
        assert created["state"]["approved_at"] is None
        step = [{"at": at(3), "party": "insurer", "choice": "approve", "args": {"note": ""}}]
        doc = run_trace(c, step, state=created).to_json()
        assert doc["state"] == {"approved_at": "2026-01-01T03:00:00Z", "notes": {}}
        again = run_trace(c, [{**step[0], "at": at(4)}], state=doc)
        assert again.failure is not None
        assert "precondition failed" in again.failure.message


class TestOldState:
    SOURCE = """
    contract W {
      party o: signatory;
      state b: int = 0;
      choice dep(x: int) by o ensure post b == old.b + x; { b = b + x; }
      choice bad(x: int) by o ensure post b == old.b; { b = b + x; }
    }
    """

    def test_postcondition_sees_the_old_state(self) -> None:
        """`old` is the state before the choice; a false relation rolls the choice back."""
        c = compile_contract(self.SOURCE)
        trace = [
            {"at": T0, "create": {"signed_by": ["o"]}},
            {"at": at(1), "party": "o", "choice": "dep", "args": {"x": 5}},
            {"at": at(2), "party": "o", "choice": "bad", "args": {"x": 1}},
        ]
        run = run_trace(c, trace)
        assert run.failure is not None
        assert run.failure.index == 2
        assert "postcondition failed: b == old.b" in run.failure.message
        assert run.to_json()["state"] == {"b": 5}

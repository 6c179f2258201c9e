"""State migration between contract versions: `migrate from N`, refusal, gas, determinism."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract_executable_compiler import (
    ContractError,
    ContractGasError,
    ContractInputError,
    ContractRunError,
    compile_contract,
    format_contract,
    load_contract,
    run_trace,
)
from contract_executable_compiler._contract_runtime import migrate_state
from contract_executable_compiler.cli import main
from shared_core.testing import run_cli

EXAMPLES = Path(__file__).parent.parent / "examples"
T0 = "2026-01-01T00:00:00Z"

V1 = """
contract Tally version 1 {
  party owner: signatory;
  state count: int = 0;
  state names: list<string> = [];
  choice add(name: string) by owner {
    count = count + 1;
    names = names + [name];
  }
  obligation report: owner must add within duration("240h") after start;
}
"""

V2 = """
contract Tally version 2 {
  party owner: signatory;
  state total: uint = 0u;
  state names: list<string> = [];
  state first: string = "";
  state note: string = "new";
  choice add(name: string) by owner {
    total = total + 1u;
    names = names + [name.upperAscii()];
  }
  obligation report: owner must add within duration("240h") after start;
  migrate from 1 (count: int, names: list<string>) {
    if old.count < 0 { fail "negative count"; }
    total = uint(old.count);
    names = old.names.map(n, n.upperAscii());
    first = size(old.names) > 0 ? old.names[0] : "";
  }
}
"""


def v1_state(names: list[str]) -> dict[str, Any]:
    trace: list[dict[str, Any]] = [{"at": T0, "create": {"signed_by": ["owner"]}}]
    trace += [{"at": T0, "party": "owner", "choice": "add", "args": {"name": n}} for n in names]
    run = run_trace(compile_contract(V1), trace)
    assert run.failure is None
    return run.to_json()


class TestMigration:
    def test_v1_state_becomes_v2_state(self) -> None:
        """The migration reads `old`; untouched fields keep their initial values."""
        run = migrate_state(compile_contract(V2), v1_state(["a", "b"]))
        doc = run.to_json()
        assert doc["version"] == 2
        assert doc["state"] == {"first": "a", "names": ["A", "B"], "note": "new", "total": 2}
        assert doc["obligations"]["report"]["status"] == "discharged"
        assert doc["migrations"][0]["from"] == 1
        assert doc["migrations"][0]["gas_used"] > 0
        assert (
            doc["gas_used"] == v1_state(["a", "b"])["gas_used"] + doc["migrations"][0]["gas_used"]
        )

    def test_migrated_state_runs_on(self) -> None:
        """`run_trace` with an older state migrates it, then applies the new version's choices."""
        trace = [{"at": "2026-01-02T00:00:00Z", "party": "owner", "choice": "add",
                  "args": {"name": "c"}}]  # fmt: skip
        run = run_trace(compile_contract(V2), trace, state=v1_state(["a"]))
        assert run.failure is None
        assert run.to_json()["state"]["total"] == 2
        assert run.to_json()["state"]["names"] == ["A", "C"]

    def test_resumes_after_migration_without_migrating_again(self) -> None:
        """A migrated state carries the new bytecode hash; resuming it is a plain load."""
        c2 = compile_contract(V2)
        doc = migrate_state(c2, v1_state(["a"])).to_json()
        again = run_trace(c2, [], state=doc)
        assert again.to_json()["state"] == doc["state"]
        assert again.to_json()["migrations"] == doc["migrations"]

    def test_bytecode_round_trip_keeps_migrations(self) -> None:
        """Migrations are part of the bytecode; a contract without one keeps its old bytes."""
        c2 = compile_contract(V2)
        loaded = load_contract(c2.to_bytes())
        assert sorted(loaded.migrations) == [1]
        assert migrate_state(loaded, v1_state(["x"])).to_json()["state"]["total"] == 1
        assert b"migrations" not in compile_contract(V1).to_bytes()

    def test_formatter_keeps_the_block(self) -> None:
        """`cec fmt` prints migrations and its output compiles to the same programs."""
        formatted = format_contract(V2)
        assert "migrate from 1 (count: int, names: list<string>) {" in formatted
        assert format_contract(formatted) == formatted
        assert (
            migrate_state(compile_contract(formatted), v1_state(["q"])).to_json()["state"]
            == (migrate_state(compile_contract(V2), v1_state(["q"])).to_json()["state"])
        )


class TestRefusals:
    def test_no_migration_for_that_version_is_e0207(self) -> None:
        """A v1 state meets a v3 contract that only migrates from 2: refused."""
        v3 = V2.replace("version 2", "version 3").replace("migrate from 1", "migrate from 2")
        with pytest.raises(ContractInputError, match=r"no `migrate from 1`.*E0207"):
            run_trace(compile_contract(v3), [], state=v1_state([]))

    def test_newer_state_is_e0207(self) -> None:
        """A state written by a newer version is never loaded by an older one."""
        doc = migrate_state(compile_contract(V2), v1_state([])).to_json()
        with pytest.raises(ContractInputError, match=r"newer version.*E0207"):
            run_trace(compile_contract(V1), [], state=doc)

    def test_other_contract_is_e0207(self) -> None:
        """A state of another contract is refused, whatever its version."""
        doc = v1_state([])
        doc["contract"] = "Other"
        with pytest.raises(ContractInputError, match="E0207"):
            migrate_state(compile_contract(V2), doc)

    def test_shape_mismatch_is_e0208(self) -> None:
        """The saved fields must be exactly the declared old fields."""
        doc = v1_state(["a"])
        del doc["state"]["names"]
        with pytest.raises(ContractInputError, match=r"missing \['names'\].*E0208"):
            migrate_state(compile_contract(V2), doc)

    def test_wrong_old_type_is_refused(self) -> None:
        """A saved value that does not read as its declared type is bad input."""
        doc = v1_state([])
        doc["state"]["count"] = "seven"
        with pytest.raises(ContractInputError, match=r"old\.count"):
            migrate_state(compile_contract(V2), doc)

    def test_dropping_a_pending_obligation_is_e0208(self) -> None:
        """A migration never silently removes a deadline someone still owes."""
        without = V2.replace(
            '  obligation report: owner must add within duration("240h") after start;\n', ""
        )
        with pytest.raises(ContractInputError, match=r"\['report'\].*E0208"):
            migrate_state(compile_contract(without), v1_state([]))

    def test_failing_migration_is_a_run_error(self) -> None:
        """`fail` (or any CEL error) in the block stops the migration: exit-1 kind of error."""
        doc = v1_state([])
        doc["state"]["count"] = -3
        with pytest.raises(ContractRunError, match="negative count"):
            migrate_state(compile_contract(V2), doc)

    def test_gas_is_metered(self) -> None:
        """The migration is charged; too little gas refuses it."""
        doc = v1_state(["a", "b", "c"])
        with pytest.raises(ContractGasError):
            migrate_state(compile_contract(V2), doc, gas_limit=5)


class TestCli:
    def test_migrate_then_run(self, tmp_path: Path) -> None:
        """`cec migrate` turns the escrow's v2 state into v3; `cec run` continues from it."""
        lines = (EXAMPLES / "escrow_trace.jsonl").read_text(encoding="utf-8").splitlines()
        (tmp_path / "t1.jsonl").write_text("\n".join(lines[:2]) + "\n")
        (tmp_path / "t2.jsonl").write_text("\n".join(lines[2:]) + "\n")
        s2, s3 = tmp_path / "s2.json", tmp_path / "s3.json"
        result = run_cli(main, ["run", str(EXAMPLES / "escrow.cec"), "--events",
                                str(tmp_path / "t1.jsonl"), "--save-state", str(s2)])  # fmt: skip
        assert result.code == 0, result.err
        v3 = str(EXAMPLES / "escrow_v3.cec")
        result = run_cli(main, ["migrate", v3, "--state", str(s2), "-o", str(s3)])
        assert result.code == 0, result.err
        assert "from version 2 to 3" in result.err
        state = json.loads(s3.read_text())["state"]
        assert state["paid_cents"] == 12000
        assert state["phase"] == "Funded"
        assert state["migrated_at"] == "2026-03-01T10:00:00Z"
        result = run_cli(main, ["run", v3, "--events", str(tmp_path / "t2.jsonl"),
                                "--state", str(s3)])  # fmt: skip
        assert result.code == 0, result.err
        doc = json.loads(result.out)
        assert doc["status"] == "closed"
        assert doc["events"][-1]["fields"] == {"amount": 12000, "to": "seller"}

    def test_refusal_exits_2_and_keeps_the_output(self, tmp_path: Path) -> None:
        """No applicable migration: one error line with the code, exit 2, nothing written."""
        state = tmp_path / "s.json"
        state.write_text(json.dumps(v1_state([])))
        out = tmp_path / "out.json"
        out.write_text("keep me")
        escrow = str(EXAMPLES / "escrow_v3.cec")
        result = run_cli(main, ["migrate", escrow, "--state", str(state), "-o", str(out)])
        assert result.code == 2
        assert "E0207" in result.err
        assert out.read_text() == "keep me"

    def test_explain_entries(self) -> None:
        """Each migration code has an explanation."""
        for code in ("E0206", "E0207", "E0208"):
            result = run_cli(main, ["explain", code])
            assert result.code == 0
            assert "migrat" in result.out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcdefgh", min_size=1, max_size=4), max_size=8))
def test_migration_is_deterministic_and_preserves_data(names: list[str]) -> None:
    """The same old state always gives the same new state and gas; data carries over."""
    doc = v1_state(names)
    c2 = compile_contract(V2)
    first = migrate_state(c2, doc).to_json()
    second = migrate_state(compile_contract(V2), json.loads(json.dumps(doc))).to_json()
    assert first == second
    assert first["state"]["total"] == len(names)
    assert first["state"]["names"] == [n.upper() for n in names]
    assert first["state"]["first"] == (names[0] if names else "")


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["contract", "version", "state", "status", "time", "obligations",
                         "gas_used", "migrations", "bytecode_sha256"]),
        st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=6)
        | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=3),
                                                                 st.integers(), max_size=2),
    )
)  # fmt: skip
def test_arbitrary_state_documents_never_crash(doc: dict[str, Any]) -> None:
    """Any JSON object as a saved state is refused with the package's own error."""
    doc.setdefault("contract", "Tally")
    with contextlib.suppress(ContractError):
        migrate_state(compile_contract(V2), doc)

"""Running a compiled contract over a trace of timed events.

A trace is a list of events, each with an RFC 3339 ``at`` time (never going
backwards):

* ``{"at": T, "create": {"signed_by": [...]}}`` - creates the contract; every
  signatory must sign.  Obligations ``after start`` become pending.
* ``{"at": T, "party": P, "choice": C, "args": {...}}`` - ``P`` exercises ``C``.
* ``{"at": T}`` - time passes (a tick).

Before any event at time ``T`` every pending obligation due before ``T`` is
breached, in order of due time then declaration, and its ``otherwise``
block runs at the due time.  A choice runs atomically: authorisation,
preconditions, body, postconditions; if anything fails (a check, a CEL
error, gas) nothing it did is kept and the run stops there, reporting the
last good state.  Every step is metered; the result reports total gas.
The same contract and trace always give the same state, events and gas.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contract_executable_compiler._contract_compiler import CompiledContract
from contract_executable_compiler._jsonvalues import to_json, typed_from_json
from contract_executable_compiler._timefmt import format_timestamp, parse_timestamp
from contract_executable_compiler._values import CelEvalError, Duration, Timestamp
from contract_executable_compiler._vm import GasExhausted, LoadedProgram
from contract_executable_compiler.errors import ContractInputError

__all__ = ["ContractRun", "RunFailure", "run_trace"]


@dataclass(slots=True)
class RunFailure:
    """Why a run stopped: the event index, a kind and a message."""

    index: int
    kind: str
    message: str


@dataclass(slots=True)
class ContractRun:
    """The state of one contract instance, advanced event by event."""

    contract: CompiledContract
    gas_limit: int
    digest: str = ""
    created: bool = False
    closed: bool = False
    time_ns: int | None = None
    state: dict[str, Any] = field(default_factory=dict)
    obligations: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    gas_used: int = 0
    failure: RunFailure | None = None
    _programs: dict[str, LoadedProgram] = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = self.contract
        self.digest = c.digest
        self._programs["@init"] = LoadedProgram(c.init)
        for name, ch in c.choices.items():
            self._programs[f"choice:{name}"] = LoadedProgram(ch.program)
        for o in c.obligations:
            self._programs[f"deadline:{o.name}"] = LoadedProgram(o.deadline)
            self._programs[f"breach:{o.name}"] = LoadedProgram(o.breach)
        if not self.obligations:
            self.obligations = {o.name: {"status": "inactive", "due": None} for o in c.obligations}

    # ---------------------------------------------------------------- execution
    def _exec(
        self, key: str, extra: Mapping[str, Any], now_ns: int, caller: str
    ) -> tuple[dict[str, Any], list[tuple[str, list[Any]]], Any]:
        """Run one program on a copy of the state; returns (new state, events, value)."""
        working = dict(self.state)
        working.update(extra)
        working["now"] = Timestamp(now_ns)
        working["caller"] = caller
        working["old"] = dict(self.state)
        emitted: list[tuple[str, list[Any]]] = []
        program = self._programs[key]
        try:
            result = program.run(working, gas_limit=self.gas_limit, state=working, events=emitted)
        except GasExhausted:
            raise _StepError(
                "gas",
                f"{key} ran out of gas (limit {self.gas_limit} per step, static bound {program.program.gas_bound})",
            ) from None
        self.gas_used += result.gas_used
        if result.error is not None:
            raise _StepError("check", f"{key}: {result.error.message}")
        new_state = {name: working[name] for name, _ in self.contract.state}
        if working.get("@closed") is True:
            new_state["@closed"] = True
        return new_state, emitted, result.value

    def _commit(
        self, new_state: dict[str, Any], emitted: list[tuple[str, list[Any]]], at: int, cause: str
    ) -> None:
        if new_state.pop("@closed", False):
            self.closed = True
        self.state = new_state
        for name, values in emitted:
            names = [f for f, _ in self.contract.events.get(name, [])]
            self.events.append(
                {
                    "event": name,
                    "at": format_timestamp(at),
                    "cause": cause,
                    "fields": {f: to_json(v) for f, v in zip(names, values, strict=True)},
                }
            )

    def _activate(self, after: str, at: int) -> None:
        for o in self.contract.obligations:
            if o.after == after and self.obligations[o.name]["status"] == "inactive":
                _, _, value = self._exec(f"deadline:{o.name}", {}, at, "")
                if type(value) is not Duration or value.ns < 0:
                    raise _StepError(
                        "check", f"deadline of {o.name} is not a non-negative duration"
                    )
                self.obligations[o.name] = {"status": "pending", "due": at + value.ns}

    def _breach_overdue(self, t: int) -> None:
        order = {o.name: i for i, o in enumerate(self.contract.obligations)}
        while not self.closed:
            overdue = [
                (ob["due"], order[name], name)
                for name, ob in self.obligations.items()
                if ob["status"] == "pending" and ob["due"] < t
            ]
            if not overdue:
                return
            due, _, name = min(overdue)
            new_state, emitted, _ = self._exec(f"breach:{name}", {}, due, "")
            self.obligations[name]["status"] = "breached"
            self._commit(new_state, emitted, due, f"breach:{name}")

    def step(self, index: int, event: Mapping[str, Any]) -> None:
        """Apply one trace event; records a failure instead of raising for run errors."""
        if self.failure is not None:
            return
        at = _time(event, index)
        if self.time_ns is not None and at < self.time_ns:
            raise ContractInputError(
                f"event {index}: time {event['at']} is before the previous event",
                hint="events in a trace must be in time order",
            )
        snapshot = (
            dict(self.state),
            {k: dict(v) for k, v in self.obligations.items()},
            len(self.events),
            self.closed,
            self.gas_used,
        )
        try:
            if "create" in event:
                self._create(index, event, at)
            else:
                if not self.created:
                    raise ContractInputError(
                        f"event {index}: the contract has not been created",
                        hint='start the trace with {"at": ..., "create": {"signed_by": [...]}} or pass --state',
                    )
                self._breach_overdue(at)
                if "choice" in event:
                    self._choice(index, event, at)
            self.time_ns = at
        except _StepError as exc:
            self.state, self.obligations, n, self.closed, self.gas_used = snapshot
            del self.events[n:]
            self.failure = RunFailure(index, exc.kind, exc.message)

    def _create(self, index: int, event: Mapping[str, Any], at: int) -> None:
        if self.created:
            raise _StepError("check", "the contract already exists")
        spec = event["create"]
        names = spec.get("signed_by", []) if isinstance(spec, Mapping) else None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ContractInputError(
                f"event {index}: create needs signed_by, a list of party names",
                hint='{"create": {"signed_by": ["alice", "bob"]}}',
            )
        signed = set(names)
        needed = {p for p, role in self.contract.parties if role == "signatory"}
        if needed - signed:
            raise _StepError("authorisation", f"signatories {sorted(needed - signed)} did not sign")
        new_state, emitted, _ = self._exec("@init", {}, at, "")
        self.created = True
        self._commit(new_state, emitted, at, "create")
        self._activate("start", at)

    def _choice(self, index: int, event: Mapping[str, Any], at: int) -> None:
        name = event["choice"]
        party = event.get("party", "")
        if not isinstance(name, str) or not isinstance(party, str):
            raise ContractInputError(
                f"event {index}: choice and party must be strings",
                hint='{"party": "alice", "choice": "pay", "args": {}}',
            )
        choice = self.contract.choices.get(name)
        if choice is None:
            raise ContractInputError(f"event {index}: the contract has no choice {name!r}")
        if self.closed:
            raise _StepError("check", f"the contract is closed; {name} cannot be exercised")
        if party not in choice.controllers:
            raise _StepError(
                "authorisation",
                f"{party!r} does not control {name} (controllers: {', '.join(choice.controllers)})",
            )
        raw = event.get("args", {})
        if not isinstance(raw, Mapping):
            raise ContractInputError(f"event {index}: args must be an object")
        expected = {n for n, _ in choice.params}
        if set(raw) != expected:
            raise ContractInputError(
                f"event {index}: {name} takes {sorted(expected)}, got {sorted(raw)}",
                hint="give every parameter of the choice, and nothing else",
            )
        args = {
            n: typed_from_json(
                raw[n],
                t,
                records=self.contract.records,
                enums=self.contract.enums,
                path=f"{name}.{n}",
            )
            for n, t in choice.params
        }
        new_state, emitted, _ = self._exec(f"choice:{name}", args, at, party)
        self._commit(new_state, emitted, at, f"choice:{name}")
        for o in self.contract.obligations:
            ob = self.obligations[o.name]
            if o.choice == name and o.party == party and ob["status"] == "pending":
                ob["status"] = "discharged"
        self._activate(name, at)

    # ---------------------------------------------------------------- output
    def to_json(self) -> dict[str, Any]:
        """The run's outcome: state, events, obligations, gas, status and any failure."""
        out: dict[str, Any] = {
            "contract": self.contract.name,
            "version": self.contract.version,
            "bytecode_sha256": self.digest,
            "status": "closed" if self.closed else ("active" if self.created else "not created"),
            "time": format_timestamp(self.time_ns) if self.time_ns is not None else None,
            "state": {k: to_json(v) for k, v in sorted(self.state.items())},
            "obligations": {
                k: {
                    "status": v["status"],
                    "due": format_timestamp(v["due"]) if v["due"] is not None else None,
                }
                for k, v in sorted(self.obligations.items())
            },
            "events": self.events,
            "gas_used": self.gas_used,
        }
        if self.failure is not None:
            out["failure"] = {
                "event": self.failure.index,
                "kind": self.failure.kind,
                "message": self.failure.message,
            }
        return out

    @classmethod
    def from_json(
        cls, contract: CompiledContract, data: Mapping[str, Any], gas_limit: int
    ) -> ContractRun:
        """Resume from a state document written by :meth:`to_json` for the same bytecode."""
        run = cls(contract, gas_limit)
        if data.get("bytecode_sha256") != run.digest:
            raise ContractInputError(
                "the state file belongs to a different contract or version",
                hint="run it with the bytecode it was produced by",
            )
        types = dict(contract.state)
        try:
            run.state = {
                k: typed_from_json(
                    v, types[k], records=contract.records, enums=contract.enums, path=k
                )
                for k, v in data["state"].items()
            }
            run.created = data["status"] != "not created"
            run.closed = data["status"] == "closed"
            run.time_ns = parse_timestamp(data["time"]) if data.get("time") else None
            run.obligations = {
                k: {"status": v["status"], "due": parse_timestamp(v["due"]) if v["due"] else None}
                for k, v in data["obligations"].items()
            }
            run.gas_used = int(data.get("gas_used", 0))
        except (KeyError, TypeError, AttributeError, ValueError, CelEvalError) as exc:
            if isinstance(exc, ContractInputError):
                raise
            raise ContractInputError(
                f"malformed state file: {exc}",
                hint="pass a state written by `cec run --save-state`",
            ) from None
        if set(run.state) != set(types) or set(run.obligations) != {
            o.name for o in contract.obligations
        }:
            raise ContractInputError("the state file does not match the contract's declarations")
        return run


class _StepError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _time(event: Mapping[str, Any], index: int) -> int:
    at = event.get("at")
    if not isinstance(at, str):
        raise ContractInputError(
            f"event {index}: missing 'at' time", hint='add "at": "2026-01-01T00:00:00Z"'
        )
    try:
        return parse_timestamp(at)
    except CelEvalError:
        raise ContractInputError(f"event {index}: {at!r} is not an RFC 3339 time") from None


def run_trace(
    contract: CompiledContract,
    trace: Iterable[Mapping[str, Any]],
    *,
    gas_limit: int = 1_000_000,
    state: Mapping[str, Any] | None = None,
) -> ContractRun:
    """Run ``trace`` from scratch (or from ``state``); stops at the first failing event."""
    run = (
        ContractRun.from_json(contract, state, gas_limit)
        if state is not None
        else ContractRun(contract, gas_limit)
    )
    for i, event in enumerate(trace):
        if not isinstance(event, Mapping):
            raise ContractInputError(f"event {i} is not a JSON object")
        run.step(i, event)
        if run.failure is not None:
            break
    return run

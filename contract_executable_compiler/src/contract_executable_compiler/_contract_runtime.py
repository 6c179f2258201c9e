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

A saved state (:meth:`ContractRun.to_json`) resumes under the bytecode that
wrote it.  A state written by an older version of the contract resumes
under a newer one only through the newer version's ``migrate from N``
block (:func:`migrate_state`): the new state starts at its initial values,
the migration reads ``old`` and assigns, metered like any step; anything
else is refused (E0207, E0208) and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contract_executable_compiler._contract_compiler import CompiledContract, MigrationInfo
from contract_executable_compiler._jsonvalues import to_json, typed_from_json
from contract_executable_compiler._timefmt import format_timestamp, parse_timestamp
from contract_executable_compiler._values import CelEvalError, Duration, Timestamp
from contract_executable_compiler._vm import GasExhausted, LoadedProgram
from contract_executable_compiler.errors import (
    ContractGasError,
    ContractInputError,
    ContractRunError,
)

__all__ = ["ContractRun", "RunFailure", "migrate_state", "run_trace"]


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
    migrations: list[dict[str, Any]] = field(default_factory=list)
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
        for v, m in c.migrations.items():
            self._programs[f"migrate:{v}"] = LoadedProgram(m.program)
        if not self.obligations:
            self.obligations = {o.name: {"status": "inactive", "due": None} for o in c.obligations}

    # ---------------------------------------------------------------- execution
    def _exec(
        self,
        key: str,
        extra: Mapping[str, Any],
        now_ns: int,
        caller: str,
        old: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], list[tuple[str, list[Any]]], Any]:
        """Run one program on a copy of the state; returns (new state, events, value)."""
        working = dict(self.state)
        working.update(extra)
        working["now"] = Timestamp(now_ns)
        working["caller"] = caller
        working["old"] = dict(self.state) if old is None else old
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
        if self.migrations:
            out["migrations"] = self.migrations
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
        """Resume from a state document written by :meth:`to_json` for the same bytecode.

        A state of an older version of the contract is migrated first
        (:func:`migrate_state`); any other mismatch is refused (E0207).
        """
        run = cls(contract, gas_limit)
        if data.get("bytecode_sha256") != run.digest:
            return migrate_state(contract, data, gas_limit=gas_limit)
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
            run.migrations = [dict(m) for m in data.get("migrations", [])]
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


def _refuse(code: str, message: str, hint: str) -> ContractInputError:
    return ContractInputError(f"{message} ({code})", hint=f"{hint}; see `cec explain {code}`")


def migrate_state(
    contract: CompiledContract, data: Mapping[str, Any], *, gas_limit: int = 1_000_000
) -> ContractRun:
    """Turn a state saved by an older version of ``contract`` into this version's state.

    The new state starts at the declared initial values; then the
    ``migrate from N`` block runs with ``old`` (the saved state, read with
    the block's declared field types) and ``now`` (the saved time), metered
    against ``gas_limit``.  Obligations carry over by name; one still
    pending must exist in the new version.  Obligations new in this version
    that start ``after start`` become pending from the saved time.  Nothing
    is returned half-done: every failure raises and leaves ``data`` unused.

    Raises:
        ContractInputError: E0207 when no migration applies (another contract,
            a newer or unknown version, the same version with other bytecode),
            E0208 when the saved state does not match the migration.
        ContractRunError: the migration failed a check (``fail``, a CEL error).
        ContractGasError: the migration needed more than ``gas_limit``.
    """
    name, version = data.get("contract"), data.get("version")
    target = f"{contract.name} version {contract.version}"
    if name != contract.name:
        raise _refuse(
            "E0207",
            f"the state belongs to contract {name!r}, not {contract.name!r}",
            "run it with the bytecode it was produced by",
        )
    if type(version) is not int:
        raise _refuse("E0207", "the state does not record its contract version", "re-save it")
    if version >= contract.version:
        what = "a newer" if version > contract.version else "the same"
        raise _refuse(
            "E0207",
            f"the state was written by {what} version ({version}) of {contract.name} "
            f"with other bytecode; {target} cannot load it",
            "run it with the bytecode it was produced by",
        )
    migration = contract.migrations.get(version)
    if migration is None:
        declared = ", ".join(str(v) for v in sorted(contract.migrations)) or "none"
        raise _refuse(
            "E0207",
            f"{target} has no `migrate from {version}` (migrations declared from: {declared})",
            f"add `migrate from {version} (...) {{ ... }}` to the contract",
        )
    return _apply_migration(contract, migration, data, gas_limit)


def _apply_migration(
    contract: CompiledContract, m: MigrationInfo, data: Mapping[str, Any], gas_limit: int
) -> ContractRun:
    run = ContractRun(contract, gas_limit)
    types = dict(m.old_state)
    try:
        saved = data["state"]
        status = data["status"]
        time_ns = parse_timestamp(data["time"]) if data.get("time") else None
        old_obligations = {
            str(k): {
                "status": str(v["status"]),
                "due": parse_timestamp(v["due"]) if v["due"] else None,
            }
            for k, v in data["obligations"].items()
        }
        gas_before = int(data.get("gas_used", 0))
        history = [dict(x) for x in data.get("migrations", [])]
    except (KeyError, TypeError, AttributeError, ValueError, CelEvalError) as exc:
        raise ContractInputError(
            f"malformed state file: {exc}", hint="pass a state written by `cec run --save-state`"
        ) from None
    if not isinstance(saved, Mapping):
        raise ContractInputError(
            "malformed state file: `state` is not an object",
            hint="pass a state written by `cec run --save-state`",
        )
    if set(saved) != set(types):
        missing = sorted(set(types) - set(saved))
        extra = sorted(set(saved) - set(types))
        raise _refuse(
            "E0208",
            f"the version-{m.from_version} state does not match `migrate from {m.from_version}`"
            + (f"; missing {missing}" if missing else "")
            + (f"; undeclared {extra}" if extra else ""),
            "declare exactly the old version's state fields in the migration",
        )
    old = {
        k: typed_from_json(
            saved[k], t, records=contract.records, enums=contract.enums, path=f"old.{k}"
        )
        for k, t in m.old_state
    }
    declared = {o.name for o in contract.obligations}
    dropped = sorted(
        k for k, v in old_obligations.items() if v["status"] == "pending" and k not in declared
    )
    if dropped:
        raise _refuse(
            "E0208",
            f"obligation(s) {dropped} are pending in the old state but not declared by {contract.name} "
            f"version {contract.version}",
            "keep the obligation in the new version so its deadline still holds",
        )
    if status == "not created" or time_ns is None:
        run.migrations = [*history, {"from": m.from_version, "to": contract.version, "gas_used": 0}]
        return run
    run.created = True
    run.closed = status == "closed"
    run.time_ns = time_ns
    run.gas_used = gas_before
    try:
        init_state, _, _ = run._exec("@init", {}, time_ns, "")
        run.state = {k: v for k, v in init_state.items() if k != "@closed"}
        new_state, emitted, _ = run._exec(f"migrate:{m.from_version}", {}, time_ns, "", old=old)
        run._commit(new_state, emitted, time_ns, f"migrate:{m.from_version}")
        for o in contract.obligations:
            run.obligations[o.name] = old_obligations.get(
                o.name, {"status": "inactive", "due": None}
            )
        if not run.closed:
            run._activate("start", time_ns)
    except _StepError as exc:
        if exc.kind == "gas":
            raise ContractGasError(
                f"migration from version {m.from_version}: {exc.message}",
                hint="raise --gas-limit; nothing was changed",
            ) from None
        raise ContractRunError(
            f"migration from version {m.from_version} failed: {exc.message}",
            hint="the saved state was left as it was",
        ) from None
    run.migrations = [
        *history,
        {"from": m.from_version, "to": contract.version, "gas_used": run.gas_used - gas_before},
    ]
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

"""Properties: fuzzed input never crashes; compilation and runs are deterministic; gas is bounded."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract_executable_compiler import (
    ContractError,
    check_contract,
    compile_contract,
    compile_expression,
    format_contract,
    load_contract,
    load_expression,
    run_trace,
)
from contract_executable_compiler.testing import random_contract, random_expression, random_trace

CEL_ALPHABET = st.sampled_from(
    [
        *list("abcxyz019 +-*/%<>=!&|?:.,()[]{}'\"\\`_\n"),
        "in ",
        "true",
        "null",
        "has(",
        ".map(",
        "u",
        "b'",
        "r'",
        "'''",
    ]
)


class TestFuzz:
    @settings(max_examples=400, deadline=None)
    @given(st.text(max_size=80))
    def test_expression_text_never_crashes(self, text: str) -> None:
        """Arbitrary text compiles or raises a ContractError; evaluation never raises anything else."""
        try:
            compiled = compile_expression(text)
        except ContractError:
            return
        compiled.run({}, gas_limit=100_000)

    @settings(max_examples=400, deadline=None)
    @given(st.lists(CEL_ALPHABET, max_size=40).map("".join))
    def test_cel_shaped_text_never_crashes(self, text: str) -> None:
        """Text made of CEL's own tokens compiles or fails with a ContractError."""
        try:
            compiled = compile_expression(text)
        except ContractError:
            return
        compiled.run({"a": 1, "x": [1, 2]}, gas_limit=100_000)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=200))
    def test_bytecode_decoder_refuses_garbage(self, data: bytes) -> None:
        """Arbitrary bytes are refused with ContractBytecodeError (a ContractError)."""
        for loader in (load_expression, load_contract):
            try:
                loader(data)
            except ContractError:
                continue

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=200))
    def test_contract_text_never_crashes(self, text: str) -> None:
        """Arbitrary contract text gives diagnostics, never an exception."""
        source = "contract F { party p: signatory; " + text + " }"
        check_contract(source)
        check_contract(text)

    @settings(max_examples=200, deadline=None)
    @given(st.randoms(use_true_random=False), st.integers(0, 199))
    def test_mutated_bytecode_is_refused_or_identical(self, rng: random.Random, where: int) -> None:
        """Flipping any byte of a valid file is detected (hash, header or shape)."""
        data = bytearray(compile_expression("[1, 2].map(x, x * y)").to_bytes())
        i = where % len(data)
        data[i] ^= 1 + rng.randrange(255)
        try:
            load_expression(bytes(data))
        except ContractError:
            return
        raise AssertionError(f"corruption at byte {i} was not detected")


class TestDeterminism:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.randoms(use_true_random=False), st.integers(1, 15))
    def test_generated_contracts_and_traces(self, rng: random.Random, length: int) -> None:
        """Same source, same bytes; same trace, same state, events and gas; gas within the bound."""
        source = random_contract(rng)
        c1 = compile_contract(source)
        c2 = compile_contract(source)
        assert c1.to_bytes() == c2.to_bytes()
        trace = random_trace(rng, sorted(c1.choices), length)
        r1 = run_trace(c1, trace)
        r2 = run_trace(load_contract(c2.to_bytes()), trace)
        assert json.dumps(r1.to_json(), sort_keys=True) == json.dumps(r2.to_json(), sort_keys=True)
        steps = len(trace) + len(c1.obligations) * 2
        assert r1.gas_used <= c1.gas_bound * steps
        formatted = format_contract(source)
        assert format_contract(formatted) == formatted

    @settings(max_examples=300, deadline=None)
    @given(st.randoms(use_true_random=False))
    def test_generated_expressions(self, rng: random.Random) -> None:
        """Expressions: identical bytecode, identical results, gas never above the static bound."""
        text = random_expression(rng, ["a", "b"])
        c = compile_expression(text)
        assert compile_expression(text).to_bytes() == c.to_bytes()
        bindings = {"a": rng.randint(-50, 50), "b": rng.randint(-50, 50)}
        r1 = c.run(bindings)
        r2 = load_expression(c.to_bytes()).run(bindings)
        assert (r1.value, r1.gas_used) == (r2.value, r2.gas_used)
        assert (r1.error is None) == (r2.error is None)
        assert r1.gas_used <= c.gas_bound
        unoptimised = compile_expression(text, optimize=False).run(bindings)
        assert (unoptimised.error is None) == (r1.error is None)
        if r1.error is None:
            assert unoptimised.value == r1.value

    def test_bytes_identical_across_hash_seeds(self) -> None:
        """400 generated contracts compile to the same digests under different PYTHONHASHSEEDs."""
        script = (
            "import random, hashlib\n"
            "from contract_executable_compiler import compile_contract\n"
            "from contract_executable_compiler.testing import random_contract\n"
            "h = hashlib.sha256()\n"
            "for seed in range(400):\n"
            "    h.update(compile_contract(random_contract(random.Random(seed))).to_bytes())\n"
            "print(h.hexdigest())\n"
        )
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script],
                env={**os.environ, "PYTHONHASHSEED": seed},
                stdout=subprocess.PIPE,
                text=True,
            )
            for seed in ("0", "12345")
        ]
        digests = {proc.communicate(timeout=120)[0].strip() for proc in procs}
        assert all(proc.returncode == 0 for proc in procs)
        assert len(digests) == 1
        assert len(next(iter(digests))) == 64


JSON_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
EVENT = st.fixed_dictionaries(
    {"at": st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "bad", 5])},
    optional={
        "create": st.one_of(JSON, st.just({"signed_by": ["owner"]})),
        "party": st.one_of(st.sampled_from(["owner", "viewer"]), JSON),
        "choice": st.one_of(st.sampled_from(["bump", "reset", "nope"]), JSON),
        "args": st.one_of(st.just({"by": 1}), JSON),
    },
)


FUZZ_CONTRACT = compile_contract(
    "contract C { party owner: signatory; party viewer: observer; state n: int = 0;"
    " choice bump(by: int) by owner { n = n + by; } choice reset() by owner { n = 0; } }"
)


class TestRuntimeFuzz:
    @settings(max_examples=200, deadline=None)
    @given(st.lists(EVENT, max_size=6))
    def test_arbitrary_events_never_crash(self, events: list[dict[str, object]]) -> None:
        """Malformed traces raise ContractInputError or record a failure, nothing else."""
        contract = FUZZ_CONTRACT
        trace = [{"at": "2026-01-01T00:00:00Z", "create": {"signed_by": ["owner"]}}, *events]
        try:
            run = run_trace(contract, trace)
        except ContractError:
            return
        doc = run.to_json()
        assert isinstance(doc["state"]["n"], int)

    @settings(max_examples=150, deadline=None)
    @given(JSON, JSON, JSON)
    def test_arbitrary_state_files_never_crash(
        self, state: object, obligations: object, time: object
    ) -> None:
        """A malformed state document is bad input (ContractInputError), never a crash."""
        doc = {
            "bytecode_sha256": FUZZ_CONTRACT.digest,
            "status": "active",
            "state": state,
            "obligations": obligations,
            "time": time,
        }
        try:
            run_trace(FUZZ_CONTRACT, [], state=doc)
        except ContractError:
            return


@pytest.mark.slow
def test_thousand_seeded_contracts_and_traces() -> None:
    """1,000 seeded contracts and traces: each run twice gives identical output, within the gas bound."""
    for seed in range(1000):
        rng = random.Random(seed)
        contract = compile_contract(random_contract(rng))
        trace = random_trace(rng, sorted(contract.choices), rng.randint(1, 10))
        first = run_trace(contract, trace).to_json()
        second = run_trace(contract, trace).to_json()
        assert first == second, seed
        steps = len(trace) + 2 * len(contract.obligations)
        assert first["gas_used"] <= contract.gas_bound * steps, seed

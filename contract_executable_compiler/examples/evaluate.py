"""Compile a CEL expression once, evaluate it with bindings; then run the escrow contract.

uv run python contract_executable_compiler/examples/evaluate.py
"""

import json
from pathlib import Path

from contract_executable_compiler import compile_contract, compile_expression, run_trace

HERE = Path(__file__).parent

rule = compile_expression("user.age >= 18 && user.roles.exists(r, r == 'member')")
print("static gas bound:", rule.gas_bound)
print("adult:", rule.evaluate({"user": {"age": 30, "roles": ["member"]}}))

contract = compile_contract((HERE / "escrow.cec").read_text(encoding="utf-8"), name="escrow.cec")
trace = [
    json.loads(line) for line in (HERE / "escrow_trace.jsonl").read_text().splitlines() if line
]
result = run_trace(contract, trace).to_json()
print("status:", result["status"])
print("events:", [e["event"] for e in result["events"]])
print("gas used:", result["gas_used"])

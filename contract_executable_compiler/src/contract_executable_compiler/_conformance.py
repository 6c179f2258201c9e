"""Runs the cel-spec conformance suite (JSON form) and tabulates passed/failed/unsupported.

Each test is parsed, type-checked against its ``type_env`` (unless
``disable_check``), compiled to bytecode and run in the VM with its
``bindings``; the result is compared with ``value`` (exact CEL type and value,
NaN equal to NaN), ``eval_error`` (any error) or ``typed_result`` (the deduced
type, and the value when given).  Protobuf messages come from
:func:`conformance_types` (the suite's ``TestAllTypes`` schemas built in
code).  A test that needs something outside this compiler (proto2
extensions, an unknown value form) is counted as *unsupported*, never as
passed.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from google.protobuf import any_pb2, json_format

from contract_executable_compiler._checker import (
    CelTypeT,
    Declarations,
    FunctionDecl,
    T,
    message_static_type,
)
from contract_executable_compiler._conformance_schema import conformance_types
from contract_executable_compiler._messages import message_to_cel
from contract_executable_compiler._timefmt import parse_duration, parse_timestamp
from contract_executable_compiler._values import (
    BoolKey,
    CelType,
    Duration,
    Timestamp,
    UInt,
    map_key,
    unmap_key,
)
from contract_executable_compiler.errors import ContractError

__all__ = ["CORE_FILES", "MESSAGE_FILES", "FileReport", "TestOutcome", "render_table", "run_file"]

CORE_FILES: Final = (
    "basic", "comparisons", "conversions", "fp_math", "integer_math", "lists", "logic",
    "macros", "macros2", "string", "timestamps", "parse", "plumbing", "fields", "namespace",
)  # fmt: skip

# Files beyond the core that exercise protobuf messages (run by the tests too).
MESSAGE_FILES: Final = (
    "proto2", "proto2_ext", "proto3", "wrappers", "dynamic", "enums", "type_deduction",
    "optionals",
)  # fmt: skip

_WKT: Final = ("google.protobuf.Duration", "google.protobuf.Timestamp")


class UnsupportedError(Exception):
    """The test needs a feature outside this compiler (proto2 extensions)."""


@dataclass(slots=True)
class TestOutcome:
    """One test's result: ``status`` is passed, failed or unsupported."""

    file: str
    section: str
    name: str
    status: str
    detail: str = ""


@dataclass(slots=True)
class FileReport:
    """Per-file tallies and the individual outcomes."""

    file: str
    outcomes: list[TestOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many tests ended with ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)


def uses_messages(test: dict[str, Any]) -> bool:
    """Whether a test needs protobuf messages (other than Timestamp and Duration).

    Informational since messages are supported; the table no longer skips them.
    """
    text = json.dumps(test)
    if "TestAllTypes" in test["expr"] or "proto2" in text or "proto3" in text:
        return True
    if "google.protobuf." in test["expr"]:
        rest = test["expr"]
        for w in _WKT:
            rest = rest.replace(w, "")
        if "google.protobuf." in rest:
            return True
    if "message_type" in text or "@type" in text:
        stripped = text
        for w in _WKT:
            stripped = stripped.replace(f'"message_type": "{w}"', "").replace(
                f'"@type": "type.googleapis.com/{w}"', ""
            )
        return "message_type" in stripped or "@type" in stripped
    return False


def value_from_json(v: dict[str, Any]) -> Any:
    """A runtime value from cel-spec's JSON ``Value``."""
    if "int64_value" in v:
        return int(v["int64_value"])
    if "uint64_value" in v:
        return UInt(int(v["uint64_value"]))
    if "double_value" in v:
        d = v["double_value"]
        return float(d) if not isinstance(d, str) else float(d.replace("Infinity", "inf"))
    if "string_value" in v:
        return v["string_value"]
    if "bytes_value" in v:
        return base64.b64decode(v["bytes_value"])
    if "bool_value" in v:
        return bool(v["bool_value"])
    if "null_value" in v:
        return None
    if "list_value" in v:
        return [value_from_json(x) for x in v["list_value"].get("values", [])]
    if "map_value" in v:
        out: dict[Any, Any] = {}
        for entry in v["map_value"].get("entries", []):
            out[map_key(value_from_json(entry["key"]))] = value_from_json(entry["value"])
        return out
    if "type_value" in v:
        return CelType(v["type_value"])
    if "object_value" in v:
        obj = v["object_value"]
        kind = obj.get("@type", "").rsplit("/", 1)[-1]
        if kind == "google.protobuf.Duration":
            return Duration(parse_duration(obj["value"]))
        if kind == "google.protobuf.Timestamp":
            return Timestamp(parse_timestamp(obj["value"]))
        return _object_value(obj)
    if "enum_value" in v:
        return int(v["enum_value"].get("value", 0))
    raise UnsupportedError(f"value form {sorted(v)}")


def _object_value(obj: dict[str, Any]) -> Any:
    """A message from its protobuf-JSON ``Any`` form, as the CEL value it reads as."""
    types = conformance_types()
    packed = types.message_class(types.pool.FindMessageTypeByName("google.protobuf.Any"))()
    try:
        json_format.ParseDict(obj, packed, descriptor_pool=types.pool)
    except (json_format.ParseError, KeyError, TypeError) as exc:
        raise UnsupportedError(f"message value: {exc}") from None
    return message_to_cel(packed)


_ = any_pb2  # the Any descriptor must be importable for json_format's type URLs

_PRIMS: Final = {
    "BOOL": T.BOOL, "INT64": T.INT, "UINT64": T.UINT, "DOUBLE": T.DOUBLE,
    "STRING": T.STRING, "BYTES": T.BYTES,
}  # fmt: skip


def type_from_json(t: dict[str, Any]) -> CelTypeT:
    """A static type from cel-spec's JSON ``Type``."""
    if "primitive" in t:
        return _PRIMS[t["primitive"]]
    if "list_type" in t:
        return T.list_(type_from_json(t["list_type"].get("elem_type", {"dyn": {}})))
    if "map_type" in t:
        m = t["map_type"]
        return T.map_(type_from_json(m["key_type"]), type_from_json(m["value_type"]))
    if "dyn" in t:
        return T.DYN
    if "null" in t:
        return T.NULL
    if "well_known" in t:
        wk = t["well_known"]
        if wk == "DURATION":
            return T.DURATION
        if wk == "TIMESTAMP":
            return T.TIMESTAMP
        return T.DYN  # ANY
    if "wrapper" in t:
        return CelTypeT("wrapper", (_PRIMS[t["wrapper"]],))
    if "type" in t:
        return T.type_(type_from_json(t["type"]))
    if "type_param" in t:
        return T.param(str(t["type_param"]))
    if "abstract_type" in t:
        a = t["abstract_type"]
        return CelTypeT(
            str(a["name"]), tuple(type_from_json(p) for p in a.get("parameter_types", []))
        )
    if "message_type" in t:
        return message_static_type(t["message_type"])
    raise UnsupportedError(f"type form {sorted(t)}")


def _declarations(test: dict[str, Any]) -> Declarations:
    variables: dict[str, CelTypeT] = {}
    functions: dict[str, list[FunctionDecl]] = {}
    for decl in test.get("type_env", []):
        if "ident" in decl:
            variables[decl["name"]] = type_from_json(decl["ident"]["type"])
        elif "function" in decl:
            for ov in decl["function"].get("overloads", []):
                params = tuple(type_from_json(p) for p in ov.get("params", []))
                member = bool(ov.get("is_instance_function"))
                functions.setdefault(decl["name"], []).append(
                    FunctionDecl(params, type_from_json(ov["result_type"]), member)
                )
    return Declarations(variables, functions)


def same_value(a: Any, b: Any) -> bool:
    """Strict CEL identity for test comparison: same type and value, NaN equal to NaN."""
    ta, tb = type(a), type(b)
    if ta is not tb:
        return False
    if ta is float:
        return (math.isnan(a) and math.isnan(b)) or a == b
    if ta is list:
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if ta is dict:
        if len(a) != len(b):
            return False
        for k, v in a.items():
            match = [k2 for k2 in b if type(k2) is type(k) and k2 == k]
            if not match or not same_value(v, b[match[0]]):
                return False
        return True
    return bool(a == b)


def _type_text(t: CelTypeT) -> str:
    return str(t)


def run_test(file: str, section: str, test: dict[str, Any]) -> TestOutcome:
    """Run one conformance test."""
    from contract_executable_compiler._expression import compile_expression

    name = test["name"]
    if file == "enums" and section.startswith("strong_"):
        # cel-spec's enum files test two exclusive modes; this compiler implements the
        # legacy one (enum values are ints), so the strong-enum sections do not apply.
        return TestOutcome(file, section, name, "unsupported", "strong enums (opt-in mode)")
    try:
        decls = None if test.get("disable_check") else _declarations(test)
        bindings = {k: value_from_json(v["value"]) for k, v in test.get("bindings", {}).items()}
        expected_type = None
        typed = test.get("typed_result")
        if typed is not None and "deduced_type" in typed:
            expected_type = type_from_json(typed["deduced_type"])
    except UnsupportedError as exc:
        return TestOutcome(file, section, name, "unsupported", str(exc))
    try:
        compiled = compile_expression(
            test["expr"],
            declarations=decls,
            container=test.get("container", ""),
            macros=not test.get("disable_macros", False),
            types=conformance_types(),
        )
    except ContractError as exc:
        if "eval_error" in test:
            return TestOutcome(file, section, name, "passed", "error at compile time")
        return TestOutcome(file, section, name, "failed", f"compile: {exc.message}")
    if expected_type is not None and compiled.result_type != expected_type:
        return TestOutcome(
            file, section, name, "failed",
            f"type {compiled.result_type}, expected {_type_text(expected_type)}",
        )  # fmt: skip
    if test.get("check_only"):
        return TestOutcome(file, section, name, "passed")
    result = compiled.run(bindings, gas_limit=10_000_000)
    if "eval_error" in test:
        if result.error is not None:
            return TestOutcome(file, section, name, "passed")
        return TestOutcome(
            file, section, name, "failed", f"value {result.value!r}, expected an error"
        )
    try:
        if typed is not None:
            expected = value_from_json(typed["result"]) if "result" in typed else None
            if "result" not in typed:
                return TestOutcome(file, section, name, "passed")
        else:
            expected = value_from_json(test["value"]) if "value" in test else True
    except UnsupportedError as exc:
        return TestOutcome(file, section, name, "unsupported", str(exc))
    if result.error is not None:
        return TestOutcome(file, section, name, "failed", f"error {result.error.message}")
    if same_value(result.value, expected):
        return TestOutcome(file, section, name, "passed")
    return TestOutcome(
        file, section, name, "failed", f"got {result.value!r}, expected {expected!r}"
    )


def run_file(path: Path) -> FileReport:
    """Run every test of one cel-spec JSON file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    report = FileReport(path.stem)
    for section in data.get("section", []):
        for test in section.get("test", []):
            report.outcomes.append(run_test(path.stem, section.get("name", ""), test))
    return report


def render_table(reports: list[FileReport]) -> str:
    """A fixed-width table: file, passed, failed, unsupported, total."""
    lines = [f"{'file':<16}{'passed':>8}{'failed':>8}{'unsupp':>8}{'total':>8}"]
    tp = tf = tu = 0
    for r in reports:
        p, f, u = r.count("passed"), r.count("failed"), r.count("unsupported")
        tp, tf, tu = tp + p, tf + f, tu + u
        lines.append(f"{r.file:<16}{p:>8}{f:>8}{u:>8}{p + f + u:>8}")
    lines.append(f"{'total':<16}{tp:>8}{tf:>8}{tu:>8}{tp + tf + tu:>8}")
    return "\n".join(lines)


__all__ += ["BoolKey", "run_test", "same_value", "unmap_key", "uses_messages", "value_from_json"]

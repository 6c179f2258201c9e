"""CEL values to and from JSON, with and without a declared type.

Untyped (:func:`to_json`) is for showing a result: ints stay exact numbers,
bytes become base64, timestamps and durations their protobuf JSON text.
Typed (:func:`typed_to_json` / :func:`typed_from_json`) is for contract state
and choice arguments, where the declared type says how to read the JSON back
exactly (``uint`` vs ``int``, map keys, records and enums).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from typing import Any

from contract_executable_compiler._checker import CelTypeT, T
from contract_executable_compiler._money import Money, money_from_text
from contract_executable_compiler._optional import NONE, Optional
from contract_executable_compiler._timefmt import (
    format_duration,
    format_timestamp,
    parse_duration,
    parse_timestamp,
)
from contract_executable_compiler._values import (
    INT64_MAX,
    INT64_MIN,
    UINT64_MAX,
    CelEvalError,
    CelType,
    Duration,
    Timestamp,
    UInt,
    map_key,
    unmap_key,
)
from contract_executable_compiler.errors import ContractInputError

__all__ = ["from_json", "to_json", "typed_from_json", "typed_to_json"]


def to_json(v: Any) -> Any:
    """A JSON-ready rendering of any runtime value."""
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int or t is UInt:
        return int(v)
    if t is float:
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if t is bytes:
        return base64.b64encode(v).decode("ascii")
    if t is list:
        return [to_json(x) for x in v]
    if t is dict:
        return {_key_text(unmap_key(k)): to_json(x) for k, x in v.items()}
    if t is Timestamp:
        return format_timestamp(v.ns)
    if t is Duration:
        return format_duration(v.ns)
    if t is CelType:
        return v.name
    if t is Money:
        return str(v)
    if t is Optional:
        return to_json(v.value) if v.present else None
    if hasattr(v, "DESCRIPTOR"):
        from google.protobuf import json_format

        return json_format.MessageToDict(v, descriptor_pool=v.DESCRIPTOR.file.pool)
    return str(v)


def _key_text(k: Any) -> str:
    if type(k) is bool:
        return "true" if k else "false"
    return str(k)


def from_json(v: Any) -> Any:
    """A runtime value from plain JSON (numbers without a fraction become ints)."""
    if v is None or isinstance(v, bool | str):
        return v
    if isinstance(v, int):
        if not INT64_MIN <= v <= INT64_MAX:
            if 0 <= v <= UINT64_MAX:
                return UInt(v)
            raise ContractInputError(f"integer {v} does not fit in 64 bits")
        return v
    if isinstance(v, float):
        return v
    if isinstance(v, list):
        return [from_json(x) for x in v]
    if isinstance(v, dict):
        return {map_key(str(k)): from_json(x) for k, x in v.items()}
    raise ContractInputError(f"cannot use a {type(v).__name__} as a CEL value")


def typed_to_json(v: Any, t: CelTypeT) -> Any:
    """JSON for a value of declared type ``t`` (records and enums included)."""
    return to_json(v)


def _bad(what: str, t: CelTypeT, path: str) -> ContractInputError:
    return ContractInputError(
        f"{path or 'value'}: expected {t}, got {what}",
        hint=f"give a JSON value that reads as {t}",
    )


def typed_from_json(
    v: Any,
    t: CelTypeT,
    *,
    records: Mapping[str, Mapping[str, CelTypeT]] | None = None,
    enums: Mapping[str, list[str]] | None = None,
    path: str = "",
) -> Any:
    """Read JSON ``v`` as declared type ``t``; raises ContractInputError on a mismatch."""
    records = records or {}
    enums = enums or {}
    k = t.kind
    try:
        if k == "bool":
            if type(v) is not bool:
                raise _bad(type(v).__name__, t, path)
            return v
        if k == "int":
            if type(v) is not int or not INT64_MIN <= v <= INT64_MAX:
                raise _bad(repr(v), t, path)
            return v
        if k == "uint":
            if type(v) is not int or not 0 <= v <= UINT64_MAX:
                raise _bad(repr(v), t, path)
            return UInt(v)
        if k == "double":
            if type(v) not in (int, float):
                raise _bad(repr(v), t, path)
            return float(v)
        if k == "string":
            if type(v) is not str:
                raise _bad(repr(v), t, path)
            return v
        if k == "bytes":
            if type(v) is not str:
                raise _bad(repr(v), t, path)
            return base64.b64decode(v, validate=True)
        if k == T.TIMESTAMP.kind:
            if type(v) is not str:
                raise _bad(repr(v), t, path)
            return Timestamp(parse_timestamp(v))
        if k == T.DURATION.kind:
            if type(v) is not str:
                raise _bad(repr(v), t, path)
            return Duration(parse_duration(v.removesuffix("s") + "s" if v.endswith("s") else v))
        if k == "optional_type":
            if v is None:
                return NONE
            return Optional(
                typed_from_json(v, t.params[0], records=records, enums=enums, path=path)
            )
        if k == "money":
            if type(v) is not str:
                raise _bad(repr(v), t, path)
            return money_from_text(v)
        if k == "list":
            if type(v) is not list:
                raise _bad(type(v).__name__, t, path)
            return [
                typed_from_json(x, t.params[0], records=records, enums=enums, path=f"{path}[{i}]")
                for i, x in enumerate(v)
            ]
        if k == "map":
            if type(v) is not dict:
                raise _bad(type(v).__name__, t, path)
            out: dict[Any, Any] = {}
            for key, x in v.items():
                kv = _map_key_from_text(key, t.params[0], path)
                out[map_key(kv)] = typed_from_json(
                    x, t.params[1], records=records, enums=enums, path=f"{path}[{key!r}]"
                )
            return out
        if k in records:
            if type(v) is not dict:
                raise _bad(type(v).__name__, t, path)
            fields = records[k]
            extra = set(v) - set(fields)
            missing = set(fields) - set(v)
            if extra or missing:
                raise ContractInputError(
                    f"{path or 'value'}: record {k} "
                    + (
                        f"lacks {sorted(missing)}"
                        if missing
                        else f"has no field(s) {sorted(extra)}"
                    )
                )
            return {
                f: typed_from_json(v[f], ft, records=records, enums=enums, path=f"{path}.{f}")
                for f, ft in fields.items()
            }
        if k in enums:
            if type(v) is not str or v not in enums[k]:
                raise _bad(repr(v), t, path)
            return v
        if k == "dyn":
            return from_json(v)
    except (CelEvalError, binascii.Error, ValueError) as exc:
        if isinstance(exc, ContractInputError):
            raise
        raise ContractInputError(f"{path or 'value'}: {exc}", hint=f"give a valid {t}") from None
    raise ContractInputError(f"{path or 'value'}: values of type {t} cannot be read from JSON")


def _map_key_from_text(key: str, kt: CelTypeT, path: str) -> Any:
    if kt.kind in {"string", "dyn"}:
        return key
    if kt.kind in ("int", "uint"):
        try:
            n = int(key)
        except ValueError:
            raise _bad(repr(key), kt, path) from None
        return UInt(n) if kt.kind == "uint" else n
    if kt.kind == "bool" and key in ("true", "false"):
        return key == "true"
    raise _bad(repr(key), kt, path)

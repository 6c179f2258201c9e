"""Configuration, secrets and ``${name}`` substitution, as Chaos Toolkit does them.

A string that is exactly one reference (``"${port}"``) takes the referenced
value with its type; a reference inside a longer string is rendered as text.
Unknown references stay as they are, so a value meant for the activity itself
(a shell ``$HOME``) passes through.  Configuration wins over secrets.
"""

from __future__ import annotations

import importlib
import json
import os
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path
from string import Template
from typing import Any

from chaos_engine.errors import ChaosExperimentError, ChaosInputError
from shared_core.cli import read_input_text

__all__ = [
    "Configuration",
    "Secrets",
    "convert_vars",
    "load_configuration",
    "load_secrets",
    "merge_vars",
    "substitute",
]

Configuration = dict[str, Any]
Secrets = dict[str, Any]


def _lookup(
    configuration: Mapping[str, Any] | None, secrets: Mapping[str, Any] | None
) -> ChainMap[str, Any]:
    scopes: list[dict[str, Any]] = [
        dict(s) for s in (secrets or {}).values() if isinstance(s, Mapping)
    ]
    return ChainMap(dict(configuration or {}), *scopes)


def _string(template: str, mapping: Mapping[str, Any]) -> Any:
    tpl = Template(template)
    match = tpl.pattern.fullmatch(template)
    if match is not None:
        key = match.group("named") or match.group("braced")
        if key is not None and key in mapping:
            return mapping[key]
    try:
        return tpl.safe_substitute(mapping)
    except ValueError:
        return template


def _walk(data: Any, mapping: Mapping[str, Any]) -> Any:
    if isinstance(data, str):
        return _string(data, mapping)
    if isinstance(data, dict):
        return {k: _walk(v, mapping) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_walk(v, mapping) for v in data]
    return data


def substitute(
    data: Any, configuration: Mapping[str, Any] | None, secrets: Mapping[str, Any] | None
) -> Any:
    """``data`` with every ``${name}`` replaced from configuration, then secrets; a new object."""
    if not data:
        return data
    return _walk(data, _lookup(configuration, secrets))


def convert_to_type(kind: str | None, value: Any) -> Any:
    """Cast a textual value to ``str``/``int``/``float``/``bytes``/``bool``/``json``."""
    if kind is None or kind in ("str", "string"):
        return value
    if value is None:
        return None
    try:
        if kind in ("int", "integer"):
            return int(value)
        if kind in ("float", "number"):
            return float(value)
        if kind == "bytes":
            return str(value).encode("utf-8")
        if kind == "bool":
            return (
                value if isinstance(value, bool) else str(value).lower() not in ("false", "0", "no")
            )
        if kind == "json":
            return json.loads(value) if isinstance(value, str) and value else value
    except (TypeError, ValueError) as exc:
        raise ChaosInputError(f"cannot convert {value!r} to {kind}") from exc
    raise ChaosInputError(
        f"unknown variable type {kind!r}", hint="use one of bool, str, int, float, bytes, json"
    )


def convert_vars(items: list[str]) -> dict[str, Any]:
    """``--var name[:type]=value`` pairs as a mapping with typed values."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ChaosInputError(
                f"--var {item!r} is not name[:type]=value", hint="for example --var port:int=8080"
            )
        key, value = item.split("=", 1)
        kind = None
        if ":" in key:
            key, kind = key.rsplit(":", 1)
        out[key] = convert_to_type(kind, value)
    return out


def merge_vars(
    var: Mapping[str, Any] | None = None, var_files: list[str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Configuration and secret overrides from ``--var`` and ``--var-file`` (JSON, YAML or .env)."""
    config_vars: dict[str, Any] = {}
    secret_vars: dict[str, Any] = {}
    for name in var_files or []:
        path = Path(name)
        content = read_input_text(path, what="var file", error=ChaosInputError)
        data: Any = None
        if path.suffix in (".yaml", ".yml"):
            yaml = importlib.import_module("yaml")

            try:
                data = yaml.safe_load(content)
            except yaml.YAMLError as exc:
                raise ChaosInputError(f"var file {name} is not valid YAML", path=name) from exc
        elif path.suffix == ".json":
            try:
                data = json.loads(content)
            except json.JSONDecodeError as exc:
                raise ChaosInputError(f"var file {name} is not valid JSON", path=name) from exc
        if data:
            if not isinstance(data, dict):
                raise ChaosInputError(f"var file {name} must hold a mapping", path=name)
            config_vars.update(data.get("configuration", {}) or {})
            secret_vars.update(data.get("secrets", {}) or {})
            continue
        for raw in content.splitlines():
            line = raw.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                os.environ[key.strip()] = value
    config_vars.update(var or {})
    return config_vars, secret_vars


def load_configuration(
    info: Mapping[str, Any] | None, extra_vars: Mapping[str, Any] | None = None
) -> Configuration:
    """Resolve the experiment's ``configuration``: literals, ``env`` entries, overrides."""
    env = os.environ
    extra = dict(extra_vars or {})
    conf: Configuration = {}
    for key, raw in (info or {}).items():
        value = extra.pop(key) if key in extra else raw
        if isinstance(value, dict) and value.get("type") == "env":
            env_key = value.get("key")
            if env_key not in env and "default" not in value and key not in extra:
                raise ChaosExperimentError(
                    f"configuration makes reference to an environment key that does not exist: {env_key}",
                    path=f"configuration.{key}.key",
                    hint=f"export {env_key} or give the entry a default",
                )
            conf[key] = extra.get(
                key,
                convert_to_type(
                    value.get("env_var_type"), env.get(str(env_key), value.get("default"))
                ),
            )
        else:
            conf[key] = extra.get(key, value)
    return conf


def load_secrets(
    info: Mapping[str, Any] | None,
    configuration: Mapping[str, Any] | None = None,
    extra_vars: Mapping[str, Any] | None = None,
    _path: str = "secrets",
) -> Secrets:
    """Resolve the experiment's ``secrets`` scopes: literals and ``env`` entries."""
    extra = extra_vars or {}
    secrets: Secrets = {}
    for key, value in (info or {}).items():
        here = f"{_path}.{key}"
        if isinstance(value, dict):
            if extra.get(key) is not None:
                secrets[key] = extra[key]
            elif value.get("type") == "env":
                env_key = value.get("key")
                if env_key not in os.environ:
                    raise ChaosExperimentError(
                        f"secrets make reference to an environment key that does not exist: {env_key}",
                        path=f"{here}.key",
                        hint=f"export {env_key} before running",
                    )
                secrets[key] = os.environ[str(env_key)]
            elif value.get("type") == "vault":
                raise ChaosExperimentError(
                    "vault secrets are not supported by chaos_engine",
                    path=here,
                    hint="pass the value through an env entry instead",
                )
            else:
                secrets[key] = load_secrets(value, configuration, extra.get(key), here)
        else:
            secrets[key] = value
    return secrets

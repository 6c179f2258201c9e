"""Settings with one precedence order for every system.

defaults < TOML file < environment (``<SYSTEM>_*``) < CLI flags.

A system subclasses :class:`CoreSettings`, names itself with ``system`` and
gets the rest: its environment prefix, its default file
``/etc/<system>/config.toml``, and a ``[<system>]`` table looked up inside a
shared file.  :meth:`CoreSettings.load` turns every validation failure into a
:class:`~shared_core.errors.ConfigError` naming the key and the source that
supplied the bad value, so a user knows whether to fix the file, the
environment or the command line.
"""

from __future__ import annotations

import contextvars
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import pydantic
from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from shared_core.errors import ConfigError

__all__ = ["CoreSettings", "read_toml_table", "settings_config"]

_CONFIG_FILE: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "shared_core_config_file", default=None
)


def settings_config(system: str, **extra: Any) -> SettingsConfigDict:
    """The ``model_config`` a system's settings class should use."""
    config = SettingsConfigDict(
        env_prefix=f"{system.upper()}_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
        case_sensitive=False,
    )
    config.update(extra)  # type: ignore[typeddict-item]  # caller-supplied keys are SettingsConfigDict keys
    return config


def read_toml_table(path: Path, section: str) -> dict[str, Any]:
    """Read ``path`` and return the ``[section]`` table, or the whole file if it has none.

    Raises:
        ConfigError: the file is missing, unreadable, or not valid TOML.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"config file {str(path)!r} does not exist",
            source=str(path),
            hint="check the path given to --config",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {str(path)!r}: {exc.strerror}",
            source=str(path),
            hint="check the file's permissions",
        ) from exc
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {str(path)!r} is not UTF-8 text",
            source=str(path),
            hint="save the file as UTF-8",
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config file {str(path)!r} is not valid TOML: {exc}",
            source=str(path),
            hint="see https://toml.io for the syntax",
        ) from exc
    table = document.get(section)
    if isinstance(table, dict):
        return table
    return document


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the TOML file selected for this load (``--config`` or the default)."""

    def __init__(self, settings_cls: type[BaseSettings], section: str) -> None:
        super().__init__(settings_cls)
        path = _CONFIG_FILE.get()
        self._data = read_toml_table(path, section) if path is not None else {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class CoreSettings(BaseSettings):
    """Settings every system shares; subclass it and set ``system``.

    Example::

        class ChaosSettings(CoreSettings):
            system: ClassVar[str] = "chaos_engine"
            model_config = settings_config("chaos_engine")
            max_concurrent_faults: int = 10
    """

    system: ClassVar[str] = "shared_core"
    model_config = settings_config("shared_core")

    log_level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        default="warning", description="lowest level of log line written to stderr"
    )
    log_format: Literal["pretty", "json"] = Field(
        default="pretty", description="log renderer: pretty for people, json for machines"
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces endpoint; no telemetry leaves the process when unset",
    )
    trace_sampling_ratio: float = Field(
        default=1.0, ge=0.0, le=1.0, description="fraction of root traces kept"
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="serve Prometheus /metrics on 127.0.0.1:PORT when set",
    )
    nats_servers: str | None = Field(
        default=None,
        description="comma-separated NATS URLs for the event bus; events are not published when unset",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: CLI overrides (init), then environment, then the TOML file.
        return (init_settings, env_settings, _TomlSource(settings_cls, cls.system))

    @classmethod
    def default_config_file(cls) -> Path:
        """``/etc/<system>/config.toml``: read when it exists and no file is given."""
        return Path("/etc") / cls.system / "config.toml"

    @classmethod
    def env_prefix(cls) -> str:
        prefix = cls.model_config.get("env_prefix") or f"{cls.system.upper()}_"
        return str(prefix)

    @classmethod
    def load(
        cls,
        config_file: str | os.PathLike[str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Self:
        """Build the settings from every source, in precedence order.

        Args:
            config_file: a TOML file; when ``None`` the default file is read if
                it exists.
            overrides: values from the command line; ``None`` values mean "not
                given" and are dropped.

        Raises:
            ConfigError: a value is invalid; ``key`` and ``source`` say which.
        """
        path: Path | None
        if config_file is not None:
            path = Path(config_file)
        else:
            default = cls.default_config_file()
            path = default if default.is_file() else None
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        token = _CONFIG_FILE.set(path)
        try:
            return cls(**given)
        except pydantic.ValidationError as exc:
            raise cls._config_error(exc, path, given) from None
        finally:
            _CONFIG_FILE.reset(token)

    @classmethod
    def _source_of(cls, key: str, path: Path | None, given: Mapping[str, Any]) -> str:
        if key in given:
            return f"command line (--{key.replace('_', '-')})"
        env_name = f"{cls.env_prefix()}{key}".upper()
        if any(name.upper() == env_name for name in os.environ):
            return f"environment variable {env_name}"
        if path is not None:
            try:
                if key in read_toml_table(path, cls.system):
                    return f"config file {path}"
            except ConfigError:
                return f"config file {path}"
        return "default value"

    @classmethod
    def _config_error(
        cls, exc: pydantic.ValidationError, path: Path | None, given: Mapping[str, Any]
    ) -> ConfigError:
        problems = []
        first_key = "?"
        first_source = "?"
        for index, error in enumerate(exc.errors()):
            loc = ".".join(str(part) for part in error["loc"]) or "?"
            key = str(error["loc"][0]) if error["loc"] else "?"
            source = cls._source_of(key, path, given)
            if index == 0:
                first_key, first_source = loc, source
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = "unknown setting"
            problems.append(f"{loc} from {source}: {message}")
        known = ", ".join(sorted(cls.model_fields))
        return ConfigError(
            "invalid configuration: " + "; ".join(problems),
            key=first_key,
            source=first_source,
            hint=f"known settings of {cls.system}: {known}",
        )

    @classmethod
    def env_source(cls) -> EnvSettingsSource:
        """The environment source, for tools that list what the environment sets."""
        return EnvSettingsSource(cls, env_prefix=cls.env_prefix(), case_sensitive=False)

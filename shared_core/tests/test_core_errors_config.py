"""The error hierarchy and settings precedence."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_core.config import CoreSettings, settings_config
from shared_core.errors import (
    ConcurrencyError,
    ConfigError,
    CoreError,
    DeadlineExceededError,
    ErrorKind,
    ExitCode,
    IoError,
    SystemSpecificError,
    ValidationError,
)


class DemoSettings(CoreSettings):
    system: ClassVar[str] = "demo_system"
    model_config = settings_config("demo_system")
    workers: int = 4
    name: str = "default"


class TestErrors:
    def test_kinds_exit_codes_and_builtin_bases(self) -> None:
        """Each kind has its exit code and refines the builtin it resembles."""
        assert issubclass(IoError, OSError)
        assert issubclass(ConfigError, ValueError)
        assert issubclass(ValidationError, ValueError)
        assert issubclass(DeadlineExceededError, TimeoutError)
        assert issubclass(DeadlineExceededError, ConcurrencyError)
        assert ConfigError("x").exit_code == ExitCode.USAGE
        assert ValidationError("x").exit_code == ExitCode.USAGE
        assert IoError("x").exit_code == ExitCode.FAILED
        assert SystemSpecificError("x").kind is ErrorKind.SYSTEM_SPECIFIC
        assert CoreError("x").exit_code == ExitCode.INTERNAL

    def test_to_dict_and_json_carry_context_hint_and_cause(self) -> None:
        """Serialised errors keep message, hint, context and cause."""
        try:
            try:
                raise KeyError("k")
            except KeyError as inner:
                raise ValidationError(
                    "bad field", field="f", value=b"\x01", hint="fix it"
                ) from inner
        except ValidationError as exc:
            data = json.loads(exc.to_json())
        assert data == {
            "error": "ValidationError",
            "kind": "validation",
            "message": "bad field",
            "exit_code": 2,
            "hint": "fix it",
            "context": {"field": "f", "value": "01"},
            "cause": "KeyError: 'k'",
        }

    def test_one_line_has_where_and_hint(self) -> None:
        """The CLI's line says what, where and what to do."""
        err = IoError("cannot read", path="/x", line=3, hint="check it")
        assert err.one_line() == "cannot read (/x:3); hint: check it"
        assert "\n" not in ValidationError("a\nb").one_line()

    def test_errors_survive_pickling(self) -> None:
        """Errors crossing a process pool keep their fields."""
        err = pickle.loads(pickle.dumps(ConfigError("m", key="k", hint="h")))
        assert isinstance(err, ConfigError)
        assert (err.message, err.hint, err.context) == ("m", "h", {"key": "k"})


class TestSettings:
    def test_defaults(self, isolated_env: pytest.MonkeyPatch) -> None:
        """With no file, env or flags, defaults apply."""
        s = DemoSettings.load()
        assert (s.workers, s.log_level, s.log_format) == (4, "warning", "pretty")

    def test_system_table_in_shared_file(
        self, tmp_path: Path, isolated_env: pytest.MonkeyPatch
    ) -> None:
        """A [system] table in a shared file is used."""
        path = tmp_path / "c.toml"
        path.write_text("[demo_system]\nworkers = 9\n[other]\nworkers = 1\n")
        assert DemoSettings.load(path).workers == 9

    def test_unknown_key_names_key_and_file(
        self, tmp_path: Path, isolated_env: pytest.MonkeyPatch
    ) -> None:
        """A typo in the file is an error naming the key and the file."""
        path = tmp_path / "c.toml"
        path.write_text("wrokers = 9\n")
        with pytest.raises(ConfigError) as info:
            DemoSettings.load(path)
        assert "wrokers" in info.value.message
        assert str(path) in info.value.message

    def test_bad_env_value_names_variable(self, isolated_env: pytest.MonkeyPatch) -> None:
        """An invalid environment value names the variable."""
        isolated_env.setenv("DEMO_SYSTEM_WORKERS", "many")
        with pytest.raises(ConfigError) as info:
            DemoSettings.load()
        assert info.value.context["source"] == "environment variable DEMO_SYSTEM_WORKERS"

    def test_missing_and_invalid_files(self, tmp_path: Path) -> None:
        """A missing file or broken TOML is a config error with the path."""
        with pytest.raises(ConfigError):
            DemoSettings.load(tmp_path / "missing.toml")
        broken = tmp_path / "broken.toml"
        broken.write_text("workers = = 3")
        with pytest.raises(ConfigError) as info:
            DemoSettings.load(broken)
        assert info.value.context["source"] == str(broken)

    @given(
        file_value=st.one_of(st.none(), st.integers(0, 1000)),
        env_value=st.one_of(st.none(), st.integers(0, 1000)),
        cli_value=st.one_of(st.none(), st.integers(0, 1000)),
    )
    @settings(max_examples=60)
    def test_precedence(
        self,
        tmp_path_factory: pytest.TempPathFactory,
        file_value: int | None,
        env_value: int | None,
        cli_value: int | None,
    ) -> None:
        """defaults < file < environment < CLI, for any combination of sources."""
        path = tmp_path_factory.mktemp("cfg") / "c.toml"
        path.write_text("" if file_value is None else f"workers = {file_value}\n")
        with pytest.MonkeyPatch.context() as mp:
            if env_value is None:
                mp.delenv("DEMO_SYSTEM_WORKERS", raising=False)
            else:
                mp.setenv("DEMO_SYSTEM_WORKERS", str(env_value))
            loaded = DemoSettings.load(path, {"workers": cli_value})
        expected = next((v for v in (cli_value, env_value, file_value) if v is not None), 4)
        assert loaded.workers == expected

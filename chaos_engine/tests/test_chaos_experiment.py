"""The experiment loader, validator, substitution, tolerances and runner, unit by unit."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaos_engine.errors import ChaosExperimentError, ChaosInputError
from chaos_engine.experiment import (
    JsonPathError,
    RunOptions,
    convert_vars,
    exit_code_of,
    jsonpath_find,
    load_configuration,
    merge_vars,
    parse_experiment,
    run_experiment,
    substitute,
    validate_experiment,
)

FIXTURES = Path(__file__).parent / "fixtures"


def _probe(name: str, func: str = "value", **arguments: Any) -> dict[str, Any]:
    return {
        "type": "probe",
        "name": name,
        "provider": {
            "type": "python",
            "module": "chaos_fixture_probes",
            "func": func,
            "arguments": arguments,
        },
    }


def _experiment(**parts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"title": "t", "description": "d", "method": []}
    base.update(parts)
    return base


@pytest.fixture(autouse=True)
def _fixture_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES))
    monkeypatch.setenv("CHAOS_FIXTURE_STATE", str(tmp_path))


class TestValidation:
    @pytest.mark.parametrize(
        ("experiment", "path"),
        [
            ({"description": "d", "method": []}, "title"),
            ({"title": "t", "method": []}, "description"),
            ({"title": "t", "description": "d"}, "method"),
            (_experiment(method=[{"type": "action", "name": "a"}]), "method[0].provider"),
            (
                _experiment(
                    method=[
                        {
                            "type": "nap",
                            "name": "a",
                            "provider": {"type": "process", "path": "true"},
                        }
                    ]
                ),
                "method[0].type",
            ),
            (
                _experiment(method=[{"type": "action", "name": "a", "provider": {"type": "ftp"}}]),
                "method[0].provider.type",
            ),
            (
                _experiment(
                    method=[
                        {
                            "type": "action",
                            "name": "a",
                            "provider": {"type": "python", "module": "chaos_fixture_probes"},
                        }
                    ]
                ),
                "method[0].provider.func",
            ),
            (
                _experiment(
                    method=[
                        {
                            "type": "action",
                            "name": "a",
                            "provider": {
                                "type": "python",
                                "module": "no_such_module_x",
                                "func": "f",
                            },
                        }
                    ]
                ),
                "method[0].provider.module",
            ),
            (
                _experiment(
                    method=[
                        {
                            "type": "action",
                            "name": "a",
                            "provider": {
                                "type": "python",
                                "module": "chaos_fixture_probes",
                                "func": "value",
                                "arguments": {"nope": 1},
                            },
                        }
                    ]
                ),
                "method[0].provider.arguments",
            ),
            (
                _experiment(
                    method=[
                        {
                            "type": "action",
                            "name": "a",
                            "provider": {"type": "process", "path": "/no/such/binary"},
                        }
                    ]
                ),
                "method[0].provider.path",
            ),
            (
                _experiment(method=[{"type": "action", "name": "a", "provider": {"type": "http"}}]),
                "method[0].provider.url",
            ),
            (_experiment(method=[{**_probe("p"), "timeout": "soon"}]), "method[0].timeout"),
            (
                _experiment(method=[{**_probe("p"), "pauses": {"before": "later"}}]),
                "method[0].pauses.before",
            ),
            (_experiment(method=[{**_probe("p"), "background": "yes"}]), "method[0].background"),
            (_experiment(method=[{"ref": "ghost"}]), "method[0].ref"),
            (
                _experiment(**{"steady-state-hypothesis": {"probes": []}}),
                "steady-state-hypothesis.title",
            ),
            (
                _experiment(**{"steady-state-hypothesis": {"title": "h", "probes": [_probe("p")]}}),
                "steady-state-hypothesis.probes[0].tolerance",
            ),
            (
                _experiment(
                    **{
                        "steady-state-hypothesis": {
                            "title": "h",
                            "probes": [{**_probe("p"), "tolerance": 1.5}],
                        }
                    }
                ),
                "steady-state-hypothesis.probes[0].tolerance",
            ),
            (
                _experiment(
                    **{
                        "steady-state-hypothesis": {
                            "title": "h",
                            "probes": [
                                {**_probe("p"), "tolerance": {"type": "regex", "pattern": "("}}
                            ],
                        }
                    }
                ),
                "steady-state-hypothesis.probes[0].tolerance.pattern",
            ),
            (
                _experiment(
                    **{
                        "steady-state-hypothesis": {
                            "title": "h",
                            "probes": [
                                {
                                    **_probe("p"),
                                    "tolerance": {"type": "jsonpath", "path": "no-dollar"},
                                }
                            ],
                        }
                    }
                ),
                "steady-state-hypothesis.probes[0].tolerance.path",
            ),
            (
                _experiment(
                    **{
                        "steady-state-hypothesis": {
                            "title": "h",
                            "probes": [
                                {**_probe("p"), "tolerance": {"type": "range", "range": [1, "x"]}}
                            ],
                        }
                    }
                ),
                "steady-state-hypothesis.probes[0].tolerance.range[1]",
            ),
            (
                _experiment(
                    **{
                        "steady-state-hypothesis": {
                            "title": "h",
                            "probes": [{**_probe("p"), "tolerance": {"type": "fuzzy"}}],
                        }
                    }
                ),
                "steady-state-hypothesis.probes[0].tolerance.type",
            ),
            (_experiment(rollbacks=[{"type": "action", "name": "r"}]), "rollbacks[0].provider"),
            (
                _experiment(runtime={"rollbacks": {"strategy": "sometimes"}}),
                "runtime.rollbacks.strategy",
            ),
            (
                _experiment(controls=[{"name": "c", "provider": {"type": "python"}}]),
                "controls[0].provider.module",
            ),
            (_experiment(configuration={"x": {"type": "env"}}), "configuration.x.key"),
            (_experiment(secrets={"scope": "flat"}), "secrets.scope"),
            (_experiment(tags=["ok", ""]), "tags[1]"),
        ],
    )
    def test_problem_is_named_by_its_path(self, experiment: dict[str, Any], path: str) -> None:
        """Each problem is reported with the exact path of the faulty entry."""
        with pytest.raises(ChaosExperimentError) as info:
            validate_experiment(experiment, "exp.json")
        assert info.value.context["path"] == path
        assert str(info.value).startswith(f"{path}: ")
        assert f"exp.json:{path}" in info.value.one_line()

    def test_every_problem_is_listed(self) -> None:
        """All problems are collected, the first one leads."""
        with pytest.raises(ChaosExperimentError) as info:
            validate_experiment({"method": [{"type": "action"}]})
        assert info.value.context["problems"][:2] == ["title: missing", "description: missing"]
        assert len(info.value.context["problems"]) == 4

    def test_fixtures_are_valid(self) -> None:
        """Every fixture experiment validates."""
        for path in sorted((FIXTURES / "experiments").iterdir()):
            validate_experiment(parse_experiment(path.read_text(), path.name), path.name)

    def test_parse_errors_give_the_line(self) -> None:
        """Broken JSON and YAML name their line."""
        with pytest.raises(ChaosExperimentError) as info:
            parse_experiment('{\n "title": }', "x.json")
        assert info.value.context["line"] == 2
        with pytest.raises(ChaosExperimentError) as info:
            parse_experiment("title: a\n  bad: [", "x.yaml")
        assert "line" in info.value.context
        with pytest.raises(ChaosExperimentError):
            parse_experiment("- a list", "x.yaml")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


class TestFuzz:
    @settings(max_examples=150, deadline=None)
    @given(st.text(max_size=200))
    def test_parse_raises_only_our_error(self, text: str) -> None:
        """Arbitrary text parses to a mapping or raises ChaosExperimentError, nothing else."""
        with contextlib.suppress(ChaosExperimentError):
            assert isinstance(parse_experiment(text, "fuzz.yaml"), dict)

    @settings(max_examples=150, deadline=None)
    @given(
        st.dictionaries(
            st.sampled_from(
                [
                    "title",
                    "description",
                    "method",
                    "rollbacks",
                    "steady-state-hypothesis",
                    "configuration",
                    "secrets",
                    "controls",
                    "runtime",
                    "tags",
                ]
            ),
            json_values,
        )
    )
    def test_validate_raises_only_our_error(self, experiment: dict[str, Any]) -> None:
        """An arbitrary experiment is valid or raises ChaosExperimentError, nothing else."""
        with contextlib.suppress(ChaosExperimentError):
            validate_experiment(experiment)

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=30), json_values)
    def test_jsonpath_raises_only_its_error(self, path: str, document: Any) -> None:
        """Any path over any document gives a list or JsonPathError."""
        with contextlib.suppress(JsonPathError):
            assert isinstance(jsonpath_find("$" + path, document), list)

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.text(max_size=20), max_size=4))
    def test_convert_vars_raises_only_our_error(self, items: list[str]) -> None:
        """--var values convert or raise ChaosInputError."""
        with contextlib.suppress(ChaosInputError):
            assert isinstance(convert_vars(items), dict)


class TestSubstitution:
    def test_whole_reference_keeps_type(self) -> None:
        """``${n}`` alone keeps its type; inside text it is rendered; unknown ones stay."""
        conf = {"n": 3, "flag": True}
        secrets = {"scope": {"token": "s"}}
        data = {
            "a": "${n}",
            "b": "n=${n}",
            "c": ["${flag}", "${token}"],
            "d": "${missing}",
            "e": "$$5",
        }
        assert substitute(data, conf, secrets) == {
            "a": 3,
            "b": "n=3",
            "c": [True, "s"],
            "d": "${missing}",
            "e": "$5",
        }

    def test_configuration_env_default_and_type(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """env entries read the environment, fall back to the default, and convert."""
        monkeypatch.setenv("CE_PORT", "8080")
        conf = load_configuration(
            {
                "port": {"type": "env", "key": "CE_PORT", "env_var_type": "int"},
                "host": {"type": "env", "key": "CE_NOPE", "default": "h"},
            }
        )
        assert conf == {"port": 8080, "host": "h"}
        with pytest.raises(ChaosExperimentError, match="CE_NOPE"):
            load_configuration({"x": {"type": "env", "key": "CE_NOPE"}})

    def test_vars_and_var_files(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """--var types and var files (JSON, YAML, .env) feed configuration and secrets."""
        assert convert_vars(["a=1", "b:int=2", "c:float=1.5", "d:bool=no", "e:json=[1]"]) == {
            "a": "1",
            "b": 2,
            "c": 1.5,
            "d": False,
            "e": [1],
        }
        js = tmp_path / "v.json"
        js.write_text(json.dumps({"configuration": {"x": 1}, "secrets": {"s": {"k": "v"}}}))
        yml = tmp_path / "v.yaml"
        yml.write_text("configuration:\n  y: 2\n")
        env = tmp_path / "v.env"
        env.write_text("CE_FROM_DOTENV=yes\n")
        monkeypatch.delenv("CE_FROM_DOTENV", raising=False)
        config, secrets = merge_vars({"z": 3}, [str(js), str(yml), str(env)])
        assert config == {"x": 1, "y": 2, "z": 3}
        assert secrets == {"s": {"k": "v"}}
        assert os.environ["CE_FROM_DOTENV"] == "yes"


class TestRunner:
    def test_continuous_hypothesis_runs_during_the_method(self) -> None:
        """``continuously`` checks before, during (repeatedly) and after."""
        exp = _experiment(
            **{
                "steady-state-hypothesis": {
                    "title": "h",
                    "probes": [{**_probe("p"), "tolerance": 1}],
                }
            },
            method=[
                {
                    "type": "action",
                    "name": "slow",
                    "provider": {
                        "type": "python",
                        "module": "chaos_fixture_probes",
                        "func": "slow",
                        "arguments": {"seconds": 0.25},
                    },
                }
            ],
        )
        journal = run_experiment(
            exp, RunOptions(hypothesis_strategy="continuously", hypothesis_frequency=0.05)
        )
        assert journal["steady_states"]["before"]["steady_state_met"] is True
        assert journal["steady_states"]["after"]["steady_state_met"] is True
        assert len(journal["steady_states"]["during"]) >= 2
        assert all(s["steady_state_met"] for s in journal["steady_states"]["during"])
        assert exit_code_of(journal) == 0

    def test_during_only_fail_fast_fails_the_run(self) -> None:
        """During-method deviation with fail-fast stops the method and fails the run."""
        exp = _experiment(
            **{
                "steady-state-hypothesis": {
                    "title": "h",
                    "probes": [{**_probe("p", v=2), "tolerance": 1}],
                }
            },
            method=[
                {
                    "type": "action",
                    "name": "slow",
                    "provider": {
                        "type": "python",
                        "module": "chaos_fixture_probes",
                        "func": "slow",
                        "arguments": {"seconds": 0.3},
                    },
                },
                {
                    "type": "action",
                    "name": "after",
                    "provider": {
                        "type": "python",
                        "module": "chaos_fixture_probes",
                        "func": "value",
                    },
                },
            ],
        )
        journal = run_experiment(
            exp,
            RunOptions(
                hypothesis_strategy="during-method-only", hypothesis_frequency=0.05, fail_fast=True
            ),
        )
        assert journal["status"] == "failed"
        assert [r["activity"]["name"] for r in journal["run"]] == ["slow"]
        assert journal["steady_states"]["before"] is None
        assert exit_code_of(journal) == 1

    def test_activity_timeout_fails_the_activity(self) -> None:
        """An activity's ``timeout`` fails it when it runs longer."""
        exp = _experiment(method=[{**_probe("sleepy", func="slow", seconds=2), "timeout": 0.1}])
        start = time.monotonic()
        journal = run_experiment(exp)
        assert time.monotonic() - start < 1.5
        assert journal["run"][0]["status"] == "failed"
        assert "took too long" in journal["run"][0]["exception"][0]
        assert journal["status"] == "completed"

    def test_dynamic_configuration(self) -> None:
        """A configuration entry that is a probe takes the probe's output."""
        exp = _experiment(
            configuration={"answer": {**_probe("conf", v=42)}},
            method=[_probe("use", v="${answer}")],
        )
        assert run_experiment(exp)["run"][0]["output"] == 42

    @pytest.mark.parametrize(("strategy", "played"), [("default", False), ("always", True)])
    def test_sigterm_interrupts(self, tmp_path: Path, strategy: str, played: bool) -> None:
        """SIGTERM stops the run and records ``interrupted``; rollbacks follow the strategy, as Chaos Toolkit."""
        exp = _experiment(
            method=[
                {
                    "type": "action",
                    "name": "mark",
                    "provider": {
                        "type": "python",
                        "module": "chaos_fixture_probes",
                        "func": "record",
                        "arguments": {"state_dir": str(tmp_path), "name": "started"},
                    },
                },
                {**_probe("sleepy", func="slow", seconds=30, mark=str(tmp_path / "sleeping"))},
            ],
            rollbacks=[
                {
                    "type": "action",
                    "name": "undo",
                    "provider": {
                        "type": "python",
                        "module": "chaos_fixture_probes",
                        "func": "value",
                    },
                }
            ],
        )
        path = tmp_path / "exp.json"
        path.write_text(json.dumps(exp))
        journal = tmp_path / "journal.json"
        env = {**os.environ, "PYTHONPATH": str(FIXTURES)}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chaos_engine",
                "run",
                "--rollback-strategy",
                strategy,
                "--journal-path",
                str(journal),
                str(path),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not (tmp_path / "sleeping").exists():  # the slow probe itself says it runs
            assert time.monotonic() < deadline
            assert proc.poll() is None
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        assert proc.returncode == 1
        data = json.loads(journal.read_text())
        assert data["status"] == "interrupted"
        assert data["run"][-1]["activity"]["name"] == "sleepy"
        assert data["run"][-1]["status"] == "failed"
        assert bool(data["rollbacks"]) is played

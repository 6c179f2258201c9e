"""The spe command line end to end: generate, fit, sample, quality, plan, run, history, lineage, report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from shared_core.testing import run_cli
from synthetic_pipeline_engine.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _one_line_error(err: str) -> None:
    assert err.count("\n") == 1, err
    assert "error:" in err


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "shop", tmp_path / "shop")
    return tmp_path / "shop"


class TestPipelines:
    def test_plan_run_history_lineage_report(
        self, shop: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A partitioned run, its plan, its history, lineage and HTML report."""
        monkeypatch.chdir(shop)
        planned = run_cli(main, ["--json", "plan", "pipeline.yaml", "--partition", "2024-01-02"])
        assert planned.code == 0, planned.err
        stages = json.loads(planned.out)["stages"]
        assert {s["action"] for s in stages} == {"run"}
        assert next(s for s in stages if s["stage"] == "daily_orders")["schema"]["day"] == "date"
        ran = run_cli(
            main,
            ["run", "pipeline.yaml", "--backfill", "2024-01-01..2024-01-02", "--report", "r.html"],
        )
        assert ran.code == 0, ran.err
        assert ran.out.count("succeeded") == 2
        assert pq.read_table(shop / "out/orders_2024-01-02.parquet").num_rows == 3000
        again = run_cli(main, ["--json", "run", "pipeline.yaml", "--partition", "2024-01-02"])
        assert {s["status"] for s in json.loads(again.out)["stages"].values()} == {"cached"}
        history = run_cli(main, ["--json", "history"])
        runs = json.loads(history.out)
        assert [r["partition"] for r in runs] == ["2024-01-02", "2024-01-02", "2024-01-01"]
        lineage = run_cli(main, ["--json", "lineage", "cities_out"])
        tree = json.loads(lineage.out)
        assert tree["target"].endswith("cities_2024-01-02.csv")
        names: set[str] = set()

        def walk(node: dict[str, object]) -> None:
            names.add(str(node["stage"]))
            for child in node["inputs"]:  # type: ignore[attr-defined]
                walk(child)

        walk(tree)
        assert {"by_city", "checked", "scored", "daily_orders", "orders", "customers"} <= names
        report = run_cli(main, ["report", "latest", "--html", "latest.html"])
        assert report.code == 0
        page = (shop / "latest.html").read_text()
        assert "<svg" in page
        assert "cities_out" in page
        assert "Data quality" in page
        assert "customer_id: foreign_key customers.customer_id" in (shop / "r.html").read_text()
        bare = run_cli(main, ["--json", "report", "latest", "--html"])  # the form
        assert bare.code == 0, bare.err
        run_id = json.loads(bare.out)["run_id"]
        assert "<svg" in (shop / f"run-{run_id}.html").read_text()

    def test_failed_run_exit_1_and_outputs_kept(
        self, shop: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A failing validator exits 1 and leaves the previous good output untouched."""
        monkeypatch.chdir(shop)
        assert run_cli(main, ["run", "pipeline.yaml", "--partition", "2024-01-01"]).code == 0
        good = (shop / "out/cities_2024-01-01.csv").read_bytes()
        text = (shop / "pipeline.yaml").read_text().replace("range: [0, 100000]", "range: [0, 10]")
        (shop / "pipeline.yaml").write_text(text)
        failed = run_cli(main, ["run", "pipeline.yaml", "--partition", "2024-01-01"])
        assert failed.code == 1
        assert "checked: failed" in failed.out
        assert (shop / "out/cities_2024-01-01.csv").read_bytes() == good
        resumed = run_cli(main, ["run", "pipeline.yaml", "--partition", "2024-01-01", "--resume"])
        assert resumed.code == 1

    @pytest.mark.parametrize(
        ("argv", "fragment"),
        [
            (["run", "missing.yaml"], "does not exist"),
            (["run", "pipeline.yaml"], "say which partition"),
            (["run", "pipeline.yaml", "--partition", "2024-13-01"], "not a daily key"),
            (
                ["plan", "pipeline.yaml", "--partition", "2024-01-01", "--from", "nope"],
                "unknown stage",
            ),
            (["report", "nope"], "no run"),
            (["lineage", "nope"], "no lineage"),
            (
                ["run", "pipeline.yaml", "--partition", "2024-01-01", "--resume"],
                "no crashed or failed run",
            ),
        ],
    )
    def test_bad_input_is_one_line_exit_2(
        self, shop: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], fragment: str
    ) -> None:
        """Bad input: one line on stderr, exit code 2."""
        monkeypatch.chdir(shop)
        result = run_cli(main, argv)
        assert result.code == 2, result.err
        _one_line_error(result.err)
        assert fragment in result.err

    def test_malformed_pipeline_names_stage(self, tmp_path: Path) -> None:
        """A DAG error names the stage and exits 2."""
        path = tmp_path / "p.yaml"
        path.write_text(
            "name: p\nstages:\n  - {name: b, kind: transform, inputs: [a], sql: SELECT 1}\n"
        )
        result = run_cli(main, ["plan", str(path)])
        assert result.code == 2
        _one_line_error(result.err)
        assert "'b' reads 'a'" in result.err


class TestSynthetic:
    def test_generate_fit_sample_quality(self, tmp_path: Path) -> None:
        """generate -> fit -> sample -> quality, with the numbers in JSON."""
        schema = EXAMPLES / "shop" / "schema.yaml"
        gen = run_cli(
            main,
            [
                "--json",
                "generate",
                str(schema),
                "-o",
                str(tmp_path / "data"),
                "--format",
                "parquet",
                "--seed",
                "3",
            ],
        )
        assert gen.code == 0, gen.err
        written = json.loads(gen.out)
        assert written["customers"]["rows"] == 500
        assert written["orders"]["rows"] == 3000
        single = run_cli(
            main,
            [
                "generate",
                str(schema),
                "-n",
                "50",
                "--table",
                "customers",
                "-o",
                str(tmp_path / "c.csv"),
            ],
        )
        assert single.code == 0
        assert len((tmp_path / "c.csv").read_text().splitlines()) == 51
        model = tmp_path / "m.json"
        fit = run_cli(
            main,
            [
                "--json",
                "fit",
                str(tmp_path / "data/orders.parquet"),
                "--id",
                "order_id",
                "-o",
                str(model),
            ],
        )
        assert fit.code == 0, fit.err
        assert json.loads(fit.out)["rows"] == 3000
        sample = run_cli(
            main, ["sample", str(model), "-n", "400", "-o", str(tmp_path / "syn.parquet")]
        )
        assert sample.code == 0
        assert pq.read_table(tmp_path / "syn.parquet").num_rows == 400
        quality = run_cli(
            main,
            [
                "--json",
                "quality",
                str(tmp_path / "data/orders.parquet"),
                str(tmp_path / "syn.parquet"),
                "--id",
                "order_id",
                "--html",
                str(tmp_path / "q.html"),
            ],
        )
        assert quality.code == 0, quality.err
        scores = json.loads(quality.out)
        assert scores["quality"]["column_shapes"] > 0.85
        assert scores["privacy"]["exact_copies"] == 0
        assert "column shapes" in (tmp_path / "q.html").read_text()

    def test_private_fit_sample_needs_real(self, tmp_path: Path) -> None:
        """--preset private: the model remembers its table; if it changed, exit 2 naming --real."""
        data = tmp_path / "real.csv"
        data.write_text(
            "a,b,c\n" + "\n".join(f"{i % 17},{(i * 7) % 23}.5,{'xyz'[i % 3]}" for i in range(200))
        )
        model = tmp_path / "m.json"
        fit = run_cli(main, ["fit", str(data), "--preset", "private", "-o", str(model)])
        assert fit.code == 0, fit.err
        saved = json.loads(model.read_text())
        assert "privacy" in saved
        assert saved["source"]["path"] == str(data.resolve())
        assert "1,7.5" not in model.read_text()  # the model names the table, never holds rows
        remembered = run_cli(main, ["sample", str(model), "-n", "20"])
        assert remembered.code == 0, remembered.err
        assert len(remembered.out.splitlines()) == 21
        original = data.read_text()
        data.write_text(original + "\n3,4.5,x")
        changed = run_cli(main, ["sample", str(model), "-n", "20", "-o", str(tmp_path / "s.csv")])
        assert changed.code == 2
        _one_line_error(changed.err)
        assert "changed since the fit" in changed.err
        assert "--real" in changed.err
        data.unlink()
        gone = run_cli(main, ["sample", str(model), "-n", "20"])
        assert gone.code == 2
        assert "no longer there" in gone.err
        data.write_text(original)
        fidelity = tmp_path / "f.json"
        assert run_cli(main, ["fit", str(data), "-o", str(fidelity)]).code == 0
        assert "source" not in json.loads(fidelity.read_text())
        ok = run_cli(
            main,
            ["sample", str(model), "-n", "20", "--real", str(data), "-o", str(tmp_path / "s.csv")],
        )
        assert ok.code == 0, ok.err
        assert len((tmp_path / "s.csv").read_text().splitlines()) == 21
        to_stdout = run_cli(main, ["sample", str(model), "-n", "7", "--real", str(data)])
        assert to_stdout.code == 0, to_stdout.err
        lines = to_stdout.out.splitlines()
        assert lines[0] == '"a","b","c"'
        assert len(lines) == 8

    def test_security_logs(self, tmp_path: Path) -> None:
        """The security-logs example generates three labelled log tables."""
        result = run_cli(
            main,
            [
                "--json",
                "generate",
                str(EXAMPLES / "security_logs.yaml"),
                "-o",
                str(tmp_path),
                "--format",
                "jsonl",
            ],
        )
        assert result.code == 0, result.err
        lines = (tmp_path / "sshd.jsonl").read_text().splitlines()
        assert len(lines) == 20000
        first = json.loads(lines[0])
        assert {"line", "label", "campaign", "is_attack"} <= set(first)

    @pytest.mark.parametrize(
        ("argv", "fragment"),
        [
            (["generate", "nope.yaml", "-o", "x.csv"], "does not exist"),
            (["fit", "nope.csv", "-o", "m.json"], "does not exist"),
            (["fit", "data.txt", "-o", "m.json"], "cannot tell the format"),
            (["sample", "bad.json", "-n", "5", "-o", "s.csv"], "not readable JSON"),
            (["sample", "bad.json", "-n", "-5", "-o", "s.csv"], "non-negative"),
            (["generate", "bad_schema.yaml", "-o", "x.csv"], "needs a non-empty 'tables'"),
        ],
    )
    def test_bad_input(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], fragment: str
    ) -> None:
        """Bad files and flags give one clear line and exit 2."""
        monkeypatch.chdir(tmp_path)
        (tmp_path / "bad.json").write_text("{not json")
        (tmp_path / "data.txt").write_text("a,b\n")
        (tmp_path / "bad_schema.yaml").write_text("tables: []\n")
        result = run_cli(main, argv)
        assert result.code == 2, result.err
        _one_line_error(result.err)
        assert fragment in result.err


class TestExamples:
    def test_run_shop_example(self, tmp_path: Path) -> None:
        """examples/run_shop.py runs three days and everything is cached on re-plan."""
        import importlib.util

        spec = importlib.util.spec_from_file_location("run_shop", EXAMPLES / "run_shop.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.main(tmp_path / "work") == 0
        assert (tmp_path / "work" / "report.html").exists()
        assert len(list((tmp_path / "work" / "out").glob("orders_*.parquet"))) == 3


class TestCliFuzz:
    @staticmethod
    def _run_text(tmp: Path, name: str, text: str, argv: list[str]) -> int:
        path = tmp / name
        path.write_text(text, encoding="utf-8")
        result = run_cli(main, [*argv[:1], str(path), *argv[1:]])
        assert result.code in (0, 1, 2), result.err
        if result.code == 2:
            _one_line_error(result.err)
        return result.code

    def test_arbitrary_schema_and_pipeline_text(self, tmp_path: Path) -> None:
        """Arbitrary text as a schema, pipeline or model never crashes the CLI (no exit 3)."""
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            text=st.text(max_size=200)
            | st.sampled_from(
                [
                    "tables: {t: {rows: 3, columns: {a: {type: int}}}}",
                    "name: p\nstages: [{name: a, kind: source}]",
                    '{"format": "spe-gaussian-copula/1"}',
                ]
            )
        )
        def check(text: str) -> None:
            self._run_text(tmp_path, "s.yaml", text, ["generate", "-o", str(tmp_path / "o.csv")])
            self._run_text(tmp_path, "p.yaml", text, ["plan"])
            self._run_text(
                tmp_path, "m.json", text, ["sample", "-n", "2", "-o", str(tmp_path / "x.csv")]
            )

        check()

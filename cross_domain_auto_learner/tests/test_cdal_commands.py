"""End to end through the CLI: train, evaluate, predict, report, serve, domains, anomalies."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cross_domain_auto_learner.cli import main
from shared_core.testing import run_cli


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    """A small labelled CSV with numeric, categorical and text fields."""
    import numpy as np

    rng = np.random.default_rng(0)
    lines = ["bytes,proto,msg,label"]
    for _ in range(600):
        bad = rng.random() < 0.5
        b = rng.normal(900 if bad else 200, 50)
        proto = "tcp" if bad else rng.choice(["udp", "tcp"])
        msg = "failed password for root" if bad else "accepted publickey"
        lines.append(f"{b:.1f},{proto},{msg},{'attack' if bad else 'ok'}")
    p = tmp_path / "events.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


class TestTrainPredict:
    def test_train_then_predict(self, csv_file: Path, tmp_path: Path) -> None:
        """train --auto saves a model that predicts the labels back."""
        model = tmp_path / "m.cdal"
        res = run_cli(
            main,
            [
                "--json",
                "train",
                "--stream",
                str(csv_file),
                "--target",
                "label",
                "--out",
                str(model),
            ],
        )
        assert res.code == 0, res.err
        summary = json.loads(res.out)
        assert summary["metrics"]["accuracy"] > 0.95
        assert summary["selection"]["winner"] or summary["selection"]["leader"]
        pred = run_cli(main, ["--json", "predict", str(model), str(csv_file)])
        assert pred.code == 0, pred.err
        predictions = json.loads(pred.out)["predictions"]
        assert len(predictions) == 600
        assert set(predictions) <= {"attack", "ok"}

    def test_signed_model(self, csv_file: Path, tmp_path: Path) -> None:
        """A model signed at training verifies at prediction; another key is refused (exit 1)."""
        from shared_core.crypto import generate_signing_key, write_private_key, write_public_key

        key, other = generate_signing_key(), generate_signing_key()
        write_private_key(tmp_path / "k.pem", key)
        write_public_key(tmp_path / "k.pub", key.verify_key)
        write_public_key(tmp_path / "o.pub", other.verify_key)
        model = tmp_path / "m.cdal"
        args = ["train", "--stream", str(csv_file), "--model", "logistic", "--out", str(model)]
        assert run_cli(main, [*args, "--sign-key", str(tmp_path / "k.pem")]).code == 0
        ok = run_cli(
            main, ["predict", str(model), str(csv_file), "--verify-key", str(tmp_path / "k.pub")]
        )
        assert ok.code == 0, ok.err
        bad = run_cli(
            main, ["predict", str(model), str(csv_file), "--verify-key", str(tmp_path / "o.pub")]
        )
        assert bad.code == 1
        assert "does not verify" in bad.err

    def test_corrupt_model_is_exit_2_and_untouched(self, csv_file: Path, tmp_path: Path) -> None:
        """A corrupted model file gives one line, exit 2, and is left as it was."""
        model = tmp_path / "m.cdal"
        assert (
            run_cli(
                main,
                ["train", "--stream", str(csv_file), "--model", "gaussian-nb", "--out", str(model)],
            ).code
            == 0
        )
        data = bytearray(model.read_bytes())
        data[-3] ^= 0x55
        model.write_bytes(bytes(data))
        res = run_cli(main, ["predict", str(model), str(csv_file)])
        assert res.code == 2
        assert res.err.count("\n") == 1
        assert "hash mismatch" in res.err
        assert model.read_bytes() == bytes(data)

    def test_bad_csv_is_one_line_exit_2(self, tmp_path: Path) -> None:
        """A ragged CSV names the line; exit code 2."""
        p = tmp_path / "bad.csv"
        p.write_text("a,b\n1,2\n3\n")
        res = run_cli(main, ["train", "--stream", str(p), "--out", str(tmp_path / "m.cdal")])
        assert res.code == 2
        assert "line 3" in res.err
        assert res.err.count("\n") == 1
        assert not (tmp_path / "m.cdal").exists()

    def test_unknown_synthetic_and_model(self) -> None:
        """Unknown names are input errors with the valid choices in the hint."""
        res = run_cli(main, ["evaluate", "--stream", "synthetic:nope"])
        assert res.code == 2
        assert "sea" in res.err
        res = run_cli(main, ["evaluate", "--stream", "synthetic:sea", "--model", "magic"])
        assert res.code == 2
        assert "hoeffding-tree" in res.err


class TestEvaluateReport:
    def test_evaluate_writes_run_and_reports(self, tmp_path: Path) -> None:
        """evaluate --out writes a run; report renders HTML with the plot and drift points."""
        run = tmp_path / "run.json"
        res = run_cli(
            main,
            [
                "--synthetic-samples",
                "4000",
                "--json",
                "evaluate",
                "--stream",
                "synthetic:agrawal-drift",
                "--model",
                "adaptive-tree",
                "--out",
                str(run),
                "--png",
                str(tmp_path / "p.png"),
            ],
        )
        assert res.code == 0, res.err
        summary = json.loads(res.out)
        assert summary["true_drift_points"] == [2000]
        assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        rep = run_cli(main, ["report", str(run), "--html", str(tmp_path / "r.html")])
        assert rep.code == 0, rep.err
        html = (tmp_path / "r.html").read_text()
        assert "data:image/png;base64," in html
        assert "true change points: 2000" in html

    def test_holdout(self) -> None:
        """Holdout mode trains on the head and scores the tail."""
        res = run_cli(
            main,
            [
                "--synthetic-samples",
                "4000",
                "--json",
                "evaluate",
                "--stream",
                "synthetic:sea",
                "--model",
                "logistic",
                "--holdout",
                "0.25",
            ],
        )
        assert res.code == 0, res.err
        assert json.loads(res.out)["metrics"]["accuracy"] > 0.95

    def test_report_rejects_non_run(self, tmp_path: Path) -> None:
        """report on a file that is not a run is exit 2 with a hint."""
        p = tmp_path / "x.json"
        p.write_text('{"a": 1}')
        res = run_cli(main, ["report", str(p)])
        assert res.code == 2
        assert "cdal evaluate --out" in res.err


class TestServeDomainsAnomalies:
    def test_serve_learns_online(
        self, csv_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """serve predicts each JSON line and, with --learn, saves the updated model."""
        model = tmp_path / "m.cdal"
        assert (
            run_cli(
                main,
                ["train", "--stream", str(csv_file), "--model", "logistic", "--out", str(model)],
            ).code
            == 0
        )
        lines = [
            json.dumps(
                {"bytes": 950, "proto": "tcp", "msg": "failed password for root", "label": "attack"}
            ),
            json.dumps({"bytes": 180, "proto": "udp", "msg": "accepted publickey"}),
        ]
        monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
        res = run_cli(main, ["serve", str(model), "--learn", "--save", str(tmp_path / "m2.cdal")])
        assert res.code == 0, res.err
        out = [json.loads(x) for x in res.out.splitlines()]
        assert out == [{"prediction": "attack"}, {"prediction": "ok"}]
        assert (tmp_path / "m2.cdal").exists()

    def test_domains_add_list_transfer(self, tmp_path: Path) -> None:
        """A related synthetic domain warm-starts from the registered one."""
        reg = str(tmp_path / "reg.json")
        base = ["--synthetic-samples", "6000"]
        assert (
            run_cli(
                main,
                [
                    *base,
                    "domains",
                    "add",
                    "agr",
                    "--stream",
                    "synthetic:agrawal",
                    "--model",
                    "hoeffding-tree",
                    "--registry",
                    reg,
                ],
            ).code
            == 0
        )
        assert (
            run_cli(
                main,
                [
                    *base,
                    "domains",
                    "add",
                    "sea",
                    "--stream",
                    "synthetic:sea",
                    "--model",
                    "logistic",
                    "--registry",
                    reg,
                ],
            ).code
            == 0
        )
        listed = json.loads(run_cli(main, ["--json", "domains", "list", "--registry", reg]).out)
        assert sorted(listed["domains"]) == ["agr", "sea"]
        res = run_cli(
            main,
            [
                *base,
                "--seed",
                "7",
                "--json",
                "domains",
                "transfer",
                "--stream",
                "synthetic:agrawal-perturbed",
                "--registry",
                reg,
                "--out",
                str(tmp_path / "w.cdal"),
            ],
        )
        assert res.code == 0, res.err
        out = json.loads(res.out)
        assert out["source_domain"] == "agr"
        assert out["fraction_of_cold_examples"] is not None
        assert out["fraction_of_cold_examples"] <= 0.25

    def test_anomalies_on_csv(self, tmp_path: Path) -> None:
        """The injected odd rows top the anomaly list."""
        import numpy as np

        rng = np.random.default_rng(3)
        rows = ["a,b"] + [f"{x:.3f},{y:.3f}" for x, y in rng.normal(0, 1, (1500, 2))]
        rows[1200] = "9.0,-9.0"
        rows[1400] = "-8.5,8.0"
        p = tmp_path / "d.csv"
        p.write_text("\n".join(rows) + "\n")
        res = run_cli(main, ["--json", "anomalies", "--stream", str(p), "--top", "2"])
        assert res.code == 0, res.err
        top = {t["row"] for t in json.loads(res.out)["top"]}
        assert top == {1200, 1400}


class TestReportFuzz:
    @settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        st.dictionaries(
            st.sampled_from(
                ["model", "stream", "n_samples", "metrics", "positions", "windowed", "drift_points"]
            ),
            st.none()
            | st.integers(-5, 5)
            | st.text(max_size=4)
            | st.lists(st.integers(0, 9), max_size=3)
            | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
            max_size=7,
        )
    )
    def test_report_on_arbitrary_run(self, tmp_path: Path, data: dict[str, object]) -> None:
        """report on any JSON object renders or exits 2 with one line, never 3."""
        p = tmp_path / "run.json"
        p.write_text(json.dumps(data))
        res = run_cli(main, ["report", str(p), "--html", str(tmp_path / "r.html")])
        assert res.code in (0, 2), res.err

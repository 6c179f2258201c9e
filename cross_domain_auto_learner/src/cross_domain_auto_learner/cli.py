"""The ``cross_domain_auto_learner`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from cross_domain_auto_learner import __version__
from cross_domain_auto_learner.config import AutoLearnerSettings
from cross_domain_auto_learner.errors import LearnerInputError
from shared_core.cli import CliApp, Context

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="cross_domain_auto_learner",
    version=__version__,
    settings_cls=AutoLearnerSettings,
    description="Online learners with drift adaptation, automatic model selection and transfer between domains.",
)


def _settings(ctx: Context) -> AutoLearnerSettings:
    settings = ctx.settings
    if not isinstance(settings, AutoLearnerSettings):
        raise LearnerInputError("unexpected settings type", hint="report this")
    return settings


def _stream_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--stream",
        required=True,
        metavar="FILE|synthetic:NAME",
        help="CSV, JSON lines or a built-in stream",
    )
    p.add_argument(
        "--target", metavar="COL", help="target column of a file stream (default: last column)"
    )
    p.add_argument("--task", choices=("classification", "regression"), default="classification")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--auto", action="store_true", help="race a portfolio and keep the best (default)"
    )
    group.add_argument(
        "--model", metavar="NAME", help="a named learner instead of --auto (see 'models')"
    )


def _build(ctx: Context, args: argparse.Namespace) -> tuple[Any, Any]:
    """The pipeline and the stream the command works on."""
    from cross_domain_auto_learner._catalog import make_model
    from cross_domain_auto_learner._features import RecordEncoder
    from cross_domain_auto_learner._pipeline import Pipeline
    from cross_domain_auto_learner._readers import read_records, split_target
    from cross_domain_auto_learner._streams import synthetic_stream

    settings = _settings(ctx)
    name = args.model or ("auto" if args.task == "classification" else "linear")
    model = make_model(name, args.task, settings.seed)
    source: str = args.stream
    if source.startswith("synthetic:"):
        stream = synthetic_stream(
            source.removeprefix("synthetic:"), settings.synthetic_samples, settings.seed
        )
        stream_task = "classification" if stream.y.dtype.kind in "iub" else "regression"
        if args.task != stream_task:
            raise LearnerInputError(
                f"{source} is a {stream_task} stream, not {args.task}",
                hint=f"pass --task {stream_task}",
            )
        pipeline = Pipeline(model, feature_names=stream.feature_names)
        if stream_task == "classification":
            pipeline.labels.encode(list(range(stream.n_classes)))
        return pipeline, stream
    records = read_records(source)
    target = args.target or list(records[0])[-1]
    features, labels = split_target(records, target, source=source)
    encoder = RecordEncoder.infer(features[:1000], target=None)
    pipeline = Pipeline(model, encoder=encoder, target=target)
    return pipeline, pipeline.stream_from_records(features, labels, name=Path(source).name)


def _summary(result: Any, pipeline: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stream": result.stream,
        "examples": result.n_samples,
        "metrics": {k: round(v, 5) for k, v in result.metrics.items()},
        "samples_per_second": round(result.samples_per_second, 1),
        "true_drift_points": result.drift_points,
        "detected_drifts": result.detected_drifts,
    }
    report = getattr(pipeline.model, "report", None)
    if callable(report):
        out["selection"] = report()
        result.extra["selection"] = out["selection"]
    return out


def _human(summary: dict[str, Any]) -> str:
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in summary["metrics"].items())
    lines = [
        f"{summary['stream']}: {summary['examples']} examples, {metrics}, {summary['samples_per_second']:,.0f} samples/s"
    ]
    sel = summary.get("selection")
    if sel:
        lines.append(
            f"selected: {sel['winner'] or sel['leader']} (raced {', '.join(sel['portfolio'])})"
        )
    if summary["detected_drifts"]:
        lines.append("detected drifts at: " + ", ".join(map(str, summary["detected_drifts"])))
    return "\n".join(lines)


def _setup_train(p: argparse.ArgumentParser) -> None:
    _stream_args(p)
    p.add_argument("--out", default="model.cdal", metavar="MODEL", help="model file to write")
    p.add_argument("--sign-key", metavar="KEYFILE", help="sign the model with this private key")


@app.command(
    "train",
    help="train a model prequentially on a stream and save it",
    setup=_setup_train,
)
def _train(ctx: Context, args: argparse.Namespace) -> int:
    from cross_domain_auto_learner._evaluate import prequential
    from cross_domain_auto_learner._persist import save_model

    settings = _settings(ctx)
    pipeline, stream = _build(ctx, args)
    signing_key = None
    if args.sign_key:
        from shared_core.crypto import read_private_key

        signing_key = read_private_key(args.sign_key)
    result = prequential(
        pipeline.model, stream, batch_size=settings.batch_size, window=settings.window
    )
    summary = _summary(result, pipeline)
    header = save_model(args.out, pipeline, metadata={"training": summary}, signing_key=signing_key)
    summary["model_file"] = str(args.out)
    summary["payload_sha256"] = header["payload_sha256"]
    ctx.emit(summary, human=_human(summary) + f"\nsaved {args.out}")
    return 0


def _setup_evaluate(p: argparse.ArgumentParser) -> None:
    _stream_args(p)
    p.add_argument(
        "--holdout",
        type=float,
        metavar="FRACTION",
        help="train on the first part, test on the last FRACTION",
    )
    p.add_argument("--out", metavar="RUN.json", help="write the run (for 'report')")
    p.add_argument("--html", metavar="FILE", help="write an HTML report")
    p.add_argument("--png", metavar="FILE", help="write the plot as PNG")


@app.command(
    "evaluate",
    help="prequential (or holdout) evaluation of a model on a stream",
    setup=_setup_evaluate,
)
def _evaluate(ctx: Context, args: argparse.Namespace) -> int:
    from cross_domain_auto_learner._evaluate import holdout, prequential
    from cross_domain_auto_learner._report import write_report
    from cross_domain_auto_learner._streams import Stream

    settings = _settings(ctx)
    pipeline, stream = _build(ctx, args)
    if args.holdout is not None:
        if not 0 < args.holdout < 1:
            raise LearnerInputError(
                "--holdout must be a fraction in (0, 1)", hint="e.g. --holdout 0.2"
            )
        cut = int(len(stream) * (1 - args.holdout))
        if cut < 1 or cut >= len(stream):
            raise LearnerInputError(
                "the stream is too short for that holdout", hint="use more data"
            )
        train = Stream(stream.X[:cut], stream.y[:cut], stream.feature_names, name=stream.name)
        test = Stream(stream.X[cut:], stream.y[cut:], stream.feature_names, name="last part")
        result = holdout(pipeline.model, train, test, batch_size=settings.batch_size)
    else:
        result = prequential(
            pipeline.model, stream, batch_size=settings.batch_size, window=settings.window
        )
    summary = _summary(result, pipeline)
    if args.out:
        try:
            Path(args.out).write_text(json.dumps(result.to_dict()), encoding="utf-8")
        except OSError as exc:
            raise LearnerInputError(
                f"cannot write {args.out}: {exc.strerror}", hint="check the path"
            ) from None
    if args.html or args.png:
        write_report(result, html_path=args.html, png_path=args.png)
    ctx.emit(summary, human=_human(summary))
    return 0


def _setup_predict(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL")
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--verify-key",
        metavar="KEYFILE",
        help="refuse the model unless signed by this public key",
    )


@app.command(
    "predict",
    help="predict every record of a CSV/JSON-lines file with a saved model",
    setup=_setup_predict,
)
def _predict(ctx: Context, args: argparse.Namespace) -> int:
    from cross_domain_auto_learner._persist import load_model
    from cross_domain_auto_learner._pipeline import Pipeline
    from cross_domain_auto_learner._readers import read_records

    verify_key = None
    if args.verify_key:
        from shared_core.crypto import read_public_key

        verify_key = read_public_key(args.verify_key)
    pipeline, _header = load_model(args.model, verify_key=verify_key)
    if not isinstance(pipeline, Pipeline):
        raise LearnerInputError(
            f"{args.model} holds a bare learner, not a pipeline", hint="save it with 'cdal train'"
        )
    records = read_records(args.file)
    if pipeline.target:
        records = [{k: v for k, v in r.items() if k != pipeline.target} for r in records]
    predictions = pipeline.predict_records(records)
    if ctx.json_output:
        ctx.emit({"predictions": predictions})
    else:
        ctx.stdout.write(
            "".join(json.dumps({"prediction": p}, default=str) + "\n" for p in predictions)
        )
    return 0


def _setup_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN.json")
    p.add_argument("--html", metavar="FILE", help="HTML report to write (default: RUN.html)")
    p.add_argument("--png", metavar="FILE", help="PNG plot to write")


@app.command(
    "report",
    help="render a saved run as HTML and/or PNG",
    setup=_setup_report,
)
def _report(ctx: Context, args: argparse.Namespace) -> int:
    from cross_domain_auto_learner._evaluate import EvaluationResult
    from cross_domain_auto_learner._report import write_report

    try:
        data = json.loads(Path(args.run).read_text(encoding="utf-8"))
    except OSError as exc:
        raise LearnerInputError(
            f"cannot read {args.run}: {exc.strerror}", hint="check the path"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise LearnerInputError(
            f"{args.run}: not JSON", hint="pass a file from 'cdal evaluate --out'"
        ) from None
    if not isinstance(data, dict):
        raise LearnerInputError(
            f"{args.run}: not an evaluation run", hint="pass a file from 'cdal evaluate --out'"
        )
    result = EvaluationResult.from_dict(data)
    html_path = args.html if args.html or args.png else str(Path(args.run).with_suffix(".html"))
    written = write_report(result, html_path=html_path, png_path=args.png)
    ctx.emit({"written": [str(p) for p in written]}, human="\n".join(f"wrote {p}" for p in written))
    return 0


def _setup_domains(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("list", "add", "transfer"))
    p.add_argument("name", nargs="?", help="domain name (for add)")
    p.add_argument("--stream", metavar="FILE|synthetic:NAME", help="the domain's labelled data")
    p.add_argument("--target", metavar="COL", help="target column of a file stream")
    p.add_argument("--task", choices=("classification",), default="classification")
    p.add_argument("--model", metavar="NAME", help="learner for add (default: --auto selection)")
    p.add_argument("--auto", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--source", metavar="DOMAIN", help="transfer from this domain (default: the most similar)"
    )
    p.add_argument(
        "--registry", metavar="FILE", help="registry file (default: the registry setting)"
    )
    p.add_argument("--out", metavar="MODEL", help="transfer: write the warm-started model here")


@app.command(
    "domains",
    help="list known domains, add one, or warm-start a new domain from the most similar",
    setup=_setup_domains,
)
def _domains(ctx: Context, args: argparse.Namespace) -> int:
    from cross_domain_auto_learner._domains_cli import domains

    return domains(ctx, args, _settings(ctx), _build)


def _setup_serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--input", metavar="FILE", help="JSON lines to read instead of stdin")
    p.add_argument("--learn", action="store_true", help="learn from records that carry the target")
    p.add_argument(
        "--save", metavar="MODEL", help="with --learn: write the updated model at the end"
    )


@app.command(
    "serve",
    help="predict JSON-lines records from stdin as they arrive (test-then-train with --learn)",
    setup=_setup_serve,
)
def _serve(ctx: Context, args: argparse.Namespace) -> int:
    from cross_domain_auto_learner._domains_cli import serve

    return serve(ctx, args)


def _setup_anomalies(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stream", required=True, metavar="FILE|synthetic:NAME")
    p.add_argument(
        "--top", type=int, default=10, help="how many of the most anomalous rows to show"
    )
    p.add_argument("--window-size", type=int, default=250, help="half-space trees' mass window")
    p.add_argument(
        "--ignore", metavar="COLS", help="comma-separated columns to leave out (ids, labels)"
    )


@app.command(
    "anomalies",
    help="score a stream's records with half-space trees and show the most anomalous",
    setup=_setup_anomalies,
)
def _anomalies(ctx: Context, args: argparse.Namespace) -> int:
    from cross_domain_auto_learner._domains_cli import anomalies

    return anomalies(ctx, args, _settings(ctx))


@app.command("models", help="list the learners the CLI can build")
def _models(ctx: Context, _args: argparse.Namespace) -> int:
    from cross_domain_auto_learner._catalog import CLASSIFIERS, REGRESSORS

    data = {"classification": list(CLASSIFIERS), "regression": list(REGRESSORS)}
    ctx.emit(data)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(app.main())

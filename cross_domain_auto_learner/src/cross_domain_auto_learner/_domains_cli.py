"""The ``domains``, ``serve`` and ``anomalies`` commands (kept apart to keep ``cli.py`` readable)."""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from cross_domain_auto_learner._catalog import make_model
from cross_domain_auto_learner._evaluate import prequential
from cross_domain_auto_learner._learner import Classifier
from cross_domain_auto_learner._persist import load_model, save_model
from cross_domain_auto_learner._pipeline import Pipeline
from cross_domain_auto_learner._readers import read_records, split_target
from cross_domain_auto_learner._streams import Stream, synthetic_stream
from cross_domain_auto_learner._transfer import (
    DomainRegistry,
    map_features,
    meta_features,
    warm_start_curve,
)
from cross_domain_auto_learner.config import AutoLearnerSettings
from cross_domain_auto_learner.errors import LearnerDomainError, LearnerInputError
from shared_core.cli import Context

__all__ = ["anomalies", "domains", "serve"]


def _model_dir(registry: DomainRegistry) -> Path:
    return registry.path.parent / "models"


def domains(
    ctx: Context, args: argparse.Namespace, settings: AutoLearnerSettings, build: Any
) -> int:
    """``domains list|add|transfer``."""
    registry = DomainRegistry(args.registry or settings.registry)
    if args.action == "list":
        rows = {
            name: {
                "learner": d["learner"],
                "n_samples": d["n_samples"],
                "features": len(d["features"]),
                "meta": {k: round(v, 4) for k, v in d["meta"].items()},
            }
            for name, d in sorted(registry.domains.items())
        }
        ctx.emit(
            {"registry": str(registry.path), "domains": rows},
            human="\n".join(
                f"{n}: {r['n_samples']} samples, {r['features']} features, learner {r['learner']}"
                for n, r in rows.items()
            )
            or "no domains",
        )
        return 0
    if not args.stream:
        raise LearnerInputError(
            f"domains {args.action} needs --stream", hint="e.g. --stream data.csv --target label"
        )
    if args.action == "add":
        if not args.name:
            raise LearnerInputError(
                "domains add needs a NAME", hint="cdal domains add site-a --stream ..."
            )
        pipeline, stream = build(ctx, args)
        result = prequential(
            pipeline.model, stream, batch_size=settings.batch_size, window=settings.window
        )
        model_file = _model_dir(registry) / f"{args.name}.cdal"
        save_model(model_file, pipeline, metadata={"domain": args.name})
        learner = args.model or "auto"
        report = getattr(pipeline.model, "report", None)
        chosen = report()["winner"] if callable(report) else learner
        entry = registry.add(
            args.name,
            stream,
            learner=str(chosen or learner),
            model_file=str(model_file),
            hyperparameters=_json_safe(getattr(pipeline.model, "params", dict)()),
        )
        ctx.emit(
            {
                "domain": args.name,
                "accuracy": result.metrics.get("accuracy"),
                "learner": entry["learner"],
                "model_file": str(model_file),
                "meta": entry["meta"],
            },
            human=f"added {args.name}: prequential accuracy {result.metrics.get('accuracy', float('nan')):.4f}, learner {entry['learner']}",
        )
        return 0
    return _transfer(ctx, args, settings, registry)


def _json_safe(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        out[k] = v if isinstance(v, str | int | float | bool | type(None)) else repr(v)
    return out


def _target_stream(
    args: argparse.Namespace, source: Pipeline, settings: AutoLearnerSettings
) -> Stream:
    """The target domain's data, encoded the way the source pipeline expects."""
    labels = copy.deepcopy(source.labels)
    if args.stream.startswith("synthetic:"):
        raw = synthetic_stream(
            args.stream.removeprefix("synthetic:"), settings.synthetic_samples, settings.seed
        )
        idx = map_features(source.feature_names or list(raw.feature_names), raw.feature_names)
        return Stream(
            raw.X[:, idx], raw.y, tuple(source.feature_names or raw.feature_names), name=raw.name
        )
    records = read_records(args.stream)
    target = args.target or source.target or list(records[0])[-1]
    features, ys = split_target(records, target, source=args.stream)
    X = source.encode(features)
    y = labels.encode([str(v) if not isinstance(v, int | str | bool) else v for v in ys])
    return Stream(X, y, tuple(source.feature_names), name=Path(args.stream).name)


def _transfer(
    ctx: Context, args: argparse.Namespace, settings: AutoLearnerSettings, registry: DomainRegistry
) -> int:
    probe_records: Stream
    if args.stream.startswith("synthetic:"):
        probe_records = synthetic_stream(
            args.stream.removeprefix("synthetic:"), settings.synthetic_samples, settings.seed
        )
    else:
        records = read_records(args.stream)
        target = args.target or list(records[0])[-1]
        features, ys = split_target(records, target, source=args.stream)
        from cross_domain_auto_learner._features import RecordEncoder

        probe = Pipeline(
            make_model("gaussian-nb"), encoder=RecordEncoder.infer(features[:1000], target=None)
        )
        probe_records = probe.stream_from_records(features, ys, name=args.stream)
    meta = meta_features(probe_records.X, probe_records.y)
    name, distance = (args.source, 0.0) if args.source else registry.nearest(meta)
    if name not in registry.domains:
        raise LearnerDomainError(f"unknown domain {name!r}", hint="see 'cdal domains list'")
    entry = registry.domains[name]
    if not entry.get("model_file"):
        raise LearnerDomainError(
            f"domain {name!r} has no trained model", hint="re-add it with 'cdal domains add'"
        )
    source, _ = load_model(entry["model_file"])
    if not isinstance(source, Pipeline) or not isinstance(source.model, Classifier):
        raise LearnerDomainError(
            f"domain {name!r}'s model is not a classification pipeline", hint="re-add it"
        )
    stream = _target_stream(args, source, settings)
    cut = int(len(stream) * 0.7)
    if cut < 20 or len(stream) - cut < 10:
        raise LearnerInputError(
            "the target stream is too short to measure a transfer", hint="give at least 100 rows"
        )
    train = Stream(stream.X[:cut], stream.y[:cut], stream.feature_names)
    test = Stream(stream.X[cut:], stream.y[cut:], stream.feature_names)
    checkpoints = sorted({max(1, int(cut * f)) for f in (0.02, 0.05, 0.1, 0.25, 0.5, 1.0)})
    learner = (
        entry["learner"]
        if entry["learner"]
        in ("logistic", "gaussian-nb", "hoeffding-tree", "adaptive-tree", "arf", "knn")
        else "adaptive-tree"
    )
    curve = warm_start_curve(
        source.model,
        lambda: _classifier(learner, settings.seed),
        train,
        test,
        checkpoints=checkpoints,
        batch_size=settings.batch_size,
    )
    warm = copy.deepcopy(source)
    warm_model = _classifier_of(warm)
    warm_model.rebaseline()
    for lo in range(0, len(stream), settings.batch_size):
        warm_model.learn_many(
            stream.X[lo : lo + settings.batch_size], stream.y[lo : lo + settings.batch_size]
        )
    out: dict[str, Any] = {
        "source_domain": name,
        "meta_distance": round(distance, 4),
        "cold_learner": learner,
        **curve,
    }
    if args.out:
        save_model(args.out, warm, metadata={"transferred_from": name})
        out["model_file"] = str(args.out)
    frac = curve["fraction_of_cold_examples"]
    ctx.emit(
        out,
        human=(
            f"warm start from {name} (meta distance {distance:.3f}): "
            f"cold start reaches {curve['cold_final']:.4f} with {checkpoints[-1]} target examples; "
            + (
                f"warm start reaches it with {curve['warm_examples_to_cold_final']} ({frac:.0%})"
                if frac is not None
                else "warm start never reaches it"
            )
        ),
    )
    return 0


def _classifier(name: str, seed: int) -> Classifier:
    model = make_model(name, "classification", seed)
    if not isinstance(model, Classifier):
        raise LearnerInputError(f"{name} is not a classifier", hint="see 'cdal models'")
    return model


def serve(ctx: Context, args: argparse.Namespace) -> int:
    """Predict JSON-lines records from stdin (or --input) as they arrive; optionally learn from labelled ones."""
    pipeline, _header = load_model(args.model)
    if not isinstance(pipeline, Pipeline):
        raise LearnerInputError(
            f"{args.model} holds a bare learner, not a pipeline", hint="save it with 'cdal train'"
        )
    source = open(args.input, encoding="utf-8") if args.input else sys.stdin  # noqa: SIM115 - closed below when ours
    learned = 0
    try:
        for lineno, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LearnerInputError(
                    f"line {lineno}: invalid JSON: {exc.msg}", hint="send one JSON object per line"
                ) from None
            if not isinstance(record, dict):
                raise LearnerInputError(
                    f"line {lineno}: expected a JSON object", hint="send one JSON object per line"
                )
            label = record.pop(pipeline.target, None) if pipeline.target else None
            prediction = pipeline.predict_records([record])[0]
            ctx.stdout.write(json.dumps({"prediction": prediction}, default=str) + "\n")
            ctx.stdout.flush()
            if args.learn and label is not None:
                X = pipeline.encode([record])
                if isinstance(pipeline.model, Classifier):
                    pipeline.model.learn_many(X, pipeline.labels.encode([label]))
                else:
                    pipeline.model.learn_many(X, np.asarray([float(label)]))
                learned += 1
    finally:
        if args.input:
            source.close()
    if args.learn and learned and args.save:
        save_model(args.save, pipeline, metadata={"served_and_learned": learned})
    return 0


def anomalies(ctx: Context, args: argparse.Namespace, settings: AutoLearnerSettings) -> int:
    """Score every record of a stream with half-space trees (score, then learn)."""
    from cross_domain_auto_learner._anomaly import HalfSpaceTrees
    from cross_domain_auto_learner._features import RecordEncoder

    if args.stream.startswith("synthetic:"):
        X = synthetic_stream(
            args.stream.removeprefix("synthetic:"), settings.synthetic_samples, settings.seed
        ).X
    else:
        records = read_records(args.stream)
        if args.ignore:
            drop = set(args.ignore.split(","))
            records = [{k: v for k, v in r.items() if k not in drop} for r in records]
        X = RecordEncoder.infer(records[:1000], target=None).encode_many(records)
    model = HalfSpaceTrees(window_size=args.window_size, seed=settings.seed)
    scores = np.zeros(X.shape[0])
    for lo in range(0, X.shape[0], settings.batch_size):
        scores[lo : lo + settings.batch_size] = model.score_many(X[lo : lo + settings.batch_size])
        model.learn_many(X[lo : lo + settings.batch_size])
    order = np.argsort(-scores)[: args.top]
    top = [{"row": int(i) + 1, "score": round(float(scores[i]), 5)} for i in order]
    ctx.emit(
        {"rows": int(X.shape[0]), "warmup_rows": args.window_size, "top": top},
        human="\n".join(f"row {t['row']}: score {t['score']}" for t in top),
    )
    return 0


def _classifier_of(pipeline: Pipeline) -> Classifier:
    if not isinstance(pipeline.model, Classifier):
        raise LearnerDomainError(
            "transfer needs a classification pipeline", hint="re-add the domain"
        )
    return pipeline.model

"""The ``spe`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from shared_core.cli import CliApp, Context
from synthetic_pipeline_engine import __version__
from synthetic_pipeline_engine.config import PipelineSettings
from synthetic_pipeline_engine.errors import PipelineInputError

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="synthetic_pipeline_engine",
    version=__version__,
    settings_cls=PipelineSettings,
    description="Declarative data pipelines with caching and lineage, and synthetic data that keeps the statistics of the real thing.",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()


def _settings(ctx: Context) -> PipelineSettings:
    settings = ctx.settings
    if not isinstance(settings, PipelineSettings):
        raise PipelineInputError(
            "settings are not this system's", hint="run through synthetic_pipeline_engine.cli"
        )
    return settings


def _state_dir(ctx: Context, pipeline: Path | None = None) -> Path:
    configured = _settings(ctx).state_dir
    if configured:
        return Path(configured)
    if pipeline is not None:
        return pipeline.resolve().parent / ".spe"
    return Path(".spe")


def _partitions(spec: Any, args: argparse.Namespace) -> list[Any]:
    if args.partition and getattr(args, "backfill", None):
        raise PipelineInputError(
            "give --partition or --backfill, not both", hint="--backfill FIRST..LAST covers a range"
        )
    wanted = args.partition or getattr(args, "backfill", None)
    if spec.partitions is None:
        if wanted:
            raise PipelineInputError(
                "this pipeline declares no partitions",
                hint="add partitions: {kind: daily, start: ...} to it",
            )
        return [None]
    if not wanted:
        raise PipelineInputError(
            "this pipeline is partitioned; say which partition",
            hint="pass --partition KEY or --backfill FIRST..LAST",
        )
    return list(spec.partitions.range(wanted))


def _pipeline_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", help="pipeline file (.yaml/.yml or .py defining 'pipeline')")
    parser.add_argument(
        "--partition", help="partition key (2024-01-31, or 2024-01-31T13 when hourly)"
    )
    parser.add_argument(
        "--from",
        dest="from_stage",
        metavar="STAGE",
        help="re-run STAGE and everything downstream of it",
    )


@app.command(
    "plan", help="check a pipeline and show what a run would do and why", setup=_pipeline_args
)
def _plan(ctx: Context, args: argparse.Namespace) -> int:
    from synthetic_pipeline_engine._dag import check_pipeline
    from synthetic_pipeline_engine._runner import plan
    from synthetic_pipeline_engine._spec import load_pipeline

    path = Path(args.pipeline)
    dag = check_pipeline(load_pipeline(path))
    state = _state_dir(ctx, path)
    out: list[dict[str, Any]] = [
        {
            "partition": partition.key if partition else None,
            "stage": item.stage,
            "kind": item.kind,
            "action": item.action,
            "reason": item.reason,
            "schema": dag.schemas.get(item.stage),
        }
        for partition in _partitions(dag.spec, args)
        for item in plan(dag, state, partition=partition, from_stage=args.from_stage)
    ]
    width = max(len(i["stage"]) for i in out)
    lines = [f"pipeline {dag.spec.name}: {len(dag.order)} stages, DAG ok"]
    lines += [
        f"  {'RUN ' if i['action'] == 'run' else 'skip'} {i['stage'].ljust(width)}  {i['kind']:<10} {i['reason']}"
        + (f"  [{i['partition']}]" if i["partition"] else "")
        for i in out
    ]
    ctx.emit({"pipeline": dag.spec.name, "stages": out}, human="\n".join(lines))
    return 0


def _run_args(parser: argparse.ArgumentParser) -> None:
    _pipeline_args(parser)
    parser.add_argument(
        "--backfill", metavar="FIRST..LAST", help="run every partition in the range, in order"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the last crashed or failed run (completed stages come from the cache)",
    )
    parser.add_argument("--report", metavar="FILE.html", help="also write the HTML run report")
    parser.add_argument(
        "--parallel",
        type=int,
        default=1,
        metavar="N",
        help="run up to N partitions of a backfill at once (they share the executor's workers)",
    )


@app.command("run", help="run a pipeline (one partition, or a backfill range)", setup=_run_args)
def _run(ctx: Context, args: argparse.Namespace) -> int:
    from synthetic_pipeline_engine._dag import check_pipeline
    from synthetic_pipeline_engine._runner import StageResult, make_executor, run_partitions
    from synthetic_pipeline_engine._spec import load_pipeline
    from synthetic_pipeline_engine._store import RunStore

    path = Path(args.pipeline)
    dag = check_pipeline(load_pipeline(path))
    state = _state_dir(ctx, path)
    partitions = _partitions(dag.spec, args)
    resumed_from = None
    if args.resume:
        with RunStore(state) as store:
            store.mark_crashed(dag.spec.name)
            previous = store.last_unfinished_run(dag.spec.name)
        if previous is None:
            raise PipelineInputError(
                f"no crashed or failed run of {dag.spec.name!r} to resume", hint="run it normally"
            )
        resumed_from = str(previous["run_id"])
    if args.parallel < 1:
        raise PipelineInputError(
            f"--parallel must be at least 1, not {args.parallel}", hint="e.g. --parallel 4"
        )
    results: list[Any] = []
    settings = _settings(ctx)
    executor = make_executor(settings.executor, settings.workers)
    try:
        with ctx.progress(f"{dag.spec.name}", total=len(dag.order) * len(partitions)) as bar:

            def on_stage(result: StageResult) -> None:
                bar.advance()
                bar.update(description=f"{dag.spec.name}: {result.stage} {result.status}")

            results.extend(
                run_partitions(
                    dag,
                    state,
                    partitions,
                    executor=executor,
                    parallel=args.parallel,
                    from_stage=args.from_stage,
                    on_stage=on_stage,
                    resumed_from=resumed_from,
                )
            )
    finally:
        executor.shutdown()
    if args.report:
        from synthetic_pipeline_engine._report import render_run_html

        with RunStore(state) as store:
            Path(args.report).write_text(
                render_run_html(store.run(results[-1].run_id)), encoding="utf-8"
            )
    data = [
        {
            "run_id": r.run_id,
            "partition": r.partition,
            "status": r.status,
            "seconds": round(r.duration, 4),
            "stages": {
                s.stage: {
                    "status": s.status,
                    "reason": s.reason,
                    "rows": s.rows,
                    "attempts": s.attempts,
                    "seconds": round(s.duration, 4),
                    "error": s.error,
                }
                for s in r.stages.values()
            },
        }
        for r in results
    ]
    lines = []
    for r in results:
        counts: dict[str, int] = {}
        for s in r.stages.values():
            counts[s.status] = counts.get(s.status, 0) + 1
        summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        lines.append(
            f"run {r.run_id}{' [' + r.partition + ']' if r.partition else ''}: {r.status} in {r.duration:.2f}s ({summary})"
        )
        lines += [
            f"  {s.stage}: {s.status} — {s.error}"
            for s in r.stages.values()
            if s.status == "failed"
        ]
    ctx.emit(data if len(data) > 1 else data[0], human="\n".join(lines))
    return 0 if all(r.ok for r in results) else 1


@app.command(
    "history",
    help="list recent runs",
    setup=lambda p: (p.add_argument("--limit", type=int, default=20), p.add_argument("--pipeline")),
)
def _history(ctx: Context, args: argparse.Namespace) -> int:
    from synthetic_pipeline_engine._store import RunStore

    with RunStore(_state_dir(ctx)) as store:
        runs = store.runs(args.limit, args.pipeline)
    rows = [
        {
            k: r[k]
            for k in (
                "run_id",
                "pipeline",
                "partition",
                "status",
                "started",
                "finished",
                "error",
                "resumed_from",
            )
        }
        for r in runs
    ]
    lines = [
        f"{r['run_id']}  {r['pipeline']:<20} {r['partition'] or '-':<14} {r['status']:<10} {((r['finished'] or r['started']) - r['started']):.2f}s"
        for r in rows
    ]
    ctx.emit(rows, human="\n".join(lines) if lines else "no runs yet")
    return 0


@app.command(
    "lineage",
    help="show which inputs, code and parameters made an output",
    setup=lambda p: p.add_argument("output", help="stage name, sink path or output hash"),
)
def _lineage(ctx: Context, args: argparse.Namespace) -> int:
    from synthetic_pipeline_engine._store import RunStore

    with RunStore(_state_dir(ctx)) as store:
        tree = store.lineage(args.output)
    lines: list[str] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        target = f" -> {node['target']}" if node.get("target") else ""
        code = f" code {str(node.get('code_hash'))[:10]}" if node.get("code_hash") else ""
        lines.append(
            f"{'  ' * depth}{node['stage']} {str(node['output_hash'])[:12]}{target}{code} (run {node.get('run_id', '?')})"
        )
        for child in node.get("inputs", []):
            walk(child, depth + 1)

    walk(tree, 0)
    ctx.emit(tree, human="\n".join(lines))
    return 0


@app.command(
    "report",
    help="show a run (or write it as a self-contained HTML page)",
    setup=lambda p: (
        p.add_argument(
            "run", nargs="?", default="latest", help="run id, a prefix of it, or 'latest'"
        ),
        p.add_argument(
            "--html",
            metavar="FILE",
            nargs="?",
            const="",
            help="write the HTML report (to FILE, default run-<id>.html)",
        ),
    ),
)
def _report(ctx: Context, args: argparse.Namespace) -> int:
    from synthetic_pipeline_engine._report import render_run_html
    from synthetic_pipeline_engine._store import RunStore

    with RunStore(_state_dir(ctx)) as store:
        record = store.run(args.run)
    if args.html == "":
        args.html = f"run-{record['run_id']}.html"
    if args.html:
        Path(args.html).write_text(render_run_html(record), encoding="utf-8")
    lines = [f"run {record['run_id']} of {record['pipeline']}: {record['status']}"]
    lines.extend(
        f"  {s['stage']:<20} {s['status']:<8} {(s['duration'] or 0):8.3f}s"
        f" rows={s['rows'] if s['rows'] is not None else '-'} {s['error'] or ''}"
        for s in record["stages"]
    )
    if args.html:
        lines.append(f"wrote {args.html}")
    ctx.emit(record, human="\n".join(lines))
    return 0


def _generate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("schema", help="generator schema (YAML or JSON)")
    parser.add_argument("-n", "--rows", type=int, help="rows per table (overrides the schema)")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="output file (one table) or directory (all tables, one file each)",
    )
    parser.add_argument("--table", help="generate only this table (and the tables it references)")
    parser.add_argument("--seed", type=int, help="overrides the schema's seed")
    parser.add_argument(
        "--format",
        default="parquet",
        choices=["csv", "parquet", "jsonl", "arrow"],
        help="file format when OUTPUT is a directory",
    )


@app.command("generate", help="generate synthetic tables from a schema", setup=_generate_args)
def _generate(ctx: Context, args: argparse.Namespace) -> int:
    import yaml

    from synthetic_pipeline_engine._generate import generate_tables
    from synthetic_pipeline_engine._schema import parse_generator_schema
    from synthetic_pipeline_engine._tableio import FORMATS, write_table

    path = Path(args.schema)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineInputError(
            f"schema {str(path)!r} does not exist", path=str(path), hint="check the path"
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PipelineInputError(
            f"schema {str(path)!r} is not readable YAML: {str(exc).splitlines()[0]}",
            path=str(path),
            hint="check the YAML syntax",
        ) from None
    schema = parse_generator_schema(document)
    if args.rows is not None and args.rows < 0:
        raise PipelineInputError("-n must be non-negative", hint="pass -n 1000")
    if args.table and args.table not in schema.tables:
        raise PipelineInputError(
            f"schema has no table {args.table!r}", hint=f"tables are {', '.join(schema.tables)}"
        )
    rows = dict.fromkeys(schema.tables, args.rows) if args.rows is not None else None
    with ctx.progress("generating", total=1) as bar:
        tables = generate_tables(schema, seed=args.seed, rows=rows)
        bar.advance()
    wanted = [args.table] if args.table else list(tables)
    out = Path(args.output)
    written = {}
    if len(wanted) == 1 and out.suffix.lower() in FORMATS:
        written[wanted[0]] = str(write_table(tables[wanted[0]], out))
    else:
        for name in wanted:
            written[name] = str(write_table(tables[name], out / f"{name}.{args.format}"))
    summary = {name: {"rows": tables[name].num_rows, "path": written[name]} for name in wanted}
    ctx.emit(
        summary,
        human="\n".join(f"{name}: {v['rows']} rows -> {v['path']}" for name, v in summary.items()),
    )
    return 0


def _fit_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", help="real table (.csv, .parquet, .jsonl, .arrow)")
    parser.add_argument("-o", "--output", required=True, help="model file to write (JSON)")
    parser.add_argument(
        "--id",
        action="append",
        default=[],
        metavar="COLUMN",
        help="a key column: regenerated, never modelled (repeatable)",
    )
    parser.add_argument(
        "--categorical",
        action="append",
        default=[],
        metavar="COLUMN",
        help="treat a numeric column as categorical (repeatable)",
    )
    parser.add_argument(
        "--smoothing",
        type=float,
        default=None,
        help="kernel smoothing of continuous columns (privacy vs shape)",
    )
    parser.add_argument(
        "--shrinkage",
        type=float,
        default=None,
        help="pull correlations towards independence, 0..1 (privacy vs trends)",
    )
    parser.add_argument(
        "--preset",
        choices=["fidelity", "private"],
        default="fidelity",
        help="privacy/fidelity trade-off (default: fidelity); private models sample through "
        "a DCR filter against the real table: 'spe sample' reads TABLE again (the model "
        "remembers where it is and its digest) or --real TABLE",
    )
    parser.add_argument("--seed", type=int, default=0)


@app.command("fit", help="fit a Gaussian-copula synthesizer on a real table", setup=_fit_args)
def _fit(ctx: Context, args: argparse.Namespace) -> int:
    import time

    from synthetic_pipeline_engine._copula import PRESETS, GaussianCopula
    from synthetic_pipeline_engine._tableio import read_table

    table = read_table(args.table)
    overrides = dict.fromkeys(args.id, "id") | dict.fromkeys(args.categorical, "categorical")
    unknown = [c for c in overrides if c not in table.column_names]
    if unknown:
        raise PipelineInputError(
            f"no column(s) {', '.join(unknown)} in {args.table}",
            hint=f"columns are {', '.join(table.column_names)}",
        )
    preset = PRESETS[args.preset]
    started = time.perf_counter()
    model = GaussianCopula.fit(
        table,
        sdtypes=overrides,
        seed=args.seed,
        smoothing=preset["smoothing"] if args.smoothing is None else args.smoothing,
        shrinkage=preset["shrinkage"] if args.shrinkage is None else args.shrinkage,
        jitter=preset["jitter"],
        keep_away=bool(preset.get("keep_away", False)),
    )
    seconds = time.perf_counter() - started
    if model.privacy is not None:
        model.source = _table_source(args.table)
    model.save(args.output)
    info = {
        "model": args.output,
        "rows": table.num_rows,
        "columns": len(model.columns),
        "latent_variables": len(model.variables),
        "fit_seconds": round(seconds, 4),
    }
    ctx.emit(
        info,
        human=f"fitted {len(model.columns)} columns ({len(model.variables)} latent) on {table.num_rows} rows in {seconds:.3f}s -> {args.output}",
    )
    return 0


def _table_source(path: str) -> dict[str, str]:
    """Where a private model's training table is, and its digest (never its rows)."""
    from pathlib import Path

    import blake3

    resolved = Path(path).resolve()
    return {"path": str(resolved), "blake3": blake3.blake3(resolved.read_bytes()).hexdigest()}


def _remembered_table(source: dict[str, str]) -> str:
    """The training table a private model remembers, if it is still there unchanged."""
    from pathlib import Path

    import blake3

    path = Path(source["path"])
    hint = "pass --real TABLE (the table the model was fitted on), or fit it again"
    try:
        digest = blake3.blake3(path.read_bytes()).hexdigest()
    except OSError:
        raise PipelineInputError(
            f"this private model samples against its training table {str(path)!r}, "
            "which is no longer there",
            path=str(path),
            hint=hint,
        ) from None
    if digest != source["blake3"]:
        raise PipelineInputError(
            f"this private model's training table {str(path)!r} changed since the fit",
            path=str(path),
            hint=hint,
        )
    return str(path)


@app.command(
    "sample",
    help="sample synthetic rows from a fitted model",
    setup=lambda p: (
        p.add_argument("model"),
        p.add_argument("-n", "--rows", type=int, required=True),
        p.add_argument(
            "-o",
            "--output",
            help="file to write (.csv, .parquet, .jsonl, .arrow); default: CSV on stdout",
        ),
        p.add_argument("--seed", type=int, default=0),
        p.add_argument(
            "--real",
            metavar="TABLE",
            help="the table the model was fitted on (private-preset models; default: the "
            "one the model remembers from 'spe fit')",
        ),
    ),
)
def _sample(ctx: Context, args: argparse.Namespace) -> int:
    from synthetic_pipeline_engine._copula import GaussianCopula
    from synthetic_pipeline_engine._tableio import read_table, write_table

    if args.rows < 0:
        raise PipelineInputError("-n must be non-negative", hint="pass -n 1000")
    model = GaussianCopula.load(args.model)
    real = read_table(args.real) if args.real else None
    if real is None and model.privacy is not None and model.source is not None:
        real = read_table(_remembered_table(model.source))
    table = model.sample(args.rows, seed=args.seed, real=real)
    if args.output is None:
        import io

        import pyarrow.csv as pacsv  # type: ignore[import-untyped]  # no stubs shipped

        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer)
        ctx.stdout.write(buffer.getvalue().decode("utf-8"))
        ctx.stdout.flush()
        return 0
    write_table(table, args.output)
    ctx.emit(
        {"rows": table.num_rows, "path": args.output},
        human=f"{table.num_rows} rows -> {args.output}",
    )
    return 0


def _quality_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("real")
    parser.add_argument("synthetic")
    parser.add_argument(
        "--id",
        action="append",
        default=[],
        metavar="COLUMN",
        help="key columns to leave out of the scores",
    )
    parser.add_argument("--html", metavar="FILE", help="write an HTML report with charts")
    parser.add_argument(
        "--all-pairs",
        action="store_true",
        help="average every column pair, not only the related ones",
    )


@app.command(
    "quality",
    help="score synthetic data against the real table (fidelity and privacy)",
    setup=_quality_args,
)
def _quality(ctx: Context, args: argparse.Namespace) -> int:
    from synthetic_pipeline_engine._quality import evaluate_privacy, evaluate_quality
    from synthetic_pipeline_engine._tableio import read_table

    real, synthetic = read_table(args.real), read_table(args.synthetic)
    sdtypes = dict.fromkeys(args.id, "id")
    thresholds = (
        {"correlation_threshold": 0.0, "association_threshold": 0.0} if args.all_pairs else {}
    )
    quality = evaluate_quality(real, synthetic, sdtypes=sdtypes, **thresholds).as_dict()
    privacy = evaluate_privacy(real, synthetic, sdtypes=sdtypes).as_dict()
    if args.html:
        from synthetic_pipeline_engine._report import render_quality_html

        Path(args.html).write_text(
            render_quality_html(
                quality, privacy, f"Quality of {args.synthetic} against {args.real}"
            ),
            encoding="utf-8",
        )

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.1f}%"

    trends = pct(quality["column_pair_trends"])
    if quality["column_pair_trends"] is None:
        trends += " (no related column pairs in the real data)"
    human = (
        f"overall {pct(quality['overall'])}  column shapes {pct(quality['column_shapes'])}  pair trends {trends}\n"
        f"privacy: DCR protection {privacy['dcr_baseline_protection'] if privacy['dcr_baseline_protection'] is not None else 'n/a'}, exact copies {privacy['exact_copies']}"
        f" ({privacy['exact_copy_rate'] * 100:.2f}%)"
    )
    ctx.emit({"quality": quality, "privacy": privacy}, human=human)
    return 0

"""The ``chaos_engine`` (also ``chaos-engine``) command line: thin, it parses, calls the library and renders.

Exit codes: 0 the steady state held, 1 it deviated or the run failed, 2 a bad file or flag.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from chaos_engine import __version__
from chaos_engine.config import ChaosEngineSettings
from chaos_engine.errors import ChaosInputError
from shared_core.cli import CliApp, Context, read_input_text
from shared_core.errors import ExitCode

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="chaos_engine",
    version=__version__,
    settings_cls=ChaosEngineSettings,
    description="Fault injection and resilience experiments: Chaos Toolkit-compatible experiments, a Toxiproxy-compatible fault proxy, host faults that roll back.",
)


def _write_json(path: str, data: Any) -> None:
    Path(path).write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=_encode) + "\n", encoding="utf-8"
    )


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, BaseException):
        return f"An exception was raised: {type(value).__name__}('{value}')"
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _setup_run(p: argparse.ArgumentParser) -> None:
    from chaos_engine.experiment import DRY_MODES, HYPOTHESIS_STRATEGIES, ROLLBACK_STRATEGIES

    p.add_argument("experiment", metavar="EXPERIMENT", help="experiment file, JSON or YAML")
    p.add_argument(
        "--journal-path",
        default="./journal.json",
        help="where to write the journal (default: %(default)s)",
    )
    p.add_argument("--report-html", metavar="P", help="also write a self-contained HTML report")
    p.add_argument("--report-md", metavar="P", help="also write a Markdown report")
    p.add_argument("--rollback-strategy", choices=ROLLBACK_STRATEGIES)
    p.add_argument("--hypothesis-strategy", choices=(*HYPOTHESIS_STRATEGIES, "continously"))
    p.add_argument(
        "--hypothesis-frequency",
        type=float,
        default=1.0,
        help="seconds between checks during the method",
    )
    p.add_argument(
        "--fail-fast",
        action="store_true",
        help="stop as soon as the hypothesis deviates during the method",
    )
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="K=V",
        help="configuration value, name[:type]=value (repeatable)",
    )
    p.add_argument(
        "--var-file",
        action="append",
        default=[],
        metavar="F",
        help="JSON/YAML with configuration and secrets, or a .env file",
    )
    p.add_argument(
        "--dry",
        nargs="?",
        const="activities",
        choices=DRY_MODES,
        help="run without executing the chosen activities (alone: none of them)",
    )
    p.add_argument("--no-validation", action="store_true", help="do not validate before running")


@app.command("run", help="run an experiment and write its journal", setup=_setup_run)
def _run(ctx: Context, args: argparse.Namespace) -> int:
    from chaos_engine.experiment import (
        ExperimentEvents,
        RunOptions,
        convert_vars,
        exit_code_of,
        load_experiment,
        merge_vars,
        render_html,
        render_markdown,
        run_experiment,
        validate_experiment,
    )

    config_vars, secret_vars = merge_vars(convert_vars(args.var), args.var_file)
    experiment = load_experiment(args.experiment)
    if not args.no_validation:
        validate_experiment(experiment, args.experiment)
    options = RunOptions(
        rollback_strategy=args.rollback_strategy,
        hypothesis_strategy=args.hypothesis_strategy,
        hypothesis_frequency=args.hypothesis_frequency,
        fail_fast=args.fail_fast,
        dry=args.dry,
        config_vars=config_vars,
        secret_vars=secret_vars,
        events=ExperimentEvents.connect(ctx.settings.nats_servers),
    )
    try:
        journal = run_experiment(experiment, options)
    finally:
        if options.events is not None:
            options.events.close()
    _write_json(args.journal_path, journal)
    if args.report_html:
        Path(args.report_html).write_text(render_html(journal), encoding="utf-8")
    if args.report_md:
        Path(args.report_md).write_text(render_markdown(journal), encoding="utf-8")
    code = exit_code_of(journal)
    summary = {
        "status": journal["status"],
        "deviated": journal["deviated"],
        "journal": args.journal_path,
        "exit_code": code,
    }
    ctx.emit(
        summary,
        human=f"{journal['status']}{' (deviated)' if journal['deviated'] else ''}: journal in {args.journal_path}",
    )
    return code


def _setup_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", metavar="EXPERIMENT", help="experiment file, JSON or YAML")


@app.command("validate", help="check an experiment file without running it", setup=_setup_validate)
def _validate(ctx: Context, args: argparse.Namespace) -> int:
    from chaos_engine.errors import ChaosExperimentError
    from chaos_engine.experiment import load_experiment, validate_experiment

    experiment = load_experiment(args.experiment)
    try:
        validate_experiment(experiment, args.experiment)
    except ChaosExperimentError as exc:
        for problem in exc.context.get("problems", [])[1:]:
            ctx.stderr.write(f"{app.prog}: also: {problem}\n")
        raise
    ctx.emit({"valid": True, "experiment": args.experiment}, human=f"{args.experiment}: valid")
    return ExitCode.OK


def _setup_report(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "journal", metavar="JOURNAL", help="a journal written by 'run' (or by Chaos Toolkit)"
    )
    p.add_argument("--format", choices=("markdown", "html"), default="markdown")
    p.add_argument("--output", "-o", metavar="P", help="write there instead of standard output")


@app.command(
    "report", help="render a journal as Markdown or a self-contained HTML page", setup=_setup_report
)
def _report(ctx: Context, args: argparse.Namespace) -> int:
    from chaos_engine.experiment import render_html, render_markdown

    text = read_input_text(args.journal, what="journal", error=ChaosInputError)
    try:
        journal = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChaosInputError(
            f"journal is not JSON: {exc.msg}", path=args.journal, line=exc.lineno
        ) from exc
    if not isinstance(journal, dict):
        raise ChaosInputError("a journal is a JSON object", path=args.journal)
    text = render_html(journal) if args.format == "html" else render_markdown(journal)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        ctx.emit({"report": args.output}, human=f"report written to {args.output}")
    else:
        ctx.stdout.write(text)
    return ExitCode.OK


def _setup_proxy(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action", choices=("serve",), help="serve: run the proxy and its API until interrupted"
    )
    p.add_argument("--host", default="127.0.0.1", help="API address (default: %(default)s)")
    p.add_argument(
        "--port", type=int, default=8474, help="API port (default: %(default)s, Toxiproxy's)"
    )
    p.add_argument(
        "--config",
        dest="proxies_file",
        metavar="proxies.json",
        help="proxies to create at start, as for /populate",
    )


@app.command("proxy", help="the Toxiproxy-compatible fault proxy", setup=_setup_proxy)
def _proxy(ctx: Context, args: argparse.Namespace) -> int:
    from chaos_engine.proxy import ProxyServer

    proxies: Any = []
    if args.proxies_file:
        text = read_input_text(args.proxies_file, what="proxies file", error=ChaosInputError)
        try:
            proxies = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ChaosInputError(
                f"{args.proxies_file} is not JSON: {exc.msg}",
                path=args.proxies_file,
                line=exc.lineno,
            ) from exc
        if not isinstance(proxies, list):
            raise ChaosInputError(
                "a proxies file is a JSON list of proxies", path=args.proxies_file
            )
    server = ProxyServer(args.host, args.port)
    try:
        server.populate(proxies)
        ctx.stderr.write(f"{app.prog}: proxy API on {server.url}\n")
        ctx.stderr.flush()
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

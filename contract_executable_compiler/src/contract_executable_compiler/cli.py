"""The ``cec`` command line: thin, it parses, calls the library and renders.

Commands: ``check``, ``compile``, ``run``, ``migrate``, ``eval``, ``explain``,
``fmt``, ``sign``, ``verify`` and ``conformance``.  Exit codes: 0 ok, 1 a contract run failed its checks (or an
expression evaluated to an error), 2 bad input (diagnostics, malformed
files), 3 internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from contract_executable_compiler import __version__
from contract_executable_compiler._bytecode import MAGIC
from contract_executable_compiler._contract_compiler import (
    CompiledContract,
    check_contract,
    compile_contract,
    load_contract,
)
from contract_executable_compiler._contract_runtime import run_trace
from contract_executable_compiler._diagnostics import EXPLANATIONS, Source, render_diagnostics
from contract_executable_compiler._expression import compile_expression
from contract_executable_compiler._format import format_contract
from contract_executable_compiler._jsonvalues import from_json, to_json
from contract_executable_compiler._values import type_name
from contract_executable_compiler.config import ContractCompilerSettings
from contract_executable_compiler.errors import ContractInputError
from shared_core.cli import CliApp, Context, read_input, read_input_text

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="contract_executable_compiler",
    version=__version__,
    settings_cls=ContractCompilerSettings,
    description="A compiler for executable contracts: a typed contract language with CEL expressions, compiled to a gas-metered deterministic VM.",
)


def _settings(ctx: Context) -> ContractCompilerSettings:
    return ctx.settings_as(ContractCompilerSettings)


def _read_text(path: str) -> str:
    return read_input_text(
        path,
        what="file",
        error=ContractInputError,
        decode_hint="contract sources are UTF-8; pass compiled bytecode to `cec run`",
    )


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so an existing file is never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_any(path: str, settings: ContractCompilerSettings) -> CompiledContract:
    raw = _read_bytes(path)
    if raw.startswith(MAGIC):
        return load_contract(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ContractInputError(
            f"{path}: neither contract source (UTF-8) nor cec bytecode",
            hint="pass a .cec source or a file written by `cec compile`",
        ) from None
    return compile_contract(text, name=path, max_iterations=settings.max_iterations)


@app.command(
    "check",
    help="type-check a contract and print every diagnostic",
    setup=lambda p: (
        p.add_argument("file", nargs="?", help="contract source (.cec)"),
        p.add_argument("--format", choices=["human", "json"], default="human", dest="fmt"),
        p.add_argument(
            "--explain", metavar="CODE", help="print the explanation of a diagnostic code"
        ),
    ),
)
def _check(ctx: Context, args: argparse.Namespace) -> int:
    if args.explain:
        return _explain_code(ctx, args.explain)
    if not args.file:
        raise ContractInputError(
            "check needs a FILE (or --explain CODE)", hint="cec check contract.cec"
        )
    text = _read_text(args.file)
    compiled, diags = check_contract(
        text, name=args.file, max_iterations=_settings(ctx).max_iterations
    )
    source = Source(text, args.file)
    if args.fmt == "json" or ctx.json_output:
        ctx.stdout.write(render_diagnostics(diags, source, "json") + "\n")
    elif diags:
        ctx.stderr.write(render_diagnostics(diags, source) + "\n")
        n = len(diags)
        ctx.stderr.write(f"\nerror: {n} problem{'s' if n != 1 else ''} found in {args.file}\n")
    if compiled is None:
        return 2
    if args.fmt != "json" and not ctx.json_output:
        ctx.echo(
            f"ok: {compiled.name} version {compiled.version}: {len(compiled.choices)} choice(s), "
            f"{len(compiled.obligations)} obligation(s), static gas bound {compiled.gas_bound} per step"
        )
    return 0


@app.command(
    "compile",
    help="compile a contract to versioned, hashed bytecode",
    setup=lambda p: (
        p.add_argument("file", help="contract source (.cec)"),
        p.add_argument("-o", "--output", required=True, help="bytecode file to write"),
    ),
)
def _compile(ctx: Context, args: argparse.Namespace) -> int:
    text = _read_text(args.file)
    compiled = compile_contract(text, name=args.file, max_iterations=_settings(ctx).max_iterations)
    data = compiled.to_bytes()
    out = Path(args.output)
    _write_atomic(out, data)
    info = {
        "output": str(out),
        "bytes": len(data),
        "sha256": compiled.digest,
        "contract": compiled.name,
        "version": compiled.version,
        "gas_bound": compiled.gas_bound,
    }
    ctx.emit(info, human=f"wrote {out} ({len(data)} bytes, sha256 {compiled.digest})")
    return 0


def _read_trace(path: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for n, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ContractInputError(
                f"{path}:{n}: not JSON: {exc.msg}", hint="one JSON object per line (JSON Lines)"
            ) from None
        if not isinstance(event, dict):
            raise ContractInputError(f"{path}:{n}: each line must be a JSON object")
        events.append(event)
    return events


@app.command(
    "run",
    help="run a contract (source or bytecode) over an event trace; prints state, events and gas",
    setup=lambda p: (
        p.add_argument("file", help="contract source or bytecode"),
        p.add_argument("--events", required=True, help="trace in JSON Lines"),
        p.add_argument("--state", help="state JSON from an earlier run, to continue from"),
        p.add_argument("--save-state", help="write the final state JSON here (atomically)"),
    ),
)
def _run(ctx: Context, args: argparse.Namespace) -> int:
    settings = _settings(ctx)
    contract = _load_any(args.file, settings)
    trace = _read_trace(args.events)
    state = _read_state(args.state) if args.state else None
    result = run_trace(contract, trace, gas_limit=settings.gas_limit, state=state)
    doc = result.to_json()
    ctx.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    if args.save_state:
        _write_atomic(
            Path(args.save_state), (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
        )
    if result.failure is not None:
        ctx.stderr.write(
            f"cec: run failed at event {result.failure.index} ({result.failure.kind}): "
            f"{result.failure.message}\n"
        )
        return 1
    return 0


def _read_state(path: str) -> dict[str, Any]:
    try:
        state = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ContractInputError(f"{path}: not JSON: {exc.msg}") from None
    if not isinstance(state, dict):
        raise ContractInputError(f"{path}: the state must be a JSON object")
    return state


@app.command(
    "migrate",
    help="turn a state saved by an older contract version into this version's state "
    "(its `migrate from N` block); prints the new state",
    setup=lambda p: (
        p.add_argument("file", help="the new contract version (source or bytecode)"),
        p.add_argument("--state", required=True, help="state JSON saved by the older version"),
        p.add_argument("-o", "--output", help="write the migrated state JSON here (atomically)"),
    ),
)
def _migrate(ctx: Context, args: argparse.Namespace) -> int:
    from contract_executable_compiler._contract_runtime import migrate_state

    settings = _settings(ctx)
    contract = _load_any(args.file, settings)
    run = migrate_state(contract, _read_state(args.state), gas_limit=settings.gas_limit)
    text = json.dumps(run.to_json(), indent=2, sort_keys=True) + "\n"
    if args.output:
        _write_atomic(Path(args.output), text.encode())
        last = run.migrations[-1] if run.migrations else {}
        ctx.stderr.write(
            f"migrated {contract.name} from version {last.get('from')} to {contract.version} "
            f"(gas {last.get('gas_used', 0)}); wrote {args.output}\n"
        )
    else:
        ctx.stdout.write(text)
    return 0


@app.command(
    "eval",
    help="evaluate a CEL expression; prints the result as JSON",
    setup=lambda p: (
        p.add_argument("expr", help="the CEL expression"),
        p.add_argument("--bindings", help="JSON object of variable values"),
        p.add_argument(
            "--container", default="", help="CEL container (namespace) for name resolution"
        ),
        p.add_argument(
            "--descriptors",
            metavar="FDS",
            help="protobuf FileDescriptorSet (protoc --include_imports --descriptor_set_out) "
            "whose messages the expression may build and read",
        ),
    ),
)
def _eval(ctx: Context, args: argparse.Namespace) -> int:
    settings = _settings(ctx)
    types = None
    if args.descriptors:
        from contract_executable_compiler._messages import MessageTypes

        types = MessageTypes.from_descriptor_set(_read_bytes(args.descriptors))
    bindings: dict[str, Any] = {}
    if args.bindings:
        try:
            raw = json.loads(args.bindings)
        except json.JSONDecodeError as exc:
            raise ContractInputError(
                f"--bindings is not JSON: {exc.msg}", hint="e.g. --bindings '{\"x\": 1}'"
            ) from None
        if not isinstance(raw, dict):
            raise ContractInputError("--bindings must be a JSON object")
        bindings = {str(k): from_json(v) for k, v in raw.items()}
    compiled = compile_expression(
        args.expr,
        container=args.container,
        max_iterations=settings.max_iterations,
        name="<expr>",
        types=types,
    )
    result = compiled.run(bindings, gas_limit=settings.gas_limit)
    if result.error is not None:
        doc = {"error": result.error.message, "gas_used": result.gas_used}
        ctx.stdout.write(json.dumps(doc, sort_keys=True) + "\n")
        return 1
    doc = {
        "value": to_json(result.value),
        "type": type_name(result.value),
        "gas_used": result.gas_used,
    }
    ctx.stdout.write(json.dumps(doc, sort_keys=True) + "\n")
    return 0


def _explain_code(ctx: Context, code: str) -> int:
    key = code.upper()
    if key not in EXPLANATIONS:
        raise ContractInputError(
            f"no diagnostic code {code!r}", hint=f"known codes: {', '.join(sorted(EXPLANATIONS))}"
        )
    title, text = EXPLANATIONS[key]
    ctx.emit({"code": key, "title": title, "explanation": text}, human=f"{key}: {title}\n\n{text}")
    return 0


@app.command(
    "explain",
    help="explain a diagnostic code (E0001...)",
    setup=lambda p: p.add_argument("code", help="the code, e.g. E0101"),
)
def _explain(ctx: Context, args: argparse.Namespace) -> int:
    return _explain_code(ctx, args.code)


@app.command(
    "fmt",
    help="print a contract in canonical layout (or rewrite it with --write)",
    setup=lambda p: (
        p.add_argument("file", help="contract source (.cec)"),
        p.add_argument(
            "--write", action="store_true", help="rewrite the file in place (atomically)"
        ),
        p.add_argument("--check", action="store_true", help="exit 1 if the file is not formatted"),
    ),
)
def _fmt(ctx: Context, args: argparse.Namespace) -> int:
    text = _read_text(args.file)
    out = format_contract(text, name=args.file)
    if args.check:
        if out != text:
            ctx.stderr.write(
                f"cec: {args.file} is not formatted; run `cec fmt --write {args.file}`\n"
            )
            return 1
        return 0
    if args.write:
        if out != text:
            _write_atomic(Path(args.file), out.encode("utf-8"))
        return 0
    ctx.stdout.write(out)
    return 0


@app.command(
    "conformance",
    help="run the cel-spec conformance suite (JSON files) and print a per-file table",
    setup=lambda p: (
        p.add_argument("directory", help="folder holding cel-spec's *.json test files"),
        p.add_argument("files", nargs="*", help="file stems to run (default: the core files)"),
    ),
)
def _conformance(ctx: Context, args: argparse.Namespace) -> int:
    from contract_executable_compiler._conformance import CORE_FILES, render_table, run_file

    base = Path(args.directory)
    names = args.files or list(CORE_FILES)
    missing = [n for n in names if not (base / f"{n}.json").is_file()]
    if missing:
        raise ContractInputError(
            f"{base}: missing {', '.join(missing)}.json", hint="point at cel-spec's tests folder"
        )
    reports = [run_file(base / f"{n}.json") for n in names]
    summary = {
        r.file: {s: r.count(s) for s in ("passed", "failed", "unsupported")} for r in reports
    }
    ctx.emit(summary, human=render_table(reports))
    return 0


@app.command(
    "sign",
    help="sign compiled bytecode: write a DSSE envelope attesting its SHA-256",
    setup=lambda p: (
        p.add_argument("bytecode", help="file written by `cec compile`"),
        p.add_argument("--key", required=True, help="private key file (shared_core key format)"),
        p.add_argument("-o", "--output", required=True, help="envelope file to write"),
    ),
)
def _sign(ctx: Context, args: argparse.Namespace) -> int:
    from contract_executable_compiler._attestation import sign_bytecode
    from shared_core.crypto import read_private_key

    data = _read_bytes(args.bytecode)
    envelope = sign_bytecode(data, read_private_key(args.key))
    _write_atomic(Path(args.output), (envelope.to_json() + "\n").encode())
    ctx.emit(
        {"envelope": args.output, "keyid": envelope.signatures[0].keyid},
        human=f"wrote {args.output}",
    )
    return 0


@app.command(
    "verify",
    help="verify a DSSE envelope for a bytecode file against trusted public keys",
    setup=lambda p: (
        p.add_argument("bytecode", help="file written by `cec compile`"),
        p.add_argument("--envelope", required=True, help="envelope written by `cec sign`"),
        p.add_argument(
            "--public-key", required=True, action="append", help="trusted public key file"
        ),
    ),
)
def _verify(ctx: Context, args: argparse.Namespace) -> int:
    from contract_executable_compiler._attestation import verify_bytecode
    from shared_core.crypto import Envelope, read_public_key

    data = _read_bytes(args.bytecode)
    envelope = Envelope.from_json(_read_bytes(args.envelope))
    keys = [read_public_key(path) for path in args.public_key]
    statement = verify_bytecode(data, envelope, {k.key_id: k for k in keys})
    ctx.emit(statement, human=f"verified: {statement['kind']} sha256 {statement['sha256']}")
    return 0


def _read_bytes(path: str) -> bytes:
    return read_input(path, what="file", error=ContractInputError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(app.main())

"""The ``dynamic_semantic_lattice_engine`` (``dsle``) command line: thin, it parses, calls the library and renders.

The knowledge base lives in a SQLite store (``--store``, default
``dsle.sqlite``) between commands.  A command that fails leaves the store as
it was: the store is written only after the command's work succeeded.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from dynamic_semantic_lattice_engine import __version__
from dynamic_semantic_lattice_engine._engine import Engine
from dynamic_semantic_lattice_engine._fca import ConceptLattice, FormalContext
from dynamic_semantic_lattice_engine._knowledge import KnowledgeBase
from dynamic_semantic_lattice_engine._parser import parse_program
from dynamic_semantic_lattice_engine._rulesets import RULESETS
from dynamic_semantic_lattice_engine._store import load_store, save_store
from dynamic_semantic_lattice_engine.config import LatticeEngineSettings
from dynamic_semantic_lattice_engine.errors import LatticeDeltaError, LatticeInputError
from shared_core.cli import CliApp, Context

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="dynamic_semantic_lattice_engine",
    version=__version__,
    settings_cls=LatticeEngineSettings,
    description="A Datalog-with-lattices reasoner over RDF and relations: incremental, mergeable, with concept lattices.",
)

_RDF_SUFFIXES = {
    ".ttl": "turtle",
    ".nt": "nt",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
    ".jsonld": "json-ld",
    ".n3": "n3",
}


def _settings(ctx: Context) -> LatticeEngineSettings:
    settings = ctx.settings
    if not isinstance(settings, LatticeEngineSettings):
        raise LatticeInputError("settings are not dsle settings", hint="run the dsle CLI")
    return settings


def _open(ctx: Context) -> tuple[KnowledgeBase, Path]:
    settings = _settings(ctx)
    return load_store(settings.store, replica=settings.replica), settings.store


@app.command(
    "load",
    help="add RDF files (Turtle, N-Triples, RDF/XML, JSON-LD) or dsle delta files to the store",
    setup=lambda p: (
        p.add_argument("files", nargs="+", metavar="FILE"),
        p.add_argument("--format", help="RDF format for every file (default: from the suffix)"),
        p.add_argument(
            "--allow-remote-contexts",
            action="store_true",
            help="let JSON-LD files reference @context IRIs, which are then fetched "
            "(trusted files only; refused by default)",
        ),
    ),
)
def _load(ctx: Context, args: argparse.Namespace) -> int:
    kb, store = _open(ctx)
    added: dict[str, int] = {}
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise LatticeInputError(f"{path} does not exist", hint="give existing RDF files")
        if path.suffix == ".json" and args.format is None:
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise LatticeDeltaError(
                    f"{path}: not JSON: {exc}", hint="give a delta from 'dsle export'"
                ) from exc
            added[name] = kb.import_delta(doc)
        else:
            fmt = args.format or _RDF_SUFFIXES.get(path.suffix.lower())
            added[name] = kb.load_rdf(
                path, format=fmt, allow_remote_contexts=args.allow_remote_contexts
            )
    if kb.rules:
        kb.reason(kb.rules)
    save_store(kb, store)
    total = len(kb.relation("triple"))
    ctx.emit(
        {"added": added, "triples": total, "store": str(store)},
        human="\n".join(f"{n}: {c} new" for n, c in added.items())
        + f"\n{total} triples in {store}",
    )
    return 0


@app.command(
    "reason",
    help="materialise the closure under rdfs, owl-rl or a Datalog (.dl) program",
    setup=lambda p: (
        p.add_argument(
            "--rules", required=True, help="rdf | rdfs | owl-rl | rdfs+owl-rl | FILE.dl"
        ),
        p.add_argument(
            "--facts",
            metavar="DIR",
            help="directory of .facts files for the program's .input relations",
        ),
        p.add_argument(
            "--output", metavar="DIR", help="write the program's .output relations here as CSV"
        ),
    ),
)
def _reason(ctx: Context, args: argparse.Namespace) -> int:
    rules: str = args.rules
    if rules not in RULESETS and not Path(rules).is_file():
        raise LatticeInputError(
            f"rules {rules!r} are neither a rule set nor a file",
            hint="use rdfs, owl-rl or a .dl path",
        )
    if args.facts or args.output:
        return _run_program(ctx, Path(rules), args)
    kb, store = _open(ctx)
    stats = kb.reason(rules)
    clashes = kb.inconsistencies()
    save_store(kb, store)
    data = {
        "rules": rules,
        "base": len(kb.relation("triple")),
        "closure": len(kb.inferred()),
        "derived": stats.derived,
        "iterations": stats.iterations,
        "seconds": round(stats.seconds, 4),
        "inconsistencies": [{"rule": r, "resource": x} for r, x in clashes],
    }
    human = f"{rules}: {data['base']} base triples, {data['closure']} in the closure ({stats.seconds:.3f}s)"
    if clashes:
        human += "\n" + "\n".join(f"inconsistent ({r}): {x}" for r, x in clashes)
    ctx.emit(data, human=human)
    return 1 if clashes else 0


def _run_program(ctx: Context, path: Path, args: argparse.Namespace) -> int:
    engine = Engine(parse_program(path.read_text(encoding="utf-8"), source=str(path)))
    if args.facts:
        engine.load_inputs(Path(args.facts))
    stats = engine.run()
    written = engine.write_outputs(Path(args.output)) if args.output else []
    sizes = {name: len(engine.relation(name)) for name in engine.program.outputs}
    ctx.emit(
        {
            "outputs": sizes,
            "written": [str(w) for w in written],
            "seconds": round(stats.seconds, 4),
        },
        human="\n".join(f"{n}\t{c}" for n, c in sizes.items()),
    )
    return 0


@app.command(
    "query",
    help="answer a Datalog conjunctive query or a SPARQL basic graph pattern over the store",
    setup=lambda p: p.add_argument(
        "query", help='e.g. triple(X, "<p>", Y)  or  SELECT ?x WHERE { ?x a <C> }'
    ),
)
def _query(ctx: Context, args: argparse.Namespace) -> int:
    kb, _ = _open(ctx)
    answers = kb.query(args.query)
    limit = _settings(ctx).query_limit
    shown = answers[:limit] if limit else answers
    rows: list[dict[str, Any]] = [{k: _jsonable(v) for k, v in a.items()} for a in shown]
    human = "\n".join("\t".join(f"{k}={v}" for k, v in row.items()) for row in rows) or "no answers"
    ctx.emit({"answers": rows, "count": len(answers)}, human=human)
    return 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, frozenset | set):
        return sorted(str(v) for v in value)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return str(value)


@app.command(
    "explain",
    help="show why a fact holds: its derivation tree",
    setup=lambda p: p.add_argument("fact", help='e.g. triple("<a>", "<http://...#type>", "<C>")'),
)
def _explain(ctx: Context, args: argparse.Namespace) -> int:
    kb, _ = _open(ctx)
    if kb.rules:
        kb.reason(kb.rules)
    tree = kb.explain(args.fact)
    ctx.emit(tree.to_dict(), human=tree.render())
    return 0


@app.command(
    "merge",
    help="join two stores as lattices (CRDT merge) into a third",
    setup=lambda p: (
        p.add_argument("a", metavar="A"),
        p.add_argument("b", metavar="B"),
        p.add_argument("-o", "--out", required=True, metavar="C"),
    ),
)
def _merge(ctx: Context, args: argparse.Namespace) -> int:
    paths = [Path(args.a), Path(args.b)]
    for path in paths:
        if not path.is_file():
            raise LatticeInputError(
                f"store {path} does not exist", hint="give two existing dsle stores"
            )
    left = load_store(paths[0])
    right = load_store(paths[1])
    merged = left.merge(right)
    rules = left.rules or right.rules
    if rules:
        merged.reason(rules)
    save_store(merged, Path(args.out))
    sizes = {name: len(rel) for name, rel in merged.relations.items()}
    ctx.emit(
        {"out": args.out, "relations": sizes},
        human=f"merged into {args.out}: " + ", ".join(f"{k} {v}" for k, v in sizes.items()),
    )
    return 0


@app.command(
    "export",
    help="write the store's base facts as a delta document another replica can load",
    setup=lambda p: p.add_argument("-o", "--out", required=True, metavar="FILE"),
)
def _export(ctx: Context, args: argparse.Namespace) -> int:
    kb, _ = _open(ctx)
    Path(args.out).write_text(json.dumps(kb.export_delta(), sort_keys=True), encoding="utf-8")
    ctx.emit({"out": args.out}, human=f"wrote {args.out}")
    return 0


@app.command(
    "dump",
    help="print the store's triples as RDF",
    setup=lambda p: (
        p.add_argument("--format", default="turtle", help="turtle | nt | xml | json-ld"),
        p.add_argument(
            "--inferred", action="store_true", help="include the closure of the last reason"
        ),
    ),
)
def _dump(ctx: Context, args: argparse.Namespace) -> int:
    kb, _ = _open(ctx)
    if args.inferred and kb.rules:
        kb.reason(kb.rules)
    ctx.stdout.write(kb.serialize(args.format, inferred=args.inferred))
    return 0


@app.command(
    "fca",
    help="concept lattice of a formal context (CSV cross table)",
    setup=lambda p: (
        p.add_argument("context", metavar="CONTEXT.csv"),
        p.add_argument(
            "--dot", action="store_true", help="print the Hasse diagram as Graphviz DOT"
        ),
        p.add_argument("--implications", action="store_true", help="print the stem base"),
    ),
)
def _fca(ctx: Context, args: argparse.Namespace) -> int:
    lattice = ConceptLattice(FormalContext.from_file(Path(args.context)))
    if args.dot:
        ctx.stdout.write(lattice.to_dot())
        return 0
    if args.implications:
        base = lattice.stem_base()
        ctx.emit(
            {"implications": [{"premise": list(p), "conclusion": list(c)} for p, c in base]},
            human="\n".join(f"{{{', '.join(p)}}} -> {{{', '.join(c)}}}" for p, c in base)
            or "no implications",
        )
        return 0
    data = lattice.to_json()
    human = "\n".join(
        f"#{c['id']}: {{{', '.join(c['extent'])}}} x {{{', '.join(c['intent'])}}}"
        for c in data["concepts"]
    )
    ctx.emit(data, human=human + f"\n{len(lattice)} concepts")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

"""The ``cross_domain_autoblocker_ledger`` (``cdabl``) command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

import argparse
import gc
import math
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from cross_domain_autoblocker_ledger import __version__
from cross_domain_autoblocker_ledger._decision import Decision, normalise_scope, normalise_value
from cross_domain_autoblocker_ledger._duration import format_duration, parse_duration
from cross_domain_autoblocker_ledger._event import ParseStats
from cross_domain_autoblocker_ledger._export import lsck_rules, nft_ruleset
from cross_domain_autoblocker_ledger._ingest import (
    LOG_FORMATS,
    LogFormat,
    detect_format,
    follow_lines,
    open_parser,
    read_events,
)
from cross_domain_autoblocker_ledger._node import (
    open_ledger,
    open_writer,
    scenarios_from,
    timestamps_from,
    witnesses_from,
)
from cross_domain_autoblocker_ledger._pipeline import Autoblocker, IngestReport
from cross_domain_autoblocker_ledger._scenario import load_jails, load_scenarios
from cross_domain_autoblocker_ledger._witnesses import (
    WitnessEndpoint,
    parse_witness_key,
    request_cosignatures,
)
from cross_domain_autoblocker_ledger._writer import EtcdWriter, ReplicatedWriter
from cross_domain_autoblocker_ledger.config import LedgerSettings
from cross_domain_autoblocker_ledger.errors import LedgerInputError
from shared_core.cli import CliApp, Context
from shared_core.crypto import NoteVerifier
from shared_core.errors import CoreError

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="cross_domain_autoblocker_ledger",
    version=__version__,
    settings_cls=LedgerSettings,
    description=(
        "Detect offenders across domains (sshd/PAM, web, IDS, JSON events), record decisions "
        "in a signed Merkle ledger, answer 'is X blocked?' fast, feed CrowdSec bouncers and nftables."
    ),
)


def _settings(ctx: Context) -> LedgerSettings:
    return ctx.settings_as(LedgerSettings)


def _when(stamp: float) -> str:
    if math.isinf(stamp):
        return "never"
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _table(decisions: Sequence[Decision], now: float) -> str:
    if not decisions:
        return "no decisions"
    rows = [("ID", "TYPE", "SCOPE:VALUE", "ORIGIN", "SCENARIO", "EXPIRES IN")]
    for d in decisions:
        left = "never" if math.isinf(d.until) else format_duration(max(round(d.until - now), 0))
        rows.append((str(d.id), d.type, f"{d.scope}:{d.value}", d.origin, d.scenario, left))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


# -- ingest -------------------------------------------------------------------


def _ingest_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        type=Path,
        help="log files (auth.log, access.log, eve.json, ...)",
    )
    p.add_argument(
        "--format",
        choices=LOG_FORMATS,
        default="auto",
        help="log format (default: detected per file)",
    )
    p.add_argument(
        "--follow",
        action="store_true",
        help="keep reading the files as they grow (like tail -F) until interrupted",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="detect and report alerts, record nothing"
    )


@app.command(
    "ingest",
    help="read logs, detect offenders, record decisions in the ledger",
    setup=_ingest_setup,
)
def _ingest(ctx: Context, args: argparse.Namespace) -> int:
    settings = _settings(ctx)
    scenarios = scenarios_from(settings)
    ledger = None if args.dry_run else open_ledger(settings)
    writer = None if ledger is None else open_writer(settings, ledger)
    try:
        blocker = Autoblocker(ledger, scenarios, writer=writer)
        report = IngestReport()
        times = timestamps_from(settings)
        stats: dict[str, ParseStats] = {}
        if args.follow:
            _follow(ctx, args, blocker, report, stats)
        else:
            for path in args.files:
                events, parser = read_events(
                    path, args.format, mode=settings.sshd_mode, times=times
                )
                stats[str(path)] = parser.stats
                blocker.run(events, report)
        total = ParseStats()
        for s in stats.values():
            total.merge(s)
        data = {
            "files": {k: v.to_dict() for k, v in stats.items()},
            "lines": total.lines,
            "malformed": total.malformed,
            **report.to_dict(),
            "alerts": [a.to_dict() for a in report.alerts],
            "dry_run": bool(args.dry_run),
        }
        human = [
            f"{total.lines} lines, {report.events} events, {total.malformed} malformed, "
            f"{len(report.alerts)} alerts, {len(report.decisions)} new decisions"
            + (f", {report.suppressed} already blocked" if report.suppressed else "")
            + (f", {report.unresolvable} not addresses" if report.unresolvable else "")
        ]
        human += [f"  alert: {a.message}" for a in report.alerts[:20]]
        human += [f"  malformed {s.origin}:{s.line}: {s.reason}" for s in total.samples[:5]]
        ctx.emit(data, "\n".join(human))
        return 0
    finally:
        if writer is not None:
            writer.close()
        if ledger is not None:
            ledger.close()


def _follow(
    ctx: Context,
    args: argparse.Namespace,
    blocker: Autoblocker,
    report: IngestReport,
    stats: dict[str, ParseStats],
) -> None:
    settings = _settings(ctx)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = []
    lock = threading.Lock()

    def tail(path: Path) -> None:
        fmt: LogFormat = args.format
        parser = None
        for lineno, line in follow_lines(path, stop, from_start=True):
            if parser is None:
                chosen = fmt if fmt != "auto" else detect_format([line])
                parser = open_parser(
                    chosen, str(path), mode=settings.sshd_mode, times=timestamps_from(settings)
                )
                stats[str(path)] = parser.stats
            event = parser.feed(line, lineno)
            if event is not None:
                with lock:
                    before = len(report.decisions)
                    blocker.feed(event, report)
                    blocker.commit(report)
                    for decision in report.decisions[before:]:
                        # One line per decision as it happens (fail2ban's "Ban ADDR").
                        ctx.echo(
                            f"decision {decision.id}: {decision.type} {decision.scope}:{decision.value} ({decision.scenario})"
                        )
                        ctx.stdout.flush()

    try:
        for path in args.files:
            thread = threading.Thread(target=tail, args=(path,), daemon=True)
            thread.start()
            threads.append(thread)
        ctx.echo(f"following {len(args.files)} file(s); Ctrl-C to stop")
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            stop.set()
        for thread in threads:
            thread.join()
        with lock:
            blocker.commit(report)
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- decisions -----------------------------------------------------------------


def _target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ip", help="an IPv4/IPv6 address")
    p.add_argument("--range", dest="cidr", help="a CIDR range")
    p.add_argument("--scope", help="any scope (Ip, Range, Username, Country, AS, ...)")
    p.add_argument("--value", help="the value in --scope")


def _target(args: argparse.Namespace, required: bool) -> tuple[str | None, str | None]:
    given = [(s, v) for s, v in (("Ip", args.ip), ("Range", args.cidr)) if v is not None]
    if args.scope is not None or args.value is not None:
        if args.value is None:
            raise LedgerInputError(
                "--scope needs --value", hint="e.g. --scope Username --value root"
            )
        given.append((args.scope or "Ip", args.value))
    if len(given) > 1:
        raise LedgerInputError(
            "give one of --ip, --range or --scope/--value", hint="one target per command"
        )
    if not given:
        if required:
            raise LedgerInputError("no target given", hint="give --ip, --range or --scope/--value")
        return None, None
    return given[0]


def _decisions_setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(p))
    ls = sub.add_parser("list", help="decisions in force (or all with --all)")
    ls.add_argument("--all", action="store_true", help="include expired and deleted decisions")
    _target_args(ls)
    add = sub.add_parser("add", help="add a manual decision")
    _target_args(add)
    add.add_argument("--type", default="ban", choices=("ban", "captcha", "throttle"))
    add.add_argument("--duration", default="4h", help="e.g. 30m, 4h, 1w (default 4h)")
    add.add_argument("--reason", default="", help="why (kept in the ledger)")
    dl = sub.add_parser("delete", help="revoke decisions by id or by target")
    dl.add_argument("ids", nargs="*", type=int, metavar="ID")
    _target_args(dl)
    dl.add_argument("--scenario", help="revoke every active decision of this scenario")
    dl.add_argument("--origin", help="revoke every active decision of this origin")
    dl.add_argument("--reason", default="", help="why (kept in the ledger)")


@app.command("decisions", help="list, add or delete decisions", setup=_decisions_setup)
def _decisions(ctx: Context, args: argparse.Namespace) -> int:
    ledger = open_ledger(_settings(ctx), read_only=args.action == "list")
    try:
        now = ledger.clock()
        if args.action == "list":
            scope, value = _target(args, required=False)
            if args.all:
                found = sorted(ledger.decisions.values(), key=lambda d: d.id)
                if scope is not None:
                    found = [
                        d for d in found if d.scope.lower() == scope.lower() and d.value == value
                    ]
            elif scope is not None and value is not None:
                found = ledger.check(scope, value, now)
            else:
                found = ledger.active(now)
            ctx.emit(
                [d.to_dict() | {"deleted": d.id in ledger.deleted} for d in found],
                _table(found, now),
            )
        elif args.action == "add":
            scope, value = _target(args, required=True)
            decision = Decision.make(
                type=args.type,
                scope=scope or "Ip",
                value=value or "",
                duration=parse_duration(args.duration),
                now=now,
                reason=args.reason,
            )
            writer = open_writer(_settings(ctx), ledger)
            try:
                stored = writer.add([decision])
            finally:
                writer.close()
            ctx.emit(
                [d.to_dict() for d in stored],
                f"added decision {stored[0].id}: {stored[0].type} {stored[0].scope}:{stored[0].value} for {format_duration(stored[0].until - now)}",
            )
        else:
            scope, value = _target(args, required=False)
            if args.ids:
                if scope is not None or args.scenario or args.origin:
                    raise LedgerInputError(
                        "give ids or a filter, not both",
                        hint="e.g. 'decisions delete 12 13' or 'decisions delete --ip 192.0.2.1'",
                    )
                ids = list(args.ids)
            else:
                ids = ledger.matching_ids(
                    scope=_scope_case(scope),
                    value=_value_case(scope, value),
                    scenario=args.scenario,
                    origin=args.origin,
                )
            writer = open_writer(_settings(ctx), ledger)
            try:
                gone = writer.delete(ids, args.reason)
            finally:
                writer.close()
            ctx.emit(
                [d.to_dict() for d in gone],
                f"deleted {len(gone)} decision(s)"
                + "".join(f"\n  {d.id} {d.scope}:{d.value}" for d in gone),
            )
        return 0
    finally:
        ledger.close()


def _scope_case(scope: str | None) -> str | None:
    return None if scope is None else normalise_scope(scope)


def _value_case(scope: str | None, value: str | None) -> str | None:
    if scope is None or value is None:
        return value
    return normalise_value(normalise_scope(scope), value)


# -- check ----------------------------------------------------------------------


def _check_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("value", help="an IP address (or a value of --scope)")
    p.add_argument(
        "--scope",
        default="Ip",
        help="Ip (default, longest-prefix match over ranges), Range, Username, ...",
    )


@app.command("check", help="is X blocked? (longest-prefix match for addresses)", setup=_check_setup)
def _check(ctx: Context, args: argparse.Namespace) -> int:
    ledger = open_ledger(_settings(ctx), read_only=True)
    try:
        now = ledger.clock()
        found = ledger.check(normalise_scope(args.scope), args.value.strip(), now)
        human = (
            f"{args.value}: not blocked"
            if not found
            else f"{args.value}: blocked\n" + _table(found, now)
        )
        ctx.emit(
            {
                "value": args.value,
                "blocked": bool(found),
                "decisions": [d.to_dict() for d in found],
            },
            human,
        )
        return 0
    finally:
        ledger.close()


# -- ledger -----------------------------------------------------------------------


def _ledger_setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(p))
    verify = sub.add_parser("verify", help="replay every entry and check every signed checkpoint")
    verify.add_argument(
        "--verifier-key",
        action="append",
        default=[],
        help="also accept checkpoints signed by this note verifier key",
    )
    verify.add_argument(
        "--witness-key",
        action="append",
        default=[],
        help="also check stored cosignatures of this witness (cosignature/v1 verifier key)",
    )
    sub.add_parser(
        "checkpoint",
        help="print the latest signed checkpoint (C2SP signed note) with its witness cosignatures",
    )
    witness = sub.add_parser(
        "witness",
        help="ask witnesses to cosign the latest checkpoint (C2SP add-checkpoint); keeps the cosignatures",
    )
    witness.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="'URL VERIFIER_KEY'",
        help="a witness to ask, besides the configured ones (repeatable)",
    )
    prove = sub.add_parser("prove", help="inclusion proof of entry SEQ")
    prove.add_argument("seq", type=int)
    prove.add_argument("--size", type=int, help="tree size (default: current)")
    cons = sub.add_parser("consistency", help="consistency proof between two tree sizes")
    cons.add_argument("size1", type=int)
    cons.add_argument("size2", type=int, nargs="?")
    show = sub.add_parser("show", help="print entry SEQ")
    show.add_argument("seq", type=int)
    sub.add_parser("key", help="print the ledger's verifier key (for witnesses and other nodes)")
    sub.add_parser(
        "sync",
        help="apply everything the replication log holds (needs --nats-servers or --etcd-endpoints)",
    )


@app.command(
    "ledger", help="verify the ledger, print checkpoints, proofs and entries", setup=_ledger_setup
)
def _ledger(ctx: Context, args: argparse.Namespace) -> int:
    ledger = open_ledger(_settings(ctx), read_only=args.action not in ("sync", "witness"))
    try:
        if args.action == "verify":
            extra = []
            for text in args.verifier_key:
                try:
                    extra.append(NoteVerifier.parse(text))
                except CoreError as exc:
                    raise LedgerInputError(
                        f"--verifier-key is not a note verifier key: {exc.message}",
                        hint="copy it from 'ledger key' on the signing node",
                    ) from None
            summary = ledger.verify_checkpoints([ledger.verifier, *extra], live=True)
            witness_keys = [*ledger.witnesses, *map(parse_witness_key, args.witness_key)]
            cosigned = ledger.verify_cosignatures(witness_keys)
            ctx.emit(
                summary | {"ok": True, "cosigned": cosigned},
                f"ok: {summary['entries']} entries, {summary['checkpoints']} signed checkpoints verified, root {summary['root']}"
                + "".join(f"\n  witness {w}: cosigned up to size {n}" for w, n in cosigned.items()),
            )
        elif args.action == "witness":
            settings = _settings(ctx)
            endpoints = witnesses_from(settings) + [WitnessEndpoint.parse(w) for w in args.witness]
            if not endpoints:
                raise LedgerInputError(
                    "no witness to ask",
                    field="witnesses",
                    hint="pass --witness 'URL VERIFIER_KEY' or set witnesses in the config file",
                )
            outcomes = request_cosignatures(ledger, endpoints, timeout=settings.witness_timeout)
            ctx.emit(
                {"outcomes": [o.to_dict() for o in outcomes]},
                "\n".join(
                    f"{o.witness}: cosigned size {o.size}"
                    if o.cosigned
                    else f"{o.witness}: not cosigned: {o.detail}"
                    for o in outcomes
                ),
            )
            return 0 if all(o.cosigned for o in outcomes) else 1
        elif args.action == "checkpoint":
            note = ledger.cosigned_checkpoint().decode()
            ctx.emit(
                {"checkpoint": note, "size": ledger.size, "root": ledger.root().hex()},
                note.rstrip("\n"),
            )
        elif args.action == "prove":
            proof = ledger.inclusion(args.seq, args.size)
            ctx.emit(proof)
        elif args.action == "consistency":
            ctx.emit(ledger.consistency(args.size1, args.size2))
        elif args.action == "show":
            ctx.emit(ledger.entry(args.seq).to_dict())
        elif args.action == "sync":
            writer = open_writer(_settings(ctx), ledger)
            try:
                if not isinstance(writer, ReplicatedWriter | EtcdWriter):
                    raise LedgerInputError(
                        "this node is standalone: there is no stream to sync from",
                        hint="set --nats-servers or --etcd-endpoints (or their CROSS_DOMAIN_AUTOBLOCKER_LEDGER_* variables)",
                    )
                position = writer.sync()
            finally:
                writer.close()
            ctx.emit(
                {"position": position, "entries": ledger.size, "root": ledger.root().hex()},
                f"applied the stream up to {position}: {ledger.size} entries, root {ledger.root().hex()}",
            )
        else:
            key = ledger.verifier.encode()
            ctx.emit({"verifier_key": key, "origin": ledger.origin}, key)
        return 0
    finally:
        ledger.close()


# -- export -------------------------------------------------------------------------


def _export_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "target", choices=("nft", "lsck"), help="nft: an 'nft -f' ruleset; lsck: /dev/lsck commands"
    )
    p.add_argument("--output", "-o", type=Path, help="write to FILE instead of stdout")


@app.command(
    "export",
    help="export active bans as an nftables ruleset or kernel-module rules",
    setup=_export_setup,
)
def _export(ctx: Context, args: argparse.Namespace) -> int:
    settings = _settings(ctx)
    ledger = open_ledger(settings, read_only=True)
    try:
        now = ledger.clock()
        active = ledger.active(now)
        text = (
            nft_ruleset(active, now, table=settings.nft_table)
            if args.target == "nft"
            else lsck_rules(active, now)
        )
    finally:
        ledger.close()
    if args.output is not None:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise LedgerInputError(
                f"cannot write {str(args.output)!r}: {exc.strerror}",
                path=str(args.output),
                hint="check the directory",
            ) from exc
        ctx.emit({"output": str(args.output), "bytes": len(text)}, f"wrote {args.output}")
    else:
        ctx.emit({"ruleset": text}, text.rstrip("\n"))
    return 0


# -- serve, bouncers, scenarios --------------------------------------------------------


@app.command("serve", help="serve the CrowdSec-compatible bouncer API and the ledger API over HTTP")
def _serve(ctx: Context, _args: argparse.Namespace) -> int:
    from cross_domain_autoblocker_ledger._api import ApiServer, create_app, read_admin_token

    settings = _settings(ctx)
    ledger = open_ledger(settings)
    try:
        # The index holds every active decision for the process's lifetime:
        # take those objects out of the cyclic GC, so no gen-2 pass over a
        # million decisions stalls a bouncer's lookup.
        gc.collect()
        gc.freeze()
        token = read_admin_token(settings.data_dir / "admin.token")
        writer = open_writer(settings, ledger)
        try:
            blocker = Autoblocker(ledger, scenarios_from(settings), writer=writer)
            server = ApiServer(
                create_app(
                    ledger,
                    blocker,
                    token,
                    writer=writer,
                    witnesses=witnesses_from(settings),
                    witness_timeout=settings.witness_timeout,
                ),
                settings.listen_host,
                settings.listen_port,
            )
            ctx.echo(
                f"serving on {server.url} (admin token in {settings.data_dir / 'admin.token'})"
            )
            server.serve_forever()
        finally:
            writer.close()
        return 0
    finally:
        ledger.close()


def _bouncers_setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(p))
    add = sub.add_parser("add", help="register a bouncer and print its API key (shown once)")
    add.add_argument("name")
    add.add_argument("--key", help="use this key instead of a random one")
    sub.add_parser("list", help="registered bouncers and their last pull")
    delete = sub.add_parser("delete", help="remove a bouncer")
    delete.add_argument("name")


@app.command(
    "bouncers", help="manage the bouncers allowed to pull decisions", setup=_bouncers_setup
)
def _bouncers(ctx: Context, args: argparse.Namespace) -> int:
    from cross_domain_autoblocker_ledger._api import hash_api_key, new_api_key

    ledger = open_ledger(_settings(ctx), read_only=True)  # bouncers are not ledger entries
    try:
        store = ledger.store
        if args.action == "add":
            key = args.key or new_api_key()
            if len(key) < 16:
                raise LedgerInputError(
                    "a bouncer key must be at least 16 characters",
                    field="key",
                    hint="omit --key for a random one",
                )
            store.add_bouncer(args.name, hash_api_key(key), time.time())
            ctx.emit(
                {"name": args.name, "api_key": key},
                f"API key for '{args.name}':\n\n   {key}\n\nKeep it safe: it is not shown again.",
            )
        elif args.action == "list":
            rows = store.bouncers()
            data = [
                {"name": r[0], "created": r[2], "last_pull": r[4], "last_seq": r[3]} for r in rows
            ]
            human = (
                "\n".join(f"{r[0]}  last pull: {_when(r[4]) if r[4] else 'never'}" for r in rows)
                or "no bouncers"
            )
            ctx.emit(data, human)
        else:
            if not store.delete_bouncer(args.name):
                raise LedgerInputError(
                    f"no bouncer named {args.name!r}", hint="see 'bouncers list'"
                )
            ctx.emit({"deleted": args.name}, f"deleted bouncer {args.name}")
        return 0
    finally:
        ledger.close()


def _scenarios_setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(p))
    sub.add_parser("list", help="the effective scenarios (configured, or built-in) and jails")
    validate = sub.add_parser(
        "validate", help="check a scenario YAML file/directory or a jail file"
    )
    validate.add_argument("path", type=Path)
    validate.add_argument("--jail", action="store_true", help="the file is in fail2ban jail syntax")


def _scenario_row(s: Any) -> dict[str, Any]:
    return {
        "name": s.name,
        "type": s.type,
        "group_by": list(s.group_by),
        "capacity": s.capacity,
        "leakspeed": s.leakspeed,
        "duration": s.duration,
        "domains": sorted(s.filter.domains),
        "kinds": list(s.filter.kinds),
        "min_domains": s.min_domains,
        "remediation": {
            "type": s.remediation.type,
            "duration": s.remediation.duration,
            "escalates": s.remediation.escalation is not None,
        },
    }


@app.command(
    "scenarios", help="list or validate detection scenarios and jails", setup=_scenarios_setup
)
def _scenarios(ctx: Context, args: argparse.Namespace) -> int:
    if args.action == "list":
        scenarios = scenarios_from(_settings(ctx))
    elif args.jail:
        try:
            text = args.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerInputError(
                f"cannot read {str(args.path)!r}: {exc}", path=str(args.path), hint="check the path"
            ) from None
        scenarios = load_jails(text, str(args.path))
    else:
        scenarios = load_scenarios(args.path)
    rows = [_scenario_row(s) for s in scenarios]
    human = "\n".join(
        f"{r['name']}  {r['type']}  group by {'+'.join(r['group_by'])}  domains {','.join(r['domains']) or 'any'}"
        for r in rows
    )
    ctx.emit(rows, human or "no scenarios")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())

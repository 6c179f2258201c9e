"""The ``lsck`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from prometheus_client import CollectorRegistry, generate_latest

from linux_scalable_cloud_kernel import __version__
from linux_scalable_cloud_kernel._cgroup import CgroupTree
from linux_scalable_cloud_kernel._node_metrics import NodeCollector, rates, scrape
from linux_scalable_cloud_kernel._procfs import NodeFiles
from linux_scalable_cloud_kernel._rules import (
    NFT_TABLE,
    EnforcementError,
    apply_nftables,
    parse_rules,
    push_to_module,
    read_module_rules,
    render_module_batch,
    render_nftables,
)
from linux_scalable_cloud_kernel._serve import parse_listen_address, serve_metrics
from linux_scalable_cloud_kernel._top import render_top
from linux_scalable_cloud_kernel._tuning import ProfileChange, list_profiles, load_profile, rollback
from linux_scalable_cloud_kernel.config import KernelToolkitSettings
from linux_scalable_cloud_kernel.errors import KernelToolkitInputError
from shared_core.cli import CliApp, Context, read_input
from shared_core.errors import ExitCode

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="lsck",
    version=__version__,
    settings_cls=KernelToolkitSettings,
    description="A kernel module for source-address blocklists and the userspace toolkit around it: node metrics, cgroups, tuning profiles, module control.",
)


def _files(ctx: Context) -> NodeFiles:
    settings = ctx.settings_as(KernelToolkitSettings)
    return NodeFiles(settings.root)


def _metrics_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--serve",
        metavar="[HOST]:PORT",
        help="serve /metrics until interrupted (a bare :PORT listens on 127.0.0.1)",
    )


@app.command(
    "metrics",
    help="node metrics (node_exporter names): Prometheus text, --json, or --serve :9100",
    setup=_metrics_setup,
)
def _metrics(ctx: Context, args: argparse.Namespace) -> int:
    files = _files(ctx)
    if args.serve:
        host, port = parse_listen_address(args.serve)
        server, _thread = serve_metrics(host, port, files)
        ctx.log.info("serving metrics", address=f"http://{host}:{server.server_port}/metrics")
        ctx.echo(f"serving http://{host}:{server.server_port}/metrics (Ctrl-C to stop)")
        try:
            threading.Event().wait()
        finally:
            server.shutdown()
        return ExitCode.OK
    if ctx.json_output:
        ctx.emit(scrape(files).to_json())
        return ExitCode.OK
    registry = CollectorRegistry()
    registry.register(NodeCollector(files))
    ctx.stdout.write(generate_latest(registry).decode())
    return ExitCode.OK


def _top_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    p.add_argument(
        "--count", type=int, default=0, help="stop after N refreshes (0: run until Ctrl-C)"
    )


@app.command(
    "top", help="a live view of node rates (CPU, memory, disk, network, PSI)", setup=_top_setup
)
def _top(ctx: Context, args: argparse.Namespace) -> int:
    files = _files(ctx)
    previous = scrape(files)
    shown = 0
    while args.count == 0 or shown < args.count:
        time.sleep(max(args.interval, 0.05))
        current = scrape(files)
        ctx.stdout.write(render_top(current, rates(previous, current)) + "\n")
        ctx.stdout.flush()
        previous = current
        shown += 1
    return ExitCode.OK


def _cgroup_setup(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a group (and its parents)")
    create.add_argument("name")
    create.add_argument("--controller", action="append", default=[], help="enable (repeatable)")
    limit = actions.add_parser("set", help="set limits: cpu.max='50000 100000' memory.max=256M ...")
    limit.add_argument("name")
    limit.add_argument("limits", nargs="+", metavar="KEY=VALUE")
    move = actions.add_parser("move", help="move a process into a group")
    move.add_argument("name")
    move.add_argument("pid", type=int)
    run_cmd = actions.add_parser("run", help="run a command inside a new group with limits")
    run_cmd.add_argument("name")
    run_cmd.add_argument("--limit", action="append", default=[], metavar="KEY=VALUE")
    run_cmd.add_argument("command", nargs=argparse.REMAINDER)
    stat = actions.add_parser("stat", help="usage, events and pressure of a group")
    stat.add_argument("name")
    remove = actions.add_parser("rm", help="remove an empty group")
    remove.add_argument("name")


def _limits(pairs: Sequence[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise KernelToolkitInputError(
                f"expected KEY=VALUE, got {pair!r}", hint="e.g. memory.max=256M"
            )
        result[key.strip()] = value
    return result


@app.command("cgroup", help="cgroup v2: create, set, move, run, stat, rm", setup=_cgroup_setup)
def _cgroup(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings_as(KernelToolkitSettings)
    tree = (
        CgroupTree(settings.cgroup_mount)
        if settings.cgroup_mount is not None
        else CgroupTree.discover(settings.root)
    )
    if args.action == "create":
        path = tree.create(args.name, args.controller)
        ctx.emit({"created": str(path)}, human=f"created {path}")
    elif args.action == "set":
        limits = _limits(args.limits)
        tree.set_limits(args.name, limits)
        ctx.emit({"set": limits}, human="\n".join(f"{k} = {v}" for k, v in limits.items()))
    elif args.action == "move":
        tree.move(args.name, args.pid)
        ctx.emit({"moved": args.pid, "to": args.name}, human=f"moved {args.pid} to {args.name}")
    elif args.action == "run":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return tree.run(args.name, command, _limits(args.limit))
    elif args.action == "stat":
        ctx.emit(tree.stat(args.name))
    else:
        tree.remove(args.name)
        ctx.emit({"removed": args.name}, human=f"removed {args.name}")
    return ExitCode.OK


def _tune_setup(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the shipped profiles")
    for name, text in (
        ("apply", "apply a profile (snapshot first)"),
        ("verify", "which settings drifted (exit 1 if any)"),
    ):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("profile", help="a shipped profile name, or a path to a tuned.conf")
        if name == "apply":
            sub.add_argument("--dry-run", action="store_true", help="show the diff, change nothing")
    actions.add_parser("rollback", help="restore the values saved by the last apply")


def _change_line(change: ProfileChange) -> str:
    setting = change.setting
    label = f"[{setting.section}] {setting.key}" + (
        f" ({setting.path})" if setting.section == "cpu" else ""
    )
    if change.status == "missing":
        return f"  skip  {label}: not on this kernel"
    if change.status == "same":
        return f"  same  {label} = {setting.value}"
    return f"  set   {label}: {change.current} -> {setting.value}"


@app.command(
    "tune",
    help="tuned-format profiles: list, apply [--dry-run], verify, rollback",
    setup=_tune_setup,
)
def _tune(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings_as(KernelToolkitSettings)
    snapshot = settings.state_dir / "tuning-snapshot.json"
    if args.action == "list":
        profiles = list_profiles()
        ctx.emit(profiles, human="\n".join(f"{k:24} {v}" for k, v in profiles.items()))
        return ExitCode.OK
    if args.action == "rollback":
        restored = rollback(settings.root, snapshot)
        ctx.emit({"restored": restored}, human=f"restored {len(restored)} setting(s)")
        return ExitCode.OK
    profile = load_profile(args.profile)
    if args.action == "verify":
        drift = profile.verify(settings.root)
        rows = [
            {"path": c.setting.path, "want": c.setting.value, "have": c.current, "status": c.status}
            for c in drift
        ]
        drifted = [c for c in drift if c.status == "change"]
        ctx.emit(
            {"profile": profile.name, "drifted": rows},
            human="\n".join(_change_line(c) for c in drift)
            or f"{profile.name}: every setting holds",
        )
        return ExitCode.FAILED if drifted else ExitCode.OK
    changes = (
        profile.changes(settings.root) if args.dry_run else profile.apply(settings.root, snapshot)
    )
    verb = "would apply" if args.dry_run else "applied"
    ctx.emit(
        {
            "profile": profile.name,
            "dry_run": args.dry_run,
            "changes": [
                {
                    "path": c.setting.path,
                    "from": c.current,
                    "to": c.setting.value,
                    "status": c.status,
                }
                for c in changes
            ],
        },
        human=f"{verb} {profile.name}:\n" + "\n".join(_change_line(c) for c in changes),
    )
    return ExitCode.OK


def _module_setup(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    load = actions.add_parser("load", help="insmod the module (a .ko path)")
    load.add_argument("path", type=Path)
    load.add_argument("params", nargs="*", help="module parameters, e.g. max_rules=100000")
    actions.add_parser("unload", help="rmmod the module")
    push = actions.add_parser(
        "push", help="replace the blocklist atomically (module batch, or nftables without it)"
    )
    push.add_argument("rules", type=Path, help="one ADDR[/LEN] [ttl SECONDS] per line; - for stdin")
    push.add_argument(
        "--nft", action="store_true", help="use nftables even if the module is loaded"
    )
    push.add_argument("--netns", help="apply the nftables set inside this network namespace")
    push.add_argument("--dry-run", action="store_true", help="print what would be applied")
    actions.add_parser("stats", help="per-rule hits and bytes from /proc/lsck/rules")


def _run_tool(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise EnforcementError(
            f"{argv[0]} failed: {proc.stderr.strip() or proc.returncode}",
            hint="run as root on a kernel that allows loading modules",
        )


@app.command("module", help="the kernel module: load, unload, push, stats", setup=_module_setup)
def _module(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings_as(KernelToolkitSettings)
    device = settings.root / "dev/lsck"
    if args.action == "load":
        # insmod's own message for a wrong path blames the kernel ("could not insert module");
        # say what is wrong with the file before handing it over.
        head = read_input(args.path, what="module", error=KernelToolkitInputError)[:4]
        if head != b"\x7fELF":
            raise KernelToolkitInputError(
                f"module {args.path}: not a kernel object (no ELF header)",
                path=str(args.path),
                hint="pass the lsck.ko that `make` builds in kernel_module/",
            )
        _run_tool(["insmod", str(args.path), *args.params])
        ctx.emit({"loaded": str(args.path)}, human=f"loaded {args.path}")
    elif args.action == "unload":
        _run_tool(["rmmod", "lsck"])
        ctx.emit({"unloaded": "lsck"}, human="unloaded lsck")
    elif args.action == "stats":
        rows = read_module_rules(settings.root / "proc/lsck/rules")
        ctx.emit(
            rows,
            human="\n".join(
                f"{r['rule']:43} hits {r['hits']:>10} bytes {r['bytes']:>12}" for r in rows
            ),
        )
    else:
        source = "<stdin>" if str(args.rules) == "-" else str(args.rules)
        try:
            text = sys.stdin.read() if source == "<stdin>" else args.rules.read_text()
        except OSError as exc:
            raise KernelToolkitInputError(
                f"cannot read {source}: {exc.strerror}", path=source
            ) from exc
        rules = parse_rules(text, source)
        use_module = device.exists() and not args.nft
        if args.dry_run:
            rendered = render_module_batch(rules) if use_module else render_nftables(rules)
            ctx.emit(
                {"target": "module" if use_module else "nftables", "script": rendered},
                human=rendered,
            )
        elif use_module:
            count = push_to_module(rules, device)
            ctx.emit(
                {"target": "module", "rules": count}, human=f"pushed {count} rule(s) to {device}"
            )
        else:
            apply_nftables(rules, args.netns)
            where = f" in netns {args.netns}" if args.netns else ""
            ctx.emit(
                {"target": "nftables", "rules": len(rules), "table": f"inet {NFT_TABLE}"},
                human=f"the lsck module is not loaded: applied {len(rules)} rule(s) as nftables "
                f"table inet {NFT_TABLE}{where} instead",
            )
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

"""The ``shared_core`` command line: the shared tools, usable on their own.

Commands: ``keygen``, ``sign`` / ``verify`` (DSSE envelopes), ``hash``,
``merkle`` (root and inclusion/consistency proofs over the lines of a file),
``verify-proof``, ``checkpoint`` (a signed C2SP checkpoint), ``note-keygen``,
``events tail`` (alias ``events-tail``: print the events on a NATS subject as JSON lines) and
``tour`` (every piece exercised once, for real, in a temporary folder).
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, NoReturn

from shared_core import __version__
from shared_core.cli import CliApp, Context, read_input
from shared_core.config import CoreSettings, settings_config
from shared_core.crypto import (
    ALG_COSIGNATURE_V1,
    Algorithm,
    Checkpoint,
    Envelope,
    MerkleTree,
    NoteSigner,
    NoteVerifier,
    blake3_file,
    cosign,
    generate_note_key,
    generate_signing_key,
    hash_leaf,
    open_note,
    read_private_key,
    read_public_key,
    sha256_file,
    sign_envelope,
    verify_consistency,
    verify_envelope,
    verify_inclusion,
    write_private_key,
    write_public_key,
)
from shared_core.errors import CryptoError, ExitCode, IoError, ValidationError
from shared_core.logging import bound_context, get_logger
from shared_core.telemetry import Metrics, setup_tracing, span

__all__ = ["SharedCoreSettings", "app", "main", "run"]


class SharedCoreSettings(CoreSettings):
    """Settings of the ``shared_core`` command itself."""

    system: ClassVar[str] = "shared_core"
    model_config = settings_config("shared_core")


app = CliApp(
    prog="shared_core",
    version=__version__,
    settings_cls=SharedCoreSettings,
    description="Shared foundations of the internal-tools systems: keys, DSSE envelopes, "
    "hashes, RFC 9162 Merkle proofs and C2SP signed checkpoints from the command line.",
)


def _leaves(path: str) -> list[bytes]:
    """One leaf per line of the file, without its line ending."""
    return read_input(path, what="leaves file").splitlines()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError:
        raise ValidationError(f"{what} is not base64", field=what) from None


@app.command(
    "keygen",
    help="generate a signing key (private PEM 0600 + public .pub)",
    setup=lambda p: (
        p.add_argument("out", help="path of the private key; the public key goes to OUT.pub"),
        p.add_argument("--algorithm", choices=[a.value for a in Algorithm], default="ed25519"),
        p.add_argument("--force", action="store_true", help="replace an existing key"),
    ),
)
def _keygen(ctx: Context, args: argparse.Namespace) -> int:
    with generate_signing_key(args.algorithm) as key:
        private = write_private_key(args.out, key, overwrite=args.force)
        public = write_public_key(f"{args.out}.pub", key.verify_key)
        ctx.emit(
            {"private": str(private), "public": str(public), "key_id": key.verify_key.key_id},
            human=f"wrote {private} and {public}\nkey id {key.verify_key.key_id}",
        )
    return ExitCode.OK


@app.command(
    "sign",
    help="sign a file into a DSSE envelope (JSON on stdout)",
    setup=lambda p: (
        p.add_argument("file"),
        p.add_argument("--key", required=True, action="append", help="private key (repeatable)"),
        p.add_argument("--payload-type", default="application/vnd.in-toto+json"),
    ),
)
def _sign(ctx: Context, args: argparse.Namespace) -> int:
    keys = [read_private_key(k) for k in args.key]
    envelope = sign_envelope(read_input(args.file, what="payload"), args.payload_type, keys)
    ctx.stdout.write(json.dumps(envelope.to_dict(), indent=2) + "\n")
    return ExitCode.OK


@app.command(
    "verify",
    help="verify a DSSE envelope against public keys (exit 1 if it does not verify)",
    setup=lambda p: (
        p.add_argument("envelope"),
        p.add_argument("--pub", required=True, action="append", help="public key (repeatable)"),
        p.add_argument("--threshold", type=int, default=1),
        p.add_argument("--payload-type", action="append", help="accepted payload type(s)"),
    ),
)
def _verify(ctx: Context, args: argparse.Namespace) -> int:
    envelope = Envelope.from_json(read_input(args.envelope, what="envelope"))
    keys = [read_public_key(p) for p in args.pub]
    signed = verify_envelope(
        envelope,
        {k.key_id: k for k in keys},
        threshold=args.threshold,
        payload_types=args.payload_type,
    )
    ctx.emit(
        {"verified": True, "payload_type": envelope.payload_type, "signed_by": signed},
        human=f"OK: {len(signed)} trusted signature(s) on {envelope.payload_type}",
    )
    return ExitCode.OK


@app.command(
    "hash",
    help="SHA-256 or BLAKE3 of files",
    setup=lambda p: (
        p.add_argument("files", nargs="+"),
        p.add_argument("--algorithm", choices=["sha256", "blake3"], default="sha256"),
    ),
)
def _hash(ctx: Context, args: argparse.Namespace) -> int:
    digest = sha256_file if args.algorithm == "sha256" else blake3_file
    rows = {f: digest(f).hex() for f in args.files}
    ctx.emit(rows, human="\n".join(f"{h}  {f}" for f, h in rows.items()))
    return ExitCode.OK


def _merkle_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="one leaf per line")
    p.add_argument("--size", type=int, help="tree size to answer for (default: all lines)")
    p.add_argument("--prove", type=int, metavar="INDEX", help="inclusion proof for leaf INDEX")
    p.add_argument("--consistency", type=int, metavar="SIZE1", help="consistency proof from SIZE1")


@app.command(
    "merkle", help="RFC 9162 root and proofs over the lines of a file", setup=_merkle_setup
)
def _merkle(ctx: Context, args: argparse.Namespace) -> int:
    tree = MerkleTree(_leaves(args.file))
    size = tree.size if args.size is None else args.size
    result: dict[str, Any] = {"tree_size": size, "root": _b64(tree.root(size))}
    if args.prove is not None:
        result["inclusion"] = {
            "leaf_index": args.prove,
            "leaf_hash": _b64(tree.leaf_hash(args.prove)),
            "proof": [_b64(h) for h in tree.inclusion_proof(args.prove, size)],
        }
    if args.consistency is not None:
        result["consistency"] = {
            "size1": args.consistency,
            "root1": _b64(tree.root(args.consistency)),
            "proof": [_b64(h) for h in tree.consistency_proof(args.consistency, size)],
        }
    ctx.emit(result, human=json.dumps(result, indent=2))
    return ExitCode.OK


@app.command(
    "verify-proof",
    help="verify the JSON printed by `merkle --prove/--consistency` (offline)",
    setup=lambda p: p.add_argument("proof_file"),
)
def _verify_proof(ctx: Context, args: argparse.Namespace) -> int:
    try:
        data = json.loads(read_input(args.proof_file, what="proof file"))
        size, root = int(data["tree_size"]), _unb64(data["root"], "root")
        checked = []
        if "inclusion" in data:
            inc = data["inclusion"]
            verify_inclusion(
                _unb64(inc["leaf_hash"], "leaf_hash"),
                int(inc["leaf_index"]),
                size,
                [_unb64(h, "proof") for h in inc["proof"]],
                root,
            )
            checked.append("inclusion")
        if "consistency" in data:
            con = data["consistency"]
            verify_consistency(
                int(con["size1"]),
                size,
                [_unb64(h, "proof") for h in con["proof"]],
                _unb64(con["root1"], "root1"),
                root,
            )
            checked.append("consistency")
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError(
            f"proof file is not in the format `merkle` prints: {exc}",
            path=args.proof_file,
            hint="produce it with: shared_core --json merkle FILE --prove INDEX",
        ) from None
    if not checked:
        raise ValidationError("proof file holds no proof", path=args.proof_file)
    ctx.emit({"verified": checked}, human=f"OK: {', '.join(checked)} proof verified")
    return ExitCode.OK


@app.command(
    "note-keygen",
    help="generate a C2SP note signer key (stdout: verifier key; --out: signer key, 0600)",
    setup=lambda p: (
        p.add_argument("name"),
        p.add_argument("--out", required=True),
        p.add_argument("--witness", action="store_true", help="a cosignature/v1 witness key"),
    ),
)
def _note_keygen(ctx: Context, args: argparse.Namespace) -> int:
    signer = generate_note_key(args.name, ALG_COSIGNATURE_V1 if args.witness else 0x01)
    path = Path(args.out)
    if path.exists():
        raise IoError(f"{path} already exists", path=str(path), hint="choose another path")
    with signer.encode() as secret:
        path.touch(mode=0o600)
        path.write_bytes(secret.reveal() + b"\n")
    ctx.emit({"verifier": signer.verifier.encode()}, human=signer.verifier.encode())
    return ExitCode.OK


@app.command(
    "checkpoint",
    help="sign a C2SP checkpoint over the lines of a file",
    setup=lambda p: (
        p.add_argument("file"),
        p.add_argument("--origin", required=True),
        p.add_argument("--signer-key", required=True, help="file from note-keygen"),
    ),
)
def _checkpoint(ctx: Context, args: argparse.Namespace) -> int:
    signer = NoteSigner.parse(read_input(args.signer_key, what="signer key"))
    tree = MerkleTree(_leaves(args.file))
    ctx.stdout.write(Checkpoint(args.origin, tree.size, tree.root()).sign([signer]).decode())
    return ExitCode.OK


@app.command("tour", help="exercise every shared_core piece once, for real, and report")
def _tour(ctx: Context, _args: argparse.Namespace) -> int:
    log = get_logger("shared_core.tour")
    telemetry = setup_tracing("shared_core-tour", service_version=__version__)
    metrics = Metrics("shared_core_tour")
    steps = metrics.counter("steps_total", "tour steps completed", ["step"])
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="shared-core-tour-") as tmp, bound_context(tour="1"):
        folder = Path(tmp)
        with span("keys"):
            key = generate_signing_key()
            write_private_key(folder / "tour.key", key)
            reread = read_private_key(folder / "tour.key")
            report["key_id"] = reread.verify_key.key_id
            steps.labels(step="keys").inc()
        log.info("key generated and re-read with permission check", key_id=report["key_id"][:16])
        with span("dsse"):
            statement = json.dumps(
                {
                    "_type": "https://in-toto.io/Statement/v1",
                    "subject": [{"name": "tour.txt", "digest": {"sha256": "00" * 32}}],
                    "predicateType": "https://example.com/tour/v1",
                    "predicate": {"at": int(time.time())},
                }
            ).encode()
            envelope = sign_envelope(statement, "application/vnd.in-toto+json", [reread])
            signed = verify_envelope(
                Envelope.from_json(envelope.to_json()),
                {reread.verify_key.key_id: reread.verify_key},
            )
            report["dsse_signed_by"] = len(signed)
            steps.labels(step="dsse").inc()
        with span("merkle"):
            tree = MerkleTree(f"entry-{i}".encode() for i in range(1000))
            index = tree.append(envelope.to_json().encode())
            proof = tree.inclusion_proof(index)
            verify_inclusion(
                hash_leaf(envelope.to_json().encode()), index, tree.size, proof, tree.root()
            )
            consistency = tree.consistency_proof(500)
            verify_consistency(500, tree.size, consistency, tree.root(500), tree.root())
            report["log"] = {"size": tree.size, "entry_index": index, "proof_length": len(proof)}
            steps.labels(step="merkle").inc()
        with span("checkpoint"):
            origin = "tour.internal-tools.example/log"
            log_key = generate_note_key(origin)
            witness = generate_note_key("witness.example", ALG_COSIGNATURE_V1)
            signed_cp = Checkpoint(origin, tree.size, tree.root()).sign([log_key])
            cosigned = cosign(signed_cp, witness, log_key.verifier, int(time.time()))
            verifiers: list[NoteVerifier] = [log_key.verifier, witness.verifier]
            opened = open_note(cosigned, verifiers, require=["witness.example"])
            report["checkpoint"] = {
                "origin": origin,
                "verified_by": list(opened.verified_by),
            }
            steps.labels(step="checkpoint").inc()
        tampered = cosigned.replace(b"\n1001\n", b"\n1002\n")
        try:
            open_note(tampered, verifiers)
        except CryptoError:
            report["tampered_checkpoint_rejected"] = True
        else:
            report["tampered_checkpoint_rejected"] = False
    report["spans"] = [s.name for s in telemetry.finished_spans()]
    report["metrics_lines"] = sum(
        1
        for line in metrics.exposition().decode().splitlines()
        if line.startswith("shared_core_tour_steps_total{")
    )
    ctx.emit(report, human=json.dumps(report, indent=2))
    return ExitCode.OK if report["tampered_checkpoint_rejected"] else ExitCode.FAILED


def _events_tail_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("subject", help="NATS subject; * and a final > are wildcards")
    p.add_argument("--count", type=int, metavar="N", help="stop after N events")
    p.add_argument(
        "--durable",
        metavar="NAME",
        help="read through a JetStream durable consumer: events kept while away are printed too",
    )
    p.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="give up after SECONDS (exit 1)"
    )


def _events_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["tail"], help="tail: print the events on SUBJECT")
    _events_tail_setup(p)


@app.command(
    "events",
    help="the NATS event bus: 'events tail SUBJECT' prints events as JSON lines (same as events-tail)",
    setup=_events_setup,
)
def _events(ctx: Context, args: argparse.Namespace) -> int | None:
    return _events_tail(ctx, args)


@app.command(
    "events-tail",
    help="print events published on a NATS subject, one JSON object a line (needs --nats-servers)",
    setup=_events_tail_setup,
    aliases=("tail",),
)
def _events_tail(ctx: Context, args: argparse.Namespace) -> int:
    import anyio

    from shared_core.events import Event, EventBus

    if args.count is not None and args.count < 1:
        raise ValidationError("--count must be at least 1", field="count")
    if args.timeout is not None and args.timeout <= 0:
        raise ValidationError("--timeout must be positive", field="timeout")
    seen = 0

    async def tail() -> bool:
        nonlocal seen
        done = anyio.Event()

        async def show(event: Event) -> None:
            nonlocal seen
            if done.is_set():
                raise RuntimeError("enough events printed")  # unacknowledged: stays for later
            ctx.stdout.write(event.model_dump_json() + "\n")
            ctx.stdout.flush()
            seen += 1
            if args.count is not None and seen >= args.count:
                done.set()

        bus = EventBus(source="shared_core", name="shared_core-events-tail")
        await bus.connect(ctx.settings.nats_servers)
        try:
            with anyio.move_on_after(args.timeout) as scope:
                await bus.subscribe(args.subject, show, durable=args.durable, batch=1)
                await done.wait()
            return not scope.cancelled_caught
        finally:
            await bus.close()

    try:
        finished = anyio.run(tail)
    except KeyboardInterrupt:
        return ExitCode.OK
    if not finished:
        get_logger("shared_core.events").warning(
            "timed out", received=seen, wanted=args.count, timeout=args.timeout
        )
        return ExitCode.FAILED if args.count is not None else ExitCode.OK
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    return app.main(argv)


def run() -> NoReturn:
    app.run()

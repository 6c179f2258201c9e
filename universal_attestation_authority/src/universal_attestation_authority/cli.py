"""The ``uaa`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from shared_core.cli import CliApp, Context
from shared_core.crypto import (
    ALG_COSIGNATURE_V1,
    NoteSigner,
    NoteVerifier,
    SecretBytes,
    generate_note_key,
    generate_signing_key,
    write_private_key,
    write_public_key,
)
from shared_core.errors import ConfigError, CoreError
from universal_attestation_authority import __version__
from universal_attestation_authority._authority import Authority
from universal_attestation_authority._bundle import Bundle
from universal_attestation_authority._clock import format_time, parse_time
from universal_attestation_authority._offline import (
    OfflineResult,
    export_tiles,
    verify_entry_offline,
)
from universal_attestation_authority._policy import Policy
from universal_attestation_authority._statement import Statement, digest_file, loads_json_strict
from universal_attestation_authority._verify import verify_bundle
from universal_attestation_authority._witness import WitnessEndpoint, WitnessPool
from universal_attestation_authority.config import AttestationSettings
from universal_attestation_authority.errors import (
    AttestationError,
    AttestationInputError,
    AttestationKeyError,
)

if TYPE_CHECKING:
    from universal_attestation_authority._ca import ClientRevocations
    from universal_attestation_authority._tls import ServerTls

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="universal_attestation_authority",
    version=__version__,
    settings_cls=AttestationSettings,
    description="in-toto attestations in DSSE envelopes, a C2SP transparency log with witnesses, and an HTTP service.",
)


def _settings(ctx: Context) -> AttestationSettings:
    settings = ctx.settings
    if not isinstance(settings, AttestationSettings):
        raise AttestationError("settings are not AttestationSettings", hint="this is a bug")
    return settings


def _open(ctx: Context, *, witnesses: bool = False) -> Authority:
    settings = _settings(ctx)
    if witnesses and settings.witnesses:
        endpoints = []
        for spec in settings.witnesses:
            url, _, key = spec.strip().partition(" ")
            if not key:
                raise AttestationInputError(
                    f"witness {spec!r} is not 'URL VERIFIER_KEY'", hint="see 'uaa witness init'"
                )
            endpoints.append(WitnessEndpoint.parse(url, key.strip()))
        if settings.witness_quorum > len(endpoints):
            raise ConfigError(
                f"witness_quorum is {settings.witness_quorum} but only {len(endpoints)} witness(es) are configured",
                key="witness_quorum",
                hint="configure more witnesses or lower witness_quorum",
            )
        authority = Authority(settings.data_dir)
        pool = WitnessPool(endpoints, authority.store, timeout=settings.witness_timeout)
        authority.log.cosigner = pool
        authority.log.witness_quorum = settings.witness_quorum
        return authority
    return Authority(settings.data_dir)


def _read_json(path: str, what: str) -> Any:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise AttestationInputError(
            f"cannot read {what} {path!r}: {exc.strerror}", hint="check the path", path=path
        ) from None
    return loads_json_strict(raw, what=f"{what} {path}")


def _write(path: str | None, text: str) -> None:
    if path is None:
        return
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise AttestationError(f"cannot write {path!r}: {exc.strerror}", path=path) from None


# -- init / keygen / keys ----------------------------------------------------------


@app.command(
    "init",
    help="create an authority in --data-dir: a log key and a first signing key",
    setup=lambda p: (
        p.add_argument(
            "--origin", required=True, help="the log's origin, e.g. attest.example.com/log"
        ),
        p.add_argument("--key-name", default="attestation-1", help="name of the first signing key"),
    ),
)
def _init(ctx: Context, args: argparse.Namespace) -> int:
    settings = _settings(ctx)
    with Authority.init(
        settings.data_dir, args.origin, algorithm=settings.algorithm, key_name=args.key_name
    ) as authority:
        key = next(iter(authority.keyring))
        ctx.emit(
            {
                "data_dir": str(settings.data_dir),
                "origin": authority.origin,
                "log_verifier_key": authority.log_verifier.encode(),
                "signing_key": key.to_dict(),
            },
            human=f"authority created in {settings.data_dir}\nlog verifier key: {authority.log_verifier.encode()}\nsigning key: {key.name} {key.keyid}",
        )
    return 0


@app.command(
    "keygen",
    help="generate a standalone key pair: OUT (private, 0600) and OUT.pub",
    setup=lambda p: (
        p.add_argument("--out", required=True, help="private key file to write"),
        p.add_argument("--force", action="store_true", help="overwrite an existing key"),
    ),
)
def _keygen(ctx: Context, args: argparse.Namespace) -> int:
    key = generate_signing_key(_settings(ctx).algorithm)
    try:
        write_private_key(args.out, key, overwrite=args.force)
        write_public_key(args.out + ".pub", key.verify_key)
    finally:
        key.close()
    ctx.emit(
        {
            "private_key": args.out,
            "public_key": args.out + ".pub",
            "keyid": key.verify_key.key_id,
            "algorithm": str(key.algorithm),
        },
        human=f"wrote {args.out} and {args.out}.pub (keyid {key.verify_key.key_id})",
    )
    return 0


def _keys_setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    sub.add_parser("list", help="every key with its validity period")
    gen = sub.add_parser("generate", help="add a new signing key")
    gen.add_argument("name")
    imp = sub.add_parser("import", help="register a PEM private key")
    imp.add_argument("file")
    imp.add_argument("--name", required=True)
    exp = sub.add_parser(
        "export",
        help="write the public keyring (uaa-keyring/v1 JSON), or one private key with --private",
    )
    exp.add_argument("--out", help="file to write (default: stdout; required with --private)")
    exp.add_argument(
        "--private", metavar="KEY", help="export this key's private PEM (0600) instead"
    )
    rot = sub.add_parser("rotate", help="retire a key and make a new one current")
    rot.add_argument("old")
    rot.add_argument("new_name")
    rot.add_argument("--at", help="rotation instant (RFC 3339, default now)")
    rev = sub.add_parser("revoke", help="distrust a key from --at on")
    rev.add_argument("key")
    rev.add_argument(
        "--at", help="revocation instant (RFC 3339, default now); backdate to the compromise"
    )
    rev.add_argument("--reason", default="", help="why, for the audit trail")


@app.command(
    "keys",
    help="manage signing keys: list, generate, import, export, rotate, revoke",
    setup=_keys_setup,
)
def _keys(ctx: Context, args: argparse.Namespace) -> int:
    algorithm = _settings(ctx).algorithm
    with _open(ctx) as authority:
        action = args.keys_command
        at = parse_time(args.at, field="--at") if getattr(args, "at", None) else None
        if action == "list":
            records = [r.to_dict() for r in authority.keyring]
            lines = [
                f"{r['name']:<20} {r['keyid'][:16]}  {r['algorithm']:<10} from {r['valid_from']}"
                + (f" until {r['valid_until']}" if "valid_until" in r else "")
                + (f" REVOKED {r['revoked_at']}" if "revoked_at" in r else "")
                for r in records
            ]
            ctx.emit({"keys": records}, human="\n".join(lines))
        elif action == "generate":
            record = authority.generate_key(args.name, algorithm)
            ctx.emit(record.to_dict(), human=f"added key {record.name} {record.keyid}")
        elif action == "import":
            record = authority.import_key(args.file, args.name)
            ctx.emit(record.to_dict(), human=f"imported key {record.name} {record.keyid}")
        elif action == "export" and args.private:
            if not args.out:
                raise AttestationInputError(
                    "--private needs --out FILE", hint="private keys are never printed"
                )
            record = authority.export_private_key(args.private, args.out)
            ctx.emit(
                {"written": args.out, "keyid": record.keyid},
                human=f"wrote the private key of {record.name} to {args.out} (mode 0600)",
            )
        elif action == "export":
            text = authority.keyring.to_json()
            if args.out:
                _write(args.out, text)
                ctx.emit({"written": args.out}, human=f"wrote {args.out}")
            else:
                ctx.stdout.write(text)
        elif action == "rotate":
            old, new = authority.rotate(args.old, args.new_name, algorithm=algorithm, at=at)
            ctx.emit(
                {"retired": old.to_dict(), "current": new.to_dict()},
                human=f"retired {old.name} at {format_time(old.valid_until or new.valid_from)}; {new.name} {new.keyid} is current",
            )
        else:
            record = authority.revoke(args.key, at=at, reason=args.reason)
            ctx.emit(
                record.to_dict(),
                human=f"revoked {record.name} from {format_time(record.revoked_at or parse_time('1970-01-01T00:00:00Z'))}",
            )
    return 0


# -- attest / verify ------------------------------------------------------------------


@app.command(
    "attest",
    help="sign an in-toto Statement about FILEs, log it and write the bundle",
    setup=lambda p: (
        p.add_argument(
            "--subject",
            action="extend",
            nargs="+",
            required=True,
            metavar="FILE",
            help="artifacts to attest (several after one flag, or the flag repeated)",
        ),
        p.add_argument("--predicate-type", required=True, help="predicate type URI"),
        p.add_argument("--predicate", help="JSON file with the predicate (default: {})"),
        p.add_argument(
            "--key",
            action="append",
            default=[],
            help="key name/keyid to sign with (default: all current)",
        ),
        p.add_argument("--out", help="bundle file to write (default: stdout)"),
    ),
)
def _attest(ctx: Context, args: argparse.Namespace) -> int:
    subjects = [digest_file(path, name=path) for path in args.subject]
    predicate = _read_json(args.predicate, "predicate") if args.predicate else {}
    if not isinstance(predicate, dict):
        raise AttestationInputError(
            f"predicate {args.predicate!r} must be a JSON object", path=args.predicate
        )
    statement = Statement.build(subjects, args.predicate_type, predicate)
    with _open(ctx, witnesses=True) as authority:
        issued = authority.issue(statement, keys=args.key)
        authority.publish()
        bundle = authority.bundle(issued.id)
    text = bundle.to_json()
    if args.out:
        _write(args.out, text)
        ctx.emit(
            {"id": issued.id, "log_index": issued.log_index, "bundle": args.out},
            human=f"attestation {issued.id} logged at index {issued.log_index}; bundle in {args.out}",
        )
    else:
        ctx.stdout.write(text)
    return 0


@app.command(
    "verify",
    help="verify a bundle (or DSSE envelope) against a policy; exit 1 names the failed rule",
    setup=lambda p: (
        p.add_argument("bundle", help="bundle or envelope JSON file"),
        p.add_argument("--policy", required=True, help="policy file (TOML or JSON)"),
        p.add_argument("--at", help="verify as of this instant (RFC 3339, default now)"),
    ),
)
def _verify(ctx: Context, args: argparse.Namespace) -> int:
    policy = Policy.load(args.policy)
    bundle = Bundle.from_dict(_read_json(args.bundle, "bundle"))
    verdict = verify_bundle(
        bundle, policy, now=parse_time(args.at, field="--at") if args.at else None
    )
    if verdict.ok:
        ctx.emit(
            verdict.to_dict(),
            human=f"OK: rule {verdict.rule!r} satisfied by {', '.join(verdict.signers)} (signed {format_time(verdict.signing_time)}, time from {verdict.time_source})",
        )
        return 0
    if ctx.json_output:
        ctx.emit(verdict.to_dict())
    verdict.raise_for_failure()
    return 1


# -- serve --------------------------------------------------------------------------


def _bound_socket(fd: int | None, host: str, port: int) -> socket.socket | None:
    if fd is None:
        return None
    return socket.socket(fileno=fd)


def _serve_app(
    asgi: Any,
    host: str,
    port: int,
    fd: int | None,
    tls: dict[str, Any],
    *,
    server_tls: ServerTls | None = None,
) -> None:
    import uvicorn

    config = uvicorn.Config(
        asgi, host=host, port=port, log_level="warning", access_log=False, **tls
    )
    if server_tls is not None:
        config.load()  # builds the SSLContext now, so a renewing certificate can follow it
        if config.ssl is not None:
            server_tls.attach(config.ssl)
    server = uvicorn.Server(config)
    sock = _bound_socket(fd, host, port)
    server.run(sockets=[sock] if sock is not None else None)


def _server_tls(settings: AttestationSettings) -> ServerTls | None:
    """TLS for both listeners: files from the settings, else the authority's CA, else none."""
    from universal_attestation_authority._tls import server_tls

    return server_tls(
        settings.data_dir,
        cert=settings.tls_cert,
        key=settings.tls_key,
        client_ca=settings.tls_client_ca,
        mtls=settings.mtls,
        host=settings.host,
        sans=settings.tls_sans,
        days=settings.tls_server_cert_days,
    )


def _tokens(settings: AttestationSettings) -> tuple[str, ...]:
    tokens = list(settings.api_tokens)
    if settings.api_token_file is not None:
        try:
            lines = settings.api_token_file.read_text("utf-8").splitlines()
        except OSError as exc:
            raise AttestationInputError(
                f"cannot read api_token_file {str(settings.api_token_file)!r}: {exc.strerror}",
                path=str(settings.api_token_file),
            ) from None
        tokens.extend(line.strip() for line in lines if line.strip() and not line.startswith("#"))
    return tuple(tokens)


def _serve_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fd", type=int, help="serve on this already-listening socket (systemd/tests)")
    p.add_argument(
        "--grpc-port",
        type=int,
        dest="setting__grpc_port",
        default=argparse.SUPPRESS,
        metavar="PORT",
        help="also serve the gRPC API on this port (0: a free port; setting grpc_port)",
    )


@app.command(
    "serve",
    help="run the HTTP API (FastAPI on uvicorn), and the gRPC API with --grpc-port",
    setup=_serve_setup,
)
def _serve(ctx: Context, args: argparse.Namespace) -> int:
    from universal_attestation_authority._limits import TokenBucket
    from universal_attestation_authority._service import GroupCommit, ServiceConfig, create_app

    settings = _settings(ctx)
    tls = _server_tls(settings)  # checked (and a CA certificate issued) before listening
    if settings.grpc_public_port is not None and settings.grpc_port is None:
        raise ConfigError(
            "grpc_public_port needs grpc_port", key="grpc_public_port", hint="set --grpc-port too"
        )
    config = ServiceConfig(
        api_tokens=_tokens(settings),
        max_request_bytes=settings.max_request_bytes,
        rate_limit=settings.rate_limit,
        rate_burst=settings.rate_burst,
        mtls_issuing=tls is not None and tls.client_ca_path is not None,
        publish_retry_seconds=settings.publish_retry_seconds,
        client_cert_fingerprints=tuple(settings.tls_client_fingerprints),
        client_revocations=_client_revocations(settings.data_dir, tls),
    )
    if tls is not None:
        ctx.stderr.write(tls.describe() + "\n")
    with _open(ctx, witnesses=True) as authority:
        # One batcher and one rate budget for both APIs.
        group = GroupCommit(authority)
        limiter = TokenBucket(config.rate_limit, config.rate_burst)
        grpc_server = None
        if settings.grpc_port is not None:
            from universal_attestation_authority._grpc import create_grpc_server

            grpc_server = create_grpc_server(
                authority,
                config,
                host=settings.host,
                port=settings.grpc_port,
                tls=tls.grpc() if tls is not None else None,
                group=group,
                limiter=limiter,
                public_port=settings.grpc_public_port,
            )
            if grpc_server.public_port is not None:
                ctx.stderr.write(
                    f"gRPC public API (verify open, issue by token) on "
                    f"{settings.host}:{grpc_server.public_port}\n"
                )
            ctx.stderr.write(f"gRPC API on {settings.host}:{grpc_server.port}\n")
            ctx.stderr.flush()
        try:
            asgi = create_app(authority, config, group=group, limiter=limiter)
            options = tls.uvicorn_options() if tls is not None else {}
            _serve_app(asgi, settings.host, settings.port, args.fd, options, server_tls=tls)
        finally:
            if grpc_server is not None:
                grpc_server.stop()
    return 0


# -- ca -------------------------------------------------------------------------------


def _ca_setup(p: argparse.ArgumentParser) -> None:
    from universal_attestation_authority._ca import REVOCATION_REASONS

    sub = p.add_subparsers(dest="ca_command", required=True, metavar="ACTION")
    init = sub.add_parser(
        "init", help="create the authority's CA; 'uaa serve' then serves TLS with it"
    )
    init.add_argument("--days", type=int, default=3650, help="CA validity (default 10 years)")
    cert = sub.add_parser("cert", help="print (or --out) the CA certificate clients should trust")
    cert.add_argument("--out", help="file to write instead of stdout")
    client = sub.add_parser(
        "issue-client",
        help="issue a client certificate that may issue attestations over mTLS (setting mtls)",
    )
    client.add_argument("name", help="the client's name (certificate common name)")
    client.add_argument(
        "--out", help="certificate file (default NAME.pem); the key goes to the same stem + .key"
    )
    client.add_argument("--days", type=float, default=365, help="validity (default 365)")
    server = sub.add_parser(
        "issue-server",
        help="issue a server certificate for other listeners (e.g. a reverse proxy)",
    )
    server.add_argument("names", nargs="+", help="DNS names and IP addresses")
    server.add_argument("--out", required=True, help="certificate file; key to the stem + .key")
    server.add_argument("--days", type=float, default=30, help="validity (default 30)")
    revoke = sub.add_parser(
        "revoke",
        help="revoke a certificate the CA issued (it can no longer issue over mTLS); rewrites the CRL",
    )
    revoke.add_argument(
        "certificate", help="its PEM file, or its serial number (decimal or 0x hex)"
    )
    revoke.add_argument("--reason", choices=REVOCATION_REASONS, default="unspecified")
    revoke.add_argument("--days", type=float, default=7, help="CRL validity (default 7)")
    crl = sub.add_parser("crl", help="re-sign the CRL (fresh validity) and print it (or --out)")
    crl.add_argument("--out", help="file to write instead of stdout")
    crl.add_argument("--days", type=float, default=7, help="CRL validity (default 7)")


@app.command(
    "ca",
    help="the authority's own TLS CA: init, cert, issue-client, issue-server, revoke, crl",
    setup=_ca_setup,
)
def _ca(ctx: Context, args: argparse.Namespace) -> int:
    from universal_attestation_authority._ca import CertificateAuthority

    settings = _settings(ctx)
    Authority(settings.data_dir).close()  # refuses a directory that is no authority
    action = args.ca_command
    if action == "init":
        ca = CertificateAuthority.init(
            settings.data_dir, _origin(settings.data_dir), days=args.days
        )
        path = CertificateAuthority.directory(settings.data_dir)
        ctx.emit(
            {"ca_cert": str(path / "ca.pem"), "subject": ca.cert.subject.rfc4514_string()},
            human=f"CA created in {path}; clients trust 'uaa ca cert'; 'uaa serve' now serves TLS",
        )
        return 0
    ca = CertificateAuthority.load(settings.data_dir)
    if action == "cert":
        pem = ca.cert_pem.decode("ascii")
        if args.out is None:
            ctx.stdout.write(pem)
            return 0
        _write(args.out, pem)
        ctx.emit({"ca_cert": args.out}, human=f"wrote {args.out}")
        return 0
    if action == "revoke":
        serial = ca.revoke(_certificate_ref(args.certificate), reason=args.reason, days=args.days)
        ctx.emit(
            {"revoked_serial": serial, "reason": args.reason, "crl": str(ca.directory_path)},
            human=f"revoked serial {serial:#x} ({args.reason}); CRL rewritten",
        )
        return 0
    if action == "crl":
        pem = ca.write_crl(days=args.days).decode("ascii")
        if args.out is None:
            ctx.stdout.write(pem)
            return 0
        _write(args.out, pem)
        ctx.emit({"crl": args.out}, human=f"wrote {args.out}")
        return 0
    if action == "issue-client":
        issued = ca.issue_client(args.name, days=args.days)
        out = Path(args.out or f"{args.name}.pem")
    else:
        issued = ca.issue_server(args.names, days=args.days)
        out = Path(args.out)
    key_path = out.with_suffix(".key")
    issued.write(out, key_path)
    ctx.emit(
        {
            "certificate": str(out),
            "key": str(key_path),
            "sha256": issued.fingerprint,
            "not_after": issued.not_after.isoformat(),
        },
        human=f"wrote {out} and {key_path} (sha256 {issued.fingerprint}, "
        f"valid until {issued.not_after.isoformat(timespec='seconds')})",
    )
    return 0


def _certificate_ref(text: str) -> bytes | int:
    """``uaa ca revoke``'s argument: a serial number, else a certificate file's bytes."""
    with contextlib.suppress(ValueError):
        return int(text, 0)
    try:
        return Path(text).read_bytes()
    except OSError as exc:
        raise AttestationInputError(
            f"cannot read certificate {text!r}: {exc.strerror}",
            hint="give the certificate's PEM file or its serial number",
            path=text,
        ) from None


def _client_revocations(data_dir: Path, tls: ServerTls | None) -> ClientRevocations | None:
    """The CA's CRL when client certificates come from the authority's own CA."""
    from universal_attestation_authority._ca import (
        CA_CERT_NAME,
        CRL_NAME,
        CertificateAuthority,
        ClientRevocations,
    )

    if tls is None or tls.client_ca_path is None:
        return None
    directory = CertificateAuthority.directory(data_dir)
    if tls.client_ca_path.resolve() != (directory / CA_CERT_NAME).resolve():
        return None  # a CA from the settings' files: its revocations are its owner's business
    return ClientRevocations(directory / CRL_NAME, CertificateAuthority.load(data_dir).cert)


def _origin(data_dir: Path) -> str:
    with Authority(data_dir) as authority:
        return authority.origin


# -- log ------------------------------------------------------------------------------


def _log_setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="log_command", required=True, metavar="ACTION")
    cp = sub.add_parser("checkpoint", help="print the latest checkpoint (signed note)")
    cp.add_argument("--publish", action="store_true", help="publish a new checkpoint first")
    sub.add_parser("keys", help="print the log's verifier key")
    prove = sub.add_parser("prove", help="inclusion proof of an entry (or consistency with --old)")
    prove.add_argument("index", nargs="?", type=int, help="entry index")
    prove.add_argument("--id", help="attestation id instead of an index")
    prove.add_argument("--size", type=int, help="tree size (default: latest checkpoint)")
    prove.add_argument("--old", type=int, help="consistency proof from this size instead")
    export = sub.add_parser(
        "export", help="write the checkpoint and every tile (tlog-tiles layout) to DIR"
    )
    export.add_argument("directory")
    ver = sub.add_parser("verify", help="verify an entry offline from a checkpoint and tiles")
    ver.add_argument("--checkpoint", required=True, help="checkpoint file (signed note)")
    ver.add_argument(
        "--tiles", required=True, help="directory holding tile/... (default layout of 'log export')"
    )
    ver.add_argument("--entry", type=int, help="entry index (default: the bundle's)")
    ver.add_argument("--bundle", help="bundle whose envelope must be the entry")
    ver.add_argument(
        "--log-key", action="append", required=True, help="log verifier key (name+hash+key)"
    )
    ver.add_argument(
        "--witness-key", action="append", default=[], help="witness verifier key (repeatable)"
    )
    ver.add_argument("--witness-threshold", type=int, default=0, help="cosignatures required")


def _verifiers(texts: Sequence[str], what: str) -> list[NoteVerifier]:
    out = []
    for text in texts:
        try:
            out.append(NoteVerifier.parse(text))
        except CoreError as exc:
            raise AttestationInputError(
                f"{what} {text[:40]!r}: {exc.message}", hint="copy it from 'uaa log keys'"
            ) from None
    return out


@app.command(
    "log",
    help="the transparency log: checkpoint, keys, prove, export, verify (offline)",
    setup=_log_setup,
)
def _log(ctx: Context, args: argparse.Namespace) -> int:
    action = args.log_command
    if action == "verify":
        return _log_verify(ctx, args)
    with _open(ctx, witnesses=action == "checkpoint") as authority:
        if action == "checkpoint":
            if args.publish:
                authority.publish()
            latest = authority.log.latest()
            if latest is None:
                raise AttestationError(
                    "no checkpoint is published yet", hint="run 'uaa log checkpoint --publish'"
                )
            ctx.emit(
                {
                    "size": latest.size,
                    "root_hash": base64.b64encode(latest.root_hash).decode(),
                    "note": latest.note.decode(),
                },
                human=latest.note.decode().rstrip("\n"),
            )
        elif action == "keys":
            ctx.emit(
                {"origin": authority.origin, "verifier_key": authority.log_verifier.encode()},
                human=authority.log_verifier.encode(),
            )
        elif action == "prove":
            if args.old is not None:
                new, proof = authority.log.consistency_proof(args.old, args.size)
                data = {
                    "old": args.old,
                    "new": new,
                    "hashes": [base64.b64encode(h).decode() for h in proof],
                }
                ctx.emit(
                    data, human="\n".join([f"consistency {args.old} -> {new}", *data["hashes"]])
                )
                return 0
            index = args.index
            if args.id is not None:
                row = authority.store.attestation(args.id)
                if row is None:
                    raise AttestationInputError(f"no attestation with id {args.id!r}")
                index = row.log_index
            if index is None:
                raise AttestationInputError(
                    "give an entry INDEX, --id or --old", hint="uaa log prove 0"
                )
            size, proof = authority.log.inclusion_proof(index, args.size)
            data = {
                "index": index,
                "tree_size": size,
                "hashes": [base64.b64encode(h).decode() for h in proof],
            }
            ctx.emit(data, human="\n".join([f"inclusion of {index} in {size}", *data["hashes"]]))
        else:
            directory = Path(args.directory)
            if authority.log.latest() is None:
                # An export is a checkpoint and its tiles; with no checkpoint there is
                # nothing a tile client could verify, so writing nothing is not success.
                raise AttestationInputError(
                    f"nothing to export to {str(directory)!r}: no checkpoint is published yet "
                    f"({authority.log.size} entries committed)",
                    hint="run 'uaa log checkpoint --publish' first "
                    "(an empty log publishes a checkpoint of size 0)",
                )
            size = export_tiles(authority.log, directory)
            ctx.emit(
                {"directory": str(directory), "size": size},
                human=f"exported tree of size {size} to {directory}",
            )
    return 0


def _log_verify(ctx: Context, args: argparse.Namespace) -> int:
    from universal_attestation_authority._tiles import http_fetcher

    remote = args.tiles.startswith(("http://", "https://"))
    if args.checkpoint.startswith(("http://", "https://")):
        import httpx

        try:
            response = httpx.get(args.checkpoint, timeout=10)
        except httpx.HTTPError as exc:
            raise AttestationInputError(f"cannot fetch {args.checkpoint}: {exc}") from None
        if response.status_code != 200:
            raise AttestationInputError(f"{args.checkpoint} answered {response.status_code}")
        note = response.content
    else:
        note = _read_checkpoint(args.checkpoint)
    bundle = Bundle.from_dict(_read_json(args.bundle, "bundle")) if args.bundle else None
    index = args.entry
    if index is None:
        if bundle is None or bundle.log is None:
            raise AttestationInputError("give --entry INDEX or a --bundle with log evidence")
        index = bundle.log.log_index
    result = verify_entry_offline(
        note,
        http_fetcher(args.tiles) if remote else Path(args.tiles),
        index,
        log_keys=_verifiers(args.log_key, "--log-key"),
        witness_keys=_verifiers(args.witness_key, "--witness-key"),
        witness_threshold=args.witness_threshold,
    )
    return _report_offline(ctx, result, bundle, index)


def _read_checkpoint(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise AttestationInputError(
            f"cannot read checkpoint {path!r}: {exc.strerror}", path=path
        ) from None


def _report_offline(ctx: Context, result: OfflineResult, bundle: Bundle | None, index: int) -> int:
    if bundle is not None:
        from universal_attestation_authority._entry import attestation_id

        if result.parsed is None or result.parsed.id != attestation_id(bundle.envelope):
            raise AttestationError(
                f"entry {index} does not record the bundle's envelope", hint="check --entry"
            )
    data = {
        "origin": result.checkpoint.origin,
        "tree_size": result.checkpoint.size,
        "index": index,
        "witnesses": list(result.witnesses),
        "entry": json.loads(result.entry)
        if result.parsed is not None
        else base64.b64encode(result.entry).decode(),
    }
    ctx.emit(
        data,
        human=f"OK: entry {index} is in {result.checkpoint.origin} at size {result.checkpoint.size} (cosigned by {', '.join(result.witnesses) or 'no witness'})",
    )
    return 0


# -- witness --------------------------------------------------------------------------


def _witness_setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="witness_command", required=True, metavar="ACTION")
    init = sub.add_parser("init", help="create a witness key (cosignature/v1)")
    init.add_argument("--name", required=True, help="witness name, e.g. witness1.example.com")
    init.add_argument("--out", required=True, help="key file to write (0600)")
    serve = sub.add_parser("serve", help="run a witness (C2SP tlog-witness add-checkpoint)")
    serve.add_argument("--key", required=True, help="witness key file from 'uaa witness init'")
    serve.add_argument(
        "--log-key", action="append", required=True, help="verifier key of a log to witness"
    )
    serve.add_argument(
        "--state", required=True, help="SQLite file for the witness's view of each log"
    )
    serve.add_argument("--fd", type=int, help="serve on this already-listening socket")


@app.command("witness", help="a witness: init a key, serve add-checkpoint", setup=_witness_setup)
def _witness(ctx: Context, args: argparse.Namespace) -> int:
    if args.witness_command == "init":
        signer = generate_note_key(args.name, ALG_COSIGNATURE_V1)
        path = Path(args.out)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise AttestationKeyError(
                f"key file {args.out!r} already exists", hint="choose another path"
            ) from None
        with os.fdopen(fd, "wb") as handle, signer.encode() as secret:
            handle.write(secret.reveal() + b"\n")
        ctx.emit(
            {"name": signer.name, "verifier_key": signer.verifier.encode(), "key_file": args.out},
            human=signer.verifier.encode(),
        )
        return 0
    from universal_attestation_authority._service import create_witness_app
    from universal_attestation_authority._witness import Witness

    try:
        with SecretBytes(Path(args.key).read_bytes().strip()) as text:
            signer = NoteSigner.parse(text)
    except OSError as exc:
        raise AttestationInputError(
            f"cannot read witness key {args.key!r}: {exc.strerror}", path=args.key
        ) from None
    except CoreError as exc:
        raise AttestationInputError(
            f"witness key {args.key!r}: {exc.message}", path=args.key
        ) from None
    witness = Witness(args.state, signer, _verifiers(args.log_key, "--log-key"))
    settings = _settings(ctx)
    try:
        # A witness is no authority (no CA of its own): TLS from files only.
        if (settings.tls_cert is None) != (settings.tls_key is None):
            raise ConfigError(
                "tls_cert and tls_key must be given together", key="tls_cert", hint="set both"
            )
        tls: dict[str, Any] = {}
        if settings.tls_cert is not None and settings.tls_key is not None:
            from universal_attestation_authority._tls import uvicorn_tls_options

            client_ca = str(settings.tls_client_ca) if settings.tls_client_ca else None
            tls = uvicorn_tls_options(str(settings.tls_cert), str(settings.tls_key), client_ca)
        _serve_app(create_witness_app(witness), settings.host, settings.port, args.fd, tls)
    finally:
        witness.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()

"""The HTTP API: FastAPI on uvicorn, with an OpenAPI schema at ``/openapi.json``.

Writes (issuing) need a bearer token; reads are open.  The C2SP paths
(``/checkpoint``, ``/tile/...``) are served exactly as a static tlog-tiles log
would be, so stock tile clients work against the service.  Every error is a
4xx JSON body ``{"error": ..., "hint": ...}``; bad input never reaches a 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import Future
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared_core.errors import CoreError, ValidationError
from shared_core.logging import get_logger
from shared_core.telemetry import Metrics
from universal_attestation_authority import __version__
from universal_attestation_authority._authority import Authority, IssuedAttestation
from universal_attestation_authority._bundle import Bundle
from universal_attestation_authority._ca import ClientRevocations
from universal_attestation_authority._limits import BodySizeLimit, TokenBucket
from universal_attestation_authority._policy import Policy
from universal_attestation_authority._statement import Statement
from universal_attestation_authority._tiles import TILE_WIDTH, parse_tile_path
from universal_attestation_authority._tls import client_cert_fingerprint, client_cert_serial
from universal_attestation_authority._verify import verify_bundle
from universal_attestation_authority._witness import MAX_REQUEST_BYTES, Witness
from universal_attestation_authority.errors import (
    AttestationAuthError,
    AttestationInputError,
    AttestationKeyError,
    AttestationLogError,
    AttestationStoreError,
    AttestationWitnessError,
)

__all__ = [
    "GroupCommit",
    "ServiceConfig",
    "authorize_issuer",
    "create_app",
    "create_witness_app",
    "issue_statement",
    "publish_pending",
]

_log = get_logger("universal_attestation_authority.service")


class ServiceConfig(BaseModel):
    """What the service needs beyond the authority itself."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    api_tokens: tuple[str, ...] = ()
    mtls_issuing: bool = False
    """Accept a client certificate verified by the server's TLS layer (``tls_client_ca``) for issuing."""
    client_cert_fingerprints: tuple[str, ...] = ()
    """When non-empty, only these client certificates (SHA-256 hex of the DER) may issue."""
    client_revocations: ClientRevocations | None = None
    """The CA's CRL: a client certificate it lists may not issue (see ``_ca``)."""
    publish_retry_seconds: float = 10.0
    """How often to retry publishing entries a failed publish left uncovered (0: never)."""
    max_request_bytes: int = 1024 * 1024
    rate_limit: float = 100.0
    rate_burst: int = 200


class IssueRequest(BaseModel):
    """Issue an attestation for an in-toto Statement v1."""

    model_config = ConfigDict(extra="forbid")

    statement: dict[str, Any] = Field(description="the in-toto Statement v1 to sign")
    keys: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default_factory=list,
        max_length=16,
        description="key names/keyids to sign with (default: all current)",
    )


class VerifyRequest(BaseModel):
    """Verify a bundle (or bare DSSE envelope) against a policy given inline."""

    model_config = ConfigDict(extra="forbid")

    bundle: dict[str, Any] = Field(description="a uaa bundle or a DSSE envelope")
    policy: str = Field(
        min_length=1,
        max_length=256 * 1024,
        description="the policy, TOML or JSON text, with keys inline (PEM) or from the authority",
    )


class ErrorBody(BaseModel):
    error: str
    hint: str | None = None


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "malformed input"},
    404: {"model": ErrorBody, "description": "not found or not yet published"},
    413: {"model": ErrorBody, "description": "request too large"},
    422: {"model": ErrorBody, "description": "input of the wrong shape"},
}


def _error(
    status: int, message: str, hint: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message, "hint": hint}, status_code=status, headers=headers)


def _token_matches(given: str, allowed: Sequence[str]) -> bool:
    digest = hashlib.sha256(given.encode()).hexdigest()
    ok = False
    for entry in allowed:
        expected, candidate = (entry[7:], digest) if entry.startswith("sha256:") else (entry, given)
        ok |= hmac.compare_digest(expected.encode(), candidate.encode())
    return ok


class GroupCommit:
    """Batches concurrent issuing requests into one transaction and one checkpoint.

    The first request to arrive becomes the leader: it drains everything queued
    (its own and what arrives meanwhile), issues it with ``issue_many`` (one
    SQLite commit), publishes one checkpoint (one signature, one witness round)
    and wakes the others.  Under load this turns N fsyncs and N witness rounds
    into one per batch; alone, a request pays exactly what it would anyway.
    """

    def __init__(self, authority: Authority, max_batch: int = 512) -> None:
        self.authority = authority
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[
            tuple[Statement, tuple[str, ...], Future[tuple[IssuedAttestation, bool]]]
        ] = []
        self._leading = False

    def submit(self, statement: Statement, keys: Sequence[str]) -> tuple[IssuedAttestation, bool]:
        """Issue ``statement``; returns it and whether a checkpoint now covers it."""
        future: Future[tuple[IssuedAttestation, bool]] = Future()
        with self._lock:
            self._pending.append((statement, tuple(keys), future))
            lead = not self._leading
            self._leading = True
        if lead:
            self._drain()
        return future.result()

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._pending = (
                    self._pending[: self.max_batch],
                    self._pending[self.max_batch :],
                )
                if not batch:
                    self._leading = False
                    return
            groups: dict[
                tuple[str, ...], list[tuple[Statement, Future[tuple[IssuedAttestation, bool]]]]
            ] = {}
            for statement, keys, future in batch:
                groups.setdefault(keys, []).append((statement, future))
            done: list[tuple[Future[tuple[IssuedAttestation, bool]], IssuedAttestation]] = []
            for keys, items in groups.items():
                try:
                    issued = self.authority.issue_many([s for s, _ in items], keys=keys)
                except BaseException as exc:  # handed to every waiter of this group
                    for _, future in items:
                        future.set_exception(exc)
                    continue
                done.extend(
                    (future, result) for (_, future), result in zip(items, issued, strict=True)
                )
            try:
                published = self.authority.publish().size
            except AttestationWitnessError:
                published = -1
            for future, result in done:
                future.set_result((result, result.log_index < published))


def publish_pending(authority: Authority) -> bool:
    """Publish a checkpoint if committed entries are not covered yet.

    Returns:
        True when a new checkpoint was published; False when nothing was
        pending or the witnesses did not reach the quorum (retry later).
    """
    authority.log.refresh()
    latest = authority.log.latest()
    if authority.log.size == (latest.size if latest else 0):
        return False
    try:
        authority.publish()
    except AttestationWitnessError as exc:
        _log.warning("checkpoint not published; will retry", reason=exc.message)
        return False
    return True


async def _republish_loop(authority: Authority, every: float) -> None:
    while True:
        await anyio.sleep(every)
        await anyio.to_thread.run_sync(publish_pending, authority)


def authorize_issuer(
    cfg: ServiceConfig,
    authorization: str | None,
    fingerprint: str | None,
    serial: int | None = None,
) -> None:
    """Allow issuing for a valid bearer token or an allowed, unrevoked client certificate.

    Shared by the HTTP and gRPC services.  ``authorization`` is the header (or
    metadata) value ``Bearer <token>``; ``fingerprint`` the SHA-256 (hex) and
    ``serial`` the serial number of a client certificate the TLS layer
    verified, if any.  A certificate the CA's CRL lists is no credential (a
    valid token still is).

    Raises:
        AttestationAuthError: neither credential is acceptable.
    """
    allowed = {f.lower() for f in cfg.client_cert_fingerprints}
    revoked = False
    if fingerprint is not None and (not allowed or fingerprint.lower() in allowed):
        revocations = cfg.client_revocations
        revoked = revocations is not None and (serial is None or revocations.is_revoked(serial))
        if not revoked:
            return  # a client certificate the TLS layer verified against tls_client_ca
    if not authorization or not authorization.startswith("Bearer "):
        if revoked:
            raise AttestationAuthError(
                "the client certificate is revoked (listed in the CA's CRL)",
                hint="ask the operator for a new certificate ('uaa ca issue-client')",
            )
        raise AttestationAuthError(
            "issuing needs 'Authorization: Bearer <token>'"
            + (" or an allowed client certificate" if cfg.mtls_issuing else ""),
            hint="ask the operator for an API token",
        )
    if not cfg.api_tokens or not _token_matches(authorization[7:].strip(), cfg.api_tokens):
        raise AttestationAuthError("the API token is not valid", hint="check the token")


def issue_statement(
    authority: Authority, group: GroupCommit, statement: Statement, keys: Sequence[str]
) -> tuple[IssuedAttestation, Bundle, bool]:
    """Issue through ``group``; the attestation, its bundle and whether a proof is in it.

    Blocking (SQLite, signing, witnesses): call it from a worker thread.
    """
    issued, covered = group.submit(statement, keys)
    bundle = authority.bundle(issued.id)
    return issued, bundle, covered and bundle.log is not None


def create_app(
    authority: Authority,
    config: ServiceConfig | None = None,
    *,
    metrics: Metrics | None = None,
    group: GroupCommit | None = None,
    limiter: TokenBucket | None = None,
) -> FastAPI:
    """The ASGI application serving ``authority``.

    ``group`` and ``limiter`` may be shared with the gRPC service
    (:func:`universal_attestation_authority._grpc.create_grpc_server`) so both
    batch into the same transactions and draw on the same per-client budget.
    """
    cfg = config or ServiceConfig()
    meter = metrics or Metrics("universal_attestation_authority")
    issued_total = meter.counter("attestations_issued_total", "attestations issued and logged")
    verified_total = meter.counter("verifications_total", "verifications by outcome", ["outcome"])
    request_seconds = meter.histogram("request_duration_seconds", "request latency", ["route"])
    entries_gauge = meter.gauge("log_entries_count", "entries committed to the log")
    checkpoint_gauge = meter.gauge("checkpoint_size_count", "tree size of the latest checkpoint")
    limiter = limiter or TokenBucket(cfg.rate_limit, cfg.rate_burst)
    group = group or GroupCommit(authority)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Entries a failed publish (witness quorum) left uncovered are published
        # by this loop as soon as the witnesses answer again.
        async with anyio.create_task_group() as tasks:
            if cfg.publish_retry_seconds > 0:
                tasks.start_soon(_republish_loop, authority, cfg.publish_retry_seconds)
            yield
            tasks.cancel_scope.cancel()

    app = FastAPI(
        title="universal_attestation_authority",
        version=__version__,
        description="in-toto attestations in DSSE envelopes, logged in a C2SP transparency log.",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(422, f"{where}: {first.get('msg')}", "see /docs for the request schema")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), None, dict(exc.headers or {}))

    @app.exception_handler(CoreError)
    async def _core(_request: Request, exc: CoreError) -> JSONResponse:
        if isinstance(exc, AttestationAuthError):
            return _error(401, exc.message, exc.hint, {"WWW-Authenticate": "Bearer"})
        if isinstance(exc, AttestationInputError | ValidationError):
            return _error(400, exc.message, exc.hint)
        if isinstance(exc, AttestationLogError):
            return _error(404, exc.message, exc.hint)
        if isinstance(exc, AttestationKeyError):
            return _error(409, exc.message, exc.hint)
        if isinstance(exc, AttestationWitnessError | AttestationStoreError):
            return _error(503, exc.message, exc.hint, {"Retry-After": "1"})
        return _error(500, exc.message, exc.hint)

    @app.middleware("http")
    async def _timing(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        route = request.scope.get("route")
        with request_seconds.labels(getattr(route, "path", "other")).time():
            return await call_next(request)

    def require_issuer(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> None:
        fingerprint = client_cert_fingerprint(request.scope) if cfg.mtls_issuing else None
        authorize_issuer(cfg, authorization, fingerprint, client_cert_serial(request.scope))
        client = request.client.host if request.client else "unknown"
        wait = limiter.take(client)
        if wait:
            raise StarletteHTTPException(
                429, "too many issuing requests", {"Retry-After": str(max(1, int(wait + 0.999)))}
            )

    @app.post(
        "/api/v1/attestations",
        status_code=201,
        tags=["attestations"],
        responses={
            **_ERRORS,
            401: {"model": ErrorBody},
            429: {"model": ErrorBody},
            503: {"model": ErrorBody},
        },
        dependencies=[Depends(require_issuer)],
    )
    async def create_attestation(body: IssueRequest) -> dict[str, Any]:
        """Sign the statement, log it, publish a checkpoint; returns the bundle with its proof."""
        statement = Statement.parse(body.statement, source="statement")

        def work() -> dict[str, Any]:
            issued, bundle, published = issue_statement(authority, group, statement, body.keys)
            return {
                "id": issued.id,
                "log_index": issued.log_index,
                "published": published,
                "bundle": bundle.to_dict(),
            }

        result = await anyio.to_thread.run_sync(work)
        issued_total.inc()
        return result

    @app.get("/api/v1/attestations/{attestation_id}", tags=["attestations"], responses=_ERRORS)
    async def get_attestation(
        attestation_id: Annotated[str, Field(pattern="^[0-9a-f]{64}$")],
    ) -> dict[str, Any]:
        """The attestation's bundle, with an inclusion proof against the latest checkpoint."""
        return authority.bundle(attestation_id).to_dict()

    @app.get("/api/v1/attestations", tags=["attestations"], responses=_ERRORS)
    async def find_attestations(
        digest: Annotated[
            str,
            Query(
                pattern="^[A-Za-z0-9_-]{1,64}:[0-9A-Za-z+/=_-]{1,256}$",
                description="ALG:VALUE, e.g. sha256:ab12...",
            ),
        ],
    ) -> dict[str, Any]:
        """Attestation ids whose subjects include this digest."""
        algorithm, _, value = digest.partition(":")
        return {"attestations": authority.store.attestations_for_digest(algorithm, value)}

    @app.post("/api/v1/verify", tags=["attestations"], responses=_ERRORS)
    async def verify(body: VerifyRequest) -> dict[str, Any]:
        """Evaluate a bundle against a policy; ``ok`` false comes with the failed rule."""
        policy = Policy.loads(body.policy, source="policy", allow_files=False)
        bundle = Bundle.from_dict(body.bundle)
        verdict = verify_bundle(bundle, policy)
        verified_total.labels("ok" if verdict.ok else "failed").inc()
        return verdict.to_dict()

    @app.get(
        "/checkpoint",
        tags=["log"],
        response_class=PlainTextResponse,
        responses={404: {"model": ErrorBody}},
    )
    async def checkpoint() -> Response:
        """The latest checkpoint, a C2SP signed note with witness cosignatures."""
        latest = authority.log.latest()
        if latest is None:
            return _error(404, "no checkpoint is published yet", "issue an attestation first")
        return Response(
            latest.note,
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "no-store"},
        )

    @app.get(
        "/tile/{tile_path:path}",
        tags=["log"],
        responses={**_ERRORS, 200: {"content": {"application/octet-stream": {}}}},
    )
    async def tile(tile_path: str) -> Response:
        """A C2SP tlog-tiles hash tile or entry bundle."""
        ref = parse_tile_path("tile/" + tile_path)
        data = authority.log.tile(ref)
        cache = "public, max-age=31536000, immutable" if ref.width == TILE_WIDTH else "no-store"
        return Response(
            data, media_type="application/octet-stream", headers={"Cache-Control": cache}
        )

    @app.get("/api/v1/log/inclusion", tags=["log"], responses=_ERRORS)
    async def inclusion(
        index: Annotated[int, Query(ge=0, le=2**62)],
        size: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    ) -> dict[str, Any]:
        """RFC 9162 inclusion proof of entry ``index`` in the published tree of ``size``."""
        tree_size, proof = authority.log.inclusion_proof(index, size)
        return {
            "index": index,
            "tree_size": tree_size,
            "hashes": [base64.b64encode(h).decode() for h in proof],
        }

    @app.get("/api/v1/log/consistency", tags=["log"], responses=_ERRORS)
    async def consistency(
        old: Annotated[int, Query(ge=0, le=2**62)],
        new: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    ) -> dict[str, Any]:
        """RFC 9162 consistency proof from tree ``old`` to published tree ``new``."""
        tree_size, proof = authority.log.consistency_proof(old, new)
        return {
            "old": old,
            "new": tree_size,
            "hashes": [base64.b64encode(h).decode() for h in proof],
        }

    @app.get("/api/v1/keys", tags=["keys"])
    async def keys() -> dict[str, Any]:
        """The keyring (every key ever used, with validity periods) and the log's verifier key."""
        return {
            "keyring": authority.keyring.to_dict(),
            "log": {"origin": authority.origin, "verifier_key": authority.log_verifier.encode()},
        }

    @app.get("/healthz", tags=["service"])
    async def health() -> dict[str, Any]:
        """Liveness and the log's sizes."""
        latest = authority.log.latest()
        return {
            "status": "ok",
            "version": __version__,
            "entries": authority.log.size,
            "checkpoint_size": latest.size if latest else 0,
        }

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    async def metrics_endpoint() -> Response:
        """Prometheus metrics."""
        latest = authority.log.latest()
        entries_gauge.set(authority.log.size)
        checkpoint_gauge.set(latest.size if latest else 0)
        return Response(generate_latest(meter.registry), media_type="text/plain; version=0.0.4")

    app.add_middleware(BodySizeLimit, limit=cfg.max_request_bytes)
    return app


def create_witness_app(witness: Witness) -> FastAPI:
    """The ASGI application of a witness (C2SP tlog-witness ``add-checkpoint``)."""
    app = FastAPI(
        title="universal_attestation_authority witness",
        version=__version__,
        description="Cosigns checkpoints of the logs it witnesses, only when consistent.",
    )

    @app.post(
        "/add-checkpoint",
        tags=["witness"],
        response_class=PlainTextResponse,
        openapi_extra={
            "requestBody": {
                "content": {"text/plain": {"schema": {"type": "string"}}},
                "required": True,
            }
        },
    )
    async def add_checkpoint(request: Request) -> Response:
        """Submit a checkpoint with a consistency proof from ``old``; 200 returns the cosignature."""
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REQUEST_BYTES:
                return PlainTextResponse("request body exceeds 64 KiB\n", status_code=413)
        answer = await anyio.to_thread.run_sync(witness.add_checkpoint, bytes(body))
        return Response(answer.body, status_code=answer.status, media_type=answer.content_type)

    @app.get("/split-views", tags=["witness"])
    async def split_views() -> dict[str, Any]:
        """Evidence of every split view (fork) this witness has detected."""
        return {"split_views": [e.to_dict() for e in witness.split_views()]}

    @app.get("/healthz", tags=["witness"])
    async def health() -> dict[str, Any]:
        """Liveness, the witness's key and the logs it follows."""
        return {
            "status": "ok",
            "witness": witness.signer.verifier.encode(),
            "logs": sorted(witness.logs),
        }

    return app

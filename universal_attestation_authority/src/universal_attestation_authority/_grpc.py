"""The gRPC API: ``attestation.AttestationAuthority`` (``shared_core/proto/attestation.proto``).

It serves the architecture's service beside the HTTP API with the same core
and rules: issuing goes through the same :class:`GroupCommit` (one transaction
and one checkpoint per batch), needs the same credentials
(``authorization: Bearer <token>`` metadata, or an allowed mTLS client
certificate) and draws on the same per-client :class:`TokenBucket`; requests
larger than ``max_request_bytes`` are refused by grpcio before any work.
Verification runs the same policy evaluation as ``POST /api/v1/verify``.

Status codes (the HTTP status in parentheses)::

    INVALID_ARGUMENT     (400/422) malformed statement, bundle, policy or fields
    UNAUTHENTICATED      (401)     no or wrong token / certificate
    FAILED_PRECONDITION  (409)     key state (no current key, revoked key named)
    NOT_FOUND            (404)     unknown attestation
    RESOURCE_EXHAUSTED   (413/429) message over the size limit, rate limit
    UNAVAILABLE          (503)     witness quorum not met, store busy
    INTERNAL             (500)     a bug; logged, never a crash of the server

A gRPC health service (``grpc.health.v1.Health``) reports ``SERVING`` for
``""`` and ``attestation.AttestationAuthority`` until the server stops.
"""

from __future__ import annotations

import base64
import hashlib
import ssl
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn, Protocol, TypeVar, cast

import grpc
import pydantic
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from shared_core.errors import CoreError, ValidationError
from shared_core.logging import get_logger
from universal_attestation_authority._authority import Authority
from universal_attestation_authority._bundle import Bundle
from universal_attestation_authority._clock import parse_time
from universal_attestation_authority._limits import TokenBucket
from universal_attestation_authority._policy import Policy
from universal_attestation_authority._proto import attestation_pb2 as pb
from universal_attestation_authority._service import (
    GroupCommit,
    IssueRequest,
    ServiceConfig,
    VerifyRequest,
    authorize_issuer,
    issue_statement,
)
from universal_attestation_authority._statement import (
    ResourceDescriptor,
    Statement,
    loads_json_strict,
)
from universal_attestation_authority._tls import certificate_serial
from universal_attestation_authority._verify import verify_bundle
from universal_attestation_authority.errors import (
    AttestationAuthError,
    AttestationInputError,
    AttestationKeyError,
    AttestationLogError,
    AttestationStoreError,
    AttestationWitnessError,
)

__all__ = [
    "IDENTITY_KEY_PREDICATE",
    "SERVICE_NAME",
    "GrpcServer",
    "GrpcTls",
    "create_grpc_server",
    "identity_statement",
]

SERVICE_NAME: Final = "attestation.AttestationAuthority"
IDENTITY_KEY_PREDICATE: Final = "https://universal-attestation-authority.dev/identity-key/v1"
"""Predicate type of the statements built from the architecture's request fields."""
MAX_IDENTITY_CHARS: Final = 1024
MAX_PUBLIC_KEY_BYTES: Final = 16 * 1024
MAX_VALIDITY_SECONDS: Final = 100 * 366 * 24 * 3600

_log = get_logger("universal_attestation_authority.grpc")

MessageT = TypeVar("MessageT")


class _AbortError(Exception):
    """A gRPC status to end the call with."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Malformed:
    """A request whose bytes are not the message: answered INVALID_ARGUMENT, not INTERNAL."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _decoder(
    message: Callable[[bytes], MessageT],
) -> Callable[[bytes], MessageT | _Malformed]:
    # grpcio answers a deserializer exception with INTERNAL; a malformed request
    # is the client's fault, so it is handed to the method and refused there.
    def decode(data: bytes) -> MessageT | _Malformed:
        try:
            return message(data)
        except DecodeError as exc:
            return _Malformed(str(exc) or "not a valid protobuf message")

    return decode


def _decoded(request: MessageT | _Malformed, name: str) -> MessageT:
    if isinstance(request, _Malformed):
        raise AttestationInputError(
            f"malformed {name}: {request.reason}", hint="send a message of attestation.proto"
        )
    return request


def identity_statement(identity: str, public_key: bytes, validity_seconds: int) -> Statement:
    """The Statement the architecture's request means: ``identity`` holds ``public_key``.

    The subject is ``identity`` with the SHA-256 of the key bytes; the predicate
    records the key (base64) and the requested validity in seconds.

    Raises:
        AttestationInputError: an empty or oversized identity or key.
    """
    if not identity or len(identity) > MAX_IDENTITY_CHARS:
        raise AttestationInputError(
            f"identity must be 1..{MAX_IDENTITY_CHARS} characters",
            hint="set identity (or statement_json instead of the identity fields)",
        )
    if not public_key or len(public_key) > MAX_PUBLIC_KEY_BYTES:
        raise AttestationInputError(
            f"public_key must be 1..{MAX_PUBLIC_KEY_BYTES} bytes", hint="send the key (PEM or raw)"
        )
    if validity_seconds > MAX_VALIDITY_SECONDS:
        raise AttestationInputError(
            f"validity_seconds is larger than {MAX_VALIDITY_SECONDS}", hint="100 years at most"
        )
    subject = ResourceDescriptor(
        name=identity, digest={"sha256": hashlib.sha256(public_key).hexdigest()}
    )
    predicate = {
        "identity": identity,
        "publicKey": base64.b64encode(public_key).decode(),
        "validitySeconds": validity_seconds,
    }
    return Statement.build([subject], IDENTITY_KEY_PREDICATE, predicate)


def _statement(request: pb.AttestationRequest) -> tuple[Statement, list[str]]:
    if request.statement_json:
        if request.identity or request.public_key or request.validity_seconds:
            raise AttestationInputError(
                "statement_json excludes identity, public_key and validity_seconds",
                hint="send either an in-toto statement or the identity fields",
            )
        document = loads_json_strict(request.statement_json, what="statement_json")
        try:
            body = IssueRequest.model_validate({"statement": document, "keys": list(request.keys)})
        except pydantic.ValidationError as exc:
            raise _invalid(exc) from None
        return Statement.parse(body.statement, source="statement"), body.keys
    try:
        body = IssueRequest.model_validate({"statement": {}, "keys": list(request.keys)})
    except pydantic.ValidationError as exc:
        raise _invalid(exc) from None
    statement = identity_statement(
        request.identity, bytes(request.public_key), request.validity_seconds
    )
    return statement, body.keys


def _invalid(exc: pydantic.ValidationError) -> AttestationInputError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return AttestationInputError(f"{where}: {first.get('msg')}", hint="see docs/API.md (gRPC)")


def _status(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The gRPC status of an error, as the HTTP API maps it to an HTTP status."""
    if isinstance(exc, _AbortError):
        return exc.code, exc.message
    if isinstance(exc, CoreError):
        text = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
        if isinstance(exc, AttestationAuthError):
            return grpc.StatusCode.UNAUTHENTICATED, text
        if isinstance(exc, AttestationInputError | ValidationError):
            return grpc.StatusCode.INVALID_ARGUMENT, text
        if isinstance(exc, AttestationLogError):
            return grpc.StatusCode.NOT_FOUND, text
        if isinstance(exc, AttestationKeyError):
            return grpc.StatusCode.FAILED_PRECONDITION, text
        if isinstance(exc, AttestationWitnessError | AttestationStoreError):
            return grpc.StatusCode.UNAVAILABLE, text
        return grpc.StatusCode.INTERNAL, text
    _log.error("internal error in a gRPC call", error=repr(exc))
    return grpc.StatusCode.INTERNAL, "internal error"


def _peer_host(peer: str) -> str:
    """``ipv4:1.2.3.4:5678`` -> ``1.2.3.4``; ``ipv6:[::1]:5678`` -> ``::1``."""
    _, _, address = peer.partition(":")
    if address.startswith("["):
        return address[1 : address.find("]")]
    host, _, _ = address.rpartition(":")
    return host or address or "unknown"


def _client_certificate(context: grpc.ServicerContext) -> tuple[str | None, int | None]:
    """``(SHA-256 hex, serial)`` of the verified client certificate, or ``(None, None)``."""
    # grpcio: {property name: [values]}; the stubs type the values as bytes.
    certs = cast("list[bytes] | None", context.auth_context().get("x509_pem_cert"))
    if not certs:
        return None, None
    der = ssl.PEM_cert_to_DER_cert(certs[0].decode("ascii"))
    return hashlib.sha256(der).hexdigest(), certificate_serial(der)


class AttestationAuthorityServicer:
    """The servicer; every call runs in grpcio's worker threads."""

    def __init__(
        self,
        authority: Authority,
        config: ServiceConfig,
        group: GroupCommit,
        limiter: TokenBucket,
    ) -> None:
        self.authority = authority
        self.config = config
        self.group = group
        self.limiter = limiter

    def _authorize(self, context: grpc.ServicerContext) -> None:
        metadata = dict(context.invocation_metadata())
        authorization = metadata.get("authorization")
        if isinstance(authorization, bytes):
            authorization = None
        fingerprint, serial = (
            _client_certificate(context) if self.config.mtls_issuing else (None, None)
        )
        authorize_issuer(self.config, authorization, fingerprint, serial)
        wait = self.limiter.take(_peer_host(context.peer()))
        if wait:
            raise _AbortError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"too many issuing requests; retry in {max(1, int(wait + 0.999))} s",
            )

    def CreateAttestation(  # noqa: N802 (the proto's method name)
        self, request: pb.AttestationRequest | _Malformed, context: grpc.ServicerContext
    ) -> pb.AttestationResponse:
        try:
            self._authorize(context)
            statement, keys = _statement(_decoded(request, "AttestationRequest"))
            issued, bundle, published = issue_statement(self.authority, self.group, statement, keys)
            envelope = bundle.envelope
            return pb.AttestationResponse(
                attestation=envelope.to_json().encode("utf-8"),
                attestation_id=issued.id,
                log_index=issued.log_index,
                published=published,
                bundle=bundle.to_json().encode("utf-8"),
                key_ids=[s.keyid or "" for s in envelope.signatures],
                statement=envelope.payload,
                payload_type=envelope.payload_type,
            )
        except Exception as exc:  # every failure becomes a status, never a crash
            _abort(context, exc)

    def VerifyAttestation(  # noqa: N802 (the proto's method name)
        self, request: pb.VerificationRequest | _Malformed, context: grpc.ServicerContext
    ) -> pb.VerificationResponse:
        try:
            request = _decoded(request, "VerificationRequest")
            document = loads_json_strict(request.bundle, what="bundle")
            try:
                body = VerifyRequest.model_validate({"bundle": document, "policy": request.policy})
            except pydantic.ValidationError as exc:
                raise _invalid(exc) from None
            policy = Policy.loads(body.policy, source="policy", allow_files=False)
            bundle = Bundle.from_dict(body.bundle)
            now = parse_time(request.at, field="at") if request.at else None
            verdict = verify_bundle(bundle, policy, now=now)
            response = pb.VerificationResponse(
                verified=verdict.ok,
                attestation_id=verdict.attestation_id,
                rule=verdict.rule or "",
                signers=list(verdict.signers),
                signing_time=verdict.to_dict()["signing_time"],
                time_source=verdict.time_source,
                failed_rule=verdict.failures[0].sentence() if verdict.failures else "",
                failures=[
                    pb.Failure(rule=f.rule, check=f.check, detail=f.detail)
                    for f in verdict.failures
                ],
                predicate_type=verdict.statement.predicate_type if verdict.statement else "",
            )
            if verdict.log_index is not None:
                response.log_index = verdict.log_index
            return response
        except Exception as exc:  # every failure becomes a status, never a crash
            _abort(context, exc)


def _abort(context: grpc.ServicerContext, exc: BaseException) -> NoReturn:
    code, message = _status(exc)
    context.abort(code, message)


class CertificateSource(Protocol):
    """A server certificate that may change while serving (renewed before it expires)."""

    def current(self) -> tuple[int, bytes, bytes]:
        """``(version, certificate PEM, key PEM)``; the version grows with every renewal."""


@dataclass(frozen=True)
class GrpcTls:
    """Server TLS: PEM certificate chain and key; with ``client_ca``, clients must present
    a certificate from it (gRPC has no optional client certificates).

    With ``source`` (the authority's CA-issued certificate), the certificate is
    asked for at every handshake and replaced when it was renewed; ``cert``
    and ``key`` are then the first one.
    """

    cert: bytes
    key: bytes
    client_ca: bytes | None = None
    source: CertificateSource | None = None

    @classmethod
    def from_files(cls, cert: str | Path, key: str | Path, client_ca: str | Path | None) -> GrpcTls:
        try:
            return cls(
                Path(cert).read_bytes(),
                Path(key).read_bytes(),
                Path(client_ca).read_bytes() if client_ca is not None else None,
            )
        except OSError as exc:
            raise AttestationInputError(
                f"cannot read a TLS file {exc.filename!r}: {exc.strerror}",
                hint="check tls_cert, tls_key and tls_client_ca",
            ) from None

    def server_only(self) -> GrpcTls:
        """The same server certificate without client certificates (the public listener)."""
        return GrpcTls(self.cert, self.key, None, self.source)

    def _configuration(self, cert: bytes, key: bytes) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration(
            [(key, cert)], root_certificates=self.client_ca
        )

    def fetcher(self) -> Callable[[], grpc.ServerCertificateConfiguration | None]:
        """What grpcio calls at each handshake: a new configuration after a renewal, else None."""
        source = self.source
        seen = [source.current()[0] if source is not None else 0]

        def fetch() -> grpc.ServerCertificateConfiguration | None:
            if source is None:
                return None
            version, cert, key = source.current()
            if version == seen[0]:
                return None
            seen[0] = version
            return self._configuration(cert, key)

        return fetch

    def credentials(self) -> grpc.ServerCredentials:
        if self.source is not None:
            _, cert, key = self.source.current()
            # grpcio documents None from the fetcher as "keep the current one";
            # its stubs do not say so.
            fetch = cast("Callable[[], grpc.ServerCertificateConfiguration]", self.fetcher())
            return grpc.dynamic_ssl_server_credentials(
                self._configuration(cert, key),
                fetch,
                require_client_authentication=self.client_ca is not None,
            )
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)],
            root_certificates=self.client_ca,
            require_client_auth=self.client_ca is not None,
        )


class GrpcServer:
    """A started grpcio server; ``port`` is the bound port; a context manager.

    ``public_port`` is the second listener's port, if one was asked for: the
    same service with server-only TLS, for clients without a certificate
    (verification is public) when the main port requires client certificates.
    """

    def __init__(
        self,
        server: grpc.Server,
        port: int,
        health: health.HealthServicer,
        public_port: int | None = None,
    ) -> None:
        self.server = server
        self.port = port
        self.health = health
        self.public_port = public_port

    def stop(self, grace: float | None = 2.0) -> None:
        """Report NOT_SERVING, finish in-flight calls (up to ``grace`` s) and stop."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()

    def wait(self) -> None:
        self.server.wait_for_termination()

    def __enter__(self) -> GrpcServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def create_grpc_server(
    authority: Authority,
    config: ServiceConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: GrpcTls | None = None,
    group: GroupCommit | None = None,
    limiter: TokenBucket | None = None,
    max_workers: int = 16,
    public_port: int | None = None,
) -> GrpcServer:
    """Start serving ``authority`` over gRPC on ``host:port`` (0: a free port).

    Pass the HTTP app's ``group`` and ``limiter`` (see ``create_app``) to share them.

    Verification is public (issue #5: only issuing is authenticated), but
    grpcio cannot ask for a client certificate without requiring one: with
    ``tls.client_ca`` every call on ``port`` needs a certificate from it.
    ``public_port`` (0: a free port) adds a listener on the same server with
    server-only TLS (plaintext without ``tls``) where ``VerifyAttestation``
    and health need nothing and ``CreateAttestation`` needs a bearer token.

    Raises:
        AttestationInputError: the address cannot be bound.
    """
    cfg = config or ServiceConfig()
    limit = cfg.max_request_bytes
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="uaa-grpc"),
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", max(limit, 16 * 1024 * 1024)),
            ("grpc.so_reuseport", 0),
        ],
        maximum_concurrent_rpcs=max_workers * 8,
    )
    servicer = AttestationAuthorityServicer(
        authority,
        cfg,
        group or GroupCommit(authority),
        limiter or TokenBucket(cfg.rate_limit, cfg.rate_burst),
    )
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "CreateAttestation": grpc.unary_unary_rpc_method_handler(
            servicer.CreateAttestation,
            request_deserializer=_decoder(pb.AttestationRequest.FromString),
            response_serializer=pb.AttestationResponse.SerializeToString,
        ),
        "VerifyAttestation": grpc.unary_unary_rpc_method_handler(
            servicer.VerifyAttestation,
            request_deserializer=_decoder(pb.VerificationRequest.FromString),
            response_serializer=pb.VerificationResponse.SerializeToString,
        ),
    }
    # As the generated add_AttestationAuthorityServicer_to_server does, with lenient decoding.
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    bound = _bind(server, host, port, tls)
    public = None
    if public_port is not None:
        public = _bind(server, host, public_port, tls.server_only() if tls is not None else None)
    server.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    _log.info(
        "gRPC service listening",
        address=f"{host}:{bound}",
        tls=tls is not None,
        client_certificates=tls is not None and tls.client_ca is not None,
        public_port=public,
    )
    return GrpcServer(server, bound, health_servicer, public)


def _bind(server: grpc.Server, host: str, port: int, tls: GrpcTls | None) -> int:
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        bound = (
            server.add_secure_port(address, tls.credentials())
            if tls is not None
            else server.add_insecure_port(address)
        )
    except RuntimeError as exc:
        bound, reason = 0, str(exc)
    else:
        reason = "port in use or address not available"
    if not bound:
        raise AttestationInputError(
            f"cannot listen for gRPC on {address}: {reason}", hint="choose another --grpc-port"
        )
    return bound

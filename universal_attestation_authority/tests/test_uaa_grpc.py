"""The gRPC API (attestation.AttestationAuthority) with a real grpcio client on loopback."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shared_core.crypto import Envelope
from universal_attestation_authority import Authority, Bundle, ServiceConfig, create_app
from universal_attestation_authority._grpc import (
    IDENTITY_KEY_PREDICATE,
    SERVICE_NAME,
    GrpcServer,
    GrpcTls,
    create_grpc_server,
)
from universal_attestation_authority._limits import TokenBucket
from universal_attestation_authority._proto import attestation_pb2 as pb
from universal_attestation_authority._proto import attestation_pb2_grpc as pb_grpc
from universal_attestation_authority._service import GroupCommit
from universal_attestation_authority._statement import PAYLOAD_TYPE
from universal_attestation_authority.testing import ServerThread, policy_for, sample_statement

TOKEN = "grpc-s3cret"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
LIMIT = 64 * 1024


@pytest.fixture
def authority(tmp_path: Path) -> Iterator[Authority]:
    auth = Authority.init(tmp_path / "auth", "grpc.example/log")
    yield auth
    auth.close()


def config(**overrides: object) -> ServiceConfig:
    values: dict[str, object] = {
        "api_tokens": (f"sha256:{hashlib.sha256(TOKEN.encode()).hexdigest()}",),
        "max_request_bytes": LIMIT,
        "publish_retry_seconds": 0,
    }
    values.update(overrides)
    return ServiceConfig.model_validate(values)


@pytest.fixture
def server(authority: Authority) -> Iterator[GrpcServer]:
    with create_grpc_server(authority, config()) as running:
        yield running


@pytest.fixture
def channel(server: GrpcServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as chan:
        yield chan


@pytest.fixture
def stub(channel: grpc.Channel) -> pb_grpc.AttestationAuthorityStub:
    return pb_grpc.AttestationAuthorityStub(channel)


def statement_request(**kwargs: object) -> pb.AttestationRequest:
    return pb.AttestationRequest(
        statement_json=json.dumps(sample_statement(**kwargs).to_json_dict()),  # type: ignore[arg-type]
    )


class TestCreateAndVerify:
    def test_statement_is_issued_logged_and_verifies(
        self, authority: Authority, stub: pb_grpc.AttestationAuthorityStub
    ) -> None:
        """CreateAttestation signs and logs; VerifyAttestation passes it under the policy."""
        created = stub.CreateAttestation(statement_request(), metadata=AUTH, timeout=10)
        assert created.error == ""
        assert created.log_index == 0
        assert created.published
        assert created.payload_type == PAYLOAD_TYPE
        assert list(created.key_ids) == [r.keyid for r in authority.keyring]
        bundle = Bundle.from_json(created.bundle)
        assert bundle.log is not None
        assert bundle.envelope.to_json().encode() == created.attestation
        assert bundle.envelope.payload == created.statement
        assert authority.bundle(created.attestation_id).envelope == bundle.envelope

        verified = stub.VerifyAttestation(
            pb.VerificationRequest(bundle=created.bundle, policy=policy_for(authority)),
            timeout=10,
        )
        assert verified.verified
        assert verified.rule == "provenance"
        assert verified.attestation_id == created.attestation_id
        assert verified.time_source == "log"
        assert verified.HasField("log_index")
        assert verified.log_index == 0
        assert list(verified.signers) == ["attestation-1"]
        assert verified.failed_rule == ""
        # a bare envelope verifies without the log when the policy does not require it
        bare = stub.VerifyAttestation(
            pb.VerificationRequest(
                bundle=created.attestation, policy=policy_for(authority, log_required=False)
            )
        )
        assert bare.verified
        assert bare.time_source == "verifier-clock"
        assert not bare.HasField("log_index")

    def test_architecture_fields_attest_an_identity_key(
        self, authority: Authority, stub: pb_grpc.AttestationAuthorityStub
    ) -> None:
        """identity + public_key + validity_seconds become a statement about that key."""
        key = b"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA...\n-----END PUBLIC KEY-----\n"
        created = stub.CreateAttestation(
            pb.AttestationRequest(
                identity="spiffe://example.org/builder", public_key=key, validity_seconds=3600
            ),
            metadata=AUTH,
        )
        statement = json.loads(created.statement)
        assert statement["predicateType"] == IDENTITY_KEY_PREDICATE
        assert statement["subject"] == [
            {
                "name": "spiffe://example.org/builder",
                "digest": {"sha256": hashlib.sha256(key).hexdigest()},
            }
        ]
        assert statement["predicate"]["validitySeconds"] == 3600
        policy = policy_for(
            authority,
            predicate_types=(IDENTITY_KEY_PREDICATE,),
            subjects=("spiffe://example.org/*",),
        )
        verdict = stub.VerifyAttestation(
            pb.VerificationRequest(bundle=created.bundle, policy=policy)
        )
        assert verdict.verified
        assert verdict.predicate_type == IDENTITY_KEY_PREDICATE

    def test_failed_verification_names_the_rule(
        self, authority: Authority, stub: pb_grpc.AttestationAuthorityStub
    ) -> None:
        """A policy that does not cover the subject: verified false, the rule and check named."""
        created = stub.CreateAttestation(statement_request(), metadata=AUTH)
        verdict = stub.VerifyAttestation(
            pb.VerificationRequest(
                bundle=created.bundle, policy=policy_for(authority, subjects=("src/*",))
            )
        )
        assert not verdict.verified
        assert verdict.failed_rule.startswith("rule 'provenance': subjects:")
        assert [(f.rule, f.check) for f in verdict.failures] == [("provenance", "subjects")]

    def test_health_service(self, server: GrpcServer, channel: grpc.Channel) -> None:
        """grpc.health.v1 reports SERVING for the server and the service, NOT_SERVING on stop."""
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", SERVICE_NAME):
            answer = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as unknown:
            health.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=5)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        server.health.enter_graceful_shutdown()
        answer = health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.NOT_SERVING


def test_cli_serve_grpc_port(tmp_path: Path) -> None:
    """`uaa serve --grpc-port 0` serves gRPC beside HTTP; the token setting applies to both."""
    env = {
        **os.environ,
        "UNIVERSAL_ATTESTATION_AUTHORITY_DATA_DIR": str(tmp_path / "auth"),
        "UNIVERSAL_ATTESTATION_AUTHORITY_API_TOKENS": json.dumps([TOKEN]),
    }
    Authority.init(tmp_path / "auth", "cli.example/log").close()
    command = [sys.executable, "-m", "universal_attestation_authority"]
    process = subprocess.Popen(
        [*command, "--port", "0", "serve", "--grpc-port", "0"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.startswith("gRPC API on 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        with grpc.insecure_channel(f"127.0.0.1:{port}") as chan:
            stub = pb_grpc.AttestationAuthorityStub(chan)
            created = stub.CreateAttestation(statement_request(), metadata=AUTH, timeout=10)
            assert created.published
            with pytest.raises(grpc.RpcError) as refused:
                stub.CreateAttestation(statement_request(content=b"other"), timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)
        if process.stderr is not None:
            process.stderr.close()


def code_of(call: object, request: object, **kwargs: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as failed:
        call(request, timeout=10, **kwargs)  # type: ignore[operator]
    code: grpc.StatusCode = failed.value.code()  # type: ignore[attr-defined]
    return code


class TestStatusCodes:
    def test_authentication(self, stub: pb_grpc.AttestationAuthorityStub) -> None:
        """No token, a wrong token, a non-Bearer scheme: UNAUTHENTICATED; verify stays open."""
        create = stub.CreateAttestation
        assert code_of(create, statement_request()) == grpc.StatusCode.UNAUTHENTICATED
        for value in ("Bearer wrong", f"Basic {TOKEN}", "Bearer "):
            assert (
                code_of(create, statement_request(), metadata=(("authorization", value),))
                == grpc.StatusCode.UNAUTHENTICATED
            )
        # credentials are checked before the request is looked at
        assert (
            code_of(create, pb.AttestationRequest(statement_json="{"))
            == grpc.StatusCode.UNAUTHENTICATED
        )

    @pytest.mark.parametrize(
        "request_fields",
        [
            {"statement_json": "not json"},
            {"statement_json": "[]"},
            {"statement_json": "{}"},
            {"statement_json": '{"_type": "a", "_type": "b"}'},
            {"statement_json": json.dumps(sample_statement().to_json_dict()), "identity": "x"},
            {"identity": "", "public_key": b"k"},
            {"identity": "someone"},
            {"identity": "someone", "public_key": b"k", "validity_seconds": 2**63},
            {"identity": "x" * 2000, "public_key": b"k"},
            {"identity": "someone", "public_key": b"k", "keys": ["k"] * 17},
            {"identity": "someone", "public_key": b"k", "keys": [""]},
        ],
    )
    def test_malformed_create(
        self,
        authority: Authority,
        stub: pb_grpc.AttestationAuthorityStub,
        request_fields: dict[str, object],
    ) -> None:
        """Every malformed CreateAttestation is INVALID_ARGUMENT and issues nothing."""
        request = pb.AttestationRequest(**request_fields)  # type: ignore[arg-type]
        assert (
            code_of(stub.CreateAttestation, request, metadata=AUTH)
            == grpc.StatusCode.INVALID_ARGUMENT
        )
        assert authority.log.size == 0

    def test_malformed_verify(
        self, authority: Authority, stub: pb_grpc.AttestationAuthorityStub
    ) -> None:
        """Garbage bundles, non-objects, bad policies, file references, bad times: INVALID_ARGUMENT."""
        good = stub.CreateAttestation(statement_request(), metadata=AUTH).bundle
        policy = policy_for(authority)
        cases = [
            pb.VerificationRequest(bundle=b"\xff\xfe", policy=policy),
            pb.VerificationRequest(bundle=b"[1]", policy=policy),
            pb.VerificationRequest(bundle=b'{"payload": 1}', policy=policy),
            pb.VerificationRequest(bundle=good, policy=""),
            pb.VerificationRequest(bundle=good, policy="rules = [[["),
            pb.VerificationRequest(bundle=good, policy='keyring = "/etc/passwd"\n' + policy),
            pb.VerificationRequest(bundle=good, policy=policy, at="yesterday"),
        ]
        for request in cases:
            assert code_of(stub.VerifyAttestation, request) == grpc.StatusCode.INVALID_ARGUMENT, (
                request
            )

    def test_undecodable_bytes(self, channel: grpc.Channel) -> None:
        """Bytes that are not the protobuf message: INVALID_ARGUMENT, and the server lives on."""
        for method in ("CreateAttestation", "VerifyAttestation"):
            raw = channel.unary_unary(f"/{SERVICE_NAME}/{method}")
            assert code_of(raw, b"\xff\xff\xff", metadata=AUTH) == grpc.StatusCode.INVALID_ARGUMENT
        stub = pb_grpc.AttestationAuthorityStub(channel)
        assert stub.CreateAttestation(statement_request(), metadata=AUTH).log_index == 0

    def test_oversized_requests(
        self, authority: Authority, stub: pb_grpc.AttestationAuthorityStub
    ) -> None:
        """A message over max_request_bytes is RESOURCE_EXHAUSTED before any work."""
        big = sample_statement(predicate={"blob": "x" * LIMIT})
        request = pb.AttestationRequest(statement_json=json.dumps(big.to_json_dict()))
        assert (
            code_of(stub.CreateAttestation, request, metadata=AUTH)
            == grpc.StatusCode.RESOURCE_EXHAUSTED
        )
        verify = pb.VerificationRequest(bundle=b"{}" + b" " * LIMIT, policy="x")
        assert code_of(stub.VerifyAttestation, verify) == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert authority.log.size == 0
        # just under the limit is fine
        fits = sample_statement(predicate={"blob": "x" * (LIMIT // 2)})
        ok = pb.AttestationRequest(statement_json=json.dumps(fits.to_json_dict()))
        assert stub.CreateAttestation(ok, metadata=AUTH, timeout=10).log_index == 0

    def test_rate_limit(self, authority: Authority) -> None:
        """Past the burst, issuing is RESOURCE_EXHAUSTED (the HTTP API's 429)."""
        cfg = config(rate_limit=0.001, rate_burst=2)
        with (
            create_grpc_server(authority, cfg) as running,
            grpc.insecure_channel(f"127.0.0.1:{running.port}") as chan,
        ):
            stub = pb_grpc.AttestationAuthorityStub(chan)
            for n in range(2):
                stub.CreateAttestation(
                    statement_request(content=bytes([n])), metadata=AUTH, timeout=10
                )
            assert (
                code_of(stub.CreateAttestation, statement_request(content=b"3"), metadata=AUTH)
                == grpc.StatusCode.RESOURCE_EXHAUSTED
            )
        assert authority.log.size == 2

    def test_key_state_is_failed_precondition(
        self, authority: Authority, stub: pb_grpc.AttestationAuthorityStub
    ) -> None:
        """Naming an unknown or revoked key: FAILED_PRECONDITION (HTTP 409)."""
        authority.generate_key("spare")
        authority.revoke("spare")
        for keys in (["spare"], ["no-such-key"]):
            request = pb.AttestationRequest(
                statement_json=json.dumps(sample_statement().to_json_dict()), keys=keys
            )
            assert (
                code_of(stub.CreateAttestation, request, metadata=AUTH)
                == grpc.StatusCode.FAILED_PRECONDITION
            )


class TestSameAsHttp:
    def test_byte_identical_envelopes(self, tmp_path: Path) -> None:
        """Two copies of one authority: HTTP and gRPC sign the same request into the same bytes."""
        Authority.init(tmp_path / "a", "same.example/log").close()
        shutil.copytree(tmp_path / "a", tmp_path / "b")
        cfg = config()
        statements = [sample_statement(content=bytes([n]) * 8) for n in range(3)]
        with (
            Authority(tmp_path / "a") as via_http,
            Authority(tmp_path / "b") as via_grpc,
            ServerThread(create_app(via_http, cfg)) as http_server,
            create_grpc_server(via_grpc, cfg) as grpc_server,
            grpc.insecure_channel(f"127.0.0.1:{grpc_server.port}") as chan,
            httpx.Client(base_url=http_server.url, timeout=10) as client,
        ):
            stub = pb_grpc.AttestationAuthorityStub(chan)
            for statement in statements:
                answer = client.post(
                    "/api/v1/attestations",
                    json={"statement": statement.to_json_dict()},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                assert answer.status_code == 201, answer.text
                body = answer.json()
                created = stub.CreateAttestation(
                    pb.AttestationRequest(statement_json=json.dumps(statement.to_json_dict())),
                    metadata=AUTH,
                    timeout=10,
                )
                http_envelope = Envelope.from_dict(body["bundle"]["dsseEnvelope"])
                assert created.attestation == http_envelope.to_json().encode()
                assert json.loads(created.attestation) == body["bundle"]["dsseEnvelope"]
                assert created.attestation_id == body["id"]
                assert created.log_index == body["log_index"]
                assert created.published is body["published"]

    def test_shared_group_and_limiter(self, authority: Authority) -> None:
        """Both APIs on one authority share the batcher and the per-client rate budget."""
        cfg = config(rate_limit=0.001, rate_burst=2)
        group, limiter = GroupCommit(authority), TokenBucket(cfg.rate_limit, cfg.rate_burst)
        with (
            ServerThread(create_app(authority, cfg, group=group, limiter=limiter)) as http_server,
            create_grpc_server(authority, cfg, group=group, limiter=limiter) as grpc_server,
            grpc.insecure_channel(f"127.0.0.1:{grpc_server.port}") as chan,
            httpx.Client(base_url=http_server.url, timeout=10) as client,
        ):
            stub = pb_grpc.AttestationAuthorityStub(chan)
            created = stub.CreateAttestation(statement_request(), metadata=AUTH, timeout=10)
            fetched = client.get(f"/api/v1/attestations/{created.attestation_id}").json()
            assert json.loads(created.attestation) == fetched["dsseEnvelope"]
            headers = {"Authorization": f"Bearer {TOKEN}"}
            second = sample_statement(content=b"second").to_json_dict()
            assert (
                client.post("/api/v1/attestations", json={"statement": second}, headers=headers)
            ).status_code == 201
            # the budget of 2 is spent across both APIs
            assert (
                code_of(stub.CreateAttestation, statement_request(content=b"3"), metadata=AUTH)
                == grpc.StatusCode.RESOURCE_EXHAUSTED
            )
        assert authority.log.size == 2


def _cert(
    name: str,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> tuple[bytes, bytes, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key, cert, key


class TestTls:
    def test_tls_and_client_certificates(self, authority: Authority) -> None:
        """TLS with a client CA: a CA-signed client certificate issues without a token;
        a certificate outside the allow list needs a token; no certificate, no connection."""
        ca_pem, _, ca_cert, ca_key = _cert("uaa grpc CA", None, ca=True)
        server_pem, server_key, _, _ = _cert("localhost", (ca_cert, ca_key), server=True)
        client_pem, client_key, client_cert, _ = _cert("builder", (ca_cert, ca_key))
        other_pem, other_key, _, _ = _cert("other", (ca_cert, ca_key))
        allowed = hashlib.sha256(client_cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        cfg = config(mtls_issuing=True, client_cert_fingerprints=(allowed,))
        tls = GrpcTls(server_pem, server_key, ca_pem)
        with create_grpc_server(authority, cfg, tls=tls) as running:
            target = f"127.0.0.1:{running.port}"

            def channel(pem: bytes | None, key: bytes | None) -> grpc.Channel:
                creds = grpc.ssl_channel_credentials(ca_pem, key, pem)
                return grpc.secure_channel(target, creds)

            with channel(client_pem, client_key) as chan:
                stub = pb_grpc.AttestationAuthorityStub(chan)
                assert stub.CreateAttestation(statement_request(), timeout=10).published
            with channel(other_pem, other_key) as chan:
                stub = pb_grpc.AttestationAuthorityStub(chan)
                request = statement_request(content=b"other")
                assert code_of(stub.CreateAttestation, request) == grpc.StatusCode.UNAUTHENTICATED
                assert stub.CreateAttestation(request, metadata=AUTH, timeout=10).log_index == 1
            with channel(None, None) as chan:
                stub = pb_grpc.AttestationAuthorityStub(chan)
                assert (
                    code_of(stub.CreateAttestation, statement_request(), metadata=AUTH)
                    == grpc.StatusCode.UNAVAILABLE
                )
            with grpc.insecure_channel(target) as plain:
                stub = pb_grpc.AttestationAuthorityStub(plain)
                assert (
                    code_of(stub.CreateAttestation, statement_request(), metadata=AUTH)
                    == grpc.StatusCode.UNAVAILABLE
                )
        assert authority.log.size == 2

    def test_server_tls_only(self, authority: Authority) -> None:
        """TLS without a client CA: any client trusting the server's CA, token for issuing."""
        ca_pem, _, ca_cert, ca_key = _cert("uaa grpc CA", None, ca=True)
        server_pem, server_key, _, _ = _cert("localhost", (ca_cert, ca_key), server=True)
        with create_grpc_server(
            authority, config(), tls=GrpcTls(server_pem, server_key)
        ) as running:
            creds = grpc.ssl_channel_credentials(ca_pem)
            with grpc.secure_channel(f"127.0.0.1:{running.port}", creds) as chan:
                stub = pb_grpc.AttestationAuthorityStub(chan)
                assert code_of(stub.CreateAttestation, statement_request()) == (
                    grpc.StatusCode.UNAUTHENTICATED
                )
                assert stub.CreateAttestation(statement_request(), metadata=AUTH).published

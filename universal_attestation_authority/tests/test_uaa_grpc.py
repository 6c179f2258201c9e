"""The gRPC API (attestation.AttestationAuthority) with a real grpcio client on loopback."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from universal_attestation_authority import Authority, Bundle, ServiceConfig
from universal_attestation_authority._grpc import (
    IDENTITY_KEY_PREDICATE,
    SERVICE_NAME,
    GrpcServer,
    create_grpc_server,
)
from universal_attestation_authority._proto import attestation_pb2 as pb
from universal_attestation_authority._proto import attestation_pb2_grpc as pb_grpc
from universal_attestation_authority._statement import PAYLOAD_TYPE
from universal_attestation_authority.testing import policy_for, sample_statement

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

"""The authority's own CA: TLS and mTLS for HTTP and gRPC without prepared files.

Real clients on loopback (grpcio, httpx) verify the server against the CA the
authority created, and fail against another CA.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import queue
import signal
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import grpc
import httpx
import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from universal_attestation_authority import (
    AttestationInputError,
    AttestationTlsError,
    Authority,
    CertificateAuthority,
    ServiceConfig,
    create_app,
)
from universal_attestation_authority._grpc import create_grpc_server
from universal_attestation_authority._proto import attestation_pb2 as pb
from universal_attestation_authority._proto import attestation_pb2_grpc as pb_grpc
from universal_attestation_authority._tls import server_tls
from universal_attestation_authority.cli import main
from universal_attestation_authority.testing import ServerThread, policy_for, sample_statement

TOKEN = "ca-s3cret"
AUTH = (("authorization", f"Bearer {TOKEN}"),)


@pytest.fixture
def authority(tmp_path: Path) -> Iterator[Authority]:
    auth = Authority.init(tmp_path / "auth", "ca.example/log")
    CertificateAuthority.init(auth.data_dir, auth.origin)
    yield auth
    auth.close()


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA shared by the fuzz tests (hypothesis reruns a test body many times)."""
    directory = tmp_path_factory.mktemp("fuzz-ca")
    CertificateAuthority.init(directory, "fuzz.example/log")
    return directory


@pytest.fixture
def rogue_ca(tmp_path: Path) -> CertificateAuthority:
    """Another authority's CA: its certificates must not be trusted, nor it trust ours."""
    return CertificateAuthority.init(tmp_path / "rogue", "rogue.example/log")


def statement_request(content: bytes = b"artifact") -> pb.AttestationRequest:
    return pb.AttestationRequest(
        statement_json=json.dumps(sample_statement(content=content).to_json_dict())
    )


def rpc_code(call: object, request: object, **kwargs: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as failed:
        call(request, timeout=10, **kwargs)  # type: ignore[operator]
    code: grpc.StatusCode = failed.value.code()  # type: ignore[attr-defined]
    return code


class TestCertificateAuthority:
    def test_certificates_chain_to_the_ca_with_the_right_names(self, tmp_path: Path) -> None:
        """Server and client certificates verify under the CA, carry the names and usages."""
        ca = CertificateAuthority.init(tmp_path, "unit.example/log")
        assert stat.S_IMODE(os.stat(tmp_path / "tls" / "ca.key").st_mode) == 0o600
        server = ca.issue_server(["127.0.0.1", "localhost", "api.example.com"], days=2)
        cert = x509.load_pem_x509_certificate(server.cert_pem)
        cert.verify_directly_issued_by(ca.cert)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sans.get_values_for_type(x509.DNSName) == ["localhost", "api.example.com"]
        assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in usage
        lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
        assert 2 * 86400 <= lifetime.total_seconds() <= 2 * 86400 + 600
        client = x509.load_pem_x509_certificate(ca.issue_client("ci-builder").cert_pem)
        client.verify_directly_issued_by(ca.cert)
        usage = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in usage
        reloaded = CertificateAuthority.load(tmp_path)
        assert reloaded.cert == ca.cert

    def test_refusals(self, tmp_path: Path) -> None:
        """A second init, a missing CA, bad names and mismatched files each fail clearly."""
        with pytest.raises(AttestationTlsError, match="has no CA"):
            CertificateAuthority.load(tmp_path)
        ca = CertificateAuthority.init(tmp_path, "unit.example/log")
        with pytest.raises(AttestationTlsError, match="already holds a CA"):
            CertificateAuthority.init(tmp_path, "unit.example/log")
        for bad in ["exa mple.com", "-/..", "", "ünï.example"]:
            with pytest.raises(AttestationInputError):
                ca.issue_server([bad])
        with pytest.raises(AttestationInputError):
            ca.issue_client("")
        other = CertificateAuthority.init(tmp_path / "other", "other.example/log")
        (tmp_path / "tls" / "ca.pem").write_bytes(other.cert_pem)
        with pytest.raises(AttestationTlsError, match="do not belong together"):
            CertificateAuthority.load(tmp_path)
        (tmp_path / "tls" / "ca.pem").write_bytes(b"not a certificate")
        with pytest.raises(AttestationTlsError, match="not usable"):
            CertificateAuthority.load(tmp_path)

    def test_files_override_the_ca(self, authority: Authority, tmp_path: Path) -> None:
        """tls_cert/tls_key from the settings win; without them the CA issues for the host."""
        issued = CertificateAuthority.load(authority.data_dir).issue_server(["10.1.2.3"])
        cert, key = tmp_path / "s.pem", tmp_path / "s.key"
        issued.write(cert, key)
        common = {"client_ca": None, "mtls": False, "host": "127.0.0.1"}
        chosen = server_tls(authority.data_dir, cert=cert, key=key, **common)  # type: ignore[arg-type]
        assert chosen is not None
        assert chosen.source == "files"
        assert chosen.cert_path == cert
        auto = server_tls(
            authority.data_dir,
            cert=None,
            key=None,
            sans=["uaa.internal"],
            **common,  # type: ignore[arg-type]
        )
        assert auto is not None
        assert auto.source == "ca"
        assert auto.names == ("127.0.0.1", "::1", "localhost", "uaa.internal")
        assert stat.S_IMODE(os.stat(auto.cert_path).st_mode) == 0o600
        assert server_tls(tmp_path / "none", cert=None, key=None, **common) is None  # type: ignore[arg-type]


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> x509.Certificate:
    """A TLS handshake in memory (no sockets, no threads); the certificate the server sent."""
    server_in, server_out, client_in, client_out = (ssl.MemoryBIO() for _ in range(4))
    server_side = server.wrap_bio(server_in, server_out, server_side=True)
    client_side = client.wrap_bio(client_in, client_out, server_hostname="localhost")
    done = {"server": False, "client": False}
    for _ in range(20):
        for name, side in (("client", client_side), ("server", server_side)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        server_in.write(client_out.read())
        client_in.write(server_out.read())
        if all(done.values()):
            break
    der = client_side.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


class TestFuzz:
    @settings(max_examples=60, deadline=None)
    @given(st.binary(max_size=400), st.binary(max_size=400))
    def test_ca_files_of_arbitrary_bytes(self, key: bytes, cert: bytes) -> None:
        """Whatever the CA files hold, loading raises AttestationTlsError, never a traceback."""
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp) / "tls"
            directory.mkdir()
            (directory / "ca.key").write_bytes(key)
            (directory / "ca.pem").write_bytes(cert)
            with pytest.raises(AttestationTlsError):
                CertificateAuthority.load(tmp)

    @settings(max_examples=80, deadline=None)
    @given(st.lists(st.text(max_size=40), min_size=1, max_size=3), st.text(max_size=80))
    def test_names_of_arbitrary_text(self, ca_dir: Path, names: list[str], client: str) -> None:
        """Arbitrary SANs and client names give a certificate or AttestationInputError."""
        ca = CertificateAuthority.load(ca_dir)
        with contextlib.suppress(AttestationInputError):
            issued = ca.issue_server(names, days=1)
            x509.load_pem_x509_certificate(issued.cert_pem).verify_directly_issued_by(ca.cert)
        with contextlib.suppress(AttestationInputError):
            issued = ca.issue_client(client, days=1)
            x509.load_pem_x509_certificate(issued.cert_pem).verify_directly_issued_by(ca.cert)


class TestRenewal:
    def test_https_context_follows_renewals(self, authority: Authority) -> None:
        """Two thirds into its life the certificate is re-issued; new handshakes get the new one."""
        tls = server_tls(
            authority.data_dir, cert=None, key=None, client_ca=None, mtls=False, host="127.0.0.1"
        )
        assert tls is not None
        assert tls.renewing is not None
        ca = CertificateAuthority.load(authority.data_dir)
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.attach(server)
        client = _context(ca.cert_pem)
        first = _handshake(server, client)
        assert _handshake(server, client).serial_number == first.serial_number
        renewing = tls.renewing
        assert not renewing.renew_if_due(renewing.renew_at - datetime.timedelta(seconds=1))
        assert renewing.renew_if_due(renewing.renew_at)
        second = _handshake(server, client)
        assert second.serial_number != first.serial_number
        second.verify_directly_issued_by(ca.cert)
        assert second.not_valid_after_utc >= first.not_valid_after_utc
        assert (
            x509.load_pem_x509_certificate(tls.cert_path.read_bytes()).serial_number
            == second.serial_number
        )

    def test_grpc_fetcher_follows_renewals(self, authority: Authority) -> None:
        """grpcio's fetcher hands over a new configuration once per renewal; calls keep working."""
        tls = server_tls(
            authority.data_dir, cert=None, key=None, client_ca=None, mtls=False, host="127.0.0.1"
        )
        assert tls is not None
        assert tls.renewing is not None
        grpc_tls = tls.grpc()
        fetch = grpc_tls.fetcher()
        assert fetch() is None
        assert tls.renewing.renew_if_due(tls.renewing.renew_at)
        assert fetch() is not None
        assert fetch() is None
        ca_pem = CertificateAuthority.load(authority.data_dir).cert_pem
        cfg = ServiceConfig(api_tokens=(TOKEN,), publish_retry_seconds=0)
        with create_grpc_server(authority, cfg, tls=grpc_tls) as running:
            for renewal in range(2):
                creds = grpc.ssl_channel_credentials(ca_pem)
                with grpc.secure_channel(f"127.0.0.1:{running.port}", creds) as chan:
                    stub = pb_grpc.AttestationAuthorityStub(chan)
                    request = statement_request(bytes([renewal]))
                    assert stub.CreateAttestation(request, metadata=AUTH, timeout=10).published
                assert tls.renewing.renew_if_due(tls.renewing.renew_at)
        assert authority.log.size == 2


class TestGrpcWithTheAuthoritysCa:
    def test_mtls_port_and_public_port(
        self, authority: Authority, rogue_ca: CertificateAuthority
    ) -> None:
        """A client certificate from the CA issues without a token; the public port verifies
        without any certificate; clients trusting another CA, or presenting its
        certificates, are refused at the handshake."""
        tls = server_tls(
            authority.data_dir, cert=None, key=None, client_ca=None, mtls=True, host="127.0.0.1"
        )
        assert tls is not None
        assert tls.client_ca_path is not None
        ca = CertificateAuthority.load(authority.data_dir)
        client = ca.issue_client("ci-builder")
        rogue_client = rogue_ca.issue_client("ci-builder")
        cfg = ServiceConfig(api_tokens=(TOKEN,), mtls_issuing=True, publish_retry_seconds=0)
        with create_grpc_server(authority, cfg, tls=tls.grpc(), public_port=0) as running:
            assert running.public_port is not None

            def channel(port: int, root: bytes, pair: tuple[bytes, bytes] | None) -> grpc.Channel:
                key, chain = (pair[1], pair[0]) if pair else (None, None)
                creds = grpc.ssl_channel_credentials(root, key, chain)
                return grpc.secure_channel(f"127.0.0.1:{port}", creds)

            mine = (client.cert_pem, client.key_pem)
            with channel(running.port, ca.cert_pem, mine) as chan:
                stub = pb_grpc.AttestationAuthorityStub(chan)
                created = stub.CreateAttestation(statement_request(), timeout=10)
                assert created.published
                assert created.log_index == 0
            with channel(running.public_port, ca.cert_pem, None) as chan:
                stub = pb_grpc.AttestationAuthorityStub(chan)
                verdict = stub.VerifyAttestation(
                    pb.VerificationRequest(bundle=created.bundle, policy=policy_for(authority)),
                    timeout=10,
                )
                assert verdict.verified
                assert verdict.rule == "provenance"
                request = statement_request(b"public")
                assert rpc_code(stub.CreateAttestation, request) == grpc.StatusCode.UNAUTHENTICATED
                assert stub.CreateAttestation(request, metadata=AUTH, timeout=10).log_index == 1
            # no client certificate on the mTLS port: no connection, even with a token
            with channel(running.port, ca.cert_pem, None) as chan:
                stub = pb_grpc.AttestationAuthorityStub(chan)
                code = rpc_code(stub.CreateAttestation, statement_request(b"x"), metadata=AUTH)
                assert code == grpc.StatusCode.UNAVAILABLE
            # a client trusting another CA does not accept the server
            for port in (running.port, running.public_port):
                with channel(port, rogue_ca.cert_pem, mine) as chan:
                    stub = pb_grpc.AttestationAuthorityStub(chan)
                    code = rpc_code(stub.CreateAttestation, statement_request(b"y"), metadata=AUTH)
                    assert code == grpc.StatusCode.UNAVAILABLE
            # a certificate from another CA is not accepted by the server
            with channel(
                running.port, ca.cert_pem, (rogue_client.cert_pem, rogue_client.key_pem)
            ) as chan:
                stub = pb_grpc.AttestationAuthorityStub(chan)
                code = rpc_code(stub.CreateAttestation, statement_request(b"z"), metadata=AUTH)
                assert code == grpc.StatusCode.UNAVAILABLE
        assert authority.log.size == 2


def _context(ca_pem: bytes, client: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca_pem.decode("ascii"))
    if client is not None:
        context.load_cert_chain(*client)
    return context


class TestHttpsWithTheAuthoritysCa:
    def test_https_and_client_certificates(
        self, authority: Authority, rogue_ca: CertificateAuthority, tmp_path: Path
    ) -> None:
        """httpx trusting the CA reads; its client certificate issues; another CA fails."""
        tls = server_tls(
            authority.data_dir, cert=None, key=None, client_ca=None, mtls=True, host="127.0.0.1"
        )
        assert tls is not None
        ca = CertificateAuthority.load(authority.data_dir)
        client = (tmp_path / "client.pem", tmp_path / "client.key")
        ca.issue_client("ci-builder").write(*client)
        rogue = (tmp_path / "rogue.pem", tmp_path / "rogue.key")
        rogue_ca.issue_client("ci-builder").write(*rogue)
        body = {"statement": sample_statement().to_json_dict()}
        app = create_app(authority, ServiceConfig(mtls_issuing=True, publish_retry_seconds=0))
        with ServerThread(app, **tls.uvicorn_options()) as server:
            assert server.url.startswith("https://")
            with httpx.Client(verify=_context(ca.cert_pem), timeout=30) as anonymous:
                assert anonymous.get(f"{server.url}/healthz").status_code == 200
                assert (
                    anonymous.post(f"{server.url}/api/v1/attestations", json=body).status_code
                    == 401
                )
            with httpx.Client(verify=_context(ca.cert_pem, client), timeout=30) as builder:
                created = builder.post(f"{server.url}/api/v1/attestations", json=body)
                assert created.status_code == 201, created.text
            with (
                httpx.Client(verify=_context(rogue_ca.cert_pem), timeout=30) as wrong,
                pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
            ):
                wrong.get(f"{server.url}/healthz")
            with (
                httpx.Client(verify=_context(ca.cert_pem, rogue), timeout=30) as impostor,
                pytest.raises(httpx.HTTPError),
            ):
                impostor.post(f"{server.url}/api/v1/attestations", json=body)
        assert authority.log.size == 1


def _lines(stream: IO[str]) -> queue.Queue[str]:
    """Lines of ``stream`` as they come, read by a daemon thread (get() with a timeout never hangs)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put("")  # EOF

    threading.Thread(target=pump, daemon=True).start()
    return lines


class TestCli:
    def test_ca_commands_and_serve_over_tls(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`uaa ca init|cert|issue-client` then `uaa serve` with mtls: HTTPS and gRPC from the CA."""
        data = tmp_path / "auth"
        Authority.init(data, "cli-ca.example/log").close()
        base = ["--data-dir", str(data)]
        assert main([*base, "ca", "issue-client", "x"]) == 1
        assert "has no CA" in capsys.readouterr().err
        assert main([*base, "ca", "init"]) == 0
        assert main([*base, "ca", "init"]) == 1
        assert main([*base, "ca", "cert", "--out", str(tmp_path / "ca.pem")]) == 0
        out = tmp_path / "builder.pem"
        assert main([*base, "ca", "issue-client", "builder", "--out", str(out)]) == 0
        assert stat.S_IMODE(os.stat(tmp_path / "builder.key").st_mode) == 0o600
        assert (
            main([*base, "ca", "issue-client", "builder", "--out", str(out)]) == 1
        )  # no overwrite
        capsys.readouterr()
        ca_pem = (tmp_path / "ca.pem").read_bytes()
        env = {
            **os.environ,
            "UNIVERSAL_ATTESTATION_AUTHORITY_DATA_DIR": str(data),
            "UNIVERSAL_ATTESTATION_AUTHORITY_MTLS": "true",
            "UNIVERSAL_ATTESTATION_AUTHORITY_API_TOKENS": json.dumps([TOKEN]),
        }
        from universal_attestation_authority.testing import listening_socket

        sock = listening_socket()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "universal_attestation_authority",
                "serve",
                "--fd",
                str(sock.fileno()),
                "--grpc-port",
                "0",
            ],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
            pass_fds=[sock.fileno()],
        )
        try:
            assert process.stderr is not None
            lines = _lines(process.stderr)
            first = lines.get(timeout=60)
            assert first.startswith("TLS with a certificate from the authority's CA"), first
            line = lines.get(timeout=60)
            assert line.startswith("gRPC API on 127.0.0.1:"), line
            grpc_port = int(line.rsplit(":", 1)[1])
            url = f"https://127.0.0.1:{sock.getsockname()[1]}"
            with httpx.Client(
                verify=_context(ca_pem, (out, tmp_path / "builder.key")), timeout=30
            ) as client:
                body = {"statement": sample_statement().to_json_dict()}
                assert client.post(f"{url}/api/v1/attestations", json=body).status_code == 201
            creds = grpc.ssl_channel_credentials(
                ca_pem, (tmp_path / "builder.key").read_bytes(), out.read_bytes()
            )
            with grpc.secure_channel(f"127.0.0.1:{grpc_port}", creds) as chan:
                stub = pb_grpc.AttestationAuthorityStub(chan)
                assert stub.CreateAttestation(statement_request(b"grpc"), timeout=10).log_index == 1
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()
            sock.close()

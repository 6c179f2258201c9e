"""Mutual TLS: a client certificate from the configured CA may issue; reads stay open."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from universal_attestation_authority import Authority, ServiceConfig, create_app
from universal_attestation_authority._tls import uvicorn_tls_options
from universal_attestation_authority.testing import ServerThread, sample_statement


def issue_cert(
    name: str,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
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
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    return cert, key


def write_pair(
    directory: Path, stem: str, pair: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
) -> tuple[str, str]:
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(pair[0].public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        pair[1].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, tuple[str, str]]:
    ca = issue_cert("uaa test CA", None, ca=True)
    rogue_ca = issue_cert("rogue CA", None, ca=True)
    return {
        "ca": write_pair(tmp_path, "ca", ca),
        "server": write_pair(tmp_path, "server", issue_cert("127.0.0.1", ca, server=True)),
        "client": write_pair(tmp_path, "client", issue_cert("builder", ca)),
        "other": write_pair(tmp_path, "other", issue_cert("other builder", ca)),
        "rogue": write_pair(tmp_path, "rogue", issue_cert("builder", rogue_ca)),
    }


@pytest.fixture
def authority(tmp_path: Path) -> Iterator[Authority]:
    auth = Authority.init(tmp_path / "auth", "mtls.example/log")
    yield auth
    auth.close()


def tls_context(pki: dict[str, tuple[str, str]], client: str | None = None) -> ssl.SSLContext:
    """Trusts the test CA; presents ``client``'s certificate when given."""
    context = ssl.create_default_context(cafile=pki["ca"][0])
    if client is not None:
        context.load_cert_chain(*pki[client])
    return context


def fingerprint(cert_path: str) -> str:
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


class TestMutualTls:
    def test_client_certificate_issues_reads_stay_open(
        self, pki: dict[str, tuple[str, str]], authority: Authority
    ) -> None:
        """A CA-signed client cert issues; no cert is 401 for issuing but fine for reads; a rogue cert fails the handshake."""
        config = ServiceConfig(mtls_issuing=True)
        tls = uvicorn_tls_options(*pki["server"], pki["ca"][0])
        body = {"statement": sample_statement().to_json_dict()}
        with ServerThread(create_app(authority, config), **tls) as server:
            with httpx.Client(verify=tls_context(pki, "client")) as client:
                created = client.post(f"{server.url}/api/v1/attestations", json=body)
            assert created.status_code == 201, created.text
            with httpx.Client(verify=tls_context(pki)) as anonymous:
                assert anonymous.get(f"{server.url}/healthz").status_code == 200
                refused = anonymous.post(f"{server.url}/api/v1/attestations", json=body)
            assert refused.status_code == 401
            assert "client certificate" in refused.json()["error"]
            with (
                httpx.Client(verify=tls_context(pki, "rogue")) as rogue,
                pytest.raises(httpx.HTTPError),
            ):
                rogue.post(f"{server.url}/api/v1/attestations", json=body)
        assert authority.log.size == 1

    def test_fingerprint_allow_list(
        self, pki: dict[str, tuple[str, str]], authority: Authority
    ) -> None:
        """With an allow list, another certificate from the same CA may not issue."""
        config = ServiceConfig(
            mtls_issuing=True, client_cert_fingerprints=(fingerprint(pki["client"][0]),)
        )
        tls = uvicorn_tls_options(*pki["server"], pki["ca"][0])
        body = {"statement": sample_statement().to_json_dict()}
        with ServerThread(create_app(authority, config), **tls) as server:
            with httpx.Client(verify=tls_context(pki, "other")) as other:
                assert other.post(f"{server.url}/api/v1/attestations", json=body).status_code == 401
            with httpx.Client(verify=tls_context(pki, "client")) as allowed:
                assert (
                    allowed.post(f"{server.url}/api/v1/attestations", json=body).status_code == 201
                )

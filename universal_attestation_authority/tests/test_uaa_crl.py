"""The CA's certificate revocation list: revoking a client certificate stops it issuing.

Revocations are written as a real X.509 CRL (checked with ``cryptography``),
a running server re-reads it when it changes, and a CRL that is not the CA's
fails closed.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from universal_attestation_authority import (
    AttestationAuthError,
    AttestationInputError,
    AttestationTlsError,
    Authority,
    CertificateAuthority,
    ServiceConfig,
    create_app,
)
from universal_attestation_authority._ca import CRL_NAME, ClientRevocations, load_crl
from universal_attestation_authority._service import authorize_issuer
from universal_attestation_authority._tls import server_tls
from universal_attestation_authority.cli import main
from universal_attestation_authority.testing import ServerThread, sample_statement


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.init(tmp_path / "auth", "crl.example/log")


def _crl(ca: CertificateAuthority) -> x509.CertificateRevocationList:
    assert ca.directory_path is not None
    return x509.load_pem_x509_crl((ca.directory_path / CRL_NAME).read_bytes())


def _serial(pem: bytes) -> int:
    return x509.load_pem_x509_certificate(pem).serial_number


class TestRevoking:
    def test_the_crl_lists_what_was_revoked_signed_by_the_ca(
        self, ca: CertificateAuthority
    ) -> None:
        first, second = ca.issue_client("first"), ca.issue_client("second")
        assert ca.revoked() == []
        serial = ca.revoke(first.cert_pem, reason="key_compromise")
        assert serial == _serial(first.cert_pem)
        crl = _crl(ca)
        public = ca.cert.public_key()
        assert crl.is_signature_valid(public)  # type: ignore[arg-type]
        assert crl.issuer == ca.cert.subject
        assert crl.next_update_utc is not None
        assert crl.next_update_utc > crl.last_update_utc
        assert [e.serial_number for e in crl] == [serial]
        entry = crl.get_revoked_certificate_by_serial_number(serial)
        assert entry is not None
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        assert reason is x509.ReasonFlags.key_compromise
        assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1
        # Revoking again keeps the first entry and date; a serial number works too.
        ca.revoke(first.cert_pem)
        ca.revoke(_serial(second.cert_pem), reason="superseded")
        again = _crl(ca)
        assert again.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 3
        assert sorted(e.serial_number for e in again) == sorted([serial, _serial(second.cert_pem)])
        kept = again.get_revoked_certificate_by_serial_number(serial)
        assert kept is not None
        assert kept.revocation_date_utc == entry.revocation_date_utc
        assert {e.serial_number for e in ca.revoked()} == {e.serial_number for e in again}

    def test_refusals(self, ca: CertificateAuthority, tmp_path: Path) -> None:
        rogue = CertificateAuthority.init(tmp_path / "rogue", "rogue.example/log")
        with pytest.raises(AttestationInputError, match="not issued by this CA"):
            ca.revoke(rogue.issue_client("x").cert_pem)
        with pytest.raises(AttestationInputError, match="not a PEM certificate"):
            ca.revoke(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        with pytest.raises(AttestationInputError, match="reason"):
            ca.revoke(5, reason="because")
        with pytest.raises(AttestationInputError, match="serial"):
            ca.revoke(0)
        assert ca.directory_path is not None
        assert not (ca.directory_path / CRL_NAME).exists()  # nothing written by a refusal
        # A CRL that is not this CA's is refused when read.
        rogue.revoke(5)
        assert rogue.directory_path is not None
        (ca.directory_path / CRL_NAME).write_bytes((rogue.directory_path / CRL_NAME).read_bytes())
        with pytest.raises(AttestationTlsError, match="not signed by this CA"):
            ca.revoked()


class TestClientRevocations:
    def test_follows_the_file_and_fails_closed(
        self, ca: CertificateAuthority, tmp_path: Path
    ) -> None:
        assert ca.directory_path is not None
        path = ca.directory_path / CRL_NAME
        check = ClientRevocations(path, ca.cert)
        assert not check.is_revoked(7)  # no CRL yet: nothing revoked
        ca.revoke(7)
        assert check.is_revoked(7)
        assert not check.is_revoked(8)
        rogue = CertificateAuthority.init(tmp_path / "rogue", "rogue.example/log")
        rogue.revoke(9)
        assert rogue.directory_path is not None
        path.write_bytes((rogue.directory_path / CRL_NAME).read_bytes())
        assert check.is_revoked(8)  # not the CA's CRL: every certificate refused
        path.write_bytes(b"garbage")
        assert check.is_revoked(8)
        path.unlink()
        assert not check.is_revoked(8)

    def test_authorize_issuer(self, ca: CertificateAuthority) -> None:
        assert ca.directory_path is not None
        ca.revoke(11)
        config = ServiceConfig(
            mtls_issuing=True,
            api_tokens=("t0ken",),
            client_revocations=ClientRevocations(ca.directory_path / CRL_NAME, ca.cert),
        )
        authorize_issuer(config, None, "ab" * 32, 12)  # a valid certificate
        with pytest.raises(AttestationAuthError, match="revoked"):
            authorize_issuer(config, None, "ab" * 32, 11)
        authorize_issuer(config, "Bearer t0ken", "ab" * 32, 11)  # the token still counts
        with pytest.raises(AttestationAuthError, match="revoked"):
            authorize_issuer(config, None, "ab" * 32, None)  # serial unknown: refused


def _context(ca_pem: bytes, client: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca_pem.decode("ascii"))
    context.load_cert_chain(*client)
    return context


class TestOverHttps:
    def test_a_revoked_client_certificate_stops_issuing(self, tmp_path: Path) -> None:
        authority = Authority.init(tmp_path / "auth", "crl-https.example/log")
        ca = CertificateAuthority.init(authority.data_dir, authority.origin)
        tls = server_tls(
            authority.data_dir, cert=None, key=None, client_ca=None, mtls=True, host="127.0.0.1"
        )
        assert tls is not None
        assert ca.directory_path is not None
        kept, lost = (
            (tmp_path / "kept.pem", tmp_path / "kept.key"),
            (
                tmp_path / "lost.pem",
                tmp_path / "lost.key",
            ),
        )
        ca.issue_client("kept").write(*kept)
        ca.issue_client("lost").write(*lost)
        config = ServiceConfig(
            mtls_issuing=True,
            publish_retry_seconds=0,
            client_revocations=ClientRevocations(ca.directory_path / CRL_NAME, ca.cert),
        )
        url = "/api/v1/attestations"
        with ServerThread(create_app(authority, config), **tls.uvicorn_options()) as server:
            with httpx.Client(verify=_context(ca.cert_pem, lost), timeout=30) as client:
                body = {"statement": sample_statement(content=b"before").to_json_dict()}
                assert client.post(server.url + url, json=body).status_code == 201
            ca.revoke(lost[0].read_bytes(), reason="key_compromise")
            with httpx.Client(verify=_context(ca.cert_pem, lost), timeout=30) as client:
                body = {"statement": sample_statement(content=b"after").to_json_dict()}
                refused = client.post(server.url + url, json=body)
                assert refused.status_code == 401
                assert "revoked" in refused.json()["error"]
                assert client.get(server.url + "/healthz").status_code == 200  # reads stay open
            with httpx.Client(verify=_context(ca.cert_pem, kept), timeout=30) as client:
                body = {"statement": sample_statement(content=b"kept").to_json_dict()}
                assert client.post(server.url + url, json=body).status_code == 201
        assert authority.log.size == 2
        authority.close()


class TestCli:
    def test_revoke_and_crl_commands(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        data = tmp_path / "auth"
        Authority.init(data, "crl-cli.example/log").close()
        base = ["--data-dir", str(data)]
        assert main([*base, "ca", "init"]) == 0
        out = tmp_path / "builder.pem"
        assert main([*base, "ca", "issue-client", "builder", "--out", str(out)]) == 0
        capsys.readouterr()
        assert main([*base, "--json", "ca", "revoke", str(out), "--reason", "superseded"]) == 0
        assert str(_serial(out.read_bytes())) in capsys.readouterr().out
        assert main([*base, "ca", "revoke", "0x2a"]) == 0
        crl_file = tmp_path / "ca.crl"
        assert main([*base, "ca", "crl", "--out", str(crl_file)]) == 0
        ca = CertificateAuthority.load(data)
        crl = load_crl(crl_file.read_bytes(), ca.cert)
        assert {e.serial_number for e in crl} == {_serial(out.read_bytes()), 42}
        capsys.readouterr()
        assert main([*base, "ca", "revoke", str(tmp_path / "missing.pem")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert "missing.pem" in err[0]
        assert main([*base, "ca", "revoke", str(data / "log.key")]) == 2
        assert "not a PEM certificate" in capsys.readouterr().err


class TestFuzz:
    @settings(max_examples=60, deadline=None)
    @given(st.binary(max_size=600))
    def test_arbitrary_bytes(self, tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
        """Arbitrary bytes as a CRL or as a certificate to revoke: our errors, never a traceback."""
        ca = _fuzz_ca(tmp_path_factory)
        with pytest.raises(AttestationTlsError):
            load_crl(data, ca.cert)
        with pytest.raises(AttestationInputError):
            ca.revoke(data)


_FUZZ_CA: list[CertificateAuthority] = []


def _fuzz_ca(factory: pytest.TempPathFactory) -> CertificateAuthority:
    if not _FUZZ_CA:
        _FUZZ_CA.append(CertificateAuthority.init(factory.mktemp("fuzz-crl"), "fuzz.example/log"))
    return _FUZZ_CA[0]

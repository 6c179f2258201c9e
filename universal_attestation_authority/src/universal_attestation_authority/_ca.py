"""The authority's own TLS certificate authority, so TLS and mTLS need no prepared files.

``uaa ca init`` creates, in the data directory::

    <data_dir>/tls/ca.key    the CA's ECDSA P-256 private key (PKCS#8 PEM), 0600
    <data_dir>/tls/ca.pem    its self-signed certificate (10 years by default)

Revoking a client certificate (``uaa ca revoke``) adds it to the CA's CRL,
``<data_dir>/tls/ca.crl`` (X.509 v2, signed by the CA, re-signed at each
revocation and by ``uaa ca crl``); a running ``uaa serve`` re-reads the file
when it changes and refuses issuing with a revoked certificate.

From then on ``uaa serve`` serves HTTPS (and gRPC over TLS) with a
*short-lived* server certificate it issues itself at every start for its
listener names (``127.0.0.1``, ``::1``, ``localhost``, the configured host and
``tls_sans``), and ``uaa ca issue-client NAME`` issues client certificates
that may issue attestations over mTLS.  Clients trust ``uaa ca cert``.
Certificate files given in the settings (``tls_cert``/``tls_key``,
``tls_client_ca``) override the CA.

Keys are ECDSA P-256 (fast to generate at every start, accepted by every TLS
stack); certificates carry the extensions a strict verifier checks (basic
constraints, key usage, extended key usage, subject/authority key ids).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import ipaddress
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from universal_attestation_authority.errors import AttestationInputError, AttestationTlsError

__all__ = [
    "CA_CERT_NAME",
    "CA_DIR",
    "CA_KEY_NAME",
    "CRL_NAME",
    "REVOCATION_REASONS",
    "CertificateAuthority",
    "ClientRevocations",
    "IssuedCertificate",
    "listener_names",
    "load_crl",
]

CA_DIR: Final = "tls"
CA_KEY_NAME: Final = "ca.key"
CA_CERT_NAME: Final = "ca.pem"
CRL_NAME: Final = "ca.crl"
"""The CA's certificate revocation list (PEM), rewritten by every revocation."""
REVOCATION_REASONS: Final = (
    "unspecified",
    "key_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
    "privilege_withdrawn",
)
"""The RFC 5280 reason codes ``uaa ca revoke --reason`` accepts."""
_BACKDATE: Final = datetime.timedelta(minutes=5)
"""Certificates start a little in the past: clocks of client and server differ."""


def listener_names(host: str, extra: Iterable[str] = ()) -> list[str]:
    """The names a server certificate for a listener on ``host`` should carry.

    Loopback under every name (``127.0.0.1``, ``::1``, ``localhost``), the
    listen address itself unless it is a wildcard, then ``extra``
    (``tls_sans``); duplicates removed, order kept.
    """
    names = ["127.0.0.1", "::1", "localhost"]
    if host not in ("", "0.0.0.0", "::"):  # noqa: S104  # comparing, not binding
        names.append(host)
    names.extend(extra)
    return list(dict.fromkeys(n.strip() for n in names if n.strip()))


def _general_name(name: str) -> x509.GeneralName:
    with contextlib.suppress(ValueError):  # not an address: try it as a DNS name
        return x509.IPAddress(ipaddress.ip_address(name))
    labels = name.removeprefix("*.").split(".")
    if len(name) > 253 or not all(
        label and len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
        for label in labels
    ):
        raise AttestationInputError(
            f"{name!r} is neither an IP address nor a DNS name",
            hint="use DNS names like api.example.com or IP addresses like 10.0.0.5 (tls_sans, 'uaa ca issue-server')",
            field="tls_sans",
        )
    return x509.DNSName(name)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int, *, overwrite: bool) -> None:
    """Write ``data`` with ``mode`` from the first byte on (atomic rename; no 0644 window)."""
    if path.exists() and not overwrite:
        raise AttestationTlsError(
            f"{str(path)!r} already exists",
            hint="choose another --out, or remove the old file first",
            path=str(path),
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise AttestationTlsError(
            f"cannot write {str(path)!r}: {exc.strerror}", path=str(path)
        ) from None


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate the CA issued, with its new private key (PEM)."""

    cert_pem: bytes
    key_pem: bytes
    not_after: datetime.datetime

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex) of the certificate's DER: what ``tls_client_fingerprints`` lists."""
        cert = x509.load_pem_x509_certificate(self.cert_pem)
        return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()

    def write_combined(self, path: Path) -> None:
        """Certificate and key in one 0600 file, replaced atomically (what the server loads)."""
        _write(path, self.cert_pem + self.key_pem, 0o600, overwrite=True)

    def write(self, cert_path: Path, key_path: Path, *, overwrite: bool = False) -> None:
        """Write the certificate (0644) and its key (0600)."""
        _write(key_path, self.key_pem, 0o600, overwrite=overwrite)
        _write(cert_path, self.cert_pem, 0o644, overwrite=overwrite)


class CertificateAuthority:
    """The CA in ``<data_dir>/tls`` (see the module docstring)."""

    def __init__(
        self,
        cert: x509.Certificate,
        key: ec.EllipticCurvePrivateKey,
        directory: Path | None = None,
    ) -> None:
        self.cert = cert
        self._key = key
        self.directory_path = directory
        """Where the CA's files live (``None`` for a CA held only in memory: no CRL file)."""

    @staticmethod
    def directory(data_dir: str | Path) -> Path:
        return Path(data_dir) / CA_DIR

    @classmethod
    def exists(cls, data_dir: str | Path) -> bool:
        return (cls.directory(data_dir) / CA_KEY_NAME).is_file()

    @classmethod
    def init(cls, data_dir: str | Path, name: str, *, days: int = 3650) -> CertificateAuthority:
        """Create the CA of the authority in ``data_dir``.

        Raises:
            AttestationTlsError: there already is one (its clients trust it;
                replacing it is not something to do by accident).
        """
        directory = cls.directory(data_dir)
        if cls.exists(data_dir):
            raise AttestationTlsError(
                f"{str(directory)!r} already holds a CA",
                hint="keep using it ('uaa ca cert'), or move the tls directory away first",
                path=str(directory),
            )
        if days < 1:
            raise AttestationInputError(f"--days must be at least 1, got {days}", field="days")
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "universal_attestation_authority"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"uaa CA {name}"[:64]),
            ]
        )
        now = datetime.datetime.now(datetime.UTC)
        public = key.public_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write(directory / CA_KEY_NAME, _pem_key(key), 0o600, overwrite=False)
        _write(
            directory / CA_CERT_NAME,
            cert.public_bytes(serialization.Encoding.PEM),
            0o644,
            overwrite=False,
        )
        return cls(cert, key, directory)

    @classmethod
    def load(cls, data_dir: str | Path) -> CertificateAuthority:
        """The CA stored in ``data_dir``.

        Raises:
            AttestationTlsError: there is none, or its files are unusable.
        """
        directory = cls.directory(data_dir)
        try:
            key_pem = (directory / CA_KEY_NAME).read_bytes()
            cert_pem = (directory / CA_CERT_NAME).read_bytes()
        except FileNotFoundError:
            raise AttestationTlsError(
                f"the authority in {str(Path(data_dir))!r} has no CA",
                hint="create one with 'uaa ca init'",
                path=str(directory),
            ) from None
        except OSError as exc:
            raise AttestationTlsError(
                f"cannot read the CA in {str(directory)!r}: {exc.strerror}", path=str(directory)
            ) from None
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
            cert = x509.load_pem_x509_certificate(cert_pem)
        except ValueError as exc:
            raise AttestationTlsError(
                f"the CA files in {str(directory)!r} are not usable: {exc}",
                hint="restore them from a backup, or move the tls directory away and 'uaa ca init'",
                path=str(directory),
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
            raise AttestationTlsError(
                f"{CA_KEY_NAME} and {CA_CERT_NAME} in {str(directory)!r} do not belong together",
                hint="restore them from a backup",
                path=str(directory),
            )
        return cls(cert, key, directory)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def cert_path_hint(self) -> str:
        return f"{CA_DIR}/{CA_CERT_NAME}"

    def _issue(
        self,
        common_name: str,
        names: Iterable[str],
        usage: x509.ObjectIdentifier,
        days: float,
    ) -> IssuedCertificate:
        if days <= 0:
            raise AttestationInputError(f"validity must be positive, got {days} days", field="days")
        alternative = [_general_name(n) for n in names]
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        not_after = min(now + datetime.timedelta(days=days), self.cert.not_valid_after_utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )
        if alternative:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(alternative), critical=False
            )
        cert = builder.sign(self._key, hashes.SHA256())
        return IssuedCertificate(
            cert.public_bytes(serialization.Encoding.PEM), _pem_key(key), not_after
        )

    def issue_server(self, names: Iterable[str], *, days: float = 7) -> IssuedCertificate:
        """A server certificate for ``names`` (IP addresses or DNS names), valid ``days``.

        Raises:
            AttestationInputError: a name is neither an IP address nor a DNS name,
                or there is none.
        """
        listed = list(names)
        if not listed:
            raise AttestationInputError("a server certificate needs at least one name")
        return self._issue(listed[0][:64], listed, ExtendedKeyUsageOID.SERVER_AUTH, days)

    def issue_client(self, name: str, *, days: float = 365) -> IssuedCertificate:
        """A client certificate (common name ``name``) that may issue over mTLS, valid ``days``.

        Raises:
            AttestationInputError: ``name`` is empty or not printable.
        """
        if not name.strip() or not name.isprintable() or len(name.encode("utf-8")) > 64:
            raise AttestationInputError(
                f"client name {name[:80]!r} must be 1-64 printable characters (UTF-8 bytes)",
                hint="use a name like ci-builder",
                field="name",
            )
        return self._issue(name, (), ExtendedKeyUsageOID.CLIENT_AUTH, days)

    # -- revocation -------------------------------------------------------------

    def _crl_file(self) -> Path:
        if self.directory_path is None:
            raise AttestationTlsError(
                "this CA has no directory to keep a CRL in",
                hint="load it with 'CertificateAuthority.load'",
            )
        return self.directory_path / CRL_NAME

    def revoked(self) -> list[x509.RevokedCertificate]:
        """The certificates revoked so far (empty before the first revocation).

        Raises:
            AttestationTlsError: the CRL file is unreadable or not signed by this CA.
        """
        path = self._crl_file()
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise AttestationTlsError(
                f"cannot read the CRL {str(path)!r}: {exc.strerror}", path=str(path)
            ) from None
        return list(load_crl(data, self.cert, where=str(path)))

    def revoke(
        self,
        certificate: bytes | int,
        *,
        reason: str = "unspecified",
        days: float = 7,
    ) -> int:
        """Revoke a certificate this CA issued (its PEM, or its serial number); returns the serial.

        Rewrites the CRL with every revocation so far plus this one (revoking
        twice keeps the first date), valid for ``days``.

        Raises:
            AttestationInputError: not a PEM certificate, not one of this CA's,
                or an unknown ``reason``.
        """
        if reason not in REVOCATION_REASONS:
            raise AttestationInputError(
                f"unknown revocation reason {reason!r}",
                hint="one of " + ", ".join(REVOCATION_REASONS),
                field="reason",
            )
        serial = certificate if isinstance(certificate, int) else self._serial_of(certificate)
        if serial <= 0:
            raise AttestationInputError(
                f"serial number {serial} is not a certificate's", field="serial"
            )
        entries = self.revoked()
        if all(entry.serial_number != serial for entry in entries):
            entries.append(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(datetime.datetime.now(datetime.UTC))
                .add_extension(x509.CRLReason(x509.ReasonFlags[reason]), critical=False)
                .build()
            )
        self.write_crl(entries, days=days)
        return serial

    def write_crl(
        self, entries: Iterable[x509.RevokedCertificate] | None = None, *, days: float = 7
    ) -> bytes:
        """Sign a fresh CRL (``entries``, default: the current ones) valid ``days``; write and return it (PEM)."""
        if days <= 0:
            raise AttestationInputError(
                f"CRL validity must be positive, got {days} days", field="days"
            )
        listed = self.revoked() if entries is None else list(entries)
        path = self._crl_file()
        number = 1
        if path.is_file():
            with contextlib.suppress(ValueError, OSError, x509.ExtensionNotFound):
                previous = x509.load_pem_x509_crl(path.read_bytes())
                number = (
                    previous.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
                )
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(now - _BACKDATE)
            .next_update(now + datetime.timedelta(days=days))
            .add_extension(x509.CRLNumber(number), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        for entry in listed:
            builder = builder.add_revoked_certificate(entry)
        pem = builder.sign(self._key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
        _write(path, pem, 0o644, overwrite=True)
        return pem

    def _serial_of(self, pem: bytes) -> int:
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise AttestationInputError(
                "not a PEM certificate",
                hint="give the certificate file 'uaa ca issue-client' wrote",
            ) from None
        if cert.issuer != self.cert.subject or not _signed_by(cert, self.cert):
            raise AttestationInputError(
                f"the certificate of {cert.subject.rfc4514_string()[:80]!r} was not issued by this CA",
                hint="only certificates from 'uaa ca issue-client|issue-server' can be revoked here",
            )
        return cert.serial_number


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def load_crl(
    data: bytes, ca_cert: x509.Certificate, *, where: str = "CRL"
) -> x509.CertificateRevocationList:
    """Parse a PEM CRL and check that ``ca_cert`` issued and signed it.

    Raises:
        AttestationTlsError: not a PEM CRL, or not this CA's.
    """
    try:
        crl = x509.load_pem_x509_crl(data)
    except ValueError:
        raise AttestationTlsError(
            f"{where} is not a PEM certificate revocation list",
            hint="rewrite it with 'uaa ca crl'",
            path=where,
        ) from None
    public = ca_cert.public_key()
    if crl.issuer != ca_cert.subject or not (
        isinstance(public, ec.EllipticCurvePublicKey) and crl.is_signature_valid(public)
    ):
        raise AttestationTlsError(
            f"{where} is not signed by this CA",
            hint="restore it from a backup, or rewrite it with 'uaa ca crl'",
            path=where,
        )
    return crl


class ClientRevocations:
    """Which client certificates the CA revoked, for the services' issuing check.

    Reads the CRL file when it first matters and again whenever it changes
    (inode, size or modification time), so ``uaa ca revoke`` takes effect on a running
    server without a restart.  Fails closed: if the file exists but cannot be
    read or is not the CA's, every client certificate counts as revoked
    (bearer tokens still work) until it is fixed.  Thread-safe.
    """

    def __init__(self, crl_path: Path, ca_cert: x509.Certificate) -> None:
        self.crl_path = crl_path
        self._ca_cert = ca_cert
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._serials: frozenset[int] | None = frozenset()

    def _refresh(self) -> frozenset[int] | None:
        try:
            info = self.crl_path.stat()
        except FileNotFoundError:
            self._stamp, self._serials = None, frozenset()
            return self._serials
        except OSError:
            return None
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)  # rewrites replace the file
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                crl = load_crl(self.crl_path.read_bytes(), self._ca_cert, where=str(self.crl_path))
                self._serials = frozenset(entry.serial_number for entry in crl)
            except (AttestationTlsError, OSError) as exc:
                _log_bad_crl(self.crl_path, exc)
                self._serials = None
        return self._serials

    def is_revoked(self, serial: int) -> bool:
        """Whether the certificate with this serial (from this CA) may no longer be used."""
        with self._lock:
            serials = self._refresh()
        return serials is None or serial in serials


def _log_bad_crl(path: Path, exc: Exception) -> None:
    from shared_core.logging import get_logger

    get_logger("universal_attestation_authority.ca").error(
        "CRL unusable: refusing every client certificate", path=str(path), error=str(exc)
    )

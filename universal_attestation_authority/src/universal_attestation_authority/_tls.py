"""TLS for the services: which certificate to serve, and who presented which client certificate.

:func:`server_tls` decides what ``uaa serve`` listens with: certificate files
from the settings when given, else a short-lived certificate from the
authority's own CA (``uaa ca init``, see ``_ca``), else plain TCP.

Mutual TLS for issuing:

uvicorn does not pass the TLS peer certificate to the application, so this
module supplies an HTTP protocol (uvicorn's h11 one, subclassed) that, once
the TLS handshake is done, reads the client certificate the server verified
against ``tls_client_ca`` and puts its SHA-256 fingerprint into each request's
ASGI scope as ``scope["extensions"]["tls"]["client_cert_sha256"]``.  The server
asks for a certificate but does not require one (``CERT_OPTIONAL``), so read
endpoints stay open to clients without certificates, and only a certificate
that chains to the configured CA is ever seen here.
"""

from __future__ import annotations

import datetime
import hashlib
import ssl
import threading
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from cryptography import x509
from uvicorn.protocols.http.h11_impl import H11Protocol

from shared_core.errors import ConfigError
from shared_core.logging import get_logger
from universal_attestation_authority._ca import CA_CERT_NAME, CertificateAuthority, listener_names
from universal_attestation_authority.errors import AttestationInputError

if TYPE_CHECKING:
    from universal_attestation_authority._grpc import GrpcTls

__all__ = [
    "ClientCertProtocol",
    "RenewingCertificate",
    "ServerTls",
    "certificate_serial",
    "client_cert_fingerprint",
    "client_cert_serial",
    "server_tls",
    "uvicorn_tls_options",
]

_log = get_logger("universal_attestation_authority.tls")

SERVER_PEM: Final = "server.pem"
"""Certificate and key of the CA-issued server certificate, in one file (one atomic replace)."""


class ClientCertProtocol(H11Protocol):
    """uvicorn's h11 protocol, exposing the verified client certificate to the app."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            return
        fingerprint = hashlib.sha256(der).hexdigest()
        serial = certificate_serial(der)
        inner = self.app

        async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
            extensions = scope.setdefault("extensions", {}) or {}
            extensions["tls"] = {"client_cert_sha256": fingerprint, "client_cert_serial": serial}
            scope["extensions"] = extensions
            await inner(scope, receive, send)

        self.app = app


def client_cert_fingerprint(scope: MutableMapping[str, Any]) -> str | None:
    """The SHA-256 (hex) of the client certificate the TLS layer verified, if any."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    value = tls.get("client_cert_sha256")
    return value if isinstance(value, str) else None


def client_cert_serial(scope: MutableMapping[str, Any]) -> int | None:
    """The serial number of the client certificate the TLS layer verified, if any."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    value = tls.get("client_cert_serial")
    return value if isinstance(value, int) else None


def certificate_serial(der: bytes) -> int | None:
    """The serial number of a DER certificate (``None`` if it does not parse)."""
    try:
        return x509.load_der_x509_certificate(der).serial_number
    except ValueError:
        return None


def uvicorn_tls_options(cert: str, key: str, client_ca: str | None) -> dict[str, Any]:
    """``uvicorn.Config`` keyword arguments for HTTPS, with optional client certificates."""
    options: dict[str, Any] = {"ssl_certfile": cert, "ssl_keyfile": key}
    if client_ca is not None:
        options.update(
            ssl_ca_certs=client_ca, ssl_cert_reqs=ssl.CERT_OPTIONAL, http=ClientCertProtocol
        )
    return options


@dataclass(frozen=True)
class ServerTls:
    """What the HTTP and gRPC listeners serve TLS with.

    Attributes:
        cert_path / key_path: PEM files (one file holding both for CA-issued certificates).
        client_ca_path: CA whose client certificates may issue (mTLS), or None.
        source: ``"files"`` (settings) or ``"ca"`` (issued at start by the authority's CA).
        names: the names a CA-issued certificate carries (empty for files).
        not_after: when a CA-issued certificate expires (None for files).
    """

    cert_path: Path
    key_path: Path
    client_ca_path: Path | None
    source: str
    names: tuple[str, ...] = ()
    not_after: datetime.datetime | None = None
    renewing: RenewingCertificate | None = None
    """The CA-issued certificate, renewed in place before it expires (None for files)."""

    def uvicorn_options(self) -> dict[str, Any]:
        return uvicorn_tls_options(
            str(self.cert_path),
            str(self.key_path),
            str(self.client_ca_path) if self.client_ca_path is not None else None,
        )

    def grpc(self) -> GrpcTls:
        from universal_attestation_authority._grpc import GrpcTls

        if self.renewing is None:
            return GrpcTls.from_files(self.cert_path, self.key_path, self.client_ca_path)
        try:
            client_ca = self.client_ca_path.read_bytes() if self.client_ca_path else None
        except OSError as exc:
            raise AttestationInputError(
                f"cannot read tls_client_ca {str(self.client_ca_path)!r}: {exc.strerror}",
                hint="check tls_client_ca",
            ) from None
        _, cert, key = self.renewing.current()
        return GrpcTls(cert, key, client_ca, self.renewing)

    def attach(self, context: ssl.SSLContext) -> None:
        """Let the HTTPS listener's ``context`` follow renewals (see RenewingCertificate)."""
        if self.renewing is not None:
            self.renewing.attach(context)

    def describe(self) -> str:
        """One line for the operator: where the certificate comes from, and mTLS."""
        mtls = f"; client certificates from {self.client_ca_path}" if self.client_ca_path else ""
        if self.source == "ca" and self.not_after is not None:
            return (
                f"TLS with a certificate from the authority's CA for {', '.join(self.names)} "
                f"(valid until {self.not_after.isoformat(timespec='seconds')}){mtls}"
            )
        return f"TLS with {self.cert_path}{mtls}"


def server_tls(
    data_dir: Path,
    *,
    cert: Path | None,
    key: Path | None,
    client_ca: Path | None,
    mtls: bool,
    host: str,
    sans: Sequence[str] = (),
    days: float = 7.0,
) -> ServerTls | None:
    """The TLS ``uaa serve`` listens with; files win over the authority's CA.

    * ``cert`` and ``key`` (files) given: those.
    * Else, if the authority has a CA: a server certificate issued now for
      :func:`~universal_attestation_authority._ca.listener_names` of ``host``
      and ``sans``, valid ``days``, written to ``<data_dir>/tls/server.pem``.
    * Else: no TLS (None).

    Client certificates (mTLS for issuing) come from ``client_ca`` when given,
    else from the authority's CA when ``mtls`` is set.

    Raises:
        ConfigError: half a pair, or mTLS without TLS, or ``mtls`` without a CA.
        AttestationInputError: a name in ``sans`` is not a DNS name or IP address.
    """
    has_ca = CertificateAuthority.exists(data_dir)
    ca_cert = CertificateAuthority.directory(data_dir) / CA_CERT_NAME
    if (cert is None) != (key is None):
        raise ConfigError(
            "tls_cert and tls_key must be given together",
            key="tls_cert",
            hint="set both, or neither",
        )
    if client_ca is None and mtls:
        if not has_ca:
            raise ConfigError(
                "mtls needs the authority's CA",
                key="mtls",
                hint="run 'uaa ca init' first, or give tls_client_ca",
            )
        client_ca = ca_cert
    if cert is not None and key is not None:
        return ServerTls(cert, key, client_ca, "files")
    if not has_ca:
        if client_ca is not None:
            raise ConfigError(
                "tls_client_ca needs TLS (tls_cert and tls_key, or 'uaa ca init')",
                key="tls_client_ca",
                hint="set tls_cert and tls_key, or create the authority's CA",
            )
        return None
    names = listener_names(host, sans)
    renewing = RenewingCertificate(
        CertificateAuthority.load(data_dir),
        names,
        days,
        CertificateAuthority.directory(data_dir) / SERVER_PEM,
    )
    return ServerTls(
        renewing.path,
        renewing.path,
        client_ca,
        "ca",
        tuple(names),
        renewing.not_after,
        renewing,
    )


class RenewingCertificate:
    """A server certificate from the authority's CA that renews itself before it expires.

    Renewal is due two thirds into a certificate's lifetime and happens on
    the next TLS handshake after that (no timer thread): grpcio asks
    :meth:`current` at every handshake (``GrpcTls.fetcher``), and each attached
    HTTPS ``SSLContext`` gets an SNI callback that does the same and loads the
    new certificate into the context (OpenSSL copies a context's certificate
    into each connection, so connections already open are unaffected).
    """

    def __init__(
        self, ca: CertificateAuthority, names: Sequence[str], days: float, path: Path
    ) -> None:
        self.ca = ca
        self.names = list(names)
        self.days = days
        self.path = path
        self._lock = threading.Lock()
        self._contexts: list[ssl.SSLContext] = []
        self._version = 0
        self._issue(datetime.datetime.now(datetime.UTC))

    def _issue(self, now: datetime.datetime) -> None:
        issued = self.ca.issue_server(self.names, days=self.days)
        issued.write_combined(self.path)
        self._issued = issued
        lifetime = issued.not_after - now
        self.renew_at = now + lifetime * 2 / 3
        self._version += 1
        for context in self._contexts:
            context.load_cert_chain(self.path)

    @property
    def not_after(self) -> datetime.datetime:
        return self._issued.not_after

    @property
    def version(self) -> int:
        return self._version

    def renew_if_due(self, now: datetime.datetime | None = None) -> bool:
        """Issue a new certificate if two thirds of the current one's life are over."""
        when = now or datetime.datetime.now(datetime.UTC)
        with self._lock:
            if when < self.renew_at:
                return False
            self._issue(when)
            _log.info("server certificate renewed", not_after=self.not_after.isoformat())
            return True

    def current(self) -> tuple[int, bytes, bytes]:
        """``(version, certificate PEM, key PEM)``, renewed first if due."""
        self.renew_if_due()
        with self._lock:
            return self._version, self._issued.cert_pem, self._issued.key_pem

    def attach(self, context: ssl.SSLContext) -> None:
        """Keep ``context`` (an HTTPS listener's) on the current certificate."""

        def on_hello(_sock: ssl.SSLObject, _name: str | None, _context: ssl.SSLContext) -> None:
            self.renew_if_due()

        with self._lock:
            self._contexts.append(context)
            context.load_cert_chain(self.path)
        context.sni_callback = on_hello

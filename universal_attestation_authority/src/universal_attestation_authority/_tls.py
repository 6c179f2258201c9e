"""Mutual TLS for issuing: who presented which client certificate.

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

import hashlib
import ssl
from collections.abc import MutableMapping
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["ClientCertProtocol", "client_cert_fingerprint", "uvicorn_tls_options"]


class ClientCertProtocol(H11Protocol):
    """uvicorn's h11 protocol, exposing the verified client certificate to the app."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            return
        fingerprint = hashlib.sha256(der).hexdigest()
        inner = self.app

        async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
            extensions = scope.setdefault("extensions", {}) or {}
            extensions["tls"] = {"client_cert_sha256": fingerprint}
            scope["extensions"] = extensions
            await inner(scope, receive, send)

        self.app = app


def client_cert_fingerprint(scope: MutableMapping[str, Any]) -> str | None:
    """The SHA-256 (hex) of the client certificate the TLS layer verified, if any."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    value = tls.get("client_cert_sha256")
    return value if isinstance(value, str) else None


def uvicorn_tls_options(cert: str, key: str, client_ca: str | None) -> dict[str, Any]:
    """``uvicorn.Config`` keyword arguments for HTTPS, with optional client certificates."""
    options: dict[str, Any] = {"ssl_certfile": cert, "ssl_keyfile": key}
    if client_ca is not None:
        options.update(
            ssl_ca_certs=client_ca, ssl_cert_reqs=ssl.CERT_OPTIONAL, http=ClientCertProtocol
        )
    return options

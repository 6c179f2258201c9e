"""Settings of universal_attestation_authority: defaults < TOML file < ``UNIVERSAL_ATTESTATION_AUTHORITY_*`` environment < CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from shared_core.config import CoreSettings, settings_config

__all__ = ["AttestationSettings"]


class AttestationSettings(CoreSettings):
    """Settings of universal_attestation_authority; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "universal_attestation_authority"
    model_config = settings_config("universal_attestation_authority")

    data_dir: Path = Field(
        default=Path("uaa-data"),
        description="the authority's data directory (database, log key, signing keys)",
    )
    algorithm: Literal["ed25519", "ecdsa-p256"] = Field(
        default="ed25519", description="algorithm of newly generated signing keys"
    )
    host: str = Field(default="127.0.0.1", description="address 'uaa serve' listens on")
    port: int = Field(default=8080, ge=0, le=65535, description="port 'uaa serve' listens on")
    grpc_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="also serve the gRPC API (attestation.AttestationAuthority) on this port with 'uaa serve' (0: a free port)",
    )
    api_tokens: list[str] = Field(
        default_factory=list,
        description="bearer tokens allowed to issue; 'sha256:<hex>' entries hold a token's digest",
    )
    api_token_file: Path | None = Field(
        default=None, description="file with one issuing token (or sha256:<hex>) per line"
    )
    tls_cert: Path | None = Field(default=None, description="PEM certificate to serve HTTPS with")
    tls_key: Path | None = Field(default=None, description="PEM private key of --tls-cert")
    tls_client_ca: Path | None = Field(
        default=None,
        description="CA (PEM) whose client certificates may issue (mTLS); reads stay open",
    )
    tls_sans: list[str] = Field(
        default_factory=list,
        description="extra names (DNS or IP) for the server certificate the authority's CA issues at start ('uaa ca init')",
    )
    tls_server_cert_days: float = Field(
        default=7.0,
        gt=0,
        le=397,
        description="validity of that server certificate; it is issued anew at every start",
    )
    mtls: bool = Field(
        default=False,
        description="accept client certificates from the authority's CA ('uaa ca issue-client') for issuing; tls_client_ca overrides",
    )
    grpc_public_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="with client certificates required on grpc_port, also serve gRPC here with server-only TLS: verification open, issuing by token (0: a free port)",
    )
    tls_client_fingerprints: list[str] = Field(
        default_factory=list,
        description="if set, only client certificates with these SHA-256 (hex, DER) fingerprints may issue",
    )
    max_request_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="largest request body accepted (413 beyond)"
    )
    rate_limit: float = Field(
        default=100.0, gt=0, description="issuing requests per second per client (429 beyond)"
    )
    rate_burst: int = Field(default=200, ge=1, description="issuing requests a client may burst")
    witnesses: list[str] = Field(
        default_factory=list,
        description="witnesses as 'URL VERIFIER_KEY' strings; checkpoints need witness_quorum cosignatures",
    )
    witness_quorum: int = Field(
        default=2, ge=1, description="cosignatures a checkpoint needs when witnesses are configured"
    )
    witness_timeout: float = Field(default=5.0, gt=0, description="seconds to wait for a witness")
    publish_retry_seconds: float = Field(
        default=10.0,
        ge=0,
        description="how often 'uaa serve' retries publishing entries a failed witness round left uncovered (0: never)",
    )

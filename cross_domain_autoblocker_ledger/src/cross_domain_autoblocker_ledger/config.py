"""Settings of cross_domain_autoblocker_ledger: defaults < TOML file < ``CROSS_DOMAIN_AUTOBLOCKER_LEDGER_*`` environment < CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from shared_core.config import CoreSettings, settings_config

__all__ = ["LedgerSettings"]


class LedgerSettings(CoreSettings):
    """Settings of cross_domain_autoblocker_ledger; the shared ones (logging, telemetry) come from CoreSettings."""

    system: ClassVar[str] = "cross_domain_autoblocker_ledger"
    model_config = settings_config("cross_domain_autoblocker_ledger")

    data_dir: Path = Field(
        default=Path("/var/lib/cross_domain_autoblocker_ledger"),
        description="directory of the ledger database (ledger.db) and its signing key (ledger.key)",
    )
    key_file: Path | None = Field(
        default=None, description="the ledger's note signing key (default: DATA_DIR/ledger.key)"
    )
    origin: str = Field(
        default="cdabl.local/ledger",
        description="the ledger's checkpoint origin line and key name (set once, at creation)",
    )
    scenarios: Path | None = Field(
        default=None,
        description="scenario YAML file or directory (default: the built-in scenarios)",
    )
    jails: Path | None = Field(
        default=None, description="fail2ban-style jail file, added to the scenarios"
    )
    sshd_mode: Literal["normal", "ddos", "extra", "aggressive"] = Field(
        default="normal", description="sshd rule set, as fail2ban's sshd[mode=...]"
    )
    timezone: str = Field(
        default="local",
        description="zone of syslog timestamps without an offset (an IANA name, UTC, or local)",
    )
    listen_host: str = Field(default="127.0.0.1", description="address the HTTP API listens on")
    listen_port: int = Field(default=8080, ge=0, le=65535, description="port of the HTTP API")
    nft_table: str = Field(default="cdabl", description="nftables table name used by 'export nft'")
    nats_servers: str | None = Field(
        default=None,
        description="comma-separated NATS URLs: replicate the ledger through JetStream (unset: standalone)",
    )
    nats_replicas: int = Field(
        default=3, ge=1, le=5, description="replicas of the JetStream stream"
    )
    etcd_endpoints: str | None = Field(
        default=None,
        description="comma-separated etcd URLs (http://HOST:2379): replicate the ledger through etcd instead of NATS",
    )
    witnesses: list[str] = Field(
        default_factory=list,
        description="C2SP witnesses as 'URL VERIFIER_KEY' strings: 'ledger witness' asks them to cosign checkpoints; their cosignatures are checked on open",
    )
    witness_timeout: float = Field(default=10.0, gt=0, description="seconds to wait for a witness")
    etcd_prefix: str = Field(
        default="/cdabl/ledger", description="etcd key prefix of this ledger's operation log"
    )

    @property
    def database(self) -> Path:
        """The ledger's SQLite file."""
        return self.data_dir / "ledger.db"

    @property
    def signing_key(self) -> Path:
        return self.key_file if self.key_file is not None else self.data_dir / "ledger.key"

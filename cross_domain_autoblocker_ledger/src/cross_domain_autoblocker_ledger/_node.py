"""One node's assembled parts, built from settings (shared by the CLI and the HTTP API)."""

from __future__ import annotations

from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cross_domain_autoblocker_ledger._ledger import Ledger
from cross_domain_autoblocker_ledger._scenario import (
    Scenario,
    default_scenarios,
    load_jails,
    load_scenarios,
)
from cross_domain_autoblocker_ledger._syslog import TimestampResolver
from cross_domain_autoblocker_ledger._witnesses import WitnessEndpoint
from cross_domain_autoblocker_ledger._writer import (
    EtcdWriter,
    LedgerWriter,
    LocalWriter,
    ReplicatedWriter,
)
from cross_domain_autoblocker_ledger.config import LedgerSettings
from cross_domain_autoblocker_ledger.errors import LedgerInputError

__all__ = [
    "open_ledger",
    "open_writer",
    "resolve_timezone",
    "scenarios_from",
    "timestamps_from",
    "witnesses_from",
]


def open_ledger(settings: LedgerSettings, *, read_only: bool = False) -> Ledger:
    """Open (creating if needed) the node's ledger, verifying its history.

    Writers take the ledger's exclusive lock; ``read_only`` commands
    (queries, exports, verification) run beside a serving node.
    """
    return Ledger.open(
        settings.database,
        settings.signing_key,
        origin=settings.origin,
        read_only=read_only,
        witnesses=[w.verifier for w in witnesses_from(settings)],
    )


def witnesses_from(settings: LedgerSettings) -> list[WitnessEndpoint]:
    """The configured witnesses (``witnesses`` setting, 'URL VERIFIER_KEY' each)."""
    return [WitnessEndpoint.parse(spec) for spec in settings.witnesses]


def open_writer(settings: LedgerSettings, ledger: Ledger) -> LedgerWriter:
    """Local writes for a standalone node; JetStream proposals when ``nats_servers`` is set,
    etcd's operation log when ``etcd_endpoints`` is (never both)."""
    if settings.etcd_endpoints:
        if settings.nats_servers:
            raise LedgerInputError(
                "both nats_servers and etcd_endpoints are set",
                field="etcd_endpoints",
                hint="replicate through one of them: unset the other",
            )
        return EtcdWriter(ledger, settings.etcd_endpoints, prefix=settings.etcd_prefix)
    if not settings.nats_servers:
        return LocalWriter(ledger)
    servers = [url.strip() for url in settings.nats_servers.split(",") if url.strip()]
    if not servers:
        raise LedgerInputError(
            "nats_servers holds no URL",
            field="nats_servers",
            hint="e.g. nats://10.0.0.1:4222,nats://10.0.0.2:4222",
        )
    return ReplicatedWriter(ledger, servers, replicas=settings.nats_replicas)


def scenarios_from(settings: LedgerSettings) -> list[Scenario]:
    """The configured scenarios (built-in ones when none are set) plus any jails."""
    scenarios = (
        load_scenarios(settings.scenarios)
        if settings.scenarios is not None
        else default_scenarios()
    )
    if settings.jails is not None:
        try:
            text = settings.jails.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerInputError(
                f"cannot read jail file {str(settings.jails)!r}: {exc}",
                path=str(settings.jails),
                hint="check the path; it must be UTF-8",
            ) from None
        scenarios.extend(load_jails(text, str(settings.jails)))
    return scenarios


def resolve_timezone(name: str) -> tzinfo | None:
    """``local`` → ``None`` (the machine's zone), ``UTC``, or an IANA zone."""
    if name.lower() == "local":
        return None
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise LedgerInputError(
            f"unknown time zone {name!r}",
            field="timezone",
            hint="use local, UTC or an IANA name like Europe/Paris",
        ) from None


def timestamps_from(settings: LedgerSettings) -> TimestampResolver:
    return TimestampResolver(tz=resolve_timezone(settings.timezone))

"""Detect offenders across domains, record decisions in a tamper-evident ledger, answer 'is X blocked?' fast.

The public API, by stage:

* ingest: :class:`AuthLogParser` (sshd/PAM, syslog and journald text),
  :class:`AccessLogParser` (nginx/Apache), :class:`JsonLinesParser`
  (generic mapping, Suricata EVE, journald JSON), :func:`read_events`,
  :func:`follow_lines`; each yields :class:`Event` objects and keeps
  :class:`ParseStats`;
* detect: :class:`Scenario` (YAML via :func:`parse_scenarios` /
  :func:`load_scenarios`, fail2ban jails via :func:`load_jails`),
  :class:`DetectionEngine` → :class:`Alert`;
* decide: :class:`Decision`, :class:`DecisionPolicy`, :class:`BlockIndex`;
* record: :class:`Ledger` (RFC 9162 Merkle tree, signed C2SP checkpoints, SQLite),
  replicated in order through NATS JetStream by :class:`JetStreamReplicator`
  or through etcd by :class:`EtcdReplicator`; checkpoints cosigned by C2SP
  witnesses with :func:`request_cosignatures`;
* serve and enforce: :func:`create_app`, :class:`ApiServer`,
  :func:`nft_ruleset`, :func:`lsck_rules`; :class:`Autoblocker` wires it all.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cross_domain_autoblocker_ledger")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from cross_domain_autoblocker_ledger._access import AccessLogParser
from cross_domain_autoblocker_ledger._authlog import AuthLogParser
from cross_domain_autoblocker_ledger._decision import (
    SCOPES,
    Decision,
    DecisionPolicy,
    normalise_scope,
    normalise_value,
)
from cross_domain_autoblocker_ledger._detect import Alert, DetectionEngine
from cross_domain_autoblocker_ledger._duration import FOREVER, format_duration, parse_duration
from cross_domain_autoblocker_ledger._event import Event, MalformedLine, ParseStats
from cross_domain_autoblocker_ledger._export import lsck_rules, nft_ruleset
from cross_domain_autoblocker_ledger._index import BlockIndex
from cross_domain_autoblocker_ledger._ingest import (
    LOG_FORMATS,
    detect_format,
    follow_lines,
    open_parser,
    read_events,
)
from cross_domain_autoblocker_ledger._jsonlines import JsonLinesParser, JsonMapping
from cross_domain_autoblocker_ledger._ledger import DEFAULT_ORIGIN, Entry, Ledger, StreamDelta
from cross_domain_autoblocker_ledger._pipeline import Autoblocker, IngestReport
from cross_domain_autoblocker_ledger._scenario import (
    Escalation,
    EventFilter,
    Remediation,
    Scenario,
    default_scenarios,
    load_jails,
    load_scenarios,
    parse_scenarios,
)
from cross_domain_autoblocker_ledger._sshd import SSHD_MODES, SshdConnections, SshdRules
from cross_domain_autoblocker_ledger._store import LedgerStore
from cross_domain_autoblocker_ledger._syslog import SyslogLine, TimestampResolver, split_prefix
from cross_domain_autoblocker_ledger._witnesses import (
    CosignOutcome,
    WitnessEndpoint,
    request_cosignatures,
)
from cross_domain_autoblocker_ledger.config import LedgerSettings
from cross_domain_autoblocker_ledger.errors import (
    LedgerDecisionError,
    LedgerError,
    LedgerIngestError,
    LedgerInputError,
    LedgerIntegrityError,
    LedgerReplicationError,
    LedgerScenarioError,
    LedgerStoreError,
)

_LAZY = {
    "ApiServer": "_api",
    "create_app": "_api",
    "hash_api_key": "_api",
    "JetStreamReplicator": "_replication",
    "EtcdReplicator": "_etcd",
}


def __getattr__(name: str) -> object:
    # The HTTP API pulls in FastAPI and uvicorn (over a second to import), the
    # replicator nats-py; load them only when asked, so the CLI and the library stay quick to start.
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        return getattr(importlib.import_module(f"cross_domain_autoblocker_ledger.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_ORIGIN",
    "FOREVER",
    "LOG_FORMATS",
    "SCOPES",
    "SSHD_MODES",
    "AccessLogParser",
    "Alert",
    "ApiServer",
    "AuthLogParser",
    "Autoblocker",
    "BlockIndex",
    "CosignOutcome",
    "Decision",
    "DecisionPolicy",
    "DetectionEngine",
    "Entry",
    "Escalation",
    "EtcdReplicator",
    "Event",
    "EventFilter",
    "IngestReport",
    "JetStreamReplicator",
    "JsonLinesParser",
    "JsonMapping",
    "Ledger",
    "LedgerDecisionError",
    "LedgerError",
    "LedgerIngestError",
    "LedgerInputError",
    "LedgerIntegrityError",
    "LedgerReplicationError",
    "LedgerScenarioError",
    "LedgerSettings",
    "LedgerStore",
    "LedgerStoreError",
    "MalformedLine",
    "ParseStats",
    "Remediation",
    "Scenario",
    "SshdConnections",
    "SshdRules",
    "StreamDelta",
    "SyslogLine",
    "TimestampResolver",
    "WitnessEndpoint",
    "__version__",
    "create_app",
    "default_scenarios",
    "detect_format",
    "follow_lines",
    "format_duration",
    "hash_api_key",
    "load_jails",
    "load_scenarios",
    "lsck_rules",
    "nft_ruleset",
    "normalise_scope",
    "normalise_value",
    "open_parser",
    "parse_duration",
    "parse_scenarios",
    "read_events",
    "request_cosignatures",
    "split_prefix",
]

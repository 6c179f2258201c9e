"""Detection scenarios: CrowdSec-style YAML and fail2ban-style jails, one model.

A :class:`Scenario` says which events it counts (:class:`EventFilter`), how
they are grouped (``group_by``: ``source``, ``user``, ``target`` or any event
field, or several), how they are counted (``type``), and what to do when the
count overflows (:class:`Remediation`).

Types, as in CrowdSec:

* ``leaky``: a leaky bucket per group: ``capacity`` events, one leaks every
  ``leakspeed``; the event that finds the bucket full overflows it;
  ``blackhole`` keeps the same group from overflowing again for a while;
  ``distinct`` counts only events with a new value of a field;
* ``trigger``: the first matching event overflows;
* ``counter``: counts events for ``duration`` and reports the count when the
  window closes (``capacity`` is the minimum count worth reporting);
* ``window`` (fail2ban's semantics): overflow when ``capacity`` events fall
  inside the sliding ``findtime`` window.

A scenario may take events from several domains (``filter.domain: [ssh,
http]``): grouped by ``source``, an address that fails ssh logins *and*
probes the web fills one bucket; ``min_domains: 2`` requires both.

Jails (``[sshd]`` sections with ``filter``, ``maxretry``, ``findtime``,
``bantime``, ``bantime.increment`` ...) are read by :func:`load_jails` into
the same model.
"""

from __future__ import annotations

import configparser
import fnmatch
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from cross_domain_autoblocker_ledger._duration import FOREVER, parse_duration
from cross_domain_autoblocker_ledger._event import Event
from cross_domain_autoblocker_ledger.errors import LedgerInputError, LedgerScenarioError

__all__ = [
    "DECISION_TYPES",
    "SCENARIO_TYPES",
    "Escalation",
    "EventFilter",
    "Remediation",
    "Scenario",
    "default_scenarios",
    "load_jails",
    "load_scenarios",
    "parse_scenarios",
]

ScenarioType = Literal["leaky", "trigger", "counter", "window"]
SCENARIO_TYPES: tuple[ScenarioType, ...] = ("leaky", "trigger", "counter", "window")
DECISION_TYPES = ("ban", "captcha", "throttle")

# CrowdSec's expression paths for the usual group keys, accepted as aliases.
_GROUP_ALIASES = {
    "evt.Meta.source_ip": "source",
    "evt.Meta.source_range": "source",
    "evt.Meta.target_user": "user",
    "evt.Meta.http_path": "target",
    "evt.Parsed.request": "target",
    "evt.Meta.service": "domain",
    "ip": "source",
}
_SCOPE_FOR_GROUP = {"source": "Ip", "user": "Username"}


def _as_list(value: Any, name: str, where: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str | int | float | bool):
        return [value]
    raise LedgerScenarioError(
        f"{where}: {name} must be a value or a list",
        path=where,
        field=name,
        hint=f"write {name}: [a, b]",
    )


def _glob_matcher(patterns: Sequence[str]) -> Callable[[str], bool] | None:
    if not patterns:
        return None
    exact = frozenset(p for p in patterns if not any(c in p for c in "*?["))
    globs = [p for p in patterns if p not in exact]
    if not globs:
        return exact.__contains__
    regex = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in globs))

    def match(value: str) -> bool:
        return value in exact or regex.match(value) is not None

    return match


@dataclass(frozen=True)
class EventFilter:
    """Which events a scenario counts; every given condition must hold.

    Attributes:
        domains: event domains (``ssh``, ``http``, ...); empty means any.
        kinds: event kinds, shell-style globs allowed (``ssh_*``).
        failure: only failures (``True``, the default), only successes, or both (``None``).
        fields: field name → accepted values (``status: [401, 403]``).
    """

    domains: frozenset[str] = frozenset()
    kinds: tuple[str, ...] = ()
    failure: bool | None = True
    fields: Mapping[str, frozenset[Any]] = field(default_factory=dict)

    def compile(self) -> Callable[[Event], bool]:
        """A fast predicate over events."""
        domains = self.domains
        kind_match = _glob_matcher(self.kinds)
        failure = self.failure
        fields = tuple(self.fields.items())

        def accept(event: Event) -> bool:
            if domains and event.domain not in domains:
                return False
            if failure is not None and event.failure is not failure:
                return False
            if kind_match is not None and not kind_match(event.kind):
                return False
            return all(event.get(name) in allowed for name, allowed in fields)

        return accept


@dataclass(frozen=True)
class Escalation:
    """Longer decisions for repeat offenders (fail2ban's ``bantime.increment``).

    The n-th decision against the same value (n = 0 for the first) lasts
    ``duration * factor * multipliers[n]`` (the last multiplier repeats), or
    ``duration * factor * 2**n`` without multipliers, capped at ``maxtime``.
    """

    factor: float = 1.0
    multipliers: tuple[float, ...] = ()
    maxtime: float = 7 * 86400.0

    def duration(self, base: float, previous: int) -> float:
        if math.isinf(base):
            return base
        if self.multipliers:
            multiplier = self.multipliers[min(previous, len(self.multipliers) - 1)]
        else:
            multiplier = float(1 << min(previous, 20))
        return min(base * self.factor * multiplier, self.maxtime)


@dataclass(frozen=True)
class Remediation:
    """What an overflow leads to: a decision of ``type`` on ``scope`` for ``duration``."""

    type: str = "ban"
    duration: float = 4 * 3600.0
    scope: str | None = None
    escalation: Escalation | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Scenario:
    """One detection rule (see the module docstring for the types)."""

    name: str
    type: ScenarioType = "leaky"
    filter: EventFilter = field(default_factory=EventFilter)
    group_by: tuple[str, ...] = ("source",)
    capacity: int = 5
    leakspeed: float = 10.0
    duration: float = 60.0
    blackhole: float = 60.0
    distinct: str | None = None
    min_domains: int = 1
    description: str = ""
    remediation: Remediation = field(default_factory=Remediation)
    labels: Mapping[str, Any] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        """The decision scope: explicit, else ``Ip`` for source groups, ``Username`` for users."""
        if self.remediation.scope:
            return self.remediation.scope
        if len(self.group_by) == 1:
            return _SCOPE_FOR_GROUP.get(self.group_by[0], "Ip")
        return "Ip"


def _duration(doc: Mapping[str, Any], key: str, default: float, where: str) -> float:
    if key not in doc or doc[key] is None:
        return default
    try:
        return parse_duration(doc[key], field=key)
    except LedgerInputError as exc:
        raise LedgerScenarioError(
            f"{where}: {exc.message}", path=where, field=key, hint=exc.hint
        ) from None


def _int(doc: Mapping[str, Any], key: str, default: int, where: str, minimum: int = 0) -> int:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise LedgerScenarioError(
            f"{where}: {key} must be an integer", path=where, field=key, hint=f"write {key}: 5"
        )
    try:
        number = int(value)
    except ValueError:
        raise LedgerScenarioError(
            f"{where}: {key} {value!r} is not an integer",
            path=where,
            field=key,
            hint=f"write {key}: 5",
        ) from None
    if number < minimum:
        raise LedgerScenarioError(
            f"{where}: {key} must be >= {minimum}",
            path=where,
            field=key,
            hint=f"write {key}: {max(minimum, 1)}",
        )
    return number


_SCENARIO_KEYS = frozenset(
    (
        "name",
        "type",
        "filter",
        "groupby",
        "group_by",
        "capacity",
        "leakspeed",
        "duration",
        "blackhole",
        "distinct",
        "min_domains",
        "description",
        "remediation",
        "labels",
        "findtime",
        "debug",
        "reprocess",
        "cache_size",
        "format",
        "references",
        "version",
    )
)


def _scenario(doc: Any, where: str) -> Scenario:
    if not isinstance(doc, dict):
        raise LedgerScenarioError(
            f"{where}: a scenario must be a mapping",
            path=where,
            hint="see docs/SPEC.md for the scenario format",
        )
    unknown = sorted(set(doc) - _SCENARIO_KEYS)
    if unknown:
        raise LedgerScenarioError(
            f"{where}: unknown scenario key(s) {', '.join(map(str, unknown))}",
            path=where,
            field=unknown[0],
            hint=f"known keys: {', '.join(sorted(_SCENARIO_KEYS))}",
        )
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise LedgerScenarioError(
            f"{where}: a scenario needs a name",
            path=where,
            field="name",
            hint="add name: my/scenario",
        )
    where = f"{where} ({name})"
    kind = doc.get("type", "leaky")
    if kind not in SCENARIO_TYPES:
        raise LedgerScenarioError(
            f"{where}: type {kind!r} is not one of {', '.join(SCENARIO_TYPES)}",
            path=where,
            field="type",
            hint="use leaky, trigger, counter or window",
        )
    flt = doc.get("filter") or {}
    if not isinstance(flt, dict):
        raise LedgerScenarioError(
            f"{where}: filter must be a mapping (domain, kind, failure, fields)",
            path=where,
            field="filter",
            hint="write filter: {domain: ssh, kind: ssh_*}",
        )
    bad = sorted(set(flt) - {"domain", "kind", "failure", "fields"})
    if bad:
        raise LedgerScenarioError(
            f"{where}: unknown filter key(s) {', '.join(map(str, bad))}",
            path=where,
            field="filter",
            hint="filter keys: domain, kind, failure, fields",
        )
    failure = flt.get("failure", True)
    if failure not in (True, False, None, "any"):
        raise LedgerScenarioError(
            f"{where}: filter.failure must be true, false or any",
            path=where,
            field="filter.failure",
            hint="write failure: any",
        )
    raw_fields = flt.get("fields") or {}
    if not isinstance(raw_fields, dict):
        raise LedgerScenarioError(
            f"{where}: filter.fields must be a mapping",
            path=where,
            field="filter.fields",
            hint="write fields: {status: [401, 403]}",
        )
    event_filter = EventFilter(
        domains=frozenset(str(d) for d in _as_list(flt.get("domain"), "filter.domain", where)),
        kinds=tuple(str(k) for k in _as_list(flt.get("kind"), "filter.kind", where)),
        failure=None if failure in (None, "any") else bool(failure),
        fields={
            str(k): frozenset(_as_list(v, f"filter.fields.{k}", where))
            for k, v in raw_fields.items()
        },
    )
    group_raw = doc.get("group_by", doc.get("groupby", "source"))
    group_by = tuple(
        _GROUP_ALIASES.get(str(g), str(g)) for g in _as_list(group_raw, "group_by", where)
    )
    if not group_by:
        raise LedgerScenarioError(
            f"{where}: group_by is empty",
            path=where,
            field="group_by",
            hint="group by source, user or a field",
        )
    default_capacity = 0 if kind == "trigger" else 5
    capacity = _int(
        doc, "capacity", default_capacity, where, minimum=0 if kind in ("trigger", "counter") else 1
    )
    if kind == "window" and "findtime" in doc:
        window = _duration(doc, "findtime", 600.0, where)
    else:
        window = _duration(doc, "duration", 600.0 if kind == "window" else 60.0, where)
    leakspeed = _duration(doc, "leakspeed", 10.0, where)
    if kind == "leaky" and leakspeed <= 0:
        raise LedgerScenarioError(
            f"{where}: leakspeed must be > 0",
            path=where,
            field="leakspeed",
            hint="write leakspeed: 10s",
        )
    distinct = doc.get("distinct")
    labels = doc.get("labels") or {}
    if not isinstance(labels, dict):
        raise LedgerScenarioError(
            f"{where}: labels must be a mapping",
            path=where,
            field="labels",
            hint="write labels: {remediation: true}",
        )
    return Scenario(
        name=name,
        type=kind,
        filter=event_filter,
        group_by=group_by,
        capacity=capacity,
        leakspeed=leakspeed,
        duration=window,
        blackhole=_duration(doc, "blackhole", 60.0, where),
        distinct=_GROUP_ALIASES.get(str(distinct), str(distinct)) if distinct else None,
        min_domains=_int(doc, "min_domains", 1, where, minimum=1),
        description=str(doc.get("description", "")),
        remediation=_remediation(doc.get("remediation"), labels, where),
        labels=dict(labels),
    )


def _remediation(doc: Any, labels: Mapping[str, Any], where: str) -> Remediation:
    # CrowdSec marks scenarios that should lead to decisions with
    # labels.remediation: true; ours may also say how.
    if doc is None:
        enabled = bool(labels.get("remediation", True))
        return Remediation(enabled=enabled)
    if doc is False:
        return Remediation(enabled=False)
    if not isinstance(doc, dict):
        raise LedgerScenarioError(
            f"{where}: remediation must be a mapping or false",
            path=where,
            field="remediation",
            hint="write remediation: {type: ban, duration: 4h}",
        )
    kind = doc.get("type", "ban")
    if kind not in DECISION_TYPES:
        raise LedgerScenarioError(
            f"{where}: remediation type {kind!r} is not one of {', '.join(DECISION_TYPES)}",
            path=where,
            field="remediation.type",
            hint="use ban, captcha or throttle",
        )
    escalation = None
    inc = doc.get("increment")
    if inc:
        if inc is True:
            inc = {}
        if not isinstance(inc, dict):
            raise LedgerScenarioError(
                f"{where}: remediation.increment must be true or a mapping",
                path=where,
                field="remediation.increment",
                hint="write increment: {factor: 1, maxtime: 1w}",
            )
        try:
            multipliers = tuple(
                float(m) for m in _as_list(inc.get("multipliers"), "multipliers", where)
            )
            factor = float(inc.get("factor", 1.0))
        except (TypeError, ValueError):
            raise LedgerScenarioError(
                f"{where}: increment factor and multipliers must be numbers",
                path=where,
                field="remediation.increment",
                hint="write multipliers: [1, 2, 4]",
            ) from None
        escalation = Escalation(
            factor=factor,
            multipliers=multipliers,
            maxtime=_duration(inc, "maxtime", 7 * 86400.0, where),
        )
    return Remediation(
        type=str(kind),
        duration=_duration(doc, "duration", 4 * 3600.0, where),
        scope=str(doc["scope"]) if doc.get("scope") else None,
        escalation=escalation,
        enabled=bool(doc.get("enabled", True)),
    )


def parse_scenarios(text: str, where: str = "<scenarios>") -> list[Scenario]:
    """Scenarios from YAML text: one document per scenario (``---``) or a list."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise LedgerScenarioError(
            f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}",
            path=where,
            line=line,
            hint="check the indentation and quoting",
        ) from None
    flat: list[Any] = []
    for doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("scenarios"), list):
            flat.extend(doc["scenarios"])
        elif isinstance(doc, list):
            flat.extend(doc)
        else:
            flat.append(doc)
    scenarios = [_scenario(doc, where) for doc in flat]
    names = [s.name for s in scenarios]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise LedgerScenarioError(
            f"{where}: scenario name(s) used twice: {', '.join(duplicates)}",
            path=where,
            hint="give each scenario its own name",
        )
    return scenarios


def load_scenarios(path: Path) -> list[Scenario]:
    """Scenarios from a YAML file, or every ``*.yaml``/``*.yml`` in a directory."""
    files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
    scenarios: list[Scenario] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LedgerInputError(
                f"scenario file {str(file)!r} does not exist", path=str(file), hint="check the path"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerInputError(
                f"cannot read scenario file {str(file)!r}: {exc}",
                path=str(file),
                hint="it must be UTF-8 YAML",
            ) from None
        scenarios.extend(parse_scenarios(text, str(file)))
    return scenarios


# fail2ban filter names → the events our parsers produce for them.
_JAIL_FILTERS: dict[str, EventFilter] = {
    "sshd": EventFilter(domains=frozenset({"ssh"})),
    "pam-generic": EventFilter(domains=frozenset({"pam"})),
    "nginx-http-auth": EventFilter(domains=frozenset({"http"}), kinds=("http_401",)),
    "apache-auth": EventFilter(domains=frozenset({"http"}), kinds=("http_401", "http_403")),
    "nginx-botsearch": EventFilter(domains=frozenset({"http"}), kinds=("http_404",)),
    "apache-noscript": EventFilter(domains=frozenset({"http"}), kinds=("http_404", "http_403")),
    "nginx-limit-req": EventFilter(domains=frozenset({"http"}), kinds=("http_429", "http_503")),
    "nginx-bad-request": EventFilter(domains=frozenset({"http"}), kinds=("http_400",)),
    "suricata": EventFilter(domains=frozenset({"ids"}), kinds=("ids_alert",)),
    "recidive": EventFilter(domains=frozenset({"ssh", "pam", "http", "ids", "app"})),
}
_JAIL_FILTER_NAME = re.compile(r"^\s*(?P<name>[\w.-]+)\s*(?:\[(?P<opts>[^\]]*)\])?\s*$")


def load_jails(text: str, where: str = "<jail.conf>") -> list[Scenario]:
    """fail2ban jails (``jail.conf``/``jail.local`` syntax) as ``window`` scenarios.

    Enabled sections become scenarios named ``f2b/<jail>``; ``[DEFAULT]``
    values apply to every jail.  ``filter`` names one of the filters this
    system implements (``sshd``, ``nginx-http-auth``, ``apache-auth``,
    ``nginx-botsearch``, ``apache-noscript``, ``nginx-limit-req``,
    ``nginx-bad-request``, ``pam-generic``, ``suricata``, ``recidive``); the
    ``mode=`` option of ``sshd`` is chosen where the log is parsed.
    """
    parser = configparser.ConfigParser(
        interpolation=None, inline_comment_prefixes=("#", ";"), strict=False
    )
    try:
        parser.read_string(text, source=where)
    except configparser.Error as exc:
        raise LedgerScenarioError(
            f"{where}: not a valid jail file: {exc.message}",
            path=where,
            hint="jails are INI sections like [sshd]",
        ) from None
    scenarios: list[Scenario] = []
    for section in parser.sections():
        options = parser[section]
        if options.get("enabled", "false").strip().lower() not in ("true", "yes", "1", "on"):
            continue
        here = f"{where} [{section}]"
        flt_text = options.get("filter", section)
        m = _JAIL_FILTER_NAME.match(flt_text)
        if m is None or m["name"] not in _JAIL_FILTERS:
            raise LedgerScenarioError(
                f"{here}: filter {flt_text!r} is not one this system implements",
                path=where,
                field="filter",
                hint=f"use one of {', '.join(sorted(_JAIL_FILTERS))}",
            )
        doc = {k: options.get(k) for k in ("maxretry", "findtime", "bantime")}
        maxretry = _int({"maxretry": doc["maxretry"] or "5"}, "maxretry", 5, here, minimum=1)
        findtime = _duration({"findtime": doc["findtime"] or "10m"}, "findtime", 600.0, here)
        bantime = _duration({"bantime": doc["bantime"] or "10m"}, "bantime", 600.0, here)
        escalation = None
        if options.get("bantime.increment", "false").strip().lower() in ("true", "yes", "1", "on"):
            try:
                factor = float(options.get("bantime.factor", "1"))
                multipliers = tuple(
                    float(x) for x in options.get("bantime.multipliers", "").split()
                )
            except ValueError:
                raise LedgerScenarioError(
                    f"{here}: bantime.factor/multipliers must be numbers",
                    path=where,
                    field="bantime.factor",
                    hint="e.g. bantime.multipliers = 1 2 4 8 16",
                ) from None
            maxtime = options.get("bantime.maxtime")
            escalation = Escalation(
                factor=factor,
                multipliers=multipliers,
                maxtime=_duration({"maxtime": maxtime}, "maxtime", FOREVER, here)
                if maxtime
                else FOREVER,
            )
        scenarios.append(
            Scenario(
                name=f"f2b/{section}",
                type="window",
                filter=_JAIL_FILTERS[m["name"]],
                group_by=("source",),
                capacity=maxretry,
                duration=findtime,
                blackhole=0.0,
                description=f"fail2ban jail [{section}] (filter {flt_text.strip()})",
                remediation=Remediation(
                    type="ban", duration=bantime, scope="Ip", escalation=escalation
                ),
                labels={"jail": section, "filter": flt_text.strip()},
            )
        )
    return scenarios


_DEFAULTS = """
name: cdabl/ssh-bf
description: Brute force on sshd, CrowdSec's crowdsecurity/ssh-bf
type: leaky
filter: {domain: [ssh, pam]}
group_by: source
capacity: 5
leakspeed: 10s
blackhole: 1m
remediation: {type: ban, duration: 4h, increment: {maxtime: 1w}}
---
name: cdabl/ssh-slow-bf
description: Slow brute force on sshd, CrowdSec's crowdsecurity/ssh-slow-bf
type: leaky
filter: {domain: [ssh, pam]}
group_by: source
capacity: 10
leakspeed: 60s
blackhole: 1m
remediation: {type: ban, duration: 4h, increment: {maxtime: 1w}}
---
name: cdabl/http-probing
description: Many distinct missing paths, CrowdSec's crowdsecurity/http-probing
type: leaky
filter: {domain: http, kind: [http_404, http_403, http_400]}
group_by: source
distinct: target
capacity: 10
leakspeed: 10s
blackhole: 5m
remediation: {type: ban, duration: 4h, increment: {maxtime: 1w}}
---
name: cdabl/http-bf
description: Refused web logins (401)
type: leaky
filter: {domain: http, kind: http_401}
group_by: source
capacity: 5
leakspeed: 10s
blackhole: 1m
remediation: {type: ban, duration: 4h}
---
name: cdabl/ids-alert
description: Any high-severity IDS alert (Suricata severity 1)
type: trigger
filter: {domain: ids, kind: ids_alert, fields: {severity: 1}}
group_by: source
blackhole: 1m
remediation: {type: ban, duration: 4h, increment: {maxtime: 1w}}
---
name: cdabl/cross-domain
description: The same source failing ssh and probing the web, counted together
type: leaky
filter: {domain: [ssh, pam, http, ids]}
group_by: source
capacity: 8
leakspeed: 30s
min_domains: 2
blackhole: 5m
remediation: {type: ban, duration: 24h, increment: {maxtime: 4w}}
"""


def default_scenarios() -> list[Scenario]:
    """The scenarios used when none are configured (see ``_DEFAULTS`` above)."""
    return parse_scenarios(_DEFAULTS, "<built-in scenarios>")

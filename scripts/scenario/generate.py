"""Step 1: a day of sshd and web logs from several hosts, generated on paf.

Each host's log is one task on a :class:`parallel_architecture_framework.Client`
(threads by default: spe's generators are vectorised NumPy/Polars, which
release the GIL; ``processes`` works too).  A task asks spe for the host's
table — benign traffic with a daily rhythm, the campaigns at known times from
known sources, every line labelled — writes the log file a daemon would have
written, and returns the ground truth: which addresses attacked, in which
campaign, when.

spe draws campaign sources anywhere in the public IPv4 space and has no way to
ask for a campaign from one subnet, so a campaign with ``subnet`` set has its
sources moved into that /24 here, consistently in the line text and in the
labels (the lines are otherwise spe's, byte for byte).
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from scenario.campaigns import DAY, Campaign, HostLog

__all__ = ["CampaignTruth", "GroundTruth", "HostTruth", "generate_logs", "host_schema"]


@dataclass(frozen=True)
class CampaignTruth:
    """What one campaign really did."""

    id: str
    host: str
    attack: str
    start: str
    end: str
    sources: tuple[str, ...]
    lines: int


@dataclass(frozen=True)
class HostTruth:
    """One host's generated log and what is in it."""

    host: str
    kind: str
    path: str
    lines: int
    attack_lines: int
    lone_attack_lines: int
    campaigns: tuple[CampaignTruth, ...]
    lone_attackers: tuple[str, ...] = ()


@dataclass
class GroundTruth:
    """The labels of the whole day: the offenders a detector should find."""

    hosts: list[HostTruth] = field(default_factory=list)
    executor: str = "threads"

    @property
    def offenders(self) -> set[str]:
        """Every campaign source (lone background attacks are not campaigns)."""
        return {s for h in self.hosts for c in h.campaigns for s in c.sources}

    @property
    def attackers(self) -> set[str]:
        """Every address that sent at least one attack line, campaign or lone."""
        return self.offenders | {s for h in self.hosts for s in h.lone_attackers}

    @property
    def lines(self) -> int:
        return sum(h.lines for h in self.hosts)

    def to_json(self) -> dict[str, Any]:
        return {"executor": self.executor, "hosts": [asdict(h) for h in self.hosts]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GroundTruth:
        hosts = [
            HostTruth(
                **{
                    **h,
                    "campaigns": tuple(
                        CampaignTruth(**{**c, "sources": tuple(c["sources"])})
                        for c in h["campaigns"]
                    ),
                    "lone_attackers": tuple(h.get("lone_attackers", ())),
                }
            )
            for h in data["hosts"]
        ]
        return cls(hosts, str(data.get("executor", "threads")))


def _at(hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(DAY, time(hour, minute))


def host_schema(host: HostLog, seed: int) -> dict[str, Any]:
    """spe's generator schema for one host (one log table named after the host)."""
    total = host.rows + host.attack_lines
    total = round(total / (1 - host.attack_rate))
    return {
        "seed": seed,
        "tables": {
            host.host: {
                "log": host.kind,
                "rows": total,
                "host": host.host,
                "start": datetime.combine(DAY, time()).isoformat(),
                "duration": "1d",
                "attack_rate": host.attack_rate,
                "campaigns": [
                    {
                        "id": c.id,
                        "attack": c.attack,
                        "start": _at(c.start).isoformat(),
                        "duration": c.duration,
                        "share": c.sources * c.lines_per_source / total,
                        "sources": c.sources,
                    }
                    for c in host.campaigns
                ],
            }
        },
    }


def _relocate(frame: pl.DataFrame, campaign: Campaign) -> pl.DataFrame:
    """Move ``campaign``'s sources into its subnet, in ``src_ip`` and in each line."""
    assert campaign.subnet is not None
    network = ipaddress.ip_network(campaign.subnet)
    rows = frame.with_row_index("row").filter(pl.col("campaign") == campaign.id)
    originals = rows["src_ip"].unique(maintain_order=True).to_list()
    mapping = {
        old: str(network.network_address + campaign.subnet_offset + i)
        for i, old in enumerate(originals)
    }
    lines = frame["line"].to_list()
    ips = frame["src_ip"].to_list()
    for row, old in zip(rows["row"].to_list(), rows["src_ip"].to_list(), strict=True):
        lines[row] = lines[row].replace(old, mapping[old], 1)
        ips[row] = mapping[old]
    return frame.with_columns(line=pl.Series(lines), src_ip=pl.Series(ips))


def generate_host(host: HostLog, seed: int, out_dir: str) -> HostTruth:
    """Generate one host's log with spe, write it, return its ground truth (a paf task)."""
    from synthetic_pipeline_engine import generate_tables, parse_generator_schema

    table = generate_tables(parse_generator_schema(host_schema(host, seed)))[host.host]
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    for campaign in host.campaigns:
        if campaign.subnet is not None:
            frame = _relocate(frame, campaign)
    path = Path(out_dir) / f"{host.host}.log"
    path.write_text("\n".join(frame["line"].to_list()) + "\n", encoding="utf-8")
    truths = []
    for campaign in host.campaigns:
        rows = frame.filter(pl.col("campaign") == campaign.id)
        start = _at(campaign.start)
        truths.append(
            CampaignTruth(
                campaign.id,
                host.host,
                campaign.attack,
                start.isoformat() + "Z",
                (start + _duration(campaign.duration)).isoformat() + "Z",
                tuple(sorted(rows["src_ip"].unique().to_list())),
                rows.height,
            )
        )
    attacks = frame.filter(pl.col("is_attack"))
    lone = attacks.filter(pl.col("campaign").is_null())
    return HostTruth(
        host.host,
        host.kind,
        str(path),
        frame.height,
        attacks.height,
        lone.height,
        tuple(truths),
        tuple(sorted(lone["src_ip"].unique().to_list())),
    )


def _duration(text: str) -> timedelta:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return timedelta(seconds=int(text[:-1]) * units[text[-1]])


def generate_logs(
    hosts: tuple[HostLog, ...], seed: int, out_dir: Path, executor: str = "threads"
) -> GroundTruth:
    """Generate every host's log as one paf task each; write ``truth.json`` beside them."""
    from parallel_architecture_framework import Client

    out_dir.mkdir(parents=True, exist_ok=True)
    if executor == "processes":
        # worker processes import this module by name: give them our folder
        here = str(Path(__file__).resolve().parent.parent)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [here, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        )
        if here not in sys.path:
            sys.path.insert(0, here)
    with Client(executor, workers=min(len(hosts), os.cpu_count() or 1)) as client:
        futures = [
            client.submit(generate_host, host, seed + i, str(out_dir))
            for i, host in enumerate(hosts)
        ]
        truths = client.gather(futures)
    truth = GroundTruth(list(truths), executor)
    (out_dir / "truth.json").write_text(json.dumps(truth.to_json(), indent=2), encoding="utf-8")
    return truth

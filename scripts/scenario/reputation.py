"""dsle reputation facts: a /24 whose members keep offending is a bad network.

The offenders found so far become ``offender(ip, net)`` facts; a Datalog
program (dsle's Soufflé subset, with a ``count`` aggregate) derives
``bad_net(net)`` when at least ``min_members`` distinct members of a /24
offended, and ``escalated(ip)`` for every offender inside one.  The ban
policy takes ``escalated`` as context: members of a bad network are banned
longer, since the next address from it is likely the same actor.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["PROGRAM", "Reputation", "derive_reputation"]

PROGRAM = """
// Reputation of networks from the offenders seen (scenario scripts/scenario).
.decl offender(ip:symbol, net:symbol)
.decl members(net:symbol, n:number)
members(N, C) :- offender(_, N), C = count : { offender(_, N) }.
.decl bad_net(net:symbol)
bad_net(N) :- members(N, C), C >= {min_members}.
.decl escalated(ip:symbol)
escalated(I) :- offender(I, N), bad_net(N).
"""


@dataclass(frozen=True)
class Reputation:
    """What the program derived."""

    program: str
    bad_nets: dict[str, int]
    escalated: frozenset[str]
    facts: int


def _net24(address: str) -> str:
    ip = ipaddress.ip_address(address)
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def derive_reputation(offenders: Iterable[str], *, min_members: int = 3) -> Reputation:
    """Run the reputation program over ``offenders``; returns the bad networks and escalations."""
    from dynamic_semantic_lattice_engine import Engine, parse_program

    text = PROGRAM.replace("{min_members}", str(int(min_members)))
    engine = Engine(parse_program(text, source="reputation.dl"))
    facts = sorted({(ip, _net24(ip)) for ip in offenders})
    engine.add_facts("offender", facts)
    engine.run()
    members = {str(net): int(n) for net, n in engine.rows("members")}
    bad = {str(net): members[str(net)] for (net,) in engine.rows("bad_net")}
    escalated = frozenset(str(ip) for (ip,) in engine.rows("escalated"))
    return Reputation(text, dict(sorted(bad.items())), escalated, len(facts))

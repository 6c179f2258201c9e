"""The "is X blocked?" index: longest-prefix match over addresses and ranges.

Decisions on ``Ip`` and ``Range`` scopes live in two radix tries (pytricia,
a C Patricia trie: one for IPv4, one for IPv6); an address is looked up by
longest-prefix match, so ``192.0.2.7`` finds a ban on itself before one on
``192.0.2.0/24``, which it finds before one on ``192.0.0.0/16``.  An
IPv4-mapped IPv6 address (``::ffff:192.0.2.7``) is looked up as IPv4.  Other
scopes (``Username``, ``Country``, ``AS``, custom) are plain hash lookups.

The index holds only what the ledger says is active; expired decisions are
skipped at lookup (a lookup walks up to a shorter prefix when the longest
one only holds expired decisions) and removed by :meth:`BlockIndex.expire`.
"""

from __future__ import annotations

import heapq
import ipaddress
import math
import socket
from collections.abc import Iterable, Iterator

import pytricia  # type: ignore[import-not-found, import-untyped, unused-ignore]  # C extension, no stubs

from cross_domain_autoblocker_ledger._decision import Decision
from cross_domain_autoblocker_ledger.errors import LedgerInputError

__all__ = ["BlockIndex"]

_Slot = dict[int, Decision]


def _prefix(decision: Decision) -> tuple[bool, str]:
    """(is_v6, trie key) of an Ip/Range decision."""
    if decision.scope == "Ip":
        v6 = ":" in decision.value
        return v6, f"{decision.value}/{128 if v6 else 32}"
    return ":" in decision.value, decision.value


class BlockIndex:
    """Active decisions, answering lookups in microseconds."""

    def __init__(self) -> None:
        self._v4 = pytricia.PyTricia(32, socket.AF_INET)
        self._v6 = pytricia.PyTricia(128, socket.AF_INET6)
        self._other: dict[tuple[str, str], _Slot] = {}
        self._slots: dict[str, _Slot] = {}  # trie key -> its slot (exact access without the trie)
        self._by_id: dict[int, Decision] = {}
        self._expiry: list[tuple[float, int]] = []

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, decision_id: object) -> bool:
        return decision_id in self._by_id

    def decisions(self) -> Iterator[Decision]:
        """Every decision held (expired ones not yet swept included)."""
        return iter(list(self._by_id.values()))

    def get(self, decision_id: int) -> Decision | None:
        return self._by_id.get(decision_id)

    def add(self, decision: Decision) -> None:
        """Hold ``decision`` (idempotent by id)."""
        if decision.id in self._by_id:
            return
        self._by_id[decision.id] = decision
        if decision.scope in ("Ip", "Range"):
            v6, key = _prefix(decision)
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = {}
                (self._v6 if v6 else self._v4).insert(key, slot)
            slot[decision.id] = decision
        else:
            self._other.setdefault((decision.scope, decision.value), {})[decision.id] = decision
        if not math.isinf(decision.until):
            heapq.heappush(self._expiry, (decision.until, decision.id))

    def add_many(self, decisions: Iterable[Decision]) -> None:
        for decision in decisions:
            self.add(decision)

    def remove(self, decision_id: int) -> Decision | None:
        """Drop a decision by id; returns it, or ``None`` if it was not held."""
        decision = self._by_id.pop(decision_id, None)
        if decision is None:
            return None
        if decision.scope in ("Ip", "Range"):
            v6, key = _prefix(decision)
            slot = self._slots.get(key)
            if slot is not None:
                slot.pop(decision_id, None)
                if not slot:
                    del self._slots[key]
                    (self._v6 if v6 else self._v4).delete(key)
        else:
            other_key = (decision.scope, decision.value)
            other_slot = self._other.get(other_key)
            if other_slot is not None:
                other_slot.pop(decision_id, None)
                if not other_slot:
                    del self._other[other_key]
        return decision

    def expire(self, now: float) -> list[Decision]:
        """Remove decisions whose ``until`` has passed; returns them."""
        gone: list[Decision] = []
        heap = self._expiry
        while heap and heap[0][0] <= now:
            _, decision_id = heapq.heappop(heap)
            decision = self._by_id.get(decision_id)
            if decision is not None and decision.until <= now:
                self.remove(decision_id)
                gone.append(decision)
        return gone

    def lookup_ip(self, address: str, now: float) -> list[Decision]:
        """Active decisions covering ``address``, from its longest matching prefix.

        Raises:
            LedgerInputError: ``address`` is not an IPv4 or IPv6 address.
        """
        v6 = ":" in address
        if v6 and address[:7].lower() == "::ffff:" and "." in address:
            address, v6 = address[7:], False
        if "/" in address or "\x00" in address:
            self._check_address(address)
        trie = self._v6 if v6 else self._v4
        try:
            slot: _Slot | None = trie.get(address)
        except ValueError:
            self._check_address(address)
            raise  # unreachable: _check_address raised; pytricia refuses no valid address
        if slot is None:
            return []
        found = [d for d in slot.values() if d.until > now]
        if found:  # the common case: one C call, one small dict
            return found
        # The longest prefix only holds expired decisions: walk up to shorter ones.
        key = trie.parent(trie.get_key(address))
        while key is not None:
            found = [d for d in trie.get(key).values() if d.until > now]
            if found:
                return found
            key = trie.parent(key)
        return []

    def lookup(self, scope: str, value: str, now: float) -> list[Decision]:
        """Active decisions on ``scope``/``value`` (``Ip`` by longest-prefix match)."""
        if scope == "Ip":
            return self.lookup_ip(value, now)
        if scope == "Range":
            v6 = ":" in value
            trie = self._v6 if v6 else self._v4
            try:
                key = trie.get_key(value)
            except ValueError:
                raise LedgerInputError(
                    f"{value!r} is not a CIDR range", field="value", hint="write e.g. 192.0.2.0/24"
                ) from None
            while key is not None:
                found = [d for d in trie.get(key).values() if d.until > now]
                if found:
                    return found
                key = trie.parent(key)
            return []
        slot = self._other.get((scope, value))
        if not slot:
            return []
        return [d for d in slot.values() if d.until > now]

    @staticmethod
    def _check_address(address: str) -> None:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise LedgerInputError(
                f"{address!r} is not an IP address",
                field="ip",
                hint="give an IPv4 or IPv6 address such as 192.0.2.1 or 2001:db8::1",
            ) from None

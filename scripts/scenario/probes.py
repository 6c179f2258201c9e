"""The chaos experiment's python probes and actions (Chaos Toolkit ``python`` providers).

They talk to the ledger service only over HTTP, through the fault proxy, as a
bouncer or an auditor would: "decisions stay queryable" asks the CrowdSec
bouncer endpoint about known offenders; "the ledger root stays consistent"
fetches the signed checkpoint, verifies it with the ledger's key, and checks
it is the attested root or an RFC 9162-consistent extension of it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from scenario.ledger_node import NODES

__all__ = ["decisions_queryable", "ledger_root_consistent", "query_time_ms", "restart_node"]


def _get(url: str, timeout: float, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310  # loopback URL we built
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def _blocked(url: str, api_key: str, address: str, timeout: float) -> bool:
    query = urllib.parse.urlencode({"ip": address})
    status, body = _get(f"{url}/v1/decisions?{query}", timeout, {"X-Api-Key": api_key})
    if status != 200:
        return False
    decisions = json.loads(body)
    return isinstance(decisions, list) and any(
        d.get("value") == address and d.get("type") == "ban" for d in decisions
    )


def decisions_queryable(
    url: str, api_key: str, addresses: list[str], timeout: float = 10.0
) -> bool:
    """Every one of ``addresses`` is answered as banned by the bouncer API."""
    return all(_blocked(url, api_key, a, timeout) for a in addresses)


def query_time_ms(url: str, api_key: str, address: str, timeout: float = 10.0) -> dict[str, Any]:
    """One bouncer query's answer and round-trip time (shows the latency the proxy adds)."""
    start = time.perf_counter()
    blocked = _blocked(url, api_key, address, timeout)
    return {"blocked": blocked, "ms": round((time.perf_counter() - start) * 1000, 1)}


def ledger_root_consistent(
    url: str, *, verifier_key: str, origin: str, size: int, root: str, timeout: float = 10.0
) -> bool:
    """The served checkpoint verifies, and is the attested tree or a consistent extension of it."""
    from shared_core.crypto import Checkpoint, NoteVerifier, verify_consistency
    from shared_core.errors import CoreError

    status, note = _get(f"{url}/v1/ledger/checkpoint", timeout)
    if status != 200:
        return False
    try:
        checkpoint, _ = Checkpoint.open(note, [NoteVerifier.parse(verifier_key)], origin=origin)
        if checkpoint.size == size:
            return checkpoint.root_hash.hex() == root
        if checkpoint.size < size:
            return False  # history shrank: never consistent
        query = urllib.parse.urlencode({"size1": size, "size2": checkpoint.size})
        status, body = _get(f"{url}/v1/ledger/proof/consistency?{query}", timeout)
        if status != 200:
            return False
        proof = [bytes.fromhex(p) for p in json.loads(body)["proof"]]
        verify_consistency(size, checkpoint.size, proof, bytes.fromhex(root), checkpoint.root_hash)
    except (CoreError, ValueError, KeyError):
        return False
    return True


def restart_node(name: str) -> dict[str, Any]:
    """Restart a ledger node after it was killed; it replays and verifies its ledger on start."""
    node = NODES[name]
    node.reap()
    pid = node.start()
    return {"node": name, "pid": pid, "starts": node.starts}

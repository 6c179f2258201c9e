"""Witness cosigning of the ledger's checkpoints (C2SP tlog-witness ``add-checkpoint``).

A witness is an independent party that remembers the last checkpoint it saw
of each log and cosigns a new one only if it is consistent with that one
(an RFC 9162 consistency proof).  With cosignatures from witnesses a reader
trusts, a ledger cannot show one history to some readers and another to
others (a *split view*) without a witness noticing.

The protocol, spoken over HTTP to any C2SP witness (universal_attestation_authority's
``uaa witness serve`` is one; nothing of it is imported here)::

    POST <witness>/add-checkpoint
    old <size the witness last cosigned for us>
    <base64 consistency proof hash, one per line>

    <signed checkpoint note>

``200`` answers with cosignature line(s) (``cosignature/v1``); ``409`` with
``text/x.tlog.size`` says which size the witness has (we retry once with a
proof from there).  Each returned line is verified with the witness's key
before the ledger keeps it (:meth:`Ledger.record_cosignature`); the ledger
checks the kept ones again on every open.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cross_domain_autoblocker_ledger._ledger import Ledger
from cross_domain_autoblocker_ledger.errors import LedgerInputError, LedgerIntegrityError
from shared_core.crypto import ALG_COSIGNATURE_V1, Checkpoint, Note, NoteVerifier
from shared_core.errors import CoreError

if TYPE_CHECKING:  # httpx is imported when a witness is actually asked (it is slow to import)
    import httpx

__all__ = ["CosignOutcome", "WitnessEndpoint", "parse_witness_key", "request_cosignatures"]

SIZE_CONTENT_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness the ledger asks: its base URL and its cosignature/v1 verifier key."""

    url: str
    verifier: NoteVerifier

    @property
    def name(self) -> str:
        return self.verifier.name

    @classmethod
    def parse(cls, spec: str) -> WitnessEndpoint:
        """``"URL VERIFIER_KEY"`` (the form universal_attestation_authority's settings use too)."""
        parts = spec.split()
        if len(parts) != 2 or not parts[0].startswith(("http://", "https://")):
            raise LedgerInputError(
                f"witness {spec!r} is not 'URL VERIFIER_KEY'",
                field="witnesses",
                hint="e.g. 'http://witness.example:8080 w1.example+1a2b3c4d+BAAA...'",
            )
        return cls(parts[0].rstrip("/"), parse_witness_key(parts[1]))


def parse_witness_key(text: str) -> NoteVerifier:
    """A witness's verifier key (``name+hash+base64``, cosignature/v1)."""
    try:
        verifier = NoteVerifier.parse(text.strip())
    except CoreError as exc:
        raise LedgerInputError(
            f"witness key {text!r}: {exc.message}",
            field="witnesses",
            hint="copy the key 'uaa witness init' printed",
        ) from None
    if verifier.alg != ALG_COSIGNATURE_V1:
        raise LedgerInputError(
            f"witness key {text!r} is not a cosignature/v1 key",
            field="witnesses",
            hint="a witness signs with a cosignature/v1 (alg 0x04) key",
        )
    return verifier


@dataclass(frozen=True)
class CosignOutcome:
    """What one witness did with the checkpoint: ``cosigned`` or why not."""

    witness: str
    size: int
    cosigned: bool
    detail: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "witness": self.witness,
            "size": self.size,
            "cosigned": self.cosigned,
            "detail": self.detail,
        }


def _body(ledger: Ledger, old: int, size: int, note: bytes) -> bytes:
    proof = ledger.tree.consistency_proof(old, size) if 0 < old < size else []
    lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n").encode() + note


def _ask(
    client: httpx.Client, ledger: Ledger, witness: WitnessEndpoint, size: int, note: bytes
) -> CosignOutcome:
    import httpx

    old = min(ledger.witnessed_size(witness.name), size)
    url = f"{witness.url}/add-checkpoint"
    for _ in range(2):  # a 409 tells us the witness's size: one retry with a proof from there
        try:
            answer = client.post(url, content=_body(ledger, old, size, note))
        except httpx.HTTPError as exc:
            return CosignOutcome(witness.name, size, False, f"unreachable: {exc}")
        if answer.status_code == 409 and answer.headers.get("content-type", "").startswith(
            SIZE_CONTENT_TYPE
        ):
            text = answer.text.strip()
            if not text.isdigit():
                return CosignOutcome(witness.name, size, False, f"409 with a bad size {text!r}")
            seen = int(text)
            if seen > size:
                return CosignOutcome(
                    witness.name,
                    size,
                    False,
                    f"the witness has cosigned size {seen}, more than this ledger holds ({size}):"
                    " another ledger under this origin, or this one was rolled back",
                )
            if seen == old:
                return CosignOutcome(witness.name, size, False, "the witness refused (409)")
            old = seen
            continue
        if answer.status_code != 200:
            detail = answer.text.strip().splitlines()[0] if answer.text.strip() else ""
            return CosignOutcome(witness.name, size, False, f"{answer.status_code} {detail}")
        break
    else:
        return CosignOutcome(witness.name, size, False, "the witness kept answering 409")
    prefix = f"\u2014 {witness.name} "
    lines = [line for line in answer.text.splitlines() if line.startswith(prefix)]
    if not lines:
        return CosignOutcome(witness.name, size, False, "200 without a cosignature line")
    try:
        for line in lines:
            ledger.record_cosignature(size, witness.verifier, line)
    except LedgerIntegrityError as exc:
        return CosignOutcome(witness.name, size, False, exc.message)
    return CosignOutcome(witness.name, size, True)


def request_cosignatures(
    ledger: Ledger,
    witnesses: Sequence[WitnessEndpoint],
    *,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> list[CosignOutcome]:
    """Send the ledger's latest checkpoint to every witness; keep the cosignatures that verify.

    Never raises for a witness that is down or refuses: each outcome says
    what happened, so one bad witness does not stop the others.
    """
    import httpx

    note = ledger.checkpoint()
    size = Checkpoint.from_text(Note.parse(note).text).size
    with httpx.Client(timeout=timeout, transport=transport) as client:
        return [_ask(client, ledger, witness, size, note) for witness in witnesses]

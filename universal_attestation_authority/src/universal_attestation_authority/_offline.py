"""Offline verification of the log: a checkpoint, a tile set and an entry, from files alone.

What :func:`verify_entry_offline` establishes, with no access to the authority:

1. the checkpoint is signed by the log key (and cosigned by ``threshold`` of
   the given witnesses);
2. the tile set hashes to the checkpoint's root (every tile read is checked
   against its neighbours by the hash computation itself);
3. the entry, read from its entry bundle, hashes to the leaf the tiles hold at
   that index, and its inclusion proof (computed from the tiles) verifies
   against the checkpoint's root with shared_core's RFC 9162 verifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared_core.crypto import Checkpoint, NoteVerifier, hash_leaf, open_note, verify_inclusion
from shared_core.errors import CoreError
from universal_attestation_authority._entry import LogEntry
from universal_attestation_authority._log import TransparencyLog
from universal_attestation_authority._tiles import (
    TILE_WIDTH,
    TileFetcher,
    TileHashReader,
    TileRef,
    decode_entry_bundle,
    directory_fetcher,
    tiles_for_size,
)
from universal_attestation_authority.errors import AttestationProofError

__all__ = ["OfflineResult", "export_tiles", "verify_entry_offline"]


@dataclass(frozen=True)
class OfflineResult:
    """A verified entry and the checkpoint it is proven under."""

    checkpoint: Checkpoint
    witnesses: tuple[str, ...]
    index: int
    entry: bytes
    parsed: LogEntry | None
    proof: tuple[bytes, ...]


def verify_entry_offline(
    checkpoint_note: bytes,
    tiles: Path | TileFetcher,  # a directory, or e.g. tiles.http_fetcher(URL)
    index: int,
    *,
    log_keys: Sequence[NoteVerifier],
    witness_keys: Sequence[NoteVerifier] = (),
    witness_threshold: int = 0,
) -> OfflineResult:
    """Verify entry ``index`` against a checkpoint and tiles (see the module docstring).

    Raises:
        AttestationProofError: any step fails; the message says which.
    """
    try:
        verified = open_note(checkpoint_note, [*log_keys, *witness_keys])
        checkpoint = Checkpoint.from_text(verified.text)
    except CoreError as exc:
        raise AttestationProofError(
            f"checkpoint does not verify: {exc.message}",
            hint="pass the log's verifier key with --log-key",
        ) from None
    if (
        checkpoint.origin not in {k.name for k in log_keys}
        or checkpoint.origin not in verified.verified_by
    ):
        raise AttestationProofError(
            f"checkpoint for {checkpoint.origin!r} is not signed by a given log key",
            hint="pass the log's verifier key with --log-key",
        )
    cosigned = tuple(
        sorted({k.name for k in witness_keys}.intersection(verified.cosignature_times))
    )
    if len(cosigned) < witness_threshold:
        raise AttestationProofError(
            f"checkpoint has {len(cosigned)} trusted cosignature(s), {witness_threshold} required"
        )
    fetch = directory_fetcher(tiles) if isinstance(tiles, Path) else tiles
    reader = TileHashReader(checkpoint.size, fetch)
    if not 0 <= index < checkpoint.size:
        raise AttestationProofError(
            f"entry {index} is not in the checkpoint's tree of size {checkpoint.size}"
        )
    try:
        root = reader.root()
        bundle_index, offset = divmod(index, TILE_WIDTH)
        width = min(TILE_WIDTH, checkpoint.size - bundle_index * TILE_WIDTH)
        entries = decode_entry_bundle(fetch(TileRef(-1, bundle_index, width)), expected=width)
        entry = entries[offset]
        leaf = hash_leaf(entry)
        tile_leaf = reader.leaf_hash(index)
        proof = reader.inclusion_proof(index)
    except CoreError as exc:
        raise AttestationProofError(f"entry {index}: {exc.message}", hint=exc.hint) from None
    if root != checkpoint.root_hash:
        raise AttestationProofError(
            "the tiles do not hash to the checkpoint's root",
            hint="the tile set is from another tree",
        )
    if tile_leaf != leaf:
        raise AttestationProofError(f"entry {index} does not hash to the leaf the tiles hold")
    try:
        verify_inclusion(leaf, index, checkpoint.size, proof, checkpoint.root_hash)
    except CoreError as exc:
        raise AttestationProofError(f"entry {index}: {exc.message}", hint=exc.hint) from None
    try:
        parsed: LogEntry | None = LogEntry.from_bytes(entry)
    except CoreError:
        parsed = None
    return OfflineResult(checkpoint, cosigned, index, entry, parsed, tuple(proof))


def export_tiles(log: TransparencyLog, directory: Path) -> int:
    """Write the latest checkpoint and every tile of its tree under ``directory``.

    Returns:
        The exported tree size (0 when nothing is published).
    """
    latest = log.latest()
    if latest is None:
        return 0
    for ref in tiles_for_size(latest.size):
        path = directory / ref.path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(log.tile(ref, size=latest.size))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "checkpoint").write_bytes(latest.note)
    return latest.size

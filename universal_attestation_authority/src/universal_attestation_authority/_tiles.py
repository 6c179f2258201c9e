"""C2SP tlog-tiles: the static layout of a transparency log.

A log of ``size`` entries is published as

* ``checkpoint``: the signed checkpoint note;
* ``tile/<L>/<N>[.p/<W>]``: *hash tiles*.  Tile ``N`` of level ``L`` holds the
  hashes of tree level ``8*L`` (level 0 = leaf hashes) at indexes
  ``N*256 .. N*256+255``, 32 bytes each, concatenated.  A tile at the right
  edge that is not yet full is a *partial* tile of width ``W`` (1..255);
* ``tile/entries/<N>[.p/<W>]``: *entry bundles*, the entries themselves, each
  as a big-endian uint16 length followed by the bytes.

``N`` is written in 3-digit groups, all but the last prefixed with ``x``:
index 1234067 is ``x001/x234/067``.  Full tiles never change, so clients and
caches may keep them forever; partial tiles are replaced as the log grows.

:class:`TileHashReader` is the client side: given a way to fetch tiles (HTTP,
a directory, memory), it computes any subtree hash, the root of a tree size,
and inclusion/consistency proofs, touching only O(log n) tiles; the proofs are
then checked with shared_core's RFC 9162 verifier against a signed checkpoint.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from shared_core.crypto import EMPTY_ROOT, hash_children
from universal_attestation_authority.errors import AttestationLogError, AttestationTileError

__all__ = [
    "HASH_SIZE",
    "MAX_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileHashReader",
    "TileRef",
    "decode_entry_bundle",
    "encode_entry_bundle",
    "encode_tile_index",
    "parse_tile_path",
    "tiles_for_size",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
HASH_SIZE = 32
MAX_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF
_GROUP = re.compile(r"^x\d{3}$")
_LAST = re.compile(r"^\d{3}$")


def encode_tile_index(index: int) -> str:
    """``1234067`` -> ``x001/x234/067``; ``5`` -> ``005``."""
    if index < 0:
        raise AttestationTileError(f"tile index {index} is negative", field="index")
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


@dataclass(frozen=True)
class TileRef:
    """One tile: ``level`` (``-1`` for an entry bundle), ``index`` and ``width`` (1..256)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    @property
    def is_entries(self) -> bool:
        return self.level < 0

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    def path(self) -> str:
        """The tile's path below the log's prefix."""
        level = "entries" if self.is_entries else str(self.level)
        suffix = f".p/{self.width}" if self.is_partial else ""
        return f"tile/{level}/{encode_tile_index(self.index)}{suffix}"


def parse_tile_path(path: str) -> TileRef:
    """Parse ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` (leading ``/`` allowed).

    Raises:
        AttestationTileError: not a canonical tile path.
    """
    parts = path.strip("/").split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise AttestationTileError(
            f"{path[:80]!r} is not a tile path",
            hint="expected tile/<L>/<N>[.p/<W>]",
            path=path[:80],
        )
    level_text, rest = parts[1], parts[2:]
    if level_text == "entries":
        level = -1
    elif re.fullmatch(r"0|[1-9][0-9]?", level_text) and int(level_text) <= MAX_LEVEL:
        level = int(level_text)
    else:
        raise AttestationTileError(
            f"tile level {level_text[:10]!r} is not 0..{MAX_LEVEL} or 'entries'", path=path[:80]
        )
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        width_text = rest[-1]
        if not re.fullmatch(r"[1-9][0-9]{0,2}", width_text) or int(width_text) >= TILE_WIDTH:
            raise AttestationTileError(
                f"partial tile width {width_text[:10]!r} is not 1..255", path=path[:80]
            )
        width = int(width_text)
        rest = [*rest[:-2], rest[-2][:-2]]
    *groups, last = rest
    if not _LAST.match(last) or not all(_GROUP.match(g) for g in groups):
        raise AttestationTileError(
            f"tile index in {path[:80]!r} is not in x001/x234/067 form", path=path[:80]
        )
    if groups and groups[0] == "x000":
        raise AttestationTileError(
            f"tile index in {path[:80]!r} has a leading zero group", path=path[:80]
        )
    index = int("".join(g[1:] for g in groups) + last)
    return TileRef(level, index, width)


def level_width(size: int, level: int) -> int:
    """How many hashes tree level ``8*level`` has in a tree of ``size`` leaves."""
    return size >> (TILE_HEIGHT * level)


def tiles_for_size(size: int) -> list[TileRef]:
    """Every hash tile and entry bundle a log of ``size`` entries publishes."""
    refs: list[TileRef] = []
    level = 0
    while True:
        count = level_width(size, level)
        if count == 0:
            break
        full, partial = divmod(count, TILE_WIDTH)
        refs.extend(TileRef(level, n) for n in range(full))
        if partial:
            refs.append(TileRef(level, full, partial))
        if level == 0:
            refs.extend(TileRef(-1, n) for n in range(full))
            if partial:
                refs.append(TileRef(-1, full, partial))
        if count <= 1:
            break
        level += 1
    return refs


def encode_entry_bundle(entries: Iterable[bytes]) -> bytes:
    """Entries as ``uint16 length || bytes`` each.

    Raises:
        AttestationTileError: an entry is longer than 65535 bytes.
    """
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise AttestationTileError(
                f"entry of {len(entry)} bytes does not fit a bundle (max 65535)"
            )
        out += struct.pack(">H", len(entry)) + entry
    return bytes(out)


def decode_entry_bundle(data: bytes, *, expected: int | None = None) -> list[bytes]:
    """Split a bundle into entries; with ``expected``, insist on that many.

    Raises:
        AttestationTileError: truncated or with the wrong number of entries.
    """
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise AttestationTileError("entry bundle ends inside a length prefix")
        (length,) = struct.unpack_from(">H", data, offset)
        offset += 2
        if offset + length > len(data):
            raise AttestationTileError(
                f"entry {len(entries)} of the bundle claims {length} bytes; only {len(data) - offset} remain"
            )
        entries.append(bytes(data[offset : offset + length]))
        offset += length
        if len(entries) > TILE_WIDTH:
            raise AttestationTileError("entry bundle holds more than 256 entries")
    if expected is not None and len(entries) != expected:
        raise AttestationTileError(
            f"entry bundle holds {len(entries)} entries, expected {expected}"
        )
    return entries


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


TileFetcher = Callable[[TileRef], bytes]


class TileHashReader:
    """Computes tree hashes of a log of ``size`` leaves from its tiles.

    Args:
        size: the tree size (from a verified checkpoint).
        fetch: returns the bytes of a tile; tiles are requested at the width
            the tree of ``size`` has, so a stale or short tile is detected.
    """

    def __init__(self, size: int, fetch: TileFetcher) -> None:
        if size < 0:
            raise AttestationTileError("tree size must be non-negative")
        self.size = size
        self._fetch = fetch
        self._cache: dict[TileRef, bytes] = {}

    def _tile(self, level: int, index: int) -> bytes:
        count = level_width(self.size, level)
        width = min(TILE_WIDTH, count - index * TILE_WIDTH)
        if width <= 0:
            raise AttestationLogError(
                f"tile {level}/{index} does not exist at tree size {self.size}"
            )
        ref = TileRef(level, index, width)
        data = self._cache.get(ref)
        if data is None:
            data = self._fetch(ref)
            if len(data) != width * HASH_SIZE:
                raise AttestationTileError(
                    f"{ref.path()} is {len(data)} bytes, expected {width * HASH_SIZE}",
                    hint="the tile set is incomplete or from another tree size",
                )
            self._cache[ref] = data
        return data

    def node(self, height: int, index: int) -> bytes:
        """The hash of the complete subtree of ``2**height`` leaves number ``index``."""
        level, rest = divmod(height, TILE_HEIGHT)
        first = index << rest
        count = 1 << rest
        tile = self._tile(level, first // TILE_WIDTH)
        offset = first % TILE_WIDTH
        hashes = [
            tile[(offset + i) * HASH_SIZE : (offset + i + 1) * HASH_SIZE] for i in range(count)
        ]
        while len(hashes) > 1:
            hashes = [hash_children(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        return hashes[0]

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves ``[start, end)``, with ``start`` aligned as RFC 9162 splits are."""
        n = end - start
        if n & (n - 1) == 0:
            height = n.bit_length() - 1
            return self.node(height, start >> height)
        k = _largest_power_of_two_below(n)
        return hash_children(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self) -> bytes:
        return EMPTY_ROOT if self.size == 0 else self.subtree(0, self.size)

    def leaf_hash(self, index: int) -> bytes:
        if not 0 <= index < self.size:
            raise AttestationLogError(f"entry {index} is not in a tree of size {self.size}")
        return self.node(0, index)

    def inclusion_proof(self, index: int) -> list[bytes]:
        """RFC 9162 audit path of leaf ``index`` in the tree of ``self.size``."""
        if not 0 <= index < self.size:
            raise AttestationLogError(f"entry {index} is not in a tree of size {self.size}")
        proof: list[bytes] = []
        start, end, m = 0, self.size, index
        while end - start > 1:
            k = _largest_power_of_two_below(end - start)
            if m < k:
                proof.append(self.subtree(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree(start, start + k))
                start += k
                m -= k
        proof.reverse()
        return proof


def _wider_tile(root: Path, ref: TileRef) -> bytes | None:
    """A narrower tile's bytes from a wider one of the same index (tiles only grow).

    A tile set exported at a later tree size holds the full (or a wider partial)
    tile where an older checkpoint needs a partial one; its first ``width``
    hashes (or entries) are exactly the narrower tile.
    """
    if not ref.is_partial:
        return None
    for width in range(TILE_WIDTH, ref.width, -1):
        candidate = root / TileRef(ref.level, ref.index, width).path()
        try:
            data = candidate.read_bytes()
        except OSError:
            continue
        if ref.is_entries:
            return encode_entry_bundle(decode_entry_bundle(data)[: ref.width])
        return data[: ref.width * HASH_SIZE]
    return None


def http_fetcher(base_url: str, *, timeout: float = 10.0) -> TileFetcher:
    """A :data:`TileFetcher` reading tiles from a tlog-tiles HTTP prefix (``<base>/tile/...``).

    Raises (from the fetcher):
        AttestationTileError: the tile is not served (or the server is unreachable).
    """
    import httpx

    base = base_url.rstrip("/")

    def fetch(ref: TileRef) -> bytes:
        url = f"{base}/{ref.path()}"
        try:
            response = httpx.get(url, timeout=timeout)
        except httpx.HTTPError as exc:
            raise AttestationTileError(f"cannot fetch {url}: {exc}", hint="check the URL") from None
        if response.status_code == 404 and ref.is_partial:
            wider = _wider_http(base, ref, timeout)
            if wider is not None:
                return wider
        if response.status_code != 200:
            raise AttestationTileError(
                f"{url} answered {response.status_code}", hint="is this a tlog-tiles prefix?"
            )
        return response.content

    return fetch


def _wider_http(base: str, ref: TileRef, timeout: float) -> bytes | None:
    import httpx

    # A mirror may have dropped the narrower partial tile once the full one existed.
    response = httpx.get(f"{base}/{TileRef(ref.level, ref.index).path()}", timeout=timeout)
    if response.status_code != 200:
        return None
    if ref.is_entries:
        return encode_entry_bundle(decode_entry_bundle(response.content)[: ref.width])
    return response.content[: ref.width * HASH_SIZE]


def directory_fetcher(root: Path) -> TileFetcher:
    """A :data:`TileFetcher` reading a tlog-tiles tree from a directory.

    Raises (from the fetcher):
        AttestationTileError: the tile file is missing.
    """

    def fetch(ref: TileRef) -> bytes:
        path = root / ref.path()
        try:
            return path.read_bytes()
        except FileNotFoundError:
            wider = _wider_tile(root, ref)
            if wider is not None:
                return wider
            raise AttestationTileError(
                f"cannot read tile {str(path)!r}: no such file",
                hint="export the tiles with 'uaa log export DIR' at or after the checkpoint's size",
                path=str(path),
            ) from None
        except OSError as exc:
            raise AttestationTileError(
                f"cannot read tile {str(path)!r}: {exc.strerror}",
                hint="export the tiles with 'uaa log export DIR' at the checkpoint's size",
                path=str(path),
            ) from None

    return fetch

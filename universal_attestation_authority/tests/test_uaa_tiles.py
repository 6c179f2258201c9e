"""C2SP tlog-tiles paths, entry bundles and the tile hash reader."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_core.crypto import MerkleTree, verify_consistency, verify_inclusion
from universal_attestation_authority import (
    AttestationError,
    AttestationTileError,
    TileHashReader,
    TileRef,
    decode_entry_bundle,
    encode_entry_bundle,
    encode_tile_index,
    parse_tile_path,
    tiles_for_size,
)


def tiles_of(tree: MerkleTree) -> dict[TileRef, bytes]:
    """Every hash tile of ``tree``, computed from its stored subtrees."""
    out: dict[TileRef, bytes] = {}
    for ref in tiles_for_size(tree.size):
        if ref.is_entries:
            continue
        height = 8 * ref.level
        first = ref.index * 256
        out[ref] = b"".join(
            tree._subtree((first + i) << height, (first + i + 1) << height)
            for i in range(ref.width)
        )
    return out


class TestPaths:
    @pytest.mark.parametrize(
        ("index", "text"),
        [(0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
    )
    def test_index_encoding(self, index: int, text: str) -> None:
        """Indexes are 3-digit groups, all but the last prefixed with x."""
        assert encode_tile_index(index) == text

    def test_paths_of_full_partial_and_entry_tiles(self) -> None:
        """Full, partial and entry-bundle paths follow the spec."""
        assert TileRef(0, 1234067).path() == "tile/0/x001/x234/067"
        assert TileRef(2, 3, 17).path() == "tile/2/003.p/17"
        assert TileRef(-1, 1000, 5).path() == "tile/entries/x001/000.p/5"

    @pytest.mark.parametrize(
        "bad",
        [
            "tile/0/1",
            "tile/0/x000/001",
            "tile/64/000",
            "tile/0/000.p/256",
            "tile/0/000.p/0",
            "tile/01/000",
            "tiles/0/000",
            "tile/0/x01/000",
        ],
    )
    def test_non_canonical_paths_are_refused(self, bad: str) -> None:
        """Non-canonical tile paths raise AttestationTileError."""
        with pytest.raises(AttestationTileError):
            parse_tile_path(bad)

    @given(
        st.integers(min_value=-1, max_value=63),
        st.integers(min_value=0, max_value=10**12),
        st.integers(min_value=1, max_value=256),
    )
    def test_path_round_trip(self, level: int, index: int, width: int) -> None:
        """parse_tile_path inverts TileRef.path."""
        ref = TileRef(level, index, width)
        assert parse_tile_path(ref.path()) == ref

    @settings(max_examples=150)
    @given(st.text(max_size=60))
    def test_arbitrary_paths_raise_only_our_error(self, text: str) -> None:
        """Arbitrary text either parses or raises AttestationTileError."""
        with contextlib.suppress(AttestationTileError):
            parse_tile_path(text)

    def test_tiles_for_size(self) -> None:
        """A log of 70000 entries publishes 273 full + 1 partial level-0 tiles, one partial level-1, etc."""
        refs = tiles_for_size(70000)
        level0 = [r for r in refs if r.level == 0]
        level1 = [r for r in refs if r.level == 1]
        level2 = [r for r in refs if r.level == 2]
        assert len(level0) == 274
        assert level0[-1].width == 70000 % 256
        assert len(level1) == 2
        assert level1[-1].width == (70000 // 256) % 256
        assert level2 == [TileRef(2, 0, 1)]
        assert len([r for r in refs if r.is_entries]) == 274


class TestEntryBundles:
    @given(st.lists(st.binary(max_size=300), max_size=256))
    def test_round_trip(self, entries: list[bytes]) -> None:
        """Bundles decode to the entries they encode."""
        assert decode_entry_bundle(encode_entry_bundle(entries), expected=len(entries)) == entries

    @settings(max_examples=150)
    @given(st.binary(max_size=200))
    def test_arbitrary_bytes_raise_only_our_error(self, data: bytes) -> None:
        """Arbitrary bytes either decode or raise AttestationTileError."""
        with contextlib.suppress(AttestationTileError):
            decode_entry_bundle(data)

    def test_oversized_entry_is_refused(self) -> None:
        """An entry over 65535 bytes cannot be bundled."""
        with pytest.raises(AttestationTileError):
            encode_entry_bundle([b"x" * 65536])


class TestTileHashReader:
    @pytest.mark.parametrize("size", [1, 2, 255, 256, 257, 511, 1000, 65536, 65537 + 300])
    def test_root_and_proofs_match_the_tree(self, size: int) -> None:
        """Roots and inclusion proofs computed from tiles equal shared_core's tree's."""
        tree = MerkleTree(i.to_bytes(4, "big") for i in range(size))
        tiles = tiles_of(tree)
        fetched: list[TileRef] = []

        def fetch(ref: TileRef) -> bytes:
            fetched.append(ref)
            return tiles[ref]

        reader = TileHashReader(size, fetch)
        assert reader.root() == tree.root()
        for index in {0, size // 2, size - 1}:
            proof = reader.inclusion_proof(index)
            assert proof == tree.inclusion_proof(index)
            verify_inclusion(tree.leaf_hash(index), index, size, proof, tree.root())
        assert len(set(fetched)) <= 3 * 8  # O(log n) tiles, never the whole log

    def test_short_tile_is_detected(self) -> None:
        """A tile of the wrong width (stale or truncated) is an error, not a wrong root."""
        tree = MerkleTree(bytes([i]) for i in range(10))
        tiles = tiles_of(tree)
        reader = TileHashReader(10, lambda ref: tiles[ref][:-32])
        with pytest.raises(AttestationTileError, match="expected 320"):
            reader.root()

    def test_consistency_between_tile_roots(self) -> None:
        """A partial tile is a prefix of its later, wider self: old roots come from new tiles."""
        tree = MerkleTree(bytes([i % 256]) * 3 for i in range(700))
        newer = {(r.level, r.index): data for r, data in tiles_of(tree).items()}

        def prefix_of_newer(ref: TileRef) -> bytes:
            return newer[(ref.level, ref.index)][: ref.width * 32]

        old = TileHashReader(300, prefix_of_newer).root()
        assert old == tree.root(300)
        verify_consistency(300, 700, tree.consistency_proof(300, 700), old, tree.root())

    def test_errors_are_uaa_errors(self) -> None:
        """Asking for a leaf outside the tree is our error."""
        with pytest.raises(AttestationError):
            TileHashReader(3, lambda ref: b"").leaf_hash(3)

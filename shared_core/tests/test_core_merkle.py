"""RFC 9162 Merkle trees: the transparency-dev vectors and hypothesis properties."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_core.crypto import (
    EMPTY_ROOT,
    MerkleTree,
    hash_children,
    hash_leaf,
    verify_consistency,
    verify_inclusion,
)
from shared_core.errors import CryptoError, ValidationError
from shared_core.testing import corpora_dir, corpus_path


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _vectors(kind: str) -> list[Path]:
    base = corpora_dir()
    if base is None:
        return []
    return sorted((base / "merkle" / kind).rglob("*.json"))


def _reference_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162's recursive definition, as an independent oracle."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(
        b"\x01" + _reference_root(leaves[:k]) + _reference_root(leaves[k:])
    ).digest()


@pytest.mark.corpus
class TestVectors:
    def test_corpus_has_all_196_vectors(self) -> None:
        """The corpus holds 98 inclusion and 98 consistency vectors."""
        corpus_path("merkle")
        assert len(_vectors("inclusion")) == 98
        assert len(_vectors("consistency")) == 98

    @pytest.mark.parametrize(
        "path", _vectors("inclusion"), ids=lambda p: p.parent.name + "/" + p.stem
    )
    def test_inclusion_vector(self, path: Path) -> None:
        """Each inclusion vector verifies exactly when it should."""
        v = json.loads(path.read_text())
        args = (
            _b64(v["leafHash"]),
            v["leafIdx"],
            v["treeSize"],
            [_b64(p) for p in v["proof"] or []],
            _b64(v["root"]),
        )
        if v["wantErr"]:
            with pytest.raises(CryptoError):
                verify_inclusion(*args)
        else:
            verify_inclusion(*args)

    @pytest.mark.parametrize(
        "path", _vectors("consistency"), ids=lambda p: p.parent.name + "/" + p.stem
    )
    def test_consistency_vector(self, path: Path) -> None:
        """Each consistency vector verifies exactly when it should."""
        v = json.loads(path.read_text())
        args = (
            v["size1"],
            v["size2"],
            [_b64(p) for p in v["proof"] or []],
            _b64(v["root1"]),
            _b64(v["root2"]),
        )
        if v["wantErr"]:
            with pytest.raises(CryptoError):
                verify_consistency(*args)
        else:
            verify_consistency(*args)


class TestTree:
    def test_empty_root_is_sha256_of_nothing(self) -> None:
        """RFC 9162: the empty tree's head is SHA-256 of the empty string."""
        assert MerkleTree().root() == EMPTY_ROOT == hashlib.sha256(b"").digest()

    def test_known_root_of_rfc6962_leaves(self) -> None:
        """The 8-leaf tree of RFC 6962's test data has the published root."""
        leaves = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ]
        tree = MerkleTree(leaves)
        assert tree.root().hex() == (
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        )
        assert tree.root(3).hex() == (
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"
        )

    def test_leaf_and_node_hash_domain_separation(self) -> None:
        """Leaf and node hashes use the 0x00 and 0x01 prefixes."""
        assert hash_leaf(b"a") == hashlib.sha256(b"\x00a").digest()
        assert (
            hash_children(b"l" * 32, b"r" * 32)
            == hashlib.sha256(b"\x01" + b"l" * 32 + b"r" * 32).digest()
        )

    def test_out_of_range_queries_are_validation_errors(self) -> None:
        """Sizes and indexes beyond the tree are the caller's error, named as such."""
        tree = MerkleTree([b"a", b"b"])
        with pytest.raises(ValidationError):
            tree.root(3)
        with pytest.raises(ValidationError):
            tree.inclusion_proof(2)
        with pytest.raises(ValidationError):
            tree.consistency_proof(3)
        with pytest.raises(ValidationError):
            tree.append_hash(b"short")

    @given(st.lists(st.binary(max_size=8), max_size=70))
    @settings(max_examples=60, deadline=None)
    def test_roots_match_the_rfc_definition_at_every_size(self, leaves: list[bytes]) -> None:
        """Every historical root equals MTH computed from scratch."""
        tree = MerkleTree(leaves)
        for n in range(len(leaves) + 1):
            assert tree.root(n) == _reference_root(leaves[:n])

    @given(st.integers(1, 300), st.data())
    @settings(max_examples=80, deadline=None)
    def test_every_inclusion_proof_verifies(self, size: int, data: st.DataObject) -> None:
        """Inclusion proofs for random leaves of random (historical) sizes verify."""
        tree = MerkleTree(i.to_bytes(4, "big") for i in range(size + 5))
        n = data.draw(st.integers(1, size))
        index = data.draw(st.integers(0, n - 1))
        proof = tree.inclusion_proof(index, n)
        verify_inclusion(tree.leaf_hash(index), index, n, proof, tree.root(n))

    @given(st.integers(1, 300), st.data())
    @settings(max_examples=80, deadline=None)
    def test_every_consistency_proof_verifies(self, size2: int, data: st.DataObject) -> None:
        """Consistency proofs between random non-empty sizes verify."""
        tree = MerkleTree(i.to_bytes(4, "big") for i in range(size2))
        size1 = data.draw(st.integers(1, size2))
        proof = tree.consistency_proof(size1, size2)
        verify_consistency(size1, size2, proof, tree.root(size1), tree.root(size2))

    @given(st.integers(2, 200), st.data())
    @settings(max_examples=80, deadline=None)
    def test_any_flipped_bit_breaks_an_inclusion_proof(
        self, size: int, data: st.DataObject
    ) -> None:
        """Flipping one bit of the proof, the leaf or the root makes verification fail."""
        tree = MerkleTree(i.to_bytes(4, "big") for i in range(size))
        index = data.draw(st.integers(0, size - 1))
        proof = tree.inclusion_proof(index)
        parts = [tree.leaf_hash(index), *proof, tree.root()]
        which = data.draw(st.integers(0, len(parts) - 1))
        bit = data.draw(st.integers(0, 255))
        flipped = bytearray(parts[which])
        flipped[bit // 8] ^= 1 << (bit % 8)
        parts[which] = bytes(flipped)
        with pytest.raises(CryptoError):
            verify_inclusion(parts[0], index, size, parts[1:-1], parts[-1])

    @given(st.integers(2, 200), st.data())
    @settings(max_examples=80, deadline=None)
    def test_any_flipped_bit_breaks_a_consistency_proof(
        self, size2: int, data: st.DataObject
    ) -> None:
        """Flipping one bit of a consistency proof or either root makes verification fail."""
        tree = MerkleTree(i.to_bytes(4, "big") for i in range(size2))
        size1 = data.draw(st.integers(1, size2 - 1))
        proof = tree.consistency_proof(size1, size2)
        parts = [tree.root(size1), *proof, tree.root(size2)]
        which = data.draw(st.integers(0, len(parts) - 1))
        bit = data.draw(st.integers(0, 255))
        flipped = bytearray(parts[which])
        flipped[bit // 8] ^= 1 << (bit % 8)
        parts[which] = bytes(flipped)
        with pytest.raises(CryptoError):
            verify_consistency(size1, size2, parts[1:-1], parts[0], parts[-1])

    def test_subtree_hash_is_a_node_of_the_tree(self) -> None:
        """subtree_hash gives interior nodes; misaligned ranges are refused."""
        leaves = [str(i).encode() for i in range(13)]
        tree = MerkleTree(leaves)
        assert tree.subtree_hash(8, 12) == _reference_root(leaves[8:12])
        assert tree.subtree_hash(8, 13) == _reference_root(leaves[8:13])
        assert tree.subtree_hash(0, 13) == tree.root()
        with pytest.raises(ValidationError):
            tree.subtree_hash(3, 5)
        with pytest.raises(ValidationError):
            tree.subtree_hash(8, 14)

    def test_rebuild_from_leaf_hashes_gives_the_same_tree(self) -> None:
        """A tree rebuilt from stored leaf hashes has the same roots and proofs."""
        tree = MerkleTree(str(i).encode() for i in range(37))
        rebuilt = MerkleTree.from_leaf_hashes(tree.leaf_hash(i) for i in range(37))
        assert rebuilt.root() == tree.root()
        assert rebuilt.inclusion_proof(5, 20) == tree.inclusion_proof(5, 20)

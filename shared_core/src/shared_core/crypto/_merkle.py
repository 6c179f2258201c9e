"""RFC 9162 Merkle trees: an append-only tree and proof verification.

The tree keeps, for every level ``k``, the hash of each complete aligned
subtree of ``2**k`` leaves in one contiguous ``bytearray`` (32 bytes a hash).
Appending a leaf hashes the leaf and then only the subtrees it completes,
amortised two SHA-256 calls per leaf, and never rehashes history.  Because
complete subtrees never change in an append-only log, the same arrays answer
roots, inclusion proofs and consistency proofs for *every* earlier tree size,
each in O(log n) lookups plus at most O(log n) hashes for the ragged right
edge.  Memory is about 64 bytes per leaf.

Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2, with the edge
rules of transparency-dev/merkle (empty proofs, ``size1 == size2``,
``size1 == 0``), and is checked against that project's 196 test vectors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from shared_core.errors import CryptoError, ValidationError

__all__ = [
    "EMPTY_ROOT",
    "MerkleTree",
    "hash_children",
    "hash_leaf",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
_sha256 = hashlib.sha256

EMPTY_ROOT = _sha256(b"").digest()


def hash_leaf(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the RFC 9162 leaf hash."""
    return _sha256(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the RFC 9162 interior node hash."""
    return _sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only RFC 9162 Merkle tree over SHA-256.

    ``append``/``extend`` take leaf *data* and hash it; ``append_hash`` takes an
    already computed leaf hash (e.g. when rebuilding from a store of hashes).
    Every query takes an optional tree size, so proofs for older checkpoints
    come from the same tree.
    """

    __slots__ = ("_levels", "_size")

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        self.extend(leaves)

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> MerkleTree:
        tree = cls()
        for digest in hashes:
            tree.append_hash(digest)
        return tree

    def __len__(self) -> int:
        return self._size

    @property
    def size(self) -> int:
        return self._size

    def append(self, data: bytes) -> int:
        """Add one leaf; returns its index."""
        return self.append_hash(_sha256(b"\x00" + data).digest())

    def append_hash(self, leaf_hash: bytes) -> int:
        """Add one leaf given its RFC 9162 leaf hash; returns its index."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValidationError(
                f"a leaf hash is {HASH_SIZE} bytes, got {len(leaf_hash)}",
                field="leaf_hash",
            )
        levels = self._levels
        index = self._size
        levels[0] += leaf_hash
        node = leaf_hash
        level = 0
        i = index
        while i & 1:
            row = levels[level]
            offset = (i - 1) * HASH_SIZE
            node = _sha256(b"\x01" + row[offset : offset + HASH_SIZE] + node).digest()
            level += 1
            if level == len(levels):
                levels.append(bytearray())
            levels[level] += node
            i >>= 1
        self._size = index + 1
        return index

    def extend(self, leaves: Iterable[bytes]) -> int:
        """Append many leaves; returns the new size."""
        append = self.append_hash
        sha = _sha256
        for data in leaves:
            append(sha(b"\x00" + data).digest())
        return self._size

    def leaf_hash(self, index: int) -> bytes:
        self._check_index(index, self._size)
        offset = index * HASH_SIZE
        return bytes(self._levels[0][offset : offset + HASH_SIZE])

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self._size
        if not 0 <= size <= self._size:
            raise ValidationError(
                f"tree size {size} is outside 0..{self._size}",
                field="tree_size",
                hint="ask for a size the log has reached",
            )
        return size

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not 0 <= index < size:
            raise ValidationError(
                f"leaf index {index} is outside 0..{size - 1}" if size else "the tree is empty",
                field="leaf_index",
            )

    def _subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves ``[start, end)``; ``start`` is aligned to the left part's size."""
        n = end - start
        if n & (n - 1) == 0:  # a complete subtree: stored
            level = n.bit_length() - 1
            offset = (start >> level) * HASH_SIZE
            return bytes(self._levels[level][offset : offset + HASH_SIZE])
        k = _largest_power_of_two_below(n)
        return _sha256(
            b"\x01" + self._subtree(start, start + k) + self._subtree(start + k, end)
        ).digest()

    def subtree_hash(self, start: int, end: int) -> bytes:
        """MTH of leaves ``[start, end)``: a complete aligned subtree, or a tree's ragged right edge.

        ``start`` must be a multiple of the largest power of two below
        ``end - start`` (as every node of an RFC 9162 tree is); tlog-tiles
        serve exactly these hashes.
        """
        if not 0 <= start < end <= self._size:
            raise ValidationError(
                f"leaf range [{start}, {end}) is outside the tree of {self._size}",
                field="range",
            )
        width = end - start
        align = width if width & (width - 1) == 0 else _largest_power_of_two_below(width)
        if start % align:
            raise ValidationError(
                f"leaf range [{start}, {end}) is not a node of the tree", field="range"
            )
        return self._subtree(start, end)

    def root(self, size: int | None = None) -> bytes:
        """The tree head of the first ``size`` leaves (all of them by default)."""
        n = self._check_size(size)
        if n == 0:
            return EMPTY_ROOT
        return self._subtree(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 2.1.3.1)."""
        n = self._check_size(size)
        self._check_index(index, n)
        proof: list[bytes] = []
        start, end, m = 0, n, index
        while end - start > 1:
            k = _largest_power_of_two_below(end - start)
            if m < k:
                proof.append(self._subtree(start + k, end))
                end = start + k
            else:
                proof.append(self._subtree(start, start + k))
                start += k
                m -= k
        proof.reverse()
        return proof

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """The proof that the tree of ``size1`` leaves is a prefix of ``size2`` (RFC 9162 2.1.4.1)."""
        n = self._check_size(size2)
        if not 0 <= size1 <= n:
            raise ValidationError(f"first tree size {size1} is outside 0..{n}", field="size1")
        if size1 in (0, n):
            return []
        proof: list[bytes] = []
        start, end, m, complete = 0, n, size1, True
        while m != end - start:
            k = _largest_power_of_two_below(end - start)
            if m <= k:
                proof.append(self._subtree(start + k, end))
                end = start + k
            else:
                proof.append(self._subtree(start, start + k))
                start += k
                m -= k
                complete = False
        if not complete:
            proof.append(self._subtree(start, end))
        proof.reverse()
        return proof


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise CryptoError(f"{what} is {len(value)} bytes, expected {HASH_SIZE}")


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that ``proof`` implies for ``leaf_hash`` at ``index`` (RFC 9162 2.1.3.2)."""
    if index < 0 or size < 0:
        raise CryptoError("leaf index and tree size must be non-negative")
    if index >= size:
        raise CryptoError(f"leaf index {index} is not below tree size {size}")
    _check_hash(leaf_hash, "leaf hash")
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        _check_hash(p, "proof element")
        if sn == 0:
            raise CryptoError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = _sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise CryptoError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Return if ``proof`` shows the leaf at ``index`` in the tree with ``root``; else raise."""
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if computed != root:
        raise CryptoError(
            "inclusion proof does not lead to the expected root",
            leaf_index=index,
            tree_size=size,
            hint="the entry is not in this tree, or the proof or root is wrong",
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Return if ``proof`` shows the tree of ``size1`` is a prefix of the one of ``size2``; else raise."""
    if size1 < 0 or size2 < 0:
        raise CryptoError("tree sizes must be non-negative")
    if size2 < size1:
        raise CryptoError(f"second tree size {size2} is smaller than the first {size1}")
    if size1 == 0:
        # Every tree extends the empty one, so such a proof proves nothing; the
        # transparency-dev vectors require it to be refused rather than trusted.
        raise CryptoError(
            "a consistency proof from the empty tree proves nothing",
            hint="trust the first non-empty checkpoint, then check consistency from it",
        )
    if size1 == size2:
        if proof:
            raise CryptoError("trees of equal size need an empty consistency proof")
        if root1 != root2:
            raise CryptoError("trees of equal size have different roots: the log forked")
        return
    if not proof:
        raise CryptoError("consistency proof is empty")
    for p in proof:
        _check_hash(p, "proof element")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise CryptoError("consistency proof is longer than expected")
        if fn & 1 or fn == sn:
            fr = _sha256(b"\x01" + c + fr).digest()
            sr = _sha256(b"\x01" + c + sr).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = _sha256(b"\x01" + sr + c).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise CryptoError("consistency proof is shorter than expected")
    if fr != root1:
        raise CryptoError(
            "consistency proof does not lead to the first root",
            hint="the older checkpoint is not a prefix of the newer one: the log may have forked",
        )
    if sr != root2:
        raise CryptoError(
            "consistency proof does not lead to the second root",
            hint="the newer checkpoint does not extend the older one: the log may have forked",
        )

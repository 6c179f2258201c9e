"""Strings shaped by a regular expression, generated for a whole column at once.

The pattern is parsed with the standard library's own regex parser, then
each node produces a block of code points for every row at once: a
``(rows, width)`` matrix plus a per-row length.  Blocks are packed
left-aligned into one UCS-4 matrix that NumPy views as a fixed-width string
array, so a million ``[A-Z]{3}-\\d{4}`` strings cost a few vectorised steps,
not a million Python loops.  Unbounded repeats (``*``, ``+``) are capped.
"""

from __future__ import annotations

import re

# The standard library's own regex parser (private since 3.11, stable in practice).
import re._constants as sre_c  # type: ignore[import-not-found]  # private module, no stubs
import re._parser as sre_parse  # type: ignore[import-not-found]  # private module, no stubs
import string
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthetic_pipeline_engine.errors import PipelineSchemaError

__all__ = ["RegexGenerator"]

MAX_REPEAT = 8
_PRINTABLE = np.array(
    [ord(c) for c in string.ascii_letters + string.digits + " -_.@"], dtype=np.uint32
)
_CATEGORIES = {
    sre_c.CATEGORY_DIGIT: [ord(c) for c in string.digits],
    sre_c.CATEGORY_WORD: [ord(c) for c in string.ascii_letters + string.digits + "_"],
    sre_c.CATEGORY_SPACE: [ord(" ")],
    sre_c.CATEGORY_NOT_DIGIT: [ord(c) for c in string.ascii_letters + "_-"],
    sre_c.CATEGORY_NOT_WORD: [ord(c) for c in "-. @:/"],
    sre_c.CATEGORY_NOT_SPACE: [ord(c) for c in string.ascii_letters + string.digits],
}


@dataclass
class _Block:
    codes: np.ndarray  # (rows, width) uint32
    lengths: np.ndarray  # (rows,) int64


def _charset(items: list[tuple[Any, Any]], pattern: str) -> np.ndarray:
    chars: set[int] = set()
    negate = False
    for op, arg in items:
        if op is sre_c.NEGATE:
            negate = True
        elif op is sre_c.LITERAL:
            chars.add(int(arg))
        elif op is sre_c.RANGE:
            lo, hi = arg
            chars.update(range(int(lo), int(hi) + 1))
        elif op is sre_c.CATEGORY:
            chars.update(_CATEGORIES.get(arg, []))
        else:
            raise PipelineSchemaError(
                f"regex {pattern!r}: unsupported class item {op}",
                hint="use literals, ranges and \\d \\w \\s",
            )
    if negate:
        chars = {int(c) for c in _PRINTABLE} - chars
    chars.discard(0)  # NUL is the padding of the packed matrix; it cannot be generated
    if not chars:
        raise PipelineSchemaError(
            f"regex {pattern!r} has an empty character class", hint="check the brackets"
        )
    return np.array(sorted(chars), dtype=np.uint32)


def _concat(blocks: list[_Block], rows: int) -> _Block:
    if not blocks:
        return _Block(np.zeros((rows, 0), dtype=np.uint32), np.zeros(rows, dtype=np.int64))
    if len(blocks) == 1:
        return blocks[0]
    width = sum(b.codes.shape[1] for b in blocks)
    out = np.zeros((rows, width), dtype=np.uint32)
    offset = np.zeros(rows, dtype=np.int64)
    row_index = np.arange(rows)
    for block in blocks:
        fixed = bool(np.all(block.lengths == block.codes.shape[1]))
        aligned = rows == 0 or bool(np.all(offset == offset[0]))
        if fixed and aligned:
            start = int(offset[0]) if rows else 0
            out[:, start : start + block.codes.shape[1]] = block.codes
        else:
            for j in range(block.codes.shape[1]):
                mask = block.lengths > j
                out[row_index[mask], offset[mask] + j] = block.codes[mask, j]
        offset = offset + block.lengths
    return _Block(out, offset)


class RegexGenerator:
    """Generate strings matching ``pattern`` (anchors are implied)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        try:
            with warnings.catch_warnings():  # "possible nested set" and friends are not errors here
                warnings.simplefilter("ignore", FutureWarning)
                self._tree = sre_parse.parse(pattern)
        except (re.error, RecursionError, OverflowError) as exc:
            raise PipelineSchemaError(
                f"regex {pattern!r} does not compile: {exc}", hint="fix the pattern"
            ) from None
        nodes = list(self._tree)
        for index, (op, arg) in enumerate(nodes):
            if op is sre_c.AT:
                at_start = index == 0 and arg in (sre_c.AT_BEGINNING, sre_c.AT_BEGINNING_STRING)
                at_end = index == len(nodes) - 1 and arg in (sre_c.AT_END, sre_c.AT_END_STRING)
                if not (at_start or at_end):
                    raise PipelineSchemaError(
                        f"regex {pattern!r} has an anchor that is not at its start or end",
                        hint="use ^ and $ only at the ends (they are implied anyway)",
                    )
        self._check([n for n in nodes if n[0] is not sre_c.AT], 0)

    def _check(self, nodes: list[tuple[Any, Any]], depth: int) -> None:
        if depth > 50:
            raise PipelineSchemaError(
                f"regex {self.pattern!r} nests too deeply", hint="simplify the pattern"
            )
        allowed = {
            sre_c.LITERAL,
            sre_c.NOT_LITERAL,
            sre_c.ANY,
            sre_c.IN,
            sre_c.MAX_REPEAT,
            sre_c.MIN_REPEAT,
            sre_c.SUBPATTERN,
            sre_c.BRANCH,
        }
        for op, arg in nodes:
            if op is sre_c.LITERAL and int(arg) == 0:
                raise PipelineSchemaError(
                    f"regex {self.pattern!r} contains a NUL character",
                    hint="remove \\0 from the pattern",
                )
            if op not in allowed:
                raise PipelineSchemaError(
                    f"regex {self.pattern!r} uses {op}, which cannot be generated",
                    hint="use literals, classes, groups, alternation and repeats",
                )
            if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
                self._check(list(arg[2]), depth + 1)
            elif op is sre_c.SUBPATTERN:
                self._check(list(arg[-1]), depth + 1)
            elif op is sre_c.BRANCH:
                for branch in arg[1]:
                    self._check(list(branch), depth + 1)

    def generate(self, rows: int, rng: np.random.Generator) -> np.ndarray:
        """``rows`` matching strings as a NumPy unicode array."""
        block = self._nodes(list(self._tree), rows, rng)
        width = max(block.codes.shape[1], 1)
        codes = np.ascontiguousarray(
            block.codes if block.codes.shape[1] else np.zeros((rows, 1), np.uint32)
        )
        return codes.view(f"<U{width}").reshape(rows)

    def _nodes(self, nodes: list[tuple[Any, Any]], rows: int, rng: np.random.Generator) -> _Block:
        return _concat([self._node(op, arg, rows, rng) for op, arg in nodes], rows)

    def _node(self, op: Any, arg: Any, rows: int, rng: np.random.Generator) -> _Block:
        full = np.ones(rows, dtype=np.int64)
        if op is sre_c.LITERAL:
            return _Block(np.full((rows, 1), int(arg), dtype=np.uint32), full)
        if op is sre_c.NOT_LITERAL:
            pool = _PRINTABLE[int(arg) != _PRINTABLE]
            return _Block(rng.choice(pool, size=(rows, 1)), full)
        if op is sre_c.ANY:
            return _Block(rng.choice(_PRINTABLE, size=(rows, 1)), full)
        if op is sre_c.IN:
            pool = _charset(list(arg), self.pattern)
            return _Block(rng.choice(pool, size=(rows, 1)), full)
        if op is sre_c.AT:
            return _Block(np.zeros((rows, 0), np.uint32), np.zeros(rows, np.int64))
        if op is sre_c.SUBPATTERN:
            return self._nodes(list(arg[-1]), rows, rng)
        if op is sre_c.BRANCH:
            branches = arg[1]
            choice = rng.integers(0, len(branches), size=rows)
            parts = [self._nodes(list(b), rows, rng) for b in branches]
            width = max(p.codes.shape[1] for p in parts)
            codes = np.zeros((rows, width), dtype=np.uint32)
            lengths = np.zeros(rows, dtype=np.int64)
            for i, part in enumerate(parts):
                mask = choice == i
                codes[mask, : part.codes.shape[1]] = part.codes[mask]
                lengths[mask] = part.lengths[mask]
            return _Block(codes, lengths)
        # MAX_REPEAT / MIN_REPEAT
        lo, hi, sub = arg
        lo = int(lo)
        hi = lo + MAX_REPEAT if int(hi) == int(sre_c.MAXREPEAT) else int(hi)
        if hi > 10_000:
            raise PipelineSchemaError(
                f"regex {self.pattern!r} repeats too many times", hint="keep repeats under 10000"
            )
        counts = rng.integers(lo, hi + 1, size=rows) if hi > lo else np.full(rows, lo)
        pieces = []
        for k in range(hi):
            piece = self._nodes(list(sub), rows, rng)
            piece.lengths = np.where(counts > k, piece.lengths, 0)
            pieces.append(piece)
        return _concat(pieces, rows)

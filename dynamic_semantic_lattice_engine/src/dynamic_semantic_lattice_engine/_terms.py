"""Interning of terms to dense integers.

Every symbol the engine sees (an IRI, a literal in N3 form, a Datalog symbol)
is mapped once to a non-negative ``int64`` so relations are plain integer
columns and joins compare machine integers instead of Python strings.  The
mapping is append-only: an id, once given, never changes, which lets relations
built at different times share one dictionary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["TermDictionary"]


class TermDictionary:
    """A bidirectional, append-only map between term strings and ``int64`` ids."""

    __slots__ = ("_ids", "_terms")

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self._ids: dict[str, int] = {}
        self._terms: list[str] = []
        for term in terms:
            self.intern(term)

    def __len__(self) -> int:
        return len(self._terms)

    def __contains__(self, term: object) -> bool:
        return term in self._ids

    def intern(self, term: str) -> int:
        """Return the id of ``term``, assigning the next free id on first sight."""
        found = self._ids.get(term)
        if found is not None:
            return found
        new = len(self._terms)
        self._ids[term] = new
        self._terms.append(term)
        return new

    def intern_many(self, terms: Iterable[str]) -> npt.NDArray[np.int64]:
        """Intern every term and return their ids as one array (order kept)."""
        ids = self._ids
        out: list[int] = []
        append = out.append
        for term in terms:
            found = ids.get(term)
            if found is None:
                found = len(self._terms)
                ids[term] = found
                self._terms.append(term)
            append(found)
        return np.asarray(out, dtype=np.int64)

    def get(self, term: str) -> int | None:
        """The id of ``term`` if it was interned, else ``None`` (never assigns)."""
        return self._ids.get(term)

    def term(self, ident: int) -> str:
        """The term behind ``ident``; raises ``IndexError`` for an unknown id."""
        if ident < 0:
            raise IndexError(ident)
        return self._terms[ident]

    def decode(self, ids: Sequence[int] | npt.NDArray[np.int64]) -> list[str]:
        """The terms behind many ids, in order."""
        terms = self._terms
        return [terms[int(i)] for i in ids]

    def terms(self) -> list[str]:
        """Every interned term, in id order (a copy)."""
        return list(self._terms)

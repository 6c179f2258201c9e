"""Formal Concept Analysis: concept lattices, stem bases and Hasse diagrams.

A formal context is a set of objects, a set of attributes and an incidence
relation.  Intents are enumerated with Ganter's NextClosure in lectic order,
with attribute sets as Python integers used as bitsets (closure = one AND per
object), which keeps the inner loop in machine words.  The stem base
(Duquenne-Guigues basis) is computed from the pseudo-intents with the same
NextClosure over the implication closure.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dynamic_semantic_lattice_engine.errors import LatticeContextError

__all__ = ["Concept", "ConceptLattice", "FormalContext"]

_TRUE = {"1", "x", "X", "true", "True", "yes", "y"}
_FALSE = {"0", "", "false", "False", "no", "n", "-", "."}


class FormalContext:
    """Objects, attributes and which object has which attribute.

    Args:
        objects: object names (unique).
        attributes: attribute names (unique).
        incidence: ``incidence[i]`` is the set of attribute indices object ``i`` has.
    """

    def __init__(
        self, objects: Sequence[str], attributes: Sequence[str], incidence: Sequence[Iterable[int]]
    ) -> None:
        if len(set(objects)) != len(objects):
            raise LatticeContextError("object names repeat", hint="give every object a unique name")
        if len(set(attributes)) != len(attributes):
            raise LatticeContextError(
                "attribute names repeat", hint="give every attribute a unique name"
            )
        if len(incidence) != len(objects):
            raise LatticeContextError(
                "incidence rows do not match the objects", hint="one row per object"
            )
        self.objects = list(objects)
        self.attributes = list(attributes)
        self.rows: list[int] = []
        for row in incidence:
            mask = 0
            for j in row:
                if not 0 <= j < len(attributes):
                    raise LatticeContextError(
                        f"attribute index {j} out of range", hint="check the incidence"
                    )
                mask |= 1 << j
            self.rows.append(mask)
        self.full = (1 << len(attributes)) - 1

    @classmethod
    def from_csv(cls, text: str, *, source: str = "<csv>") -> FormalContext:
        """Read a cross table: header ``,attr1,attr2,...``, then ``object,1,0,...`` rows."""
        try:
            rows = list(csv.reader(io.StringIO(text)))
        except csv.Error as exc:
            raise LatticeContextError(
                f"{source}: not CSV: {exc}", hint="write a comma-separated cross table"
            ) from exc
        rows = [r for r in rows if any(cell.strip() for cell in r)]
        if not rows:
            raise LatticeContextError(
                f"{source}: empty context", hint="first row: ,attr1,attr2,..."
            )
        header = [h.strip() for h in rows[0][1:]]
        if not header:
            raise LatticeContextError(
                f"{source}: no attributes in the header", hint="first row: ,attr1,attr2,..."
            )
        objects: list[str] = []
        incidence: list[list[int]] = []
        for line, row in enumerate(rows[1:], 2):
            if len(row) != len(header) + 1:
                raise LatticeContextError(
                    f"{source}:{line}: {len(row) - 1} cells, the header has {len(header)} attributes",
                    hint="every row needs one cell per attribute",
                )
            cells = []
            for j, cell in enumerate(row[1:]):
                value = cell.strip()
                if value in _TRUE:
                    cells.append(j)
                elif value not in _FALSE:
                    raise LatticeContextError(
                        f"{source}:{line}: cell {value!r} is not a cross (1/x) or blank (0)",
                        hint="mark incidence with 1 or x, absence with 0 or nothing",
                    )
            objects.append(row[0].strip())
            incidence.append(cells)
        return cls(objects, header, incidence)

    @classmethod
    def from_file(cls, path: Path) -> FormalContext:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LatticeContextError(
                f"cannot read {path}: {exc}", hint="give a readable CSV file"
            ) from exc
        return cls.from_csv(text, source=str(path))

    # -- derivation operators --------------------------------------------
    def extent(self, intent: int) -> int:
        """Objects having every attribute in ``intent`` (a bitset over objects)."""
        out = 0
        for i, row in enumerate(self.rows):
            if row & intent == intent:
                out |= 1 << i
        return out

    def intent(self, extent: int) -> int:
        """Attributes shared by every object in ``extent``."""
        acc = self.full
        i = 0
        while extent:
            if extent & 1:
                acc &= self.rows[i]
            extent >>= 1
            i += 1
        return acc

    def closure(self, attrs: int) -> int:
        acc = self.full
        for row in self.rows:
            if row & attrs == attrs:
                acc &= row
        return acc

    def names(self, mask: int, names: Sequence[str]) -> list[str]:
        return [names[i] for i in range(len(names)) if mask >> i & 1]


def _next_closures(n: int, close: Any) -> Iterable[int]:
    """NextClosure (Ganter): every closed set of ``close`` in lectic order."""
    current = close(0)
    yield current
    while current != (1 << n) - 1:
        for i in range(n - 1, -1, -1):
            bit = 1 << i
            if current & bit:
                current &= ~bit
                continue
            candidate = close(current | bit)
            low = bit - 1
            if candidate & ~current & low == 0:  # no new attribute before i: lectically next
                current = candidate
                break
        else:
            return
        yield current


@dataclass(frozen=True)
class Concept:
    """A formal concept: its extent (objects) and intent (attributes)."""

    extent: tuple[str, ...]
    intent: tuple[str, ...]


class ConceptLattice:
    """Every concept of a context, its Hasse diagram and the stem base."""

    def __init__(self, context: FormalContext) -> None:
        self.context = context
        n = len(context.attributes)
        intents = list(_next_closures(n, context.closure))
        self._intents = intents
        self._extents = [context.extent(i) for i in intents]
        self.concepts = [
            Concept(
                tuple(context.names(e, context.objects)),
                tuple(context.names(i, context.attributes)),
            )
            for e, i in zip(self._extents, intents, strict=True)
        ]

    def __len__(self) -> int:
        return len(self.concepts)

    def edges(self) -> list[tuple[int, int]]:
        """Hasse diagram edges ``(lower, upper)``: upper covers lower (extent inclusion)."""
        extents = self._extents
        order = sorted(range(len(extents)), key=lambda k: bin(extents[k]).count("1"))
        out: list[tuple[int, int]] = []
        for a in order:
            ea = extents[a]
            uppers = [b for b in order if b != a and extents[b] & ea == ea and extents[b] != ea]
            for b in uppers:
                eb = extents[b]
                if not any(
                    c != b
                    and extents[c] & ea == ea
                    and extents[c] != ea
                    and eb & extents[c] == extents[c]
                    and extents[c] != eb
                    for c in uppers
                ):
                    out.append((a, b))
        return out

    def stem_base(self) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
        """The Duquenne-Guigues basis: implications premise -> conclusion (conclusion without premise)."""
        ctx = self.context
        n = len(ctx.attributes)
        implications: list[tuple[int, int]] = []

        def l_close(attrs: int) -> int:
            current = attrs
            changed = True
            while changed:
                changed = False
                for premise, conclusion in implications:
                    if (
                        premise & current == premise
                        and premise != current
                        and conclusion & ~current
                    ):
                        current |= conclusion
                        changed = True
            return current

        for pseudo in _next_closures(n, l_close):
            closed = ctx.closure(pseudo)
            if closed != pseudo:
                implications.append((pseudo, closed))
        return [
            (tuple(ctx.names(p, ctx.attributes)), tuple(ctx.names(c & ~p, ctx.attributes)))
            for p, c in implications
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "concepts": [
                {"id": k, "extent": list(c.extent), "intent": list(c.intent)}
                for k, c in enumerate(self.concepts)
            ],
            "edges": [{"lower": a, "upper": b} for a, b in self.edges()],
        }

    def to_dot(self) -> str:
        """The Hasse diagram in Graphviz DOT (top concept at the top)."""
        lines = ["digraph concepts {", "  rankdir=BT;", "  node [shape=box, fontsize=10];"]
        for k, c in enumerate(self.concepts):
            label = "{" + ", ".join(c.intent) + "}\\n" + "{" + ", ".join(c.extent) + "}"
            lines.append(f'  c{k} [label="{_dot_escape(label)}"];')
        for a, b in self.edges():
            lines.append(f"  c{a} -> c{b};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)


def _dot_escape(text: str) -> str:
    return text.replace('"', '\\"')

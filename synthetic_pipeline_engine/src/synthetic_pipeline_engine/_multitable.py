"""Synthesising several related tables at once, keeping their keys intact.

Each table gets its own :class:`GaussianCopula` (key columns excluded from
the model).  Relationships are kept by the numbers that matter to the
consumers of the data: every synthetic foreign key points at a synthetic
parent, and the distribution of *children per parent* is the real one (each
synthetic parent draws its number of children from the real counts, zeros
included).  A child table's further foreign keys pick parents with the real
popularity skew.  Child attributes are not conditioned on their parent's
attributes (SDV's HMA does that, at much higher cost); the report says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped

from synthetic_pipeline_engine._copula import GaussianCopula
from synthetic_pipeline_engine.errors import PipelineInputError

__all__ = ["ForeignKey", "MultiTableSynthesizer"]


@dataclass(frozen=True)
class ForeignKey:
    """``child.column`` references ``parent.parent_column`` (the parent's primary key)."""

    child: str
    column: str
    parent: str
    parent_column: str


@dataclass
class MultiTableSynthesizer:
    """Per-table copulas plus the real children-per-parent distributions."""

    models: dict[str, GaussianCopula]
    primary_keys: dict[str, str]
    foreign_keys: list[ForeignKey]
    rows: dict[str, int]
    order: list[str]
    children_counts: dict[str, list[int]] = field(default_factory=dict)
    popularity: dict[str, list[float]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        tables: Mapping[str, pa.Table],
        *,
        primary_keys: Mapping[str, str],
        foreign_keys: Sequence[ForeignKey],
        seed: int = 0,
    ) -> MultiTableSynthesizer:
        """Fit every table and the relationships between them.

        Raises:
            PipelineInputError: a key names an unknown table or column, a
                primary key is not unique, keys form a cycle, or a foreign
                key value has no parent (the real data violates its own key).
        """
        for table, key in primary_keys.items():
            if table not in tables or key not in tables[table].column_names:
                raise PipelineInputError(
                    f"primary key {table}.{key} does not exist",
                    hint="name an existing table and column",
                )
            column = pl.Series(tables[table].column(key))
            if column.is_duplicated().any() or column.null_count():
                raise PipelineInputError(
                    f"primary key {table}.{key} is not unique and non-null",
                    hint="pick a key column",
                )
        for fk in foreign_keys:
            if fk.child not in tables or fk.column not in tables[fk.child].column_names:
                raise PipelineInputError(
                    f"foreign key {fk.child}.{fk.column} does not exist",
                    hint="name an existing column",
                )
            if primary_keys.get(fk.parent) != fk.parent_column:
                raise PipelineInputError(
                    f"foreign key {fk.child}.{fk.column} must reference the primary key of {fk.parent!r}",
                    hint=f"declare {fk.parent}.{fk.parent_column} as its primary key",
                )
        order = _parents_first(list(tables), foreign_keys)
        models: dict[str, GaussianCopula] = {}
        counts: dict[str, list[int]] = {}
        popularity: dict[str, list[float]] = {}
        for name in order:
            table = tables[name]
            keys = {fk.column for fk in foreign_keys if fk.child == name}
            if name in primary_keys:
                keys.add(primary_keys[name])
            modelled = table.drop([c for c in table.column_names if c in keys])
            if modelled.num_columns:
                models[name] = GaussianCopula.fit(modelled, seed=seed)
            for fk in (f for f in foreign_keys if f.child == name):
                parent_keys = pl.Series(tables[fk.parent].column(fk.parent_column))
                child_keys = pl.Series(table.column(fk.column)).drop_nulls()
                orphans = child_keys.filter(~child_keys.is_in(parent_keys.implode()))
                if orphans.len():
                    raise PipelineInputError(
                        f"{fk.child}.{fk.column} has {orphans.len()} value(s) with no parent in {fk.parent}",
                        hint=f"e.g. {orphans.head(3).to_list()}; fix the data or the key",
                    )
                per_parent = (
                    pl.DataFrame({"k": parent_keys})
                    .join(pl.DataFrame({"k": child_keys}).group_by("k").len(), on="k", how="left")[
                        "len"
                    ]
                    .fill_null(0)
                )
                label = f"{fk.child}.{fk.column}"
                counts[label] = [int(v) for v in per_parent.to_list()]
                total = float(per_parent.sum()) or 1.0
                popularity[label] = sorted(
                    (float(v) / total for v in per_parent.to_list()), reverse=True
                )
        return cls(
            models,
            dict(primary_keys),
            list(foreign_keys),
            {k: v.num_rows for k, v in tables.items()},
            order,
            counts,
            popularity,
            {k: list(v.column_names) for k, v in tables.items()},
        )

    def sample(
        self, *, scale: float = 1.0, seed: int = 0, allow_copies: bool = False
    ) -> dict[str, pa.Table]:
        """Synthetic tables about ``scale`` times the real sizes, keys consistent.

        As for one table, no synthetic row (keys aside) equals a real row unless
        ``allow_copies``; a table too small or discrete for that raises
        :class:`PipelineModelError`.
        """
        if scale <= 0:
            raise PipelineInputError("scale must be positive", hint="e.g. scale=1.0")
        rng = np.random.default_rng(seed)
        out: dict[str, pa.Table] = {}
        for name in self.order:
            links = [fk for fk in self.foreign_keys if fk.child == name]
            driver = links[0] if links else None
            if driver is None:
                rows = round(self.rows[name] * scale)
            else:
                parents = out[driver.parent].num_rows
                real_counts = np.asarray(self.children_counts[f"{driver.child}.{driver.column}"])
                per_parent = (
                    rng.choice(real_counts, size=parents)
                    if real_counts.size
                    else np.zeros(parents, dtype=np.int64)
                )
                rows = int(per_parent.sum())
            model = self.models.get(name)
            table = (
                model.sample(rows, seed=int(rng.integers(0, 2**31)), allow_copies=allow_copies)
                if model
                else pa.table({"__n": pa.nulls(rows)}).drop(["__n"])
            )
            if name in self.primary_keys:
                table = table.append_column(
                    self.primary_keys[name], pa.array(np.arange(1, rows + 1, dtype=np.int64))
                )
            for fk in links:
                parent_keys = out[fk.parent].column(fk.parent_column)
                if fk is driver:
                    index = np.repeat(np.arange(len(parent_keys)), per_parent)
                    rng.shuffle(index)
                else:
                    weights = np.asarray(self.popularity[f"{fk.child}.{fk.column}"])
                    ranked = rng.permutation(len(parent_keys))
                    weights = (
                        np.interp(
                            np.linspace(0, 1, len(parent_keys)),
                            np.linspace(0, 1, weights.size),
                            weights,
                        )
                        if weights.size
                        else np.ones(len(parent_keys))
                    )
                    weights = weights / weights.sum()
                    index = ranked[rng.choice(len(parent_keys), size=rows, p=weights)]
                table = table.append_column(fk.column, parent_keys.take(pa.array(index)))
            out[name] = table.select(self.columns[name])
        return out


def _parents_first(tables: list[str], foreign_keys: Sequence[ForeignKey]) -> list[str]:
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise PipelineInputError(
                f"foreign keys form a cycle through {name!r}", hint="one table must be the root"
            )
        visiting.add(name)
        for fk in foreign_keys:
            if fk.child == name and fk.parent != name:
                if fk.parent not in tables:
                    raise PipelineInputError(
                        f"foreign key names unknown table {fk.parent!r}",
                        hint=f"tables are {', '.join(tables)}",
                    )
                visit(fk.parent)
        visiting.discard(name)
        order.append(name)

    for name in tables:
        visit(name)
    return order

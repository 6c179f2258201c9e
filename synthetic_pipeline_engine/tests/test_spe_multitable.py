"""Several related tables synthesised together with their keys intact."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from synthetic_pipeline_engine import (
    ForeignKey,
    MultiTableSynthesizer,
    PipelineInputError,
    evaluate_privacy,
    generate_tables,
    parse_generator_schema,
)


@pytest.fixture(scope="module")
def shop() -> dict[str, pa.Table]:
    schema = parse_generator_schema(
        {
            "seed": 1,
            "tables": {
                "users": {
                    "rows": 300,
                    "columns": {
                        "id": {"type": "int", "sequence": 1},
                        "income": {
                            "type": "float",
                            "distribution": "lognormal",
                            "mean": 10,
                            "sigma": 0.5,
                        },
                        "tier": {"values": ["a", "b"]},
                    },
                },
                "products": {
                    "rows": 40,
                    "columns": {
                        "sku": {"type": "int", "sequence": 100},
                        "price": {"type": "float", "distribution": "uniform", "min": 1, "max": 99},
                    },
                },
                "orders": {
                    "rows": 2000,
                    "columns": {
                        "oid": {"type": "int", "sequence": 1},
                        "uid": {"foreign_key": "users.id", "cardinality": "zipf", "a": 1.1},
                        "sku": {"foreign_key": "products.sku", "cardinality": "zipf", "a": 1.5},
                        "amount": {
                            "type": "float",
                            "distribution": "lognormal",
                            "mean": 3,
                            "sigma": 1,
                        },
                    },
                },
            },
        }
    )
    return generate_tables(schema)


FKS = [ForeignKey("orders", "uid", "users", "id"), ForeignKey("orders", "sku", "products", "sku")]
PKS = {"users": "id", "products": "sku", "orders": "oid"}


class TestMultiTable:
    def test_keys_consistent_and_cardinality_kept(self, shop: dict[str, pa.Table]) -> None:
        """Every foreign key has a parent; children-per-parent follows the real shape."""
        model = MultiTableSynthesizer.fit(shop, primary_keys=PKS, foreign_keys=FKS)
        out = {k: pl.DataFrame(v) for k, v in model.sample(seed=2).items()}
        assert out["users"].columns == ["id", "income", "tier"]
        assert out["users"].height == 300
        assert out["orders"]["uid"].is_in(out["users"]["id"].implode()).all()
        assert out["orders"]["sku"].is_in(out["products"]["sku"].implode()).all()
        assert out["orders"]["oid"].n_unique() == out["orders"].height
        real = pl.DataFrame(shop["orders"])["uid"].value_counts()["count"].to_numpy()
        syn = out["orders"]["uid"].value_counts()["count"].to_numpy()
        assert np.median(syn) == pytest.approx(np.median(real), abs=1)
        assert syn.max() > 10 * np.median(syn)
        top_real = pl.DataFrame(shop["orders"])["sku"].value_counts()["count"].max() / 2000
        top_syn = out["orders"]["sku"].value_counts()["count"].max() / out["orders"].height
        assert top_syn == pytest.approx(top_real, abs=0.1)
        assert (
            evaluate_privacy(
                shop["orders"].drop(["oid", "uid", "sku"]),
                out["orders"].drop(["oid", "uid", "sku"]).to_arrow(),
            ).exact_copies
            == 0
        )

    def test_scale(self, shop: dict[str, pa.Table]) -> None:
        """scale multiplies root tables; children follow their parents."""
        model = MultiTableSynthesizer.fit(shop, primary_keys=PKS, foreign_keys=FKS)
        out = model.sample(scale=2.0, seed=3)
        assert out["users"].num_rows == 600
        assert 2000 < out["orders"].num_rows < 7000

    def test_bad_keys(self, shop: dict[str, pa.Table]) -> None:
        """Unknown columns, non-unique keys and orphans are input errors."""
        with pytest.raises(PipelineInputError, match="does not exist"):
            MultiTableSynthesizer.fit(shop, primary_keys={"users": "nope"}, foreign_keys=[])
        with pytest.raises(PipelineInputError, match="not unique"):
            MultiTableSynthesizer.fit(shop, primary_keys={"orders": "uid"}, foreign_keys=[])
        broken = dict(shop)
        broken["users"] = shop["users"].slice(0, 10)
        with pytest.raises(PipelineInputError, match="no parent"):
            MultiTableSynthesizer.fit(broken, primary_keys=PKS, foreign_keys=FKS)

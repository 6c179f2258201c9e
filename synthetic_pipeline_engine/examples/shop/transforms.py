"""Python transforms of the shop example: plain functions over Polars DataFrames."""

import polars as pl


def add_value_band(orders: pl.DataFrame, high: float = 200.0) -> pl.DataFrame:
    """Label each order low / mid / high by amount."""
    return orders.with_columns(
        band=pl.when(pl.col("amount") >= high)
        .then(pl.lit("high"))
        .when(pl.col("amount") >= high / 4)
        .then(pl.lit("mid"))
        .otherwise(pl.lit("low"))
    )

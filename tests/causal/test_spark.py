"""The per-cell aggregation runs on Spark through Ibis and matches DuckDB."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

from causal.panel import cell_stats
from causal.simulate import simulate_subscriber_rows

RTOL = 1e-10  # same sums in another engine; only the order of floating-point additions differs


@pytest.mark.spark
def test_cell_stats_on_spark_match_duckdb(to_spark) -> None:
    """Subscriber-month rows registered in the shared local Spark session (tests/conftest.py): the cells equal
    DuckDB's, and so does the fit."""
    rows = simulate_subscriber_rows(30, 8, mean_subscribers=10, starts=(5,), rng=9)
    table = to_spark(rows, f"causal_rows_{uuid.uuid4().hex[:8]}")
    kw = dict(unit="region", time="month", outcome="churned", treat="promo", covariates=("price_index",))
    on_spark = cell_stats(table, **kw)
    on_duckdb = cell_stats(rows, **kw)
    assert on_spark.source == "pyspark"
    pd.testing.assert_frame_equal(on_spark.table.drop(columns=["unit", "time", "cluster"]),
                                  on_duckdb.table.drop(columns=["unit", "time", "cluster"]), rtol=RTOL)
    assert on_spark.table["unit"].astype(int).tolist() == on_duckdb.table["unit"].astype(int).tolist()

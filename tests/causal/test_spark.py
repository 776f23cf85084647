"""The per-cell aggregation runs on Spark through Ibis and matches DuckDB."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

from causal.panel import cell_stats
from causal.simulate import simulate_subscriber_rows

RTOL = 1e-10  # same sums in another engine; only the order of floating-point additions differs


@pytest.mark.spark
def test_cell_stats_on_spark_match_duckdb(tmp_path) -> None:
    """Subscriber-month rows registered in a local Spark session: the cells equal DuckDB's, and so does the fit."""
    ibis = pytest.importorskip("ibis")
    pyspark_sql = pytest.importorskip("pyspark.sql")
    rows = simulate_subscriber_rows(30, 8, mean_subscribers=10, starts=(5,), rng=9)
    spark = (pyspark_sql.SparkSession.builder.master("local[1]").appName("causal-test")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
             .config("spark.sql.warehouse.dir", str(tmp_path / "warehouse")).getOrCreate())
    try:
        con = ibis.pyspark.connect(spark)
        name = f"causal_rows_{uuid.uuid4().hex[:8]}"  # unique: parallel workers may share a warehouse
        table = con.create_table(name, rows, overwrite=True)
        kw = dict(unit="region", time="month", outcome="churned", treat="promo", covariates=("price_index",))
        on_spark = cell_stats(table, **kw)
        on_duckdb = cell_stats(rows, **kw)
        assert on_spark.source == "pyspark"
        pd.testing.assert_frame_equal(on_spark.table.drop(columns=["unit", "time", "cluster"]),
                                      on_duckdb.table.drop(columns=["unit", "time", "cluster"]), rtol=RTOL)
        assert on_spark.table["unit"].astype(int).tolist() == on_duckdb.table["unit"].astype(int).tolist()
        con.drop_table(name)
    finally:
        spark.stop()

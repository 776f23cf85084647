"""The risk-table aggregation runs on Spark through Ibis and equals the DuckDB one."""

from __future__ import annotations

import pandas as pd
import pytest

from survival.kaplan_meier import kaplan_meier_groups
from survival.logrank import logrank_test
from survival.risk_table import risk_table

RTOL = 1e-12  # same integer counts in another engine; KM and log-rank then run on identical arrays


@pytest.mark.spark
def test_risk_table_on_spark_equals_duckdb(telco, to_spark) -> None:
    """Telco rows registered in the shared local Spark session (``ibis.pyspark``, tests/conftest.py): the
    per-contract risk table equals DuckDB's exactly, so do the curves and the log-rank statistic; the Yes/No event
    with ``event_value`` works."""
    rows = telco[["tenure", "Churn", "Contract"]]
    table = to_spark(rows, "telco_survival")  # a temporary view: nothing is written to a warehouse folder
    on_spark = risk_table(table, "tenure", "Churn", event_value="Yes", group="Contract")
    on_duckdb = risk_table(rows, "tenure", "Churn", event_value="Yes", group="Contract")
    pd.testing.assert_frame_equal(on_spark.to_frame(), on_duckdb.to_frame())
    a, b = kaplan_meier_groups(on_spark), kaplan_meier_groups(on_duckdb)
    for g in a:
        pd.testing.assert_frame_equal(a[g].to_frame(), b[g].to_frame(), rtol=RTOL)
    assert logrank_test(on_spark).statistic == pytest.approx(logrank_test(on_duckdb).statistic, rel=RTOL)

"""Fixtures shared by every test package: one local Spark session per test process, used through Ibis."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory):
    """A real local Spark session (2 cores, no UI), its warehouse in a temporary folder; stopped at the end."""
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("retention-tests")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
             .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
             .config("spark.driver.memory", "1g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    yield spark
    spark.stop()


@pytest.fixture(scope="session")
def spark_ibis(spark_session):
    """The Spark session as an Ibis backend (the scale-out path of the framework)."""
    import ibis

    return ibis.pyspark.connect(spark_session)


@pytest.fixture(scope="session")
def to_spark(spark_session, spark_ibis) -> Callable[[pd.DataFrame, str], object]:
    """Register a pandas frame as a Spark temporary view and return it as an Ibis table."""

    def register(frame: pd.DataFrame, name: str):
        spark_session.createDataFrame(frame).createOrReplaceTempView(name)
        return spark_ibis.table(name)

    return register

"""Data access: sources opened in the engine, aggregates pushed down to it, and safe output files.

:mod:`~experiments.data.sources` writes DuckDB SQL directly for files and DataFrames (the CLI starts without Ibis);
:mod:`~experiments.data.engine` does the same through Ibis for any other backend (Spark, a warehouse);
:mod:`~experiments.data.io` writes outputs atomically and never overwrites without ``force``.

May import: :mod:`experiments.errors`, :mod:`experiments.spec`.
"""

from experiments.data.engine import (
    Location,
    MetricColumns,
    aggregate_stats,
    count_duplicates,
    locate,
    maturity_cutoff,
    max_date,
    open_table,
    require_columns,
)
from experiments.data.io import atomic_write_bytes, check_writable, to_json, write_outputs
from experiments.data.sources import DuckDBSource, IbisSource, open_source

__all__ = [
    "DuckDBSource", "IbisSource", "Location", "MetricColumns", "aggregate_stats", "atomic_write_bytes",
    "check_writable", "count_duplicates", "locate", "max_date", "maturity_cutoff", "open_source", "open_table",
    "require_columns", "to_json", "write_outputs",
]

"""``--export``: the per-subscriber feature table with segments, RFM scores and tiers and clusters, for BI tools.

The engine writes it (``COPY ... TO``) to a temporary file; the CLI then writes the bytes through
:func:`experiments.data.io.write_outputs` (no overwrite without ``--force``, atomic rename).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from experiments.data.sources import DuckDBSource, _ident, _literal
from experiments.errors import DataError


def export_formats(path: Path) -> str:
    """``parquet`` or ``csv`` from the file's suffix; a clear error otherwise."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix == ".csv":
        return "csv"
    raise DataError(f"--export {str(path)!r}: unsupported file type {suffix!r}; use .parquet or .csv")


def export_columns(src: DuckDBSource, *, rules=None, rfm: Mapping[str, str] | None = None, fit=None) -> dict[str, str]:
    """The added columns' SQL: ``segment``, ``rfm_r``/``rfm_f``/``rfm_m``/``rfm_tier``, ``cluster``."""
    from experiments.diagnosis.segments import cluster_sql, rfm_sql, segment_sql

    cols: dict[str, str] = {}
    if rules is not None:
        cols["segment"] = segment_sql(src, rules)
    if rfm is not None:
        cols |= rfm_sql(src, **rfm)[0]  # type: ignore[arg-type]
    if fit is not None:
        cols["cluster"] = cluster_sql(src, fit)
    clash = sorted(set(cols) & set(src.columns))
    if clash:
        raise DataError(f"the data already has column(s) {clash}; the export adds columns of these names: rename "
                        "them in the source")
    return cols


def export_bytes(src: DuckDBSource, path: Path, columns: Mapping[str, str]) -> bytes:
    """The table with the added ``columns``, written by DuckDB as Parquet or CSV (by ``path``'s suffix)."""
    fmt = export_formats(path)
    added = "".join(f", {expr} AS {_ident(name)}" for name, expr in columns.items())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"export.{fmt}"
        opts = "(FORMAT parquet)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
        src.con.execute(f"COPY (SELECT *{added} FROM {src.relation}) TO {_literal(str(out))} {opts}")
        return out.read_bytes()

"""Data access: open a source as an Ibis table and compute sufficient statistics in the engine.

Sources are Parquet or CSV files, DuckDB tables (``duckdb:///path/to.db?table=name``), pandas DataFrames, or Ibis
tables of any backend (DuckDB by default, Spark through ``ibis.pyspark`` at scale). Only aggregates come back to
Python: one row per arm (× stratum) with n, Σy, Σy² and the cross-products CUPED needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from experiments.data.engines import EngineTable, open_engine_table, parse_engine_url, unsupported_scheme
from experiments.errors import DataError, close_matches

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd


def _duckdb():
    import ibis

    con = ibis.duckdb.connect()
    con.raw_sql("SET enable_progress_bar = false")  # the CLI draws its own progress; DuckDB's would garble it
    return con


def open_table(source: Any, *, base_dir: str | Path | None = None) -> ir.Table:
    """Open ``source`` as an Ibis table without reading its rows.

    Parameters
    ----------
    source : str, Path, EngineTable, pandas.DataFrame or ibis Table
        ``*.parquet``, ``*.csv`` (a glob is allowed), ``duckdb:///path/to.db?table=name``, ``spark://MASTER/db.table``,
        ``sqlite:///path.db?table=name`` or a design's ``engine:`` table (:mod:`experiments.data.engines`), a
        DataFrame (registered on an in-memory DuckDB, not copied or modified) or an Ibis table, returned unchanged.
    base_dir : str or Path, optional
        Folder that relative paths are resolved against (the design file's folder).

    Raises
    ------
    DataError
        The file does not exist, the suffix is not supported, or the DuckDB table is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> t = open_table(pd.DataFrame({"arm": ["a", "b"], "y": [0, 1]}))
    >>> sorted(t.columns)
    ['arm', 'y']
    """
    import ibis
    import ibis.expr.types as ir
    import pandas as pd

    if isinstance(source, ir.Table):
        return source
    if isinstance(source, pd.DataFrame):
        return _duckdb().create_table(ibis.util.gen_name("frame"), source, temp=True)
    engine = engine_table(source, base_dir=base_dir)
    if engine is not None:
        return open_engine_table(engine)
    where = locate(source, base_dir=base_dir)
    if where.format == "duckdb":
        con = ibis.duckdb.connect(str(where.path), read_only=True)
        if where.table not in con.list_tables():
            raise DataError(f"DuckDB database {str(where.path)!r} has no table {where.table!r}"
                            f"{close_matches(where.table or '', con.list_tables())}")
        return con.table(where.table)
    con = _duckdb()
    try:
        if where.format == "parquet":
            return con.read_parquet(str(where.path))
        return con.read_csv(str(where.path))
    except Exception as exc:  # the engine's own message says what is wrong with the file
        raise DataError(f"cannot read {str(where.path)!r}: {str(exc).splitlines()[0]}") from None


def engine_table(source: Any, *, base_dir: str | Path | None = None) -> EngineTable | None:
    """The engine table ``source`` names (``spark://``, ``sqlite://``, an ``engine:`` block), or None for a file.

    Examples
    --------
    >>> engine_table("spark://local[2]/db.outcomes").table
    'db.outcomes'
    >>> engine_table("outcomes.parquet") is None
    True
    """
    if isinstance(source, EngineTable):
        return source
    if isinstance(source, str) and source.startswith(("spark://", "sqlite://")):
        return parse_engine_url(source, base_dir=base_dir)
    return None


@dataclass(frozen=True, slots=True)
class Location:
    """Where a file or database source is, once checked.

    Attributes
    ----------
    format : {"parquet", "csv", "duckdb"}
        How to read it.
    path : Path
        The file, folder (Parquet: every ``*.parquet`` below it), glob, or DuckDB database file.
    table : str or None
        The table of a DuckDB database.
    """

    format: str
    path: Path
    table: str | None = None


def locate(source: str | Path, *, base_dir: str | Path | None = None) -> Location:
    """Resolve a design's ``data.source`` (relative to ``base_dir``) and check that it exists and can be read.

    Raises
    ------
    DataError
        The file or database does not exist, the scheme or suffix is not supported, or a DuckDB URL names no table.

    Examples
    --------
    >>> locate("duckdb:///tmp/x.db")
    Traceback (most recent call last):
    ...
    experiments.errors.DataError: source 'duckdb:///tmp/x.db': name the table, e.g. duckdb:///path/to.db?table=outcomes
    """
    text = str(source)
    if text.startswith("duckdb://"):
        db, _, query = text.removeprefix("duckdb://").partition("?")
        table = parse_qs(query).get("table", [None])[0]
        if not table:
            raise DataError(f"source {text!r}: name the table, e.g. duckdb:///path/to.db?table=outcomes")
        path = Path(db)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.exists():
            raise DataError(f"DuckDB database {str(path)!r} does not exist; check the source URL")
        return Location("duckdb", path, table)
    if text.startswith(("spark://", "sqlite://")) or isinstance(source, EngineTable):
        raise DataError(f"source {text!r}: this step reads files and DuckDB tables only; export the table to "
                        "Parquet (or a DuckDB file) and pass its path")
    if "://" in text:
        raise unsupported_scheme(text)
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    is_glob = any(ch in path.name for ch in "*?[")
    if not is_glob and not path.exists():
        raise DataError(f"data source {str(path)!r} does not exist; check data.source in the design "
                        "(relative paths are relative to the design file) or pass --data")
    suffix = path.suffix.lower()
    if path.is_dir() and not is_glob:
        if next(path.rglob("*.parquet"), None) is None:
            raise DataError(f"data source {str(path)!r} is a folder with no .parquet files below it; pass the "
                            ".csv or .parquet file itself (or a folder of Parquet files)")
        return Location("parquet", path / "**" / "*.parquet")
    if suffix == ".parquet":
        if not is_glob:
            check_file(path, "parquet")
        return Location("parquet", path)
    if suffix in {".csv", ".tsv"} or text.endswith(".csv.gz"):
        if not is_glob and suffix != ".gz":
            check_file(path, "csv")
        return Location("csv", path)
    raise DataError(f"data source {str(path)!r}: unsupported file type {suffix!r}; use .parquet or .csv")


#: bytes read from the start of a file to recognise what it really is
_HEAD = 1 << 16
_MAGIC = {b"PK\x03\x04": "an Excel workbook (.xlsx, a zip archive)", b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)",
          b"PAR1": "a Parquet file", b"\x1f\x8b": "a gzip archive", b"SQLite format": "an SQLite database"}


def check_file(path: Path, fmt: str) -> None:
    """Refuse, with the fix, a file that cannot be what its name says, reading only its first 64 KiB.

    Catches what users often hand over: an empty (0-byte) file, an Excel workbook or Parquet file named ``.csv``, a
    CSV in a legacy encoding (GBK/GB18030 from a Chinese Excel, or UTF-16), a CSV with a header and no rows, and a
    ``.parquet`` that is not Parquet.

    Raises
    ------
    DataError
        Naming the file, what it is, and what to do.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = f.write_bytes("id,城市\\n1,北京\\n".encode("gbk"))
    >>> check_file(f, "csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    experiments.errors.DataError: data source '...x.csv' is not UTF-8 text ...
    """
    if not path.is_file():
        return
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"data source {str(path)!r} is empty (0 bytes); export the data again (a header row, then "
                        "one row per unit)")
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
    kind = next((what for magic, what in _MAGIC.items() if head.startswith(magic)), None)
    if fmt == "parquet":
        if kind != "a Parquet file":
            found = kind or ("text" if _utf8_prefix(head)[0] else "not Parquet")
            raise DataError(f"data source {str(path)!r} is named .parquet but is {found}; write it with "
                            "DataFrame.to_parquet (or name a CSV file .csv)")
        return
    if kind is not None:
        fix = ("save it as CSV (File > Save As > 'CSV UTF-8') or as Parquet" if "Excel" in kind
               else "give it the matching suffix (.parquet) or export it as CSV")
        raise DataError(f"data source {str(path)!r} is {kind}, not CSV text; {fix}")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"data source {str(path)!r} is UTF-16 text, not UTF-8; re-save it as 'CSV UTF-8' "
                        "(or iconv -f UTF-16 -t UTF-8)")
    _, text, err = _utf8_prefix(head, complete=size <= _HEAD)
    if err is not None:
        line = head[:err.start].count(b"\n") + 1
        try:
            head[:err.start + 64].decode("gb18030")
            guess = "it looks GBK/GB18030-encoded (a Chinese Excel or Windows export): "
        except UnicodeDecodeError:
            guess = ""
        raise DataError(f"data source {str(path)!r} is not UTF-8 text (byte {head[err.start]:#04x} on line {line}); "
                        f"{guess}re-save it as 'CSV UTF-8', e.g. iconv -f GBK -t UTF-8 in.csv > out.csv")
    if size <= _HEAD and sum(1 for ln in text.splitlines() if ln.strip()) <= 1:
        raise DataError(f"data source {str(path)!r} has a header row but no data rows; export the rows too, "
                        "or check the filter that produced it")


def _utf8_prefix(head: bytes, complete: bool = False) -> tuple[bool, str, UnicodeDecodeError | None]:
    """Whether ``head`` is UTF-8 (a character cut at the end of a partial read is allowed)."""
    try:
        return True, head.decode("utf-8"), None
    except UnicodeDecodeError as err:
        if not complete and err.start >= len(head) - 3 and err.reason == "unexpected end of data":
            return True, head[:err.start].decode("utf-8"), None
        return False, "", err


def check_id_type(dtype: str, column: str, key: str) -> None:
    """Refuse a unit-id column read as floating point: ids beyond about 15 digits lose their last digits there.

    Raises
    ------
    DataError
        Naming the column and the key that names it.
    """
    if str(dtype).lower() in {"double", "float", "float64", "float32", "real"}:
        raise DataError(f"column {column!r} ({key}) was read as {str(dtype).lower()} numbers: ids that long, or "
                        "with decimals, lose digits and collide; store the ids as text (e.g. a Parquet string "
                        "column, or a letter prefix in the CSV) or as 64-bit integers")


def require_columns(table: ir.Table, columns: Mapping[str, str | None], source: str = "data") -> None:
    """Raise :class:`DataError` naming the first missing column, with close matches.

    ``columns`` maps the design key (e.g. ``"metrics[churn_90d].column"``) to the column it names.
    """
    present = list(table.columns)
    for key, col in columns.items():
        if col is not None and col not in present:
            raise DataError(f"{source} has no column {col!r} (named by {key}){close_matches(col, present)}; "
                            f"columns are: {', '.join(present[:30])}{' ...' if len(present) > 30 else ''}")


@dataclass(frozen=True, slots=True)
class MetricColumns:
    """What to aggregate for one metric.

    Attributes
    ----------
    name : str
        Metric name, used as the prefix of the aggregate columns.
    column : str
        Outcome column.
    covariate : str or None
        CUPED covariate column (pre-period value of the metric, typically).
    binary : bool
        Whether values must be 0/1 (booleans allowed); others are counted as ``bad`` for the caller to report.
    mature_before : date or None
        Only units assigned on or before this date count (the maturity rule); None counts all.
    """

    name: str
    column: str
    covariate: str | None = None
    binary: bool = False
    mature_before: date | None = None


def maturity_cutoff(as_of: date | datetime, maturity_days: int | None) -> date | None:
    """The last assignment date whose units have been observed for ``maturity_days`` by ``as_of``.

    Examples
    --------
    >>> maturity_cutoff(date(2026, 10, 1), 90)
    datetime.date(2026, 7, 3)
    """
    if maturity_days is None:
        return None
    day = as_of.date() if isinstance(as_of, datetime) else as_of
    return day - timedelta(days=maturity_days)


def aggregate_stats(
    table: ir.Table,
    *,
    arm: str,
    metrics: Sequence[MetricColumns],
    assigned_at: str | None = None,
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Per arm (× ``by``) sufficient statistics for every metric, computed by the engine in one pass.

    Parameters
    ----------
    table : ibis Table
        The outcome rows, one per unit.
    arm : str
        Column with arm labels.
    metrics : sequence of MetricColumns
        What to aggregate.
    assigned_at : str, optional
        Assignment-date column, needed when a metric has ``mature_before``.
    by : sequence of str
        Extra grouping columns (strata).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``arm``, the ``by`` columns, ``units`` (all rows), and per metric ``m``:
        ``m__n`` (units counted), ``m__nulls`` (missing outcome or covariate among those), ``m__bad`` (non-0/1 values
        of a binary metric), ``m__sum``, ``m__sum_sq``; with a covariate also ``m__x_sum``, ``m__x_sum_sq``,
        ``m__xy_sum``. Missing values are excluded from the sums and counted in ``m__nulls``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = open_table(pd.DataFrame({"arm": ["a", "a", "b"], "y": [1, 0, 1]}))
    >>> aggregate_stats(t, arm="arm", metrics=[MetricColumns("m", "y", binary=True)])[["arm", "m__n", "m__sum"]]
      arm  m__n  m__sum
    0   a     2     1.0
    1   b     1     1.0
    """
    import ibis

    aggs: dict[str, Any] = {"units": table.count()}
    for m in metrics:
        y = table[m.column].cast("float64")
        finite = ibis.literal(float("inf"))  # NaN and ±inf count as missing: NaN < inf is false in SQL engines
        ok = y.notnull() & (y.abs() < finite)
        if m.covariate is not None:
            x = table[m.covariate].cast("float64")
            ok = ok & x.notnull() & (x.abs() < finite)
        counted = ibis.literal(True)
        if m.mature_before is not None:
            if assigned_at is None:
                raise DataError(f"metric {m.name!r} has a maturity rule but no assigned_at column is given")
            counted = table[assigned_at].cast("date") <= ibis.literal(m.mature_before)
        use = counted & ok
        p = f"{m.name}__"
        aggs[p + "n"] = use.cast("int64").sum()
        aggs[p + "nulls"] = (counted & ~ok).cast("int64").sum()
        if m.binary:
            aggs[p + "bad"] = (use & ~y.isin([0.0, 1.0])).cast("int64").sum()
        aggs[p + "sum"] = use.ifelse(y, 0.0).sum()
        aggs[p + "sum_sq"] = use.ifelse(y * y, 0.0).sum()
        if m.covariate is not None:
            aggs[p + "x_sum"] = use.ifelse(x, 0.0).sum()
            aggs[p + "x_sum_sq"] = use.ifelse(x * x, 0.0).sum()
            aggs[p + "xy_sum"] = use.ifelse(x * y, 0.0).sum()
    keys = [table[arm].cast("string").name("arm"), *by]
    df = table.group_by(keys).aggregate(**aggs).execute()
    df = df.sort_values(["arm", *by], kind="stable").reset_index(drop=True)
    for col in df.columns:
        if col.endswith(("__n", "__nulls", "__bad")) or col == "units":
            df[col] = df[col].fillna(0).astype("int64")
        elif "__" in col:
            df[col] = df[col].fillna(0.0).astype("float64")
    return df


BITMAP_MAX_RANGE = 1 << 30  # 128 MiB of bits: above this id range the engine's COUNT(DISTINCT) is used


def count_duplicates(table: ir.Table, unit: str) -> tuple[int, int, int]:
    """Return ``(rows, distinct non-null units, null units)``, computed by the engine.

    On DuckDB with integer ids spanning at most :data:`BITMAP_MAX_RANGE` values, distinct ids are counted with
    ``bit_count(bitstring_agg(id, min, max))`` — a bitmap instead of a hash table, several times faster and
    smaller than ``COUNT(DISTINCT)`` at 10M rows; elsewhere ``COUNT(DISTINCT)`` runs on the table's own backend.
    """
    import ibis

    col = table[unit]
    integer = col.type().is_integer()
    aggs = {"rows": table.count(), "nulls": col.isnull().cast("int64").sum()}
    if integer:
        aggs.update(lo=col.min(), hi=col.max())
    head = table.aggregate(**aggs).execute().iloc[0]
    rows, nulls = int(head["rows"]), int(head["nulls"] or 0)
    if rows == nulls:
        return rows, 0, nulls
    backend = table.get_backend() if hasattr(table, "get_backend") else None
    if (backend is not None and integer and getattr(backend, "name", "") == "duckdb"
            and int(head["hi"]) - int(head["lo"]) < BITMAP_MAX_RANGE):
        lo, hi = int(head["lo"]), int(head["hi"])
        inner = ibis.to_sql(table.select(col.name("u")).filter(col.notnull()), dialect="duckdb")
        distinct = backend.raw_sql(f"SELECT bit_count(bitstring_agg(u, {lo}, {hi})) FROM ({inner})").fetchone()[0]
    else:
        distinct = col.nunique().execute()
    return rows, int(distinct), nulls


def max_date(table: ir.Table, column: str) -> date | None:
    """The latest value of a date/timestamp column, or None for an empty table."""
    value = table[column].cast("date").max().execute()
    if value is None or value != value:
        return None
    return value.date() if isinstance(value, datetime) else value

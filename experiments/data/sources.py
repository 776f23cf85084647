"""Where the analysis's sums are computed: DuckDB directly, or any Ibis backend.

:func:`open_source` turns a design's ``data.source`` (or a DataFrame, or an Ibis table) into a :class:`Source`, the
small interface :func:`experiments.analyze.analyze` needs: column names and kinds, the latest date of a column, and
the per-arm (× stratum) sufficient statistics in one engine pass, with the duplicate-id check folded into that pass
where the engine allows it.

Two implementations, tested to give the same numbers:

- :class:`DuckDBSource` (files, ``duckdb:///db?table=``, pandas DataFrames): plain DuckDB SQL, no Ibis or pandas
  import. This is the default engine's fast path: ``retention analyze`` on 10M rows is one scan of the file, and the
  process starts in a fraction of the time Ibis's SQL compilers take to import.
- :class:`IbisSource` (any Ibis table: DuckDB, Spark, a warehouse): the same sums as Ibis expressions
  (:func:`experiments.data.aggregate_stats`), run on the table's own backend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from experiments.data.engine import BITMAP_MAX_RANGE, MetricColumns, engine_table, locate
from experiments.data.engines import open_engine_table
from experiments.errors import DataError, close_matches

if TYPE_CHECKING:
    import duckdb

Kind = Literal["numeric", "boolean", "temporal", "string", "other"]




@dataclass(frozen=True, slots=True)
class UnitCheck:
    """Counts behind the duplicate-id check.

    Attributes
    ----------
    rows : int
        Rows in the table.
    distinct : int
        Distinct non-missing ids.
    nulls : int
        Rows whose id is missing.
    """

    rows: int
    distinct: int
    nulls: int


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _duckdb_kind(type_name: str) -> Kind:
    t = type_name.upper()
    if t == "BOOLEAN":
        return "boolean"
    if t in {"VARCHAR", "TEXT", "STRING"} or t.startswith("ENUM"):
        return "string"
    if t.startswith(("DATE", "TIMESTAMP", "TIME")):
        return "temporal"
    if t.startswith("DECIMAL") or t in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                                         "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL"}:
        return "numeric"
    return "other"


_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "UHUGEINT"}


_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8"}


def _missing_sql(column: str, types: dict[str, str]) -> str:
    """``column IS NULL``, and for floating-point columns also NaN and ±inf (not numbers a mean can use)."""
    if types[column].upper() in _FLOAT_TYPES:
        return f"({_ident(column)} IS NULL OR NOT isfinite({_ident(column)}))"
    return f"{_ident(column)} IS NULL"


def _metric_missing_sql(m: MetricColumns, types: dict[str, str]) -> str:
    """A row the metric cannot use: its outcome, or its covariate, is missing (:func:`_missing_sql`)."""
    missing = _missing_sql(m.column, types)
    return missing if m.covariate is None else f"({missing} OR {_missing_sql(m.covariate, types)})"


def _metric_sql(m: MetricColumns, assigned_at: str | None, types: dict[str, str]) -> list[str]:
    """Aggregate expressions of one metric, named as :func:`experiments.data.aggregate_stats` names them.

    Written for a single fast scan: integer and boolean outcomes are summed without a cast, the 0/1 check of an
    integer or boolean column is its minimum and maximum (a float column is compared with 0 and 1), and Σy² of a
    binary metric is not computed (it equals Σy once the check passes; :meth:`DuckDBSource.aggregate` fills it in).
    Without a maturity rule there is no per-row filter at all: the scan counts the non-missing values
    (``count(col)``, read from the validity mask), and NaN and ±inf in a float column show as a sum that is not
    finite (they propagate through ``sum``); only then does :meth:`DuckDBSource.aggregate` count the missing values
    exactly in a second query (:func:`_finish_row` leaves ``nulls`` as None). ``n`` is ``units - nulls``. With
    missing values or non-0/1 values the sums are not meaningful: the analysis stops on the counts first.
    """
    col_type = types[m.column].upper()
    exact = col_type in _INTEGER_TYPES or col_type == "BOOLEAN"
    # a 0/1 integer column is summed as it is (exact, no cast); anything else as DOUBLE (no integer overflow in y²)
    y = _ident(m.column) if m.binary and col_type in _INTEGER_TYPES else f"CAST({_ident(m.column)} AS DOUBLE)"
    missing = _metric_missing_sql(m, types)
    x = None if m.covariate is None else f"CAST({_ident(m.covariate)} AS DOUBLE)"
    p = m.name + "__"
    out = []
    if m.mature_before is not None:
        if assigned_at is None:
            raise DataError(f"metric {m.name!r} has a maturity rule but no assigned_at column is given")
        counted = f"CAST({_ident(assigned_at)} AS DATE) <= DATE '{m.mature_before.isoformat()}'"
        use = f"{counted} AND NOT {missing}"
        out += [f"count(*) FILTER (WHERE {use}) AS {_ident(p + 'n')}",
                f"count(*) FILTER (WHERE {counted} AND {missing}) AS {_ident(p + 'nulls')}"]
        where = f" FILTER (WHERE {use})"
    else:
        out += [f"count({_ident(c)}) AS {_ident(p + key)}"
                for key, c in (("present", m.column), ("x_present", m.covariate)) if c is not None]
        where = ""
    if m.binary:
        if exact:
            out += [f"min({y}){where} AS {_ident(p + 'min')}", f"max({y}){where} AS {_ident(p + 'max')}"]
        else:
            cond = f"{y} NOT IN (0.0, 1.0)" + (f" AND {use}" if where else "")
            out.append(f"count(*) FILTER (WHERE {cond}) AS {_ident(p + 'bad')}")
    sums = {"sum": y} if m.binary else {"sum": y, "sum_sq": f"{y} * {y}"}
    if x is not None:
        sums |= {"x_sum": x, "x_sum_sq": f"{x} * {x}", "xy_sum": f"{x} * {y}"}
    if col_type == "BOOLEAN":
        sums["sum"] = f"CAST({_ident(m.column)} AS INTEGER)"
    out += [f"sum({expr}){where} AS {_ident(p + key)}" for key, expr in sums.items()]
    return out


def _finish_row(row: dict[str, Any], metrics: Sequence[MetricColumns],
                _float_metrics: frozenset[str]) -> dict[str, Any]:
    """Python-side columns of one group: ``nulls`` and ``n`` without maturity (None: to be counted exactly), the
    0/1 check from min/max, Σy² of 0/1 values. ``_float_metrics`` names the metrics with a float column."""
    for m in metrics:
        p = m.name + "__"
        if m.mature_before is None:
            present = [row.pop(p + "present"), row.pop(p + "x_present", row["units"])]
            floats = m.name in _float_metrics
            finite = not floats or all(math.isfinite(row[p + k] or 0.0)
                                       for k in ("sum", "sum_sq", "x_sum", "x_sum_sq", "xy_sum") if p + k in row)
            if finite and all(c == row["units"] for c in present):
                row[p + "nulls"] = 0
            elif not floats and m.covariate is None:
                row[p + "nulls"] = row["units"] - present[0]
            else:  # NaN/inf, or missing values in both columns: counted exactly in a 2nd query
                row[p + "nulls"] = None
            row[p + "n"] = None if row[p + "nulls"] is None else row["units"] - row[p + "nulls"]
        if m.binary:
            if p + "min" in row:
                lo, hi = row.pop(p + "min"), row.pop(p + "max")
                row[p + "bad"] = 0 if lo is None or (lo >= 0 and hi <= 1) else None  # None: counted in a 2nd query
            row[p + "sum_sq"] = row[p + "sum"]
        for key in ("sum", "sum_sq", "x_sum", "x_sum_sq", "xy_sum"):
            if p + key in row:
                row[p + key] = float(row[p + key] or 0.0)
    for key in list(row):
        if (key.endswith(("__n", "__nulls", "__bad")) or key == "units") and row[key] is not None:
            row[key] = int(row[key])
    return row


class DuckDBSource:
    """A table DuckDB reads directly: a Parquet/CSV file (or glob), a table of a DuckDB database, or a DataFrame.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection the relation lives on.
    relation : str
        SQL of the relation (``read_parquet('...')``, a table name, a registered DataFrame's name).
    label : str
        How error messages name the source.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, relation: str, label: str = "data") -> None:
        self.con = con
        self.relation = relation
        self.label = label
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        except Exception as exc:  # the engine's message says what is wrong with the file
            raise DataError(f"cannot read {label}: {str(exc).splitlines()[0]}") from None
        self._types = {row[0]: str(row[1]) for row in described}

    @property
    def columns(self) -> list[str]:
        """Column names in table order."""
        return list(self._types)

    def kind(self, column: str) -> Kind:
        """``numeric``, ``boolean``, ``temporal``, ``string`` or ``other``."""
        return _duckdb_kind(self._types[column])

    def dtype(self, column: str) -> str:
        """The column's type as error messages show it (``string``, ``date``, ``double`` ...)."""
        t = self._types[column]
        return "string" if _duckdb_kind(t) == "string" else t.lower()

    def text_hint(self, column: str) -> str:
        """Why a column meant to hold numbers was read as text: empty, decimal commas, or a sample value."""
        c = _ident(column)
        rows, present, commas, sample = self._one(
            f"SELECT count(*), count({c}), count(*) FILTER (WHERE regexp_full_match(trim(CAST({c} AS VARCHAR)), "
            f"'-?[0-9]+,[0-9]+')), any_value(CAST({c} AS VARCHAR)) FROM {self.relation}")
        if not present:
            return f" but every one of its {rows} values is missing (an empty column)"
        if commas:
            return (f" such as {sample!r}: {commas} value(s) use a decimal comma (a ';'-separated export from a "
                    "European locale); write decimals with a point")
        return f" such as {sample!r}"

    def nonfinite(self, columns: Sequence[str]) -> dict[str, int]:
        """NaN and ±inf counts of the floating-point columns among ``columns`` (one scan; others are skipped).

        Only those with a non-zero count are returned.
        """
        floats = [c for c in dict.fromkeys(columns) if self._types.get(c, "").upper() in _FLOAT_TYPES]
        if not floats:
            return {}
        row = self._one("SELECT " + ", ".join(f"count(*) FILTER (WHERE NOT isfinite({_ident(c)}))" for c in floats)
                        + f" FROM {self.relation}")
        return {c: int(n) for c, n in zip(floats, row, strict=True) if n}

    def unparseable_dates(self, column: str) -> tuple[int, str | None]:
        """Values of a text column that do not read as dates: their count and one example."""
        c = _ident(column)
        bad = f"{c} IS NOT NULL AND TRY_CAST({c} AS DATE) IS NULL"
        n, example = self._one(f"SELECT count(*) FILTER (WHERE {bad}), any_value(CAST({c} AS VARCHAR)) "
                               f"FILTER (WHERE {bad}) FROM {self.relation}")
        return int(n), example

    def _one(self, sql: str) -> tuple[Any, ...]:
        """The single row of an aggregate query (always one row, even over an empty table)."""
        row = self.con.execute(sql).fetchone()
        if row is None:  # pragma: no cover - an ungrouped aggregate returns one row
            raise DataError(f"{self.label}: the engine returned no row for {sql!r}")
        return row

    def max_date(self, column: str) -> date | None:
        """The latest value of a date/timestamp column as a date, or None for an empty table."""
        value = self._one(f"SELECT max(CAST({_ident(column)} AS DATE)) FROM {self.relation}")[0]
        return value.date() if isinstance(value, datetime) else value

    def aggregate(self, *, arm: str, metrics: Sequence[MetricColumns], assigned_at: str | None = None,
                  by: Sequence[str] = ()) -> tuple[dict[str, Any], ...]:
        """Per arm (× ``by``) sufficient statistics of every metric, in one scan.

        Returns one dict per group, sorted by arm then ``by``: ``arm`` (str), the ``by`` columns, ``units`` and per
        metric ``m`` the keys of :func:`experiments.data.aggregate_stats` (``m__n``, ``m__nulls``, ``m__bad`` for
        binary metrics, ``m__sum``, ``m__sum_sq``, and with a covariate ``m__x_sum``, ``m__x_sum_sq``,
        ``m__xy_sum``).
        """
        keys = [f"CAST({_ident(arm)} AS VARCHAR) AS arm", *(_ident(b) for b in by)]
        aggs = ["count(*) AS units"]
        for m in metrics:
            aggs += _metric_sql(m, assigned_at, self._types)
        group = ", ".join(str(i + 1) for i in range(len(keys)))
        cursor = self.con.execute(f"SELECT {', '.join(keys)}, {', '.join(aggs)} FROM {self.relation} "
                                  f"GROUP BY {group} ORDER BY {group}")
        names = [d[0] for d in cursor.description]
        floats = frozenset(m.name for m in metrics
                           if any(self._types[c].upper() in _FLOAT_TYPES for c in (m.column, m.covariate) if c))
        rows = [_finish_row(dict(zip(names, r, strict=True)), metrics, floats) for r in cursor.fetchall()]
        for m in metrics:
            if any(r.get(m.name + "__nulls", 0) is None for r in rows):
                self._count_missing(rows, keys, m)
            if any(r.get(m.name + "__bad", 0) is None for r in rows):  # values outside [0, 1]: count them exactly
                self._count_bad(rows, keys, m, assigned_at)
        return tuple(rows)

    def _count_missing(self, rows: list[dict[str, Any]], keys: list[str], m: MetricColumns) -> None:
        """Exact ``nulls`` and ``n`` of a metric without maturity rule (null, NaN or ±inf in its columns)."""
        for row, counted in zip(rows, self._count_where(keys, _metric_missing_sql(m, self._types)), strict=True):
            row[m.name + "__nulls"] = counted
            row[m.name + "__n"] = row["units"] - counted

    def _count_bad(self, rows: list[dict[str, Any]], keys: list[str], m: MetricColumns,
                   assigned_at: str | None) -> None:
        cond = f"CAST({_ident(m.column)} AS DOUBLE) NOT IN (0.0, 1.0)"
        if m.mature_before is not None:
            cond += f" AND CAST({_ident(assigned_at or '')} AS DATE) <= DATE '{m.mature_before.isoformat()}'"
        for row, counted in zip(rows, self._count_where(keys, cond), strict=True):
            row[m.name + "__bad"] = counted

    def _count_where(self, keys: list[str], cond: str) -> list[int]:
        """Rows matching ``cond`` per group of ``keys``, in the groups' order (a second, exact query)."""
        group = ", ".join(str(i + 1) for i in range(len(keys)))
        found = self.con.execute(f"SELECT {', '.join(keys)}, count(*) FILTER (WHERE {cond}) FROM {self.relation} "
                                 f"GROUP BY {group} ORDER BY {group}").fetchall()
        return [int(r[-1]) for r in found]

    def unit_check(self, unit: str) -> UnitCheck:
        """Rows, distinct non-missing ids and missing ids of ``unit``.

        Integer ids whose range spans fewer than :data:`experiments.data.BITMAP_MAX_RANGE` values are counted with
        a bitmap (``bit_count(bitstring_agg(id, min, max))``: several times faster and smaller than a hash table at
        10M rows; on Parquet the range comes from the file's statistics); other ids with ``COUNT(DISTINCT)``.
        """
        u = _ident(unit)
        head = self._one(f"SELECT count(*), count({u}), min({u}), max({u}) FROM {self.relation}")
        rows, present = int(head[0]), int(head[1])
        if not present:
            return UnitCheck(rows, 0, rows)
        if self._types[unit].upper() in _INTEGER_TYPES and int(head[3]) - int(head[2]) < BITMAP_MAX_RANGE:
            q = (f"SELECT bit_count(bitstring_agg({u}, {int(head[2])}, {int(head[3])})) FROM {self.relation} "
                 f"WHERE {u} IS NOT NULL")
        else:
            q = f"SELECT count(DISTINCT {u}) FROM {self.relation}"
        return UnitCheck(rows, int(self._one(q)[0]), rows - present)


class IbisSource:
    """An Ibis table of any backend; the sums run there (:func:`experiments.data.aggregate_stats`)."""

    def __init__(self, table: Any, label: str = "data") -> None:
        self.table = table
        self.label = label
        self._schema = table.schema()

    @property
    def columns(self) -> list[str]:
        """Column names in table order."""
        return list(self.table.columns)

    def kind(self, column: str) -> Kind:
        """``numeric``, ``boolean``, ``temporal``, ``string`` or ``other``."""
        t = self._schema[column]
        if t.is_boolean():
            return "boolean"
        if t.is_numeric():
            return "numeric"
        if t.is_temporal():
            return "temporal"
        return "string" if t.is_string() else "other"

    def dtype(self, column: str) -> str:
        """The column's Ibis type as error messages show it."""
        return str(self._schema[column])

    def unparseable_dates(self, column: str) -> tuple[int, str | None]:
        """Values of a text column that do not read as dates: their count and one example."""
        from ibis.common.exceptions import OperationNotDefinedError

        col = self.table[column]
        try:
            bad = self.table.filter(col.notnull() & col.try_cast("date").isnull())
            n = int(bad.count().execute())
        except OperationNotDefinedError:  # SQLite has no TRY_CAST; its date() gives NULL for text it cannot read
            bad = self.table.filter(col.notnull() & col.cast("date").isnull())
            n = int(bad.count().execute())
        return n, (str(bad.limit(1)[column].execute().iloc[0]) if n else None)

    def text_hint(self, column: str) -> str:
        """Why a column meant to hold numbers is not numeric: says so when every value is missing."""
        present = int(self.table[column].count().execute())
        return "" if present else " but every value is missing (an empty column)"

    def max_date(self, column: str) -> date | None:
        """The latest value of a date/timestamp column as a date, or None for an empty table."""
        from experiments.data.engine import max_date

        return max_date(self.table, column)

    def aggregate(self, *, arm: str, metrics: Sequence[MetricColumns], assigned_at: str | None = None,
                  by: Sequence[str] = ()) -> tuple[dict[str, Any], ...]:
        """Per arm (× ``by``) sums on the table's backend, as :meth:`DuckDBSource.aggregate` returns them."""
        from experiments.data.engine import aggregate_stats

        df = aggregate_stats(self.table, arm=arm, metrics=metrics, assigned_at=assigned_at, by=by)
        return tuple({k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in df.to_dict("records"))

    def unit_check(self, unit: str) -> UnitCheck:
        """Rows, distinct non-missing ids and missing ids of ``unit`` (:func:`experiments.data.count_duplicates`)."""
        from experiments.data.engine import count_duplicates

        return UnitCheck(*count_duplicates(self.table, unit))


Source = DuckDBSource | IbisSource


def _connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # the CLI draws its own progress; DuckDB's would garble it
    return con


def open_source(source: Any, *, base_dir: str | Path | None = None) -> Source:
    """Open ``source`` for the analysis without reading its rows.

    Parameters
    ----------
    source : str, Path, EngineTable, pandas.DataFrame or ibis Table
        ``*.parquet`` (a folder or glob too), ``*.csv``/``*.tsv``/``*.csv.gz``, ``duckdb:///path/to.db?table=name``
        and DataFrames are read by DuckDB directly (a DataFrame is scanned in place, not copied or modified); an
        Ibis table, ``spark://MASTER/db.table``, ``sqlite:///path.db?table=name`` or a design's ``engine:`` table
        is aggregated on its own backend (Spark, SQLite, ...).
    base_dir : str or Path, optional
        Folder that relative paths are resolved against (the design file's folder).

    Raises
    ------
    DataError
        The file does not exist or cannot be read, the suffix is not supported, or the DuckDB table is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> s = open_source(pd.DataFrame({"arm": ["a", "b"], "y": [0, 1]}))
    >>> s.columns, s.kind("y")
    (['arm', 'y'], 'numeric')
    """
    if type(source).__module__.startswith("ibis"):
        return IbisSource(source)
    if type(source).__name__ == "DataFrame" and type(source).__module__.startswith("pandas"):
        con = _connect()
        con.register("frame", source)
        return DuckDBSource(con, "frame", "the DataFrame")
    engine = engine_table(source, base_dir=base_dir)
    if engine is not None:  # Spark, SQLite: the sums run there, through Ibis
        return IbisSource(open_engine_table(engine), str(engine))
    where = locate(source, base_dir=base_dir)
    if where.format == "duckdb":
        import duckdb

        con = duckdb.connect(str(where.path), read_only=True)
        con.execute("SET enable_progress_bar = false")
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        table = where.table or ""
        if table not in tables:
            raise DataError(f"DuckDB database {str(where.path)!r} has no table {table!r}{close_matches(table, tables)}")
        return DuckDBSource(con, _ident(table), f"table {table!r} of {str(where.path)!r}")
    reader = "read_parquet" if where.format == "parquet" else "read_csv"
    return DuckDBSource(_connect(), f"{reader}({_literal(str(where.path))})", repr(str(where.path)))

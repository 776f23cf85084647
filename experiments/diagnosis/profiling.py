"""The descriptive churn profile, computed in the engine (DuckDB SQL): only per-level counts come back to Python.

Three scans of the table, whatever its size:

1. a column scan: per column its missing and blank values, range, whether it holds whole numbers, whether text
   parses as numbers, and its correlation with churn (point-biserial = Pearson's r with a 0/1 variable);
2. exact deciles of the numeric columns that are binned;
3. one ``GROUP BY GROUPING SETS`` over every profiled column (and the overall total): subscribers, churners and
   revenue per level. A fourth, smaller one counts the pairs of the strongest columns for the cross tables.

Levels are written as they appear in the data (CSV files are read without turning ``Yes``/``No`` into booleans;
whole numbers as their plain string, ``"4"``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.data.sources import DuckDBSource, _ident, _literal
from experiments.diagnosis.results import (
    Association,
    ColumnInfo,
    Crosstab,
    ProfileResult,
    Rate,
    Threshold,
)
from experiments.errors import DataError, close_matches

MISSING = "(missing)"
#: Target values read as "churned" when --positive is not given and the target has exactly two values.
POSITIVE_WORDS = frozenset({"yes", "y", "true", "t", "1", "1.0", "churn", "churned"})
_INTEGER = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}


def open_diagnosis_source(data: Any, *, base_dir: str | Path | None = None) -> DuckDBSource:
    """Open ``data`` for the diagnosis: any source the design file accepts, read by DuckDB.

    CSV files are read with type detection that keeps ``Yes``/``No`` text as text (DuckDB would otherwise turn it into
    booleans), so levels appear as written in the file.

    Raises
    ------
    DataError
        The source does not exist or cannot be read, or it is an Ibis table of another backend.
    """
    from experiments.data.engine import locate
    from experiments.data.sources import _connect, open_source

    if isinstance(data, (str, Path)) and "://" not in str(data):
        where = locate(data, base_dir=base_dir)
        if where.format == "csv":
            types = "['BIGINT', 'DOUBLE', 'DATE', 'TIMESTAMP', 'VARCHAR']"
            rel = f"read_csv({_literal(str(where.path))}, auto_type_candidates = {types})"
            return DuckDBSource(_connect(), rel, repr(str(where.path)))
    src = open_source(data, base_dir=base_dir)
    if not isinstance(src, DuckDBSource):
        raise DataError("the diagnosis runs on DuckDB: pass a Parquet/CSV path, duckdb:///db?table=name or a "
                        "DataFrame (an Ibis table of another backend is not supported yet)")
    return src


# ------------------------------------------------------------------------------------------------ target


def _fetch(src: DuckDBSource, sql: str) -> tuple[list[str], list[tuple]]:
    cur = src.con.execute(sql)
    return [d[0] for d in cur.description], cur.fetchall()


def resolve_positive(src: DuckDBSource, target: str, positive: str | None) -> str:
    """Check the target column and return the value that means "churned".

    Raises
    ------
    DataError
        The column is missing, has missing (null or blank) values, has one value only, has more than two values and
        no ``positive`` was given, two values neither of which reads as "churned", or ``positive`` is not among them.
    """
    require(src, [target], "--target")
    t = _ident(target)
    _, rows = _fetch(src, f"SELECT CAST({t} AS VARCHAR) AS v, count(*) FROM {src.relation} GROUP BY 1 "
                          "ORDER BY 2 DESC LIMIT 1001")
    missing = sum(int(c) for v, c in rows if v is None or not v.strip())
    values = [v for v, _ in rows if v is not None and v.strip()]
    if missing:
        raise DataError(f"target column {target!r} has {missing:,} missing (null or blank) values; a churn profile "
                        "needs a known outcome for every subscriber: fill them or filter them out of the source")
    shown = ", ".join(repr(v) for v in values[:8]) + (" ..." if len(values) > 8 else "")
    if positive is not None:
        if positive not in values:
            raise DataError(f"--positive {positive!r} is not a value of {target!r}; its values are {shown}")
        return positive
    if len(values) > 2:
        raise DataError(f"target column {target!r} has {len(values)}{'+' if len(values) > 1000 else ''} distinct "
                        f"values ({shown}); name the value that means churned with --positive")
    if len(values) < 2:
        raise DataError(f"target column {target!r} has a single value ({shown}); nothing to profile")
    hits = [v for v in values if v.strip().lower() in POSITIVE_WORDS]
    if len(hits) != 1:
        raise DataError(f"target column {target!r} has values {shown}; name the one that means churned with "
                        "--positive")
    return hits[0]


def require(src: DuckDBSource, columns: Sequence[str], key: str) -> None:
    """Raise :class:`DataError` naming the first of ``columns`` that the source lacks, with close matches."""
    present = src.columns
    for col in columns:
        if col not in present:
            raise DataError(f"{src.label} has no column {col!r} (named by {key}){close_matches(col, present)}; "
                            f"columns are: {', '.join(present[:30])}{' ...' if len(present) > 30 else ''}")


def require_finite(src: DuckDBSource, columns: Sequence[str], key: str) -> None:
    """Raise :class:`DataError` naming the first floating-point column of ``columns`` holding NaN or ±inf."""
    bad = src.nonfinite(columns)
    if bad:
        col, n = next(iter(bad.items()))
        raise DataError(f"column {col!r} ({key}) of {src.label} has {n:,} NaN or infinite value(s); leave missing "
                        "values empty (they are then reported as missing) and replace infinities with numbers")


# ------------------------------------------------------------------------------------------------ column plan


@dataclass(frozen=True, slots=True)
class _Plan:
    """One profiled column: how the engine turns it into a level label, and its number when it is numeric."""

    info: Any  # ColumnInfo
    label: str  # SQL: VARCHAR level, never null
    number: str | None  # SQL: DOUBLE value, null when missing (numeric columns only)
    corr: float | None


def plain(x: float) -> str:
    """A number as plain text: whole numbers without a decimal point (``4``), others in up to 10 digits.

    Examples
    --------
    >>> plain(4.0), plain(18.25), plain(-0.5)
    ('4', '18.25', '-0.5')
    """
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.10g}"


def _double(x: float) -> str:
    return f"CAST({_literal(repr(float(x)))} AS DOUBLE)"


def _looks_numeric(src: DuckDBSource, columns: Sequence[str], head: int = 1000) -> set[str]:
    """Text columns whose first ``head`` non-blank values all parse as numbers (a cheap read of the first rows)."""
    if not columns:
        return set()
    checks = ", ".join(f"count(*) FILTER (WHERE trim({_ident(c)}) <> '' AND TRY_CAST(trim({_ident(c)}) AS DOUBLE) IS "
                       f"NULL), count(*) FILTER (WHERE trim({_ident(c)}) <> '')" for c in columns)
    cols = ", ".join(_ident(c) for c in columns)
    _, rows = _fetch(src, f"SELECT {checks} FROM (SELECT {cols} FROM {src.relation} LIMIT {head})")
    return {c for i, c in enumerate(columns) if rows[0][2 * i] == 0 and rows[0][2 * i + 1] > 0}


def _column_scan(src: DuckDBSource, columns: Sequence[str], y: str) -> dict[str, dict[str, Any]]:
    """Per column, in one scan: missing values; text: distinct estimate; numbers (and numbers stored as text, whose
    parse failures and blanks are counted): range, whole-number check, correlation with churn.

    Text is parsed (``TRY_CAST``, slow on words) only in the columns whose first rows look numeric.
    """
    numeric_text = _looks_numeric(src, [c for c in columns if src.kind(c) == "string"])
    aggs: list[str] = []
    for i, c in enumerate(columns):
        col, kind, typ = _ident(c), src.kind(c), src.dtype(c).upper()
        aggs.append(f"count(*) FILTER (WHERE {col} IS NULL) AS m{i}")
        x = None
        if kind == "numeric":
            x = f"CAST({col} AS DOUBLE)"
        elif c in numeric_text:
            x = f"TRY_CAST(trim({col}) AS DOUBLE)"
            aggs += [f"count(*) FILTER (WHERE trim({col}) = '') AS b{i}",
                     f"count(*) FILTER (WHERE trim({col}) <> '' AND {x} IS NULL) AS bad{i}"]
        elif kind == "string":
            aggs.append(f"approx_count_distinct({col}) AS d{i}")
        if x is not None:
            whole = "true" if typ in _INTEGER else f"bool_and({x} = round({x}))"
            aggs += [f"min({x}) AS lo{i}", f"max({x}) AS hi{i}", f"{whole} AS w{i}", f"corr({x}, {y}) AS r{i}"]
    names, rows = _fetch(src, f"SELECT count(*) AS n__, {', '.join(aggs)} FROM {src.relation}")
    row = dict(zip(names, rows[0], strict=True))
    out = {}
    for i, c in enumerate(columns):
        out[c] = {k: row.get(f"{k}{i}") for k in ("m", "lo", "hi", "w", "r", "b", "bad", "d")} | {"n": row["n__"]}
        out[c]["text_number"] = c in numeric_text and not out[c]["bad"]
        if c in numeric_text and out[c]["bad"]:  # words further down: a text column after all
            out[c]["d"] = _one_value(src, f"approx_count_distinct({_ident(c)})")
    return out


def _one_value(src: DuckDBSource, agg: str) -> Any:
    return _fetch(src, f"SELECT {agg} FROM {src.relation}")[1][0][0]


def quantiles(src: DuckDBSource, x: str, probs: Sequence[float], max_distinct: int = 200_000) -> list[float]:
    """Exact discrete quantiles of ``x`` (nulls left out): the smallest value whose cumulative share reaches each
    probability, from the engine's histogram (``GROUP BY x``, cheaper than sorting) when ``x`` has at most
    ``max_distinct`` values, else from ``quantile_disc``.
    """
    _, hist = _fetch(src, f"SELECT {x} AS v, count(*) FROM {src.relation} WHERE {x} IS NOT NULL GROUP BY 1 "
                          f"ORDER BY 1 LIMIT {max_distinct + 1}")
    if len(hist) > max_distinct:
        listed = "[" + ", ".join(repr(float(q)) for q in probs) + "]"
        return [float(v) for v in _one_value(src, f"quantile_disc({x}, {listed})")]
    import numpy as np

    values = np.array([float(h[0]) for h in hist])
    cum = np.cumsum([int(h[1]) for h in hist])
    if not len(cum):
        return []
    return [float(values[np.searchsorted(cum, q * cum[-1], side="left")]) for q in probs]


def _plan_columns(src: DuckDBSource, columns: Sequence[str], y: str, *, max_levels: int, count_levels: int,
                  bins: int) -> tuple[list[_Plan], dict[str, str]]:
    scan = _column_scan(src, columns, y)
    plans: list[_Plan] = []
    skipped: dict[str, str] = {}
    probs = [q / bins for q in range(1, bins)]
    for c in columns:
        s, kind, col = scan[c], src.kind(c), _ident(c)
        numeric_text = bool(s["text_number"])
        if kind == "boolean" or (kind == "string" and not numeric_text):
            if kind == "string" and (s["d"] or 0) > max_levels:
                skipped[c] = f"about {s['d']:,} distinct values (more than max_levels={max_levels}): an id or free text"
                continue
            info = ColumnInfo(c, "categorical", src.dtype(c), int(s["m"]))
            plans.append(_Plan(info, label_sql(src, info), None, None))
            continue
        if kind not in {"numeric", "string"}:
            skipped[c] = f"type {src.dtype(c)} is not profiled"
            continue
        x = f"TRY_CAST(trim({col}) AS DOUBLE)" if numeric_text else f"CAST({col} AS DOUBLE)"
        blank = int(s["b"] or 0) if numeric_text else 0
        if s["lo"] is None:
            skipped[c] = "no values"
            continue
        if s["w"] and s["hi"] - s["lo"] <= count_levels:
            info = ColumnInfo(c, "levels", src.dtype(c), int(s["m"]), blank, numeric_text)
        else:
            edges = tuple(sorted({float(s["lo"]), *quantiles(src, x, probs), float(s["hi"])}))
            info = ColumnInfo(c, "binned", src.dtype(c), int(s["m"]), blank, numeric_text, edges)
        plans.append(_Plan(info, label_sql(src, info), x, s["r"]))
    return plans, skipped


def label_sql(src: DuckDBSource, info: ColumnInfo, edges: Sequence[float] | None = None) -> str:
    """SQL of a column's level label as the profile writes it (never null: missing values are ``(missing)``).

    ``edges`` overrides a binned column's bin edges (the cockpit bands numeric columns more coarsely).
    """
    col = _ident(info.name)
    if info.role == "categorical":
        return f"coalesce(CAST({col} AS VARCHAR), {_literal(MISSING)})"
    x = f"TRY_CAST(trim({col}) AS DOUBLE)" if info.numeric_text else f"CAST({col} AS DOUBLE)"
    if info.role == "levels":
        return f"coalesce(CAST(CAST({x} AS BIGINT) AS VARCHAR), {_literal(MISSING)})"
    return _bin_label_sql(x, info.edges if edges is None else edges)


def bin_labels(edges: Sequence[float]) -> list[str]:
    """Labels of the bins between ``edges``: ``[a, b)`` and, for the last, ``[a, b]``.

    Examples
    --------
    >>> bin_labels([0, 10, 20.5])
    ['[0, 10)', '[10, 20.5]']
    """
    if len(edges) == 1:
        return [plain(edges[0])]
    out = [f"[{plain(a)}, {plain(b)})" for a, b in zip(edges[:-2], edges[1:-1], strict=True)]
    return out + [f"[{plain(edges[-2])}, {plain(edges[-1])}]"]


def _bin_label_sql(x: str, edges: Sequence[float]) -> str:
    labels = bin_labels(edges)
    whens = [f"WHEN {x} IS NULL THEN {_literal(MISSING)}"]
    whens += [f"WHEN {x} < {_double(b)} THEN {_literal(lab)}" for b, lab in zip(edges[1:-1], labels, strict=False)]
    return f"CASE {' '.join(whens)} ELSE {_literal(labels[-1])} END"


def _level_key(role: str, edges: Sequence[float]):
    """Sort key of levels: numbers ascending (bins by their lower edge), text by size, ``(missing)`` last."""
    lower = {lab: e for lab, e in zip(bin_labels(edges), edges, strict=False)} if edges else {}

    def key(item: tuple[str, int]) -> tuple:
        level, n = item
        if level == MISSING:
            return (2, 0.0, "")
        if role == "binned":
            return (0, lower[level], "")
        if role == "levels":
            return (0, float(level), "")
        return (1, -n, level)

    return key


# ------------------------------------------------------------------------------------------------ the profile


def _rate(n: float, k: float, alpha: float, rev: float | None = None, rev_risk: float | None = None) -> Rate:
    from experiments.diagnosis.stats import wilson

    n, k = int(n), int(k)
    return Rate(n, k, k / n if n else math.nan, wilson(n, k, alpha), rev, rev_risk)


def _grouped(src: DuckDBSource, labels: dict[str, str], sets: Sequence[Sequence[str]], y: str,
             revenue: str | None) -> list[dict[str, Any]]:
    """Subscribers, churners (and revenue) per group of every grouping set, in one scan."""
    names = {c: f"g{i}" for i, c in enumerate(labels)}
    inner = [f"{expr} AS {names[c]}" for c, expr in labels.items()] + [f"{y} AS y__"]
    aggs = ["count(*) AS n__", "sum(y__) AS k__"]
    if revenue is not None:
        inner.append(f"coalesce({revenue}, 0) AS rev__")
        aggs += ["sum(rev__) AS rev__", "sum(rev__ * y__) AS risk__"]
    grouping = ", ".join("(" + ", ".join(names[c] for c in s) + ")" for s in sets)
    cols = ", ".join(names.values())
    sql = (f"SELECT {cols}, GROUPING({cols}) AS gid__, {', '.join(aggs)} FROM "
           f"(SELECT {', '.join(inner)} FROM {src.relation}) GROUP BY GROUPING SETS ({grouping})")
    keys, rows = _fetch(src, sql)
    back = {v: c for c, v in names.items()}
    out = []
    for r in rows:
        d = dict(zip(keys, r, strict=True))
        out.append({"levels": {back[g]: d[g] for g in names.values() if d[g] is not None}, "n": d["n__"],
                    "k": d["k__"] or 0, "rev": d.get("rev__"), "risk": d.get("risk__")})
    return out


def profile(
    data: Any,
    target: str,
    *,
    positive: str | None = None,
    revenue: str | None = None,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    max_levels: int = 100,
    count_levels: int = 20,
    bins: int = 10,
    top: int = 5,
    min_side: int = 30,
    alpha: float = 0.05,
    base_dir: str | Path | None = None,
) -> ProfileResult:
    """Churn overall and by every column, the thresholds, the strongest cross tables and the ranked associations.

    Parameters
    ----------
    data : str, Path, DataFrame or DuckDBSource
        A Parquet/CSV path (or glob, or folder), ``duckdb:///db?table=name``, or a DataFrame (scanned in place).
    target : str
        The churn column.
    positive : str, optional
        The target's value that means churned; needed when the target has more than two values, or two values of
        which none reads as churned (yes/true/1/churned).
    revenue : str, optional
        A revenue column: its total and the revenue at risk (its sum over churners) overall and per level.
    columns : sequence of str, optional
        Columns to profile (default: all but the target).
    exclude : sequence of str
        Columns not to profile (ids, dates ...).
    max_levels : int
        Text columns with more distinct values are skipped as ids or free text.
    count_levels : int
        Whole-number columns whose range spans at most this many values keep their values as levels; other numeric
        columns are cut into ``bins`` quantile bins.
    bins : int
        Quantile bins of the other numeric columns.
    top : int
        Cross tables are built for every pair of the ``top`` most associated columns with at most 20 levels.
    min_side : int
        A threshold must leave this many subscribers on each side.
    alpha : float
        1 − confidence level of the Wilson intervals.

    Raises
    ------
    DataError
        A named column is missing, or the target is unusable (see :func:`resolve_positive`).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"plan": ["a", "a", "b", "b"], "churn": ["yes", "no", "no", "no"]})
    >>> p = profile(df, "churn")
    >>> p.overall.rate, p.features["plan"]["a"].rate
    (0.25, 0.5)
    """
    from experiments.diagnosis.stats import best_cut, cramers_v, interaction_test

    src = data if isinstance(data, DuckDBSource) else open_diagnosis_source(data, base_dir=base_dir)
    positive = resolve_positive(src, target, positive)
    if columns is not None:
        require(src, columns, "--columns")
    require(src, [*exclude], "--exclude")
    y = f"(CAST({_ident(target)} AS VARCHAR) = {_literal(positive)})::INTEGER"
    chosen = [c for c in (columns if columns is not None else src.columns) if c != target and c not in exclude]
    rev_sql = None
    if revenue is not None:
        require(src, [revenue], "--revenue")
        require_finite(src, [revenue], "--revenue")
        rev_sql = _numeric_sql(src, revenue)
    require_finite(src, chosen, "a profiled column; pass --exclude to skip it")
    plans, skipped = _plan_columns(src, chosen, y, max_levels=max_levels, count_levels=count_levels, bins=bins)
    labels = {p.info.name: p.label for p in plans}
    rows = _grouped(src, labels, [(), *((c,) for c in labels)], y, rev_sql)
    overall_row = next(r for r in rows if not r["levels"])
    overall = _rate(overall_row["n"], overall_row["k"], alpha, overall_row["rev"], overall_row["risk"])
    per: dict[str, dict[str, Rate]] = {}
    for p in plans:
        c = p.info.name
        found = [(r["levels"][c], r) for r in rows if list(r["levels"]) == [c]]
        found.sort(key=lambda t: _level_key(p.info.role, p.info.edges)((t[0], t[1]["n"])))
        per[c] = {lvl: _rate(r["n"], r["k"], alpha, r["rev"], r["risk"]) for lvl, r in found}
    assoc: list[Association] = []
    thresholds: dict[str, Threshold] = {}
    for p in plans:
        c, levels = p.info.name, per[p.info.name]
        if p.number is None:
            v = cramers_v([r.n for r in levels.values()], [r.churned for r in levels.values()])
            assoc.append(Association(c, v, "cramers_v"))
            continue
        assoc.append(Association(c, float(p.corr) if p.corr is not None else math.nan, "point_biserial"))
        ordered = [(lvl, r) for lvl, r in levels.items() if lvl != MISSING]
        cut = best_cut([r.n for _, r in ordered], [r.churned for _, r in ordered], min_side=min_side)
        if cut is None:
            continue
        lo, hi = ordered[cut.index][0], ordered[cut.index + 1][0]
        boundary = float(hi) if p.info.role == "levels" else p.info.edges[cut.index + 1]
        side = [r for _, r in ordered]
        below = _sum_rates(side[: cut.index + 1], alpha)
        above = _sum_rates(side[cut.index + 1:], alpha)
        thresholds[c] = Threshold(c, boundary, (lo, hi), below, above, cut.statistic, cut.p_raw, cut.p_value,
                                  cut.candidates)
    assoc.sort(key=lambda a: -abs(a.value) if a.value == a.value else 0.0)
    crosstabs = _crosstabs(src, plans, per, assoc, y, top, alpha, interaction_test)
    notes = _notes(plans, skipped, revenue)
    return ProfileResult(src.label, target, positive, revenue, overall, per, {p.info.name: p.info for p in plans},
                         thresholds, tuple(assoc), crosstabs, skipped, tuple(notes), alpha)


def _sum_rates(rates: Sequence[Rate], alpha: float) -> Rate:
    rev = None if rates[0].revenue is None else sum(r.revenue or 0.0 for r in rates)
    risk = None if rates[0].revenue is None else sum(r.revenue_at_risk or 0.0 for r in rates)
    return _rate(sum(r.n for r in rates), sum(r.churned for r in rates), alpha, rev, risk)


def _numeric_sql(src: DuckDBSource, column: str) -> str:
    """A numeric column as DOUBLE (numbers stored as text are parsed; blanks become null)."""
    col = _ident(column)
    if src.kind(column) == "numeric":
        return f"CAST({col} AS DOUBLE)"
    if src.kind(column) == "string":
        bad = src.con.execute(f"SELECT count(*) FILTER (WHERE trim({col}) <> '' AND TRY_CAST(trim({col}) AS DOUBLE) "
                              f"IS NULL), min({col}) FILTER (WHERE trim({col}) <> '' AND TRY_CAST(trim({col}) AS "
                              f"DOUBLE) IS NULL) FROM {src.relation}").fetchone()
        if bad and bad[0]:
            raise DataError(f"column {column!r} must be numeric but {bad[0]:,} values are not numbers (e.g. "
                            f"{bad[1]!r}); clean the column or name another one")
        return f"TRY_CAST(trim({col}) AS DOUBLE)"
    raise DataError(f"column {column!r} has type {src.dtype(column)}, not a number; name a numeric column")


def distinct_columns(features: dict[str, dict[str, Rate]], ranked: Sequence[str], top: int,
                     taken: Sequence[str] = ()) -> list[str]:
    """The first ``top`` of ``ranked`` whose per-level counts repeat no earlier column's (nor one in ``taken``).

    A column whose levels split subscribers exactly as another's does (a charge that is minutes × a flat tariff) adds
    nothing to a cross table or a cockpit chart.
    """
    def counts(c: str) -> list[int]:
        return [v for r in features[c].values() for v in (r.n, r.churned)]

    def same(a: list[int], b: list[int]) -> bool:  # the same split, up to 1 % of the subscribers
        return len(a) == len(b) and sum(abs(x - z) for x, z in zip(a, b, strict=True)) <= 0.01 * sum(a[::2])

    seen = [counts(c) for c in taken if c in features]
    out: list[str] = []
    for c in ranked:
        if len(out) == top:
            break
        if not any(same(counts(c), s) for s in seen):
            out.append(c)
            seen.append(counts(c))
    return out


def _crosstabs(src, plans, per, assoc, y, top, alpha, interaction_test) -> tuple[Crosstab, ...]:
    small = {p.info.name: p for p in plans if 2 <= len(per[p.info.name]) <= 20}
    chosen = distinct_columns(per, [a.column for a in assoc if a.column in small], top)
    pairs = [(a, b) for i, a in enumerate(chosen) for b in chosen[i + 1:]]
    if not pairs:
        return ()
    import numpy as np

    labels = {c: small[c].label for c in chosen}
    if math.prod(len(per[c]) for c in chosen) <= 200_000:  # one GROUP BY over all of them; pairs summed in Python
        joint = _grouped(src, labels, [tuple(chosen)], y, None)
        rows: list[dict[str, Any]] = []
        for a, b in pairs:
            sums: dict[tuple[str, str], list[int]] = {}
            for r in joint:
                key = (r["levels"][a], r["levels"][b])
                acc = sums.setdefault(key, [0, 0])
                acc[0], acc[1] = acc[0] + r["n"], acc[1] + r["k"]
            rows += [{"levels": {a: la, b: lb}, "n": n, "k": k} for (la, lb), (n, k) in sums.items()]
    else:
        rows = _grouped(src, labels, pairs, y, None)
    out = []
    for a, b in pairs:
        cells = [r for r in rows if set(r["levels"]) == {a, b}]
        la, lb = list(per[a]), list(per[b])
        n = np.zeros((len(la), len(lb)))
        k = np.zeros_like(n)
        for r in cells:
            i, j = la.index(r["levels"][a]), lb.index(r["levels"][b])
            n[i, j], k[i, j] = r["n"], r["k"]
        test = interaction_test(n, k)
        ordered = tuple((x, z, _rate(n[i, j], k[i, j], alpha)) for i, x in enumerate(la) for j, z in enumerate(lb)
                        if n[i, j] > 0)
        out.append(Crosstab((a, b), ordered, test.g2, test.dof, test.p_value))
    out.sort(key=lambda x: -x.g2)
    return tuple(out)


def _notes(plans, skipped, revenue) -> list[str]:
    notes = []
    for p in plans:
        i = p.info
        if i.numeric_text:
            notes.append(f"{i.name}: numbers stored as text; {i.blank:,} blank value(s) counted as missing (level "
                         f"{MISSING!r}), left out of its association and threshold, never dropped from the totals.")
        if i.missing:
            notes.append(f"{i.name}: {i.missing:,} null value(s) profiled as the level {MISSING!r}.")
    for c, why in skipped.items():
        notes.append(f"{c}: not profiled ({why}).")
    if revenue is not None:
        notes.append(f"Revenue at risk: the sum of {revenue!r} over churners (missing revenue counted as 0).")
    return notes

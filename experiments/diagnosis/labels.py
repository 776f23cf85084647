"""Churn labels from activity: recency, frequency, monetary value and each subscriber's own rhythm.

From an event log (subscriber, timestamp, optional value) DuckDB computes, per subscriber and in one scan, the
first and last activity, recency (days since the last event at the snapshot ``as_of``), frequency (events),
monetary value (sum of ``value``), the typical gap (median days between consecutive *active days*) and a value
tier (tertiles of monetary value, or of frequency without a value column). A subscriber is labelled churned when
the recency exceeds a threshold, set by one of three rules:

* ``fixed``: the same ``window`` days for everybody;
* ``tier``: a window per value tier (default high 7, medium 14, low 30 days);
* ``own_gap``: ``q`` times the subscriber's own typical gap, at least ``min_days`` (subscribers with a single
  active day have no gap and fall back to ``window``).

Every column computed from the activity decides (or leaks) the label, so all of them are listed in
:attr:`LabelResult.label_columns` and in the Parquet schema metadata (``retention.label_columns``), which
``retention predict`` reads to drop them from the features; so are ``snapshot``, ``split`` and the id, which are
not features either. With ``split_at`` the rows are two snapshots, split by
time: ``train`` labelled at ``split_at`` from events up to then, ``test`` labelled at ``as_of`` for the subscribers
who had not churned by ``split_at``.

Examples
--------
>>> from experiments.diagnosis.simulate_events import simulate_events
>>> sim = simulate_events(n_subscribers=300, rng=3)
>>> res = label_activity(sim.events, subscriber="subscriber_id", timestamp="ts", value="value",
...                      as_of=sim.as_of, rule="own_gap")
>>> res.target, "recency_days" in res.label_columns
('churned', True)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from experiments.errors import DataError, DesignError, close_matches
from experiments.spec.literals import check_literal

if TYPE_CHECKING:
    import pandas as pd

LabelRule = Literal["fixed", "tier", "own_gap"]
#: Windows (days of inactivity) of the ``tier`` rule by value tier.
DEFAULT_TIER_WINDOWS: dict[str, float] = {"high": 7.0, "medium": 14.0, "low": 30.0}
#: Columns computed from the activity; each one decides or leaks the label.
ACTIVITY_COLUMNS: tuple[str, ...] = ("first_activity", "last_activity", "recency_days", "frequency", "monetary",
                                     "active_days", "typical_gap_days", "n_gaps", "value_tier", "threshold_days",
                                     "gap_ratio")
#: Parquet schema-metadata keys of the label file (the contract with ``retention predict``).
META_LABEL_COLUMNS = b"retention.label_columns"
META_TARGET = b"retention.target"
META_SPLIT = b"retention.split"
META_ID = b"retention.id"


@dataclass(frozen=True, slots=True)
class LabelRuleSpec:
    """A labelling rule and its parameters.

    Attributes
    ----------
    rule : {"fixed", "tier", "own_gap"}
        Which threshold applies (see the module docstring).
    window : float
        Days of inactivity of the ``fixed`` rule, and the fallback of ``own_gap`` for subscribers without a gap.
    tier_windows : dict[str, float]
        Days per value tier (``high``, ``medium``, ``low``) of the ``tier`` rule.
    q : float
        Multiple of the subscriber's typical gap of the ``own_gap`` rule.
    min_days : float
        Smallest threshold of the ``own_gap`` rule (a daily user is not churned after a long weekend).
    """

    rule: LabelRule = "own_gap"
    window: float = 30.0
    tier_windows: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TIER_WINDOWS))
    q: float = 3.0
    min_days: float = 7.0

    def __post_init__(self) -> None:
        check_literal(self.rule, LabelRule, "--rule")
        for name, v in {"--window": self.window, "--q": self.q, **{f"--tier-windows {k}": w for k, w in
                                                                    self.tier_windows.items()}}.items():
            if not v > 0:
                raise DesignError(f"{name}: must be a positive number of days; found {v!r}")
        if self.min_days < 0:
            raise DesignError(f"--min-days: must be zero or positive; found {self.min_days!r}")
        missing = sorted(set(DEFAULT_TIER_WINDOWS) - set(self.tier_windows))
        extra = sorted(set(self.tier_windows) - set(DEFAULT_TIER_WINDOWS))
        if missing or extra:
            raise DesignError(f"--tier-windows: give one window for each of high, medium, low; "
                              f"found {', '.join(self.tier_windows) or 'none'}")

    def threshold_sql(self) -> str:
        """SQL expression of the threshold (days) over the per-subscriber activity columns."""
        if self.rule == "fixed":
            return f"CAST({self.window!r} AS DOUBLE)"
        if self.rule == "tier":
            w = self.tier_windows
            return (f"CASE value_tier WHEN 'high' THEN {float(w['high'])!r} WHEN 'medium' THEN "
                    f"{float(w['medium'])!r} ELSE {float(w['low'])!r} END")
        return (f"CASE WHEN typical_gap_days IS NULL THEN {float(self.window)!r} "
                f"ELSE greatest({float(self.q)!r} * typical_gap_days, {float(self.min_days)!r}) END")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able parameters."""
        return {"rule": self.rule, "window": self.window, "tier_windows": dict(self.tier_windows), "q": self.q,
                "min_days": self.min_days}


@dataclass(frozen=True, slots=True)
class LabelResult:
    """Labels from activity, one row per subscriber (and snapshot).

    Attributes
    ----------
    frame : DataFrame
        ``subscriber`` column, the :data:`ACTIVITY_COLUMNS`, ``tenure_days``, the target, ``snapshot`` (the date
        the row is labelled at) and ``split`` (``train``/``test``, or ``all`` without a split); joined feature
        columns follow.
    subscriber : str
        The id column.
    target : str
        The label column (1 = churned).
    label_columns : tuple[str, ...]
        Columns that must not be features: the :data:`ACTIVITY_COLUMNS` (they define or leak the label), and
        ``snapshot``, ``split`` and the id (a subscriber appears once per snapshot, so the id is not unique).
    rule : LabelRuleSpec
        The rule applied.
    as_of : datetime
        Snapshot of the test (or only) rows.
    split_at : datetime or None
        Snapshot of the train rows.
    n_events : int
        Events read (up to ``as_of``).
    n_fallback : int
        Subscribers of the ``own_gap`` rule labelled with ``window`` because they had a single active day.
    """

    frame: pd.DataFrame
    subscriber: str
    target: str
    label_columns: tuple[str, ...]
    rule: LabelRuleSpec
    as_of: datetime
    split_at: datetime | None
    n_events: int
    n_fallback: int

    def summary(self) -> pd.DataFrame:
        """Subscribers, churned and churn rate per split and value tier."""
        import pandas as pd

        f = self.frame
        g = f.groupby(["split", "value_tier"], observed=True)[self.target].agg(["size", "sum", "mean"])
        out = g.reset_index().rename(columns={"size": "subscribers", "sum": "churned", "mean": "churn_rate"})
        return pd.DataFrame(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description: rule, snapshots, label columns and counts per split."""
        counts = {s: {"subscribers": int(len(g)), "churned": int(g[self.target].sum()),
                      "churn_rate": float(g[self.target].mean()) if len(g) else None}
                  for s, g in self.frame.groupby("split", sort=False)}
        return {"rule": self.rule.to_dict(), "as_of": self.as_of.isoformat(),
                "split_at": self.split_at.isoformat() if self.split_at else None,
                "subscriber": self.subscriber, "target": self.target, "label_columns": list(self.label_columns),
                "n_events": self.n_events, "n_fallback_window": self.n_fallback, "splits": counts}

    def _repr_html_(self) -> str:
        return self.summary().to_html(index=False)

    def plot(self, ax: Any = None) -> Any:
        """Plotly bar chart of the churn rate by value tier and split."""
        import plotly.express as px

        return px.bar(self.summary(), x="value_tier", y="churn_rate", color="split", barmode="group",
                      title=f"churn labelled by rule {self.rule.rule!r}")

    def to_parquet_bytes(self) -> bytes:
        """The frame as Parquet with the label contract in the schema metadata."""
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(self.frame, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta.update({META_LABEL_COLUMNS: json.dumps(list(self.label_columns)).encode(),
                     META_TARGET: self.target.encode(), META_SPLIT: b"split", META_ID: self.subscriber.encode()})
        buf = io.BytesIO()
        pq.write_table(table.replace_schema_metadata(meta), buf)
        return buf.getvalue()


def read_label_contract(path: str) -> dict[str, Any]:
    """The label contract of a file written by :meth:`LabelResult.to_parquet_bytes`.

    Returns
    -------
    dict
        ``label_columns`` (list), ``target``, ``split`` and ``id`` (None when absent).
    """
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(META_LABEL_COLUMNS)
    return {"label_columns": json.loads(raw) if raw else [],
            "target": meta[META_TARGET].decode() if META_TARGET in meta else None,
            "split": meta[META_SPLIT].decode() if META_SPLIT in meta else None,
            "id": meta[META_ID].decode() if META_ID in meta else None}


def _as_datetime(value: date | datetime | str | None, flag: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise DesignError(f"{flag}: {value!r} is not a date; write it as YYYY-MM-DD") from None


def _timestamp_expr(src: Any, column: str) -> str:
    """SQL of the timestamp column as TIMESTAMP, after checking that every non-null value parses."""
    from experiments.data.sources import _ident

    kind = src.kind(column)
    col = _ident(column)
    if kind == "temporal":
        return f"CAST({col} AS TIMESTAMP)"
    if kind != "string":
        raise DataError(f"--timestamp column {column!r} of {src.label} is {src.dtype(column)}, not a date or "
                        "timestamp; store it as a timestamp or as text like 2026-03-01 12:00:00")
    bad, example = src._one(
        f"SELECT count(*), any_value({col}) FROM {src.relation} "
        f"WHERE {col} IS NOT NULL AND trim({col}) <> '' AND TRY_CAST({col} AS TIMESTAMP) IS NULL")
    if bad:
        raise DataError(f"--timestamp column {column!r} of {src.label}: {bad:,} value(s) do not parse as a "
                        f"timestamp (e.g. {example!r}); write them as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS")
    return f"TRY_CAST({col} AS TIMESTAMP)"


def _snapshot_sql(rel: str, sub: str, ts: str, val: str | None, as_of: datetime, spec: LabelRuleSpec,
                  target: str) -> str:
    """One row per subscriber with activity up to ``as_of``: activity columns, threshold and label."""
    from experiments.data.sources import _ident, _literal

    at = f"TIMESTAMP {_literal(as_of.isoformat(sep=' '))}"
    value = f"CAST({_ident(val)} AS DOUBLE)" if val else "CAST(NULL AS DOUBLE)"
    rank_by = "monetary DESC NULLS LAST, frequency DESC" if val else "frequency DESC"
    days = "date_diff('second', {a}, {b}) / 86400.0"
    return f"""
    WITH ev AS (
        SELECT {_ident(sub)} AS sub, {ts} AS ts, {value} AS val FROM {rel}
        WHERE {_ident(sub)} IS NOT NULL AND {ts} IS NOT NULL AND {ts} <= {at}
    ), daily AS (
        SELECT sub, CAST(ts AS DATE) AS day, count(*) AS n, sum(val) AS v, min(ts) AS t0, max(ts) AS t1
        FROM ev GROUP BY sub, day
    ), g AS (
        SELECT *, day - lag(day) OVER (PARTITION BY sub ORDER BY day) AS gap FROM daily
    ), a AS (
        SELECT sub, min(t0) AS first_activity, max(t1) AS last_activity, CAST(sum(n) AS BIGINT) AS frequency,
               sum(v) AS monetary, count(*) AS active_days, CAST(median(gap) AS DOUBLE) AS typical_gap_days,
               count(gap) AS n_gaps
        FROM g GROUP BY sub
    ), r AS (
        SELECT a.sub, first_activity, last_activity, {days.format(a='last_activity', b=at)} AS recency_days,
               frequency, monetary, active_days, typical_gap_days, n_gaps,
               CASE ntile(3) OVER (ORDER BY {rank_by}) WHEN 1 THEN 'high' WHEN 2 THEN 'medium' ELSE 'low' END
                   AS value_tier,
               {days.format(a='first_activity', b=at)} AS tenure_days
        FROM a
    ), t AS (
        SELECT *, {spec.threshold_sql()} AS threshold_days FROM r
    )
    SELECT sub AS {_ident(sub)}, first_activity, last_activity, recency_days, frequency, monetary, active_days,
           typical_gap_days, n_gaps, value_tier, threshold_days, recency_days / threshold_days AS gap_ratio,
           tenure_days, CAST(recency_days > threshold_days AS INTEGER) AS {_ident(target)},
           CAST({at} AS DATE) AS snapshot
    FROM t
    """


def _feature_relation(con: Any, features: Any) -> tuple[str, list[str]]:
    """SQL relation of the subscriber table on ``con`` and its columns."""
    from experiments.data.engine import locate
    from experiments.data.sources import _ident, _literal

    if type(features).__name__ == "DataFrame":
        con.register("features_frame", features)
        rel = "features_frame"
    else:
        where = locate(features)
        if where.format == "duckdb":
            con.execute(f"ATTACH {_literal(str(where.path))} AS features_db (READ_ONLY)")
            rel = f"features_db.{_ident(where.table or '')}"
        else:
            reader = "read_parquet" if where.format == "parquet" else "read_csv"
            rel = f"{reader}({_literal(str(where.path))})"
    try:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
    except Exception as exc:  # the engine's message says what is wrong with the file
        raise DataError(f"cannot read --features: {str(exc).splitlines()[0]}") from None
    return rel, cols


def _check_columns(src: Any, columns: Mapping[str, str | None]) -> None:
    for flag, col in columns.items():
        if col is not None and col not in src.columns:
            raise DataError(f"{flag}: events file {src.label} has no column {col!r}"
                            f"{close_matches(col, src.columns)}; columns are: {', '.join(src.columns[:30])}")


def label_activity(
    events: Any,
    *,
    subscriber: str,
    timestamp: str,
    value: str | None = None,
    as_of: date | datetime | str | None = None,
    rule: LabelRule | LabelRuleSpec = "own_gap",
    split_at: date | datetime | str | None = None,
    target: str = "churned",
    features: Any = None,
) -> LabelResult:
    """Label churn from an event log, computed in DuckDB.

    Parameters
    ----------
    events : str, Path or DataFrame
        Event log (``.parquet``, ``.csv``, ``duckdb:///db?table=``, or a DataFrame; not modified).
    subscriber, timestamp : str
        Id and event-time columns (the timestamp may be text that parses as a timestamp).
    value : str, optional
        Spend of each event (monetary value); without it the value tier ranks by frequency.
    as_of : date, datetime or str, optional
        Snapshot of the labels; defaults to the latest event.
    rule : str or LabelRuleSpec
        ``fixed``, ``tier`` or ``own_gap`` (default parameters), or a spec with parameters.
    split_at : date, datetime, str or "auto", optional
        Earlier snapshot of the training rows (time-based split); ``"auto"``: three quarters of the way from the
        first event to ``as_of``; ``None`` labels one snapshot (split ``all``).
    target : str
        Name of the label column.
    features : str, Path or DataFrame, optional
        Subscriber table joined on ``subscriber`` (its other columns become features beside the label).

    Returns
    -------
    LabelResult

    Raises
    ------
    DataError
        A named column is missing, timestamps do not parse, no event lies before the snapshot, or ``split_at``
        is not before ``as_of``.
    """
    from experiments.data.sources import _ident
    from experiments.diagnosis.profiling import open_diagnosis_source

    spec = rule if isinstance(rule, LabelRuleSpec) else LabelRuleSpec(rule=rule)
    src = open_diagnosis_source(events)
    _check_columns(src, {"--subscriber": subscriber, "--timestamp": timestamp, "--value": value})
    if value is not None and src.kind(value) != "numeric":
        raise DataError(f"--value column {value!r} of {src.label} is {src.dtype(value)}, not numeric; "
                        "give the spend of each event as a number")
    if value is not None and src.nonfinite([value]):
        raise DataError(f"--value column {value!r} of {src.label} has {src.nonfinite([value])[value]:,} NaN or "
                        "infinite value(s); leave an unknown spend empty and replace infinities with numbers")
    if target in src.columns or target in ACTIVITY_COLUMNS:
        raise DataError(f"--target {target!r} clashes with a column name; choose another label name")
    ts = _timestamp_expr(src, timestamp)
    con, rel = src.con, src.relation
    n_all, t_min, t_max = src._one(f"SELECT count({ts}), min({ts}), max({ts}) FROM {rel}")
    if not n_all:
        raise DataError(f"--timestamp column {timestamp!r} of {src.label} has no values; nothing to label")
    end = _as_datetime(as_of, "--as-of") or t_max
    if split_at == "auto":  # train snapshot at three quarters of the observed span, on a day boundary
        start: datetime | None = datetime.combine((t_min + (end - t_min) * 0.75).date(), datetime.min.time())
    else:
        start = _as_datetime(split_at, "--split-at")
    if end < t_min:
        raise DataError(f"--as-of {end.date()} is before the first event ({t_min.date()}); choose a later date")
    if start is not None and not t_min < start < end:
        raise DataError(f"--split-at {start.date()} must lie between the first event ({t_min.date()}) and --as-of "
                        f"({end.date()})")
    s = _ident(subscriber)
    test_sql = _snapshot_sql(rel, subscriber, ts, value, end, spec, target)
    if start is None:
        sql = f"SELECT *, 'all' AS split FROM ({test_sql})"
    else:
        train_sql = _snapshot_sql(rel, subscriber, ts, value, start, spec, target)
        sql = (f"WITH tr AS ({train_sql}), te AS ({test_sql}) "
               f"SELECT *, 'train' AS split FROM tr UNION ALL "
               f"SELECT *, 'test' AS split FROM te WHERE {s} NOT IN "
               f"(SELECT {s} FROM tr WHERE {_ident(target)} = 1)")
    feature_cols: list[str] = []
    if features is not None:
        rel_f, fcols = _feature_relation(con, features)
        if subscriber not in fcols:
            raise DataError(f"--features has no column {subscriber!r} to join on{close_matches(subscriber, fcols)}")
        taken = {subscriber, target, "split", "snapshot", "tenure_days", *ACTIVITY_COLUMNS}
        feature_cols = [c for c in fcols if c not in taken]
        cols = ", ".join(f"f.{_ident(c)}" for c in feature_cols)
        sql = f"SELECT l.*{', ' + cols if cols else ''} FROM ({sql}) l LEFT JOIN {rel_f} f USING ({s})"
    frame = con.execute(f"SELECT * FROM ({sql}) ORDER BY split = 'test', {s}").df()
    n_events = n_all if end >= t_max else \
        src._one(f"SELECT count({ts}) FROM {rel} WHERE {ts} <= TIMESTAMP '{end.isoformat(sep=' ')}'")[0]
    fallback = int(((frame["split"] != "train") & frame["typical_gap_days"].isna()).sum()) \
        if spec.rule == "own_gap" else 0
    return LabelResult(frame=frame, subscriber=subscriber, target=target,
                       label_columns=(*ACTIVITY_COLUMNS, "snapshot", "split", subscriber), rule=spec, as_of=end,
                       split_at=start, n_events=int(n_events), n_fallback=fallback)


@dataclass(frozen=True, slots=True)
class Agreement:
    """How labels agree with a reference (the simulator's truth, or another rule).

    Attributes
    ----------
    table : DataFrame
        One row per group (and ``all``): ``n``, ``accuracy``, ``precision``, ``recall``, ``kappa`` (Cohen's),
        ``labelled_rate`` and ``true_rate``.
    """

    table: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """The agreement table."""
        return self.table

    def to_dict(self) -> dict[str, Any]:
        """Records of the table, keyed by group."""
        return {r["group"]: {k: v for k, v in r.items() if k != "group"} for r in self.table.to_dict("records")}

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False)

    def plot(self, ax: Any = None) -> Any:
        """Plotly bars of accuracy and kappa by group."""
        import plotly.express as px

        long = self.table.melt(id_vars="group", value_vars=["accuracy", "kappa"])
        return px.bar(long, x="group", y="value", color="variable", barmode="group")


def agreement(labels: Any, truth: Any, *, by: str | None = None) -> Agreement:
    """Agreement of 0/1 labels with a 0/1 reference, overall and per group (scikit-learn's metrics).

    Parameters
    ----------
    labels, truth : array-like
        Labels and reference, aligned row by row.
    by : array-like, optional
        Group of each row (e.g. the simulator's usage rhythm).

    Returns
    -------
    Agreement
    """
    import numpy as np
    import pandas as pd
    from sklearn.metrics import accuracy_score, cohen_kappa_score, precision_score, recall_score

    y, t = np.asarray(labels).astype(int), np.asarray(truth).astype(int)
    groups = np.asarray(by) if by is not None else np.full(y.size, "all")
    rows = []
    for g in [*sorted(set(groups.tolist())), *(["all"] if by is not None else [])]:
        m = np.ones(y.size, bool) if g == "all" else groups == g
        rows.append({"group": g, "n": int(m.sum()), "accuracy": accuracy_score(t[m], y[m]),
                     "precision": precision_score(t[m], y[m], zero_division=0.0),
                     "recall": recall_score(t[m], y[m], zero_division=0.0),
                     "kappa": cohen_kappa_score(t[m], y[m]) if len(set(t[m])) > 1 or len(set(y[m])) > 1 else 1.0,
                     "labelled_rate": float(y[m].mean()), "true_rate": float(t[m].mean())})
    return Agreement(table=pd.DataFrame(rows))


def parse_tier_windows(text: str | None) -> dict[str, float]:
    """``high=7,medium=14,low=30`` as a dict (``None``: the defaults).

    Examples
    --------
    >>> parse_tier_windows("high=5,medium=10,low=20")
    {'high': 5.0, 'medium': 10.0, 'low': 20.0}
    """
    if text is None:
        return dict(DEFAULT_TIER_WINDOWS)
    out: dict[str, float] = {}
    for part in text.split(","):
        key, sep, val = part.partition("=")
        try:
            out[key.strip()] = float(val)
        except ValueError:
            raise DesignError(f"--tier-windows: {part.strip()!r} is not tier=days; write e.g. "
                              "high=7,medium=14,low=30") from None
        if not sep:
            raise DesignError(f"--tier-windows: {part.strip()!r} is not tier=days; write e.g. high=7,medium=14,low=30")
    return out


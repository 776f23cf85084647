"""Risk tables: per group and distinct time, the number of subscribers leaving and the number of churn events.

This is the sufficient statistic of the Kaplan–Meier estimator, the log-rank test and RMST. The engine computes it
(DuckDB through Ibis by default, Spark through ``ibis.pyspark``): one ``GROUP BY group, duration`` with a count and a
sum. Only the small table (distinct times × groups) comes back to Python. Validation (missing or negative durations,
badly coded events) also runs in the engine, before the aggregation, so a bad column fails with a message that names
it, never with a wrong curve.

The caller's data is never modified: a pandas frame is wrapped as a read-only Ibis memtable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from survival.errors import SurvivalDataError

#: Label used for the single group when no group column is given.
ALL = "all"


@dataclass(frozen=True, slots=True)
class RiskTable:
    """Per group and distinct time: subscribers removed (churned or censored) and churn events.

    Attributes
    ----------
    groups : tuple
        Group labels in sorted order (``("all",)`` when no group column was given).
    times : dict
        Group label -> float array of distinct durations, increasing (shape ``(m_g,)``).
    removed : dict
        Group label -> int array, subscribers whose duration equals the time (events + censored), shape ``(m_g,)``.
    events : dict
        Group label -> int array, churn events at the time, shape ``(m_g,)``.
    n : dict
        Group label -> number of subscribers in the group.
    """

    groups: tuple
    times: dict
    removed: dict
    events: dict
    n: dict

    def at_risk(self, group: Any) -> np.ndarray:
        """Subscribers still at risk just before each distinct time of ``group`` (shape ``(m_g,)``)."""
        removed = self.removed[group]
        return self.n[group] - np.concatenate(([0], np.cumsum(removed)[:-1]))

    def to_frame(self) -> pd.DataFrame:
        """Tidy table with columns ``group, time, at_risk, events, removed``."""
        parts = [
            pd.DataFrame({"group": g, "time": self.times[g], "at_risk": self.at_risk(g), "events": self.events[g],
                          "removed": self.removed[g]})
            for g in self.groups
        ]
        return pd.concat(parts, ignore_index=True)

    def pooled(self) -> RiskTable:
        """The risk table of all groups together (one group ``"all"``); risk tables add."""
        frame = self.to_frame()
        agg = frame.groupby("time", sort=True)[["removed", "events"]].sum()
        return RiskTable(groups=(ALL,), times={ALL: agg.index.to_numpy(float)},
                         removed={ALL: agg["removed"].to_numpy(np.int64)},
                         events={ALL: agg["events"].to_numpy(np.int64)}, n={ALL: int(sum(self.n.values()))})

    def total_events(self, group: Any) -> int:
        """Number of churn events in ``group``."""
        return int(self.events[group].sum())

    def last_time(self, group: Any) -> float:
        """Largest observed duration in ``group``."""
        return float(self.times[group][-1])


def _as_table(data: Any) -> Any:
    import ibis

    if isinstance(data, pd.DataFrame):
        return ibis.memtable(data)
    if isinstance(data, ibis.expr.types.Table):
        return data
    raise SurvivalDataError(
        f"data: expected a pandas DataFrame or an Ibis table, found {type(data).__name__}; "
        "load the file with pandas.read_csv/read_parquet or open it with ibis"
    )


def _check_columns(table: Any, columns: list[str]) -> None:
    present = list(table.columns)
    for col in columns:
        if col not in present:
            near = [c for c in present if c.lower() == col.lower()]
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise SurvivalDataError(f"column {col!r} is not in the data{hint}; columns are {present}")


_TRUE_WORDS = {"yes", "y", "true", "t", "1"}
_FALSE_WORDS = {"no", "n", "false", "f", "0"}


def boolean_event_value(value: Any) -> bool | None:
    """``True``/``False`` if ``value`` spells a boolean ("Yes", "true", 1, ...), else None.

    CSV readers (DuckDB among them) read a Yes/No column as booleans; an event value of "Yes" then means True.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    return None


def event_indicator(table: Any, event: str, event_value: Any = None, *, nulls_checked: bool = False) -> Any:
    """Ibis expression that is 1 for a churn event and 0 otherwise, after checking how ``event`` is coded.

    Without ``event_value`` the column must hold only 0/1 (or booleans). With it, the column must hold at most two
    distinct values, one of them ``event_value``. Missing values are refused.
    """
    col = table[event]
    n_null = 0 if nulls_checked else int(col.isnull().sum().execute())
    if n_null:
        raise SurvivalDataError(
            f"column {event!r} has {n_null} missing event indicator(s); code every subscriber as churned or not "
            "(censored) before the analysis"
        )
    values = table.select(v=col).distinct().limit(10).to_pandas()["v"].tolist()
    dtype = col.type()
    if event_value is None:
        if dtype.is_boolean():
            return col.cast("int64")
        if dtype.is_numeric() and set(float(v) for v in values) <= {0.0, 1.0}:
            return col.cast("int64")
        shown = sorted(map(str, values))[:5]
        raise SurvivalDataError(
            f"column {event!r} must be coded 0/1 (1 = churned) but holds {shown}; "
            f"recode it or pass the value that means churn (--event-value, e.g. {shown[0]!r})"
        )
    if dtype.is_boolean():
        as_bool = boolean_event_value(event_value)
        if as_bool is None:
            raise SurvivalDataError(
                f"column {event!r} is boolean (read from yes/no or true/false) but the event value is "
                f"{event_value!r}; pass Yes/True or No/False"
            )
        return (col == as_bool).cast("int64")
    if dtype.is_numeric() and not isinstance(event_value, (int, float)):
        try:
            event_value = float(event_value)
        except (TypeError, ValueError):
            raise SurvivalDataError(
                f"event value {event_value!r} cannot match column {event!r}, which is numeric {sorted(values)[:5]}"
            ) from None
    if dtype.is_string():
        event_value = str(event_value)
    if event_value not in values:
        raise SurvivalDataError(
            f"column {event!r} never equals the event value {event_value!r}; it holds {sorted(map(str, values))[:5]}; "
            "pass one of those as the event value"
        )
    if len(values) > 2:
        raise SurvivalDataError(
            f"column {event!r} holds more than two values {sorted(map(str, values))[:5]}; with event value "
            f"{event_value!r} every other value must mean 'not churned', so recode it to two values"
        )
    return (col == event_value).cast("int64")


def risk_table(
    data: Any,
    duration: str,
    event: str,
    *,
    event_value: Any = None,
    group: str | None = None,
) -> RiskTable:
    """Aggregate durations and events into a :class:`RiskTable`, in the engine.

    Parameters
    ----------
    data : pandas.DataFrame or ibis Table
        One row per subscriber. A DataFrame is wrapped in an Ibis memtable (DuckDB) without being modified.
    duration : str
        Column with the time to churn or censoring (>= 0).
    event : str
        Column with the churn indicator (0/1 or boolean), or any two-valued column together with ``event_value``.
    event_value : optional
        The value of ``event`` that means churn (``"Yes"`` in the IBM Telco data).
    group : str, optional
        Column defining the groups (arms, contract types). Missing group labels are refused.

    Returns
    -------
    RiskTable

    Raises
    ------
    SurvivalDataError
        A column is missing, durations are missing, infinite or negative, events are not 0/1 or the given value,
        group labels are missing.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [1, 2, 2, 3], "e": [1, 0, 1, 1]})
    >>> rt = risk_table(df, "t", "e")
    >>> rt.at_risk("all").tolist(), rt.events["all"].tolist()
    ([4, 3, 1], [1, 1, 1])
    """
    table = _as_table(data)
    _check_columns(table, [duration, event] + ([group] if group else []))
    dcol, ecol = table[duration], table[event]
    if not dcol.type().is_numeric():
        raise SurvivalDataError(
            f"column {duration!r} must be a numeric duration but has type {dcol.type()}; convert it to numbers "
            "(for dates, subtract the start date and express the result in days or months)"
        )
    import ibis

    gcol = table[group] if group is not None else ibis.literal(ALL)
    simple_event = event_value is None and (ecol.type().is_boolean() or ecol.type().is_numeric())
    if simple_event:
        # One scan: the aggregation itself carries the validation counts (bad rows form their own groups or are
        # counted per group), so a clean table costs exactly one GROUP BY.
        e_num = ecol.cast("int64") if ecol.type().is_boolean() else ecol
        agg = (
            table.select(g=gcol, t=dcol.cast("float64"), e=e_num)
            .group_by(["g", "t"])
            .aggregate(removed=lambda s: s.count(), events=lambda s: s.e.sum(),
                       e_null=lambda s: s.e.isnull().sum(), e_bad=lambda s: (~s.e.isin([0, 1])).sum())
            .to_pandas()
        )
        t = agg["t"].to_numpy(float)
        n_missing = int(agg.loc[np.isnan(t), "removed"].sum())
        n_infinite = int(agg.loc[np.isinf(t), "removed"].sum())
        n_negative = int(agg.loc[(t < 0) & np.isfinite(t), "removed"].sum())
        found = {"d_missing": n_missing, "d_inf": n_infinite, "d_neg": n_negative, "e_null": int(agg["e_null"].sum()),
                 "e_bad": int(agg["e_bad"].sum()), "g_null": int(agg.loc[agg["g"].isna(), "removed"].sum())}
    else:
        checks = {"d_null": dcol.isnull().sum(), "d_neg": (dcol < 0).sum(), "e_null": ecol.isnull().sum()}
        if dcol.type().is_floating():
            checks["d_nan"] = dcol.isnan().sum()
            checks["d_inf"] = dcol.isinf().sum()
        if group is not None:
            checks["g_null"] = table[group].isnull().sum()
        raw = {k: int(v or 0) for k, v in table.aggregate(**checks).to_pandas().iloc[0].items()}
        found = {"d_missing": raw["d_null"] + raw.get("d_nan", 0), "d_inf": raw.get("d_inf", 0),
                 "d_neg": raw["d_neg"], "e_null": raw["e_null"],
                 "e_bad": 0, "g_null": raw.get("g_null", 0)}
    if found["d_missing"]:
        raise SurvivalDataError(
            f"column {duration!r} has {found['d_missing']} missing duration(s); every subscriber needs a time to "
            "churn or to censoring; fill them or filter those rows explicitly"
        )
    if found["d_inf"]:
        raise SurvivalDataError(
            f"column {duration!r} has {found['d_inf']} infinite duration(s) (inf); a censored subscriber's duration "
            "is the time observed so far, not infinity: replace inf with the follow-up time and the event with 0"
        )
    if found["d_neg"]:
        raise SurvivalDataError(
            f"column {duration!r} has {found['d_neg']} negative duration(s); durations count time since the start "
            "and must be >= 0; check the start and end dates"
        )
    if found["e_null"]:
        raise SurvivalDataError(
            f"column {event!r} has {found['e_null']} missing event indicator(s); code every subscriber as churned "
            "or not (censored) before the analysis"
        )
    if found["e_bad"] or not simple_event:
        ev = event_indicator(table, event, event_value, nulls_checked=True)  # raises with the values it found
    if found["g_null"]:
        raise SurvivalDataError(
            f"column {group!r} has {found['g_null']} missing group label(s); assign every subscriber to a group "
            "or filter those rows explicitly"
        )
    if not simple_event:
        agg = (
            table.select(g=gcol, t=dcol.cast("float64"), e=ev)
            .group_by(["g", "t"])
            .aggregate(removed=lambda s: s.count(), events=lambda s: s.e.sum())
            .to_pandas()
        )
    agg = agg[["g", "t", "removed", "events"]].astype({"removed": np.int64, "events": np.int64})
    return _from_aggregate(agg.sort_values(["g", "t"], ignore_index=True))


def _from_aggregate(agg: pd.DataFrame) -> RiskTable:
    groups = tuple(sorted(agg["g"].unique().tolist(), key=lambda x: (str(type(x)), x)))
    times, removed, events, n = {}, {}, {}, {}
    for g, part in agg.groupby("g", sort=False):
        part = part.sort_values("t")
        times[g] = part["t"].to_numpy(float)
        removed[g] = part["removed"].to_numpy(np.int64)
        events[g] = part["events"].to_numpy(np.int64)
        n[g] = int(removed[g].sum())
    return RiskTable(groups=groups, times=times, removed=removed, events=events, n=n)


def risk_table_from_arrays(
    durations: Any, events: Any, groups: Any = None
) -> RiskTable:
    """Build a :class:`RiskTable` from in-memory arrays with NumPy (for simulations and small data).

    The arrays are validated like :func:`risk_table`: durations finite and >= 0, events 0/1.

    Examples
    --------
    >>> rt = risk_table_from_arrays([1, 2, 2, 3], [1, 0, 1, 1], ["a", "a", "b", "b"])
    >>> rt.groups, rt.n["b"]
    (('a', 'b'), 2)
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events)
    if t.shape != e.shape or t.ndim != 1:
        raise SurvivalDataError(f"durations and events must be 1-D of the same length; found {t.shape} and {e.shape}")
    if not np.isfinite(t).all():
        raise SurvivalDataError(f"durations: {int((~np.isfinite(t)).sum())} missing or infinite value(s); "
                                "every subscriber needs a finite time")
    if (t < 0).any():
        raise SurvivalDataError(f"durations: {int((t < 0).sum())} negative value(s); durations must be >= 0")
    if not np.isin(e, [0, 1]).all():
        raise SurvivalDataError("events must be coded 0/1 (1 = churned); found "
                                f"{sorted(set(np.unique(e).tolist()) - {0, 1})[:5]}")
    if groups is None:
        labels, codes = np.array([ALL], dtype=object), np.zeros(t.shape, dtype=np.int64)
    else:
        labels, codes = np.unique(np.asarray(groups), return_inverse=True)
    ev = e.astype(np.int64)
    times, removed, events, n = {}, {}, {}, {}
    order = np.lexsort((t, codes))
    t_sorted, c_sorted, e_sorted = t[order], codes[order], ev[order]
    new_key = np.ones(t.size, dtype=bool)
    new_key[1:] = (t_sorted[1:] != t_sorted[:-1]) | (c_sorted[1:] != c_sorted[:-1])
    starts = np.flatnonzero(new_key)
    key_t, key_c = t_sorted[starts], c_sorted[starts]
    key_removed = np.diff(np.append(starts, t.size))
    key_events = np.add.reduceat(e_sorted, starts) if t.size else np.zeros(0, np.int64)
    for k, label in enumerate(labels):
        mask = key_c == k
        g = label.item() if hasattr(label, "item") else label
        times[g], removed[g], events[g] = key_t[mask], key_removed[mask].astype(np.int64), key_events[mask]
        n[g] = int(removed[g].sum())
    return RiskTable(groups=tuple(times), times=times, removed=removed, events=events, n=n)

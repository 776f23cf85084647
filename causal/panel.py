"""Per unit × period sufficient statistics, computed in the engine.

Difference-in-differences regressors (treatment, event-time dummies, unit and period effects, cell-level covariates)
are constant within a unit × period cell, so every estimate and standard error of :mod:`causal.did` can be computed
from a few per-cell sums. :func:`cell_stats` asks the engine (DuckDB through Ibis by default, any Ibis backend such
as Spark) for those sums in one ``GROUP BY`` pass and brings back one row per cell, never the rows themselves.

Per cell ``c`` with rows ``i`` (weights ``w_i``, 1 when no weight column is given) the engine returns
``n`` (rows), ``sw = Σw``, ``swy = Σwy``, ``swyy = Σwy²``, ``sww = Σw²``, ``swwy = Σw²y``, ``swwyy = Σw²y²``,
the weighted cell means of covariates and of an optional value column, and min/max checks that the treatment,
covariates and cluster are constant within the cell. Sums add: two tables' cells pool by adding them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal.errors import PanelError, TreatmentError

_SUMS = ("n", "sw", "swy", "swyy", "sww", "swwy", "swwyy")
CONSTANT_TOL = 1e-12  # a value that must be constant within a cell may differ by float noise only


@dataclass(frozen=True, slots=True)
class CellStats:
    """Sufficient statistics of a panel, one row per unit × period cell.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per cell, sorted by unit then time, with columns ``unit``, ``time``, ``treat`` (0/1), ``cluster``,
        the sums ``n, sw, swy, swyy, sww, swwy, swwyy`` (see the module docstring), ``cov__<name>`` (weighted cell
        mean of each covariate) and ``value`` (weighted cell mean of the value column, or NaN).
    covariates : tuple[str, ...]
        Names of the covariates, in order.
    weighted : bool
        Whether a weight column was used (otherwise every row has weight 1).
    cluster_name : str
        Column the ``cluster`` ids came from (the unit column when no cluster column was given).
    time_kind : str
        ``"int"``, ``"float"`` or ``"datetime"``: how periods are ordered.
    source : str
        ``"pandas"`` or the Ibis backend name that computed the sums.
    outcome_range : tuple[float, float]
        Smallest and largest row-level outcome (decides whether the outcome is a churn indicator or rate).
    """

    table: pd.DataFrame
    covariates: tuple[str, ...]
    weighted: bool
    cluster_name: str
    time_kind: str
    source: str
    outcome_range: tuple[float, float] = (float("nan"), float("nan"))

    @property
    def outcome_kind(self) -> str:
        """``"indicator"`` (every row 0 or 1), ``"rate"`` (every row in [0, 1]) or ``"other"``.

        A value in [0, 1] satisfies ``y² <= y`` with equality only at 0 and 1, so with positive weights
        ``Σwy² = Σwy`` in every cell exactly when every row is 0 or 1 (float noise aside).
        """
        lo, hi = self.outcome_range
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 1:
            return "other"
        tab = self.table
        gap = np.abs(tab["swy"].to_numpy(float) - tab["swyy"].to_numpy(float))
        return "indicator" if bool(np.all(gap <= 1e-9 * np.maximum(1.0, tab["sw"].to_numpy(float)))) else "rate"

    @property
    def n_obs(self) -> int:
        """Number of rows behind the cells."""
        return int(self.table["n"].sum())

    @property
    def n_units(self) -> int:
        """Number of distinct units."""
        return int(self.table["unit"].nunique())

    @property
    def n_periods(self) -> int:
        """Number of distinct periods."""
        return int(self.table["time"].nunique())

    @property
    def mean(self) -> np.ndarray:
        """Weighted mean outcome of each cell, shape ``(n_cells,)``."""
        return (self.table["swy"] / self.table["sw"]).to_numpy(float)


def _is_ibis(data: Any) -> bool:
    try:
        import ibis.expr.types as ir
    except ImportError:  # pragma: no cover - ibis is a hard dependency
        return False
    return isinstance(data, ir.Table)


def _check_columns(columns: list[str], needed: dict[str, str | None]) -> None:
    import difflib

    for role, col in needed.items():
        if col is None:
            continue
        if col not in columns:
            close = difflib.get_close_matches(col, columns, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            raise PanelError(f"{role} column {col!r} is not in the data{hint}; columns are {columns[:20]}")


def _check_pandas_time(df: pd.DataFrame, time: str) -> None:
    s = df[time]
    if s.dtype == object:
        kinds = sorted({type(v).__name__ for v in s.dropna().to_numpy()})
        if len(kinds) > 1:
            raise PanelError(
                f"time column {time!r} mixes value types {kinds}, so periods cannot be ordered; "
                "convert it to one type (an integer period index such as 1..24, or dates)"
            )
        raise PanelError(
            f"time column {time!r} holds {kinds[0] if kinds else 'object'} values, which are not ordered periods; "
            "convert it to an integer period index (e.g. months since start) or to dates"
        )


def _time_kind(dtype: Any, time: str) -> str:
    if dtype.is_integer() or dtype.is_boolean():
        return "int"
    if dtype.is_floating() or dtype.is_decimal():
        return "float"
    if dtype.is_temporal():
        return "datetime"
    raise PanelError(
        f"time column {time!r} has type {dtype}, which is not an ordered period; "
        "use an integer period index (e.g. months since start) or dates"
    )


def cell_stats(
    data: Any,
    *,
    unit: str,
    time: str,
    outcome: str,
    treat: str,
    weight: str | None = None,
    cluster: str | None = None,
    covariates: tuple[str, ...] | list[str] = (),
    value: str | None = None,
) -> CellStats:
    """Aggregate rows to per unit × period sufficient statistics in the engine.

    Parameters
    ----------
    data : pandas.DataFrame or ibis.expr.types.Table
        Rows: subscriber-months, or already one row per unit × period (then pass the cell size as ``weight``).
        A DataFrame is registered with DuckDB through :func:`ibis.memtable`; it is not modified.
    unit, time, outcome, treat : str
        Column names. ``treat`` is 0/1 (or boolean) and constant within a unit × period cell.
    weight : str, optional
        Non-negative analytic weights (e.g. subscribers of a region-month row).
    cluster : str, optional
        Cluster ids, constant within each cell (the unit or a coarser grouping). Defaults to ``unit``.
    covariates : sequence of str
        Cell-level covariates: constant within each cell (a row-level covariate would break exactness).
    value : str, optional
        Value per subscriber, averaged (weighted) per cell, for the business translation.

    Returns
    -------
    CellStats

    Raises
    ------
    PanelError
        Missing columns, NaN unit ids or periods, missing outcomes, unordered periods, negative weights, or a
        treatment/covariate/cluster that varies within a cell.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"r": [1, 1, 2, 2], "m": [1, 2, 1, 2], "y": [0.1, 0.2, 0.1, 0.4], "d": [0, 0, 0, 1]})
    >>> cells = cell_stats(rows, unit="r", time="m", outcome="y", treat="d")
    >>> cells.table[["unit", "time", "n", "swy"]].to_numpy().tolist()
    [[1.0, 1.0, 1.0, 0.1], [1.0, 2.0, 1.0, 0.2], [2.0, 1.0, 1.0, 0.1], [2.0, 2.0, 1.0, 0.4]]
    """
    import ibis

    covariates = tuple(covariates)
    needed: dict[str, str | None] = {"unit": unit, "time": time, "outcome": outcome, "treatment": treat,
                                     "weight": weight, "cluster": cluster, "value": value}
    needed.update({f"covariate {c!r}": c for c in covariates})
    if _is_ibis(data):
        table = data
        source = table._find_backend().name if hasattr(table, "_find_backend") else "ibis"
    elif isinstance(data, pd.DataFrame):
        _check_columns(list(map(str, data.columns)), needed)
        _check_pandas_time(data, time)
        keep = list(dict.fromkeys(c for c in (unit, time, outcome, treat, weight, cluster, value, *covariates)
                                  if c is not None and c in data.columns))
        table = ibis.memtable(data[keep])
        source = "duckdb"
    else:
        raise PanelError(f"data must be a pandas DataFrame or an Ibis table; found {type(data).__name__}")

    _check_columns(list(table.columns), needed)
    schema = table.schema()
    time_kind = _time_kind(schema[time], time)
    for role, col in (("outcome", outcome), ("treatment", treat), ("weight", weight), ("value", value),
                      *((f"covariate {c!r}", c) for c in covariates)):
        if col is not None and not (schema[col].is_numeric() or schema[col].is_boolean()):
            raise PanelError(f"{role} column {col!r} has type {schema[col]}; it must be numeric (or 0/1 boolean)")

    t = table
    y = t[outcome].cast("float64")
    d = t[treat].cast("float64")
    cl = t[cluster] if cluster is not None else None
    if weight is not None:
        w: Any = t[weight].cast("float64")
        ww = w * w

        def wsum(e: Any, w2: bool = False) -> Any:
            return ((ww if w2 else w) * e).sum()

        sw, sww = w.sum(), ww.sum()
    else:

        def wsum(e: Any, w2: bool = False) -> Any:
            return e.sum()

        sw = sww = t.count().cast("float64")
    aggs: dict[str, Any] = {
        "n": t.count(),
        "n_y_null": y.isnull().cast("int64").sum(),
        "n_y_nonfinite": (y.notnull() & ~(y.abs() < ibis.literal(float("inf")))).cast("int64").sum(),
        "n_d_null": d.isnull().cast("int64").sum(),
        "sw": sw,
        "swy": wsum(y),
        "swyy": wsum(y * y),
        "sww": sww,
        "swwy": wsum(y, True),
        "swwyy": wsum(y * y, True),
        "d_min": d.min(),
        "d_max": d.max(),
        "y_min": y.min(),
        "y_max": y.max(),
    }
    if weight is not None:
        aggs["w_min"] = t[weight].cast("float64").min()
        aggs["n_w_null"] = t[weight].isnull().cast("int64").sum()
    if cl is not None:
        aggs["cl_min"] = cl.min()
        aggs["cl_max"] = cl.max()
        aggs["n_cl_null"] = cl.isnull().cast("int64").sum()
    for i, c in enumerate(covariates):
        x = t[c].cast("float64")
        aggs[f"cov__{c}"] = wsum(x)
        aggs[f"xmin__{i}"] = x.min()
        aggs[f"xmax__{i}"] = x.max()
        aggs[f"xnull__{i}"] = x.isnull().cast("int64").sum()
    if value is not None:
        aggs["value"] = wsum(t[value].cast("float64"))
    out = t.group_by([t[unit].name("unit"), t[time].name("time")]).aggregate(**aggs).to_pandas()
    return _finish(out, unit=unit, time=time, outcome=outcome, treat=treat, weight=weight, cluster=cluster,
                   covariates=covariates, value=value, time_kind=time_kind, source=source)


def _finish(out: pd.DataFrame, *, unit: str, time: str, outcome: str, treat: str, weight: str | None,
            cluster: str | None, covariates: tuple[str, ...], value: str | None, time_kind: str,
            source: str) -> CellStats:
    if len(out) == 0:
        raise PanelError("the data has no rows; pass a panel with at least two periods and two units")
    bad_unit = out["unit"].isna()
    if bad_unit.any():
        raise PanelError(
            f"unit column {unit!r} has {int(out.loc[bad_unit, 'n'].sum())} rows with a missing id (NaN/null); "
            "drop those rows or fill the ids before the analysis"
        )
    bad_time = out["time"].isna()
    if bad_time.any():
        raise PanelError(
            f"time column {time!r} has {int(out.loc[bad_time, 'n'].sum())} rows with a missing period; "
            "drop those rows or fill the periods"
        )
    if int(out["n_y_null"].sum()):
        cells = out.loc[out["n_y_null"] > 0, ["unit", "time"]].head(3).to_numpy().tolist()
        raise PanelError(
            f"outcome column {outcome!r} is missing in {int(out['n_y_null'].sum())} rows "
            f"(e.g. unit × period cells {cells}); drop or impute those rows before the analysis"
        )
    if int(out["n_y_nonfinite"].sum()):
        raise PanelError(
            f"outcome column {outcome!r} has {int(out['n_y_nonfinite'].sum())} NaN or infinite value(s); replace "
            "them with numbers, or drop those rows, before the analysis"
        )
    if int(out["n_d_null"].sum()):
        raise PanelError(f"treatment column {treat!r} is missing in {int(out['n_d_null'].sum())} rows; "
                         "fill it with 0 (not treated) or 1 (treated)")
    if weight is not None:
        if int(out["n_w_null"].sum()):
            raise PanelError(f"weight column {weight!r} is missing in {int(out['n_w_null'].sum())} rows; fill it")
        if float(out["w_min"].min()) < 0:
            raise PanelError(f"weight column {weight!r} has negative values (min {float(out['w_min'].min()):g}); "
                             "weights must be non-negative, e.g. subscribers per cell")
    zero = out["sw"] <= 0
    if zero.any():
        raise PanelError(f"weight column {weight!r} sums to 0 in {int(zero.sum())} unit × period cells; "
                         "drop those cells or give them positive weights")
    d_values = set(np.unique(out[["d_min", "d_max"]].to_numpy(float)))
    if not d_values <= {0.0, 1.0}:
        found = [float(v) for v in sorted(d_values)[:5]]
        raise TreatmentError(f"treatment column {treat!r} has values {found}; use 0 (not treated) or 1 (treated)")
    varying = out["d_min"] != out["d_max"]
    if varying.any():
        ex = out.loc[varying, ["unit", "time"]].head(3).to_numpy().tolist()
        raise TreatmentError(
            f"treatment column {treat!r} differs between rows of the same unit × period cell in {int(varying.sum())} "
            f"cells (e.g. {ex}); a promotion applies to a whole unit × period, so make it constant within cells"
        )
    if cluster is not None:
        if int(out["n_cl_null"].sum()):
            raise PanelError(f"cluster column {cluster!r} is missing in {int(out['n_cl_null'].sum())} rows; fill it")
        if (out["cl_min"] != out["cl_max"]).any():
            raise PanelError(
                f"cluster column {cluster!r} varies within unit × period cells; clusters must contain whole cells "
                f"(use the unit {unit!r} or a coarser grouping such as the region)"
            )
    for i, c in enumerate(covariates):
        if int(out[f"xnull__{i}"].sum()):
            raise PanelError(f"covariate {c!r} is missing in {int(out[f'xnull__{i}'].sum())} rows; fill or drop them")
        spread = (out[f"xmax__{i}"] - out[f"xmin__{i}"]).abs()
        scale = np.maximum(1.0, out[f"xmax__{i}"].abs())
        if (spread > CONSTANT_TOL * scale).any():
            raise PanelError(
                f"covariate {c!r} varies within unit × period cells; only cell-level covariates (constant within a "
                "unit × period, e.g. regional price index) keep the aggregated fit exact. "
                "Aggregate it to the cell first"
            )
    table = pd.DataFrame({
        "unit": out["unit"].to_numpy(),
        "time": out["time"].to_numpy(),
        "treat": out["d_min"].to_numpy(float),
        "cluster": (out["cl_min"] if cluster is not None else out["unit"]).to_numpy(),
    })
    for s in _SUMS:
        table[s] = out[s].to_numpy(float)
    for c in covariates:
        table[f"cov__{c}"] = out[f"cov__{c}"].to_numpy(float) / table["sw"].to_numpy()
    table["value"] = out["value"].to_numpy(float) / table["sw"].to_numpy() if value is not None else np.nan
    try:
        table = table.sort_values(["unit", "time"], kind="mergesort").reset_index(drop=True)
    except TypeError as err:
        raise PanelError(
            f"unit column {unit!r} or time column {time!r} mixes value types that cannot be ordered ({err}); "
            "convert the ids to one type (all strings or all integers)"
        ) from None
    y_range = (float(out["y_min"].min()), float(out["y_max"].max())) if "y_min" in out else (np.nan, np.nan)
    return CellStats(table=table, covariates=covariates, weighted=weight is not None,
                     cluster_name=cluster if cluster is not None else unit, time_kind=time_kind, source=source,
                     outcome_range=y_range)


def _py(x: Any) -> Any:
    return x.item() if hasattr(x, "item") else x


def treatment_start(cells: CellStats, treat: str = "treatment") -> pd.Series:
    """First treated period of every unit (NaN/NaT for never-treated units), checking the treatment is absorbing.

    Raises
    ------
    TreatmentError
        A unit is treated, then untreated (a promotion that stops or switches off and on).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"r": [1, 1, 2, 2], "m": [1, 2, 1, 2], "y": [0.1, 0.2, 0.1, 0.4], "d": [0, 0, 0, 1]})
    >>> treatment_start(cell_stats(rows, unit="r", time="m", outcome="y", treat="d")).tolist()
    [nan, 2.0]
    """
    tab = cells.table
    starts: dict[Any, Any] = {}
    for u, g in tab.groupby("unit", sort=True):
        d = g["treat"].to_numpy()
        if d.any():
            first = int(np.argmax(d > 0))
            if not d[first:].all():
                off = g["time"].to_numpy()[first:][d[first:] == 0][0]
                raise TreatmentError(
                    f"{treat} column: unit {_py(u)!r} is treated from period {_py(g['time'].to_numpy()[first])!r} but "
                    f"untreated again in period {_py(off)!r}; only absorbing (staggered) adoption is supported: "
                    "a unit stays treated once it "
                    "starts. Code the promotion as 1 from its start onwards, or analyse each episode separately"
                )
            starts[u] = g["time"].to_numpy()[first]
        else:
            starts[u] = np.nan
    return pd.Series(starts, name="start")

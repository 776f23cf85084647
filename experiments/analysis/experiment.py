"""Analysis of a randomised retention experiment from per-arm sufficient statistics.

:func:`analyze` validates the data against the design, has the engine compute per-arm (× stratum) sums in one
pass, and runs the statistics of :mod:`experiments.stats` on them. Only the aggregates come back to Python.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from experiments.analysis import stats
from experiments.analysis.results import ExperimentResult, MetricResult
from experiments.data import engine as data_mod
from experiments.data.sources import Source, open_source
from experiments.errors import DataError
from experiments.spec.models import ExperimentDesign, Metric

if TYPE_CHECKING:
    pass


ACCEPTANCE = "_acceptance"  # aggregate prefix of the acceptance column (not a metric; no maturity rule)


def _metric_columns(design: ExperimentDesign, as_of: date | None) -> list[data_mod.MetricColumns]:
    out = []
    for m in design.metrics:
        cutoff = data_mod.maturity_cutoff(as_of, m.maturity_days) if (as_of and m.maturity_days is not None) else None
        out.append(data_mod.MetricColumns(m.name, m.column, m.covariate, m.kind == "binary", cutoff))
    return out


def _check_schema(source: Source, design: ExperimentDesign, stratum: str | None) -> None:
    d = design.data
    cols: dict[str, str | None] = {"data.arm": d.arm, "data.unit": d.unit, "data.assigned_at": d.assigned_at,
                                   "data.stratum": stratum, "data.acceptance": d.acceptance}
    for m in design.metrics:
        cols[f"metrics[{m.name}].column"] = m.column
        cols[f"metrics[{m.name}].covariate"] = m.covariate
    data_mod.require_columns(source, cols)
    for m in design.metrics:
        for role, col in (("column", m.column), ("covariate", m.covariate)):
            if col is None:
                continue
            if source.kind(col) not in {"numeric", "boolean"}:
                need = "0/1 or true/false values" if m.kind == "binary" and role == "column" else "numbers"
                raise DataError(f"column {col!r} (metrics[{m.name}].{role}) holds {source.dtype(col)} values"
                                f"{source.text_hint(col)}; the metric needs {need}; recode it before "
                                "the analysis")
    if d.assigned_at is not None and source.kind(d.assigned_at) not in {"temporal", "string"}:
        raise DataError(f"column {d.assigned_at!r} (data.assigned_at) holds {source.dtype(d.assigned_at)} values; "
                        "it needs dates (YYYY-MM-DD)")
    if (d.assigned_at is not None and source.kind(d.assigned_at) == "string"
            and any(m.maturity_days is not None for m in design.metrics)):
        n_bad, example = source.unparseable_dates(d.assigned_at)
        if n_bad:
            raise DataError(f"column {d.assigned_at!r} (data.assigned_at) has {n_bad} value(s) that are not dates, "
                            f"e.g. {example!r}; the maturity rule needs dates: write them as YYYY-MM-DD")
    if d.unit is not None:
        data_mod.check_id_type(source.dtype(d.unit), d.unit, "data.unit")


def _total(rows: Sequence[dict[str, Any]], key: str) -> int:
    return sum(int(r[key]) for r in rows)


def _per_arm(rows: Sequence[dict[str, Any]], key: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in rows:
        out[r["arm"]] = out.get(r["arm"], 0) + r[key]
    return out


def _validate_aggregates(rows: Sequence[dict[str, Any]], design: ExperimentDesign) -> None:
    labels = {r["arm"] for r in rows}
    unknown = sorted(labels - set(design.arms))
    if unknown:
        raise DataError(f"column {design.data.arm!r} has arm label(s) {unknown} that the design lacks; the design "
                        f"has {list(design.arms)}: add them under arms: or filter them out of the data")
    units = _per_arm(rows, "units")
    empty = [a for a in design.arms if int(units.get(a, 0)) == 0]
    if empty:
        raise DataError(f"arm(s) {empty} of the design have no units in the data (column {design.data.arm!r} has "
                        f"{sorted(labels)}); check the arm labels or remove the arm from the design")
    for m in design.metrics:
        nulls = _total(rows, f"{m.name}__nulls")
        if nulls:
            cols = f"column {m.column!r}" + (f" or its covariate {m.covariate!r}" if m.covariate else "")
            raise DataError(f"{cols} (metric {m.name}) has {nulls} missing value(s) (null, NaN "
                            "or inf); fill or drop them explicitly before the analysis — missing outcomes "
                            "are never dropped silently")
        if m.kind == "binary":
            bad = _total(rows, f"{m.name}__bad")
            if bad:
                raise DataError(f"column {m.column!r} (metric {m.name}) is binary in the design but has {bad} value(s) "
                                "other than 0/1; recode it to 0/1 or declare kind: continuous")
        n = _per_arm(rows, f"{m.name}__n")
        thin = [a for a in design.arms if int(n.get(a, 0)) < 2]
        if thin and m.maturity_days is None:
            raise DataError(f"metric {m.name}: arm(s) {thin} have fewer than 2 units (a variance needs 2); add "
                            f"units to the data or remove the arm from the design")
        if thin:
            raise DataError(f"metric {m.name}: arm(s) {thin} have fewer than 2 mature units "
                            f"(maturity_days={m.maturity_days}); wait for the data to mature or lower maturity_days")


def pool(rows: Sequence[dict[str, Any]], metric: str, arms: Sequence[str]) -> dict[str, stats.SuffStats]:
    """Sum the engine's per-stratum rows into one :class:`SuffStats` per arm for ``metric``."""
    p = f"{metric}__"
    present = [c for c in ("n", "sum", "sum_sq", "x_sum", "x_sum_sq", "xy_sum") if rows and p + c in rows[0]]
    out = {}
    for a in arms:
        mine = [r for r in rows if r["arm"] == a]
        out[a] = stats.SuffStats(**{c: float(sum(r[p + c] for r in mine)) for c in present})
    return out


def analyze_metric(m: Metric, s: dict[str, stats.SuffStats], control: str, alpha: float) -> MetricResult:
    """Statistics of one metric from pooled per-arm sufficient statistics (no multiplicity correction)."""
    binary = m.kind == "binary"
    arms = {a: stats.arm_estimate(v, binary, alpha) for a, v in s.items()}
    omnibus = stats.chi2_independence([v.n for v in s.values()], [v.sum for v in s.values()]) if binary else None
    comps = [stats.compare(v, s[control], binary=binary, arm=a, control_name=control, alpha=alpha)
             for a, v in s.items() if a != control]
    ni = []
    if m.non_inferiority is not None:
        ni = [stats.non_inferiority(c, margin=m.non_inferiority.margin, relative=m.non_inferiority.relative,
                                    direction=m.direction, alpha=alpha) for c in comps]
    cup = stats.cuped(s, control, alpha) if m.covariate else None
    return MetricResult(m.name, m.kind, m.role, m.direction, arms, omnibus, comps, ni, cup)


def _with_adjusted(comps: list[stats.Comparison], adjusted: Sequence[float]) -> list[stats.Comparison]:
    return [dataclasses.replace(c, p_adjusted=float(p)) for c, p in zip(comps, adjusted, strict=True)]


def analyze(design: ExperimentDesign, data: Any = None, *, as_of: date | None = None,
            stratum: str | None = None) -> ExperimentResult:
    """Analyze an experiment.

    Parameters
    ----------
    design : ExperimentDesign
        A validated design (:func:`experiments.design.load_design`).
    data : str, Path, DataFrame or Ibis table, optional
        Overrides ``design.data.source``. DataFrames are registered on DuckDB (not copied, not modified); Ibis
        tables are aggregated on their own backend (DuckDB, Spark, ...).
    as_of : date, optional
        Observation date for the maturity rule; default ``design.data.as_of``, else the latest assignment date.
    stratum : str, optional
        Column to aggregate by in addition to the arm (default ``design.data.stratum``); results pool the strata.

    Returns
    -------
    ExperimentResult

    Raises
    ------
    DataError
        Missing file or column, arm labels that do not match the design, missing or non-binary values, duplicate
        unit ids, an empty arm.

    Examples
    --------
    >>> import pandas as pd
    >>> from experiments.spec.models import parse_design
    >>> d = parse_design({"name": "t", "data": {"source": "x.parquet", "arm": "arm"},
    ...                   "arms": {"control": {"weight": 0.5}, "offer": {"weight": 0.5}}, "control": "control",
    ...                   "metrics": [{"name": "churn", "column": "churned", "kind": "binary",
    ...                                "direction": "decrease"}]})
    >>> df = pd.DataFrame({"arm": ["control"] * 100 + ["offer"] * 100,
    ...                    "churned": [1] * 20 + [0] * 80 + [1] * 14 + [0] * 86})
    >>> r = analyze(d, df)
    >>> round(r.metrics["churn"].omnibus.p_value, 2)
    0.26
    """
    stats.preload()  # SciPy's special functions import in the background while the engine scans the data
    source = open_source(data if data is not None else design.resolve(design.data.source))
    stratum = stratum if stratum is not None else design.data.stratum
    _check_schema(source, design, stratum)
    notes: list[str] = []
    d = design.data
    if d.unit is not None:
        ids = source.unit_check(d.unit)
        if ids.nulls:
            raise DataError(f"column {d.unit!r} (data.unit) has {ids.nulls} missing id(s) among {ids.rows} rows; "
                            "every unit needs an id — drop or repair those rows")
        if ids.rows != ids.distinct:
            raise DataError(f"column {d.unit!r} (data.unit) has {ids.rows - ids.distinct} duplicate id(s) among "
                            f"{ids.rows} rows; each unit must appear once — deduplicate the outcome table")
    if as_of is None:
        as_of = d.as_of
    if as_of is None and d.assigned_at is not None and any(m.maturity_days is not None for m in design.metrics):
        as_of = source.max_date(d.assigned_at)
        notes.append(f"as-of date not given; using the latest assignment date {as_of} (set data.as_of or --as-of "
                     "to the date the outcomes were extracted)")
    wanted = _metric_columns(design, as_of)
    if d.acceptance is not None:
        wanted.append(data_mod.MetricColumns(ACCEPTANCE, d.acceptance, binary=True))
    agg = source.aggregate(arm=d.arm, metrics=wanted, assigned_at=d.assigned_at, by=[stratum] if stratum else [])
    _validate_aggregates(agg, design)
    acceptance: dict[str, stats.ArmEstimate] = {}
    if d.acceptance is not None:
        missing, bad = _total(agg, f"{ACCEPTANCE}__nulls"), _total(agg, f"{ACCEPTANCE}__bad")
        if missing or bad:
            raise DataError(f"column {d.acceptance!r} (data.acceptance) must hold 0/1 for every unit; found "
                            f"{missing} missing and {bad} other values")
        acc = pool(agg, ACCEPTANCE, list(design.arms))
        acceptance = {a: stats.arm_estimate(s, True, design.analysis.alpha) for a, s in acc.items()}
    arms = list(design.arms)
    per_arm = _per_arm(agg, "units")
    units = {a: int(per_arm.get(a, 0)) for a in arms}
    srm = stats.srm_test(units, {a: spec.weight for a, spec in design.arms.items()}, design.analysis.srm_alpha)
    alpha = design.analysis.alpha
    results: dict[str, MetricResult] = {}
    for m, cols in zip(design.metrics, _metric_columns(design, as_of), strict=True):
        res = analyze_metric(m, pool(agg, m.name, arms), design.control, alpha)
        if m.role == "guardrail":
            adjusted: Sequence[float] = [math.nan] * len(res.comparisons)
        else:
            adjusted = stats.adjust_pvalues([c.p_value for c in res.comparisons], design.analysis.correction).tolist()
        excluded = sum(units.values()) - _total(agg, f"{m.name}__n")
        res = dataclasses.replace(res, comparisons=_with_adjusted(res.comparisons, adjusted),
                                  excluded_immature=excluded if cols.mature_before else 0,
                                  maturity_cutoff=cols.mature_before)
        if cols.mature_before and excluded:
            notes.append(f"{m.name}: {excluded} unit(s) assigned after {cols.mature_before} were left out because "
                         f"they have not yet been observed for {m.maturity_days} days by {as_of}")
        results[m.name] = res
    return ExperimentResult(design.name, design.control, arms, units, srm, results, as_of, alpha,
                            design.analysis.correction, agg, notes, acceptance)

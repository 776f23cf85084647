"""Time to churn for an experiment's arms: curves, tenure gained, lifetime value, and the report section.

:func:`analyze_survival` runs the survival library on an experiment design (its data source, ``data.arm`` as the
group, ``value:`` for lifetime value) or on an ad-hoc DataFrame/table; :func:`survival_section` turns the result
into a :class:`~experiments.sections.ReportSection`. Kaplan–Meier, log-rank and RMST run on risk tables aggregated
in the engine; the Cox and parametric models run on rows (sampled above ``max_model_rows``, and the result says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from experiments.report.i18n import MESSAGES, Lang, msg
from experiments.report.sections import ReportSection, TrustCheck

#: Columns of the simulator's experiment table used when a design does not name them.
DEFAULT_DURATION = "time_to_churn_days"
DEFAULT_EVENT = "churn_event"
DAYS_PER_MONTH = 30.4375
#: What the simulator with a known truth showed about ΔLTV extrapolated far beyond follow-up (docs/survival.md,
#: "Lifetime value beyond follow-up"); quoted by the report's trust check.
EXTRAPOLATION_BIAS = MESSAGES["extrap.bias"]["en"]
#: Above this many rows the row-level models (Cox, parametric) are fitted on a seeded random sample.
MAX_MODEL_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class SurvivalAnalysis:
    """Everything ``retention survival`` reports.

    Attributes
    ----------
    groups : dict
        Group -> ``{n, events, median, median_ci, s_at, rmst, rmst_se, rmst_ci, last_time}`` (durations in the data's
        unit).
    logrank : dict or None
        ``{statistic, dof, p_value}`` (None with a single group).
    cox : dict
        Model column -> ``{coef, se, hr, hr_ci, p_value}``; empty without arm and covariates.
    ph_test : dict
        Proportional-hazards check: ``{transform, ok, alpha, covariates: {col: {statistic, p_value}}}``.
    tenure_gained : dict
        Arm -> RMST difference vs control ``{estimate, se, ci, p_value, months, months_ci}`` at ``horizon``.
    ltv : dict
        ``{settings, arms: {arm: {value, se, ci, expected_months, method, extrapolated_months}}, delta: {arm: ...},
        family}``; ``family`` is ``{family, total_aic, per_group_best}`` when the value is extrapolated with one
        parametric family for every arm (the lowest total AIC), else empty.
    parametric : dict
        Group -> AIC table and chosen model (for extrapolation beyond follow-up).
    horizon : float
        RMST horizon in the data's unit.
    time_unit : str
        ``"days"`` or ``"months"``.
    control : object
        Control group label (None ad hoc without ``--control``).
    data : dict
        Rows read, rows used, rows dropped with the reason, sampling of the row-level models.
    contract_end : dict
        Time-varying Cox model of the hazard around contract expiry: ``{column, window, hr, hr_ci, p_value, n}``
        (empty when no contract-end column is used).
    curves : dict
        Group -> KM curve table (for plots); not part of :meth:`to_dict`.

    Notes
    -----
    The contract-end hazard ratio is adjusted for the arm and ``covariates`` only; unmodelled differences between
    subscribers (frailty) pull a Cox hazard ratio towards 1, so pass the covariates that drive churn.
    notes : list[str]
        Method notes and anything extrapolated.
    """

    groups: dict
    logrank: dict | None
    cox: dict
    ph_test: dict
    tenure_gained: dict
    ltv: dict
    parametric: dict
    horizon: float
    time_unit: str
    control: Any
    data: dict
    contract_end: dict = field(default_factory=dict)
    curves: dict = field(default_factory=dict, repr=False)
    notes: list = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """One row per group: n, events, median and RMST with its interval."""
        return pd.DataFrame([{"group": g, "n": v["n"], "events": v["events"], "median": v["median"],
                              "rmst": v["rmst"], "rmst_lower": v["rmst_ci"][0], "rmst_upper": v["rmst_ci"][1]}
                             for g, v in self.groups.items()])

    def _repr_html_(self) -> str:
        return self.summary().to_html(index=False, float_format=lambda x: f"{x:.4g}")

    def plot(self, ax: Any = None) -> Any:
        """Kaplan–Meier curves per group with bands (Plotly figure); ``ax`` is ignored (Plotly has no axes)."""
        return km_figure(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON written by ``retention survival --json``."""
        return {"groups": self.groups, "logrank": self.logrank, "cox": self.cox, "ph_test": self.ph_test,
                "horizon": self.horizon, "time_unit": self.time_unit, "control": self.control,
                "tenure_gained": self.tenure_gained, "ltv": self.ltv, "parametric": self.parametric,
                "contract_end": self.contract_end, "data": self.data, "notes": self.notes}


def _months(x: float, unit: str) -> float:
    return x / DAYS_PER_MONTH if unit == "days" else x


def _blank_to_missing(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Blank strings in ``columns`` become missing; numeric-looking text columns become numbers. Counts per column."""
    out = frame.copy()
    counts: dict[str, int] = {}
    for c in columns:
        col = out[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            stripped = col.astype("string").str.strip()
            blank = stripped.isna() | (stripped == "")
            as_num = pd.to_numeric(stripped.where(~blank), errors="coerce")
            if as_num[~blank].notna().all() and (~blank).any():
                out[c] = as_num
            else:
                out[c] = col.where(~blank)
            counts[c] = int(blank.sum())
        else:
            counts[c] = int(col.isna().sum())
    return out, counts


def _blank_counts(table: Any) -> dict[str, int]:
    """Per column, the number of missing values (and blank strings in text columns), computed in the engine."""
    exprs = {}
    for c in table.columns:
        col = table[c]
        expr = col.isnull().sum()
        if col.type().is_string():
            expr = expr + (col.strip() == "").sum()
        exprs[c] = expr
    counts = table.aggregate(**exprs).to_pandas().iloc[0]
    return {c: int(v) for c, v in counts.items() if int(v or 0) > 0}


def analyze_survival(
    design_or_frame: Any,
    *,
    duration: str | None = None,
    event: str | None = None,
    event_value: Any = None,
    group: str | None = None,
    control: Any = None,
    covariates: list[str] | tuple[str, ...] = (),
    times: list[float] | tuple[float, ...] = (),
    horizon: float | None = None,
    value: dict[str, Any] | None = None,
    time_unit: str | None = None,
    alpha: float = 0.05,
    drop_missing: bool = False,
    max_model_rows: int = MAX_MODEL_ROWS,
    rng: np.random.Generator | int | None = 20261122,
    data: Any = None,
    contract_end: str | None = None,
    contract_window: tuple[float, float] | None = None,
    max_contract_rows: int = 50_000,
) -> SurvivalAnalysis:
    """Survival analysis of an experiment's arms or of any grouped duration data.

    Parameters
    ----------
    design_or_frame : ExperimentDesign, DataFrame or ibis Table
        A design (its ``data.source``, ``data.arm`` as group, ``control`` and ``value``) or the data itself.
    duration, event, event_value : str, str, optional
        Time to churn or censoring and the churn indicator; with a design they default to ``time_to_churn_days``
        and ``churn_event`` (the simulator's columns).
    group, control : optional
        Group column (arms) and the control label (tenure gained and ΔLTV are against it).
    covariates : list of str
        Extra Cox covariates (the group always enters the Cox model).
    times : list of float
        Times for S(t), in the duration's unit.
    horizon : float, optional
        RMST horizon; default the smallest last observed time over the groups (no extrapolation).
    value : dict, optional
        ``{margin, horizon_months, annual_discount_rate}``; margin a number or a column (its mean is used per arm,
        so that ΔLTV reflects retention only).
    time_unit : {"days", "months"}
        Unit of ``duration`` (design default: days; ad hoc: months).
    drop_missing : bool
        Drop rows with missing or blank covariates and report how many; without it such rows are an error.
    data : optional
        With a design: a source overriding ``data.source``.
    contract_end, contract_window : optional
        Column with the time from the start to the contract end (same unit as ``duration``) and the window around
        it, e.g. ``(-30, 30)`` days; fits a Cox model with a time-varying "around contract end" covariate (on at
        most ``max_contract_rows`` sampled rows). With a design, ``days_to_contract_end`` and (-30, 30) days are
        used when that column exists.

    Returns
    -------
    SurvivalAnalysis
    """
    from experiments.data.engine import open_table
    from experiments.spec.models import ExperimentDesign
    from survival.errors import HorizonError, ModelError, SurvivalDataError
    from survival.hazard import fit_cox, fit_parametric_counts
    from survival.kaplan_meier import kaplan_meier_groups, median_survival, survival_at
    from survival.logrank import logrank_test
    from survival.ltv import ltv_by_group, ltv_difference, ltv_from_curve, shared_family
    from survival.risk_table import risk_table
    from survival.rmst import rmst, rmst_difference

    notes: list[str] = []
    if isinstance(design_or_frame, ExperimentDesign):
        d = design_or_frame
        table = open_table(data if data is not None else d.resolve(d.data.source))
        group = group or d.data.arm
        control = control if control is not None else d.control
        duration = duration or d.data.duration or DEFAULT_DURATION
        event = event or d.data.event or DEFAULT_EVENT
        time_unit = time_unit or d.data.time_unit
        if value is None and d.value is not None:
            value = {"margin": d.value.margin, "horizon_months": d.value.horizon_months,
                     "annual_discount_rate": d.value.annual_discount_rate}
        alpha = d.analysis.alpha if alpha == 0.05 else alpha
        if contract_end is None and "days_to_contract_end" in table.columns and time_unit == "days":
            contract_end, contract_window = "days_to_contract_end", contract_window or (-30.0, 30.0)
    else:
        table = open_table(design_or_frame)
        time_unit = time_unit or "months"
    if duration is None or event is None:
        raise SurvivalDataError("name the duration and event columns (--duration COL --event COL)")
    if time_unit not in ("days", "months"):
        raise SurvivalDataError(f"time unit {time_unit!r} is not allowed; use one of 'days', 'months'")

    covariates = [c for c in covariates if c != group]
    missing_cols = [c for c in covariates if c not in table.columns]
    if missing_cols:
        raise SurvivalDataError(f"covariate {missing_cols[0]!r} is not in the data; columns are {list(table.columns)}")
    n_rows = int(table.count().execute())
    data_report: dict[str, Any] = {"rows": n_rows, "rows_used": n_rows, "dropped": {},
                                   "blank_or_missing": _blank_counts(table)}
    for c, k in data_report["blank_or_missing"].items():
        if c not in covariates:
            notes.append(f"column {c!r} has {k} blank or missing value(s); it is not used here, so those rows stay "
                         "in the analysis.")
    # Row-level part first: covariates may need cleaning, and KM must use the same rows as the Cox model.
    needs_rows = bool(covariates)
    frame = None
    if needs_rows:
        cols = list(dict.fromkeys([duration, event, *([group] if group else []), *covariates]))
        frame = table.select(cols).to_pandas()
        frame, blanks = _blank_to_missing(frame, covariates)
        bad = {c: k for c, k in blanks.items() if k}
        if bad and not drop_missing:
            c, k = next(iter(bad.items()))
            raise SurvivalDataError(
                f"covariate {c!r} has {k} missing or blank value(s); fill them, leave the covariate out, or pass "
                "--drop-missing to drop those rows (the count is reported in the output)"
            )
        if bad:
            keep = frame[list(bad)].notna().all(axis=1)
            frame = frame[keep].reset_index(drop=True)
            data_report["dropped"] = {c: {"rows": k, "reason": "missing or blank covariate"} for c, k in bad.items()}
            data_report["rows_used"] = int(keep.sum())
            notes.append(f"{n_rows - int(keep.sum())} row(s) with a missing or blank covariate were dropped "
                         f"({', '.join(f'{c}: {k}' for c, k in bad.items())}); every figure uses the remaining "
                         f"{int(keep.sum())} rows.")
    source = frame if frame is not None else table
    rt = risk_table(source, duration, event, event_value=event_value, group=group)
    curves = kaplan_meier_groups(rt, alpha)
    groups_out: dict[str, Any] = {}
    for g in rt.groups:
        if rt.total_events(g) == 0:
            notes.append(f"group {g!r} has no churn event: its curve stays at 1 and its median is not reached.")
    last = {g: c.last_time for g, c in curves.items()}
    max_h = min(last.values())
    if horizon is None:
        horizon = max_h
        notes.append(f"RMST horizon {horizon:g} {time_unit}: the shortest follow-up among the groups.")
    elif horizon > max_h:
        g_short = min(last, key=lambda k: last[k])
        raise HorizonError(
            f"horizon {horizon:g} is beyond the last observed time {max_h:g} {time_unit} of group {g_short!r}; the "
            f"Kaplan–Meier RMST would extrapolate {horizon - max_h:g} {time_unit} flat; use --horizon {max_h:g} or "
            "less (lifetime value beyond follow-up uses the parametric models)"
        )
    for g, c in curves.items():
        med = median_survival(c)
        r = rmst(c, horizon, alpha, label=g)
        beyond = [t for t in times if t > c.last_time]
        s_at = {f"{t:g}": float(survival_at(c, [t], allow_beyond=True)[0]) if t <= c.last_time else None
                for t in times}
        if beyond:
            notes.append(f"S(t) of group {g!r} is not reported at {', '.join(f'{t:g}' for t in beyond)}: beyond its "
                         f"last observed time {c.last_time:g}.")
        groups_out[str(g)] = {
            "n": c.n, "events": c.n_events, "median": med.time, "median_ci": [med.lower, med.upper], "s_at": s_at,
            "rmst": r.rmst, "rmst_se": r.se, "rmst_ci": [r.lower, r.upper], "last_time": c.last_time,
        }
    lr = None
    if len(rt.groups) >= 2:
        try:
            lr = logrank_test(rt).to_dict()
        except ModelError as exc:
            notes.append(f"log-rank test not computed: {exc}")
    if control is not None and group is not None and control not in curves:
        raise SurvivalDataError(f"control {control!r} is not a value of column {group!r}; values are "
                                f"{[str(g) for g in rt.groups]}")
    gained: dict[str, Any] = {}
    if control is not None:
        r_c = rmst(curves[control], horizon, alpha)
        for g in rt.groups:
            if g == control:
                continue
            diff = rmst_difference(rmst(curves[g], horizon, alpha), r_c)
            gained[str(g)] = {"estimate": diff.estimate, "se": diff.se, "ci": [diff.lower, diff.upper],
                              "p_value": diff.p_value, "months": _months(diff.estimate, time_unit),
                              "months_ci": [_months(diff.lower, time_unit), _months(diff.upper, time_unit)],
                              "horizon": horizon}

    # Row-level models
    gen = np.random.default_rng(rng)
    if group is not None or covariates:
        if frame is None:
            cols = list(dict.fromkeys([duration, event, *([group] if group else [])]))
            frame = table.select(cols).to_pandas() if n_rows <= max_model_rows else None
            if frame is None:
                # the engine draws a Bernoulli sample a little larger than needed, so that only about
                # max_model_rows rows come to Python (not all n_rows); pandas then cuts it to max_model_rows
                over = min(1.0, 1.2 * max_model_rows / n_rows + 10.0 / n_rows)
                frame = table.select(cols).sample(over, seed=int(gen.integers(1 << 31))).to_pandas()
                if len(frame) > max_model_rows:
                    frame = frame.sample(n=max_model_rows, random_state=gen.integers(1 << 31))
                frame = frame.reset_index(drop=True)
                notes.append(f"Cox and parametric models were fitted on a random sample of {len(frame):,} of "
                             f"{n_rows:,} rows ({len(frame) / n_rows:.1%}), drawn in the engine.")
                data_report["model_sample"] = len(frame)
    cox: dict[str, Any] = {}
    ph: dict[str, Any] = {}
    if frame is not None and (group is not None or covariates):
        # a covariate without variance or an arm without churn events is an error (ModelError), not a note
        res = fit_cox(frame, duration, event, covariates, event_value=event_value, arm=group, control=control,
                      alpha=alpha)
        cox = res.to_dict()["coefficients"]
        ph = res.to_dict()["ph_test"]
    # Parametric fits need only (time, event, count) triples: they come from the engine's risk table (all rows)
    fits = {g: fit_parametric_counts(rt.times[g], rt.events[g], rt.removed[g]) for g in rt.groups
            if rt.total_events(g) > 0}
    parametric: dict[str, Any] = {str(g): f.to_dict() for g, f in fits.items()}
    triples = rt.to_frame()
    tri_t = np.concatenate((triples["time"], triples["time"])).astype(float)
    tri_e = np.concatenate((np.ones(len(triples)), np.zeros(len(triples)))).astype(int)
    tri_w = np.concatenate((triples["events"], triples["removed"] - triples["events"])).astype(float)
    tri_g = np.concatenate((triples["group"], triples["group"]))

    contract: dict[str, Any] = {}
    if contract_end is not None:
        from survival.hazard import fit_contract_end_cox

        if contract_end not in table.columns:
            raise SurvivalDataError(f"contract-end column {contract_end!r} is not in the data; columns are "
                                    f"{list(table.columns)}")
        cols = list(dict.fromkeys([duration, event, contract_end, *([group] if group else []), *covariates]))
        rows = frame[[c for c in cols if c in frame.columns]] if frame is not None and set(cols) <= set(
            frame.columns) else table.select(cols).to_pandas()
        if len(rows) > max_contract_rows:
            rows = rows.sample(n=max_contract_rows, random_state=gen.integers(1 << 31))
            notes.append(f"The contract-end model was fitted on a random sample of {max_contract_rows:,} rows.")
        ce = fit_contract_end_cox(rows, duration, event, contract_end, covariates, event_value=event_value,
                                  arm=group, control=control, alpha=alpha, window=contract_window)
        name = "after_contract_end" if contract_window is None else "around_contract_end"
        r = ce.table.loc[name]
        contract = {"column": contract_end, "window": list(contract_window) if contract_window else None,
                    "covariate": name, "hr": float(r.hr), "hr_ci": [float(r.hr_lower), float(r.hr_upper)],
                    "p_value": float(r.p_value), "n": ce.n_subscribers}

    ltv: dict[str, Any] = {}
    if value is not None:
        margin = value["margin"]
        if isinstance(margin, str):
            if margin not in table.columns:
                raise SurvivalDataError(f"value.margin: column {margin!r} is not in the data; give a number or one of "
                                        f"{list(table.columns)}")
            m = float(table[margin].mean().execute())
            notes.append(f"Lifetime value uses the mean of {margin!r} ({m:.2f} per month) for every arm, so ΔLTV "
                         "reflects retention only; per-subscriber values: survival.ltv.lifetime_value.")
        else:
            m = float(margin)
        h_m, rate = int(value["horizon_months"]), float(value["annual_discount_rate"])
        upm = DAYS_PER_MONTH if time_unit == "days" else 1.0
        within = h_m * upm <= max_h
        arms_ltv: dict[Any, Any] = {}
        if within:
            arms_ltv = {g: ltv_from_curve(c, m, h_m, rate, time_unit=time_unit, alpha=alpha, label=g)
                        for g, c in curves.items()}
        shared: dict[str, Any] = {}
        if not within:
            fam = shared_family(fits)
            shared = fam.to_dict()
            arms_ltv = ltv_by_group(tri_t, tri_e, tri_g, m, h_m, rate, time_unit=time_unit, method="parametric",
                                    alpha=alpha, weights=tri_w, fits=fits, family=fam.best)
            own = {str(g): b for g, b in fam.per_group_best.items() if b != fam.best}
            differs = ("; on its own AIC " + ", ".join(f"{g} would pick {b}" for g, b in own.items()) +
                       ", but mixing families would make ΔLTV partly a difference between model shapes") if own else ""
            notes.append(f"Lifetime value over {h_m} months extrapolates {h_m - _months(max_h, time_unit):.1f} "
                         f"months beyond the observed follow-up ({_months(max_h, time_unit):.1f} months) with one "
                         f"parametric family for every arm, {fam.best}: the family with the lowest total AIC over "
                         f"the arms (ΔAIC to the next family {fam.aic['delta_aic'].iloc[1]:.1f}){differs}. Each arm "
                         "keeps its own parameters. The interval covers parameter uncertainty only, not the choice "
                         "of family nor the hazard's shape after follow-up.")
        ltv = {"settings": {"margin_per_month": m, "horizon_months": h_m, "annual_discount_rate": rate},
               "arms": {str(g): {"value": r.value, "se": r.se, "ci": [r.lower, r.upper],
                                 "expected_months": r.expected_months, "method": r.method,
                                 "extrapolated_months": r.extrapolated_months} for g, r in arms_ltv.items()},
               "delta": {}, "family": shared}
        if control is not None and control in arms_ltv:
            for g, lv in arms_ltv.items():
                if g != control:
                    dd = ltv_difference(lv, arms_ltv[control], alpha)
                    ltv["delta"][str(g)] = {"estimate": dd.estimate, "se": dd.se, "ci": [dd.lower, dd.upper]}
    notes.append("Kaplan–Meier with log(-log) Greenwood bands and the log-rank test are computed from per-time "
                 "at-risk and event counts aggregated in the engine (they equal lifelines); RMST standard errors "
                 "follow survRM2 (Greenwood), not lifelines' variance of min(T, tau).")
    return SurvivalAnalysis(groups=groups_out, logrank=lr, cox=cox, ph_test=ph, tenure_gained=gained, ltv=ltv,
                            parametric=parametric, horizon=float(horizon), time_unit=time_unit,
                            control=None if control is None else str(control), data=data_report, contract_end=contract,
                            curves={str(g): c.to_frame() for g, c in curves.items()}, notes=notes)


def km_figure(result: SurvivalAnalysis, title: str = "Survival by arm") -> Any:
    """Plotly step curves per group with their confidence bands."""
    import plotly.graph_objects as go

    fig = go.Figure()
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    for k, (g, c) in enumerate(result.curves.items()):
        colour = palette[k % len(palette)]
        fig.add_trace(go.Scatter(x=c["time"], y=c["upper"], mode="lines", line={"width": 0, "shape": "hv"},
                                 showlegend=False, hoverinfo="skip", legendgroup=g))
        fig.add_trace(go.Scatter(x=c["time"], y=c["lower"], mode="lines", line={"width": 0, "shape": "hv"},
                                 fill="tonexty", fillcolor=_rgba(colour, 0.18), showlegend=False, hoverinfo="skip",
                                 legendgroup=g))
        fig.add_trace(go.Scatter(x=c["time"], y=c["survival"], mode="lines", name=g, legendgroup=g,
                                 line={"shape": "hv", "color": colour}))
    fig.update_layout(title=title, xaxis_title=f"time since start ({result.time_unit})",
                      yaxis_title="share still subscribed", yaxis={"range": [0, 1.01]})
    return fig


def _rgba(hex_colour: str, a: float) -> str:
    h = hex_colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {a})"


def survival_section(result: SurvivalAnalysis, lang: Lang = "en") -> ReportSection:
    """Report section: tenure gained and ΔLTV per arm (plain language first), KM plot, tables, trust checks.

    Conclusions, trust checks and the title are in ``lang``; tables and method notes stay English.
    """
    unit = result.time_unit
    unit_l = msg(f"unit.{unit}", lang) if f"unit.{unit}" in MESSAGES else unit
    h_m = _months(result.horizon, unit)
    conclusions: list[str] = []
    for arm, g in result.tenure_gained.items():
        lo, hi = g["months_ci"]
        verdict = msg("surv.gains" if lo > 0 else ("surv.loses" if hi < 0 else "surv.none"), lang)
        conclusions.append(msg("surv.tenure", lang, arm=arm, verdict=verdict, ctrl=result.control,
                               months=f"{g['months']:+.2f}", h=f"{h_m:.1f}", lo=f"{lo:+.2f}", hi=f"{hi:+.2f}",
                               p=f"{g['p_value']:.3g}"))
    ltv = result.ltv
    if ltv.get("delta"):
        s = ltv["settings"]
        for arm, dd in ltv["delta"].items():
            lo, hi = dd["ci"]
            conclusions.append(msg("surv.ltv", lang, h=s["horizon_months"], rate=f"{s['annual_discount_rate']:.0%}",
                                   margin=f"{s['margin_per_month']:.2f}", arm=arm, delta=f"{dd['estimate']:+.2f}",
                                   ctrl=result.control, lo=f"{lo:+.2f}", hi=f"{hi:+.2f}"))
    ce = result.contract_end
    if ce:
        where = (msg("surv.window", lang, a=f"{ce['window'][0]:+g}", b=f"{ce['window'][1]:+g}", unit=unit_l)
                 if ce["window"] else msg("surv.after", lang))
        conclusions.append(msg("surv.contract", lang, hr=f"{ce['hr']:.2f}", where=where, lo=f"{ce['hr_ci'][0]:.2f}",
                               hi=f"{ce['hr_ci'][1]:.2f}"))
    if result.logrank:
        lr = result.logrank
        conclusions.append(msg("surv.logrank", lang, stat=f"{lr['statistic']:.2f}", dof=lr["dof"],
                               p=f"{lr['p_value']:.3g}"))
    rows = []
    for g, v in result.groups.items():
        rows.append({"group": g, "subscribers": v["n"], "churned": v["events"],
                     f"median ({unit})": v["median"],
                     f"RMST to {result.horizon:g} {unit}": round(v["rmst"], 3),
                     "RMST 95% CI": f"{v['rmst_ci'][0]:.2f} – {v['rmst_ci'][1]:.2f}",
                     **{f"S({t})": (None if s is None else round(s, 4)) for t, s in v["s_at"].items()}})
    tables: list[tuple[str, pd.DataFrame]] = [("Survival by group", pd.DataFrame(rows))]
    if result.cox:
        tables.append(("Cox model: hazard ratios (below 1 = slower churn)", pd.DataFrame([
            {"term": k, "hazard ratio": round(v["hr"], 4), "95% CI": f"{v['hr_ci'][0]:.3f} – {v['hr_ci'][1]:.3f}",
             "p": v["p_value"]} for k, v in result.cox.items()])))
    if ltv.get("arms"):
        tables.append(("Lifetime value per subscriber", pd.DataFrame([
            {"arm": a, "LTV": round(v["value"], 2), "95% CI": f"{v['ci'][0]:.2f} – {v['ci'][1]:.2f}",
             "expected months": round(v["expected_months"], 2), "method": v["method"]}
            for a, v in ltv["arms"].items()])))
    if result.parametric:
        fam = ltv.get("family") or {}
        aic_rows = [{"group": g, **{m: round(a, 1) for m, a in p["aic"].items()}, "own lowest AIC": p["best"]}
                    for g, p in result.parametric.items()]
        title = "Parametric models for extrapolation (AIC per group)"
        if fam:
            aic_rows.append({"group": "total (all arms)", **{m: round(a, 1) for m, a in fam["total_aic"].items()},
                             "own lowest AIC": fam["family"]})
            title = f"Parametric models for extrapolation: {fam['family']} used for every arm (lowest total AIC)"
        tables.append((title, pd.DataFrame(aic_rows)))
    checks: list[TrustCheck] = []
    if result.ph_test:
        bad = {k: v for k, v in result.ph_test["covariates"].items() if v["p_value"] < result.ph_test["alpha"]}
        if bad:
            worst = min(bad, key=lambda k: bad[k]["p_value"])
            checks.append(TrustCheck(msg("check.ph", lang), "warning",
                                     msg("ph.fail", lang, cov=worst, p=f"{bad[worst]['p_value']:.2g}")))
        else:
            p_min = min((v["p_value"] for v in result.ph_test["covariates"].values()), default=float("nan"))
            checks.append(TrustCheck(msg("check.ph", lang), "ok", msg("ph.ok", lang, p=f"{p_min:.2g}")))
    extrap = [(a, v["extrapolated_months"]) for a, v in ltv.get("arms", {}).items() if v["extrapolated_months"] > 0]
    if extrap:
        a, mo = max(extrap, key=lambda x: x[1])
        fam = (ltv.get("family") or {}).get("family", msg("extrap.family", lang))
        h = ltv["settings"]["horizon_months"]
        checks.append(TrustCheck(msg("check.extrapolation", lang), "warning",
                                 msg("extrap.warn", lang, mo=f"{mo:.1f}", h=h, arm=a, fam=fam,
                                     bias=msg("extrap.bias", lang))))
    elif ltv.get("arms"):
        checks.append(TrustCheck(msg("check.extrapolation", lang), "ok", msg("extrap.ok", lang)))
    return ReportSection(key="survival", title=msg("title.survival", lang),
                         conclusions=conclusions, tables=tables,
                         figures=[("Share of subscribers still active, by arm (95% bands)", km_figure(result))],
                         checks=checks, notes=list(result.notes), language=lang)

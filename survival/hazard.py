"""Hazard models: Cox proportional hazards with a proportional-hazards check, parametric fits chosen by AIC for
extrapolation, and a Cox model with a time-varying "contract has ended" covariate.

lifelines does the fitting (it is the right tool for row-level likelihoods); this module prepares the design
matrix, validates the input, and packages results. Failures of the proportional-hazards check are part of the result
(``CoxResult.ph_ok`` and ``CoxResult.ph_test``), never hidden.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

from survival.errors import ModelError, SurvivalDataError

ParametricName = Literal["weibull", "loglogistic", "lognormal", "exponential"]
PARAMETRIC_MODELS: tuple[str, ...] = get_args(ParametricName)


def check_choice(value: str, literal: Any, key: str) -> str:
    """Return ``value`` if it is one of the ``Literal``'s values, else raise :class:`SurvivalDataError`."""
    allowed = get_args(literal)
    if value not in allowed:
        raise SurvivalDataError(f"{key}: {value!r} is not allowed; use one of {', '.join(map(repr, allowed))}")
    return value


def _to_pandas(data: Any, columns: list[str]) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise SurvivalDataError(f"column {missing[0]!r} is not in the data; columns are {list(data.columns)}")
        return data[columns]  # a new frame; the caller's is not touched
    try:
        import ibis
    except ImportError:  # pragma: no cover - ibis is a dependency
        ibis = None
    if ibis is not None and isinstance(data, ibis.expr.types.Table):
        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise SurvivalDataError(f"column {missing[0]!r} is not in the data; columns are {list(data.columns)}")
        return data.select(columns).to_pandas()
    raise SurvivalDataError(f"data: expected a pandas DataFrame or an Ibis table, found {type(data).__name__}")


def prepare_survival_frame(
    data: Any,
    duration: str,
    event: str,
    covariates: list[str] | tuple[str, ...] = (),
    *,
    event_value: Any = None,
    arm: str | None = None,
    control: Any = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Validated modelling frame: ``duration``, ``event`` (0/1) and numeric covariates (categoricals one-hot).

    Categorical covariates (strings, categories, booleans) are expanded into indicators against their first level;
    the arm is expanded against ``control``. Returns the frame and the names of the model columns.

    Raises
    ------
    SurvivalDataError
        Missing columns, missing values in a covariate, negative or missing durations, bad event codes.
    ModelError
        A covariate has no variance (one value for every subscriber).
    """
    covariates = list(covariates)
    cols = [duration, event] + ([arm] if arm else []) + [c for c in covariates if c != arm]
    frame = _to_pandas(data, list(dict.fromkeys(cols)))
    t = pd.to_numeric(frame[duration], errors="coerce")
    if t.isna().any():
        raise SurvivalDataError(f"column {duration!r} has {int(t.isna().sum())} missing or non-numeric duration(s); "
                                "every subscriber needs a time to churn or to censoring")
    if (t < 0).any():
        raise SurvivalDataError(f"column {duration!r} has {int((t < 0).sum())} negative duration(s); "
                                "durations must be >= 0")
    e = frame[event]
    if e.isna().any():
        raise SurvivalDataError(f"column {event!r} has {int(e.isna().sum())} missing event indicator(s)")
    if event_value is not None and pd.api.types.is_bool_dtype(e):
        from survival.risk_table import boolean_event_value

        as_bool = boolean_event_value(event_value)
        if as_bool is None:
            raise SurvivalDataError(f"column {event!r} is boolean but the event value is {event_value!r}; "
                                    "pass Yes/True or No/False")
        event_value = as_bool
    if event_value is not None:
        values = set(e.unique().tolist())
        if event_value not in values:
            raise SurvivalDataError(f"column {event!r} never equals the event value {event_value!r}; "
                                    f"it holds {sorted(map(str, values))[:5]}")
        if len(values) > 2:
            raise SurvivalDataError(f"column {event!r} holds more than two values {sorted(map(str, values))[:5]}; "
                                    "recode it to churned / not churned")
        ev = (e == event_value).astype(int)
    else:
        if not set(pd.unique(e.astype(float) if e.dtype != object else e)) <= {0, 1}:
            raise SurvivalDataError(f"column {event!r} must be coded 0/1 (1 = churned) but holds "
                                    f"{sorted(map(str, e.unique()))[:5]}; recode it or pass the event value")
        ev = e.astype(int)
    out = pd.DataFrame({"_duration": t.astype(float).to_numpy(), "_event": ev.to_numpy()}, index=frame.index)
    names: list[str] = []
    if arm:
        levels = sorted(frame[arm].dropna().unique().tolist(), key=str)
        if frame[arm].isna().any():
            raise SurvivalDataError(f"column {arm!r} has {int(frame[arm].isna().sum())} missing arm label(s)")
        if control is None:
            control = levels[0]
        if control not in levels:
            raise SurvivalDataError(f"control {control!r} is not a value of column {arm!r}; values are {levels}")
        for lev in levels:
            if lev != control:
                name = f"{arm}[{lev}]"
                out[name] = (frame[arm] == lev).astype(float).to_numpy()
                names.append(name)
    for c in covariates:
        if c == arm:
            continue
        col = frame[c]
        if col.isna().any():
            raise SurvivalDataError(f"covariate {c!r} has {int(col.isna().sum())} missing value(s); impute them "
                                    "or drop those rows explicitly before fitting")
        if col.nunique() < 2:
            raise ModelError(f"covariate {c!r} has no variance (every subscriber has {col.iloc[0]!r}); "
                             "remove it from the covariates")
        if pd.api.types.is_bool_dtype(col):
            out[c] = col.astype(float).to_numpy()
            names.append(c)
        elif pd.api.types.is_numeric_dtype(col):
            out[c] = col.astype(float).to_numpy()
            names.append(c)
        else:
            levels = sorted(col.unique().tolist(), key=str)
            for lev in levels[1:]:
                name = f"{c}[{lev}]"
                out[name] = (col == lev).astype(float).to_numpy()
                names.append(name)
    return out.reset_index(drop=True), names


@dataclass(frozen=True, slots=True)
class CoxResult:
    """A fitted Cox proportional-hazards model.

    Attributes
    ----------
    table : DataFrame
        Index: model column; columns ``coef, se, hr, hr_lower, hr_upper, z, p_value`` (Efron ties, as R's coxph).
    ph_test : DataFrame
        Scaled Schoenfeld residual test per model column: ``statistic, p_value`` (``time_transform`` as named).
    ph_ok : bool
        False if any covariate's PH test has p < ``alpha``: hazard ratios then average over time.
    ph_transform : str
        Time transform of the PH test (``"km"``: R's ``cox.zph`` default).
    concordance : float
        Harrell's C of the linear predictor on the fitting data.
    log_likelihood : float
        Partial log-likelihood at the estimate.
    n, events : int
        Subscribers and churn events used.
    alpha : float
        One minus the confidence level of ``hr_lower, hr_upper``.
    model : object
        The fitted ``lifelines.CoxPHFitter`` (for predictions).
    columns : list[str]
        Model columns, in order.
    """

    table: pd.DataFrame
    ph_test: pd.DataFrame
    ph_ok: bool
    ph_transform: str
    concordance: float
    log_likelihood: float
    n: int
    events: int
    alpha: float
    model: Any = field(repr=False)
    columns: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Hazard-ratio table joined with the PH test."""
        ph = self.ph_test.rename(columns={"statistic": "ph_statistic", "p_value": "ph_p_value"})
        return self.table.join(ph)

    def to_dict(self) -> dict[str, Any]:
        """``{column: {coef, se, hr, hr_ci, p_value}}`` plus the PH test, JSON-able."""
        return {
            "coefficients": {
                name: {"coef": float(r.coef), "se": float(r.se), "hr": float(r.hr),
                       "hr_ci": [float(r.hr_lower), float(r.hr_upper)], "p_value": float(r.p_value)}
                for name, r in self.table.iterrows()
            },
            "ph_test": {"transform": self.ph_transform, "ok": bool(self.ph_ok), "alpha": self.alpha,
                        "covariates": {name: {"statistic": float(r.statistic), "p_value": float(r.p_value)}
                                       for name, r in self.ph_test.iterrows()}},
            "concordance": float(self.concordance), "n": self.n, "events": self.events,
        }

    def _repr_html_(self) -> str:
        return self.summary().to_html(float_format=lambda x: f"{x:.4g}")

    def survival_function(self, frame: pd.DataFrame, times: Any) -> np.ndarray:
        """S(t | x) for each row of a modelling frame (from :func:`prepare_survival_frame`), shape (len(times), n)."""
        return self.model.predict_survival_function(frame[self.columns], times=np.asarray(times, float)).to_numpy()


def fit_cox(
    data: Any,
    duration: str,
    event: str,
    covariates: list[str] | tuple[str, ...] = (),
    *,
    event_value: Any = None,
    arm: str | None = None,
    control: Any = None,
    alpha: float = 0.05,
    ph_transform: str = "km",
    penalizer: float = 0.0,
) -> CoxResult:
    """Fit a Cox model of time to churn on the arm and covariates, and test proportional hazards.

    Parameters
    ----------
    data : DataFrame or ibis Table
        One row per subscriber (not modified).
    duration, event : str
        Time to churn or censoring; churn indicator (0/1, or with ``event_value``).
    covariates : list of str
        Numeric or categorical columns (categoricals are expanded against their first level).
    arm, control : optional
        Arm column and its control label; each other arm gets a hazard ratio against control.
    alpha : float
        Level of the hazard-ratio CIs and of the PH check.
    ph_transform : {"km", "rank", "identity", "log"}
        Time transform of the scaled Schoenfeld residual test (``"km"`` is R ``cox.zph``'s default).
    penalizer : float
        Ridge penalty passed to lifelines (0 = plain partial likelihood, as R).

    Returns
    -------
    CoxResult

    Examples
    --------
    >>> from lifelines.datasets import load_rossi
    >>> res = fit_cox(load_rossi(), "week", "arrest", ["fin", "age", "prio"])
    >>> round(float(res.table.loc["prio", "hr"]), 3)
    1.102
    """
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    frame, names = prepare_survival_frame(data, duration, event, covariates, event_value=event_value, arm=arm,
                                          control=control)
    if not names:
        raise ModelError("a Cox model needs at least one covariate or an arm column; none were given")
    n_events = int(frame["_event"].sum())
    if n_events == 0:
        raise ModelError(f"column {event!r} has no churn event; a hazard model needs events")
    if arm:
        for name in names:
            if name.startswith(f"{arm}[") and frame.loc[frame[name] == 1, "_event"].sum() == 0:
                raise ModelError(f"arm {name[len(arm) + 1:-1]!r} has no churn event; its hazard ratio is not "
                                 "identified (the estimate would diverge to 0); wait for events or drop the arm")
    model = CoxPHFitter(alpha=alpha, penalizer=penalizer)
    fit_frame = frame[["_duration", "_event", *names]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(fit_frame, duration_col="_duration", event_col="_event")
    s = model.summary
    z = float(stats.norm.ppf(1 - alpha / 2))
    table = pd.DataFrame({
        "coef": s["coef"], "se": s["se(coef)"], "hr": np.exp(s["coef"]),
        "hr_lower": np.exp(s["coef"] - z * s["se(coef)"]), "hr_upper": np.exp(s["coef"] + z * s["se(coef)"]),
        "z": s["z"], "p_value": s["p"],
    })
    table.index.name = "covariate"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ph = proportional_hazard_test(model, fit_frame, time_transform=ph_transform)
    ph_table = ph.summary[["test_statistic", "p"]].rename(columns={"test_statistic": "statistic", "p": "p_value"})
    ph_table.index = [i if isinstance(i, str) else i[0] for i in ph_table.index]
    return CoxResult(table=table, ph_test=ph_table, ph_ok=bool((ph_table["p_value"] >= alpha).all()),
                     ph_transform=ph_transform, concordance=float(model.concordance_index_),
                     log_likelihood=float(model.log_likelihood_), n=len(frame), events=n_events, alpha=alpha,
                     model=model, columns=names)


# --- parametric models ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ParametricFit:
    """Univariate parametric survival models compared by AIC; the best one extrapolates beyond follow-up.

    Attributes
    ----------
    aic : DataFrame
        One row per candidate: ``model, aic, log_likelihood, n_params`` sorted by AIC (best first).
    best : str
        Name of the model with the lowest AIC.
    params : dict
        Fitted parameters of each candidate (lifelines' parametrisation).
    last_time : float
        Last observed duration: values beyond it are extrapolations.
    models : dict
        Name -> fitted lifelines univariate fitter.
    """

    aic: pd.DataFrame
    best: str
    params: dict
    last_time: float
    models: dict = field(repr=False)

    def survival(self, times: Any, model: str | None = None) -> np.ndarray:
        """S(t) of the best (or the named) model at ``times``."""
        fitter = self.models[model or self.best]
        return np.asarray(fitter.survival_function_at_times(np.asarray(times, float)).to_numpy(), float)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able AIC table and the choice."""
        return {"best": self.best, "last_observed_time": self.last_time,
                "aic": {r.model: float(r.aic) for r in self.aic.itertuples()},
                "params": {k: {p: float(v) for p, v in d.items()} for k, d in self.params.items()}}


def _univariate_fitter(name: str) -> Any:
    from lifelines import ExponentialFitter, LogLogisticFitter, LogNormalFitter, WeibullFitter

    return {"weibull": WeibullFitter, "loglogistic": LogLogisticFitter, "lognormal": LogNormalFitter,
            "exponential": ExponentialFitter}[name]()


def fit_parametric(
    durations: Any, events: Any, models: tuple[str, ...] = PARAMETRIC_MODELS, *, weights: Any = None
) -> ParametricFit:
    """Fit candidate parametric models to one group's durations and pick the one with the lowest AIC.

    The fit runs on the distinct (duration, event) pairs weighted by their counts (times ``weights``), which gives
    the row-level likelihood exactly. Durations of 0 are moved to a tiny positive time (1e-3 of the smallest positive
    duration) because the log-likelihoods of these models are undefined at 0; such rows are kept in the fit.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = 10 * rng.weibull(1.5, 2000)
    >>> fit_parametric(t, np.ones_like(t)).best
    'weibull'
    """
    t = np.asarray(durations, float)
    e = np.asarray(events, int)
    w = np.ones(t.size) if weights is None else np.asarray(weights, float)
    if w.shape != t.shape or (w < 0).any():
        raise SurvivalDataError("weights must be non-negative counts, one per duration")
    t, e, w = t[w > 0], e[w > 0], w[w > 0]
    for m in models:
        check_choice(m, ParametricName, "parametric model")
    if (e * w).sum() == 0:
        raise ModelError("no churn event in the group; a parametric model cannot be fitted")
    positive = t[t > 0]
    if positive.size == 0:
        raise SurvivalDataError("every duration is 0; nothing to fit")
    t = np.where(t > 0, t, positive.min() * 1e-3)
    # the likelihood only depends on the distinct (duration, event) pairs: fit on them with counts as weights
    # (same log-likelihood, estimates and Hessian as the row-level fit, far fewer terms with integer durations)
    pairs, inverse = np.unique(np.stack([t, e.astype(float)], axis=1), axis=0, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=w)
    rows, params, fitted = [], {}, {}
    for m in models:
        fitter = _univariate_fitter(m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitter.fit(pairs[:, 0], pairs[:, 1].astype(int), weights=counts.astype(float))
        fitted[m] = fitter
        params[m] = {str(k): float(v) for k, v in fitter.params_.items()}
        rows.append({"model": m, "aic": float(fitter.AIC_), "log_likelihood": float(fitter.log_likelihood_),
                     "n_params": len(fitter.params_)})
    aic = pd.DataFrame(rows).sort_values("aic", ignore_index=True)
    return ParametricFit(aic=aic, best=str(aic.loc[0, "model"]), params=params, last_time=float(t.max()),
                         models=fitted)


def fit_parametric_counts(
    times: Any, events: Any, removed: Any, models: tuple[str, ...] = PARAMETRIC_MODELS
) -> ParametricFit:
    """:func:`fit_parametric` from one group of a risk table (distinct times, events, removed): no rows needed."""
    t = np.asarray(times, float)
    d = np.asarray(events, float)
    c = np.asarray(removed, float) - d
    return fit_parametric(np.concatenate((t, t)), np.concatenate((np.ones(t.size), np.zeros(t.size))).astype(int),
                          models, weights=np.concatenate((d, c)))


@dataclass(frozen=True, slots=True)
class ParametricRegression:
    """Parametric AFT regression models compared by AIC (for per-subscriber curves beyond follow-up).

    Attributes
    ----------
    aic : DataFrame
        ``model, aic, log_likelihood`` per candidate, best first.
    best : str
        Chosen model.
    columns : list[str]
        Model columns (see :func:`prepare_survival_frame`).
    last_time : float
        Last observed duration.
    model : object
        The chosen fitted lifelines AFT fitter.
    """

    aic: pd.DataFrame
    best: str
    columns: list[str]
    last_time: float
    model: Any = field(repr=False)

    def survival(self, frame: pd.DataFrame, times: Any) -> np.ndarray:
        """S(t | x), shape (len(times), n rows)."""
        times = np.asarray(times, float)
        return self.model.predict_survival_function(frame[self.columns], times=times).to_numpy()


def fit_parametric_regression(
    frame: pd.DataFrame, columns: list[str], models: tuple[str, ...] = ("weibull", "loglogistic", "lognormal")
) -> ParametricRegression:
    """Fit Weibull / log-logistic / log-normal AFT regressions on a modelling frame and keep the lowest AIC."""
    from lifelines import LogLogisticAFTFitter, LogNormalAFTFitter, WeibullAFTFitter

    classes = {"weibull": WeibullAFTFitter, "loglogistic": LogLogisticAFTFitter, "lognormal": LogNormalAFTFitter}
    t = frame["_duration"].to_numpy(float)
    positive = t[t > 0]
    fit_frame = frame[["_duration", "_event", *columns]].copy()
    fit_frame["_duration"] = np.where(t > 0, t, np.median(positive) * 1e-6)
    rows, fitted = [], {}
    for m in models:
        if m not in classes:
            raise SurvivalDataError(f"regression model {m!r} is not allowed; use one of {sorted(classes)}")
        fitter = classes[m]()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitter.fit(fit_frame, duration_col="_duration", event_col="_event")
        fitted[m] = fitter
        rows.append({"model": m, "aic": float(fitter.AIC_), "log_likelihood": float(fitter.log_likelihood_)})
    aic = pd.DataFrame(rows).sort_values("aic", ignore_index=True)
    best = str(aic.loc[0, "model"])
    return ParametricRegression(aic=aic, best=best, columns=list(columns), last_time=float(t.max()),
                                model=fitted[best])


# --- contract end: time-varying covariate -----------------------------------------------------------------------

def split_at_contract_end(
    frame: pd.DataFrame, contract_end: np.ndarray, columns: list[str],
    window: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Counting-process rows ``id, start, stop, event, <indicator>, *columns``.

    Without ``window`` the indicator is ``after_contract_end``: 1 from the contract end ``c`` on (a subscriber whose
    contract ended before follow-up, ``c <= 0``, has 1 throughout). With ``window = (w0, w1)`` it is
    ``around_contract_end``: 1 on [c + w0, c + w1), 0 elsewhere. Each subscriber's follow-up [0, T) is cut at those
    points (at most three rows); only the last row carries the churn event.
    """
    t = frame["_duration"].to_numpy(float)
    e = frame["_event"].to_numpy(int)
    c = np.asarray(contract_end, float)
    if c.shape != t.shape or not np.isfinite(c).all():
        raise SurvivalDataError("contract-end times must be finite, one per subscriber")
    if window is None:
        lo, hi, name = c, np.full(t.shape, np.inf), "after_contract_end"
    else:
        w0, w1 = window
        if not w0 < w1:
            raise SurvivalDataError(f"contract-end window must be (start, end) with start < end; found {window}")
        lo, hi, name = c + w0, c + w1, "around_contract_end"
    ids = np.arange(t.size)
    cuts = np.stack([np.zeros_like(t), np.clip(lo, 0, t), np.clip(hi, 0, t), t], axis=1)  # 3 pieces
    pieces = []
    for k, flag in enumerate((0.0, 1.0, 0.0)):
        start, stop = cuts[:, k], cuts[:, k + 1]
        keep = stop > start
        last = stop[keep] == t[keep]
        pieces.append(pd.DataFrame({"id": ids[keep], "start": start[keep], "stop": stop[keep],
                                    "event": np.where(last, e[keep], 0), name: flag}))
    long = pd.concat(pieces, ignore_index=True)
    for col in columns:
        long[col] = frame[col].to_numpy()[long["id"].to_numpy()]
    return long.sort_values(["id", "start"], ignore_index=True)


@dataclass(frozen=True, slots=True)
class ContractEndResult:
    """Cox model with a time-varying indicator that the contract has ended.

    Attributes
    ----------
    table : DataFrame
        ``coef, se, hr, hr_lower, hr_upper, p_value`` per column; ``after_contract_end`` is the multiplier of the
        churn hazard once the contract has ended.
    n_subscribers, n_intervals : int
        Subscribers and counting-process rows.
    """

    table: pd.DataFrame
    n_subscribers: int
    n_intervals: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-able table."""
        return {name: {"coef": float(r.coef), "se": float(r.se), "hr": float(r.hr),
                       "hr_ci": [float(r.hr_lower), float(r.hr_upper)], "p_value": float(r.p_value)}
                for name, r in self.table.iterrows()}


def fit_contract_end_cox(
    data: Any,
    duration: str,
    event: str,
    contract_end: str,
    covariates: list[str] | tuple[str, ...] = (),
    *,
    event_value: Any = None,
    arm: str | None = None,
    control: Any = None,
    alpha: float = 0.05,
    window: tuple[float, float] | None = None,
) -> ContractEndResult:
    """Cox model where the hazard changes around the contract end (time-varying covariate, lifelines
    ``CoxTimeVaryingFitter``).

    ``contract_end`` is the column with the time from the start of follow-up to the contract end, in the unit of
    ``duration`` (negative or zero: already out of contract). Without ``window`` the covariate is
    ``after_contract_end``; with ``window=(w0, w1)`` it is ``around_contract_end`` (1 on [c + w0, c + w1)), e.g.
    ``(-30, 30)`` days for the month either side of expiry.
    """
    from lifelines import CoxTimeVaryingFitter

    frame, names = prepare_survival_frame(data, duration, event, list(covariates), event_value=event_value,
                                          arm=arm, control=control)
    ce = _to_pandas(data, [contract_end])[contract_end]
    if ce.isna().any():
        raise SurvivalDataError(f"column {contract_end!r} has {int(ce.isna().sum())} missing value(s); "
                                "give every subscriber a contract-end time (a large value for no contract)")
    long = split_at_contract_end(frame, pd.to_numeric(ce).to_numpy(float), names, window)
    indicator = "after_contract_end" if window is None else "around_contract_end"
    if long[indicator].nunique() < 2:
        raise ModelError(f"column {contract_end!r}: no subscriber changes contract status during follow-up, so "
                         "the contract-end effect is not identified")
    model = CoxTimeVaryingFitter(alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(long, id_col="id", event_col="event", start_col="start", stop_col="stop")
    s = model.summary
    z = float(stats.norm.ppf(1 - alpha / 2))
    table = pd.DataFrame({"coef": s["coef"], "se": s["se(coef)"], "hr": np.exp(s["coef"]),
                          "hr_lower": np.exp(s["coef"] - z * s["se(coef)"]),
                          "hr_upper": np.exp(s["coef"] + z * s["se(coef)"]), "p_value": s["p"]})
    return ContractEndResult(table=table, n_subscribers=len(frame), n_intervals=len(long))

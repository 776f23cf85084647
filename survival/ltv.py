"""Lifetime value: discounted margin over a horizon, from survival curves, per arm and per subscriber.

Convention (stated once, used everywhere): the margin of month ``k`` (k = 1..H) is earned at the end of the month
by a subscriber still active then, and discounted by ``(1 + annual_rate) ** (-k / 12)``::

    LTV = sum_{k=1}^{H} margin * S(k) * (1 + r) ** (-k / 12)

For a current subscriber who has already stayed ``a`` months, S is replaced by the conditional curve
S(a + k) / S(a): the value of the *remaining* lifetime (lifelines gives no conditional expectation for its
parametric models; it is computed here).

The shifted-beta-geometric (sBG) model of Fader & Hardie (2007, "How to project customer retention", Journal of
Interactive Marketing 21(1)) is provided as an independent cross-check of curve-based values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from survival.errors import HorizonError, ModelError, SurvivalDataError
from survival.kaplan_meier import KMCurve, kaplan_meier
from survival.rmst import linear_functional_variance

TimeUnit = Literal["months", "days"]
#: Length of one month in days (365.25 / 12).
DAYS_PER_MONTH = 30.4375


def units_per_month(time_unit: str) -> float:
    """How many duration units make a month."""
    if time_unit == "months":
        return 1.0
    if time_unit == "days":
        return DAYS_PER_MONTH
    raise SurvivalDataError(f"time_unit: {time_unit!r} is not allowed; use one of 'months', 'days'")


def discount_factors(horizon_months: int, annual_discount_rate: float) -> np.ndarray:
    """``(1 + r) ** (-k / 12)`` for months k = 1..H.

    Examples
    --------
    >>> discount_factors(12, 0.08)[-1].round(6)
    np.float64(0.925926)
    """
    if horizon_months <= 0 or int(horizon_months) != horizon_months:
        raise SurvivalDataError(f"horizon_months must be a positive whole number of months; found {horizon_months}")
    if not (0 <= annual_discount_rate < 1):
        raise SurvivalDataError(f"annual_discount_rate must be in [0, 1); found {annual_discount_rate}")
    k = np.arange(1, int(horizon_months) + 1)
    return (1.0 + annual_discount_rate) ** (-k / 12.0)


def ltv_from_survival(survival_at_months: Any, margin: float | np.ndarray, annual_discount_rate: float) -> Any:
    """Discounted LTV from S at months 1..H (shape (H,) or (H, n)); ``margin`` scalar or shape (n,).

    Examples
    --------
    >>> float(ltv_from_survival(np.ones(12), 10.0, 0.0))
    120.0
    """
    s = np.asarray(survival_at_months, float)
    d = discount_factors(s.shape[0], annual_discount_rate)
    return (d @ s) * np.asarray(margin, float) if s.ndim == 2 else float(d @ s) * float(margin)


def exponential_ltv(rate_per_month: float, margin: float, horizon_months: int, annual_discount_rate: float) -> float:
    """Closed form for S(t) = exp(-lambda t): ``m q (1 - q^H) / (1 - q)`` with ``q = e^-lambda (1+r)^(-1/12)``.

    Examples
    --------
    >>> round(exponential_ltv(0.0, 10.0, 12, 0.0), 6)
    120.0
    """
    q = np.exp(-rate_per_month) * (1.0 + annual_discount_rate) ** (-1.0 / 12.0)
    if q == 1.0:
        return float(margin * horizon_months)
    return float(margin * q * (1 - q**horizon_months) / (1 - q))


@dataclass(frozen=True, slots=True)
class LTVResult:
    """Lifetime value of one group with its uncertainty.

    Attributes
    ----------
    value : float
        Discounted value per subscriber over the horizon.
    se : float
        Standard error: delta method (Greenwood for Kaplan–Meier; parameter covariance for parametric).
    lower, upper : float
        Normal ``1 - alpha`` interval.
    expected_months : float
        Expected months active within the horizon, undiscounted (sum of S(k)).
    method : str
        ``"kaplan-meier"`` or ``"parametric:<model>"`` (the latter extrapolates beyond follow-up).
    extrapolated_months : float
        Months of the horizon beyond the last observed time (0 for Kaplan–Meier).
    """

    value: float
    se: float
    lower: float
    upper: float
    expected_months: float
    method: str
    extrapolated_months: float


@dataclass(frozen=True, slots=True)
class LTVDifference:
    """LTV of an arm minus control.

    Attributes
    ----------
    estimate, se, lower, upper : float
        Difference, its standard error and ``1 - alpha`` interval.
    """

    estimate: float
    se: float
    lower: float
    upper: float


def ltv_from_curve(
    curve: KMCurve,
    margin: float,
    horizon_months: int,
    annual_discount_rate: float,
    *,
    time_unit: str = "months",
    alpha: float = 0.05,
    label: Any = None,
) -> LTVResult:
    """LTV from a Kaplan–Meier curve, with the Greenwood delta-method SE (no extrapolation).

    Raises
    ------
    HorizonError
        The horizon is beyond the curve's last observed time.
    """
    upm = units_per_month(time_unit)
    grid = np.arange(1, int(horizon_months) + 1) * upm
    if grid[-1] > curve.last_time:
        where = f" of group {label!r}" if label is not None else ""
        raise HorizonError(
            f"horizon of {horizon_months} months ({grid[-1]:g} {time_unit}) is beyond the last observed time "
            f"{curve.last_time:g}{where}; {(grid[-1] - curve.last_time) / upm:.1f} months would be extrapolated; "
            "shorten the horizon or use the parametric method (method='parametric')"
        )
    d = discount_factors(horizon_months, annual_discount_rate)
    idx = np.searchsorted(curve.time, grid, side="right") - 1
    s = curve.survival[np.maximum(idx, 0)]
    value = float(margin * d @ s)
    se = float(abs(margin) * np.sqrt(linear_functional_variance(curve, grid, d)))
    z = float(stats.norm.ppf(1 - alpha / 2))
    return LTVResult(value=value, se=se, lower=value - z * se, upper=value + z * se, expected_months=float(s.sum()),
                     method="kaplan-meier", extrapolated_months=0.0)


@dataclass(frozen=True, slots=True)
class SharedFamily:
    """One parametric family chosen for every group of a comparison.

    Attributes
    ----------
    best : str
        The family with the lowest total AIC over the groups.
    aic : DataFrame
        One row per candidate family: ``model``, ``total_aic`` (sum over groups, best first), ``delta_aic``
        (``total_aic`` minus the best), then one column per group with that group's own AIC.
    per_group_best : dict
        Group -> the family that group's own AIC would have chosen (shown so a reader sees when they differ).
    """

    best: str
    aic: pd.DataFrame
    per_group_best: dict

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``{family, total_aic: {model: aic}, per_group_best}``."""
        return {"family": self.best,
                "total_aic": {str(r.model): float(r.total_aic) for r in self.aic.itertuples()},
                "per_group_best": {str(k): str(v) for k, v in self.per_group_best.items()}}


def shared_family(fits: dict[Any, Any]) -> SharedFamily:
    """The parametric family minimising the total AIC over groups fitted separately (:class:`ParametricFit` each).

    Fitting each group with its own parameters of one family is one joint model (the groups' likelihoods are
    independent), so its AIC is the sum of the groups' AICs; the family with the lowest sum is the AIC choice of a
    single family for the whole comparison. Each group keeps its own shape and scale, so an arm whose effect is not
    proportional (an offer that acts only on the subscribers who take it) is not forced into one shape, yet every
    arm is extrapolated with the same functional form and ΔLTV compares like with like.

    Examples
    --------
    >>> from survival.hazard import fit_parametric
    >>> rng = np.random.default_rng(0)
    >>> fits = {g: fit_parametric(10 * rng.weibull(1.5, 2000), np.ones(2000)) for g in ("a", "b")}
    >>> shared_family(fits).best
    'weibull'
    """
    if not fits:
        raise ModelError("no group has a fitted parametric model; a shared family cannot be chosen")
    models = [set(f.aic["model"]) for f in fits.values()]
    common = sorted(set.intersection(*models))
    if not common:
        raise ModelError("the groups' parametric fits have no candidate family in common; fit them with the same "
                         "models")
    per_group = {g: {str(r.model): float(r.aic) for r in f.aic.itertuples()} for g, f in fits.items()}
    rows = [{"model": m, "total_aic": float(sum(a[m] for a in per_group.values())),
             **{str(g): a[m] for g, a in per_group.items()}} for m in common]
    table = pd.DataFrame(rows).sort_values("total_aic", ignore_index=True)
    table.insert(2, "delta_aic", table["total_aic"] - table.loc[0, "total_aic"])
    return SharedFamily(best=str(table.loc[0, "model"]), aic=table,
                        per_group_best={g: str(f.best) for g, f in fits.items()})


def _parametric_ltv(t: np.ndarray, e: np.ndarray, grid: np.ndarray, d: np.ndarray, margin: float,
                    w: np.ndarray | None = None, fit: Any = None, model: str | None = None) -> tuple:
    """Value, its delta-method SE (parameter covariance of ``model``, default the group's AIC-best), months, model."""
    from survival.hazard import fit_parametric

    fit = fit if fit is not None else fit_parametric(t, e, weights=w)
    name = model or fit.best
    if name not in fit.models:
        raise ModelError(f"parametric model {name!r} was not fitted; fitted models are {sorted(fit.models)}")
    fitter = fit.models[name]
    theta = np.asarray(fitter.params_.to_numpy(), float)
    cov = np.asarray(fitter.variance_matrix_.to_numpy(), float)

    def value(p: np.ndarray) -> float:
        return float(margin * d @ fitter._survival_function(p, grid))

    grad = np.empty(theta.size)
    for i in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[i]))
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (value(up) - value(down)) / (2 * h)
    s = fitter._survival_function(theta, grid)
    return value(theta), float(np.sqrt(grad @ cov @ grad)), float(np.sum(s)), name


def ltv_by_group(
    durations: Any,
    events: Any,
    groups: Any,
    margin: float,
    horizon_months: int,
    annual_discount_rate: float,
    *,
    time_unit: str = "months",
    method: Literal["auto", "kaplan-meier", "parametric"] = "auto",
    alpha: float = 0.05,
    weights: Any = None,
    fits: dict[Any, Any] | None = None,
    family: str | None = None,
) -> dict[Any, LTVResult]:
    """LTV per group: Kaplan–Meier when the horizon is within follow-up, else one parametric family for all groups.

    ``method="auto"`` uses Kaplan–Meier for every group if the horizon is within every group's follow-up, and the
    parametric models otherwise. Every group is then extrapolated with the **same** family: ``family`` if given,
    else the one with the lowest total AIC over the groups (:func:`shared_family`); each group keeps its own
    parameters. Letting each group pick its own AIC-best family would make a difference between groups partly a
    difference between model shapes beyond follow-up. The SE is the delta method on the family's parameter
    covariance: it does not include the uncertainty of the choice of family, nor misspecification beyond
    follow-up; the result names the family and how many months were extrapolated. ``weights`` (counts per row)
    lets the caller pass a risk table as (time, event, count) rows instead of subscribers; ``fits`` (group ->
    :class:`survival.hazard.ParametricFit` of the same data) skips refitting.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> t = np.concatenate((rng.exponential(20, 3000), rng.exponential(30, 3000)))
    >>> g = np.repeat(["control", "offer"], 3000)
    >>> res = ltv_by_group(np.minimum(t, 6), (t <= 6).astype(int), g, 10.0, 12, 0.08)
    >>> res["control"].method == res["offer"].method
    True
    """
    t = np.asarray(durations, float)
    e = np.asarray(events, int)
    g = np.asarray(groups)
    w = np.ones(t.size) if weights is None else np.asarray(weights, float)
    upm = units_per_month(time_unit)
    grid = np.arange(1, int(horizon_months) + 1) * upm
    d = discount_factors(horizon_months, annual_discount_rate)
    labels = sorted(pd.unique(g).tolist(), key=str)
    last = {lab: float(t[(g == lab) & (w > 0)].max()) for lab in labels}
    if method == "auto":
        method = "kaplan-meier" if grid[-1] <= min(last.values()) else "parametric"
    out: dict[Any, LTVResult] = {}
    if method == "kaplan-meier":
        from survival.risk_table import risk_table_from_arrays

        if weights is not None:
            raise SurvivalDataError("weights are supported by the parametric method only; pass subscriber rows "
                                    "or Kaplan–Meier curves (ltv_from_curve)")
        rt = risk_table_from_arrays(t, e, g)
        for lab in labels:
            curve = kaplan_meier(rt.times[lab], rt.at_risk(lab), rt.events[lab], alpha)
            out[lab] = ltv_from_curve(curve, margin, horizon_months, annual_discount_rate, time_unit=time_unit,
                                      alpha=alpha, label=lab)
        return out
    if method != "parametric":
        raise SurvivalDataError(f"method: {method!r} is not allowed; use one of 'auto', 'kaplan-meier', 'parametric'")
    from survival.hazard import ParametricName, check_choice, fit_parametric

    if family is not None:
        check_choice(family, ParametricName, "family")
    z = float(stats.norm.ppf(1 - alpha / 2))
    given = fits or {}
    group_fits: dict[Any, Any] = {}
    for lab in labels:
        tt, ee, ww = t[g == lab], e[g == lab], w[g == lab]
        if (ee * ww).sum() == 0:
            raise ModelError(f"group {lab!r} has no churn event; its lifetime cannot be extrapolated")
        group_fits[lab] = given[lab] if lab in given else fit_parametric(tt, ee, weights=ww)
    chosen = family if family is not None else shared_family(group_fits).best
    for lab in labels:
        tt, ee, ww = t[g == lab], e[g == lab], w[g == lab]
        value, se, months, name = _parametric_ltv(tt, ee, grid, d, margin, ww, group_fits[lab], chosen)
        out[lab] = LTVResult(value=value, se=se, lower=value - z * se, upper=value + z * se,
                             expected_months=months, method=f"parametric:{name}",
                             extrapolated_months=max(0.0, (grid[-1] - last[lab]) / upm))
    return out


def ltv_difference(arm: LTVResult, control: LTVResult, alpha: float = 0.05) -> LTVDifference:
    """ΔLTV of an arm against control (independent arms; normal interval)."""
    est = arm.value - control.value
    se = float(np.hypot(arm.se, control.se))
    z = float(stats.norm.ppf(1 - alpha / 2))
    return LTVDifference(estimate=est, se=se, lower=est - z * se, upper=est + z * se)


# --- shifted-beta-geometric ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SBGFit:
    """Shifted-beta-geometric retention model (Fader & Hardie 2007).

    Attributes
    ----------
    alpha, beta : float
        Beta-distribution parameters of the per-period churn probability across subscribers.
    log_likelihood : float
        Maximised log-likelihood.
    n_periods : int
        Periods of retention data used.
    """

    alpha: float
    beta: float
    log_likelihood: float
    n_periods: int

    def survival(self, periods: Any) -> np.ndarray:
        """S(t) = B(alpha, beta + t) / B(alpha, beta)."""
        return sbg_survival(self.alpha, self.beta, periods)


def sbg_survival(alpha: float, beta: float, periods: Any) -> np.ndarray:
    """Survival of the sBG model at whole periods t >= 0.

    Examples
    --------
    >>> sbg_survival(1.0, 1.0, [0, 1]).round(3).tolist()
    [1.0, 0.5]
    """
    t = np.asarray(periods, float)
    return np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))


def fit_sbg(survival: Any, n_start: int = 1000) -> SBGFit:
    """Fit the sBG model by maximum likelihood to a cohort's survival (fraction still active) at periods 1..T.

    Parameters
    ----------
    survival : array-like, shape (T,)
        S(1), ..., S(T), non-increasing in (0, 1].
    n_start : int
        Cohort size the fractions refer to (the likelihood uses counts; the estimate does not depend on it).

    Examples
    --------
    >>> fit = fit_sbg([.869, .743, .653, .593, .551, .517, .491])  # Fader & Hardie (2007), "high end"
    >>> round(fit.alpha, 3), round(fit.beta, 3)
    (0.668, 3.806)
    """
    s = np.asarray(survival, float)
    if s.ndim != 1 or s.size < 2 or (np.diff(s) > 1e-12).any() or s[0] > 1 or s[-1] <= 0:
        raise SurvivalDataError("sBG: retention must be a non-increasing sequence of at least two fractions in (0, 1]")
    alive = np.concatenate(([1.0], s)) * n_start
    lost = -np.diff(alive)
    t = np.arange(1, s.size + 1)

    def negll(log_params: np.ndarray) -> float:
        a, b = np.exp(log_params)
        log_p = special.betaln(a + 1, b + t - 1) - special.betaln(a, b)
        log_s = special.betaln(a, b + s.size) - special.betaln(a, b)
        return -float(lost @ log_p + alive[-1] * log_s)

    res = optimize.minimize(negll, x0=np.log([1.0, 1.0]), method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    a, b = np.exp(res.x)
    return SBGFit(alpha=float(a), beta=float(b), log_likelihood=-float(res.fun), n_periods=int(s.size))


# --- per subscriber --------------------------------------------------------------------------------------------------

def conditional_survival(s_at_tenure: np.ndarray, s_ahead: np.ndarray) -> np.ndarray:
    """S(a + t) / S(a): survival over the next periods given survival to tenure ``a`` (broadcast over rows)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = s_ahead / s_at_tenure
    return np.where(s_at_tenure > 0, out, 0.0)


def lifetime_value(
    data: Any,
    duration: str,
    event: str,
    covariates: list[str] | tuple[str, ...],
    margin: float | str,
    *,
    horizon_months: int = 24,
    annual_discount_rate: float = 0.08,
    time_unit: str = "months",
    event_value: Any = None,
    arm: str | None = None,
    control: Any = None,
    id_column: str | None = None,
    max_fit_rows: int = 50_000,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Per-subscriber discounted lifetime value of the remaining lifetime, from a covariate model.

    A parametric AFT model (Weibull, log-logistic or log-normal, lowest AIC) is fitted on the arm and covariates; for
    each subscriber the curve is conditioned on the tenure already survived (their ``duration``) and extended over
    ``horizon_months``. This is the function the uplift and ROI parts read lifetime values from.

    Parameters
    ----------
    data : DataFrame or ibis Table
        One row per subscriber (not modified).
    duration, event : str
        Tenure so far (or at churn) and the churn indicator.
    covariates : list of str
        Model covariates (numeric or categorical).
    margin : float or str
        Monthly margin: a number for everyone or the name of a column.
    horizon_months, annual_discount_rate : int, float
        As in the design's ``value:`` section.
    time_unit : {"months", "days"}
        Unit of ``duration``.
    id_column : str, optional
        Column to carry into the output (e.g. ``subscriber_id``).
    max_fit_rows : int
        The AFT models are fitted on a random sample of at most this many rows (``rng``); every row is scored.

    Returns
    -------
    DataFrame
        One row per input row, same order: ``[id], tenure, churned, ltv_if_retained, ltv, expected_months``.
        ``ltv_if_retained`` is the value of the remaining lifetime of a subscriber active at their current tenure
        (what retaining them is worth); ``ltv`` is that value for active subscribers and 0 for those who churned;
        ``expected_months`` the expected active months within the horizon, undiscounted. ``attrs["model"]`` and
        ``attrs["aic"]`` name the chosen model, ``attrs["fit_rows"]`` how many rows it was fitted on.

    Examples
    --------
    >>> from lifelines.datasets import load_rossi
    >>> out = lifetime_value(load_rossi(), "week", "arrest", ["fin", "age"], 1.0, horizon_months=6)
    >>> list(out.columns)
    ['tenure', 'churned', 'ltv_if_retained', 'ltv', 'expected_months']
    """
    from survival.hazard import _to_pandas, fit_parametric_regression, prepare_survival_frame

    frame, names = prepare_survival_frame(data, duration, event, list(covariates), event_value=event_value,
                                          arm=arm, control=control)
    if not names:
        raise ModelError("lifetime_value needs at least one covariate or an arm to model subscribers differently")
    extra = [c for c in [id_column, margin if isinstance(margin, str) else None] if c]
    side = _to_pandas(data, extra) if extra else pd.DataFrame(index=range(len(frame)))
    if isinstance(margin, str):
        m = pd.to_numeric(side[margin], errors="coerce")
        if m.isna().any():
            raise SurvivalDataError(f"margin column {margin!r} has {int(m.isna().sum())} missing or non-numeric "
                                    "value(s); fill them or give a single margin number")
        margins = m.to_numpy(float)
    else:
        margins = np.full(len(frame), float(margin))
    upm = units_per_month(time_unit)
    fit_rows = frame
    if len(frame) > max_fit_rows:
        pick = np.sort(np.random.default_rng(rng).choice(len(frame), size=max_fit_rows, replace=False))
        fit_rows = frame.iloc[pick]
    reg = fit_parametric_regression(fit_rows, names)
    tenure = frame["_duration"].to_numpy(float)
    grid = np.arange(1, int(horizon_months) + 1) * upm
    d = discount_factors(horizon_months, annual_discount_rate)
    ltv = np.empty(len(frame))
    months = np.empty(len(frame))
    step = 20000
    for start in range(0, len(frame), step):
        rows = frame.iloc[start:start + step]
        a = tenure[start:start + step]
        # evaluate each subscriber's curve at its own tenure and tenure + grid (columns are subscribers)
        s_a = _survival_at_own_times(reg, rows, a)
        ahead = np.stack([_survival_at_own_times(reg, rows, a + g) for g in grid])
        cond = conditional_survival(s_a[None, :], ahead)
        ltv[start:start + step] = (d @ cond) * margins[start:start + step]
        months[start:start + step] = cond.sum(0)
    churned = frame["_event"].to_numpy(int)
    out = pd.DataFrame({"tenure": tenure / upm if time_unit == "days" else tenure, "churned": churned,
                        "ltv_if_retained": ltv, "ltv": np.where(churned == 1, 0.0, ltv),
                        "expected_months": months})
    if id_column:
        out.insert(0, id_column, side[id_column].to_numpy())
    out.attrs["model"] = reg.best
    out.attrs["aic"] = reg.aic.to_dict("records")
    out.attrs["last_observed_time"] = reg.last_time
    out.attrs["fit_rows"] = len(fit_rows)
    return out


def _survival_at_own_times(reg: Any, rows: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """S_i(t_i) for each row i at its own time, using the AFT model's closed-form survival function."""
    model = reg.model
    x = rows[reg.columns]
    t = np.maximum(np.asarray(times, float), 1e-12)
    # the AFT fitters' parameters: one linear predictor per distribution parameter (lifelines' parametrisation)
    params = model.params_
    cols = reg.columns
    first = params.index.get_level_values(0)
    lin = {}
    for p in first.unique():
        block = params.loc[p]
        val = np.full(len(rows), float(block.get("Intercept", 0.0)))
        for c in cols:
            if c in block.index:
                val = val + float(block[c]) * x[c].to_numpy(float)
        lin[p] = val
    name = reg.best
    if name == "weibull":
        lam, rho = np.exp(lin["lambda_"]), np.exp(lin["rho_"])
        return np.exp(-((t / lam) ** rho))
    if name == "loglogistic":
        alpha_, beta_ = np.exp(lin["alpha_"]), np.exp(lin["beta_"])
        return 1.0 / (1.0 + (t / alpha_) ** beta_)
    if name == "lognormal":
        mu, sigma = lin["mu_"], np.exp(lin["sigma_"])
        return stats.norm.sf((np.log(t) - mu) / sigma)
    raise ModelError(f"unknown regression model {name!r}")  # pragma: no cover

"""Restricted mean survival time (RMST) and RMST differences: months of tenure gained per treated subscriber.

RMST(tau) is the area under the Kaplan–Meier curve from 0 to tau: the expected tenure within the horizon. Its
standard error is the Greenwood-based one of R's survRM2 (Uno et al. 2014, Royston & Parmar 2013)::

    Var = sum_{t_j <= tau} [ A_j^2 * d_j / (n_j (n_j - d_j)) ],   A_j = integral_{t_j}^{tau} S(u) du

lifelines' ``restricted_mean_survival_time(..., return_variance=True)`` returns the variance of the *truncated
lifetime* min(T, tau) instead of the variance of the estimator, which is several times too large
(lifelines issue #1682); it is not used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from survival.errors import HorizonError
from survival.kaplan_meier import KMCurve


@dataclass(frozen=True, slots=True)
class RMSTResult:
    """RMST of one curve up to a horizon.

    Attributes
    ----------
    tau : float
        Horizon.
    rmst : float
        Area under the curve on [0, tau].
    se : float
        Greenwood-based standard error (survRM2).
    lower, upper : float
        Normal ``1 - alpha`` confidence interval.
    alpha : float
        One minus the confidence level.
    """

    tau: float
    rmst: float
    se: float
    lower: float
    upper: float
    alpha: float


@dataclass(frozen=True, slots=True)
class RMSTDifference:
    """Difference ``treated - control`` of two independent RMSTs.

    Attributes
    ----------
    tau : float
        Horizon.
    estimate : float
        RMST(treated) - RMST(control): tenure gained per treated subscriber within the horizon.
    se : float
        sqrt(se_treated^2 + se_control^2).
    lower, upper : float
        Normal ``1 - alpha`` confidence interval.
    p_value : float
        Two-sided test of no difference.
    alpha : float
        One minus the confidence level.
    """

    tau: float
    estimate: float
    se: float
    lower: float
    upper: float
    p_value: float
    alpha: float


def check_horizon(curve: KMCurve, tau: float, label: Any = None) -> None:
    """Raise :class:`HorizonError` if ``tau`` is beyond the last observed time of ``curve``."""
    if not np.isfinite(tau) or tau <= 0:
        raise HorizonError(f"horizon must be a positive number; found {tau}")
    if tau > curve.last_time:
        where = f" in group {label!r}" if label is not None else ""
        raise HorizonError(
            f"horizon {tau:g} is beyond the last observed time {curve.last_time:g}{where}; the Kaplan–Meier curve "
            f"would have to be extrapolated flat at S = {curve.survival[-1]:.4g} for {tau - curve.last_time:g} more "
            f"time units; choose a horizon of at most {curve.last_time:g} or extrapolate with a parametric model"
        )


def linear_functional_variance(curve: KMCurve, grid: np.ndarray, weights: np.ndarray) -> float:
    """Greenwood (delta-method) variance of ``sum_k weights_k * S(grid_k)`` for a Kaplan–Meier curve.

    Uses Cov(S(s), S(t)) = S(s) S(t) sum_{t_j <= min(s, t)} d_j / (n_j (n_j - d_j)). RMST is the case of the
    curve's own step intervals; lifetime value the case of a monthly grid with discount weights.
    """
    idx = np.searchsorted(curve.time, grid, side="right") - 1
    s = curve.survival[np.maximum(idx, 0)]
    contrib = weights * s  # value of each grid point
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = curve.events / (curve.at_risk.astype(float) * (curve.at_risk - curve.events))
    terms[~np.isfinite(terms)] = 0.0
    # A_j = sum of contributions of grid points at or after t_j
    tail = np.concatenate((np.cumsum(contrib[::-1])[::-1], [0.0]))
    first_after = np.searchsorted(grid, curve.time, side="left")
    a = tail[first_after]
    return float(np.sum(a**2 * terms))


def rmst(curve: KMCurve, tau: float, alpha: float = 0.05, *, label: Any = None) -> RMSTResult:
    """RMST up to ``tau`` with survRM2's standard error.

    Raises
    ------
    HorizonError
        ``tau`` is beyond the last observed time (the curve would be extrapolated).

    Examples
    --------
    >>> from survival.kaplan_meier import kaplan_meier
    >>> c = kaplan_meier([1, 2, 3], [4, 3, 1], [1, 1, 0])
    >>> rmst(c, 3).rmst
    2.25
    """
    check_horizon(curve, tau, label)
    t = curve.time
    keep = t <= tau
    knots = np.concatenate((t[keep], [tau]))
    widths = np.diff(knots)
    s = curve.survival[keep]
    value = float(np.sum(widths * s))
    if t[0] > 0:  # curves always start at 0 (kaplan_meier inserts it), kept for safety
        value += t[0]
    # A_j = area from t_j to tau, for each kept time
    areas = widths * s
    a = np.cumsum(areas[::-1])[::-1]
    n = curve.at_risk[keep].astype(float)
    d = curve.events[keep].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(n - d == 0, 0.0, d / (n * (n - d)))
    # the area after t_j starts at t_j itself: A_j = sum of areas from index j on
    var = float(np.sum(a**2 * terms))
    se = float(np.sqrt(var))
    z = float(special.ndtri(1 - alpha / 2))
    return RMSTResult(tau=float(tau), rmst=value, se=se, lower=value - z * se, upper=value + z * se, alpha=alpha)


def rmst_difference(treated: RMSTResult, control: RMSTResult) -> RMSTDifference:
    """Difference of two independent RMSTs (same horizon), with a normal CI and p-value.

    Examples
    --------
    >>> a = RMSTResult(10, 8.0, 0.3, 0, 0, 0.05); b = RMSTResult(10, 7.0, 0.4, 0, 0, 0.05)
    >>> round(rmst_difference(a, b).se, 6)
    0.5
    """
    if treated.tau != control.tau:
        raise HorizonError(f"RMSTs must share a horizon to be compared; found {treated.tau} and {control.tau}")
    est = treated.rmst - control.rmst
    se = float(np.hypot(treated.se, control.se))
    z = float(special.ndtri(1 - treated.alpha / 2))
    p = float(2 * special.ndtr(-abs(est) / se)) if se > 0 else float("nan")
    return RMSTDifference(tau=treated.tau, estimate=est, se=se, lower=est - z * se, upper=est + z * se, p_value=p,
                          alpha=treated.alpha)

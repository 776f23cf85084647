"""Kaplan–Meier curves from risk tables, with Greenwood's variance and the log(-log) ("exponential Greenwood")
confidence band that lifelines and R's ``survfit(conf.type = "log-log")`` use.

Numbers happen in :func:`kaplan_meier`, :func:`median_survival` and :func:`survival_at`, pure functions over arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from survival.errors import HorizonError, SurvivalDataError
from survival.risk_table import RiskTable


@dataclass(frozen=True, slots=True)
class KMCurve:
    """A Kaplan–Meier survival curve (a right-continuous step function).

    Attributes
    ----------
    time : ndarray, shape (m,)
        Distinct observed durations (events and censorings), increasing; ``0`` is included first when no
        duration equals 0, as lifelines does.
    at_risk : ndarray, shape (m,)
        Subscribers at risk just before each time.
    events : ndarray, shape (m,)
        Churn events at each time.
    survival : ndarray, shape (m,)
        Estimated S(t) at each time (after the events at that time).
    greenwood : ndarray, shape (m,)
        Greenwood's cumulative sum  sum_{t_j <= t} d_j / (n_j (n_j - d_j)), i.e. Var(log S(t)).
    lower, upper : ndarray, shape (m,)
        Pointwise ``1 - alpha`` confidence band, log(-log) transform.
    alpha : float
        One minus the confidence level.
    n : int
        Subscribers in the curve.
    """

    time: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    survival: np.ndarray
    greenwood: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    alpha: float
    n: int

    @property
    def n_events(self) -> int:
        """Total churn events."""
        return int(self.events.sum())

    @property
    def last_time(self) -> float:
        """Largest observed duration: the curve is not identified beyond it."""
        return float(self.time[-1])

    def to_frame(self) -> pd.DataFrame:
        """Tidy table ``time, at_risk, events, survival, lower, upper``."""
        return pd.DataFrame({"time": self.time, "at_risk": self.at_risk, "events": self.events,
                             "survival": self.survival, "lower": self.lower, "upper": self.upper})

    def summary(self) -> pd.DataFrame:
        """The curve as a tidy table (same as :meth:`to_frame`)."""
        return self.to_frame()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able curve: lists per column plus ``n``, ``events`` and ``alpha``."""
        return {"n": self.n, "events": self.n_events, "alpha": self.alpha,
                **{k: v.tolist() for k, v in self.to_frame().items()}}

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, float_format=lambda x: f"{x:.4f}", max_rows=20)

    def plot(self, ax: Any = None, label: str = "survival") -> Any:
        """Plotly step curve with its band; adds to the figure ``ax`` if given, returns the figure."""
        import plotly.graph_objects as go

        fig = ax if ax is not None else go.Figure()
        fig.add_trace(go.Scatter(x=self.time, y=self.upper, mode="lines", line={"width": 0, "shape": "hv"},
                                 showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=self.time, y=self.lower, mode="lines", line={"width": 0, "shape": "hv"},
                                 fill="tonexty", showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=self.time, y=self.survival, mode="lines", name=label, line={"shape": "hv"}))
        return fig


def kaplan_meier(
    time: Any, at_risk: Any, events: Any, alpha: float = 0.05
) -> KMCurve:
    """Kaplan–Meier estimate from per-time at-risk and event counts.

    Parameters
    ----------
    time, at_risk, events : array-like, shape (m,)
        Distinct times (increasing), subscribers at risk just before each time, and events at each time.
    alpha : float
        The band has level ``1 - alpha``.

    Returns
    -------
    KMCurve

    Examples
    --------
    >>> c = kaplan_meier([1, 2, 3], [4, 3, 1], [1, 1, 1])
    >>> c.survival.round(4).tolist()
    [1.0, 0.75, 0.5, 0.0]
    """
    t = np.asarray(time, dtype=float)
    n = np.asarray(at_risk, dtype=np.int64)
    d = np.asarray(events, dtype=np.int64)
    if t.size == 0:
        raise SurvivalDataError("a Kaplan–Meier curve needs at least one subscriber; the group is empty")
    if not (0 < alpha < 1):
        raise SurvivalDataError(f"alpha must be between 0 and 1; found {alpha}")
    n_total = int(n[0])
    if t[0] != 0:  # lifelines starts every curve at time 0 with everybody at risk
        t = np.concatenate(([0.0], t))
        n = np.concatenate(([n_total], n))
        d = np.concatenate(([0], d))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_factor = np.log(n - d) - np.log(n)
        surv = np.exp(np.cumsum(log_factor))
        terms = d / (n.astype(float) * (n - d))
        terms[~np.isfinite(terms)] = 0.0
        gw = np.cumsum(terms)
        z = special.ndtri(1 - alpha / 2)  # = scipy.stats.norm.ppf, without importing scipy.stats
        v = np.log(surv)
        lower = np.exp(-np.exp(np.log(-v) - z * np.sqrt(gw) / v))
        upper = np.exp(-np.exp(np.log(-v) + z * np.sqrt(gw) / v))
    lower = np.where(np.isnan(lower), 1.0, lower)
    upper = np.where(np.isnan(upper), 1.0, upper)
    return KMCurve(time=t, at_risk=n, events=d, survival=surv, greenwood=gw, lower=lower, upper=upper,
                   alpha=float(alpha), n=n_total)


def kaplan_meier_groups(table: RiskTable, alpha: float = 0.05) -> dict[Any, KMCurve]:
    """One :class:`KMCurve` per group of a risk table."""
    return {g: kaplan_meier(table.times[g], table.at_risk(g), table.events[g], alpha) for g in table.groups}


def _first_crossing(time: np.ndarray, values: np.ndarray, q: float) -> float:
    """First time at which a non-increasing step function is <= q (inf if never); lifelines' convention."""
    hit = np.nonzero(values <= q)[0]
    return float(time[hit[0]]) if hit.size else float("inf")


@dataclass(frozen=True, slots=True)
class Quantile:
    """A survival quantile with its confidence interval.

    Attributes
    ----------
    q : float
        Survival level (0.5 for the median).
    time : float
        First time the curve is at or below ``q``; ``inf`` if it never gets there within follow-up.
    lower, upper : float
        Times at which the lower and upper bands reach ``q`` (``inf`` when they never do).
    """

    q: float
    time: float
    lower: float
    upper: float


def median_survival(curve: KMCurve, q: float = 0.5) -> Quantile:
    """Median (or ``q``-quantile) survival time with the CI read off the confidence band.

    This is the Brookmeyer–Crowley-type interval lifelines reports with
    ``median_survival_times(kmf.confidence_interval_)``.

    Examples
    --------
    >>> c = kaplan_meier([1, 2, 3], [4, 3, 1], [1, 1, 1])
    >>> median_survival(c).time
    2.0
    """
    return Quantile(q=q, time=_first_crossing(curve.time, curve.survival, q),
                    lower=_first_crossing(curve.time, curve.lower, q),
                    upper=_first_crossing(curve.time, curve.upper, q))


def survival_at(curve: KMCurve, times: Any, *, allow_beyond: bool = False) -> np.ndarray:
    """S(t) of the step function at arbitrary times (the value at the last observed time <= t).

    Raises
    ------
    HorizonError
        A time is beyond the last observed duration and ``allow_beyond`` is false: the curve would be extended
        flat there, which is an extrapolation.

    Examples
    --------
    >>> c = kaplan_meier([1, 2, 3], [4, 3, 1], [1, 1, 0])
    >>> survival_at(c, [0.5, 2, 2.5]).tolist()
    [1.0, 0.5, 0.5]
    """
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if (t < 0).any():
        raise HorizonError(f"survival times must be >= 0; found {t[t < 0][:3].tolist()}")
    beyond = t > curve.last_time
    if beyond.any() and not allow_beyond:
        raise HorizonError(
            f"time {t[beyond][0]:g} is beyond the last observed duration {curve.last_time:g}; the Kaplan–Meier "
            f"curve is unknown there (it would be held flat at S = {curve.survival[-1]:.4g}); ask for times up to "
            f"{curve.last_time:g} or use a parametric model to extrapolate"
        )
    idx = np.searchsorted(curve.time, t, side="right") - 1
    return curve.survival[np.maximum(idx, 0)]

"""Churn-risk scores for current subscribers and how good they are.

Sign convention (everywhere in this module): a **higher risk score means earlier churn**. A pair is concordant when
the subscriber who churned first has the higher score. (lifelines' ``concordance_index`` expects the opposite,
predicted *survival* times: ours equals ``lifelines.utils.concordance_index(T, -risk, E)``.)

Concordance (Harrell's and Uno's) is computed in O(n log^2 n) with vectorised NumPy: pairs are counted with a
dyadic decomposition of sorted prefixes instead of a Python loop over subscribers, so a million rows take seconds.
Comparable pairs follow lifelines and scikit-survival: subscriber i churned at T_i, and j left later (T_j > T_i) or
was censored at the same time. Uno's C weights each pair by 1 / G(T_i)^2 (G = Kaplan–Meier of the censoring times,
scikit-survival's convention) and keeps T_i < tau.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from survival.errors import HorizonError, ModelError, SurvivalDataError

TIERS = ("low", "medium", "high")


def _check_arrays(time: Any, event: Any, *others: Any) -> tuple[np.ndarray, ...]:
    t = np.asarray(time, float)
    e = np.asarray(event)
    if t.ndim != 1 or e.shape != t.shape or any(np.shape(o) != t.shape for o in others):
        raise SurvivalDataError("time, event and scores must be 1-D arrays of the same length")
    if not np.isfinite(t).all() or (t < 0).any():
        raise SurvivalDataError("durations must be finite and >= 0")
    if not np.isin(e, [0, 1]).all():
        raise SurvivalDataError("events must be coded 0/1 (1 = churned)")
    out = [t, e.astype(bool)]
    for o in others:
        a = np.asarray(o, float)
        if not np.isfinite(a).all():
            raise SurvivalDataError(f"risk scores have {int((~np.isfinite(a)).sum())} missing or infinite value(s)")
        out.append(a)
    return tuple(out)


def _prefix_counts(values: np.ndarray, prefix: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query q: (#{p < prefix[q]: values[p] < query[q]}, #{... values[p] == query[q]}).

    ``values`` and ``query`` are integer ranks. The prefix [0, P) is split into aligned dyadic blocks; per level the
    array is sorted within blocks once and all queries of that level are answered by one ``searchsorted``.
    """
    n = values.size
    less = np.zeros(query.size, dtype=np.int64)
    equal = np.zeros(query.size, dtype=np.int64)
    has_ties = np.unique(values).size < values.size  # queries are ranks of members of values
    m = np.int64(max(int(values.max(initial=0)), int(query.max(initial=0))) + 2)
    pos = np.arange(n, dtype=np.int64)
    level = 0
    while (1 << level) <= n:
        size = 1 << level
        has_bit = np.flatnonzero((prefix >> level) & 1 == 1)
        if has_bit.size:
            keys = np.sort((pos >> level) * m + values)
            qb = (prefix[has_bit] >> (level + 1)) << 1  # index of the block at this level
            base = qb * m + query[has_bit]
            order = np.argsort(base)  # sorted needles make searchsorted cache-friendly
            lo = np.empty(base.size, dtype=np.int64)
            lo[order] = np.searchsorted(keys, base[order], side="left")
            less[has_bit] += lo - qb * size
            if has_ties:
                hi = np.empty(base.size, dtype=np.int64)
                hi[order] = np.searchsorted(keys, base[order], side="right")
                equal[has_bit] += hi - lo
        level += 1
    return less, equal


def _comparable_counts(t: np.ndarray, e: np.ndarray, risk: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per churned subscriber i: comparable partners, those with lower risk, those with tied risk."""
    time_rank = np.unique(t, return_inverse=True)[1].astype(np.int64)
    key = 2 * time_rank + (~e).astype(np.int64)  # censored at t sort after churned at t
    order = np.argsort(-key, kind="stable")  # key descending: partners of i form a prefix
    risk_rank = np.unique(risk, return_inverse=True)[1].astype(np.int64)
    sorted_key_desc = -key[order]
    idx = np.flatnonzero(e)
    prefix = np.searchsorted(sorted_key_desc, -key[idx], side="left").astype(np.int64)  # count of key_j > key_i
    less, tied = _prefix_counts(risk_rank[order], prefix, risk_rank[idx])
    return idx, prefix, less, tied


def _censoring_survival(t: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier of the censoring distribution (events leave the risk set before censorings at tied times)."""
    times, inv = np.unique(t, return_inverse=True)
    n_cens = np.bincount(inv, weights=(~e).astype(float))
    n_ev = np.bincount(inv, weights=e.astype(float))
    n_all = np.bincount(inv).astype(float)
    at_risk = n_all[::-1].cumsum()[::-1] - n_ev
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_cens > 0, 1.0 - n_cens / at_risk, 1.0)
    return times, np.cumprod(factor)


def _g_at(times: np.ndarray, g: np.ndarray, at: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(times, at, side="right") - 1
    return np.where(idx >= 0, g[np.maximum(idx, 0)], 1.0)


@dataclass(frozen=True, slots=True)
class Concordance:
    """Concordance of risk scores with observed churn.

    Attributes
    ----------
    harrell : float
        Harrell's C: share of comparable pairs ordered correctly (ties in score count 1/2).
    uno : float
        Uno's C with censoring weights 1/G(T_i)^2, pairs with T_i < ``tau``.
    tau : float
        Truncation time of Uno's C (the largest time if not given).
    n_pairs : int
        Comparable pairs (unweighted).
    """

    harrell: float
    uno: float
    tau: float
    n_pairs: int


def concordance(time: Any, event: Any, risk: Any, *, tau: float | None = None) -> Concordance:
    """Harrell's and Uno's C of ``risk`` (higher = earlier churn), O(n log^2 n).

    Examples
    --------
    >>> c = concordance([1, 2, 3, 4], [1, 1, 0, 1], [4, 3, 2, 1])
    >>> c.harrell
    1.0
    """
    t, e, r = _check_arrays(time, event, risk)
    if not e.any():
        raise ModelError("no churn event: concordance needs at least one subscriber who churned")
    idx, total, less, tied = _comparable_counts(t, e, r)
    pairs = total.sum()
    if pairs == 0:
        raise ModelError("no comparable pairs (every churn happens at the last time)")
    harrell = float((less.sum() + 0.5 * tied.sum()) / pairs)
    tau_ = float(t.max()) if tau is None else float(tau)
    times, g = _censoring_survival(t, e)
    g_i = _g_at(times, g, t[idx])
    keep = t[idx] < tau_ if tau is not None else np.ones(idx.size, bool)
    if (g_i[keep] <= 0).any():
        raise HorizonError("censoring survival reaches 0 before some churn times; choose a smaller tau")
    w = np.where(keep, 1.0 / np.where(g_i > 0, g_i, 1.0) ** 2, 0.0)
    num = float(w @ (less + 0.5 * tied))
    den = float(w @ total)
    return Concordance(harrell=harrell, uno=num / den if den > 0 else float("nan"), tau=tau_, n_pairs=int(pairs))


def time_dependent_auc(time: Any, event: Any, risk: Any, horizon: float) -> float:
    """Cumulative/dynamic AUC at ``horizon`` with inverse-probability-of-censoring weights (Uno et al. 2007).

    Cases churned by ``horizon`` (weight 1/G(T_i)); controls are still active after it. Equals scikit-survival's
    ``cumulative_dynamic_auc`` with the same data as training and test.
    """
    t, e, r = _check_arrays(time, event, risk)
    case = e & (t <= horizon)
    control = t > horizon
    if not case.any():
        raise ModelError(f"no subscriber churned by the horizon {horizon:g}; the AUC at it is not defined")
    if not control.any():
        raise HorizonError(f"no subscriber is still observed after the horizon {horizon:g} (last time "
                           f"{t.max():g}); choose an earlier horizon")
    times, g = _censoring_survival(t, e)
    w = 1.0 / _g_at(times, g, t[case])
    ctrl = np.sort(r[control])
    lo = np.searchsorted(ctrl, r[case], side="left")
    hi = np.searchsorted(ctrl, r[case], side="right")
    return float(w @ (lo + 0.5 * (hi - lo)) / (w.sum() * ctrl.size))


def brier_score(time: Any, event: Any, survival_at_horizon: Any, horizon: float) -> float:
    """IPCW Brier score of predicted S(horizon) (Graf et al. 1999; scikit-survival's ``brier_score``)."""
    t, e, s = _check_arrays(time, event, survival_at_horizon)
    times, g = _censoring_survival(t, e)
    g_t = float(_g_at(times, g, np.array([horizon]))[0])
    g_y = _g_at(times, g, t)
    case = e & (t <= horizon)
    control = t > horizon
    with np.errstate(divide="ignore"):
        term = np.where(case, s**2 / np.where(g_y > 0, g_y, np.inf), 0.0)
        term += np.where(control, (1 - s) ** 2 / (g_t if g_t > 0 else np.inf), 0.0)
    return float(term.mean())


def calibration_table(
    time: Any, event: Any, p_churn: Any, horizon: float, bins: int = 10
) -> pd.DataFrame:
    """Predicted vs observed churn by ``horizon`` in quantile bins of the prediction.

    Observed churn in a bin is 1 - Kaplan–Meier S(horizon) of that bin's subscribers (censoring-aware), with its
    log(-log) 95% band.
    """
    from survival.kaplan_meier import kaplan_meier, survival_at
    from survival.risk_table import risk_table_from_arrays

    t, e, p = _check_arrays(time, event, p_churn)
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    b = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, edges.size - 2)
    rows = []
    for k in range(edges.size - 1):
        m = b == k
        if not m.any():
            continue
        rt = risk_table_from_arrays(t[m], e[m].astype(int))
        c = kaplan_meier(rt.times["all"], rt.at_risk("all"), rt.events["all"])
        h = min(horizon, c.last_time)
        s = float(survival_at(c, [h])[0])
        idx = np.searchsorted(c.time, h, side="right") - 1
        rows.append({"bin": k, "n": int(m.sum()), "predicted": float(p[m].mean()), "observed": 1 - s,
                     "observed_lower": 1 - float(c.upper[idx]), "observed_upper": 1 - float(c.lower[idx]),
                     "horizon_used": h})
    return pd.DataFrame(rows)


def calibration_figure(table: pd.DataFrame, title: str = "Calibration") -> Any:
    """Plotly figure of a :func:`calibration_table`: observed (with bands) against predicted, and the diagonal."""
    import plotly.graph_objects as go

    fig = go.Figure()
    top = float(max(table["predicted"].max(), table["observed_upper"].max(), 0.01))
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", name="perfect", line={"dash": "dash"}))
    fig.add_trace(go.Scatter(
        x=table["predicted"], y=table["observed"], mode="markers+lines", name="observed (Kaplan–Meier)",
        error_y={"type": "data", "symmetric": False, "array": table["observed_upper"] - table["observed"],
                 "arrayminus": table["observed"] - table["observed_lower"]}))
    fig.update_layout(title=title, xaxis_title="predicted churn probability", yaxis_title="observed churn")
    return fig


def risk_tiers(
    p_churn: Any, *, thresholds: tuple[float, float] | None = None, quantiles: tuple[float, float] = (1 / 3, 2 / 3)
) -> tuple[pd.Categorical, tuple[float, float]]:
    """Low / medium / high tiers by fixed probability thresholds or by quantiles of the scores.

    Returns the tiers (ordered categorical, usable as a stratum or an eligibility filter) and the cut points.

    Examples
    --------
    >>> tiers, cuts = risk_tiers([0.05, 0.2, 0.6], thresholds=(0.1, 0.5))
    >>> list(tiers)
    ['low', 'medium', 'high']
    """
    p = np.asarray(p_churn, float)
    if thresholds is None:
        if not (0 < quantiles[0] < quantiles[1] < 1):
            raise SurvivalDataError(f"risk tier quantiles must satisfy 0 < q1 < q2 < 1; found {quantiles}")
        lo, hi = (float(x) for x in np.quantile(p, quantiles))
    else:
        lo, hi = (float(x) for x in thresholds)
        if not (0 <= lo < hi <= 1):
            raise SurvivalDataError(f"risk tier thresholds must satisfy 0 <= low < high <= 1; found {thresholds}")
    codes = np.where(p > hi, 2, np.where(p > lo, 1, 0))
    return pd.Categorical.from_codes(codes, categories=list(TIERS), ordered=True), (lo, hi)


@dataclass(frozen=True, slots=True)
class RiskEvaluation:
    """How good churn-risk scores are at a horizon.

    Attributes
    ----------
    horizon : float
        Horizon h of "churn within h".
    harrell_c, uno_c : float
        Concordance of the risk score (higher = earlier churn); Uno's C is truncated at the horizon.
    auc : float
        Cumulative/dynamic AUC at h.
    brier : float
        IPCW Brier score of S(h).
    calibration : DataFrame
        Output of :func:`calibration_table`.
    """

    horizon: float
    harrell_c: float
    uno_c: float
    auc: float
    brier: float
    calibration: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able metrics and calibration rows."""
        return {"horizon": self.horizon, "harrell_c": self.harrell_c, "uno_c": self.uno_c, "auc": self.auc,
                "brier": self.brier, "calibration": self.calibration.to_dict("records"),
                "sign_convention": "higher risk score = earlier churn"}


class ChurnRiskModel:
    """Probability of churning within ``horizon`` for current subscribers, from a Cox model.

    For a subscriber active at tenure ``a`` with covariates x, ``P(churn by a + h | active at a) =
    1 - S(a + h | x) / S(a | x)``. The Cox baseline is only known up to the last observed time: ``a + h`` beyond it
    is refused unless ``allow_extrapolation`` (then the baseline is held flat, which understates risk).

    Parameters
    ----------
    horizon : float
        h, in the unit of the duration column.
    covariates : list of str
        Model covariates (numeric or categorical).
    alpha : float
        Level of the Cox model's intervals and PH check.
    penalizer : float
        Ridge penalty of the Cox fit (helps with many one-hot columns).

    Examples
    --------
    >>> from lifelines.datasets import load_rossi
    >>> m = ChurnRiskModel(horizon=10, covariates=["fin", "age", "prio"]).fit(load_rossi(), "week", "arrest")
    >>> m.predict_proba(load_rossi(), tenure=0).shape
    (432,)
    """

    def __init__(self, horizon: float, covariates: list[str] | tuple[str, ...], *, alpha: float = 0.05,
                 penalizer: float = 0.0, allow_extrapolation: bool = False) -> None:
        self.horizon = horizon
        self.covariates = covariates
        self.alpha = alpha
        self.penalizer = penalizer
        self.allow_extrapolation = allow_extrapolation

    def fit(self, data: Any, duration: str, event: str, *, event_value: Any = None) -> ChurnRiskModel:
        """Fit the Cox model; returns ``self``."""
        from survival.hazard import fit_cox

        if not (np.isfinite(self.horizon) and self.horizon > 0):
            raise SurvivalDataError(f"horizon must be a positive number; found {self.horizon}")
        self.cox_ = fit_cox(data, duration, event, list(self.covariates), event_value=event_value, alpha=self.alpha,
                            penalizer=self.penalizer)
        self.duration_, self.event_, self.event_value_ = duration, event, event_value
        base = self.cox_.model.baseline_cumulative_hazard_
        self.base_times_ = base.index.to_numpy(float)
        self.base_cumhaz_ = base.iloc[:, 0].to_numpy(float)
        self.last_time_ = float(self.base_times_.max())
        return self

    def _frame(self, data: Any) -> pd.DataFrame:
        from survival.hazard import prepare_survival_frame

        frame, names = prepare_survival_frame(data, self.duration_, self.event_, list(self.covariates),
                                              event_value=self.event_value_)
        missing = [c for c in self.cox_.columns if c not in names]
        for c in missing:  # a category absent from the scoring data is simply all-zero
            frame[c] = 0.0
        return frame

    def risk_score(self, data: Any) -> np.ndarray:
        """Log partial hazard (higher = earlier churn)."""
        frame = self._frame(data)
        return self.cox_.model.predict_log_partial_hazard(frame[self.cox_.columns]).to_numpy(float)

    def _cumhaz(self, t: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.base_times_, t, side="right") - 1
        return np.where(idx >= 0, self.base_cumhaz_[np.maximum(idx, 0)], 0.0)

    def predict_proba(self, data: Any, tenure: Any = None) -> np.ndarray:
        """P(churn within ``horizon`` | active at ``tenure``); ``tenure`` is a column name, array or number
        (default: the duration column, i.e. the tenure survived so far)."""
        frame = self._frame(data)
        if tenure is None:
            a = frame["_duration"].to_numpy(float)
        elif isinstance(tenure, str):
            from survival.hazard import _to_pandas

            a = pd.to_numeric(_to_pandas(data, [tenure])[tenure], errors="coerce").to_numpy(float)
        else:
            a = np.broadcast_to(np.asarray(tenure, float), (len(frame),)).copy()
        if not np.isfinite(a).all() or (a < 0).any():
            raise SurvivalDataError("tenure must be finite and >= 0 for every subscriber")
        end = a + self.horizon
        if (end > self.last_time_).any() and not self.allow_extrapolation:
            raise HorizonError(
                f"{int((end > self.last_time_).sum())} subscriber(s) would need the baseline hazard beyond the last "
                f"observed time {self.last_time_:g} (tenure + horizon up to {end.max():g}); the Cox baseline is "
                "unknown there; shorten the horizon or pass allow_extrapolation=True to hold it flat"
            )
        lp = self.cox_.model.predict_log_partial_hazard(frame[self.cox_.columns]).to_numpy(float)
        return 1.0 - np.exp(-(self._cumhaz(end) - self._cumhaz(a)) * np.exp(lp))

    def evaluate(self, data: Any, bins: int = 10) -> RiskEvaluation:
        """Concordance, AUC(h), Brier(h) and calibration of predictions made at time 0 on ``data``.

        Uno's C is truncated at the horizon (pairs whose first churn is before h), where the censoring
        distribution is still positive.
        """
        frame = self._frame(data)
        t = frame["_duration"].to_numpy(float)
        e = frame["_event"].to_numpy(int)
        risk = self.cox_.model.predict_log_partial_hazard(frame[self.cox_.columns]).to_numpy(float)
        p = 1.0 - np.exp(-self._cumhaz(np.full(t.size, float(self.horizon))) * np.exp(risk))
        c = concordance(t, e, risk, tau=float(self.horizon))
        return RiskEvaluation(horizon=float(self.horizon), harrell_c=c.harrell, uno_c=c.uno,
                              auc=time_dependent_auc(t, e, risk, self.horizon), brier=brier_score(t, e, 1 - p,
                                                                                                   self.horizon),
                              calibration=calibration_table(t, e, p, self.horizon, bins))

    def score(self, data: Any, *, tenure: Any = None, id_column: str | None = None,
              thresholds: tuple[float, float] | None = None) -> pd.DataFrame:
        """Scores for current subscribers: ``[id], p_churn, risk_score, tier``; ``attrs['tier_cuts']``."""
        p = self.predict_proba(data, tenure)
        tiers, cuts = risk_tiers(p, thresholds=thresholds)
        out = pd.DataFrame({"p_churn": p, "risk_score": self.risk_score(data), "tier": tiers})
        if id_column:
            from survival.hazard import _to_pandas

            out.insert(0, id_column, _to_pandas(data, [id_column])[id_column].to_numpy())
        out.attrs["tier_cuts"] = cuts
        out.attrs["horizon"] = self.horizon
        return out

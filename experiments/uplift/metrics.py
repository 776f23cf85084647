"""Uplift evaluation as pure functions: Qini and cumulative-uplift curves, Qini coefficient / AUUC, uplift@k,
bootstrap intervals, calibration by predicted-uplift quantile, the best-linear-predictor test and segment tables.

Conventions
-----------
``y`` is the *benefit* outcome (larger is better, e.g. retained = 1 - churned), ``treated`` is 1 for the arm and 0
for control, ``score`` is the predicted benefit of the arm (larger = target first). The curves follow
scikit-uplift 0.5 (``sklift.metrics.qini_curve`` / ``uplift_curve``) point for point:

* Qini curve at the top ``j`` subscribers: ``Q(j) = Y_t(j) - Y_c(j) * N_t(j) / N_c(j)``;
* cumulative-uplift curve: ``U(j) = (Y_t(j) / N_t(j) - Y_c(j) / N_c(j)) * j``;

with a ratio taken as 0 while its denominator is 0.

**Ties** are handled deterministically: subscribers with equal scores form one group and the curves are evaluated
only at the end of each group (as scikit-learn's ROC curve does), joined by straight lines. The cumulative counts
and sums between two group ends are interpolated linearly, which equals their expectation over every ordering of the
tied subscribers, so no result depends on the row order of the data.

The areas are reported on a per-subscriber scale: the x axis is the fraction targeted (0..1) and the curve is
divided by ``n``; ``qini`` and ``auuc`` are the areas *between* the Qini / uplift curve and the random-targeting line
that joins (0, 0) to the curve's end. A model no better than random scores 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from experiments.errors import DataError

DEFAULT_KS: tuple[float, ...] = (0.1, 0.2, 0.3)
#: Fixed blocks of bootstrap replicates, each with its own child generator (and thread for large inputs).
BOOTSTRAP_CHUNKS = 2


@dataclass(frozen=True, slots=True)
class CumulativeCounts:
    """Cumulative counts and sums at the end of each tie group, in descending score order, starting at 0.

    Attributes
    ----------
    n_all, n_treated, n_control : ndarray of shape (g + 1,)
        Number (or bootstrap weight) of all, treated and control subscribers in the top groups.
    y_treated, y_control : ndarray of shape (g + 1,)
        Sum of the outcome among the treated and control subscribers in the top groups.
    """

    n_all: np.ndarray
    n_treated: np.ndarray
    n_control: np.ndarray
    y_treated: np.ndarray
    y_control: np.ndarray


@dataclass(frozen=True, slots=True)
class UpliftCurves:
    """Qini and cumulative-uplift curves of one score against one arm-versus-control comparison.

    Attributes
    ----------
    x : ndarray of shape (g + 1,)
        Number of subscribers targeted at each point (0 first, ``n`` last).
    qini : ndarray of shape (g + 1,)
        Qini curve ``Y_t - Y_c N_t / N_c`` at each point (outcome units, not divided by ``n``).
    uplift : ndarray of shape (g + 1,)
        Cumulative-uplift curve ``(Y_t/N_t - Y_c/N_c) x`` at each point.
    n : float
        Number of subscribers (arm plus control).
    """

    x: np.ndarray
    qini: np.ndarray
    uplift: np.ndarray
    n: float


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with a percentile-bootstrap interval.

    Attributes
    ----------
    estimate : float
        The value on the data as observed.
    lo, hi : float
        Bounds of the ``1 - alpha`` percentile-bootstrap interval.
    """

    estimate: float
    lo: float
    hi: float


@dataclass(frozen=True, slots=True)
class UpliftMetrics:
    """Evaluation of one score for one arm against control, with bootstrap intervals.

    Attributes
    ----------
    qini : Interval
        Area between the Qini curve and the random line, per subscriber (see the module docstring).
    auuc : Interval
        Area between the cumulative-uplift curve and the random line, per subscriber.
    uplift_at : dict[float, Interval]
        Treated minus control mean outcome among the top ``k`` fraction, for each ``k``.
    curves : UpliftCurves
        The curves on the observed data (for plots).
    n_bootstrap : int
        Number of bootstrap replicates behind the intervals.
    alpha : float
        One minus the intervals' coverage.
    """

    qini: Interval
    auuc: Interval
    uplift_at: dict[float, Interval]
    curves: UpliftCurves
    n_bootstrap: int
    alpha: float


def _as_arrays(y: object, score: object, treated: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_ = np.asarray(y, dtype=float)
    s_ = np.asarray(score, dtype=float)
    t_ = np.asarray(treated)
    if not (y_.shape == s_.shape == t_.shape) or y_.ndim != 1:
        raise DataError(f"y, score and treated must be 1-d arrays of one length; found shapes "
                        f"{y_.shape}, {s_.shape}, {t_.shape}; pass one value per subscriber")
    if not np.isin(t_, (0, 1)).all():
        raise DataError("treated must hold only 0 (control) and 1 (arm); found other values; "
                        "compare one arm with control at a time")
    t_ = t_.astype(float)
    if t_.sum() == 0 or t_.sum() == t_.size:
        raise DataError(f"treated holds only {'control' if t_.sum() == 0 else 'arm'} units; "
                        "uplift needs both the arm and control")
    for name, arr in (("y", y_), ("score", s_)):
        if not np.isfinite(arr).all():
            raise DataError(f"{name} has {int((~np.isfinite(arr)).sum())} missing or infinite values; "
                            "drop or fill them before evaluating")
    return y_, s_, t_


def _order(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Descending order (stable) and the index of the last member of each tie group in that order."""
    order = np.argsort(-score, kind="stable")
    s_sorted = score[order]
    ends = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]
    return order, ends


def cumulative_counts(
    y: np.ndarray, treated: np.ndarray, order: np.ndarray, ends: np.ndarray, weights: np.ndarray | None = None
) -> CumulativeCounts:
    """Cumulative counts and outcome sums at tie-group ends (``weights`` are bootstrap multiplicities)."""
    return _sorted_counts(y[order], treated[order], ends, None if weights is None else weights[order])


def _sorted_counts(ys: np.ndarray, ts: np.ndarray, ends: np.ndarray, ws: np.ndarray | None) -> CumulativeCounts:
    """:func:`cumulative_counts` on arrays already in score order (the bootstrap reuses them)."""
    w = np.ones(ts.size) if ws is None else ws
    wt = w * ts
    wy = w * ys

    every = ends.size == ts.size  # no ties: every position ends a group, no gather needed

    def cs(v: np.ndarray) -> np.ndarray:
        out = np.empty(ends.size + 1)
        out[0] = 0.0
        c = np.cumsum(v, out=out[1:]) if every else np.cumsum(v)[ends]
        if not every:
            out[1:] = c
        return out

    n_all, n_t, y_all, y_t = cs(w), cs(wt), cs(wy), cs(wt * ys)
    return CumulativeCounts(n_all=n_all, n_treated=n_t, n_control=n_all - n_t, y_treated=y_t,
                            y_control=y_all - y_t)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a, dtype=float), where=b != 0)


def curves_from_counts(c: CumulativeCounts) -> UpliftCurves:
    """Qini and cumulative-uplift curves from cumulative counts."""
    qini = c.y_treated - c.y_control * _safe_div(c.n_treated, c.n_control)
    uplift = (_safe_div(c.y_treated, c.n_treated) - _safe_div(c.y_control, c.n_control)) * c.n_all
    return UpliftCurves(x=c.n_all, qini=qini, uplift=uplift, n=float(c.n_all[-1]))


def uplift_curves(y: object, score: object, treated: object) -> UpliftCurves:
    """Qini and cumulative-uplift curves with tie groups collapsed to one point.

    Examples
    --------
    >>> c = uplift_curves([1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], [1, 0, 0, 1])
    >>> c.x.tolist(), c.qini.tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 1.0, 0.5, 0.0])
    """
    y_, s_, t_ = _as_arrays(y, score, treated)
    order, ends = _order(s_)
    return curves_from_counts(cumulative_counts(y_, t_, order, ends))


def _area_above_random(x: np.ndarray, v: np.ndarray) -> float:
    n = x[-1]
    if n <= 0:
        return float("nan")
    xf = x / n
    vf = v / n
    area = float(np.sum(np.diff(xf) * (vf[1:] + vf[:-1])) / 2)  # trapezoid rule
    return area - 0.5 * float(vf[-1])


def qini_coefficient(curves: UpliftCurves) -> float:
    """Area between the Qini curve and the random line, per subscriber (x = fraction targeted, y = Q / n).

    Examples
    --------
    >>> round(qini_coefficient(uplift_curves([1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], [1, 0, 0, 1])), 6)
    0.15625
    """
    return _area_above_random(curves.x, curves.qini)


def auuc(curves: UpliftCurves) -> float:
    """Area between the cumulative-uplift curve and the random line, per subscriber.

    Examples
    --------
    >>> round(auuc(uplift_curves([1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], [1, 0, 0, 1])), 6)
    0.28125
    """
    return _area_above_random(curves.x, curves.uplift)


def _uplift_at_from_counts(c: CumulativeCounts, k: float) -> float:
    m = k * c.n_all[-1]
    nt = np.interp(m, c.n_all, c.n_treated)
    nc = np.interp(m, c.n_all, c.n_control)
    yt = np.interp(m, c.n_all, c.y_treated)
    yc = np.interp(m, c.n_all, c.y_control)
    if nt <= 0 or nc <= 0:
        return float("nan")
    return float(yt / nt - yc / nc)


def uplift_at_k(y: object, score: object, treated: object, k: float) -> float:
    """Treated minus control mean outcome among the top ``k`` fraction of subscribers by score.

    A tie group that straddles the cut-off contributes in proportion to the part of it inside the top ``k``
    (its expected contribution over every ordering of the ties). NaN if the top ``k`` holds no treated or no
    control subscriber.

    Examples
    --------
    >>> uplift_at_k([1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], [1, 0, 0, 1], k=0.5)
    1.0
    """
    if not 0 < k <= 1:
        raise DataError(f"k = {k!r} is outside (0, 1]; give the fraction of subscribers targeted, e.g. 0.1")
    y_, s_, t_ = _as_arrays(y, score, treated)
    order, ends = _order(s_)
    return _uplift_at_from_counts(cumulative_counts(y_, t_, order, ends), k)


def _percentile(values: np.ndarray, alpha: float) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(v, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def evaluate_uplift(
    y: object,
    score: object,
    treated: object,
    *,
    ks: Sequence[float] = DEFAULT_KS,
    n_bootstrap: int = 200,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> UpliftMetrics:
    """Qini coefficient, AUUC and uplift@k with percentile-bootstrap intervals.

    The bootstrap resamples subscribers with replacement (multinomial weights) and keeps the score order and the
    tie groups of the observed data, so each replicate costs a few cumulative sums.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = rng.integers(0, 2, 2000); x = rng.normal(size=2000)
    >>> y = (rng.random(2000) < 0.3 + 0.2 * t * (x > 0)).astype(int)
    >>> m = evaluate_uplift(y, x, t, n_bootstrap=50, rng=1)
    >>> m.qini.lo > 0
    True
    """
    y_, s_, t_ = _as_arrays(y, score, treated)
    gen = np.random.default_rng(rng)
    order, ends = _order(s_)
    counts = cumulative_counts(y_, t_, order, ends)
    curves = curves_from_counts(counts)
    est_q, est_a = qini_coefficient(curves), auuc(curves)
    est_k = {k: _uplift_at_from_counts(counts, k) for k in ks}
    n = y_.size
    boot_q = np.empty(n_bootstrap)
    boot_a = np.empty(n_bootstrap)
    boot_k = {k: np.empty(n_bootstrap) for k in ks}
    ys, ts = y_[order], t_[order]

    def replicates(g: np.random.Generator, rows: range) -> None:
        for b in rows:
            # multinomial resampling weights; which unit gets which weight is exchangeable, so they are drawn
            # directly in score order
            w = np.bincount(g.integers(0, n, n), minlength=n).astype(float)
            cb = _sorted_counts(ys, ts, ends, w)
            cv = curves_from_counts(cb)
            boot_q[b] = qini_coefficient(cv)
            boot_a[b] = auuc(cv)
            for k in ks:
                boot_k[k][b] = _uplift_at_from_counts(cb, k)

    # The replicates are split into BOOTSTRAP_CHUNKS fixed blocks, each with its own child generator, run on up to
    # that many threads (NumPy releases the GIL in the array work). The blocks, not the threads, fix the random
    # draws, so the intervals are the same however many cores run them.
    bounds = np.linspace(0, n_bootstrap, BOOTSTRAP_CHUNKS + 1).astype(int)
    blocks = [(g, range(lo, hi))
              for g, lo, hi in zip(gen.spawn(BOOTSTRAP_CHUNKS), bounds[:-1], bounds[1:], strict=True)]
    if n * n_bootstrap >= 5_000_000:  # threads pay off only for large inputs
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=BOOTSTRAP_CHUNKS) as pool:
            list(pool.map(lambda blk: replicates(*blk), blocks))
    else:
        for blk in blocks:
            replicates(*blk)
    return UpliftMetrics(
        qini=Interval(est_q, *_percentile(boot_q, alpha)),
        auuc=Interval(est_a, *_percentile(boot_a, alpha)),
        uplift_at={k: Interval(est_k[k], *_percentile(boot_k[k], alpha)) for k in ks},
        curves=curves,
        n_bootstrap=n_bootstrap,
        alpha=alpha,
    )


def quantile_bins(score: object, n_bins: int = 10) -> np.ndarray:
    """Bin index 0..n_bins-1 by score quantile, lowest scores in bin 0; tied scores always share a bin.

    Examples
    --------
    >>> quantile_bins([0.1, 0.2, 0.2, 0.9], n_bins=2).tolist()
    [0, 1, 1, 1]
    """
    s = pd.Series(np.asarray(score, dtype=float))
    ranks = s.rank(method="average").to_numpy()  # ties share their average rank
    return np.minimum(((ranks - 0.5) * n_bins / s.size).astype(int), n_bins - 1)


def calibration_table(y: object, score: object, treated: object, n_bins: int = 10, alpha: float = 0.05) -> pd.DataFrame:
    """Observed uplift (treated minus control mean) by predicted-uplift quantile bin, with a normal interval.

    Columns: ``bin`` (1 = lowest predicted), ``n``, ``predicted`` (mean score), ``observed``, ``se``, ``ci_lo``,
    ``ci_hi``. A well-calibrated score has ``observed`` close to ``predicted`` and increasing across bins.
    """
    y_, s_, t_ = _as_arrays(y, score, treated)
    bins = quantile_bins(s_, n_bins)
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for b in range(n_bins):
        m = bins == b
        yt, yc = y_[m & (t_ == 1)], y_[m & (t_ == 0)]
        if yt.size < 2 or yc.size < 2:
            obs = se = float("nan")
        else:
            obs = float(yt.mean() - yc.mean())
            se = float(np.sqrt(yt.var(ddof=1) / yt.size + yc.var(ddof=1) / yc.size))
        rows.append({"bin": b + 1, "n": int(m.sum()), "predicted": float(s_[m].mean()) if m.any() else float("nan"),
                     "observed": obs, "se": se, "ci_lo": obs - z * se, "ci_hi": obs + z * se})
    return pd.DataFrame(rows)


@dataclass(frozen=True, slots=True)
class BLPTest:
    """Best linear predictor of the effect given the score (Chernozhukov, Demirer, Duflo & Fernández-Val, 2018).

    Weighted least squares of ``y`` on ``1, baseline, (T - e), (T - e)(S - mean S)`` with weights
    ``1 / (e (1 - e))`` and heteroskedasticity-robust (HC1) standard errors.

    Attributes
    ----------
    beta1, beta1_se : float
        Average effect and its standard error.
    beta2, beta2_se : float
        Slope of the effect on the centred score: 1 if the score is the true effect, 0 if it carries no information.
    pvalue_heterogeneity : float
        One-sided p-value of ``beta2 <= 0``; small means the score finds real heterogeneity.
    """

    beta1: float
    beta1_se: float
    beta2: float
    beta2_se: float
    pvalue_heterogeneity: float


def blp_test(
    y: object, score: object, treated: object, propensity: float | object, baseline: object | None = None
) -> BLPTest:
    """Best-linear-predictor test of heterogeneity on held-out data.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 4000; x = rng.normal(size=n); t = rng.integers(0, 2, n)
    >>> y = x + t * (1 + x) + rng.normal(size=n)
    >>> r = blp_test(y, 1 + x, t, 0.5)
    >>> abs(r.beta2 - 1) < 0.2 and r.pvalue_heterogeneity < 0.01
    True
    """
    import statsmodels.api as sm

    y_, s_, t_ = _as_arrays(y, score, treated)
    e = np.broadcast_to(np.asarray(propensity, dtype=float), y_.shape)
    if not ((e > 0) & (e < 1)).all():
        raise DataError("propensity must lie strictly between 0 and 1; check the arm weights in the design")
    cols = [np.ones_like(y_)]
    if baseline is not None and np.ptp(np.asarray(baseline, dtype=float)) > 0:  # a constant adds nothing
        cols.append(np.asarray(baseline, dtype=float))
    cols.append(t_ - e)
    # a score without variation (float noise aside) has no slope to estimate
    constant = bool(np.ptp(s_) <= 1e-12 * max(1.0, float(np.max(np.abs(s_)))))
    if not constant:
        cols.append((t_ - e) * (s_ - s_.mean()))
    X = np.column_stack(cols)
    if len(cols) > 3 and np.linalg.matrix_rank(X) < X.shape[1]:
        # the baseline is collinear with the score (a coarse outcome model on little data): the slope of the
        # score is still identified without it
        X = np.delete(X, 1, axis=1)
    fit = sm.WLS(y_, X, weights=1.0 / (e * (1 - e))).fit(cov_type="HC1")
    if constant:
        b1, se1, b2, se2 = float(fit.params[-1]), float(fit.bse[-1]), float("nan"), float("nan")
        return BLPTest(beta1=b1, beta1_se=se1, beta2=b2, beta2_se=se2, pvalue_heterogeneity=float("nan"))
    b1, b2 = float(fit.params[-2]), float(fit.params[-1])
    se1, se2 = float(fit.bse[-2]), float(fit.bse[-1])
    p = float(stats.norm.sf(b2 / se2)) if se2 > 0 else float("nan")
    return BLPTest(beta1=b1, beta1_se=se1, beta2=b2, beta2_se=se2, pvalue_heterogeneity=p)


def segment_table(
    y: object, arm: object, segment: object, control: str, arms: Sequence[str], alpha: float = 0.05,
    segment_name: str = "segment",
) -> pd.DataFrame:
    """Average effect of each arm against control within each level of a segment, with a heterogeneity test.

    Each cell is a difference in means with the unequal-variance (Neyman) standard error; the heterogeneity test
    per arm is Cochran's Q: ``Q = sum w_l (d_l - d_bar)^2`` with ``w_l = 1 / se_l^2``, chi-square with
    ``L - 1`` degrees of freedom under equal effects across levels. Levels with fewer than 2 units in the arm or in
    control are reported with NaN and left out of the test.

    Returns
    -------
    pandas.DataFrame
        Columns ``arm, <segment_name>, n_arm, n_control, ate, se, ci_lo, ci_hi, q_stat, q_df, q_pvalue`` (the last
        three are the arm's test, repeated on each of its rows).
    """
    y_ = np.asarray(y, dtype=float)
    a_ = np.asarray(arm).astype(str)
    g_ = pd.Series(np.asarray(segment)).astype(str).to_numpy()
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for arm_name in arms:
        arm_rows = []
        for level in sorted(pd.unique(g_)):
            in_lvl = g_ == level
            yt, yc = y_[in_lvl & (a_ == arm_name)], y_[in_lvl & (a_ == control)]
            if yt.size < 2 or yc.size < 2:
                d = se = float("nan")
            else:
                d = float(yt.mean() - yc.mean())
                se = float(np.sqrt(yt.var(ddof=1) / yt.size + yc.var(ddof=1) / yc.size))
            arm_rows.append({"arm": arm_name, segment_name: level, "n_arm": int(yt.size), "n_control": int(yc.size),
                             "ate": d, "se": se, "ci_lo": d - z * se, "ci_hi": d + z * se})
        d_ = np.array([r["ate"] for r in arm_rows])
        s_ = np.array([r["se"] for r in arm_rows])
        ok = np.isfinite(d_) & (s_ > 0)
        if ok.sum() >= 2:
            w = 1 / s_[ok] ** 2
            dbar = (w * d_[ok]).sum() / w.sum()
            q = float((w * (d_[ok] - dbar) ** 2).sum())
            df = int(ok.sum() - 1)
            p = float(stats.chi2.sf(q, df))
        else:
            q, df, p = float("nan"), 0, float("nan")
        for r in arm_rows:
            r.update(q_stat=q, q_df=df, q_pvalue=p)
        rows += arm_rows
    return pd.DataFrame(rows)

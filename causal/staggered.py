"""Staggered adoption: Callaway–Sant'Anna group-time effects and their aggregations.

Two-way fixed effects averages comparisons that use already-treated units as controls, so with effects that differ
by start date (or grow over time) its coefficient is a badly weighted average and can even have the wrong sign
(Goodman-Bacon 2021). Callaway and Sant'Anna (2021) instead estimate one effect per start cohort ``g`` and period
``t``, ``ATT(g, t)``, each a clean 2×2 comparison against never-treated (or not-yet-treated) units, and aggregate
them. This module implements the unconditional estimator (no covariates) on a balanced unit × period panel of
outcomes, with influence-function standard errors clustered by unit, as R ``did`` 2.x computes them analytically
(``bstrap = FALSE``), including the estimation effect of the aggregation weights. Pre-period effects use the
"varying" base period (``t - 1``), as R's default.

References: Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-Differences with multiple time periods",
Journal of Econometrics 225(2), 200–230; R package ``did`` (``att_gt``, ``aggte``, ``compute.aggte``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from causal.errors import PanelError, TreatmentError

ControlGroup = Literal["never", "notyet"]


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One aggregated effect.

    Attributes
    ----------
    att : float
        The aggregated average effect on the treated.
    se : float
        Influence-function standard error (clustered by unit).
    ci : tuple[float, float]
        Pointwise normal ``1 - alpha`` interval.
    inf : numpy.ndarray
        Influence function per unit, shape ``(n_units,)``; ``se = sqrt(mean(inf²) / n)``.
    """

    att: float
    se: float
    ci: tuple[float, float]
    inf: np.ndarray


@dataclass(frozen=True, slots=True)
class StaggeredResult:
    """Callaway–Sant'Anna group-time effects and aggregations.

    Attributes
    ----------
    att_gt : pandas.DataFrame
        One row per (group, time): ``group``, ``time`` (period labels), ``att``, ``se``, ``ci_lo``, ``ci_hi``,
        ``post`` (t ≥ g), ``n_treated``, ``n_control``.
    simple : Aggregate
        Average of post-treatment ATT(g,t) weighted by group size (R ``aggte(type="simple")``).
    dynamic : pandas.DataFrame
        Event-time effects: ``rel_time`` (t - g in periods), ``att``, ``se``, ``ci_lo``, ``ci_hi``.
    dynamic_overall : Aggregate
        Mean of the event-time effects for ``rel_time ≥ 0`` (R ``aggte(type="dynamic")`` overall).
    group : pandas.DataFrame
        Per start cohort: ``group``, ``att``, ``se``, ``ci_lo``, ``ci_hi``.
    group_overall : Aggregate
        Group effects averaged with group-size weights (R ``aggte(type="group")`` overall).
    pretest_w : float
        Wald statistic that all pre-treatment ATT(g,t) are zero (χ² with ``pretest_df`` degrees of freedom).
    pretest_p : float
        Its p-value.
    pretest_df : int
        Degrees of freedom: the rank of the pre-period covariance (the number of pre-treatment ATT(g,t) unless
        there are more of them than units).
    control : str
        ``"never"`` or ``"notyet"``.
    n_units : int
        Units used.
    dropped_first_period : int
        Units treated already in the first period (no pre-period; dropped as R ``did`` does).
    alpha : float
        Level of the intervals.
    """

    att_gt: pd.DataFrame
    simple: Aggregate
    dynamic: pd.DataFrame
    dynamic_overall: Aggregate
    group: pd.DataFrame
    group_overall: Aggregate
    pretest_w: float
    pretest_p: float
    pretest_df: int
    control: str
    n_units: int
    dropped_first_period: int
    alpha: float


def _agg(att: float, inf: np.ndarray, z: float) -> Aggregate:
    n = len(inf)
    se = float(np.sqrt(np.mean(inf**2) / n))
    return Aggregate(att=float(att), se=se, ci=(att - z * se, att + z * se), inf=inf)


def _wif(keep: np.ndarray, pg: np.ndarray, grp_of: np.ndarray, unit_g: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Influence function of the estimated aggregation weights ``pg[keep] / Σ pg[keep]`` (R ``did:::wif``)."""
    pk = pg[keep]
    ind = np.stack([w * (unit_g == grp_of[k]) - pg[k] for k in keep], axis=1)  # (n, |keep|)
    if1 = ind / pk.sum()
    if2 = ind.sum(axis=1)[:, None] * (pk / pk.sum() ** 2)[None, :]
    return if1 - if2


def callaway_santanna(
    Y: np.ndarray,
    start: np.ndarray,
    periods: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    control: ControlGroup = "never",
    alpha: float = 0.05,
) -> StaggeredResult:
    """Group-time ATTs and their simple, dynamic and group aggregations.

    Parameters
    ----------
    Y : numpy.ndarray
        Outcomes, shape ``(n_units, n_periods)``, balanced (no NaN); columns in the order of ``periods``.
    start : numpy.ndarray
        First treated period of each unit as a position ``0..n_periods-1`` into ``periods``, or ``-1`` for
        never-treated units.
    periods : numpy.ndarray
        Period labels, sorted.
    weights : numpy.ndarray, optional
        Unit weights (constant over time), e.g. average subscribers; normalised to mean 1.
    control : {"never", "notyet"}
        Never-treated units only, or never-treated plus not-yet-treated units as controls.
    alpha : float
        Level of the pointwise intervals.

    Returns
    -------
    StaggeredResult

    Raises
    ------
    PanelError
        Missing outcome cells.
    TreatmentError
        No never-treated units with ``control="never"``, no treated cohort, or a cohort without controls.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.array([[0., 0, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 2, 2]])
    >>> r = callaway_santanna(Y, np.array([2, -1, -1, 3]), np.arange(4))
    >>> round(r.att_gt.query("group == 2 and time == 2").att.item(), 6)
    1.0
    """
    if control not in ("never", "notyet"):
        raise TreatmentError(f"control group {control!r} is not allowed; use one of 'never', 'notyet'")
    Y = np.asarray(Y, float)
    n_all, T = Y.shape
    if np.isnan(Y).any():
        bad = int(np.isnan(Y).sum())
        raise PanelError(
            f"the panel has {bad} missing unit × period outcome cells; Callaway–Sant'Anna needs a balanced panel: "
            "drop units with missing periods or fill the cells before the staggered analysis"
        )
    start = np.asarray(start, int)
    first = start == 0
    keep_units = ~first
    Y, start = Y[keep_units], start[keep_units]
    w = np.ones(len(Y)) if weights is None else np.asarray(weights, float)[keep_units]
    w = w / w.mean()
    n = len(Y)
    never = start < 0
    if control == "never" and not never.any():
        raise TreatmentError(
            "no never-treated units: every unit starts the promotion at some point; use control='notyet' "
            "(not-yet-treated units as controls) or add untreated units"
        )
    groups = np.array(sorted(set(start[start > 0].tolist())))
    if len(groups) == 0:
        raise TreatmentError("no treated units start after the first period; there is nothing to estimate")
    z = float(stats.norm.ppf(1 - alpha / 2))
    rows, infs = [], []
    for g in groups:
        treated = start == g
        for t in range(1, T):
            base = g - 1 if t >= g else t - 1
            if control == "never":
                ctrl = never
            else:
                ctrl = never | ((start > max(t, base)) & (start != g))
            if not ctrl.any():
                if t >= g:
                    raise TreatmentError(
                        f"cohort starting in period {periods[g]!r} has no control units in period {periods[t]!r}; "
                        "add never-treated units or limit the analysis window"
                    )
                continue
            dy = Y[:, t] - Y[:, base]
            wd, wc = w * treated, w * ctrl
            mu1 = (wd * dy).sum() / wd.sum()
            mu0 = (wc * dy).sum() / wc.sum()
            inf = wd * (dy - mu1) / wd.mean() - wc * (dy - mu0) / wc.mean()
            att = mu1 - mu0
            se = float(np.sqrt(np.mean(inf**2) / n))
            rows.append({"group": g, "time": t, "att": att, "se": se, "post": t >= g,
                         "n_treated": int(treated.sum()), "n_control": int(ctrl.sum())})
            infs.append(inf)
    gt = pd.DataFrame(rows)
    IF = np.stack(infs, axis=1)
    att = gt["att"].to_numpy()
    grp = gt["group"].to_numpy()
    tim = gt["time"].to_numpy()
    pg_g = {g: float(np.mean(w * (start == g))) for g in groups}
    pg = np.array([pg_g[g] for g in grp])

    keep = np.flatnonzero(grp <= tim)
    wts = pg[keep] / pg[keep].sum()
    simple_inf = IF[:, keep] @ wts + _wif(keep, pg, grp, start, w) @ att[keep]
    simple = _agg(float(att[keep] @ wts), simple_inf, z)

    dyn_rows, dyn_infs = [], []
    for e in sorted(set((tim - grp).tolist())):
        k = np.flatnonzero(tim - grp == e)
        we = pg[k] / pg[k].sum()
        inf_e = IF[:, k] @ we + _wif(k, pg, grp, start, w) @ att[k]
        a = _agg(float(att[k] @ we), inf_e, z)
        dyn_rows.append({"rel_time": int(e), "att": a.att, "se": a.se, "ci_lo": a.ci[0], "ci_hi": a.ci[1]})
        dyn_infs.append((e, a))
    post_e = [a for e, a in dyn_infs if e >= 0]
    dynamic_overall = _agg(float(np.mean([a.att for a in post_e])), np.mean([a.inf for a in post_e], axis=0), z)

    g_rows, g_att, g_inf = [], [], []
    for g in groups:
        k = np.flatnonzero((grp == g) & (tim >= g))
        a = _agg(float(att[k].mean()), IF[:, k].mean(axis=1), z)
        g_rows.append({"group": periods[g], "att": a.att, "se": a.se, "ci_lo": a.ci[0], "ci_hi": a.ci[1]})
        g_att.append(a.att)
        g_inf.append(a.inf)
    pgg = np.array([pg_g[g] for g in groups])
    gi = np.stack(g_inf, axis=1)
    g_att_arr = np.array(g_att)
    idx = np.arange(len(groups))
    group_inf = gi @ (pgg / pgg.sum()) + _wif(idx, pgg, groups, start, w) @ g_att_arr
    group_overall = _agg(float(g_att_arr @ pgg / pgg.sum()), group_inf, z)

    pre = np.flatnonzero(grp > tim)
    if len(pre):
        V = IF[:, pre].T @ IF[:, pre] / n
        # with more pre-period cells than units V is singular: test on its rank (R's solve() would fail there)
        q = int(np.linalg.matrix_rank(V))
        W = float(n * att[pre] @ np.linalg.pinv(V) @ att[pre])
        pw = float(stats.chi2.sf(W, q))
    else:
        W, pw, q = float("nan"), float("nan"), 0
    gt["ci_lo"] = gt["att"] - z * gt["se"]
    gt["ci_hi"] = gt["att"] + z * gt["se"]
    gt["group"] = periods[gt["group"].to_numpy()]
    gt["time"] = periods[gt["time"].to_numpy()]
    gt = gt[["group", "time", "att", "se", "ci_lo", "ci_hi", "post", "n_treated", "n_control"]]
    return StaggeredResult(
        att_gt=gt, simple=simple, dynamic=pd.DataFrame(dyn_rows), dynamic_overall=dynamic_overall,
        group=pd.DataFrame(g_rows), group_overall=group_overall, pretest_w=W, pretest_p=pw, pretest_df=q,
        control=control, n_units=n, dropped_first_period=int(first.sum()), alpha=alpha,
    )


PretestStatistic = Literal["wald", "sup-t"]


@dataclass(frozen=True, slots=True)
class PretrendBootstrap:
    """Wild bootstrap (null imposed, unit-level draws) of a joint test of the pre-period event-time effects.

    The statistic is computed from the dynamic (event-time) aggregation of the pre-treatment ATT(g, t), i.e. one
    parameter per event time ``e < 0`` instead of one per (group, time) cell, and each bootstrap draw recomputes the
    effects *and* their influence-function covariance, so the test is studentized draw by draw (the restricted wild
    cluster bootstrap of MacKinnon, Nielsen and Webb 2023 applied to the Callaway–Sant'Anna pre-period effects).

    Attributes
    ----------
    statistic : str
        ``"wald"`` (``n · a' V⁺ a`` on the event-time effects ``a``) or ``"sup-t"`` (``max_e |a_e / se_e|``).
    stat : float
        The statistic on the data.
    p_value : float
        Share of bootstrap statistics at least as large as ``stat``, ``(1 + #{T* ≥ T}) / (1 + B)``.
    event_times : numpy.ndarray
        The tested event times (in periods, all ``< 0``), shape ``(q,)``.
    att : numpy.ndarray
        Pre-period event-time effects, shape ``(q,)`` (equal to ``StaggeredResult.dynamic`` rows with ``e < 0``).
    se : numpy.ndarray
        Their influence-function standard errors, shape ``(q,)``.
    df : int
        Rank of their estimated covariance (the χ² degrees of freedom of the asymptotic Wald test).
    asymptotic_p : float
        The χ²(df) p-value of the Wald statistic on the event-time effects (over-sized with few units).
    stat_boot : numpy.ndarray
        Bootstrap statistics, shape ``(B,)``.
    n_draws : int
        Number of draws B.
    weights : str
        Draw distribution (``"rademacher"``).
    """

    statistic: str
    stat: float
    p_value: float
    event_times: np.ndarray
    att: np.ndarray
    se: np.ndarray
    df: int
    asymptotic_p: float
    stat_boot: np.ndarray
    n_draws: int
    weights: str


def _pre_cells(start: np.ndarray, T: int, control: ControlGroup) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """``(g, t, treated, control)`` masks of the pre-treatment cells (``t < g``, varying base ``t - 1``)."""
    never = start < 0
    out = []
    for g in sorted(set(start[start > 0].tolist())):
        for t in range(1, g):
            ctrl = never if control == "never" else never | ((start > t) & (start != g))
            if ctrl.any():
                out.append((g, t, start == g, ctrl))
    return out


def _pre_event_stats(cells: list[tuple[int, int, np.ndarray, np.ndarray]], U: np.ndarray, w: np.ndarray,
                     start: np.ndarray, statistic: PretestStatistic) -> tuple[np.ndarray, ...]:
    """Event-time effects, SEs, statistic and covariance rank for a batch of outcome-change draws.

    ``U`` holds the outcome changes ``ΔY`` of every unit and period for ``B`` draws, shape ``(n, T, B)``. Returns
    ``(e, att (q, B), se (q, B), stat (B,), rank (B,))`` with the arithmetic of :func:`callaway_santanna`.
    """
    n, _, B = U.shape
    grp = np.array([c[0] for c in cells])
    tim = np.array([c[1] for c in cells])
    pg_g = {g: float(np.mean(w * (start == g))) for g in set(grp.tolist())}
    pg = np.array([pg_g[g] for g in grp])
    att = np.empty((len(cells), B))
    IF = np.empty((n, len(cells), B))
    for k, (_, t, treated, ctrl) in enumerate(cells):
        dy = U[:, t, :]
        wd, wc = (w * treated)[:, None], (w * ctrl)[:, None]
        mu1 = (wd * dy).sum(axis=0) / wd.sum()
        mu0 = (wc * dy).sum(axis=0) / wc.sum()
        IF[:, k] = wd * (dy - mu1) / wd.mean() - wc * (dy - mu0) / wc.mean()
        att[k] = mu1 - mu0
    rel = tim - grp
    es = np.array(sorted(set(rel.tolist())))
    a = np.empty((len(es), B))
    inf = np.empty((n, len(es), B))
    for j, e in enumerate(es):
        ks = np.flatnonzero(rel == e)
        we = pg[ks] / pg[ks].sum()
        wif = _wif(ks, pg, grp, start, w)  # (n, |ks|): estimation effect of the cohort-share weights
        a[j] = we @ att[ks]
        inf[:, j] = np.einsum("nkb,k->nb", IF[:, ks], we) + wif @ att[ks]
    V = np.einsum("njb,nlb->bjl", inf, inf) / n  # (B, q, q)
    se = np.sqrt(np.einsum("bjj->jb", V) / n)
    if statistic == "sup-t":
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = np.max(np.abs(a / se), axis=0)
        rank = np.full(B, len(es))
    else:
        lam, vec = np.linalg.eigh(V)  # pseudo-inverse and rank from one eigendecomposition per draw
        tol = lam[:, -1:] * lam.shape[1] * np.finfo(float).eps
        inv = np.where(lam > tol, 1.0 / np.where(lam > tol, lam, 1.0), 0.0)
        proj = np.einsum("bjk,jb->bk", vec, a)
        stat = n * np.einsum("bk,bk->b", proj**2, inv)
        rank = (lam > tol).sum(axis=1)
    return es, a, se, stat, rank


def pretrend_bootstrap(
    Y: np.ndarray,
    start: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    control: ControlGroup = "never",
    statistic: PretestStatistic = "wald",
    n_draws: int = 999,
    rng: np.random.Generator | int | None = None,
    draws: np.ndarray | None = None,
) -> PretrendBootstrap:
    """Bootstrap test that all pre-treatment event-time effects of the Callaway–Sant'Anna estimator are zero.

    The χ² Wald pre-test on every pre-period ATT(g, t) (:attr:`StaggeredResult.pretest_w`, R ``did``'s) estimates a
    covariance of dimension close to the number of units; with few units it is badly over-sized (it rejects in most
    panels where parallel trends hold exactly). This test (1) aggregates the pre-period ATT(g, t) by event time,
    ``e = t - g < 0`` (R ``aggte(type="dynamic")``), which cuts the parameters to one per lead, and (2) calibrates
    the joint statistic by a wild bootstrap with the null imposed: under parallel trends the period-to-period
    change ``ΔY_it`` of every unit not yet treated has the same mean ``δ_t``; the restricted residuals
    ``û_it = ΔY_it - δ̂_t`` (``δ̂_t`` the weighted mean over units not yet treated at ``t``) are multiplied by one
    Rademacher draw per unit, ``ΔY*_it = δ̂_t + v_i û_it`` (which keeps each unit's serial correlation), and the
    event-time effects, their influence-function covariance and the statistic are recomputed for every draw.

    Parameters
    ----------
    Y : numpy.ndarray
        Outcomes, shape ``(n_units, n_periods)``, balanced, as for :func:`callaway_santanna` (units treated in
        the first period are dropped in the same way).
    start : numpy.ndarray
        First treated period position per unit, ``-1`` never treated.
    weights : numpy.ndarray, optional
        Unit weights (normalised to mean 1).
    control : {"never", "notyet"}
        Control group, as for :func:`callaway_santanna`.
    statistic : {"wald", "sup-t"}
        Joint Wald statistic on the event-time effects, or the largest absolute t statistic.
    n_draws : int
        Bootstrap draws B (at least 99).
    rng : numpy.random.Generator, int or None
        Randomness of the draws.
    draws : numpy.ndarray, optional
        ``(n_units_used, B)`` draw matrix replacing the random draws (to check single draws against refits).

    Returns
    -------
    PretrendBootstrap

    Raises
    ------
    SpecError
        Too few draws or an unknown statistic.
    TreatmentError
        No treated cohort with a pre-period to test.

    Examples
    --------
    >>> import numpy as np
    >>> gen = np.random.default_rng(0)
    >>> Y = gen.normal(size=(12, 6)) + np.arange(6)
    >>> start = np.array([3, 3, 3, 4, 4, 4, -1, -1, -1, -1, -1, -1])
    >>> r = pretrend_bootstrap(Y, start, n_draws=199, rng=1)
    >>> r.event_times.tolist(), r.n_draws, 0 < r.p_value <= 1
    ([-3, -2, -1], 199, True)
    """
    from causal.errors import SpecError

    if statistic not in ("wald", "sup-t"):
        raise SpecError(f"pre-trend statistic {statistic!r} is not allowed; use one of 'wald', 'sup-t'")
    if control not in ("never", "notyet"):
        raise TreatmentError(f"control group {control!r} is not allowed; use one of 'never', 'notyet'")
    if draws is None and n_draws < 99:
        raise SpecError(f"n_draws={n_draws} is too few bootstrap draws for the pre-trend test; use at least 99")
    Y = np.asarray(Y, float)
    if np.isnan(Y).any():
        raise PanelError(f"the panel has {int(np.isnan(Y).sum())} missing unit × period outcome cells; the "
                         "pre-trend bootstrap needs a balanced panel: drop units with missing periods or fill them")
    start = np.asarray(start, int)
    keep = start != 0
    Y, start = Y[keep], start[keep]
    w = np.ones(len(Y)) if weights is None else np.asarray(weights, float)[keep]
    w = w / w.mean()
    n, T = Y.shape
    cells = _pre_cells(start, T, control)
    if not cells:
        raise TreatmentError("no treated cohort has a pre-treatment period with controls: there is no pre-trend "
                             "to test")
    dY = np.zeros_like(Y)
    dY[:, 1:] = np.diff(Y, axis=1)
    # restricted (null-imposed) residuals: a common mean change per period among units not yet treated
    clean = (start[:, None] < 0) | (start[:, None] > np.arange(T)[None, :])
    wc = w[:, None] * clean
    delta = (wc * dY).sum(axis=0) / np.maximum(wc.sum(axis=0), 1e-300)
    resid = np.where(clean, dY - delta[None, :], 0.0)
    es, a0, se0, s0, r0 = _pre_event_stats(cells, dY[:, :, None], w, start, statistic)
    if draws is not None:
        V = np.asarray(draws, float)
    else:
        V = np.random.default_rng(rng).choice(np.array([-1.0, 1.0]), size=(n, n_draws))
    stat_b = []
    chunk = max(1, 2_000_000 // (n * max(T, len(cells))))  # draws per batch: ~16 MB of influence functions
    for b0 in range(0, V.shape[1], chunk):
        v = V[:, b0:b0 + chunk]
        stat_b.append(_pre_event_stats(cells, resid[:, :, None] * v[:, None, :], w, start, statistic)[3])
    sb = np.concatenate(stat_b)
    stat = float(s0[0])
    p = float((1 + np.sum(sb >= stat)) / (1 + len(sb)))
    df = int(r0[0])
    asym = float(stats.chi2.sf(stat, df)) if statistic == "wald" and df > 0 else float("nan")
    return PretrendBootstrap(statistic=statistic, stat=stat, p_value=p, event_times=es, att=a0[:, 0],
                             se=se0[:, 0], df=df, asymptotic_p=asym, stat_boot=sb, n_draws=int(V.shape[1]),
                             weights="rademacher")

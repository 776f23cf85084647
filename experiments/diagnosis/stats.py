"""Statistics of the churn profile on counts: pure functions over per-level n and churners.

Everything here takes the small tables the engine returns (one row per level, or per pair of levels) and never the
subscriber rows. Intervals and χ² tests reuse :mod:`experiments.stats` (the same Wilson interval and Pearson χ² the
experiment analysis uses).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from experiments.analysis.stats import SuffStats, arm_estimate, chi2_independence


def wilson(n: float, churned: float, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of the proportion ``churned / n`` (``(nan, nan)`` when ``n`` is 0).

    Equals ``statsmodels.stats.proportion.proportion_confint(churned, n, alpha, method="wilson")``.

    Examples
    --------
    >>> [round(v, 4) for v in wilson(396, 167)]
    [0.3739, 0.4711]
    """
    return arm_estimate(SuffStats(float(n), float(churned), float(churned)), binary=True, alpha=alpha).ci


def cramers_v(n: Sequence[float], churned: Sequence[float]) -> float:
    """Cramér's V of a k × 2 table (levels × churned/stayed): ``sqrt(χ² / N)``, without bias correction.

    Equals ``scipy.stats.contingency.association(table, method="cramer")`` on the same table.

    Examples
    --------
    >>> round(cramers_v([396, 3854], [167, 431]), 4)
    0.2597
    """
    total = float(sum(n))
    if total == 0 or len(n) < 2:
        return math.nan
    return math.sqrt(chi2_independence(n, churned).statistic / total)


@dataclass(frozen=True, slots=True)
class Cut:
    """The best split of an ordered column into "at or below" and "above".

    Attributes
    ----------
    index : int
        The split is between level ``index`` and ``index + 1`` of the ordered levels.
    below_n, below_churned, above_n, above_churned : int
        Subscribers and churners on each side.
    statistic : float
        Pearson χ² (1 df, no continuity correction) of the 2 × 2 table of the chosen split.
    p_raw : float
        p-value of that χ² as if the cut had been fixed in advance.
    p_value : float
        ``min(1, m · p_raw)`` with ``m`` the number of candidate cuts (Bonferroni): the choice of the best of ``m``
        cuts is paid for, so the p-value stays valid.
    candidates : int
        Number of cuts compared (those leaving at least ``min_side`` subscribers on each side).
    """

    index: int
    below_n: int
    below_churned: int
    above_n: int
    above_churned: int
    statistic: float
    p_raw: float
    p_value: float
    candidates: int


def best_cut(n: Sequence[float], churned: Sequence[float], min_side: int = 30) -> Cut | None:
    """The cut of ordered levels where churn changes most: the largest two-group χ² (maximally selected χ²).

    Parameters
    ----------
    n, churned : sequences of numbers
        Subscribers and churners per level, levels in their natural order (0, 1, 2 ... calls).
    min_side : int
        Cuts leaving fewer subscribers than this on either side are not considered.

    Returns
    -------
    Cut or None
        None when no cut leaves ``min_side`` subscribers on both sides.

    Examples
    --------
    >>> c = best_cut([886, 1524, 947, 558, 209, 81, 28, 13, 2, 2], [97, 166, 102, 63, 92, 49, 19, 7, 1, 2])
    >>> c.index, c.below_n, c.above_n
    (3, 3915, 335)
    """
    import numpy as np

    n_ = np.asarray(n, dtype=float)
    k_ = np.asarray(churned, dtype=float)
    cn, ck = np.cumsum(n_), np.cumsum(k_)
    total_n, total_k = cn[-1], ck[-1]
    best: tuple[float, int] | None = None
    candidates = 0
    for i in range(len(n_) - 1):
        if cn[i] < min_side or total_n - cn[i] < min_side:
            continue
        candidates += 1
        stat = chi2_independence([cn[i], total_n - cn[i]], [ck[i], total_k - ck[i]]).statistic
        if best is None or stat > best[0]:
            best = (stat, i)
    if best is None:
        return None
    stat, i = best
    p_raw = chi2_independence([cn[i], total_n - cn[i]], [ck[i], total_k - ck[i]]).p_value
    return Cut(i, int(cn[i]), int(ck[i]), int(total_n - cn[i]), int(total_k - ck[i]), float(stat), float(p_raw),
               float(min(1.0, candidates * p_raw)), candidates)


@dataclass(frozen=True, slots=True)
class Interaction:
    """Likelihood-ratio test that two columns' effects on churn are not additive on the logit scale.

    Attributes
    ----------
    g2 : float
        Deviance of the additive logit model ``churn ~ A + B`` fitted to the A × B table of counts (the saturated
        model has deviance 0), i.e. the G² of the loglinear model [AB][AY][BY].
    dof : int
        ``(levels of A − 1)(levels of B − 1)`` less the cells without subscribers.
    p_value : float
        χ² upper tail of ``g2`` on ``dof``.
    """

    g2: float
    dof: int
    p_value: float


def interaction_test(n, churned, iterations: int = 500, tol: float = 1e-10) -> Interaction:
    """G² of no interaction between two columns in an A × B table of subscribers and churners.

    Fitted by iterative proportional fitting of the A × B × churn table to its three two-way margins (Bishop,
    Fienberg & Holland 1975, ch. 3); equals the residual deviance of a binomial GLM ``churn ~ A + B`` on the cells.

    Parameters
    ----------
    n, churned : array-like of shape (levels of A, levels of B)
        Subscribers and churners per cell.

    Examples
    --------
    >>> r = interaction_test([[50, 50], [50, 50]], [[10, 20], [20, 40]])
    >>> round(r.g2, 3), r.dof
    (0.686, 1)
    """
    import numpy as np

    from experiments.analysis.stats import _chi2_sf

    k = np.asarray(churned, dtype=float)
    obs = np.stack([k, np.asarray(n, dtype=float) - k], axis=-1)  # A × B × (churned, stayed)
    fit = np.where(obs.sum(axis=-1, keepdims=True) > 0, 1.0, 0.0) * np.ones_like(obs)
    margins = [obs.sum(axis=2), obs.sum(axis=1), obs.sum(axis=0)]
    for _ in range(iterations):
        before = fit.copy()
        for axis, target in zip((2, 1, 0), margins, strict=True):
            current = fit.sum(axis=axis)
            ratio = np.divide(target, current, out=np.zeros_like(target), where=current > 0)
            fit = fit * np.expand_dims(ratio, axis)
        if np.abs(fit - before).max() < tol:
            break
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(obs > 0, obs * np.log(obs / fit), 0.0)
    g2 = max(float(2 * terms.sum()), 0.0)
    cells = obs.sum(axis=-1) > 0
    dof = int((cells.any(axis=1).sum() - 1) * (cells.any(axis=0).sum() - 1) - (~cells).sum())
    dof = max(dof, 0)
    return Interaction(g2, dof, _chi2_sf(g2, dof) if dof > 0 else math.nan)

"""Statistics on sufficient statistics: pure functions returning frozen dataclasses.

Every A/B test here needs only per-arm n, Σy, Σy² (and Σx, Σx², Σxy for CUPED), so the same code serves a pandas
frame, DuckDB, Spark or a warehouse. :class:`SuffStats` adds (``a + b`` pools strata or batches).

Conventions
-----------
* Binary metrics: difference of proportions with an unpooled Wald interval (normal quantile) and the two-sided
  p-value of the pooled two-proportion z-test, which equals Pearson's χ² on the 2×2 table without Yates'
  correction (R ``prop.test(correct=FALSE)``). The interval and the p-value can therefore disagree at the margin.
* Continuous metrics: Welch's t with Welch–Satterthwaite degrees of freedom for both the absolute difference and
  the relative lift.
* Relative lift ``(m_t - m_c) / m_c`` with a delta-method variance
  ``v_t / m_c² + m_t² v_c / m_c⁴`` (``v`` = variance of the mean).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from experiments.errors import DesignError
from experiments.spec.literals import Correction, Direction, check_literal

if TYPE_CHECKING:
    import numpy as np

# NumPy and SciPy are imported where they are used: ``retention analyze`` starts its DuckDB scan first, and both
# arrive in the background meanwhile (see preload()).
# scipy.special instead of scipy.stats: the same functions scipy.stats calls, at a fraction of the import time. It is
# imported on first use, or in the background by preload() while the engine scans the data (the CLI's start-up counts
# in whole-process benchmarks: importing scipy.special takes ~0.3 s, as long as a 10M-row aggregation).


def _special() -> Any:
    from scipy import special

    return special


def preload() -> None:
    """Start importing SciPy's special functions in a background thread (a no-op once they are imported).

    Call it before long engine work that releases the GIL (a DuckDB scan); the first p-value then finds the module
    ready. Importing the same module from the main thread meanwhile simply waits for the import to finish.
    """
    import sys

    if "scipy.special" not in sys.modules:  # importing it imports NumPy first
        threading.Thread(target=_special, name="preload-scipy-special").start()


def _norm_sf(x: float) -> float:
    return float(_special().ndtr(-x))


def _norm_ppf(q: float) -> float:
    return float(_special().ndtri(q))


def _t_sf(x: float, dof: float) -> float:
    return float(_special().stdtr(dof, -x))


def _t_ppf(q: float, dof: float) -> float:
    return float(_special().stdtrit(dof, q))


def _chi2_sf(x: float, dof: float) -> float:
    return float(_special().chdtrc(dof, x))


@dataclass(frozen=True, slots=True)
class SuffStats:
    """Sufficient statistics of one arm (or stratum) for one metric; they add.

    Attributes
    ----------
    n : float
        Number of units.
    sum, sum_sq : float
        Σy and Σy² of the outcome.
    x_sum, x_sum_sq, xy_sum : float
        Σx, Σx² and Σxy of the CUPED covariate (zero when there is none).

    Examples
    --------
    >>> a = SuffStats.from_values([1, 0, 1])
    >>> (a + SuffStats.from_values([0])).mean
    0.5
    """

    n: float
    sum: float
    sum_sq: float
    x_sum: float = 0.0
    x_sum_sq: float = 0.0
    xy_sum: float = 0.0

    def __add__(self, other: SuffStats) -> SuffStats:
        return SuffStats(*(a + b for a, b in zip(self._tuple(), other._tuple(), strict=True)))

    def _tuple(self) -> tuple[float, ...]:
        return (self.n, self.sum, self.sum_sq, self.x_sum, self.x_sum_sq, self.xy_sum)

    @classmethod
    def from_values(cls, y: Sequence[float] | np.ndarray, x: Sequence[float] | np.ndarray | None = None) -> SuffStats:
        """Sufficient statistics of raw values (for tests and small data)."""
        import numpy as np

        y = np.asarray(y, dtype=float)
        if x is None:
            return cls(float(y.size), float(y.sum()), float((y * y).sum()))
        x = np.asarray(x, dtype=float)
        return cls(float(y.size), float(y.sum()), float((y * y).sum()), float(x.sum()), float((x * x).sum()),
                   float((x * y).sum()))

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n > 0 else math.nan

    @property
    def var(self) -> float:
        """Sample variance (ddof=1), from the centred form to limit cancellation."""
        if self.n < 2:
            return math.nan
        return max(self.sum_sq - self.sum * self.sum / self.n, 0.0) / (self.n - 1)

    @property
    def x_mean(self) -> float:
        return self.x_sum / self.n if self.n > 0 else math.nan

    @property
    def x_var(self) -> float:
        if self.n < 2:
            return math.nan
        return max(self.x_sum_sq - self.x_sum * self.x_sum / self.n, 0.0) / (self.n - 1)

    @property
    def xy_cov(self) -> float:
        if self.n < 2:
            return math.nan
        return (self.xy_sum - self.x_sum * self.sum / self.n) / (self.n - 1)


# ----------------------------------------------------------------------------------------------- sample ratio


@dataclass(frozen=True, slots=True)
class SRMResult:
    """Sample-ratio mismatch check: χ² goodness of fit of the arm counts against the design weights.

    Attributes
    ----------
    statistic : float
        Pearson χ² statistic.
    dof : int
        Number of arms − 1.
    p_value : float
        Upper-tail χ² probability.
    ok : bool
        ``p_value >= alpha`` and no arm is empty.
    arms : tuple[str, ...]
        Arm labels in the order of ``observed`` and ``expected``.
    observed, expected : tuple[float, ...]
        Counts per arm, and the counts the weights imply.
    zero_arms : tuple[str, ...]
        Arms with no units (an SRM by definition).
    alpha : float
        Threshold used for ``ok`` (0.001 by convention: SRM checks run on every experiment).
    """

    statistic: float
    dof: int
    p_value: float
    ok: bool
    arms: tuple[str, ...]
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    zero_arms: tuple[str, ...]
    alpha: float

    def to_dict(self) -> dict:
        return {"statistic": self.statistic, "dof": self.dof, "p_value": self.p_value, "ok": self.ok,
                "alpha": self.alpha, "observed": dict(zip(self.arms, self.observed, strict=True)),
                "expected": dict(zip(self.arms, self.expected, strict=True)), "zero_arms": list(self.zero_arms)}


def srm_test(counts: Mapping[str, float], weights: Mapping[str, float], alpha: float = 0.001) -> SRMResult:
    """χ² goodness-of-fit test of observed arm counts against design weights.

    Parameters
    ----------
    counts : mapping of arm to count
    weights : mapping of arm to weight (normalised here)
    alpha : float, default 0.001

    Examples
    --------
    >>> r = srm_test({"a": 5000, "b": 5200}, {"a": 0.5, "b": 0.5})
    >>> round(r.p_value, 4), r.ok
    (0.0477, True)
    """
    import numpy as np

    arms = tuple(weights)
    obs = np.array([float(counts.get(a, 0)) for a in arms])
    w = np.array([float(weights[a]) for a in arms])
    w = w / w.sum()
    exp = obs.sum() * w
    stat = float(((obs - exp) ** 2 / exp).sum()) if obs.sum() > 0 else math.nan
    dof = len(arms) - 1
    p = _chi2_sf(stat, dof) if obs.sum() > 0 else math.nan
    zero = tuple(a for a, o in zip(arms, obs, strict=True) if o == 0)
    return SRMResult(stat, dof, p, bool(p >= alpha) and not zero, arms, tuple(obs.tolist()), tuple(exp.tolist()),
                     zero, alpha)


# ----------------------------------------------------------------------------------------------- omnibus


@dataclass(frozen=True, slots=True)
class Chi2Result:
    """Pearson χ² test of independence between arm and a binary outcome (no continuity correction).

    Attributes
    ----------
    test : str
        ``"pearson_chi2"``.
    statistic : float
    dof : int
        Arms − 1.
    p_value : float
    """

    test: str
    statistic: float
    dof: int
    p_value: float

    def to_dict(self) -> dict:
        return {"test": self.test, "statistic": self.statistic, "dof": self.dof, "p_value": self.p_value}


def chi2_independence(n: Sequence[float], successes: Sequence[float]) -> Chi2Result:
    """Pearson χ² over a k × 2 table given units and successes per arm.

    Examples
    --------
    >>> round(chi2_independence([100, 100], [14, 20]).p_value, 2)
    0.26
    """
    import numpy as np

    n_ = np.asarray(n, dtype=float)
    k_ = np.asarray(successes, dtype=float)
    table = np.column_stack([k_, n_ - k_])
    total = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        contrib = np.where(expected > 0, (table - expected) ** 2 / expected, 0.0)
    stat = float(contrib.sum())
    dof = len(n_) - 1
    if (table.sum(axis=0) == 0).any():  # no events or no non-events at all: nothing to test
        return Chi2Result("pearson_chi2", 0.0, dof, 1.0)
    return Chi2Result("pearson_chi2", stat, dof, _chi2_sf(stat, dof))


# ----------------------------------------------------------------------------------------------- per arm


@dataclass(frozen=True, slots=True)
class ArmEstimate:
    """Mean of one arm with its confidence interval.

    Attributes
    ----------
    n : int
    mean : float
    se : float
        Standard error of the mean.
    ci : tuple[float, float]
        Wilson score interval for binary metrics, Student t interval for continuous ones.
    """

    n: int
    mean: float
    se: float
    ci: tuple[float, float]

    def to_dict(self) -> dict:
        return {"n": self.n, "mean": self.mean, "se": self.se, "ci": list(self.ci)}


def arm_estimate(s: SuffStats, binary: bool, alpha: float = 0.05) -> ArmEstimate:
    """Mean and interval of one arm.

    Examples
    --------
    >>> e = arm_estimate(SuffStats.from_values([1] * 20 + [0] * 80), binary=True)
    >>> round(e.ci[0], 4), round(e.ci[1], 4)
    (0.1334, 0.2888)
    """
    n = s.n
    if n == 0:
        return ArmEstimate(0, math.nan, math.nan, (math.nan, math.nan))
    m = s.mean
    if binary:
        z = _norm_ppf(1 - alpha / 2)
        denom = 1 + z * z / n
        centre = (m + z * z / (2 * n)) / denom
        half = z * math.sqrt(m * (1 - m) / n + z * z / (4 * n * n)) / denom
        return ArmEstimate(int(n), m, math.sqrt(m * (1 - m) / n), (centre - half, centre + half))
    se = math.sqrt(s.var / n) if n > 1 else math.nan
    q = _t_ppf(1 - alpha / 2, n - 1) if n > 1 else math.nan
    return ArmEstimate(int(n), m, se, (m - q * se, m + q * se))


# ----------------------------------------------------------------------------------------------- comparisons


@dataclass(frozen=True, slots=True)
class Comparison:
    """One arm against control.

    Attributes
    ----------
    arm, control : str
    test : str
        ``"two_proportion_z"`` or ``"welch_t"``.
    diff : float
        Treatment mean − control mean.
    se : float
        Unpooled standard error of ``diff``.
    ci : tuple[float, float]
        Two-sided ``1 − alpha`` interval of ``diff``.
    statistic : float
        z (pooled, for proportions) or Welch t.
    dof : float
        Welch–Satterthwaite degrees of freedom (``inf`` for z tests).
    p_value : float
        Two-sided p-value of ``diff = 0``.
    rel_lift : float
        ``diff / control mean``.
    rel_se : float
        Delta-method standard error of ``rel_lift``.
    rel_ci : tuple[float, float]
    rel_p_value : float
        Two-sided p-value of ``rel_lift = 0`` from the delta-method statistic.
    p_adjusted : float
        p-value after the family's multiplicity correction (equal to ``p_value`` until corrected).
    """

    arm: str
    control: str
    test: str
    diff: float
    se: float
    ci: tuple[float, float]
    statistic: float
    dof: float
    p_value: float
    rel_lift: float
    rel_se: float
    rel_ci: tuple[float, float]
    rel_p_value: float
    p_adjusted: float = math.nan

    def to_dict(self) -> dict:
        return {"arm": self.arm, "control": self.control, "test": self.test, "diff": self.diff, "se": self.se,
                "ci": list(self.ci), "statistic": self.statistic,
                "dof": None if math.isinf(self.dof) else self.dof, "p_value": self.p_value,
                "p_adjusted": self.p_adjusted, "rel_lift": self.rel_lift, "rel_se": self.rel_se,
                "rel_ci": list(self.rel_ci), "rel_p_value": self.rel_p_value}


def _two_sided(stat: float, dof: float) -> float:
    if math.isnan(stat):
        return math.nan
    return 2 * (_norm_sf(abs(stat)) if math.isinf(dof) else _t_sf(abs(stat), dof))


def _quantile(alpha: float, dof: float) -> float:
    return _norm_ppf(1 - alpha / 2) if math.isinf(dof) else _t_ppf(1 - alpha / 2, dof)


def _relative(m_t: float, v_t: float, m_c: float, v_c: float, dof: float, alpha: float) -> tuple[float, ...]:
    """Relative lift, its delta-method SE, interval and p-value (v = variance of each mean)."""
    if m_c == 0:
        return (math.nan, math.nan, math.nan, math.nan, math.nan)
    rel = (m_t - m_c) / m_c
    se = math.sqrt(v_t / m_c**2 + m_t**2 * v_c / m_c**4)
    q = _quantile(alpha, dof)
    p = _two_sided(rel / se, dof) if se > 0 else math.nan
    return (rel, se, rel - q * se, rel + q * se, p)


def _welch_dof(v_t: float, n_t: float, v_c: float, n_c: float) -> float:
    a, b = v_t / n_t, v_c / n_c
    denom = a * a / (n_t - 1) + b * b / (n_c - 1)
    return (a + b) ** 2 / denom if denom > 0 else math.inf


def compare_proportions(treat: SuffStats, control: SuffStats, *, arm: str = "treatment",
                        control_name: str = "control", alpha: float = 0.05) -> Comparison:
    """Difference in proportions: unpooled Wald interval, pooled z-test p-value, relative lift by delta method.

    Examples
    --------
    Fixture from the foundation issue (42/104 control vs 500/1009 treatment):

    >>> c = compare_proportions(SuffStats(1009, 500, 500), SuffStats(104, 42, 42))
    >>> round(c.diff, 6), tuple(round(v, 5) for v in c.ci), round(c.p_value, 6)
    (0.091694, (-0.00753, 0.19091), 0.074866)
    """
    p_t, p_c = treat.mean, control.mean
    v_t, v_c = p_t * (1 - p_t) / treat.n, p_c * (1 - p_c) / control.n
    diff = p_t - p_c
    se = math.sqrt(v_t + v_c)
    q = _quantile(alpha, math.inf)
    pooled = (treat.sum + control.sum) / (treat.n + control.n)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / treat.n + 1 / control.n))
    z = diff / se0 if se0 > 0 else math.nan
    rel = _relative(p_t, v_t, p_c, v_c, math.inf, alpha)
    return Comparison(arm, control_name, "two_proportion_z", diff, se, (diff - q * se, diff + q * se), z, math.inf,
                      _two_sided(z, math.inf) if se0 > 0 else 1.0, rel[0], rel[1], (rel[2], rel[3]), rel[4])


def compare_means(treat: SuffStats, control: SuffStats, *, arm: str = "treatment", control_name: str = "control",
                  alpha: float = 0.05) -> Comparison:
    """Welch's t for a continuous metric, with the relative lift by delta method on the same degrees of freedom.

    Examples
    --------
    Fixture from the foundation issue:

    >>> c = compare_means(SuffStats(3461, 2422.7, 134698.29), SuffStats(3407, 1396.87, 52377.9767))
    >>> tuple(round(v, 5) for v in c.ci), round(c.p_value, 5), round(c.rel_lift, 5)
    ((0.04538, 0.53462), 0.02016, 0.70732)
    """
    m_t, m_c = treat.mean, control.mean
    v_t, v_c = treat.var / treat.n, control.var / control.n
    return _welch(m_t, v_t, treat.var, treat.n, m_c, v_c, control.var, control.n, arm, control_name, alpha)


def _welch(m_t: float, v_t: float, var_t: float, n_t: float, m_c: float, v_c: float, var_c: float, n_c: float,
           arm: str, control_name: str, alpha: float) -> Comparison:
    diff = m_t - m_c
    se = math.sqrt(v_t + v_c)
    dof = _welch_dof(var_t, n_t, var_c, n_c)
    q = _quantile(alpha, dof)
    t = diff / se if se > 0 else math.nan
    rel = _relative(m_t, v_t, m_c, v_c, dof, alpha)
    return Comparison(arm, control_name, "welch_t", diff, se, (diff - q * se, diff + q * se), t, dof,
                      _two_sided(t, dof), rel[0], rel[1], (rel[2], rel[3]), rel[4])


def compare(treat: SuffStats, control: SuffStats, *, binary: bool, arm: str = "treatment",
            control_name: str = "control", alpha: float = 0.05) -> Comparison:
    """:func:`compare_proportions` for binary metrics, :func:`compare_means` otherwise."""
    fn = compare_proportions if binary else compare_means
    return fn(treat, control, arm=arm, control_name=control_name, alpha=alpha)


# ----------------------------------------------------------------------------------------------- multiplicity


def adjust_pvalues(p_values: Sequence[float], method: Correction = "holm") -> np.ndarray:
    """Family-wise (Holm, Bonferroni) or false-discovery-rate (Benjamini–Hochberg) adjusted p-values.

    Equal to ``statsmodels.stats.multitest.multipletests(p, method={"holm", "bonferroni", "fdr_bh"})``; NaNs are
    left out of the family and stay NaN.

    Examples
    --------
    >>> adjust_pvalues([0.005, 0.01, 0.03, 0.04, 0.55, 0.6], "holm").round(4).tolist()
    [0.03, 0.05, 0.12, 0.12, 1.0, 1.0]
    """
    import numpy as np

    check_literal(method, Correction, "analysis.correction")
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    if method == "none":
        adj = q.copy()
    elif method == "bonferroni":
        adj = np.minimum(q * m, 1.0)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        stepped = np.maximum.accumulate(q[order] * (m - np.arange(m)))
        adj = np.empty(m)
        adj[order] = np.minimum(stepped, 1.0)
    else:  # bh
        order = np.argsort(q, kind="stable")[::-1]
        stepped = np.minimum.accumulate(q[order] * m / (m - np.arange(m)))
        adj = np.empty(m)
        adj[order] = np.minimum(stepped, 1.0)
    out[ok] = adj
    return out


# ----------------------------------------------------------------------------------------------- guardrails


@dataclass(frozen=True, slots=True)
class NonInferiorityResult:
    """One-sided non-inferiority test of a guardrail against its margin.

    H0: the change is worse than the margin; rejecting it (``passed``) shows the guardrail held.

    Attributes
    ----------
    arm : str
    margin : float
        Worst acceptable change (absolute, or relative to control when ``relative``), signed in the direction
        of harm: negative for ``increase`` metrics, positive for ``decrease`` metrics.
    relative : bool
    estimate : float
        The absolute difference or relative lift compared with the margin.
    bound : float
        One-sided ``1 − alpha`` confidence bound on the harmful side.
    statistic : float
    p_value : float
        One-sided p-value of H0.
    passed : bool
    """

    arm: str
    margin: float
    relative: bool
    estimate: float
    bound: float
    statistic: float
    p_value: float
    passed: bool

    def to_dict(self) -> dict:
        return {"arm": self.arm, "margin": self.margin, "relative": self.relative, "estimate": self.estimate,
                "bound": self.bound, "statistic": self.statistic, "p_value": self.p_value, "passed": self.passed}


def non_inferiority(comp: Comparison, *, margin: float, relative: bool, direction: Direction,
                    alpha: float = 0.05) -> NonInferiorityResult:
    """Test that ``comp`` is no worse than ``margin`` in the metric's good ``direction``.

    Examples
    --------
    >>> c = compare_means(SuffStats(3461, 2422.7, 134698.29), SuffStats(3407, 1396.87, 52377.9767))
    >>> non_inferiority(c, margin=-0.1, relative=False, direction="increase").passed
    True
    """
    if direction == "increase" and margin > 0 or direction == "decrease" and margin < 0:
        raise DesignError(
            f"non_inferiority.margin {margin} points the wrong way for a metric whose direction is {direction!r}: "
            f"use a {'negative' if direction == 'increase' else 'positive'} margin (the worst acceptable change)"
        )
    est, se = (comp.rel_lift, comp.rel_se) if relative else (comp.diff, comp.se)
    sign = 1.0 if direction == "increase" else -1.0
    stat = sign * (est - margin) / se if se > 0 else math.nan
    if math.isinf(comp.dof):
        p, q = _norm_sf(stat), _norm_ppf(1 - alpha)
    else:
        p, q = _t_sf(stat, comp.dof), _t_ppf(1 - alpha, comp.dof)
    bound = est - sign * q * se
    return NonInferiorityResult(comp.arm, margin, relative, est, bound, stat, p, bool(p < alpha))


# ----------------------------------------------------------------------------------------------- CUPED


@dataclass(frozen=True, slots=True)
class CupedResult:
    """CUPED-adjusted comparison (Deng et al. 2013) with θ pooled over all arms.

    The adjusted outcome is ``y − θ (x − x̄)`` with ``θ = cov(x, y) / var(x)`` over the pooled sample and ``x̄``
    the pooled covariate mean; θ is treated as known (its estimation error is O(1/n)).

    Attributes
    ----------
    theta : float
    variance_reduction : float
        ``1 − Σ var_adj / Σ var`` over arms: the share of outcome variance the covariate removed.
    adjusted_means : dict[str, float]
    comparisons : list[Comparison]
        Welch comparisons of the adjusted means against control.
    """

    theta: float
    variance_reduction: float
    adjusted_means: dict[str, float]
    comparisons: list[Comparison] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"theta": self.theta, "variance_reduction": self.variance_reduction,
                "adjusted_means": dict(self.adjusted_means), "comparisons": [c.to_dict() for c in self.comparisons]}


def cuped(stats: Mapping[str, SuffStats], control: str, alpha: float = 0.05) -> CupedResult:
    """CUPED-adjusted Welch comparisons of every arm against ``control``.

    Equal, to floating-point noise, to Welch's t-test on the row-level adjusted outcome ``y − θ (x − x̄)``.

    Examples
    --------
    >>> s = {"c": SuffStats.from_values([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0]),
    ...      "t": SuffStats.from_values([2.0, 3.0, 5.0, 5.0], [1.0, 2.0, 4.0, 4.0])}
    >>> r = cuped(s, "c")
    >>> round(r.theta, 4), r.variance_reduction > 0.5
    (0.8548, True)
    """
    pooled = SuffStats(0, 0, 0)
    for s in stats.values():
        pooled = pooled + s
    x_var = pooled.x_var
    theta = pooled.xy_cov / x_var if x_var and x_var > 0 else 0.0
    x_bar = pooled.x_mean
    adj_mean: dict[str, float] = {}
    adj_var: dict[str, float] = {}
    raw_var = 0.0
    new_var = 0.0
    for arm, s in stats.items():
        adj_mean[arm] = s.mean - theta * (s.x_mean - x_bar)
        v = s.var + theta * theta * s.x_var - 2 * theta * s.xy_cov
        adj_var[arm] = max(v, 0.0)
        raw_var += s.var
        new_var += adj_var[arm]
    comps = []
    c = stats[control]
    for arm, s in stats.items():
        if arm == control:
            continue
        comps.append(_welch(adj_mean[arm], adj_var[arm] / s.n, adj_var[arm], s.n, adj_mean[control],
                            adj_var[control] / c.n, adj_var[control], c.n, arm, control, alpha))
    reduction = 1 - new_var / raw_var if raw_var > 0 else 0.0
    return CupedResult(theta, reduction, adj_mean, comps)

"""Power and sample size for retention experiments: binary and continuous metrics, k arms against one control.

Every formula here is a normal approximation written for one comparison ``treatment − control`` whose arms hold the
shares ``s_c`` and ``s_t`` of an experiment of total size ``N``. With ``z_a`` the critical value (``1 − α'/2``
two-sided, ``1 − α'`` one-sided) and ``z_b = Φ⁻¹(power)``, the smallest real total reaching the power is

    N* = ((z_a · a0 + z_b · a1) / effect)²

where ``a0`` and ``a1`` are the standard deviations (scaled by √N) of the estimate under the null and under the
alternative:

``evan_miller`` (default, binary)
    ``a0² = p0 q0 (1/s_c + 1/s_t)`` (null variance from the baseline), ``a1² = p0 q0 / s_c + p1 q1 / s_t``
    (alternative variance from the treated rate); ``effect = p1 − p0``. This is Evan Miller's calculator.
``pooled`` (binary)
    ``a0² = p̄ q̄ (1/s_c + 1/s_t)`` with ``p̄`` the share-weighted mean of p0 and p1 (the pooled z-test, Fleiss
    without continuity correction; what G*Power computes); ``a1`` as above.
``cohen_h`` (binary)
    ``effect = h = 2 asin √p1 − 2 asin √p0`` and ``a0 = a1 = √(1/s_c + 1/s_t)`` (arcsine transform, as
    ``statsmodels.stats.power.NormalIndPower`` with ``proportion_effectsize``).
continuous metrics
    ``effect = μ1 − μ0`` and ``a0 = a1 = σ √(1/s_c + 1/s_t)`` with a common standard deviation σ.

The power of one comparison at total ``N`` is ``Φ((|effect| √N − z_a a0) / a1)``; the rejection probability in the
opposite tail of a two-sided test is ignored (``Φ(−2 z_a − z_b)``: 1e-6 at α 0.05 and power 0.8, at most 5e-5 for
power ≥ 0.5).

Multiple comparisons. With ``m`` treatments compared with the control and a correction of ``holm``, ``bonferroni``
or ``bh``, every comparison is sized at ``α' = α / m`` (Bonferroni). Holm's first step and Benjamini–Hochberg when a
single arm has an effect test at exactly ``α / m`` and later steps at larger levels, so the stated power is a lower
bound for each comparison under all three; with ``none`` each comparison is sized at ``α``. The required total is the
largest over the comparisons.

Rounding. Each arm gets ``n_a = ⌈s_a · N*⌉`` units (rounded up, so that every comparison reaches at least the target
power); the total is ``Σ n_a``. Evan Miller's calculator displays the nearest integer instead, which is why it shows
1,030 for the 20% → 25% example where the exact value is 1,030.2 and this module gives 1,031.

Allocation. For ``k`` treatments each compared with one control and a common variance, the total size is smallest
when ``n_c / n_t = √k`` (the √k rule, Dunnett 1955), i.e. a control share of ``√k / (k + √k)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize
from scipy import stats as sps

from experiments.errors import DesignError
from experiments.spec.literals import Correction, Direction, MetricKind, PowerMethod, check_literal

if TYPE_CHECKING:
    import pandas as pd

ROUNDING_RULE = "each arm rounded up: n_a = ceil(share_a * N*), N* the smallest real total reaching the power"
_CORRECTED: tuple[str, ...] = ("holm", "bonferroni", "bh")


# ----------------------------------------------------------------------------------------------- allocation


def optimal_control_share(k: int) -> float:
    """Control share minimising the total size for ``k`` treatments each compared with one control (√k rule).

    Examples
    --------
    >>> optimal_control_share(1)
    0.5
    >>> round(optimal_control_share(4), 4)
    0.3333
    """
    if k < 1:
        raise DesignError(f"optimal allocation needs at least one treatment arm; found k={k}")
    r = math.sqrt(k)
    return r / (k + r)


def equal_allocation(arms: int | Sequence[str], control: str | None = None) -> dict[str, float]:
    """Equal shares over ``arms`` (an integer ``k`` gives ``control, treatment_1, ..., treatment_{k-1}``).

    Examples
    --------
    >>> equal_allocation(3)
    {'control': 0.3333333333333333, 'treatment_1': 0.3333333333333333, 'treatment_2': 0.3333333333333333}
    """
    names = _arm_names(arms, control)
    return {a: 1.0 / len(names) for a in names}


def optimal_allocation(arms: int | Sequence[str], control: str | None = None) -> dict[str, float]:
    """Shares following the √k rule: the control gets ``√k / (k + √k)``, treatments split the rest equally.

    Examples
    --------
    >>> {a: round(s, 4) for a, s in optimal_allocation(4).items()}
    {'control': 0.366, 'treatment_1': 0.2113, 'treatment_2': 0.2113, 'treatment_3': 0.2113}
    """
    names = _arm_names(arms, control)
    ctrl = control if control is not None else names[0]
    k = len(names) - 1
    c = optimal_control_share(k)
    return {a: (c if a == ctrl else (1.0 - c) / k) for a in names}


def _arm_names(arms: int | Sequence[str], control: str | None) -> list[str]:
    if isinstance(arms, int):
        if arms < 2:
            raise DesignError(f"--arms must be at least 2 (a control and one treatment); found {arms}")
        return [control or "control", *(f"treatment_{i}" for i in range(1, arms))]
    names = list(arms)
    if len(names) < 2:
        raise DesignError(f"needs at least two arms; found {names}")
    return names


# ----------------------------------------------------------------------------------------------- core formulas


@dataclass(frozen=True, slots=True)
class _Comparison:
    """Scaled standard deviations and effect of one comparison (see the module docstring)."""

    a0: float
    a1: float
    effect: float


def _comparison(p0: float, p1: float, s_c: float, s_t: float, kind: str, method: str, sd: float | None) -> _Comparison:
    inv = 1.0 / s_c + 1.0 / s_t
    if kind == "continuous":
        if sd is None:
            raise DesignError("power.sd: a continuous metric needs its standard deviation")
        return _Comparison(sd * math.sqrt(inv), sd * math.sqrt(inv), p1 - p0)
    if method == "cohen_h":
        h = 2.0 * math.asin(math.sqrt(p1)) - 2.0 * math.asin(math.sqrt(p0))
        return _Comparison(math.sqrt(inv), math.sqrt(inv), h)
    a1 = math.sqrt(p0 * (1 - p0) / s_c + p1 * (1 - p1) / s_t)
    if method == "pooled":
        pbar = (s_c * p0 + s_t * p1) / (s_c + s_t)
        a0 = math.sqrt(pbar * (1 - pbar) * inv)
    else:  # evan_miller
        a0 = math.sqrt(p0 * (1 - p0) * inv)
    return _Comparison(a0, a1, p1 - p0)


def _z_alpha(alpha: float, sides: int) -> float:
    return float(sps.norm.ppf(1 - alpha / sides))


def _total_needed(c: _Comparison, za: float, zb: float) -> float:
    return ((za * c.a0 + zb * c.a1) / abs(c.effect)) ** 2


def _power(c: _Comparison, za: float, n_total: float) -> float:
    return float(sps.norm.cdf((abs(c.effect) * math.sqrt(n_total) - za * c.a0) / c.a1))


# ----------------------------------------------------------------------------------------------- problem


@dataclass(frozen=True, slots=True)
class PowerProblem:
    """Everything a sizing needs, validated.

    Attributes
    ----------
    kind : {"binary", "continuous"}
        Metric type.
    baseline : float
        Control rate (binary) or mean (continuous).
    mde : float
        Minimum detectable effect, positive; absolute, or relative to ``baseline`` when ``relative``.
    relative : bool
        Whether ``mde`` is a fraction of the baseline (0.2 means ×1.2).
    direction : {"increase", "decrease"}
        Whether the treatment is expected to raise or lower the metric.
    sd : float or None
        Common standard deviation of a continuous metric.
    alpha : float
        Family-wise error rate of the design.
    power : float
        Target power of each comparison.
    sides : {1, 2}
        One- or two-sided test.
    method : {"evan_miller", "pooled", "cohen_h"}
        Variance formula for binary metrics (ignored for continuous ones, which use ``"normal"``).
    allocation : dict[str, float]
        Share of each arm, summing to 1.
    control : str
        Control arm.
    correction : {"holm", "bonferroni", "bh", "none"}
        Multiple-comparison correction of the design's analysis.
    """

    kind: MetricKind
    baseline: float
    mde: float
    relative: bool
    direction: Direction
    sd: float | None
    alpha: float
    power: float
    sides: int
    method: PowerMethod
    allocation: dict[str, float]
    control: str
    correction: Correction

    @property
    def treatments(self) -> list[str]:
        """Arms other than the control."""
        return [a for a in self.allocation if a != self.control]

    @property
    def alpha_per_comparison(self) -> float:
        """α / m under holm, bonferroni and bh (m treatments), α under ``none``."""
        m = len(self.treatments)
        return self.alpha / m if self.correction in _CORRECTED else self.alpha

    @property
    def delta(self) -> float:
        """Signed absolute effect."""
        d = self.mde * abs(self.baseline) if self.relative else self.mde
        return d if self.direction == "increase" else -d

    @property
    def treated(self) -> float:
        """Treated rate or mean under the alternative."""
        return self.baseline + self.delta

    @property
    def method_label(self) -> str:
        """Formula used: the binary method, or ``"normal"`` for continuous metrics."""
        return self.method if self.kind == "binary" else "normal"

    def comparisons(self, delta: float | None = None) -> dict[str, _Comparison]:
        """The comparison of each treatment with the control at effect ``delta`` (default: the MDE)."""
        d = self.delta if delta is None else delta
        s_c = self.allocation[self.control]
        return {t: _comparison(self.baseline, self.baseline + d, s_c, self.allocation[t], self.kind, self.method,
                               self.sd) for t in self.treatments}

    @property
    def z_alpha(self) -> float:
        return _z_alpha(self.alpha_per_comparison, self.sides)


def make_problem(
    baseline: float,
    mde: float,
    *,
    kind: MetricKind = "binary",
    relative: bool = False,
    direction: Direction = "increase",
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    sides: int = 2,
    method: PowerMethod = "evan_miller",
    allocation: Mapping[str, float] | int = 2,
    control: str | None = None,
    correction: Correction = "none",
) -> PowerProblem:
    """Validate sizing inputs into a :class:`PowerProblem` (see :func:`sample_size` for the parameters).

    Examples
    --------
    >>> p = make_problem(0.40, 0.2, relative=True, allocation=3, correction="holm")
    >>> round(p.treated, 2), p.alpha_per_comparison
    (0.48, 0.025)
    """
    check_literal(kind, MetricKind, "power.kind")
    check_literal(method, PowerMethod, "power.method")
    check_literal(direction, Direction, "power.direction")
    check_literal(correction, Correction, "analysis.correction")
    if sides not in (1, 2):
        raise DesignError(f"power.sides: {sides!r} is not allowed; use 1 or 2")
    if not 0 < alpha < 0.5:
        raise DesignError(f"alpha: {alpha!r} is outside (0, 0.5); use e.g. 0.05")
    if not 0 < power < 1:
        raise DesignError(f"power.power: {power!r} is outside (0, 1); use e.g. 0.8")
    if not (isinstance(mde, (int, float)) and math.isfinite(mde) and mde > 0):
        raise DesignError(f"power.mde (--mde): {mde!r} must be a finite positive number, e.g. 0.02; give its sign "
                          "with the metric's direction")
    if isinstance(allocation, int):
        alloc = equal_allocation(allocation, control)
    else:
        alloc = {str(k): float(v) for k, v in allocation.items()}
    if len(alloc) < 2:
        raise DesignError(f"allocation needs at least two arms; found {list(alloc)}")
    if any(not (v > 0) for v in alloc.values()):
        raise DesignError(f"allocation: every share must be positive; found {alloc}")
    total = sum(alloc.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise DesignError(f"allocation shares sum to {total:.6g}, not 1 ({alloc}); rescale them so that they sum to 1")
    ctrl = control if control is not None else next(iter(alloc))
    if ctrl not in alloc:
        raise DesignError(f"control {ctrl!r} is not one of the arms {list(alloc)}")
    if kind == "binary":
        if not 0 < baseline < 1:
            raise DesignError(f"power.baseline (--baseline): {baseline!r} is not a rate in (0, 1) for a binary "
                              "metric; give the control arm's expected rate, e.g. 0.16")
        if relative and mde >= 1 and direction == "decrease":
            raise DesignError(f"power.mde: a relative decrease of {mde!r} would take the rate to or below 0")
    elif sd is None or not sd > 0:
        raise DesignError(f"power.sd: a continuous metric needs its standard deviation (found {sd!r}); "
                          "add sd: <standard deviation of the metric in the control group>")
    prob = PowerProblem(kind, float(baseline), float(mde), bool(relative), direction, sd, float(alpha), float(power),
                        int(sides), method, alloc, ctrl, correction)
    if kind == "binary" and not 0 < prob.treated < 1:
        raise DesignError(f"power.mde: baseline {baseline} with an effect of {prob.delta:+g} gives a treated rate of "
                          f"{prob.treated:g}, outside (0, 1); use a smaller mde")
    return prob


# ----------------------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class SampleSizeResult:
    """Required sample size of a design.

    Attributes
    ----------
    problem : PowerProblem
        The validated inputs.
    n_by_arm : dict[str, int]
        Units per arm, rounded up (see ``rounding``).
    total : int
        Sum of ``n_by_arm``.
    n_exact : float
        Smallest real total ``N*`` reaching the power for every comparison.
    alpha_per_comparison : float
        Level each comparison is sized at (α/m under holm, bonferroni, bh).
    power_by_arm : dict[str, float]
        Power of each treatment's comparison at ``n_by_arm``.
    rounding : str
        The rounding rule.
    daily_inflow : float or None
        Eligible subscribers entering per day, if given.
    days : int or None
        ``ceil(total / daily_inflow)``.
    population : int or None
        Eligible population, if known.
    mde_at_population : float or None
        Smallest absolute effect detectable with the whole eligible population (NaN if none is).
    """

    problem: PowerProblem
    n_by_arm: dict[str, int]
    total: int
    n_exact: float
    alpha_per_comparison: float
    power_by_arm: dict[str, float]
    rounding: str = ROUNDING_RULE
    daily_inflow: float | None = None
    days: int | None = None
    population: int | None = None
    mde_at_population: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_per_arm(self) -> int:
        """Units per arm with equal allocation; with unequal allocation, the largest arm's size."""
        return max(self.n_by_arm.values())

    @property
    def method(self) -> str:
        return self.problem.method_label

    def summary(self) -> pd.DataFrame:
        """One row per arm: share, units, role, and the power of its comparison with the control."""
        import pandas as pd

        p = self.problem
        rows = [{"arm": a, "role": "control" if a == p.control else "treatment", "share": s,
                 "n": self.n_by_arm[a], "power": self.power_by_arm.get(a, math.nan)}
                for a, s in p.allocation.items()]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dictionary (``n_per_arm``, ``total``, ``allocation``, ``method`` and everything else)."""
        p = self.problem
        return {
            "n_per_arm": int(self.n_per_arm), "total": int(self.total), "allocation": dict(p.allocation),
            "method": self.method, "n_by_arm": {k: int(v) for k, v in self.n_by_arm.items()},
            "n_exact": self.n_exact, "rounding": self.rounding, "kind": p.kind, "baseline": p.baseline,
            "mde": p.mde, "relative": p.relative, "direction": p.direction, "delta": p.delta, "treated": p.treated,
            "sd": p.sd, "alpha": p.alpha, "alpha_per_comparison": self.alpha_per_comparison,
            "correction": p.correction, "comparisons": len(p.treatments), "power": p.power, "sides": p.sides,
            "control": p.control, "power_by_arm": dict(self.power_by_arm), "daily_inflow": self.daily_inflow,
            "days": self.days, "population": self.population, "mde_at_population": self.mde_at_population,
        }

    def _repr_html_(self) -> str:
        return self.summary().to_html(index=False)

    def plot(self, ax: Any = None, points: int = 60) -> Any:
        """Power curve (Plotly figure): power of the weakest comparison against the total size."""
        return power_curve(self.problem, n_max=2 * self.total, points=points, mark=self.total)


def sample_size(
    baseline: float,
    mde: float,
    *,
    kind: MetricKind = "binary",
    relative: bool = False,
    direction: Direction = "increase",
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    sides: int = 2,
    method: PowerMethod = "evan_miller",
    allocation: Mapping[str, float] | int = 2,
    control: str | None = None,
    correction: Correction = "none",
    daily_inflow: float | None = None,
    population: int | None = None,
) -> SampleSizeResult:
    """Units per arm needed to detect ``mde`` with the given power.

    Parameters
    ----------
    baseline : float
        Control rate (binary metric) or mean (continuous).
    mde : float
        Minimum detectable effect (positive); absolute, or a fraction of ``baseline`` if ``relative``.
    kind : {"binary", "continuous"}
    relative : bool
    direction : {"increase", "decrease"}
        Direction of the effect (matters for binary metrics, whose variance depends on the rate).
    sd : float, optional
        Standard deviation of a continuous metric.
    alpha : float
        Family-wise significance level; split as α/m over m comparisons under holm, bonferroni, bh.
    power : float
        Target power of each comparison.
    sides : {1, 2}
    method : {"evan_miller", "pooled", "cohen_h"}
        Variance formula for binary metrics (module docstring).
    allocation : int or mapping of arm to share
        Number of equal arms, or each arm's share (summing to 1); see :func:`optimal_allocation`.
    control : str, optional
        Control arm (default: the first arm).
    correction : {"holm", "bonferroni", "bh", "none"}
    daily_inflow : float, optional
        Eligible subscribers per day; gives the runtime in days.
    population : int, optional
        Eligible population; gives the MDE reachable with all of it.

    Returns
    -------
    SampleSizeResult

    Examples
    --------
    >>> r = sample_size(0.20, 0.05)
    >>> r.n_per_arm, round(r.n_exact / 2, 1)
    (1031, 1030.2)
    >>> sample_size(0.20, 0.05, method="pooled").n_per_arm
    1094
    """
    prob = make_problem(baseline, mde, kind=kind, relative=relative, direction=direction, sd=sd, alpha=alpha,
                        power=power, sides=sides, method=method, allocation=allocation, control=control,
                        correction=correction)
    return solve_sample_size(prob, daily_inflow=daily_inflow, population=population)


def solve_sample_size(prob: PowerProblem, *, daily_inflow: float | None = None,
                      population: int | None = None) -> SampleSizeResult:
    """Sample size of a validated :class:`PowerProblem`.

    Examples
    --------
    >>> solve_sample_size(make_problem(0.20, 0.05, method="cohen_h"), daily_inflow=200).days
    11
    """
    za, zb = prob.z_alpha, float(sps.norm.ppf(prob.power))
    comps = prob.comparisons()
    n_exact = max(_total_needed(c, za, zb) for c in comps.values())
    # ceil of share × N*, guarded against float noise just above an integer (e.g. 1092.0000000001)
    n_by_arm = {a: int(math.ceil(s * n_exact - 1e-9)) for a, s in prob.allocation.items()}
    n_all = sum(n_by_arm.values())
    pw = {}  # power at the rounded sizes, with the realised shares
    for t in comps:
        cr = _comparison(prob.baseline, prob.treated, n_by_arm[prob.control] / n_all, n_by_arm[t] / n_all, prob.kind,
                         prob.method, prob.sd)
        pw[t] = _power(cr, za, n_all)
    total = int(sum(n_by_arm.values()))
    days = int(math.ceil(total / daily_inflow)) if daily_inflow else None
    mde_pop = mde_at(prob, population) if population else None
    return SampleSizeResult(prob, n_by_arm, total, float(n_exact), prob.alpha_per_comparison, pw,
                            daily_inflow=daily_inflow, days=days, population=population, mde_at_population=mde_pop)


def power_at(prob: PowerProblem, n_total: float, delta: float | None = None) -> dict[str, float]:
    """Power of each treatment's comparison with ``n_total`` units split by the allocation.

    Examples
    --------
    >>> p = make_problem(0.20, 0.05, method="pooled")
    >>> round(power_at(p, 2 * 1094)["treatment_1"], 4)
    0.8001
    """
    if not n_total > 0:
        raise DesignError(f"size: {n_total!r} must be positive")
    za = prob.z_alpha
    return {t: _power(c, za, n_total) for t, c in prob.comparisons(delta).items()}


def mde_at(prob: PowerProblem, n_total: float) -> float:
    """Smallest absolute effect (in the problem's direction) reaching the power for every comparison at ``n_total``.

    Returns NaN when no effect that keeps the treated rate inside (0, 1) is detectable.

    Examples
    --------
    >>> p = make_problem(0.20, 0.05)
    >>> round(mde_at(p, 2 * 1030.2192831), 4)
    0.05
    """
    if not n_total > 0:
        raise DesignError(f"population: {n_total!r} must be positive")
    sign = 1.0 if prob.direction == "increase" else -1.0

    def gap(d: float) -> float:
        return min(power_at(prob, n_total, sign * d).values()) - prob.power

    lo = 1e-12
    if gap(lo) >= 0:  # a population so large that any effect above the solver's resolution is detectable
        return lo
    if prob.kind == "continuous":
        hi = 1.0
        while gap(hi) < 0:
            hi *= 2
        return float(optimize.brentq(gap, lo, hi, xtol=1e-12))
    hi = (1 - prob.baseline if sign > 0 else prob.baseline) - 1e-12
    if gap(hi) < 0:
        return math.nan
    return float(optimize.brentq(gap, lo, hi, xtol=1e-12))


def power_curve(prob: PowerProblem, *, n_max: float, points: int = 60, mark: float | None = None) -> Any:
    """Plotly figure of the power of each comparison against the total size, up to ``n_max``.

    Examples
    --------
    >>> fig = power_curve(make_problem(0.20, 0.05), n_max=4000, points=5)
    >>> len(fig.data), round(float(fig.data[0].y[-1]), 3)
    (1, 0.972)
    """
    import plotly.graph_objects as go

    ns = np.linspace(max(n_max / points, 2.0), n_max, points)
    fig = go.Figure()
    for t in prob.treatments:
        fig.add_trace(go.Scatter(x=ns, y=[power_at(prob, n)[t] for n in ns], mode="lines", name=f"{t} vs "
                                 f"{prob.control}"))
    fig.add_hline(y=prob.power, line_dash="dash", annotation_text=f"target {prob.power:.0%}")
    if mark is not None:
        fig.add_vline(x=mark, line_dash="dot", annotation_text=f"N = {int(mark):,}")
    fig.update_layout(xaxis_title="total units", yaxis_title="power", yaxis_range=[0, 1],
                      title=f"Power curve ({prob.method_label}, alpha per comparison {prob.alpha_per_comparison:.3g})")
    return fig


def from_design(design: Any, *, population: int | None = None,
                overrides: Mapping[str, Any] | None = None) -> SampleSizeResult:
    """Size the design's primary metric from its ``power`` section, arms, weights, alpha and correction.

    ``overrides`` replaces keys of the ``power`` section (CLI flags); they never hide: the output restates them.

    Examples
    --------
    >>> from experiments.spec.models import parse_design
    >>> d = parse_design({"name": "x", "data": {"source": "o.parquet"}, "control": "c",
    ...                   "arms": {"c": {"weight": 0.5}, "t": {"weight": 0.5}},
    ...                   "metrics": [{"name": "churn", "column": "y", "kind": "binary", "direction": "decrease"}],
    ...                   "power": {"baseline": 0.2, "mde": 0.05, "method": "pooled"}})
    >>> r = from_design(d)
    >>> r.n_per_arm, round(r.problem.treated, 2)
    (906, 0.15)
    """
    spec = design.power
    values: dict[str, Any] = spec.model_dump() if spec is not None else {}
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    missing = [k for k in ("baseline", "mde") if values.get(k) is None]
    if missing:
        raise DesignError(f"{design.path or 'design'}: power.{missing[0]} is missing; add a power section with "
                          "baseline and mde (see docs/design-and-assignment.md) or pass --baseline and --mde")
    primary = next(m for m in design.metrics if m.role == "primary")
    return sample_size(
        values["baseline"], values["mde"], kind=primary.kind, relative=values.get("relative", False),
        direction=primary.direction, sd=values.get("sd"), alpha=design.analysis.alpha,
        power=values.get("power", 0.8), sides=values.get("sides", 2), method=values.get("method", "evan_miller"),
        allocation={a: s.weight for a, s in design.arms.items()}, control=design.control,
        correction=design.analysis.correction, daily_inflow=values.get("daily_inflow"), population=population,
    )


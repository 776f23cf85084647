"""Power and sample size: published reference values, an independent implementation (statsmodels), seeded
simulations with a known truth, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from experiments.errors import DesignError
from experiments.planning.power import (
    make_problem,
    mde_at,
    optimal_allocation,
    optimal_control_share,
    power_at,
    sample_size,
)

RTOL_SAME_FORMULA = 1e-9  # same closed form, float noise only
RTOL_STATSMODELS_N = 1e-5  # statsmodels' solve_power finds n by a numerical root search (relative error ~1e-6)
ATOL_STATSMODELS_POWER = 1e-10  # same formula once the opposite tail statsmodels adds is added back


def _opposite_tail(alpha, power, sides):
    """Rejection probability in the wrong tail of a two-sided test at the solved size (we ignore it, statsmodels
    counts it): Φ(−2 z_a − z_b), about 1e-6 at alpha 0.05 and power 0.8."""
    if sides == 1:
        return 0.0
    z_a, z_b = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
    return sps.norm.cdf(-2 * z_a - z_b)
GPOWER_TOL = 0.005  # the issue states G*Power's total as "≈ 897,348 (±0.5%)"


# ----------------------------------------------------------------------------------------------- published values


def test_evan_miller_20_to_25():
    """Evan Miller's calculator (https://www.evanmiller.org/ab-testing/sample-size.html), baseline 20%, MDE 5 points
    absolute, alpha 0.05 two-sided, power 0.8, displays 1,030 per arm. Its formula (null SD sqrt(2 p q) from the
    baseline, alternative SD sqrt(p0 q0 + p1 q1)) gives 1,030.22; the calculator shows the nearest integer, we round
    up (stated in ``rounding``) and so give 1,031."""
    r = sample_size(0.20, 0.05, alpha=0.05, power=0.80, sides=2)
    assert round(r.n_exact / 2) == 1030
    assert r.n_per_arm == 1031 == math.ceil(r.n_exact / 2)
    assert r.total == 2062
    assert "rounded up" in r.rounding
    assert r.method == "evan_miller"


def test_pooled_20_to_25():
    """Pooled-variance two-proportion z-test (Fleiss, Levin & Paik 2003, eq. 4.14 without continuity correction),
    20% → 25%, alpha 0.05 two-sided, power 0.8: 1,094 per arm (exact 1,093.74)."""
    r = sample_size(0.20, 0.05, method="pooled")
    assert r.n_per_arm == 1094


def test_cohen_h_20_to_25():
    """Cohen's h (Cohen 1988, ch. 6; arcsine as statsmodels' proportion_effectsize), 20% → 25%: 1,092 per arm."""
    r = sample_size(0.20, 0.05, method="cohen_h")
    assert r.n_per_arm == 1092


def test_cohen_h_relative_40_times_1_2():
    """Retention 0.40, relative effect ×1.2 (→ 0.48), alpha 0.05 two-sided, power 0.8, Cohen's h as statsmodels
    computes it: 603 per group."""
    r = sample_size(0.40, 0.2, relative=True, method="cohen_h")
    assert r.problem.treated == pytest.approx(0.48, rel=RTOL_SAME_FORMULA)
    assert r.n_per_arm == 603


@pytest.mark.parametrize("method", ["pooled", "evan_miller"])
def test_gpower_binomial_case(method):
    """G*Power 3.1, z tests - Proportions: difference between two independent proportions, p0 0.34, p1 0.343,
    alpha 0.05 two-sided, power 0.85, allocation ratio 1: total ≈ 897,348 (tolerance ±0.5% as the issue states; the
    pooled formula is G*Power's and gives 897,348.8 before rounding, Evan Miller's lies 0.14% below)."""
    r = sample_size(0.34, 0.003, power=0.85, method=method)
    assert r.total == pytest.approx(897_348, rel=GPOWER_TOL)
    if method == "pooled":
        assert r.n_exact == pytest.approx(897_348, abs=1)


# ------------------------------------------------------------------------------------- independent implementation


@pytest.mark.parametrize("p0,p1,ratio,alpha,power,sides", [
    (0.20, 0.25, 1.0, 0.05, 0.8, 2), (0.40, 0.48, 1.0, 0.05, 0.8, 2), (0.30, 0.26, 2.0, 0.01, 0.9, 2),
    (0.10, 0.12, 0.5, 0.05, 0.8, 1),
])
def test_cohen_h_matches_statsmodels(p0, p1, ratio, alpha, power, sides):
    """statsmodels.stats.power.NormalIndPower.solve_power with effect_size=proportion_effectsize(p1, p0) and
    ratio = n_treatment / n_control gives the control arm's size; ours is N* × control share."""
    h = proportion_effectsize(p1, p0)
    n_c = NormalIndPower().solve_power(effect_size=abs(h), alpha=alpha, power=power, ratio=ratio,
                                       alternative="two-sided" if sides == 2 else "larger")
    alloc = {"control": 1 / (1 + ratio), "treatment": ratio / (1 + ratio)}
    direction = "increase" if p1 > p0 else "decrease"
    r = sample_size(p0, abs(p1 - p0), method="cohen_h", allocation=alloc, alpha=alpha, power=power, sides=sides,
                    direction=direction)
    assert r.n_exact * alloc["control"] == pytest.approx(n_c, rel=RTOL_STATSMODELS_N)
    sm_power = NormalIndPower().power(effect_size=abs(h), nobs1=r.n_exact * alloc["control"], alpha=alpha,
                                      ratio=ratio, alternative="two-sided" if sides == 2 else "larger")
    assert sm_power == pytest.approx(power + _opposite_tail(alpha, power, sides), abs=ATOL_STATSMODELS_POWER)


@pytest.mark.parametrize("ratio,sides", [(1.0, 2), (3.0, 2), (1.0, 1)])
def test_continuous_matches_statsmodels(ratio, sides):
    """Continuous metric (ARPU, σ 12, MDE 1.5): NormalIndPower with Cohen's d = δ/σ."""
    alloc = {"control": 1 / (1 + ratio), "treatment": ratio / (1 + ratio)}
    r = sample_size(40.0, 1.5, kind="continuous", sd=12.0, allocation=alloc, sides=sides)
    n_c = NormalIndPower().solve_power(effect_size=1.5 / 12.0, alpha=0.05, power=0.8, ratio=ratio,
                                       alternative="two-sided" if sides == 2 else "larger")
    assert r.n_exact * alloc["control"] == pytest.approx(n_c, rel=RTOL_STATSMODELS_N)
    sm_power = NormalIndPower().power(effect_size=1.5 / 12.0, nobs1=r.n_exact * alloc["control"], alpha=0.05,
                                      ratio=ratio, alternative="two-sided" if sides == 2 else "larger")
    assert sm_power == pytest.approx(0.8 + _opposite_tail(0.05, 0.8, sides), abs=ATOL_STATSMODELS_POWER)
    assert r.method == "normal"


# ----------------------------------------------------------------------------------------------- internal consistency


@pytest.mark.parametrize("method", ["evan_miller", "pooled", "cohen_h"])
def test_power_at_and_mde_at_invert_sample_size(method):
    prob = make_problem(0.2, 0.05, method=method, allocation={"c": 0.4, "a": 0.3, "b": 0.3}, correction="holm")
    r = sample_size(0.2, 0.05, method=method, allocation={"c": 0.4, "a": 0.3, "b": 0.3}, correction="holm")
    assert min(power_at(prob, r.n_exact).values()) == pytest.approx(0.8, rel=RTOL_SAME_FORMULA)
    assert mde_at(prob, r.n_exact) == pytest.approx(0.05, rel=1e-7)
    assert all(p >= 0.8 for p in r.power_by_arm.values())


def test_correction_sizes_at_alpha_over_m():
    """Three treatments under Holm are sized at α/3 each: the same as one comparison at α = 0.05/3."""
    alloc = {"control": 0.25, "a": 0.25, "b": 0.25, "c": 0.25}
    r = sample_size(0.2, 0.05, allocation=alloc, correction="holm")
    single = sample_size(0.2, 0.05, alpha=0.05 / 3)
    assert r.alpha_per_comparison == pytest.approx(0.05 / 3)
    assert r.n_by_arm["control"] == single.n_per_arm
    assert sample_size(0.2, 0.05, allocation=alloc, correction="none").n_per_arm == sample_size(0.2, 0.05).n_per_arm


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_sqrt_k_rule_minimises_total(k):
    """For a continuous metric (common variance) the √k control share gives the smallest total over a fine grid."""
    arms = ["control", *(f"t{i}" for i in range(k))]
    grid = np.linspace(0.05, 0.9, 341)

    def total(c):
        alloc = {a: (c if a == "control" else (1 - c) / k) for a in arms}
        return sample_size(0.0, 1.0, kind="continuous", sd=5.0, allocation=alloc).n_exact

    best = grid[np.argmin([total(c) for c in grid])]
    assert optimal_control_share(k) == pytest.approx(best, abs=grid[1] - grid[0])
    assert total(optimal_control_share(k)) <= min(total(c) for c in grid) * (1 + 1e-12)
    assert optimal_allocation(arms, "control")["control"] == pytest.approx(math.sqrt(k) / (k + math.sqrt(k)))


def test_runtime_days_and_population_mde():
    r = sample_size(0.2, 0.05, daily_inflow=150, population=5000)
    assert r.days == math.ceil(r.total / 150)
    prob = r.problem
    assert min(power_at(prob, 5000, r.mde_at_population).values()) == pytest.approx(0.8, rel=1e-7)
    assert r.mde_at_population < 0.05  # 5,000 > 2,062 needed for 5 points


def test_mde_unreachable_is_nan():
    prob = make_problem(0.5, 0.1)
    assert math.isnan(mde_at(prob, 4))


def test_outputs_shape():
    r = sample_size(0.2, 0.05, allocation=3)
    d = r.to_dict()
    assert isinstance(d["n_per_arm"], int) and isinstance(d["total"], int)
    assert set(d["allocation"]) == {"control", "treatment_1", "treatment_2"}
    assert list(r.summary()["n"]) == [r.n_per_arm] * 3
    fig = r.plot(points=10)
    assert len(fig.data) == 2 and max(fig.data[0].y) <= 1


# ----------------------------------------------------------------------------------------------- simulations


def _simulate_rejections(method, n_c, n_t, p0, p1, alpha, sims, rng):
    """Reject rate of the test the formula describes, on seeded binomial draws."""
    x_c = rng.binomial(n_c, p0, sims)
    x_t = rng.binomial(n_t, p1, sims)
    pc, pt = x_c / n_c, x_t / n_t
    z_a = sps.norm.ppf(1 - alpha / 2)
    if method == "cohen_h":
        stat = (2 * np.arcsin(np.sqrt(pt)) - 2 * np.arcsin(np.sqrt(pc))) / np.sqrt(1 / n_c + 1 / n_t)
    elif method == "pooled":
        pbar = (x_c + x_t) / (n_c + n_t)
        stat = (pt - pc) / np.sqrt(pbar * (1 - pbar) * (1 / n_c + 1 / n_t))
    else:  # evan_miller: null variance from the control rate
        stat = (pt - pc) / np.sqrt(pc * (1 - pc) * (1 / n_c + 1 / n_t))
    return np.abs(stat) > z_a


SIMS = 20_000


@pytest.mark.parametrize("method", ["evan_miller", "pooled", "cohen_h"])
def test_simulated_power_reaches_target(method):
    """20% → 25% at the computed n: the test matching each formula rejects in ≥ 80% of seeded runs, within 3
    simulation standard errors (√(0.8·0.2/20,000) = 0.0028)."""
    r = sample_size(0.20, 0.05, method=method)
    rng = np.random.default_rng(20240603)
    rej = _simulate_rejections(method, r.n_per_arm, r.n_per_arm, 0.20, 0.25, 0.05, SIMS, rng)
    se = math.sqrt(0.8 * 0.2 / SIMS)
    assert rej.mean() >= 0.8 - 3 * se
    assert rej.mean() <= 0.8 + 6 * se  # and not wildly oversized


def test_evan_miller_size_underpowers_the_pooled_test():
    """Known weakness, shown not hidden: at Evan Miller's n (1,031) the usual pooled z-test has ≈ 0.78 power."""
    r = sample_size(0.20, 0.05)
    rng = np.random.default_rng(7)
    rej = _simulate_rejections("pooled", r.n_per_arm, r.n_per_arm, 0.20, 0.25, 0.05, SIMS, rng)
    assert 0.76 < rej.mean() < 0.795


def test_simulated_continuous_power_and_size():
    """Continuous metric, three arms, Holm: at the computed sizes each Welch z-test at α/2 rejects ≥ 80% (power),
    and under the null the family-wise error of Holm stays ≤ 0.05 (3 simulation SE)."""
    alloc = optimal_allocation(["control", "a", "b"], "control")
    r = sample_size(40.0, 2.0, kind="continuous", sd=15.0, allocation=alloc, correction="holm")
    rng = np.random.default_rng(11)
    sims = 4000
    n = r.n_by_arm
    z = sps.norm.ppf(1 - r.alpha_per_comparison / 2)

    def zstats(effect):
        c = rng.normal(40.0, 15.0, (sims, n["control"])).mean(axis=1)
        out = []
        for arm in ("a", "b"):
            t = rng.normal(40.0 + effect, 15.0, (sims, n[arm])).mean(axis=1)
            out.append((t - c) / (15.0 * math.sqrt(1 / n["control"] + 1 / n[arm])))
        return np.abs(np.array(out))

    alt = zstats(2.0)
    se = math.sqrt(0.8 * 0.2 / sims)
    assert (alt[0] > z).mean() >= 0.8 - 3 * se
    null = zstats(0.0)
    fwer = (null.max(axis=0) > z).mean()  # Holm's first step rejects iff the smallest p < α/2
    assert fwer <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / sims)


# ----------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs,needle", [
    ({"baseline": 1.2, "mde": 0.05}, "power.baseline"),
    ({"baseline": 0.2, "mde": -0.05}, "power.mde"),
    ({"baseline": 0.9, "mde": 0.2}, "treated rate"),
    ({"baseline": 0.2, "mde": 0.05, "allocation": {"c": 0.5, "t": 0.6}}, "sum to 1.1"),
    ({"baseline": 10.0, "mde": 1.0, "kind": "continuous"}, "power.sd"),
    ({"baseline": 0.2, "mde": 0.05, "method": "wald"}, "power.method"),
    ({"baseline": 0.2, "mde": 0.05, "sides": 3}, "power.sides"),
])
def test_bad_input_names_the_key(kwargs, needle):
    with pytest.raises(DesignError, match=needle.replace(".", r"\.")):
        sample_size(**kwargs)

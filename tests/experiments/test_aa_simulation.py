"""Seeded simulations with a known truth: false-positive rates, interval coverage and Holm's family-wise error.

Each simulated experiment draws per-arm outcomes (binomial counts for binary metrics, gamma-distributed rows for
continuous ones) and runs the same functions the analysis runs on engine aggregates. 10,000 experiments make the
Monte-Carlo standard error of a 5% rate 0.22 points, so the bands [0.04, 0.06] and [0.94, 0.96] sit at ±4.5 SE.
"""

from __future__ import annotations

import numpy as np
import pytest

from experiments.analysis import stats
from experiments.analysis.stats import SuffStats

N_SIM = 10_000
ALPHA = 0.05
ARMS = ("control", "flow_pack", "contract_discount")


def _binary_experiments(rng: np.random.Generator, p: tuple[float, ...], n: int = 3000):
    k = rng.binomial(n, p, size=(N_SIM, len(p)))
    return [[SuffStats(n, float(x), float(x)) for x in row] for row in k]


@pytest.mark.slow
def test_aa_binary_false_positive_rates_and_holm_fwer():
    rng = np.random.default_rng(20261122)
    sims = _binary_experiments(rng, (0.15, 0.15, 0.15))
    chi2_rej = np.empty(N_SIM, bool)
    pair_rej = np.empty((N_SIM, 2), bool)
    holm_any = np.empty(N_SIM, bool)
    cover = np.empty((N_SIM, 2), bool)
    for i, arms in enumerate(sims):
        chi2_rej[i] = stats.chi2_independence([a.n for a in arms], [a.sum for a in arms]).p_value < ALPHA
        comps = [stats.compare_proportions(t, arms[0], alpha=ALPHA) for t in arms[1:]]
        pair_rej[i] = [c.p_value < ALPHA for c in comps]
        cover[i] = [c.ci[0] <= 0 <= c.ci[1] for c in comps]
        holm_any[i] = (stats.adjust_pvalues([c.p_value for c in comps], "holm") < ALPHA).any()
    print(f"A/A binary: chi2 FPR {chi2_rej.mean():.4f}, pairwise FPR {pair_rej.mean(0)}, "
          f"coverage {cover.mean(0)}, Holm FWER {holm_any.mean():.4f}, unadjusted FWER {pair_rej.any(1).mean():.4f}")
    assert 0.04 <= chi2_rej.mean() <= 0.06
    for j in range(2):
        assert 0.04 <= pair_rej[:, j].mean() <= 0.06
        assert 0.94 <= cover[:, j].mean() <= 0.96
    assert holm_any.mean() <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / N_SIM)
    assert pair_rej.any(1).mean() > 0.07  # without a correction the family-wise error is visibly inflated


@pytest.mark.slow
def test_binary_interval_coverage_with_a_real_effect():
    """A/B with true effects −2 and −3 points: the Wald interval and the relative-lift interval cover the truth."""
    rng = np.random.default_rng(7)
    p = (0.15, 0.13, 0.12)
    sims = _binary_experiments(rng, p, n=4000)
    cover = np.empty((N_SIM, 2), bool)
    rel_cover = np.empty((N_SIM, 2), bool)
    for i, arms in enumerate(sims):
        for j, t in enumerate(arms[1:]):
            c = stats.compare_proportions(t, arms[0])
            cover[i, j] = c.ci[0] <= p[j + 1] - p[0] <= c.ci[1]
            rel_cover[i, j] = c.rel_ci[0] <= (p[j + 1] - p[0]) / p[0] <= c.rel_ci[1]
    print(f"coverage diff {cover.mean(0)}, relative {rel_cover.mean(0)}")
    assert ((cover.mean(0) >= 0.94) & (cover.mean(0) <= 0.96)).all()
    assert ((rel_cover.mean(0) >= 0.94) & (rel_cover.mean(0) <= 0.96)).all()


@pytest.mark.slow
def test_aa_welch_false_positive_rate_and_coverage():
    """Skewed revenue-like outcomes (gamma), unequal arm sizes; Welch keeps its size and coverage."""
    rng = np.random.default_rng(99)
    n_c, n_t = 900, 700
    rej = np.empty(N_SIM, bool)
    cover = np.empty(N_SIM, bool)
    rel_cover = np.empty(N_SIM, bool)
    for i in range(N_SIM):
        yc = rng.gamma(2.0, 50.0, n_c)
        yt = rng.gamma(2.0, 50.0, n_t)
        c = stats.compare_means(SuffStats.from_values(yt), SuffStats.from_values(yc))
        rej[i] = c.p_value < ALPHA
        cover[i] = c.ci[0] <= 0 <= c.ci[1]
        rel_cover[i] = c.rel_ci[0] <= 0 <= c.rel_ci[1]
    print(f"A/A Welch: FPR {rej.mean():.4f}, coverage {cover.mean():.4f}, relative coverage {rel_cover.mean():.4f}")
    assert 0.04 <= rej.mean() <= 0.06
    assert 0.94 <= cover.mean() <= 0.96
    assert 0.94 <= rel_cover.mean() <= 0.96


@pytest.mark.slow
def test_cuped_keeps_size_and_gains_power():
    """CUPED with a correlated pre-period covariate: A/A false-positive rate stays near 5%, power rises."""
    rng = np.random.default_rng(5)
    n = 1000
    rej_aa = np.empty(2000, bool)
    power_raw = np.empty(2000, bool)
    power_cuped = np.empty(2000, bool)
    for i in range(2000):
        arms = {}
        for arm, effect in (("control", 0.0), ("t", 2.0)):
            x = rng.gamma(4.0, 25.0, n)
            y = 0.9 * x + rng.normal(0, 15.0, n) + effect
            arms[arm] = SuffStats.from_values(y, x)
        aa = {"control": arms["control"], "t": SuffStats.from_values(*_aa_rows(rng, n))}
        rej_aa[i] = stats.cuped(aa, "control").comparisons[0].p_value < ALPHA
        power_raw[i] = stats.compare_means(arms["t"], arms["control"]).p_value < ALPHA
        power_cuped[i] = stats.cuped(arms, "control").comparisons[0].p_value < ALPHA
    print(f"CUPED A/A FPR {rej_aa.mean():.4f}; power raw {power_raw.mean():.3f} vs CUPED {power_cuped.mean():.3f}")
    assert 0.035 <= rej_aa.mean() <= 0.065  # 2,000 runs: ±3 SE
    assert power_cuped.mean() > power_raw.mean() + 0.2


def _aa_rows(rng: np.random.Generator, n: int):
    x = rng.gamma(4.0, 25.0, n)
    return 0.9 * x + rng.normal(0, 15.0, n), x

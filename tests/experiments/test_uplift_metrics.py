"""Uplift metrics: hand-computed examples, ties, scikit-uplift as an independent implementation, interval coverage."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

from experiments.errors import DataError
from experiments.uplift.metrics import (
    auuc,
    blp_test,
    calibration_table,
    evaluate_uplift,
    qini_coefficient,
    quantile_bins,
    segment_table,
    uplift_at_k,
    uplift_curves,
)

EXACT = 1e-12  # same arithmetic, float noise only
SKLIFT_RTOL = 1e-9  # same published formulas, independent code; float noise only

# The four-subscriber example worked by hand (sorted by score: T/1, C/0, C/1, T/0).
Y4 = np.array([1, 0, 1, 0])
S4 = np.array([0.9, 0.8, 0.2, 0.1])
T4 = np.array([1, 0, 0, 1])


def test_hand_computed_curves_and_areas():
    """Worked by hand.

    Qini Q(j) = Yt - Yc Nt/Nc: j=1: 1; j=2: 1; j=3: 1 - 1*1/2 = 0.5; j=4: 1 - 1*2/2 = 0.
    Uplift U(j) = (Yt/Nt - Yc/Nc) j: 1, 2, 1.5, 0.
    Areas with x = j/4, y = curve/4 (trapezoids of width 0.25), random line ends at 0:
    qini = .25*(0+.25)/2 + .25*(.25+.25)/2 + .25*(.25+.125)/2 + .25*.125/2 = 0.15625;
    auuc = .25*.25/2 + .25*.75/2 + .25*.875/2 + .25*.375/2 = 0.28125.
    uplift@0.5 = top 2 = {T:1, C:0} -> 1 - 0 = 1; uplift@0.75 -> 1/1 - 1/2 = 0.5.
    """
    c = uplift_curves(Y4, S4, T4)
    np.testing.assert_allclose(c.x, [0, 1, 2, 3, 4], atol=EXACT)
    np.testing.assert_allclose(c.qini, [0, 1, 1, 0.5, 0], atol=EXACT)
    np.testing.assert_allclose(c.uplift, [0, 1, 2, 1.5, 0], atol=EXACT)
    assert qini_coefficient(c) == pytest.approx(0.15625, abs=EXACT)
    assert auuc(c) == pytest.approx(0.28125, abs=EXACT)
    assert uplift_at_k(Y4, S4, T4, 0.5) == pytest.approx(1.0, abs=EXACT)
    assert uplift_at_k(Y4, S4, T4, 0.75) == pytest.approx(0.5, abs=EXACT)


def test_random_line_is_subtracted():
    """Hand-computed: all outcomes 1 in treated, 0 in control, score uninformative in order T, C, T, C.

    Q(j) = Yt - Yc Nt/Nc with Yc = 0 everywhere, so Q = Yt = 1, 1, 2, 2.
    Curve/n: .25, .25, .5, .5 at x = .25..1; area = .25*(.25/2 + .25 + .375 + .5) = 0.3125; random = .5*.5 = .25;
    qini = 0.0625.
    """
    y = np.array([1, 0, 1, 0])
    t = np.array([1, 0, 1, 0])
    s = np.array([4.0, 3.0, 2.0, 1.0])
    assert qini_coefficient(uplift_curves(y, s, t)) == pytest.approx(0.0625, abs=EXACT)


def test_ties_collapse_to_group_ends_and_are_order_invariant():
    """Hand-computed tie example: scores (1, 1, 0, 0) with (T/1, C/0) tied on top and (T/0, C/1) below.

    Only the group ends (j = 2, 4) are curve points: Q(2) = 1 - 0 = 1, Q(4) = 1 - 1 = 0.
    """
    y = np.array([1, 0, 0, 1])
    t = np.array([1, 0, 1, 0])
    s = np.array([1.0, 1.0, 0.0, 0.0])
    c = uplift_curves(y, s, t)
    np.testing.assert_allclose(c.x, [0, 2, 4], atol=EXACT)
    np.testing.assert_allclose(c.qini, [0, 1, 0], atol=EXACT)
    perm = np.array([1, 3, 0, 2])
    c2 = uplift_curves(y[perm], s[perm], t[perm])
    np.testing.assert_allclose(c2.qini, c.qini, atol=EXACT)
    assert uplift_at_k(y[perm], s[perm], t[perm], 0.5) == uplift_at_k(y, s, t, 0.5)


def test_uplift_at_k_with_a_straddling_tie_uses_expected_counts():
    """Reference: brute force over every ordering of the tied group (written in this test).

    With a tie group straddling the cut-off, uplift@k is computed from the expected treated/control counts and
    sums in the top k over all orderings of the tie, which is what the linear interpolation produces.
    """
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    t = np.array([1, 0, 1, 0, 1, 0, 0, 1])
    s = np.array([5.0, 4.0, 2.0, 2.0, 2.0, 2.0, 1.0, 0.0])
    k = 0.5  # top 4 of 8: the two top units plus 2 of the 4 tied ones
    tied = [2, 3, 4, 5]
    sums = np.zeros(4)
    count = 0
    for perm in itertools.permutations(tied):
        top = [0, 1, *perm[:2]]
        tt, yy = t[top], y[top]
        sums += [tt.sum(), (1 - tt).sum(), (tt * yy).sum(), ((1 - tt) * yy).sum()]
        count += 1
    nt, nc, yt, yc = sums / count
    assert uplift_at_k(y, s, t, k) == pytest.approx(yt / nt - yc / nc, abs=EXACT)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_curves_match_scikit_uplift(seed, ties):
    """Independent implementation: scikit-uplift 0.5.1 ``qini_curve`` / ``uplift_curve`` (test-only dependency).

    Both collapse tie groups to their last member, so the curves must agree point for point; the areas are
    recomputed from scikit-uplift's points with ``sklearn.metrics.auc`` minus the random line.
    """
    sklift_metrics = pytest.importorskip("sklift.metrics")
    from sklearn.metrics import auc as sk_auc

    rng = np.random.default_rng(seed)
    n = 1000
    t = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    y = (rng.random(n) < 0.3 + 0.2 * t * (x > 0)).astype(int)
    s = np.round(x, 1) if ties else x + 0.01 * rng.normal(size=n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        xq, q = sklift_metrics.qini_curve(y, s, t)
        xu, u = sklift_metrics.uplift_curve(y, s, t)
    c = uplift_curves(y, s, t)
    np.testing.assert_allclose(c.x, xq, rtol=SKLIFT_RTOL)
    np.testing.assert_allclose(c.qini, q, rtol=SKLIFT_RTOL, atol=1e-9)
    np.testing.assert_allclose(c.uplift, u, rtol=SKLIFT_RTOL, atol=1e-9)
    ref_qini = (sk_auc(xq / n, q / n) - 0.5 * q[-1] / n)
    ref_auuc = (sk_auc(xu / n, u / n) - 0.5 * u[-1] / n)
    assert qini_coefficient(c) == pytest.approx(ref_qini, rel=SKLIFT_RTOL, abs=1e-12)
    assert auuc(c) == pytest.approx(ref_auuc, rel=SKLIFT_RTOL, abs=1e-12)


@pytest.mark.parametrize("k", [0.1, 0.2, 0.3])
def test_uplift_at_k_matches_scikit_uplift(k):
    """Independent implementation: ``sklift.metrics.uplift_at_k(strategy='overall')`` on continuous scores
    (no ties) with ``n * k`` an integer, where both take exactly the top ``n k`` subscribers."""
    sklift_metrics = pytest.importorskip("sklift.metrics")
    rng = np.random.default_rng(7)
    n = 2000
    t = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    y = (rng.random(n) < 0.3 + 0.2 * t * (x > 0)).astype(int)
    ref = sklift_metrics.uplift_at_k(y, x, t, strategy="overall", k=k)
    assert uplift_at_k(y, x, t, k) == pytest.approx(ref, rel=SKLIFT_RTOL)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(3)
    n = 3000
    t = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    y = (rng.random(n) < 0.3 + 0.2 * t * (x > 0)).astype(int)
    a = evaluate_uplift(y, x, t, n_bootstrap=60, rng=5)
    b = evaluate_uplift(y, x, t, n_bootstrap=60, rng=5)
    assert a.qini == b.qini and a.uplift_at == b.uplift_at
    assert a.qini.lo < a.qini.estimate < a.qini.hi
    assert a.qini.lo > 0  # strong, real heterogeneity in the score's direction
    # an uninformative score: the interval of the Qini coefficient covers 0
    noise = evaluate_uplift(y, rng.normal(size=n), t, n_bootstrap=60, rng=5)
    assert noise.qini.lo < 0 < noise.qini.hi


def _coverage_run(seed: int) -> bool:
    """One replicate: truth of uplift@0.3 when targeting by x: E[tau | x > q_0.7] with tau = 0.2 * 1{x > 0}
    and x ~ N(0, 1): every unit in the top 30% has x > 0.524 > 0, so the truth is exactly 0.2."""
    rng = np.random.default_rng(seed)
    n = 4000
    t = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    y = (rng.random(n) < 0.3 + 0.2 * t * (x > 0)).astype(int)
    m = evaluate_uplift(y, x, t, ks=(0.3,), n_bootstrap=200, rng=seed + 10_000)
    return m.uplift_at[0.3].lo <= 0.2 <= m.uplift_at[0.3].hi


@pytest.mark.slow
def test_uplift_at_k_interval_coverage():
    """Seeded simulation with known truth: the 95% bootstrap interval of uplift@30% covers the truth at close to
    the nominal rate over 200 runs (binomial 99.9% band for 0.95 with 200 runs: about 0.89..0.99)."""
    covered = np.mean([_coverage_run(s) for s in range(200)])
    assert 0.89 <= covered <= 0.995


def test_calibration_and_blp_recover_the_true_effect_function():
    """Known truth: with the true effect as score the BLP slope is 1 and the bins' observed uplift tracks the
    prediction (tolerance: 4 standard errors)."""
    rng = np.random.default_rng(11)
    n = 20000
    x = rng.normal(size=n)
    t = rng.integers(0, 2, n)
    tau = 0.5 + x
    y = x + t * tau + rng.normal(size=n)
    r = blp_test(y, tau, t, 0.5)
    assert abs(r.beta2 - 1) < 4 * r.beta2_se
    assert abs(r.beta1 - 0.5) < 4 * r.beta1_se
    assert r.pvalue_heterogeneity < 1e-6
    cal = calibration_table(y, tau, t, n_bins=10)
    assert len(cal) == 10 and cal["n"].sum() == n
    assert (np.abs(cal["observed"] - cal["predicted"]) < 4 * cal["se"]).all()
    # a score with no information: slope near 0, no false signal at 4 SE
    r0 = blp_test(y, rng.normal(size=n), t, 0.5)
    assert abs(r0.beta2) < 4 * r0.beta2_se


def test_quantile_bins_keep_ties_together():
    s = np.array([3, 1, 2, 2, 2, 2, 5, 6, 7, 8.0])
    b = quantile_bins(s, n_bins=5)
    assert len(set(b[s == 2])) == 1
    assert b[np.argmin(s)] == 0 and b[np.argmax(s)] == 4


def test_segment_table_matches_ols_with_hc2():
    """Independent implementation: statsmodels OLS of y on an arm dummy within each segment with HC2 standard
    errors, which equal the Neyman unequal-variance standard error of a difference in means exactly."""
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    n = 3000
    arm = rng.choice(["control", "a", "b"], n)
    seg = rng.choice(["north", "south", "east"], n)
    y = (rng.random(n) < 0.2 + 0.1 * (arm == "a") * (seg == "north")).astype(float)
    tab = segment_table(y, arm, seg, "control", ["a", "b"], segment_name="region")
    assert list(tab.columns[:2]) == ["arm", "region"]
    for _, row in tab.iterrows():
        m = (seg == row["region"]) & np.isin(arm, [row["arm"], "control"])
        fit = sm.OLS(y[m], sm.add_constant((arm[m] == row["arm"]).astype(float))).fit(cov_type="HC2")
        assert row["ate"] == pytest.approx(fit.params[1], abs=1e-12)
        assert row["se"] == pytest.approx(fit.bse[1], rel=1e-10)


@pytest.mark.slow
def test_segment_heterogeneity_test_false_positive_rate():
    """Seeded simulation under equal effects across segments: Cochran's Q rejects at about alpha = 0.05
    (300 runs; binomial 99.9% band about 0.02..0.09)."""
    rej = []
    for seed in range(300):
        rng = np.random.default_rng(seed)
        n = 1500
        arm = rng.choice(["control", "a"], n)
        seg = rng.choice(["x", "y", "z"], n)
        y = (rng.random(n) < 0.3 + 0.05 * (arm == "a")).astype(float)
        rej.append(segment_table(y, arm, seg, "control", ["a"])["q_pvalue"].iloc[0] < 0.05)
    assert 0.02 <= np.mean(rej) <= 0.09


@pytest.mark.parametrize(
    ("y", "s", "t", "match"),
    [
        ([1, 0, 1], [0.1, 0.2, 0.3], [1, 2, 0], "only 0"),
        ([1, 0, 1], [0.1, np.nan, 0.3], [1, 0, 0], "score has 1 missing"),
        ([1, 0, 1], [0.1, 0.2, 0.3], [1, 1, 1], "only arm"),
        ([1, 0], [0.1, 0.2, 0.3], [1, 0, 1], "one length"),
    ],
)
def test_bad_input_raises_domain_error(y, s, t, match):
    with pytest.raises(DataError, match=match):
        uplift_curves(y, s, t)


def test_does_not_mutate_inputs():
    y = pd.Series([1, 0, 1, 0])
    s = np.array([0.9, 0.8, 0.2, 0.1])
    t = np.array([1, 0, 0, 1])
    before = (y.copy(), s.copy(), t.copy())
    evaluate_uplift(y, s, t, n_bootstrap=20, rng=0)
    pd.testing.assert_series_equal(y, before[0])
    np.testing.assert_array_equal(s, before[1])
    np.testing.assert_array_equal(t, before[2])


def test_blp_with_a_constant_score_reports_no_slope():
    """A score without variation (e.g. an outcome model that never split on the arm) has no slope: beta2 and its
    p-value are NaN, and beta1 is then the plain weighted ATE regression coefficient (0.5 here by construction)."""
    rng = np.random.default_rng(0)
    n = 4000
    t = rng.integers(0, 2, n)
    y = 0.5 * t + rng.normal(size=n)
    r = blp_test(y, np.zeros(n), t, 0.5)
    assert np.isnan(r.beta2) and np.isnan(r.pvalue_heterogeneity)
    assert abs(r.beta1 - 0.5) < 4 * r.beta1_se

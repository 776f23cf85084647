"""External references for the A/B statistics on sufficient statistics.

Published fixtures are those quoted in the foundation issue; independent implementations are scipy and statsmodels
run on the raw rows.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest
from statsmodels.stats.weightstats import ttest_ind as sm_ttest_ind

from experiments.analysis import stats
from experiments.analysis.stats import SuffStats
from experiments.errors import DesignError

RTOL = 1e-10  # same formula on sums vs rows: float noise only
FIXTURE_ATOL = 5e-6  # published figures are rounded to 5-6 decimals


def test_two_proportions_fixture():
    """42/104 (control) vs 500/1009 (treatment): diff 0.091694, 95% CI (−0.00753, 0.19091), χ² p 0.074866.

    Source: the foundation issue's fixture, which matches R ``prop.test(c(500, 42), c(1009, 104), correct=FALSE)``
    (χ² p-value) and the unpooled Wald interval of the difference.
    """
    c = stats.compare_proportions(SuffStats(1009, 500, 500), SuffStats(104, 42, 42))
    assert c.diff == pytest.approx(0.091694, abs=FIXTURE_ATOL)
    assert c.ci[0] == pytest.approx(-0.00753, abs=FIXTURE_ATOL)
    assert c.ci[1] == pytest.approx(0.19091, abs=FIXTURE_ATOL)
    assert c.p_value == pytest.approx(0.074866, abs=FIXTURE_ATOL)


def test_chi2_fixture():
    """14/100 vs 20/100 gives Pearson χ² p 0.26 (foundation issue; R ``chisq.test(..., correct=FALSE)``)."""
    assert stats.chi2_independence([100, 100], [14, 20]).p_value == pytest.approx(0.26, abs=0.005)


def test_holm_fixture():
    """Holm on [.01, .04, .03, .005, .55, .6] gives [.03, .05, .12, .12, 1, 1] for the sorted inputs (issue)."""
    p = [0.01, 0.04, 0.03, 0.005, 0.55, 0.6]
    adj = stats.adjust_pvalues(p, "holm")
    order = np.argsort(p)
    np.testing.assert_allclose(adj[order], [0.03, 0.05, 0.12, 0.12, 1, 1], atol=1e-12)


def test_bh_fixture():
    """BH on [.898, .138, .007, .964, .538, .006, .138] (issue; R ``p.adjust(method="BH")``)."""
    adj = stats.adjust_pvalues([0.898, 0.138, 0.007, 0.964, 0.538, 0.006, 0.138], "bh")
    np.testing.assert_allclose(adj, [0.964, 0.2415, 0.0245, 0.964, 0.7532, 0.0245, 0.2415], atol=5e-5)


def test_welch_fixture():
    """Welch fixture of the issue: A = (Σ 1396.87, Σ² 52377.9767, n 3407), B = (2422.7, 134698.29, 3461).

    Absolute diff 0.29, CI (0.04538, 0.53462), p 0.02016; relative lift 0.70732, CI (−0.03526, 1.44989),
    p 0.06191 (GrowthBook's frequentist engine reports the same figures).
    """
    c = stats.compare_means(SuffStats(3461, 2422.7, 134698.29), SuffStats(3407, 1396.87, 52377.9767))
    assert c.diff == pytest.approx(0.29, abs=1e-10)
    assert c.ci == pytest.approx((0.04538, 0.53462), abs=FIXTURE_ATOL)
    assert c.p_value == pytest.approx(0.02016, abs=FIXTURE_ATOL)
    assert c.rel_lift == pytest.approx(0.70732, abs=FIXTURE_ATOL)
    assert c.rel_ci == pytest.approx((-0.03526, 1.44989), abs=FIXTURE_ATOL)
    assert c.rel_p_value == pytest.approx(0.06191, abs=FIXTURE_ATOL)


@pytest.fixture(params=[0, 1, 2])
def rng(request):
    return np.random.default_rng(1000 + request.param)


def test_proportions_match_statsmodels(rng):
    """Pooled z p-value vs statsmodels ``proportions_ztest``; Wald CI by hand from the rows; Wilson per arm."""
    y_t = (rng.random(rng.integers(200, 5000)) < rng.uniform(0.05, 0.5)).astype(float)
    y_c = (rng.random(rng.integers(200, 5000)) < rng.uniform(0.05, 0.5)).astype(float)
    c = stats.compare_proportions(SuffStats.from_values(y_t), SuffStats.from_values(y_c))
    z, p = proportions_ztest([y_t.sum(), y_c.sum()], [y_t.size, y_c.size])
    assert c.statistic == pytest.approx(z, rel=RTOL)
    assert c.p_value == pytest.approx(p, rel=1e-8)
    chi2 = sps.chi2_contingency(np.array([[y_t.sum(), y_t.size - y_t.sum()], [y_c.sum(), y_c.size - y_c.sum()]]),
                                correction=False)
    assert c.p_value == pytest.approx(chi2.pvalue, rel=1e-8)
    se = np.sqrt(y_t.var() / y_t.size + y_c.var() / y_c.size)  # ddof=0: p(1-p)/n
    assert c.se == pytest.approx(se, rel=RTOL)
    e = stats.arm_estimate(SuffStats.from_values(y_t), binary=True)
    lo, hi = proportion_confint(y_t.sum(), y_t.size, method="wilson")
    assert e.ci == pytest.approx((lo, hi), rel=1e-9)


def test_chi2_matches_scipy(rng):
    n = rng.integers(100, 3000, size=4)
    k = np.array([rng.binomial(m, 0.2) for m in n])
    r = stats.chi2_independence(n, k)
    ref = sps.chi2_contingency(np.column_stack([k, n - k]), correction=False)
    assert r.statistic == pytest.approx(ref.statistic, rel=RTOL)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-8)
    assert r.dof == ref.dof


def test_welch_matches_scipy(rng):
    a = rng.gamma(2.0, 30.0, rng.integers(50, 3000))
    b = rng.gamma(2.2, 30.0, rng.integers(50, 3000))
    c = stats.compare_means(SuffStats.from_values(b), SuffStats.from_values(a))
    ref = sps.ttest_ind(b, a, equal_var=False)
    assert c.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert c.p_value == pytest.approx(ref.pvalue, rel=1e-8)
    assert c.dof == pytest.approx(ref.df, rel=1e-9)
    lo, hi = ref.confidence_interval(0.95)
    assert c.ci == pytest.approx((lo, hi), rel=1e-9)
    e = stats.arm_estimate(SuffStats.from_values(a), binary=False)
    ref_ci = sps.t.interval(0.95, a.size - 1, loc=a.mean(), scale=sps.sem(a))
    assert e.ci == pytest.approx(ref_ci, rel=1e-9)


@pytest.mark.parametrize("method, sm_method", [("holm", "holm"), ("bonferroni", "bonferroni"), ("bh", "fdr_bh")])
def test_corrections_match_statsmodels(method, sm_method, rng):
    p = rng.uniform(0, 0.2, 9) ** 2
    np.testing.assert_allclose(stats.adjust_pvalues(p, method), multipletests(p, method=sm_method)[1], rtol=1e-12)


def test_correction_rejects_unknown_method():
    with pytest.raises(DesignError, match="'holm'"):
        stats.adjust_pvalues([0.1], "hochberg")  # type: ignore[arg-type]


def test_srm_matches_scipy_chisquare():
    counts = {"control": 3400, "flow_pack": 3251, "contract_discount": 3349}
    weights = {"control": 0.34, "flow_pack": 0.33, "contract_discount": 0.33}
    r = stats.srm_test(counts, weights)
    obs = np.array(list(counts.values()), dtype=float)
    ref = sps.chisquare(obs, obs.sum() * np.array(list(weights.values())))
    assert r.statistic == pytest.approx(ref.statistic, rel=RTOL)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_srm_flags_mismatch_and_empty_arm():
    assert not stats.srm_test({"a": 5000, "b": 5400}, {"a": 0.5, "b": 0.5}).ok
    r = stats.srm_test({"a": 5000}, {"a": 0.5, "b": 0.5})
    assert r.zero_arms == ("b",) and not r.ok


@pytest.mark.parametrize("relative", [False, True])
def test_non_inferiority_matches_statsmodels(relative, rng):
    """Absolute margins: statsmodels ``ttest_ind(usevar="unequal", alternative="larger", value=margin)``.

    Relative margins have no packaged reference; they are checked against the delta-method statistic computed here
    from the rows.
    """
    a = rng.normal(100, 20, 4000)
    b = rng.normal(99.5, 20, 4100)
    comp = stats.compare_means(SuffStats.from_values(b), SuffStats.from_values(a))
    margin = -0.02 if relative else -2.0
    r = stats.non_inferiority(comp, margin=margin, relative=relative, direction="increase")
    if not relative:
        t, p, _ = sm_ttest_ind(b, a, alternative="larger", usevar="unequal", value=margin)
        assert r.statistic == pytest.approx(t, rel=1e-9)
        assert r.p_value == pytest.approx(p, rel=1e-8)
    else:
        ma, mb = a.mean(), b.mean()
        va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
        se = np.sqrt(vb / ma**2 + mb**2 * va / ma**4)
        assert r.statistic == pytest.approx(((mb - ma) / ma - margin) / se, rel=1e-9)
    assert r.passed == (r.p_value < 0.05)


def test_non_inferiority_rejects_wrong_sign_margin():
    comp = stats.compare_means(SuffStats.from_values([1.0, 2, 3]), SuffStats.from_values([1.0, 2, 4]))
    with pytest.raises(DesignError, match="negative margin"):
        stats.non_inferiority(comp, margin=0.02, relative=True, direction="increase")


def test_cuped_equals_row_level_welch(rng):
    """CUPED on sums equals Welch's t (scipy) on the row-level adjusted outcome y − θ(x − x̄)."""
    n = {"c": 3000, "t1": 2900, "t2": 3100}
    rows = {}
    for arm, size in n.items():
        x = rng.gamma(4, 25, size)
        y = 0.8 * x + rng.normal(0, 15, size) + (2.0 if arm == "t2" else 0.0)
        rows[arm] = (y, x)
    r = stats.cuped({a: SuffStats.from_values(y, x) for a, (y, x) in rows.items()}, "c")
    all_y = np.concatenate([v[0] for v in rows.values()])
    all_x = np.concatenate([v[1] for v in rows.values()])
    theta = np.cov(all_x, all_y, ddof=1)[0, 1] / all_x.var(ddof=1)
    assert r.theta == pytest.approx(theta, rel=RTOL)
    adj = {a: y - theta * (x - all_x.mean()) for a, (y, x) in rows.items()}
    for comp in r.comparisons:
        ref = sps.ttest_ind(adj[comp.arm], adj["c"], equal_var=False)
        assert comp.diff == pytest.approx(adj[comp.arm].mean() - adj["c"].mean(), rel=1e-9)
        assert comp.statistic == pytest.approx(ref.statistic, rel=1e-8)
        assert comp.p_value == pytest.approx(ref.pvalue, rel=1e-7, abs=1e-300)
    raw = sum(y.var(ddof=1) for y, _ in rows.values())
    assert r.variance_reduction == pytest.approx(1 - sum(v.var(ddof=1) for v in adj.values()) / raw, rel=1e-9)
    assert r.variance_reduction > 0.5


def test_suffstats_add_pools():
    a, b = SuffStats.from_values([1.0, 2.0], [3.0, 4.0]), SuffStats.from_values([5.0], [6.0])
    assert a + b == SuffStats.from_values([1.0, 2.0, 5.0], [3.0, 4.0, 6.0])

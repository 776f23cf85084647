"""The profile's statistics against independent implementations (statsmodels, scipy) and seeded simulations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats.contingency import association
from statsmodels.stats.proportion import proportion_confint

from experiments.diagnosis.stats import best_cut, cramers_v, interaction_test, wilson

RTOL = 1e-10  # same formulas, float noise only


@pytest.mark.parametrize(("n", "k", "alpha"), [(396, 167, 0.05), (4250, 598, 0.05), (2, 2, 0.05), (28, 19, 0.1),
                                               (1000, 0, 0.05), (7, 3, 0.01)])
def test_wilson_matches_statsmodels(n, k, alpha):
    lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson")
    assert wilson(n, k, alpha) == pytest.approx((lo, hi), rel=RTOL, abs=1e-14)


def test_every_profile_interval_matches_statsmodels(churn2020_profile):
    for levels in churn2020_profile.features.values():
        for r in levels.values():
            assert r.ci == pytest.approx(proportion_confint(r.churned, r.n, method="wilson"), rel=RTOL, abs=1e-14)


def test_cramers_v_matches_scipy(churn2020_profile, churn2020):
    """Cramér's V of each text column from the engine's counts equals scipy's on the row-level crosstab."""
    rows = pd.read_csv(churn2020)
    checked = 0
    for a in churn2020_profile.associations:
        if a.method != "cramers_v":
            continue
        ref = association(pd.crosstab(rows[a.column], rows["churn"]).to_numpy(), method="cramer")
        assert a.value == pytest.approx(ref, rel=1e-9), a.column
        checked += 1
    assert checked >= 3  # state, area_code, international_plan, voice_mail_plan


def test_point_biserial_matches_scipy(telco_profile, telco):
    """Point-biserial r of each numeric column (blank TotalCharges left out) equals scipy.stats.pointbiserialr."""
    rows = pd.read_csv(telco)
    y = (rows["Churn"] == "Yes").astype(int)
    for a in telco_profile.associations:
        if a.method != "point_biserial":
            continue
        x = pd.to_numeric(rows[a.column].astype(str).str.strip(), errors="coerce")
        keep = x.notna()
        assert a.value == pytest.approx(stats.pointbiserialr(y[keep], x[keep]).statistic, rel=1e-9), a.column


def test_associations_ranked(churn2020_profile):
    values = [abs(a.value) for a in churn2020_profile.associations]
    assert values == sorted(values, reverse=True)
    assert churn2020_profile.associations[0].column == "international_plan"


def test_interaction_g2_matches_statsmodels_glm():
    """G² by iterative proportional fitting equals the residual deviance of the binomial GLM churn ~ A + B."""
    import statsmodels.api as sm

    rng = np.random.default_rng(11)
    n = rng.integers(20, 400, size=(3, 4)).astype(float)
    p = rng.uniform(0.05, 0.6, size=(3, 4))
    k = rng.binomial(n.astype(int), p).astype(float)
    got = interaction_test(n, k)
    a, b = np.indices(n.shape)
    X = pd.get_dummies(pd.DataFrame({"a": a.ravel().astype(str), "b": b.ravel().astype(str)}), drop_first=True)
    X = sm.add_constant(X.astype(float))
    glm = sm.GLM(np.column_stack([k.ravel(), (n - k).ravel()]), X, family=sm.families.Binomial()).fit()
    assert got.g2 == pytest.approx(glm.deviance, rel=1e-6)
    assert got.dof == glm.df_resid == 6
    assert got.p_value == pytest.approx(stats.chi2.sf(glm.deviance, 6), rel=1e-5)


def test_interaction_zero_for_additive_table():
    """A table generated exactly additive on the logit scale has G² = 0."""
    n = np.full((2, 3), 1000.0)
    logit = np.array([[0.0], [1.0]]) + np.array([[-2.0, -1.0, 0.5]])
    k = n / (1 + np.exp(-logit))
    assert interaction_test(n, k).g2 == pytest.approx(0.0, abs=1e-6)


def test_cramers_v_two_by_two_is_abs_phi():
    n, k = [396, 3854], [167, 431]
    table = np.array([[167, 396 - 167], [431, 3854 - 431]])
    assert cramers_v(n, k) == pytest.approx(association(table, method="cramer"), rel=RTOL)


@pytest.mark.slow
def test_threshold_false_positive_rate_under_null():
    """No change anywhere: the Bonferroni-adjusted p of the best cut rejects at the nominal 5 % at most.

    Seeded, 2,000 null tables; the bound is 5 % plus three Monte Carlo standard errors (sqrt(.05 · .95 / 2000)).
    The naive p-value of the best cut, for comparison, rejects far more often than 5 %.
    """
    rng = np.random.default_rng(2026)
    n = np.array([900, 1500, 950, 560, 210, 80, 30, 15])
    cuts = [best_cut(n, rng.binomial(n, 0.14)) for _ in range(2000)]
    bound = 0.05 + 3 * np.sqrt(0.05 * 0.95 / 2000)
    assert np.mean([c.p_value < 0.05 for c in cuts]) <= bound
    assert np.mean([c.p_raw < 0.05 for c in cuts]) > 0.15


def test_threshold_recovers_a_planted_jump():
    """Churn 10 % up to level 3, 45 % from level 4: the detector cuts between 3 and 4 in 99 % of seeded draws."""
    rng = np.random.default_rng(7)
    n = np.array([900, 1500, 950, 560, 210, 80, 30, 15])
    p = np.where(np.arange(8) <= 3, 0.10, 0.45)
    hits = sum(best_cut(n, rng.binomial(n, p)).index == 3 for _ in range(300))
    assert hits >= 297

"""Lifetime value: closed forms, Fader & Hardie's published sBG fit, delta-method coverage, per-subscriber truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_rossi

from survival.errors import HorizonError, SurvivalDataError
from survival.hazard import fit_parametric_regression, prepare_survival_frame
from survival.kaplan_meier import kaplan_meier_groups, survival_at
from survival.ltv import (
    _survival_at_own_times,
    discount_factors,
    exponential_ltv,
    fit_sbg,
    lifetime_value,
    ltv_by_group,
    ltv_difference,
    ltv_from_curve,
    ltv_from_survival,
    sbg_survival,
)
from survival.risk_table import risk_table_from_arrays

EXACT = 1e-12  # same sum, float noise only
PUBLISHED_ATOL = 5e-4  # Fader & Hardie print three decimals
#: Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1), Table 1 / Fig. 3:
#: "high end" segment retention over years 1..7 and its sBG MLE alpha = 0.668, beta = 3.806.
HIGH_END = [0.869, 0.743, 0.653, 0.593, 0.551, 0.517, 0.491]


def test_sbg_fit_equals_published_high_end_cohort():
    """sBG MLE on the published "high end" cohort gives alpha = 0.668, beta = 3.806 (Fader & Hardie 2007)."""
    fit = fit_sbg(HIGH_END)
    assert fit.alpha == pytest.approx(0.668, abs=PUBLISHED_ATOL)
    assert fit.beta == pytest.approx(3.806, abs=PUBLISHED_ATOL)
    # and the fitted curve follows the data within 2 percentage points (Fader & Hardie, Figure 3)
    assert np.max(np.abs(fit.survival(np.arange(1, 8)) - HIGH_END)) < 0.02


def test_curve_ltv_equals_exponential_closed_form():
    """sum_k m e^{-lambda k} (1+r)^{-k/12} equals the geometric-series closed form exactly."""
    lam, m, h, r = 0.035, 42.0, 24, 0.08
    s = np.exp(-lam * np.arange(1, h + 1))
    assert ltv_from_survival(s, m, r) == pytest.approx(exponential_ltv(lam, m, h, r), rel=EXACT)


def test_km_ltv_recovers_exponential_truth():
    """Seeded exponential churn (lambda = 0.04/month), follow-up 30 months: KM LTV's 95% CI covers the truth."""
    rng = np.random.default_rng(99)
    n = 20000
    t = rng.exponential(25.0, n)
    c = rng.uniform(24.5, 30, n)
    obs, ev = np.minimum(t, c), (t <= c).astype(int)
    res = ltv_by_group(obs, ev, np.zeros(n), 30.0, 24, 0.08)[0]
    truth = exponential_ltv(0.04, 30.0, 24, 0.08)
    assert res.method == "kaplan-meier"
    assert res.lower <= truth <= res.upper
    assert res.se < 0.01 * truth


def test_parametric_ltv_extrapolates_and_says_so():
    """Horizon 24 months with 12 months of follow-up: the Weibull/AIC extrapolation covers the truth."""
    rng = np.random.default_rng(4)
    n = 5000
    t = rng.exponential(25.0, n)
    obs, ev = np.minimum(t, 12.0), (t <= 12.0).astype(int)
    res = ltv_by_group(obs, ev, np.zeros(n), 30.0, 24, 0.08)[0]
    truth = exponential_ltv(0.04, 30.0, 24, 0.08)
    assert res.method.startswith("parametric:")
    assert res.extrapolated_months == pytest.approx(12.0, abs=0.01)
    assert res.lower <= truth <= res.upper


def test_sbg_cross_check_of_curve_ltv():
    """Monthly sBG population (alpha 0.668, beta 3.806): KM-based LTV agrees with the sBG closed form, and the sBG
    fit on the KM curve recovers the parameters (an independent model of the same retention)."""
    rng = np.random.default_rng(2007)
    n = 40000
    theta = rng.beta(0.668, 3.806, n)
    t = rng.geometric(theta).astype(float)  # churn at the end of month t
    follow = 30.0
    obs, ev = np.minimum(t, follow), (t <= follow).astype(int)
    curve = kaplan_meier_groups(risk_table_from_arrays(obs, ev))["all"]
    res = ltv_from_curve(curve, 10.0, 24, 0.08)
    sbg_value = ltv_from_survival(sbg_survival(0.668, 3.806, np.arange(1, 25)), 10.0, 0.08)
    assert abs(res.value - sbg_value) < 3 * res.se
    fit = fit_sbg(survival_at(curve, np.arange(1, 13)), n_start=n)
    assert fit.alpha == pytest.approx(0.668, rel=0.1)
    assert fit.beta == pytest.approx(3.806, rel=0.1)


def test_km_ltv_beyond_follow_up_is_refused_with_the_gap():
    curve = kaplan_meier_groups(risk_table_from_arrays([1, 2, 3, 12], [1, 0, 1, 0]))["all"]
    with pytest.raises(HorizonError, match=r"12.0 months would be extrapolated"):
        ltv_from_curve(curve, 1.0, 24, 0.0)


def test_bad_value_settings():
    with pytest.raises(SurvivalDataError, match="annual_discount_rate"):
        discount_factors(12, 1.5)
    with pytest.raises(SurvivalDataError, match="horizon_months"):
        discount_factors(0, 0.08)


def test_aft_survival_at_own_times_equals_lifelines():
    """Our closed-form S_i(t_i) equals lifelines' ``predict_survival_function`` for each AFT family."""
    frame, names = prepare_survival_frame(load_rossi(), "week", "arrest", ["fin", "age", "prio"])
    times = np.array([5.0, 30.0, 80.0])
    for model in ["weibull", "loglogistic", "lognormal"]:
        reg = fit_parametric_regression(frame, names, models=(model,))
        ref = reg.survival(frame.iloc[:20], times)
        ours = np.stack([_survival_at_own_times(reg, frame.iloc[:20], np.full(20, t)) for t in times])
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-14)


def test_per_subscriber_ltv_is_conditional_on_tenure_and_recovers_truth():
    """Weibull AFT truth (shape 0.8, scale exp(3 + 0.5 x)): the value of a subscriber's remaining lifetime given
    tenure a, within 3% of sum_k m S(a+k|x)/S(a|x) d_k computed from the true parameters."""
    rng = np.random.default_rng(31)
    n = 20000
    x = rng.integers(0, 2, n).astype(float)
    scale = np.exp(3.0 + 0.5 * x)
    t = scale * rng.weibull(0.8, n)
    c = rng.uniform(0, 36, n)
    df = pd.DataFrame({"tenure": np.minimum(t, c), "churned": (t <= c).astype(int), "x": x, "id": np.arange(n)})
    before = df.copy()
    out = lifetime_value(df, "tenure", "churned", ["x"], 25.0, horizon_months=24, annual_discount_rate=0.08,
                         id_column="id")
    pd.testing.assert_frame_equal(df, before)
    assert out.attrs["model"] == "weibull"
    assert (out.loc[out["churned"] == 1, "ltv"] == 0).all()
    k = np.arange(1, 25)
    d = discount_factors(24, 0.08)
    for i in [0, 1, 2, 3, 4]:
        a, lam = out.loc[i, "tenure"], scale[i]
        s = lambda u, lam=lam: np.exp(-((u / lam) ** 0.8))  # noqa: E731
        truth = 25.0 * d @ (s(a + k) / s(a))
        assert out.loc[i, "ltv_if_retained"] == pytest.approx(truth, rel=0.03)
    # decreasing hazard (shape < 1): a subscriber who has stayed longer is worth more, same covariates
    same = out[df["x"] == 0].sort_values("tenure")
    assert same["ltv_if_retained"].is_monotonic_increasing


def test_margin_column_is_used_and_validated():
    df = load_rossi().assign(m=lambda d: 2.0 + d["fin"])
    out = lifetime_value(df, "week", "arrest", ["fin", "age"], "m", horizon_months=6)
    base = lifetime_value(df, "week", "arrest", ["fin", "age"], 1.0, horizon_months=6)
    np.testing.assert_allclose(out["ltv_if_retained"], base["ltv_if_retained"] * df["m"], rtol=EXACT)
    with pytest.raises(SurvivalDataError, match="margin column 'm' has 1 missing"):
        lifetime_value(df.assign(m=df["m"].where(df.index != 0)), "week", "arrest", ["fin"], "m", horizon_months=6)


@pytest.mark.slow
def test_ltv_difference_ci_coverage():
    """Delta-method 95% CI of ΔLTV (exponential arms, truth in closed form) covers in 93–97% of 1,500 runs."""
    rng = np.random.default_rng(12)
    truth = exponential_ltv(0.03, 20.0, 12, 0.08) - exponential_ltv(0.05, 20.0, 12, 0.08)
    hits, n_sim = 0, 1500
    for _ in range(n_sim):
        t = np.concatenate((rng.exponential(1 / 0.03, 400), rng.exponential(1 / 0.05, 400)))
        c = rng.uniform(12, 20, 800)
        g = np.repeat(["offer", "control"], 400)
        res = ltv_by_group(np.minimum(t, c), (t <= c).astype(int), g, 20.0, 12, 0.08)
        diff = ltv_difference(res["offer"], res["control"])
        hits += diff.lower <= truth <= diff.upper
    assert 0.93 <= hits / n_sim <= 0.97

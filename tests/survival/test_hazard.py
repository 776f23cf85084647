"""Cox, PH check, parametric fits and the contract-end model: R survival's published Rossi results, seeded truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_rossi

from survival.errors import ModelError, SurvivalDataError
from survival.hazard import fit_contract_end_cox, fit_cox, fit_parametric

R_ATOL = 5e-5  # R prints five decimals
ROSSI_COVARIATES = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
#: R 2.x/3.x, survival package (Efron ties):
#:   summary(coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = Rossi))
#: as printed in Fox & Weisberg, "Cox Proportional-Hazards Regression for Survival Data in R", appendix to
#: An R Companion to Applied Regression (2011), Table "coef exp(coef) se(coef) z Pr(>|z|)".
R_ROSSI = pd.DataFrame(
    {
        "coef": [-0.37942, -0.05744, 0.31390, -0.14980, -0.43370, -0.08487, 0.09150],
        "hr": [0.68426, 0.94418, 1.36875, 0.86088, 0.64810, 0.91863, 1.09581],
        "se": [0.19138, 0.02200, 0.30799, 0.21222, 0.38187, 0.19576, 0.02865],
        "p_value": [0.04742, 0.00903, 0.30812, 0.48029, 0.25606, 0.66461, 0.00140],
    },
    index=ROSSI_COVARIATES,
)


def test_rossi_cox_equals_published_r():
    """Rossi recidivism Cox model vs R's survival package (Efron ties), values in ``R_ROSSI``::

        library(survival); library(carData)
        summary(coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = Rossi))

    as printed in Fox & Weisberg's appendix "Cox Proportional-Hazards Regression for Survival Data in R" (2011).
    Tolerance ``R_ATOL``: R prints five decimals.
    """
    res = fit_cox(load_rossi(), "week", "arrest", ROSSI_COVARIATES)
    for col in ["coef", "hr", "se", "p_value"]:
        np.testing.assert_allclose(res.table.loc[ROSSI_COVARIATES, col], R_ROSSI[col], rtol=0, atol=R_ATOL)
    # fin's 95% CI for the hazard ratio as R prints it: 0.4702 .. 0.9957
    assert res.table.loc["fin", "hr_lower"] == pytest.approx(0.4702, abs=5e-5)
    assert res.table.loc["fin", "hr_upper"] == pytest.approx(0.9957, abs=5e-5)


def test_rossi_ph_failure_is_reported():
    """The PH check flags ``age`` and ``wexp`` on Rossi (as R's cox.zph does), and the result says so."""
    res = fit_cox(load_rossi(), "week", "arrest", ROSSI_COVARIATES)
    assert not res.ph_ok
    flagged = set(res.ph_test.index[res.ph_test["p_value"] < 0.05])
    assert flagged == {"age", "wexp"}
    assert res.to_dict()["ph_test"]["ok"] is False


def _weibull_ph(rng, n, shape, scale, beta, x, follow_up):
    # S(t|x) = exp(-(t/scale)^shape * exp(beta x))
    u = rng.uniform(size=n)
    t = scale * (-np.log(u) / np.exp(beta * x)) ** (1 / shape)
    c = rng.uniform(0, 2 * follow_up, n)
    obs = np.minimum(np.minimum(t, c), follow_up)
    return obs, ((t <= c) & (t <= follow_up)).astype(int)


def test_cox_recovers_hazard_ratio_and_passes_ph_on_ph_data():
    rng = np.random.default_rng(11)
    n = 4000
    arm = rng.integers(0, 2, n)
    t, e = _weibull_ph(rng, n, 1.4, 20.0, np.log(0.7), arm, 24)
    df = pd.DataFrame({"t": t, "e": e, "arm": np.where(arm == 1, "offer", "control")})
    res = fit_cox(df, "t", "e", arm="arm", control="control")
    row = res.table.loc["arm[offer]"]
    assert row.hr_lower < 0.7 < row.hr_upper
    assert res.ph_ok


def test_ph_check_flags_crossing_hazards():
    """Arms with crossing hazards (Weibull shapes 0.6 vs 2.0) fail the PH check, and the failure is reported."""
    rng = np.random.default_rng(5)
    n = 3000
    t0 = 12 * rng.weibull(0.6, n)
    t1 = 12 * rng.weibull(2.0, n)
    t = np.minimum(np.concatenate((t0, t1)), 30)
    e = (np.concatenate((t0, t1)) <= 30).astype(int)
    df = pd.DataFrame({"t": t, "e": e, "arm": np.repeat(["control", "offer"], n)})
    res = fit_cox(df, "t", "e", arm="arm", control="control")
    assert not res.ph_ok
    assert res.ph_test.loc["arm[offer]", "p_value"] < 1e-6


def test_weibull_fit_recovers_known_parameters():
    """lifelines parametrisation S(t) = exp(-(t/lambda)^rho); truth lambda = 18, rho = 1.3, 20k subscribers."""
    rng = np.random.default_rng(2026)
    n = 20000
    t = 18 * rng.weibull(1.3, n)
    c = rng.uniform(0, 40, n)
    fit = fit_parametric(np.minimum(t, c), (t <= c).astype(int))
    lam, rho = fit.params["weibull"]["lambda_"], fit.params["weibull"]["rho_"]
    se_lam, se_rho = (fit.models["weibull"].summary.loc[k, "se(coef)"] for k in ["lambda_", "rho_"])
    assert abs(lam - 18) < 3 * se_lam
    assert abs(rho - 1.3) < 3 * se_rho
    assert fit.best == "weibull"
    assert list(fit.aic["aic"]) == sorted(fit.aic["aic"])


@pytest.mark.slow
def test_contract_end_hazard_jump_is_recovered():
    """Hazard 0.02/month before the contract ends, x3 after it: the time-varying Cox recovers HR 3."""
    rng = np.random.default_rng(17)
    n = 3000
    c = rng.uniform(-3, 24, n)  # months to contract end at the start of follow-up
    base, jump = 0.02, 3.0
    e1 = rng.exponential(1 / base, n)
    # piecewise-constant hazard: before c at rate base, after c at base * jump
    cpos = np.maximum(c, 0)
    t = np.where(e1 < cpos, e1, cpos + (e1 - cpos) / jump)
    follow = 30.0
    df = pd.DataFrame({"t": np.minimum(t, follow), "e": (t <= follow).astype(int), "months_to_end": c})
    res = fit_contract_end_cox(df, "t", "e", "months_to_end")
    row = res.table.loc["after_contract_end"]
    assert row.hr_lower < jump < row.hr_upper
    assert abs(np.log(row.hr) - np.log(jump)) < 3 * row.se


def test_covariate_without_variance_is_refused():
    df = load_rossi().assign(const=1)
    with pytest.raises(ModelError, match="covariate 'const' has no variance"):
        fit_cox(df, "week", "arrest", ["fin", "const"])


def test_arm_without_events_is_refused():
    df = pd.DataFrame({"t": [1.0, 2, 3, 4, 5, 6], "e": [1, 0, 1, 0, 0, 0],
                       "arm": ["c", "c", "c", "x", "x", "x"]})
    with pytest.raises(ModelError, match="arm 'x' has no churn event"):
        fit_cox(df, "t", "e", arm="arm", control="c")


def test_missing_covariate_values_are_refused_not_dropped():
    df = load_rossi().astype({"age": float})
    df.loc[3, "age"] = np.nan
    with pytest.raises(SurvivalDataError, match="covariate 'age' has 1 missing"):
        fit_cox(df, "week", "arrest", ["fin", "age"])


def test_does_not_mutate_input():
    df = load_rossi()
    before = df.copy()
    fit_cox(df, "week", "arrest", ["fin", "prio"])
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.slow
def test_contract_end_window_bump_is_recovered():
    """Hazard 0.002/day, x2.5 in the 30 days either side of contract end: the window covariate recovers HR 2.5."""
    rng = np.random.default_rng(23)
    n = 4000
    c = rng.uniform(-20, 200, n)  # days to contract end at the start
    base, bump = 0.002, 2.5
    lo, hi = np.maximum(c - 30, 0), np.maximum(c + 30, 0)
    # invert the cumulative hazard of the piecewise-constant hazard (base, base*bump on [lo, hi), base)
    target = rng.exponential(size=n)
    h_before = base * lo
    h_window = base * bump * (hi - lo)
    t = np.where(target < h_before, target / base,
                 np.where(target < h_before + h_window, lo + (target - h_before) / (base * bump),
                          hi + (target - h_before - h_window) / base))
    follow = 240.0
    df = pd.DataFrame({"t": np.minimum(t, follow), "e": (t <= follow).astype(int), "days_to_end": c})
    res = fit_contract_end_cox(df, "t", "e", "days_to_end", window=(-30, 30))
    row = res.table.loc["around_contract_end"]
    assert row.hr_lower < bump < row.hr_upper


@pytest.mark.parametrize("model", ["weibull", "loglogistic", "lognormal", "exponential"])
def test_parametric_fit_on_distinct_pairs_equals_row_level_lifelines(model):
    """Fitting on distinct (duration, event) pairs with counts as weights gives lifelines' row-level fit
    (``WeibullFitter().fit(T, E)`` etc.): same AIC to 1e-8 relative, parameters to the optimiser's tolerance."""
    import warnings

    from lifelines import ExponentialFitter, LogLogisticFitter, LogNormalFitter, WeibullFitter

    rng = np.random.default_rng(41)
    t = np.ceil(300 * rng.weibull(0.9, 5000))
    c = np.ceil(rng.uniform(0, 180, 5000))
    obs, ev = np.minimum(t, c), (t <= c).astype(int)
    ours = fit_parametric(obs, ev, models=(model,))
    cls = {"weibull": WeibullFitter, "loglogistic": LogLogisticFitter, "lognormal": LogNormalFitter,
           "exponential": ExponentialFitter}[model]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = cls().fit(obs, ev)
    assert ours.aic.loc[0, "aic"] == pytest.approx(ref.AIC_, rel=1e-8)
    np.testing.assert_allclose(list(ours.params[model].values()), ref.params_.to_numpy(), rtol=1e-5)

"""Kaplan–Meier, log-rank and RMST on risk tables against lifelines, survRM2 and seeded simulations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_waltons
from lifelines.statistics import logrank_test as ll_logrank
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import median_survival_times, restricted_mean_survival_time

from survival.errors import HorizonError, ModelError, SurvivalDataError
from survival.kaplan_meier import kaplan_meier_groups, median_survival, survival_at
from survival.logrank import logrank_test
from survival.risk_table import risk_table, risk_table_from_arrays
from survival.rmst import rmst, rmst_difference

ATOL_CURVE = 1e-10  # same product-limit arithmetic as lifelines, float noise only
RTOL_TEST = 1e-8  # same statistic, different summation order
PUBLISHED_ATOL = 5e-4  # published figures are rounded to three decimals


@pytest.fixture(scope="module")
def telco_rt(telco):
    return risk_table(telco, "tenure", "Churn", event_value="Yes", group="Contract")


@pytest.fixture(scope="module")
def telco_km(telco):
    out = {}
    for g, sub in telco.groupby("Contract"):
        out[g] = KaplanMeierFitter().fit(sub["tenure"], sub["Churn"] == "Yes")
    return out


@pytest.mark.parametrize("group", ["Month-to-month", "One year", "Two year"])
def test_telco_curves_equal_lifelines(telco_rt, telco_km, group):
    """KM curve, log(-log) band, S(12/24/60), median with CI and RMST(72) per contract type vs lifelines 0.30.

    Reference: ``KaplanMeierFitter().fit(tenure, Churn == "Yes")`` per ``Contract`` on ../shared/data/telco_churn.csv;
    ``median_survival_times(kmf.confidence_interval_)``; ``restricted_mean_survival_time(kmf, t=72)``.
    """
    curve = kaplan_meier_groups(telco_rt)[group]
    kmf = telco_km[group]
    np.testing.assert_array_equal(curve.time, kmf.survival_function_.index.to_numpy())
    np.testing.assert_allclose(curve.survival, kmf.survival_function_.iloc[:, 0], rtol=0, atol=ATOL_CURVE)
    np.testing.assert_allclose(curve.lower, kmf.confidence_interval_.iloc[:, 0], rtol=0, atol=ATOL_CURVE)
    np.testing.assert_allclose(curve.upper, kmf.confidence_interval_.iloc[:, 1], rtol=0, atol=ATOL_CURVE)
    np.testing.assert_allclose(survival_at(curve, [12, 24, 60]), kmf.survival_function_at_times([12, 24, 60]),
                               rtol=0, atol=ATOL_CURVE)
    med = median_survival(curve)
    ci = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
    assert (med.time, med.lower, med.upper) == (kmf.median_survival_time_, ci[0], ci[1])
    assert rmst(curve, 72).rmst == pytest.approx(restricted_mean_survival_time(kmf, t=72), rel=RTOL_TEST)


def test_telco_three_group_logrank_equals_lifelines(telco, telco_rt):
    """3-group log-rank by Contract vs ``lifelines.statistics.multivariate_logrank_test``."""
    ref = multivariate_logrank_test(telco["tenure"], telco["Contract"], telco["Churn"] == "Yes")
    res = logrank_test(telco_rt)
    assert res.dof == 2
    assert res.statistic == pytest.approx(ref.test_statistic, rel=RTOL_TEST)
    assert res.p_value == pytest.approx(ref.p_value, rel=RTOL_TEST, abs=1e-300)
    assert res.observed.sum() == pytest.approx(res.expected.sum(), rel=1e-12)


def test_telco_blank_total_charges_are_reported_not_dropped(telco, telco_rt):
    """The 11 blank ``TotalCharges`` rows (tenure 0) stay in the curves as censored at time 0.

    The shared data README says they all have tenure 0; they are at risk at time 0 and leave without churning.
    """
    blank = pd.to_numeric(telco["TotalCharges"], errors="coerce").isna()
    assert int(blank.sum()) == 11
    assert set(telco.loc[blank, "tenure"]) == {0}
    assert sum(rt_n for rt_n in telco_rt.n.values()) == len(telco)
    zero = sum(int(telco_rt.removed[g][telco_rt.times[g] == 0].sum()) for g in telco_rt.groups)
    assert zero == 11


def test_waltons_rmst_se_matches_survrm2_published():
    """RMST(τ=10) of the miR-137 group of lifelines' Waltons data: 9.794, SE 0.123.

    Published in lifelines issue #1682 from R: ``survRM2::rmst2(time, status, arm, tau = 10)`` (arm miR-137).
    lifelines' own variance (of min(T, τ), not of the estimator) is several times larger; we check that too.
    """
    w = load_waltons()
    rt = risk_table_from_arrays(w["T"], w["E"], w["group"])
    res = rmst(kaplan_meier_groups(rt)["miR-137"], 10)
    assert res.rmst == pytest.approx(9.794, abs=PUBLISHED_ATOL)
    assert res.se == pytest.approx(0.123, abs=PUBLISHED_ATOL)
    sub = w[w["group"] == "miR-137"]
    _, ll_var = restricted_mean_survival_time(KaplanMeierFitter().fit(sub["T"], sub["E"]), t=10,
                                              return_variance=True)
    assert np.sqrt(ll_var) > 2 * res.se


def _survrm2_rmst1(time, status, tau):
    """Direct transcription of survRM2's ``rmst1`` (R), with survfit replaced by lifelines' KM table."""
    kmf = KaplanMeierFitter().fit(time, status)
    tab = kmf.event_table
    ft_time = tab.index.to_numpy()[tab["removed"].to_numpy() > 0]
    surv = kmf.survival_function_at_times(ft_time).to_numpy()
    n_risk = tab.loc[ft_time, "at_risk"].to_numpy()
    n_event = tab.loc[ft_time, "observed"].to_numpy()
    idx = ft_time <= tau
    wk_time = np.sort(np.concatenate((ft_time[idx], [tau])))
    areas = np.diff(np.concatenate(([0], wk_time))) * np.concatenate(([1], surv[idx]))
    wk_var = np.where(n_risk[idx] - n_event[idx] == 0, 0,
                      n_event[idx] / (n_risk[idx] * (n_risk[idx] - n_event[idx]) + 0.0))
    wk_var = np.concatenate((wk_var, [0]))
    var = np.sum(np.cumsum(areas[1:][::-1]) ** 2 * wk_var[::-1][1:])
    return areas.sum(), np.sqrt(var)


@pytest.mark.parametrize("tau", [12, 36, 72])
@pytest.mark.parametrize("group", ["Month-to-month", "One year", "Two year"])
def test_telco_rmst_se_equals_survrm2_transcription(telco, telco_rt, group, tau):
    """RMST and SE vs a line-by-line transcription of R survRM2's ``rmst1`` (an independent implementation)."""
    sub = telco[telco["Contract"] == group]
    ref_value, ref_se = _survrm2_rmst1(sub["tenure"].to_numpy(float), (sub["Churn"] == "Yes").to_numpy(int), tau)
    res = rmst(kaplan_meier_groups(telco_rt)[group], tau)
    assert res.rmst == pytest.approx(ref_value, rel=RTOL_TEST)
    assert res.se == pytest.approx(ref_se, rel=RTOL_TEST)


def test_two_group_logrank_equals_lifelines_waltons():
    """2-group log-rank on Waltons vs ``lifelines.statistics.logrank_test``."""
    w = load_waltons()
    a, b = w[w["group"] == "control"], w[w["group"] == "miR-137"]
    ref = ll_logrank(a["T"], b["T"], a["E"], b["E"])
    res = logrank_test(risk_table_from_arrays(w["T"], w["E"], w["group"]))
    assert res.statistic == pytest.approx(ref.test_statistic, rel=RTOL_TEST)
    assert res.p_value == pytest.approx(ref.p_value, rel=RTOL_TEST)


def test_engine_risk_table_equals_numpy(telco, telco_rt):
    """The DuckDB aggregation equals the NumPy one (same counts, exactly)."""
    ref = risk_table_from_arrays(telco["tenure"], (telco["Churn"] == "Yes").astype(int), telco["Contract"])
    pd.testing.assert_frame_equal(telco_rt.to_frame(), ref.to_frame())


def test_does_not_mutate_input(telco):
    before = telco.copy()
    risk_table(telco, "tenure", "Churn", event_value="Yes", group="Contract")
    pd.testing.assert_frame_equal(telco, before)


def test_invariant_to_row_order_and_group_relabelling(telco):
    a = risk_table(telco, "tenure", "Churn", event_value="Yes", group="Contract")
    shuffled = telco.sample(frac=1.0, random_state=np.random.default_rng(3).integers(1 << 31)).assign(
        Contract=lambda d: d["Contract"].map({"Month-to-month": "m", "One year": "o", "Two year": "t"}))
    b = risk_table(shuffled, "tenure", "Churn", event_value="Yes", group="Contract")
    assert logrank_test(a).statistic == pytest.approx(logrank_test(b).statistic, rel=1e-12)
    np.testing.assert_array_equal(a.events["One year"], b.events["o"])


# --- bad input ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("frame", "kwargs", "needle"),
    [
        (pd.DataFrame({"t": [1.0, -2.0], "e": [1, 0]}), {}, "negative duration"),
        (pd.DataFrame({"t": [1.0, None], "e": [1, 0]}), {}, "missing duration"),
        (pd.DataFrame({"t": [1.0, 2.0], "e": [1, 2]}), {}, "must be coded 0/1"),
        (pd.DataFrame({"t": [1.0, 2.0], "e": ["Yes", "No"]}), {}, "--event-value"),
        (pd.DataFrame({"t": [1.0, 2.0, 3.0], "e": ["Yes", "No", "Maybe"]}), {"event_value": "Yes"}, "more than two"),
        (pd.DataFrame({"t": [1.0, 2.0], "e": ["No", "No"]}), {"event_value": "Yes"}, "never equals"),
        (pd.DataFrame({"t": [1.0, 2.0], "e": [1, None]}), {}, "missing event"),
        (pd.DataFrame({"t": ["a", "b"], "e": [1, 0]}), {}, "numeric duration"),
        (pd.DataFrame({"t": [1.0, 2.0], "e": [1, 0]}), {"group": "arm"}, "'arm' is not in the data"),
    ],
)
def test_bad_input_names_column_and_fix(frame, kwargs, needle):
    with pytest.raises(SurvivalDataError, match=needle):
        risk_table(frame, "t", "e", **kwargs)


def test_group_without_events_is_refused_by_logrank_only_when_all_empty():
    rt = risk_table_from_arrays([1, 2, 3, 4], [0, 0, 0, 0], ["a", "a", "b", "b"])
    with pytest.raises(ModelError, match="no churn event"):
        logrank_test(rt)


def test_horizon_beyond_follow_up_says_what_is_extrapolated():
    rt = risk_table_from_arrays([1, 2, 3, 4], [1, 0, 1, 0])
    curve = kaplan_meier_groups(rt)["all"]
    with pytest.raises(HorizonError, match=r"beyond the last observed time 4.*flat at S = 0.375 for 6"):
        rmst(curve, 10)
    with pytest.raises(HorizonError, match="beyond the last observed duration 4"):
        survival_at(curve, [5])


# --- seeded simulations ---------------------------------------------------------------------------------------------

def _exp_arms(rng, n, rate_a, rate_b, follow_up):
    t = np.concatenate((rng.exponential(1 / rate_a, n), rng.exponential(1 / rate_b, n)))
    c = rng.uniform(0, follow_up * 1.5, 2 * n)
    obs = np.minimum(np.minimum(t, c), follow_up)
    ev = ((t <= c) & (t <= follow_up)).astype(int)
    return np.round(obs, 2), ev, np.repeat(["a", "b"], n)


@pytest.mark.slow
def test_logrank_false_positive_rate_is_nominal():
    """Under equal hazards the 5% log-rank test rejects 4–6% of 4,000 simulated experiments."""
    rng = np.random.default_rng(20261122)
    n_sim = 4000
    rejections = 0
    for _ in range(n_sim):
        t, e, g = _exp_arms(rng, 200, 0.1, 0.1, 12)
        rejections += logrank_test(risk_table_from_arrays(t, e, g)).p_value < 0.05
    assert 0.04 <= rejections / n_sim <= 0.06


@pytest.mark.slow
def test_rmst_difference_ci_coverage():
    """95% CI of the RMST difference covers the true value (exponential closed form) in 93–97% of 3,000 runs."""
    rng = np.random.default_rng(7)
    rate_a, rate_b, tau = 0.08, 0.12, 10.0
    truth = (1 - np.exp(-rate_a * tau)) / rate_a - (1 - np.exp(-rate_b * tau)) / rate_b
    covered = 0
    n_sim = 3000
    for _ in range(n_sim):
        t, e, g = _exp_arms(rng, 300, rate_a, rate_b, 12)
        curves = kaplan_meier_groups(risk_table_from_arrays(t, e, g))
        diff = rmst_difference(rmst(curves["a"], tau), rmst(curves["b"], tau))
        covered += diff.lower <= truth <= diff.upper
    assert 0.93 <= covered / n_sim <= 0.97


def test_pooling_group_risk_tables_equals_ungrouped(telco, telco_rt):
    """Risk tables add: pooling the per-contract tables gives the ungrouped table and the same curve."""
    whole = risk_table(telco, "tenure", "Churn", event_value="Yes")
    pooled = telco_rt.pooled()
    pd.testing.assert_frame_equal(pooled.to_frame(), whole.to_frame())
    a, b = kaplan_meier_groups(pooled)["all"], kaplan_meier_groups(whole)["all"]
    np.testing.assert_array_equal(a.survival, b.survival)

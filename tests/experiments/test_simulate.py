"""Tests of the operator simulator: determinism, schema, internal consistency, and recovery of the analytic truth.

The simulator is checked three ways:

* its closed-form survival arithmetic against independent numerics (``scipy.integrate.quad``) and against
  lifelines' Kaplan–Meier and Cox estimators fitted to the sampled times;
* its sampled outcomes against its own analytic truth (``truth.json`` / ``truth_effects``) within sampling error;
* its panel against pyfixest's two-stage DiD (Gardner 2021) and two-way fixed effects.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments.cli import app
from experiments.simulate.config import (
    ARMS,
    FEATURES,
    MIN_SUBSCRIBERS,
    NO_CONTRACT_DAYS,
    OUTPUT_FILES,
    PLANS,
    SimulationConfig,
    SimulationConfigError,
)
from experiments.simulate.hazard import (
    cumulative_hazard,
    invert_cumulative_hazard,
    restricted_mean,
    survival_probability,
)
from experiments.simulate.operator import simulate_operator
from experiments.simulate.output import write_simulation
from experiments.spec.models import load_design

SEED = 20260701
N_LARGE = 150_000  # enough for 4-SE checks of effects of a few percentage points
Z_TOL = 4.0  # |estimate - truth| < 4 standard errors: a seeded test with a ~6e-5 two-sided false-alarm rate
RTOL_QUAD = 1e-8  # closed form vs adaptive quadrature of the same integral: float noise only


@pytest.fixture(scope="module")
def sim():
    return simulate_operator(n_subscribers=N_LARGE, rng=SEED)


@pytest.fixture(scope="module")
def small():
    return simulate_operator(n_subscribers=5_000, rng=11)


# ---------------------------------------------------------------------------------------------------------------
# Determinism and configuration
# ---------------------------------------------------------------------------------------------------------------

FRAMES = ("subscribers", "experiment", "panel", "truth_effects")


@pytest.mark.parametrize("frame", FRAMES)
def test_same_seed_gives_identical_frames(small, frame):
    again = simulate_operator(n_subscribers=5_000, rng=11)
    pd.testing.assert_frame_equal(getattr(small, frame), getattr(again, frame))
    assert small.truth == again.truth


@pytest.mark.parametrize("frame", FRAMES)
def test_different_seed_gives_different_frames(small, frame):
    other = simulate_operator(n_subscribers=5_000, rng=12)
    assert not getattr(small, frame).equals(getattr(other, frame))


def test_generator_is_accepted_and_deterministic():
    a = simulate_operator(n_subscribers=2_000, rng=np.random.default_rng(5))
    b = simulate_operator(n_subscribers=2_000, rng=np.random.default_rng(5))
    pd.testing.assert_frame_equal(a.experiment, b.experiment)
    assert a.truth["seed"] is None  # a generator's seed is unknown to the simulator


def test_unseeded_run_records_a_seed_that_reproduces_it():
    a = simulate_operator(n_subscribers=2_000)
    assert isinstance(a.truth["seed"], int)
    b = simulate_operator(n_subscribers=2_000, rng=a.truth["seed"])
    pd.testing.assert_frame_equal(a.experiment, b.experiment)


def test_does_not_touch_global_random_state():
    # reading the legacy global state is the point of this test
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    simulate_operator(n_subscribers=1_000, rng=1)
    assert np.array_equal(before, np.random.get_state()[1])  # noqa: NPY002


def test_defaults_match_the_contract():
    cfg = SimulationConfig()
    assert cfg.n_subscribers == 200_000 and cfg.n_regions == 24 and cfg.assignment_days == 28
    assert cfg.arm_weights == (0.34, 0.33, 0.33)
    assert cfg.as_of_date == cfg.start_date + pd.Timedelta(days=180)
    assert cfg.panel_months == 24
    assert [(m, k) for m, k, _ in cfg.promo_cohorts] == [(13, 6), (16, 4), (19, 3)]


def test_overrides_and_config_combine(small):
    cfg = SimulationConfig(n_subscribers=3_000)
    out = simulate_operator(cfg, rng=1, n_regions=14)
    assert out.config.n_subscribers == 3_000 and out.config.n_regions == 14
    assert sorted(out.experiment["region"].unique()) == [f"R{i:02d}" for i in range(1, 15)]
    assert cfg.n_regions == 24  # the caller's config is unchanged


def test_unknown_setting_names_it_and_suggests():
    with pytest.raises(SimulationConfigError, match=r"'n_subscriber' is not known.*did you mean 'n_subscribers'"):
        simulate_operator(n_subscriber=5_000, rng=1)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"n_subscribers": 10}, "n_subscribers"),
        ({"arm_weights": (0.5, 0.5, 0.5)}, "arm_weights"),
        ({"n_regions": 10}, "promo_cohorts"),  # 13 promotion regions do not fit in 10
        ({"as_of": SimulationConfig().start_date}, "as_of"),
        ({"promo_cohorts": ((30, 2, 0.01),)}, "promo_cohorts"),
    ],
)
def test_bad_settings_raise_a_domain_error_naming_the_key(overrides, key):
    with pytest.raises(SimulationConfigError, match=rf"simulation setting {key}: found .*; "):
        simulate_operator(rng=1, **{"n_subscribers": 2_000, **overrides})


# ---------------------------------------------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------------------------------------------

EXPERIMENT_COLUMNS = [
    "subscriber_id", "arm", "assigned_at", *FEATURES[:3], "contract_end_date", *FEATURES[3:], "accepted",
    "churned_30d", "churned_60d", "churned_90d", "revenue_pre_90d", "revenue_90d", "time_to_churn_days",
    "churn_event", "monthly_margin",
]


def test_experiment_columns_and_dtypes(small):
    e = small.experiment
    assert list(e.columns) == EXPERIMENT_COLUMNS
    ints = ["subscriber_id", "tenure_months", "days_to_contract_end", "cs_calls_90d", "accepted", "churned_30d",
            "churned_60d", "churned_90d", "churn_event"]
    floats = ["arpu", "data_usage_ratio", "price_sensitivity", "revenue_pre_90d", "revenue_90d",
              "time_to_churn_days", "monthly_margin"]
    assert all(e[c].dtype == np.int64 for c in ints), e[ints].dtypes
    assert all(e[c].dtype == np.float64 for c in floats), e[floats].dtypes
    assert pd.api.types.is_datetime64_any_dtype(e["assigned_at"])
    assert pd.api.types.is_datetime64_any_dtype(e["contract_end_date"])
    assert e["subscriber_id"].is_unique
    assert set(e["arm"]) == set(ARMS) and set(e["plan"]) == set(PLANS)
    assert set(e["region"]) == {f"R{i:02d}" for i in range(1, 25)}


def test_subscribers_have_no_arm_and_a_latent_risk(small):
    s = small.subscribers
    assert "arm" not in s.columns and "latent_risk" in s.columns
    assert "latent_risk" not in small.experiment.columns
    pd.testing.assert_frame_equal(s.drop(columns="latent_risk"),
                                  small.experiment[["subscriber_id", *s.columns[1:-1]]])


@pytest.mark.parametrize("column", [*FEATURES, "latent_risk"])
def test_no_missing_values_in_features(small, column):
    frame = small.subscribers
    assert frame[column].notna().all()


def test_feature_ranges(small):
    e = small.experiment
    assert e["tenure_months"].min() >= 1
    assert (e["arpu"] > 0).all() and (e["data_usage_ratio"] > 0).all()
    assert e["price_sensitivity"].between(0, 1).all() and (e["cs_calls_90d"] >= 0).all()
    assert e["assigned_at"].min() == pd.Timestamp("2026-07-01")
    assert e["assigned_at"].max() == pd.Timestamp("2026-07-28")


def test_contract_end_is_consistent_with_days_to_end(small):
    e = small.experiment
    prepaid = e["plan"] == "prepaid"
    assert e.loc[prepaid, "contract_end_date"].isna().all()
    assert (e.loc[prepaid, "days_to_contract_end"] == NO_CONTRACT_DAYS).all()
    post = e[~prepaid]
    expected = pd.Timestamp(small.config.start_date) + pd.to_timedelta(post["days_to_contract_end"], unit="D")
    assert (post["contract_end_date"] == expected).all()
    assert post["days_to_contract_end"].between(0, 731).all()


def test_panel_schema_and_promo_is_absorbing(small):
    p = small.panel
    assert len(p) == 24 * 24 and not p.duplicated(["region", "month"]).any()
    assert list(p.columns[:8]) == ["region", "month", "month_start", "subscribers", "churners", "churn_rate",
                                   "promo", "promo_start"]
    assert np.allclose(p["churn_rate"], p["churners"] / p["subscribers"])
    starts = p.groupby("region")["promo_start"].first()
    counts = starts.value_counts(dropna=False)
    assert counts.loc[13] == 6 and counts.loc[16] == 4 and counts.loc[19] == 3 and starts.isna().sum() == 11
    expected_promo = (p["promo_start"].notna() & (p["month"] >= p["promo_start"].fillna(99))).astype(int)
    assert (p["promo"] == expected_promo).all()
    # absorbing: once on, never off
    assert (p.sort_values(["region", "month"]).groupby("region")["promo"].diff().dropna() >= 0).all()


def test_truth_effects_are_internally_consistent(small):
    t = small.truth_effects
    assert (t["subscriber_id"] == small.experiment["subscriber_id"]).all()
    assert (t["arm"] == small.experiment["arm"]).all()
    assert np.allclose(t["tau_flow_pack"], t["p90_flow_pack"] - t["p90_control"], rtol=0, atol=1e-15)
    assert np.allclose(t["tau_contract_discount"], t["p90_contract_discount"] - t["p90_control"], rtol=0,
                       atol=1e-15)
    for col in ("p90_control", "p90_flow_pack", "p90_contract_discount", "p_accept_discount"):
        assert t[col].between(0, 1).all()
    # the offers only lower the hazard, so they can only lower churn
    assert (t["tau_flow_pack"] <= 0).all() and (t["tau_contract_discount"] <= 0).all()
    assert math.isclose(small.truth["ate"]["flow_pack"]["churn_90d"], t["tau_flow_pack"].mean(), rel_tol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# Survival arithmetic: closed forms against independent numerics
# ---------------------------------------------------------------------------------------------------------------

WINDOWS = [(0.0, 0.0), (0.0, 25.0), (10.0, 40.0), (70.0, 130.0), (100.0, 160.0)]


@pytest.mark.parametrize(("lo", "hi"), WINDOWS)
def test_restricted_mean_matches_quadrature(lo, hi):
    """Reference: scipy.integrate.quad of S(t) = exp(-H(t)), an independent numerical integral."""
    from scipy.integrate import quad

    rate, bump = np.array([0.004]), 2.5
    expected, _ = quad(lambda s: float(survival_probability(s, rate, bump, np.array([lo]), np.array([hi]))[0]),
                       0, 90, points=[p for p in (lo, hi) if 0 < p < 90], epsabs=1e-12, epsrel=1e-12)
    got = float(restricted_mean(90.0, rate, bump, np.array([lo]), np.array([hi]))[0])
    assert got == pytest.approx(expected, rel=RTOL_QUAD)


@pytest.mark.parametrize(("lo", "hi"), WINDOWS)
def test_cumulative_hazard_matches_quadrature_of_the_hazard(lo, hi):
    """Reference: scipy.integrate.quad of the piecewise-constant hazard itself."""
    from scipy.integrate import quad

    rate, bump = 0.004, 2.5
    expected, _ = quad(lambda s: rate * (bump if lo <= s < hi else 1.0), 0, 120,
                       points=[p for p in (lo, hi) if 0 < p < 120], epsabs=1e-13)
    got = float(cumulative_hazard(120.0, np.array([rate]), bump, np.array([lo]), np.array([hi]))[0])
    assert got == pytest.approx(expected, rel=RTOL_QUAD)


def test_inverse_cumulative_hazard_round_trips():
    rng = np.random.default_rng(3)
    n = 10_000
    rate = rng.uniform(1e-4, 1e-2, n)
    lo = rng.uniform(0, 100, n)
    hi = lo + rng.uniform(0, 60, n)
    target = rng.exponential(1.0, n)
    t = invert_cumulative_hazard(target, rate, 2.0, lo, hi)
    assert np.allclose(cumulative_hazard(t, rate, 2.0, lo, hi), target, rtol=1e-10, atol=0)


# ---------------------------------------------------------------------------------------------------------------
# Outcomes: consistency and recovery of the truth
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("horizon", [30, 60, 90])
def test_churned_flags_agree_with_time_to_churn(sim, horizon):
    e = sim.experiment
    expected = ((e["churn_event"] == 1) & (e["time_to_churn_days"] <= horizon)).astype(np.int64)
    assert (e[f"churned_{horizon}d"] == expected).all()


def test_censoring_is_at_the_extract_date(sim):
    e = sim.experiment
    follow_up = (pd.Timestamp(sim.config.as_of_date) - e["assigned_at"]).dt.days
    censored = e["churn_event"] == 0
    assert (e.loc[censored, "time_to_churn_days"] == follow_up[censored]).all()
    assert (e.loc[~censored, "time_to_churn_days"] <= follow_up[~censored]).all()
    assert (e["time_to_churn_days"] > 0).all()
    assert (e["churned_30d"] <= e["churned_60d"]).all() and (e["churned_60d"] <= e["churned_90d"]).all()


def test_an_early_extract_shows_only_what_has_happened():
    """With as_of 45 days after the start, follow-up is 18..45 days: nothing after as_of is visible, 90-day flags
    equal what has been observed so far, and revenue stops at as_of."""
    start = SimulationConfig().start_date
    s = simulate_operator(n_subscribers=20_000, rng=8, as_of=start + pd.Timedelta(days=45))
    e = s.experiment
    follow_up = (pd.Timestamp(s.config.as_of_date) - e["assigned_at"]).dt.days
    assert follow_up.between(18, 45).all()
    assert (e["time_to_churn_days"] <= follow_up).all()
    assert (e["churned_90d"] == e["churn_event"]).all() and (e["churned_60d"] == e["churn_event"]).all()
    assert (e["revenue_90d"] <= e["arpu"] * 45 / 30.4375 * np.exp(5 * 0.15)).all()
    # the mature truth is still reported, and it is larger than what the immature extract shows
    assert e["churned_90d"].mean() < s.truth["control"]["churn_90d"]
    assert s.truth["as_of"] == (start + pd.Timedelta(days=45)).isoformat()


def test_revenue_is_lower_for_early_churners(sim):
    e = sim.experiment
    ratio = e["revenue_90d"] / e["revenue_pre_90d"]
    assert ratio[e["churned_30d"] == 1].mean() < 0.5 * ratio[e["churned_90d"] == 0].mean()
    # revenue_pre_90d is a strong CUPED covariate
    assert np.corrcoef(e["revenue_pre_90d"], e["revenue_90d"])[0, 1] > 0.7


@pytest.mark.parametrize("arm", ARMS)
def test_arm_shares_match_weights(sim, arm):
    n = len(sim.experiment)
    w = dict(zip(ARMS, sim.config.arm_weights, strict=True))[arm]
    share = (sim.experiment["arm"] == arm).mean()
    assert abs(share - w) < Z_TOL * math.sqrt(w * (1 - w) / n)


BALANCE = ["tenure_months", "arpu", "data_usage_ratio", "cs_calls_90d", "price_sensitivity",
           "days_to_contract_end", "latent_risk"]


@pytest.mark.parametrize("arm", ARMS[1:])
@pytest.mark.parametrize("column", BALANCE)
def test_covariates_are_balanced(sim, arm, column):
    x = sim.subscribers[column].to_numpy(float)
    a, c = x[sim.experiment["arm"] == arm], x[sim.experiment["arm"] == "control"]
    se = math.sqrt(a.var(ddof=1) / len(a) + c.var(ddof=1) / len(c))
    assert abs(a.mean() - c.mean()) < Z_TOL * se


@pytest.mark.parametrize("arm", ARMS)
def test_control_and_arm_levels_match_truth(sim, arm):
    """Simulated churn within 90 days per arm vs the analytic mean probability (seeded truth recovery)."""
    y = sim.experiment.loc[sim.experiment["arm"] == arm, "churned_90d"]
    p = sim.truth_effects.loc[sim.experiment["arm"] == arm, f"p90_{arm}"]
    se = math.sqrt(p.mean() * (1 - p.mean()) / len(y))
    assert abs(y.mean() - p.mean()) < Z_TOL * se


@pytest.mark.parametrize("arm", ARMS[1:])
@pytest.mark.parametrize("metric", ["churn_30d", "churn_60d", "churn_90d", "revenue_90d"])
def test_difference_in_means_recovers_the_analytic_ate(sim, arm, metric):
    """The difference in means (Neyman SE) lands within 4 SE of truth.json's analytic sample ATE."""
    col = {"churn_30d": "churned_30d", "churn_60d": "churned_60d", "churn_90d": "churned_90d"}.get(metric, metric)
    e = sim.experiment
    y1, y0 = e.loc[e["arm"] == arm, col], e.loc[e["arm"] == "control", col]
    diff = y1.mean() - y0.mean()
    se = math.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))
    truth = sim.truth["ate"][arm][metric]
    assert abs(diff - truth) < Z_TOL * se, (diff, truth, se)


def test_effect_sizes_are_in_the_specified_range(sim):
    t = sim.truth
    assert 0.12 <= t["control"]["churn_90d"] <= 0.18
    assert -0.03 <= t["ate"]["flow_pack"]["churn_90d"] <= -0.01
    assert -0.04 <= t["ate"]["contract_discount"]["churn_90d"] <= -0.02
    assert t["ate"]["contract_discount"]["revenue_90d"] < 0  # the discount costs revenue


def test_acceptance_only_in_treated_arms(sim):
    e = sim.experiment
    assert (e.loc[e["arm"] == "control", "accepted"] == 0).all()
    for arm in ARMS[1:]:
        assert e.loc[e["arm"] == arm, "accepted"].mean() > 0.2


@pytest.mark.parametrize(("arm", "prob"), [("flow_pack", "p_accept_flow_pack"),
                                          ("contract_discount", "p_accept_discount")])
def test_acceptance_rate_matches_truth(sim, arm, prob):
    rows = sim.experiment["arm"] == arm
    got = sim.experiment.loc[rows, "accepted"].mean()
    p = sim.truth_effects.loc[rows, prob]
    se = math.sqrt((p * (1 - p)).sum()) / rows.sum()
    assert abs(got - p.mean()) < Z_TOL * se


def test_discount_acceptance_rises_with_price_sensitivity_and_churn_intent(sim):
    t, s = sim.truth_effects, sim.subscribers
    assert np.corrcoef(t["p_accept_discount"], s["price_sensitivity"])[0, 1] > 0.3
    assert np.corrcoef(t["p_accept_discount"], t["p90_control"])[0, 1] > 0.1


def test_flow_pack_helps_heavy_data_users(sim):
    t, e = sim.truth_effects, sim.experiment
    heavy = e["data_usage_ratio"] > 1
    assert t.loc[heavy, "tau_flow_pack"].mean() < 3 * t.loc[~heavy, "tau_flow_pack"].mean()
    light = e["data_usage_ratio"] < 0.6
    assert t.loc[light, "tau_flow_pack"].mean() > -0.01  # near zero for light users


def test_discount_helps_near_contract_end(sim):
    t, e = sim.truth_effects, sim.experiment
    near = e["days_to_contract_end"] <= 90
    far = (e["days_to_contract_end"] > 180) & (e["plan"] != "prepaid")
    assert t.loc[near, "tau_contract_discount"].mean() < 1.5 * t.loc[far, "tau_contract_discount"].mean()


@pytest.mark.parametrize(("arm", "split"), [("flow_pack", "heavy"), ("contract_discount", "near_end")])
def test_subgroup_effects_are_recovered_from_the_data(sim, arm, split):
    """In the subgroup where the effect is concentrated, the difference in means matches the subgroup truth."""
    e, t = sim.experiment, sim.truth_effects
    sub = e["data_usage_ratio"] > 1 if split == "heavy" else e["days_to_contract_end"] <= 90
    y1 = e.loc[sub & (e["arm"] == arm), "churned_90d"]
    y0 = e.loc[sub & (e["arm"] == "control"), "churned_90d"]
    se = math.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))
    truth = t.loc[sub, f"tau_{arm}"].mean()
    assert abs((y1.mean() - y0.mean()) - truth) < Z_TOL * se
    assert (y1.mean() - y0.mean()) < 0  # detectable in the data, not only in the truth


# ---------------------------------------------------------------------------------------------------------------
# External references: lifelines on the sampled survival times
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("day", [30, 60, 90, 150])
def test_kaplan_meier_of_control_matches_the_analytic_curve(sim, day):
    """Reference: lifelines.KaplanMeierFitter on the control arm's observed (time, event) vs the mean analytic
    survival S0(day) of the same subscribers, rebuilt from the documented DGP. Nobody is censored before day 153
    (follow-up is as_of - assigned_at >= 153), so the KM estimate is a binomial proportion with SE sqrt(S(1-S)/n)."""
    from lifelines import KaplanMeierFitter

    rows = (sim.experiment["arm"] == "control").to_numpy()
    e = sim.experiment[rows]
    km = KaplanMeierFitter().fit(e["time_to_churn_days"], e["churn_event"])
    s_km = float(km.survival_function_at_times(day).iloc[0])
    s_true = float(np.mean(1 - _p_control(sim, day)[rows]))
    se = math.sqrt(s_true * (1 - s_true) / rows.sum())
    assert abs(s_km - s_true) < Z_TOL * se


def _p_control(s, day):
    """Control churn probability by `day`, rebuilt with the public survival helpers from the documented DGP."""
    cfg = s.config
    sub, e = s.subscribers, s.experiment
    region_effect = _region_effects(s)
    promo_regions = set(sum((v["regions"] for v in s.truth["promo"]["cohorts"].values()), []))
    plan_idx = sub["plan"].map({p: i for i, p in enumerate(PLANS)}).to_numpy()
    median = np.asarray(cfg.arpu_median)[plan_idx]
    u = sub["data_usage_ratio"].to_numpy()
    lin = (cfg.baseline_log_hazard + cfg.beta_tenure * np.log(sub["tenure_months"] / 24.0)
           + np.asarray(cfg.plan_log_hazard)[plan_idx] + cfg.beta_arpu * np.log(sub["arpu"] / median)
           + cfg.beta_calls * np.minimum(sub["cs_calls_90d"], cfg.calls_cap)
           + cfg.beta_light_use * np.minimum(u, 1.0) + cfg.beta_over_quota * np.clip(u - 1.0, 0.0, 1.0)
           + sub["region"].map(region_effect).to_numpy()
           + cfg.promo_log_hazard * sub["region"].isin(promo_regions).to_numpy()
           + cfg.beta_latent * sub["latent_risk"].to_numpy())
    rate = np.exp(lin.to_numpy() if hasattr(lin, "to_numpy") else lin) / 30.4375
    offset = (e["assigned_at"] - pd.Timestamp(cfg.start_date)).dt.days.to_numpy()
    to_end = (sub["days_to_contract_end"].to_numpy() - offset).astype(float)
    post = (sub["plan"] != "prepaid").to_numpy()
    lo = np.where(post, np.maximum(to_end - cfg.contract_end_before, 0.0), 0.0)
    hi = np.where(post, np.maximum(to_end + cfg.contract_end_after, 0.0), 0.0)
    return 1 - survival_probability(float(day), rate, math.exp(cfg.contract_end_log_bump), lo, hi)


def _region_effects(s):
    base = s.config.panel_base_churn
    return {r: math.log(level / base) for r, level in s.truth["promo"]["region_level"].items()}


@pytest.mark.parametrize("arm", ARMS)
def test_kaplan_meier_of_each_arm_matches_the_true_curve(sim, arm):
    """Reference: lifelines.KaplanMeierFitter per arm vs truth.json's analytic mean survival curve (the curve a
    survival analysis should recover). Days up to 150 only: nobody is censored before day 153, so the KM estimate
    is a binomial proportion with SE sqrt(S(1-S)/n)."""
    from lifelines import KaplanMeierFitter

    curve = sim.truth["survival"]["curve"]
    e = sim.experiment[sim.experiment["arm"] == arm]
    km = KaplanMeierFitter().fit(e["time_to_churn_days"], e["churn_event"])
    days = [d for d in curve["days"] if d <= 150]
    got = km.survival_function_at_times(days).to_numpy()
    truth = np.asarray(curve[arm][: len(days)])
    se = np.sqrt(truth * (1 - truth) / len(e))
    assert np.all(np.abs(got - truth) < Z_TOL * se), (got, truth)
    assert np.all(np.diff(curve[arm]) < 0)  # a survival curve decreases


def test_true_curves_and_rmst_order_the_arms(sim):
    surv = sim.truth["survival"]
    for arm in ARMS[1:]:
        assert all(t < c for t, c in zip(surv["curve"]["control"], surv["curve"][arm], strict=True))
        assert surv["rmst_150d_days"][arm] > surv["rmst_150d_days"]["control"]
    day90 = surv["curve"]["days"].index(90)
    assert math.isclose(1 - surv["curve"]["control"][day90], sim.truth["control"]["churn_90d"], rel_tol=1e-12)


def test_documented_dgp_reproduces_the_truth(sim):
    """Rebuilding p90_control from the documented formulas and public parameters gives the simulator's truth."""
    p = _p_control(sim, 90)
    assert np.allclose(p, sim.truth_effects["p90_control"], rtol=1e-9, atol=0)


@pytest.mark.slow
def test_cox_model_recovers_the_hazard_coefficients():
    """Reference: lifelines.CoxPHFitter on the control arm of a simulation without the contract-end bump, where the
    hazard is exactly proportional and log-linear in the documented covariate transforms; every coefficient must
    be within 4 SE of the configured value."""
    from lifelines import CoxPHFitter

    s = simulate_operator(n_subscribers=60_000, rng=99, contract_end_log_bump=0.0, arm_weights=(0.98, 0.01, 0.01))
    cfg = s.config
    rows = (s.experiment["arm"] == "control").to_numpy()
    sub, e = s.subscribers[rows], s.experiment[rows]
    u = sub["data_usage_ratio"]
    x = pd.DataFrame({
        "log_tenure": np.log(sub["tenure_months"] / 24.0),
        "prepaid": (sub["plan"] == "prepaid").astype(float),
        "premium": (sub["plan"] == "postpaid_premium").astype(float),
        "log_arpu": np.log(sub["arpu"] / sub["plan"].map(dict(zip(PLANS, cfg.arpu_median, strict=True)))),
        "calls": np.minimum(sub["cs_calls_90d"], cfg.calls_cap).astype(float),
        "light": np.minimum(u, 1.0),
        "over": np.clip(u - 1.0, 0.0, 1.0),
        "latent": sub["latent_risk"],
        "T": e["time_to_churn_days"], "E": e["churn_event"],
    })
    # Region effects (and the promotion term, constant within a region) drop out of the partial likelihood when
    # the baseline hazard is stratified by region.
    x["region"] = sub["region"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter().fit(x, "T", "E", strata=["region"])
    expected = {
        "log_tenure": cfg.beta_tenure, "prepaid": cfg.plan_log_hazard[0] - cfg.plan_log_hazard[1],
        "premium": cfg.plan_log_hazard[2] - cfg.plan_log_hazard[1], "log_arpu": cfg.beta_arpu,
        "calls": cfg.beta_calls, "light": cfg.beta_light_use, "over": cfg.beta_over_quota,
        "latent": cfg.beta_latent,
    }
    z = {k: (cph.params_[k] - v) / cph.standard_errors_[k] for k, v in expected.items()}
    assert all(abs(v) < Z_TOL for v in z.values()), z


# ---------------------------------------------------------------------------------------------------------------
# Panel: the competitor's promotion
# ---------------------------------------------------------------------------------------------------------------


def test_promo_truth_is_heterogeneous_and_biases_twfe(sim):
    promo = sim.truth["promo"]
    assert promo["att_overall"] > 0
    by_cohort = promo["att_by_cohort"]
    assert len(set(round(v, 10) for v in by_cohort.values())) == 3  # differs by cohort
    event = promo["att_by_event_time"]
    assert event[5] > event[0]  # grows with time since start
    # heterogeneity with staggered timing makes TWFE converge to something else than the ATT
    assert abs(promo["twfe_estimand"] / promo["att_overall"] - 1) > 0.10


def test_promo_att_table_agrees_with_the_panel(sim):
    p = sim.panel
    promo = sim.truth["promo"]
    treated = p[p["promo"] == 1]
    # every treated region-month has its cohort x event-time entry, and their average is the overall ATT
    cohort = treated["promo_start"].astype(int)
    pairs = list(zip(cohort, treated["month"] - cohort, strict=True))
    table = promo["att_by_cohort_event_time"]
    assert set(pairs) == {(c, e) for c, row in table.items() for e in row}
    effects = [table[c][e] for c, e in pairs]
    assert math.isclose(np.mean(effects), promo["att_overall"], rel_tol=1e-12)


def test_promo_effect_is_recovered_by_did2s_and_twfe_is_biased_as_predicted(sim):
    """Reference: pyfixest.did2s (Gardner 2021 two-stage DiD, region-clustered SE) recovers truth.json's ATT;
    pyfixest.feols two-way fixed effects lands on the analytic TWFE estimand instead."""
    import pyfixest as pf

    p = sim.panel.assign(treat=sim.panel["promo"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        did = pf.did2s(p, yname="churn_rate", first_stage="~0|region+month", second_stage="~treat",
                       treatment="treat", cluster="region")
        twfe = pf.feols("churn_rate~treat|region+month", data=p, vcov={"CRV1": "region"})
    promo = sim.truth["promo"]
    assert abs(did.coef()["treat"] - promo["att_overall"]) < Z_TOL * did.se()["treat"]
    assert abs(twfe.coef()["treat"] - promo["twfe_estimand"]) < Z_TOL * twfe.se()["treat"]


def test_promo_event_study_is_recovered_by_did2s(sim):
    """Reference: pyfixest.did2s with one dummy per event time 0..11 (imputation of the untreated outcome from
    region and month effects fitted on untreated cells, Gardner 2021); each coefficient must be within 4
    region-clustered SE of truth.json's att_by_event_time (the mean effect over treated region-months at that
    event time)."""
    import pyfixest as pf

    p = sim.panel.assign(treat=sim.panel["promo"])
    event = (p["month"] - p["promo_start"].fillna(0).astype(int)).where(p["promo"] == 1, -1)
    truth = sim.truth["promo"]["att_by_event_time"]
    names = [f"e{e}" for e in sorted(truth)]
    p = p.assign(**{f"e{e}": ((p["promo"] == 1) & (event == e)).astype(int) for e in truth})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.did2s(p, yname="churn_rate", first_stage="~0|region+month", second_stage="~0+" + "+".join(names),
                       treatment="treat", cluster="region")
    z = {e: (fit.coef()[f"e{e}"] - truth[e]) / fit.se()[f"e{e}"] for e in truth}
    assert len(z) == 12 and all(abs(v) < Z_TOL for v in z.values()), z


# ---------------------------------------------------------------------------------------------------------------
# Files and CLI
# ---------------------------------------------------------------------------------------------------------------


def test_write_simulation_files_and_design(tmp_path, small):
    paths = write_simulation(small, tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == sorted(OUTPUT_FILES)
    design = load_design(paths["design"])
    assert Path(design.resolve(design.data.source)) == paths["experiment"].resolve()
    assert design.data.as_of == small.config.as_of_date
    assert design.arms["flow_pack"].cost.per_offer == 6.0
    assert design.arms["contract_discount"].cost.per_acceptance == 96.0
    assert design.metric("churn_90d").maturity_days == 90 and design.metric("churn_90d").role == "primary"
    guard = design.metric("revenue_90d")
    assert guard.role == "guardrail" and guard.covariate == "revenue_pre_90d"
    assert guard.non_inferiority.margin == -0.02 and guard.non_inferiority.relative
    assert design.analysis.correction == "holm" and design.value.horizon_months == 24
    experiment = pd.read_parquet(paths["experiment"])
    assert design.value.margin in experiment.columns
    for m in design.metrics:
        assert m.column in experiment.columns
    truth = json.loads(paths["truth"].read_text())
    assert truth["n"] == 5_000 and truth["as_of"] == "2026-12-28"
    # population, strata and uplift sections name columns that exist (and features without missing values)
    assert Path(design.resolve(design.population.source)) == paths["subscribers"].resolve()
    subscribers = pd.read_parquet(paths["subscribers"])
    assert set(design.population.covariates) <= set(subscribers.columns)
    assert set(design.strata) <= set(subscribers.columns)
    assert design.uplift.metric == "churn_90d"
    assert design.power.baseline == round(small.truth["control"]["churn_90d"], 2) and design.power.mde == 0.02
    assert experiment[design.uplift.features + design.uplift.segments].notna().all().all()


def test_design_renders_overridden_weights_as_plain_numbers(tmp_path):
    sim = simulate_operator(n_subscribers=1_000, rng=1, arm_weights=tuple(np.array([0.5, 0.25, 0.25])))
    paths = write_simulation(sim, tmp_path)
    design = load_design(paths["design"])
    assert design.arms["control"].weight == 0.5 and design.arms["flow_pack"].weight == 0.25


@pytest.mark.parametrize("name", ["subscribers", "experiment", "panel", "truth_effects"])
def test_parquet_round_trip(tmp_path, small, name):
    import pyarrow.parquet as pq

    paths = write_simulation(small, tmp_path / "out")
    schema = pq.read_schema(paths[name])
    for col in ("assigned_at", "contract_end_date", "month_start"):
        if col in schema.names:
            assert str(schema.field(col).type) == "date32[day]"
    back = pd.read_parquet(paths[name])
    frame = getattr(small, name)
    assert list(back.columns) == list(frame.columns) and len(back) == len(frame)
    numeric = frame.select_dtypes("number").columns
    pd.testing.assert_frame_equal(back[numeric], frame[numeric], check_dtype=False)


def test_write_refuses_to_overwrite(tmp_path, small):
    from experiments.errors import OutputExistsError

    write_simulation(small, tmp_path)
    before = (tmp_path / "truth.json").read_bytes()
    other = simulate_operator(n_subscribers=1_000, rng=2)
    with pytest.raises(OutputExistsError, match="--force"):
        write_simulation(other, tmp_path)
    assert (tmp_path / "truth.json").read_bytes() == before
    write_simulation(other, tmp_path, force=True)
    assert json.loads((tmp_path / "truth.json").read_text())["n"] == 1_000


runner = CliRunner()


def _invoke(args):
    return runner.invoke(app, args)


def test_cli_writes_files_and_prints_a_summary(tmp_path):
    out = tmp_path / "sim"
    res = _invoke(["simulate", "--out", str(out), "--subscribers", "3000", "--seed", "4"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    assert "control" in res.output and "flow_pack" in res.output
    assert json.loads((out / "truth.json").read_text())["seed"] == 4
    expected = simulate_operator(n_subscribers=3000, rng=4)
    back = pd.read_parquet(out / "truth_effects.parquet")
    assert np.array_equal(back["tau_flow_pack"].to_numpy(), expected.truth_effects["tau_flow_pack"].to_numpy())
    load_design(out / "design.yaml")


def test_cli_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "sim"
    assert _invoke(["simulate", "--out", str(out), "--subscribers", "1000", "--seed", "1"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    res = _invoke(["simulate", "--out", str(out), "--subscribers", "1000", "--seed", "2"])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "already exists" in lines[0] and "--force" in lines[0]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    res = _invoke(["simulate", "--out", str(out), "--subscribers", "1000", "--seed", "2", "--force"])
    assert res.exit_code == 0
    assert json.loads((out / "truth.json").read_text())["seed"] == 2


@pytest.mark.parametrize(("args", "needle"), [
    (["--subscribers", str(MIN_SUBSCRIBERS - 1)], "--subscribers"),
    (["--subscribers", "20000001"], "--subscribers"),
    (["--seed", "-3"], "--seed"),
])
def test_cli_bad_flags_exit_2_with_one_line_and_no_files(tmp_path, args, needle):
    out = tmp_path / "sim"
    res = _invoke(["simulate", "--out", str(out), *args])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and lines[0].startswith("error:")
    assert not out.exists() or not any(out.iterdir())


def test_cli_out_is_a_file(tmp_path):
    f = tmp_path / "taken"
    f.write_text("x")
    res = _invoke(["simulate", "--out", str(f), "--subscribers", "1000"])
    assert res.exit_code == 2 and "not a folder" in res.stderr
    assert f.read_text() == "x"


def test_config_is_a_frozen_dataclass():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SimulationConfig().n_subscribers = 5  # type: ignore[misc]


def test_docstring_examples_run():
    import doctest

    from experiments.simulate import config, hazard, operator, output

    results = [doctest.testmod(module) for module in (config, hazard, operator, output)]
    assert sum(r.attempted for r in results) >= 9 and sum(r.failed for r in results) == 0

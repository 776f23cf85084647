"""A realistic, analytically tractable simulator of a mobile operator running a 3-arm retention experiment.

The data-generating process is documented with its formulas in ``docs/simulator.md``. In short:

* **Subscribers** (the eligible population): region, tenure, plan, contract end, ARPU, data usage against quota,
  customer-service calls, price sensitivity and a latent risk that no analyst sees.
* **Time to churn** follows a piecewise-constant hazard per subscriber: a log-linear baseline in the covariates, a
  bump in the window around the contract end, and a treatment that multiplies the hazard once the offer is taken
  (the flow pack helps subscribers who exceed their data quota; the contract discount helps subscribers near the end
  of their contract and is taken more often by price-sensitive subscribers who intend to leave).
* Because the hazard is piecewise constant, the survival function of every subscriber under every arm is known in
  closed form, so the true 30/60/90-day churn probabilities, individual effects and average effects are exact
  (:func:`survival_probability`, :func:`restricted_mean`), not Monte Carlo estimates.
* **Panel**: region × month churn counts in which a competitor's promotion starts in some regions at different
  months (staggered adoption) with effects that grow with time since start and differ by cohort.

Everything is drawn from ``numpy.random.Generator`` streams spawned from one seed; nothing is seeded globally.

Examples
--------
>>> sim = simulate_operator(n_subscribers=2_000, rng=7)
>>> sorted(sim.experiment["arm"].unique())
['contract_discount', 'control', 'flow_pack']
>>> bool(sim.truth["ate"]["flow_pack"]["churn_90d"] < 0)
True
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from experiments.errors import close_matches
from experiments.simulate.config import (
    ARMS,
    CURVE_DAYS,
    DAYS_PER_MONTH,
    HORIZONS,
    NO_CONTRACT_DAYS,
    PLANS,
    SimulationConfig,
    SimulationConfigError,
)
from experiments.simulate.hazard import cumulative_hazard, invert_cumulative_hazard, restricted_mean, sigmoid


@dataclass(frozen=True, slots=True)
class Simulation:
    """The output of :func:`simulate_operator`.

    Attributes
    ----------
    config : SimulationConfig
        The settings used.
    subscribers : pandas.DataFrame
        The eligible population, one row per subscriber, no arm (columns in ``docs/simulator.md``).
    experiment : pandas.DataFrame
        One row per subscriber: arm, assignment date, covariates, acceptance and outcomes.
    panel : pandas.DataFrame
        Region × month churn counts with the competitor's promotion.
    truth_effects : pandas.DataFrame
        Per subscriber: true 90-day churn probability under each arm, individual effects, acceptance
        probabilities. For tests only.
    truth : dict
        JSON-able true average effects, promotion ATTs and hazard-model parameters (written to ``truth.json``).
    """

    config: SimulationConfig
    subscribers: pd.DataFrame
    experiment: pd.DataFrame
    panel: pd.DataFrame
    truth_effects: pd.DataFrame
    truth: dict[str, Any]


def _resolve_config(config: SimulationConfig | None, overrides: dict[str, Any]) -> SimulationConfig:
    config = config if config is not None else SimulationConfig()
    names = [f.name for f in dataclasses.fields(SimulationConfig)]
    for key in overrides:
        if key not in names:
            raise SimulationConfigError(
                f"simulation setting {key!r} is not known{close_matches(key, names)}; "
                "see SimulationConfig for the settings"
            )
    return dataclasses.replace(config, **overrides).validate() if overrides else config.validate()


def _seed_streams(rng: np.random.Generator | int | None) -> tuple[list[np.random.Generator], int | None]:
    """Four independent streams (subscribers, assignment, outcomes, panel) and the seed to record."""
    if isinstance(rng, np.random.Generator):
        return list(rng.spawn(4)), None
    seq = np.random.SeedSequence(rng)
    entropy = seq.entropy if isinstance(seq.entropy, int) else None
    return [np.random.default_rng(s) for s in seq.spawn(4)], entropy


def _region_labels(n: int) -> list[str]:
    return [f"R{i + 1:02d}" for i in range(n)]


def _promo_schedule(cfg: SimulationConfig, rng: np.random.Generator) -> np.ndarray:
    """Promotion start month per region (0 = never), regions drawn at random for each cohort."""
    start = np.zeros(cfg.n_regions, dtype=np.int64)
    order = rng.permutation(cfg.n_regions)
    pos = 0
    for month, n_reg, _ in cfg.promo_cohorts:
        start[order[pos:pos + n_reg]] = month
        pos += n_reg
    return start


def _promo_effect(cfg: SimulationConfig, start_month: int, event_time: np.ndarray) -> np.ndarray:
    """True additive effect of the promotion on the monthly churn rate at event time ``e >= 0``."""
    effect = {m: eff for m, _, eff in cfg.promo_cohorts}[start_month]
    return effect * np.minimum((event_time + 1.0) / cfg.promo_ramp_months, 1.0)


def simulate_operator(config: SimulationConfig | None = None, *, rng: np.random.Generator | int | None = None,
                      **overrides: Any) -> Simulation:
    """Simulate an operator's eligible subscribers, a 3-arm retention experiment and a region × month panel.

    Parameters
    ----------
    config : SimulationConfig, optional
        Settings; defaults to ``SimulationConfig()``.
    rng : numpy.random.Generator, int or None
        Seed or generator. The same integer gives identical frames. With ``None`` fresh entropy is drawn and
        recorded in ``truth["seed"]`` so the run can be repeated.
    **overrides
        Any ``SimulationConfig`` field, e.g. ``n_subscribers=10_000``.

    Returns
    -------
    Simulation
        Frames ``subscribers``, ``experiment``, ``panel``, ``truth_effects`` and the dict ``truth``.

    Raises
    ------
    SimulationConfigError
        A setting is unknown or out of range; the message names it.

    Examples
    --------
    >>> sim = simulate_operator(n_subscribers=5_000, rng=1)
    >>> sim.experiment.shape[0], sim.panel.shape[0]
    (5000, 576)
    >>> 0.05 < sim.truth["control"]["churn_90d"] < 0.30
    True
    """
    cfg = _resolve_config(config, overrides)
    (r_sub, r_assign, r_out, r_panel), seed = _seed_streams(rng)
    n = int(cfg.n_subscribers)
    regions = np.array(_region_labels(cfg.n_regions), dtype=object)

    # --- region level: effects shared by the subscriber hazard and the panel; the promotion schedule ---------------
    region_weight = r_panel.dirichlet(np.full(cfg.n_regions, 8.0))
    region_effect = r_panel.normal(0.0, cfg.region_sd, cfg.n_regions)
    promo_start = _promo_schedule(cfg, r_panel)
    promo_active_now = (promo_start > 0)  # every cohort starts within the panel, i.e. before start_date

    # --- subscribers -----------------------------------------------------------------------------------------------
    region_idx = r_sub.choice(cfg.n_regions, size=n, p=region_weight)
    plan_idx = r_sub.choice(3, size=n, p=np.asarray(cfg.plan_shares))
    latent = r_sub.standard_normal(n)
    tenure = np.minimum(1 + np.floor(r_sub.exponential(cfg.tenure_mean_months - 1.0, n)),
                        cfg.tenure_max_months).astype(np.int64)
    arpu = np.asarray(cfg.arpu_median)[plan_idx] * np.exp(r_sub.normal(0.0, cfg.arpu_sigma, n))
    arpu = np.round(arpu, 2)
    usage = np.round(cfg.usage_median * np.exp(r_sub.normal(0.0, cfg.usage_sigma, n) + 0.08 * (plan_idx == 2)), 4)
    calls = r_sub.poisson(np.exp(-0.4 + 0.45 * latent + 0.25 * (plan_idx == 0)))
    ps_logit = 0.6 * (plan_idx == 0) - 0.5 * (plan_idx == 2) - 0.5 * np.log(arpu / np.asarray(cfg.arpu_median)[
        plan_idx]) + r_sub.normal(0.0, 1.0, n)
    price_sens = np.round(sigmoid(ps_logit), 4)
    postpaid = plan_idx > 0
    contract_days = np.where(r_sub.random(n) < cfg.contract_24m_share, 731, 365)
    tenure_days = tenure * DAYS_PER_MONTH + r_sub.uniform(0.0, DAYS_PER_MONTH, n)
    days_to_end = np.where(postpaid, np.ceil(contract_days - np.mod(tenure_days, contract_days)), NO_CONTRACT_DAYS)
    days_to_end = days_to_end.astype(np.int64)
    start = np.datetime64(cfg.start_date, "D")
    contract_end = np.where(postpaid, start + days_to_end.astype("timedelta64[D]"), np.datetime64("NaT", "D"))

    # --- baseline hazard -----------------------------------------------------------------------------------------
    lin = (cfg.baseline_log_hazard
           + cfg.beta_tenure * np.log(tenure / 24.0)
           + np.asarray(cfg.plan_log_hazard)[plan_idx]
           + cfg.beta_arpu * np.log(arpu / np.asarray(cfg.arpu_median)[plan_idx])
           + cfg.beta_calls * np.minimum(calls, cfg.calls_cap)
           + cfg.beta_light_use * np.minimum(usage, 1.0)
           + cfg.beta_over_quota * np.minimum(np.maximum(usage - 1.0, 0.0), 1.0)
           + region_effect[region_idx]
           + cfg.promo_log_hazard * promo_active_now[region_idx]
           + cfg.beta_latent * latent)
    rate0 = np.exp(lin) / DAYS_PER_MONTH  # per day

    # --- assignment ------------------------------------------------------------------------------------------------
    arm_idx = r_assign.choice(3, size=n, p=np.asarray(cfg.arm_weights))
    assign_offset = r_assign.integers(0, cfg.assignment_days, n)
    assigned_at = start + assign_offset.astype("timedelta64[D]")
    follow_up = (np.datetime64(cfg.as_of_date, "D") - assigned_at).astype(np.int64).astype(float)

    # contract-end window in days since assignment (prepaid: no window)
    to_end = (days_to_end - assign_offset).astype(float)
    lo = np.where(postpaid, np.maximum(to_end - cfg.contract_end_before, 0.0), 0.0)
    hi = np.where(postpaid, np.maximum(to_end + cfg.contract_end_after, 0.0), 0.0)
    bump = math.exp(cfg.contract_end_log_bump)

    # --- treatment effects (hazard ratios when the offer is taken) and acceptance --------------------------------
    log_hr_fp = cfg.flow_pack_log_hr * sigmoid((usage - cfg.flow_pack_usage_midpoint) / cfg.flow_pack_usage_scale)
    near_end = np.where(postpaid, np.exp(-np.maximum(to_end, 0.0) / cfg.discount_near_end_days), 0.0)
    log_hr_d = cfg.discount_log_hr_base + cfg.discount_log_hr_near_end * near_end
    hr_fp, hr_d = np.exp(log_hr_fp), np.exp(log_hr_d)
    a0, a1 = cfg.flow_pack_activation
    p_act_fp = sigmoid(a0 + a1 * (usage - 1.0))
    intent = (lin - lin.mean()) / lin.std()
    b0, b_price, b_intent = cfg.discount_acceptance
    p_acc_d = sigmoid(b0 + b_price * (price_sens - 0.5) + b_intent * intent)

    h0_cache: dict[float, np.ndarray] = {}

    def surv(t: float, hr: np.ndarray | float = 1.0) -> np.ndarray:
        # H scales with the hazard ratio, so H0(t) is computed once per t: S(t; hr) = exp(-hr * H0(t)).
        if t not in h0_cache:
            h0_cache[t] = cumulative_hazard(t, rate0, bump, lo, hi)
        return np.exp(-hr * h0_cache[t])

    def rmst(t: float, hr: np.ndarray | float = 1.0) -> np.ndarray:
        return restricted_mean(t, rate0 * hr, bump, lo, hi)

    churn_prob: dict[str, dict[int, np.ndarray]] = {a: {} for a in ARMS}
    for h in HORIZONS:
        s0, s_fp, s_d = surv(float(h)), surv(float(h), hr_fp), surv(float(h), hr_d)
        churn_prob["control"][h] = 1.0 - s0
        churn_prob["flow_pack"][h] = 1.0 - (p_act_fp * s_fp + (1.0 - p_act_fp) * s0)
        churn_prob["contract_discount"][h] = 1.0 - (p_acc_d * s_d + (1.0 - p_acc_d) * s0)

    # --- outcomes ------------------------------------------------------------------------------------------------
    u_accept = r_out.random(n)
    accepted = np.where(arm_idx == 1, u_accept < p_act_fp, np.where(arm_idx == 2, u_accept < p_acc_d, False))
    hr_taken = np.where(accepted & (arm_idx == 1), hr_fp, np.where(accepted & (arm_idx == 2), hr_d, 1.0))
    rate = rate0 * hr_taken
    t_churn = invert_cumulative_hazard(r_out.exponential(1.0, n), rate, bump, lo, hi)
    # Churn is recorded as a day number: churn at time T falls on day ceil(T) (1 = the first day after assignment).
    # For integer X, ceil(T) <= X exactly when T <= X, so churned_Xd and the analytic P(T <= X) agree exactly.
    churn_day = np.ceil(t_churn)
    event = churn_day <= follow_up
    observed = np.where(event, churn_day, follow_up)
    churned = {h: (event & (observed <= h)).astype(np.int64) for h in HORIZONS}

    discount_amount = np.minimum(cfg.discount_monthly, cfg.discount_max_share * arpu)
    monthly_bill = arpu - np.where(accepted & (arm_idx == 2), discount_amount, 0.0)
    s_pre, s_post = cfg.revenue_pre_noise_sd, cfg.revenue_noise_sd
    revenue_pre = 3.0 * arpu * np.exp(r_out.normal(-s_pre**2 / 2, s_pre, n))
    # billing is prorated to the moment of churn (or stops at as_of if that comes first)
    active_days = np.minimum(np.where(event, t_churn, follow_up), 90.0)
    revenue_90 = monthly_bill * (active_days / DAYS_PER_MONTH) * np.exp(r_out.normal(-s_post**2 / 2, s_post, n))

    # true expected 90-day revenue under each arm (noise has mean one)
    def mixture(fn: Any, t: float) -> dict[str, np.ndarray]:
        """Per-subscriber value of a survival functional under each arm (offer taken with its probability)."""
        base = fn(t)
        return {"control": base, "flow_pack": p_act_fp * fn(t, hr_fp) + (1 - p_act_fp) * base,
                "contract_discount": p_acc_d * fn(t, hr_d) + (1 - p_acc_d) * base}

    curve: dict[str, list[float]] = {a: [] for a in ARMS}
    for day in CURVE_DAYS:
        for a, v in mixture(surv, float(day)).items():
            curve[a].append(float(v.mean()))
    rmst_150 = {a: float(v.mean()) for a, v in mixture(rmst, 150.0).items()}
    rm0, rm_fp, rm_d = rmst(90.0), rmst(90.0, hr_fp), rmst(90.0, hr_d)
    rmst_true = {
        "control": rm0,
        "flow_pack": p_act_fp * rm_fp + (1 - p_act_fp) * rm0,
        "contract_discount": p_acc_d * rm_d + (1 - p_acc_d) * rm0,
    }
    rev_true = {
        "control": arpu * rm0 / DAYS_PER_MONTH,
        "flow_pack": arpu * rmst_true["flow_pack"] / DAYS_PER_MONTH,
        "contract_discount": (p_acc_d * (arpu - discount_amount) * rm_d + (1 - p_acc_d) * arpu * rm0)
        / DAYS_PER_MONTH,
    }

    # --- frames --------------------------------------------------------------------------------------------------
    ids = np.arange(10_000_001, 10_000_001 + n, dtype=np.int64)
    covariates = {
        "region": regions[region_idx],
        "tenure_months": tenure,
        "plan": np.array(PLANS, dtype=object)[plan_idx],
        "contract_end_date": contract_end.astype("datetime64[ns]"),
        "days_to_contract_end": days_to_end,
        "arpu": arpu,
        "data_usage_ratio": usage,
        "cs_calls_90d": calls.astype(np.int64),
        "price_sensitivity": price_sens,
    }
    # copy=False skips pandas' block consolidation (half the run time at 1M rows); every array here is fresh and
    # private to this call, and `subscribers` gets its own copies so that no two frames share memory.
    subscribers = pd.DataFrame({"subscriber_id": ids.copy(), **{k: v.copy() for k, v in covariates.items()},
                                "latent_risk": latent}, copy=False)
    arm = np.array(ARMS, dtype=object)[arm_idx]
    experiment = pd.DataFrame({
        "subscriber_id": ids,
        "arm": arm,
        "assigned_at": assigned_at.astype("datetime64[ns]"),
        **covariates,
        "accepted": accepted.astype(np.int64),
        "churned_30d": churned[30],
        "churned_60d": churned[60],
        "churned_90d": churned[90],
        "revenue_pre_90d": np.round(revenue_pre, 2),
        "revenue_90d": np.round(revenue_90, 2),
        "time_to_churn_days": observed,
        "churn_event": event.astype(np.int64),
        "monthly_margin": np.round(cfg.margin_rate * arpu, 2),
    }, copy=False)
    truth_effects = pd.DataFrame({
        "subscriber_id": ids.copy(),
        "arm": arm.copy(),
        "p90_control": churn_prob["control"][90],
        "p90_flow_pack": churn_prob["flow_pack"][90],
        "p90_contract_discount": churn_prob["contract_discount"][90],
        "tau_flow_pack": churn_prob["flow_pack"][90] - churn_prob["control"][90],
        "tau_contract_discount": churn_prob["contract_discount"][90] - churn_prob["control"][90],
        "p_accept_discount": p_acc_d,
        "p_accept_flow_pack": p_act_fp,
        "hr_flow_pack_if_taken": hr_fp,
        "hr_contract_discount_if_taken": hr_d,
    }, copy=False)

    panel, promo_truth = _simulate_panel(cfg, r_panel, regions, region_weight, region_effect, promo_start)

    truth = _truth_dict(cfg, seed, n, churn_prob, rev_true, rmst_true, p_act_fp, p_acc_d, promo_truth, arm_idx,
                        bump)
    truth["survival"]["curve"] = {"days": list(CURVE_DAYS), **curve}
    truth["survival"]["rmst_150d_days"] = rmst_150
    return Simulation(config=cfg, subscribers=subscribers, experiment=experiment, panel=panel,
                      truth_effects=truth_effects, truth=truth)


def _simulate_panel(cfg: SimulationConfig, rng: np.random.Generator, regions: np.ndarray, region_weight: np.ndarray,
                    region_effect: np.ndarray, promo_start: np.ndarray) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Region × month churn counts with a staggered competitor promotion; returns the frame and its truth."""
    n_r, n_m = cfg.n_regions, cfg.panel_months
    months = np.arange(1, n_m + 1)
    base = cfg.panel_subscribers_per_region * n_r * region_weight
    size = np.round(base[:, None] * (1.0 + cfg.panel_growth_per_month) ** (months[None, :] - 1)
                    * np.exp(rng.normal(0.0, 0.01, (n_r, n_m)))).astype(np.int64)
    month_effect = (cfg.panel_season_amplitude * np.sin(2 * np.pi * (months - 1) / 12.0)
                    + rng.normal(0.0, cfg.panel_month_sd, n_m))
    # Additive in region and month on the rate scale: parallel trends hold exactly for churn_rate.
    rate0 = cfg.panel_base_churn * (np.exp(region_effect)[:, None] + month_effect[None, :]
                                    + rng.normal(0.0, cfg.panel_cell_sd, (n_r, n_m)))
    rate0 = np.clip(rate0, 1e-6, 1.0)
    event_time = months[None, :] - promo_start[:, None]
    treated = (promo_start[:, None] > 0) & (event_time >= 0)
    effect = np.zeros((n_r, n_m))
    for start_month, _, _ in cfg.promo_cohorts:
        rows = promo_start == start_month
        effect[rows] = np.where(treated[rows], _promo_effect(cfg, start_month, event_time[rows].astype(float)), 0.0)
    rate = rate0 + effect
    churners = rng.binomial(size, rate)
    panel = pd.DataFrame({
        "region": np.repeat(regions, n_m),
        "month": np.tile(months, n_r).astype(np.int64),
        "month_start": np.tile([pd.Timestamp(cfg.panel_first_month) + pd.DateOffset(months=int(m - 1))
                                for m in months], n_r).astype("datetime64[ns]"),
        "subscribers": size.ravel(),
        "churners": churners.ravel().astype(np.int64),
        "churn_rate": (churners / size).ravel(),
        "promo": treated.ravel().astype(np.int64),
        "promo_start": pd.array(np.repeat(np.where(promo_start > 0, promo_start, 0), n_m), dtype="Int64"),
    })
    panel.loc[panel["promo_start"] == 0, "promo_start"] = pd.NA

    # truth: the expected churn-rate difference E[rate | promo] - E[rate | no promo] = effect, per treated cell
    cells = pd.DataFrame({
        "cohort": np.repeat(promo_start, n_m), "event_time": event_time.ravel(), "effect": effect.ravel(),
        "subscribers": size.ravel(), "treated": treated.ravel(),
    })
    cells = cells[cells["treated"]]
    by_cohort = cells.groupby("cohort")["effect"].mean()
    by_event = cells.groupby("event_time")["effect"].mean()
    by_cohort_event = {
        int(c): {int(e): float(v) for e, v in g.set_index("event_time")["effect"].items()}
        for c, g in cells.groupby("cohort")
    }
    truth = {
        "outcome": "churn_rate (churners / subscribers per region-month); effects are additive on the rate",
        "att_overall": float(cells["effect"].mean()),
        "att_overall_subscriber_weighted": float(np.average(cells["effect"], weights=cells["subscribers"])),
        "att_by_cohort": {int(k): float(v) for k, v in by_cohort.items()},
        "att_by_event_time": {int(k): float(v) for k, v in by_event.items()},
        "att_by_cohort_event_time": by_cohort_event,
        "cohorts": {int(m): {"regions": [str(regions[i]) for i in np.flatnonzero(promo_start == m)],
                             "max_effect": float(eff)} for m, _, eff in cfg.promo_cohorts},
        "never_treated_regions": [str(regions[i]) for i in np.flatnonzero(promo_start == 0)],
        "twfe_estimand": _twfe_estimand(effect, treated),
        "effect_formula": "max_effect[cohort] * min((event_time + 1) / ramp_months, 1), event_time = month - "
                          "promo_start >= 0",
        "ramp_months": cfg.promo_ramp_months,
        "region_level": {str(regions[i]): float(cfg.panel_base_churn * math.exp(region_effect[i])) for i in range(n_r)},
        "month_level": {int(m): float(cfg.panel_base_churn * month_effect[m - 1]) for m in months},
    }
    return panel, truth


def _twfe_estimand(effect: np.ndarray, treated: np.ndarray) -> float:
    """What two-way fixed effects (region + month dummies, one promo dummy) converges to in this design.

    The counterfactual churn rate is additive in region and month, so the fixed effects absorb it and the TWFE
    coefficient is the OLS coefficient of the promo dummy when the true effect matrix is the outcome.
    """
    n_r, n_m = effect.shape
    region = np.repeat(np.eye(n_r), n_m, axis=0)
    month = np.tile(np.eye(n_m), (n_r, 1))[:, 1:]
    x = np.column_stack([region, month, treated.ravel().astype(float)])
    coef, *_ = np.linalg.lstsq(x, effect.ravel(), rcond=None)
    return float(coef[-1])


def _truth_dict(cfg: SimulationConfig, seed: int | None, n: int, churn_prob: dict[str, dict[int, np.ndarray]],
                rev_true: dict[str, np.ndarray], rmst_true: dict[str, np.ndarray], p_act_fp: np.ndarray,
                p_acc_d: np.ndarray, promo_truth: dict[str, Any], arm_idx: np.ndarray, bump: float) -> dict[str, Any]:
    control = {f"churn_{h}d": float(churn_prob["control"][h].mean()) for h in HORIZONS}
    control["revenue_90d"] = float(rev_true["control"].mean())
    ate: dict[str, dict[str, float]] = {}
    arm_means: dict[str, dict[str, float]] = {"control": control}
    for a in ARMS[1:]:
        ate[a] = {f"churn_{h}d": float((churn_prob[a][h] - churn_prob["control"][h]).mean()) for h in HORIZONS}
        ate[a]["revenue_90d"] = float((rev_true[a] - rev_true["control"]).mean())
        means = {f"churn_{h}d": float(churn_prob[a][h].mean()) for h in HORIZONS}
        means["revenue_90d"] = float(rev_true[a].mean())
        arm_means[a] = means
    return {
        "seed": seed,
        "n": n,
        "start_date": cfg.start_date.isoformat(),
        "as_of": cfg.as_of_date.isoformat(),
        "estimand": "sample average effects over all simulated subscribers (analytic expectations given their "
                    "covariates and latent risk, not sampled); churn_Xd = P(churn within X days of assignment)",
        "control": control,
        "arm_means": arm_means,
        "ate": ate,
        "acceptance_rate": {"control": 0.0, "flow_pack": float(p_act_fp.mean()),
                            "contract_discount": float(p_acc_d.mean())},
        "realised_arm_shares": {a: float(np.mean(arm_idx == i)) for i, a in enumerate(ARMS)},
        "promo": promo_truth,
        "survival": {
            "model": "piecewise-constant hazard per day: h(t) = exp(lin) / 30.4375 * bump^1[t in contract-end "
                     "window] * HR(arm, taken); see docs/simulator.md",
            "baseline_log_hazard_monthly": cfg.baseline_log_hazard,
            "coefficients": {
                "log_tenure_over_24": cfg.beta_tenure,
                "plan": dict(zip(PLANS, cfg.plan_log_hazard, strict=True)),
                "log_arpu_over_plan_median": cfg.beta_arpu,
                "cs_calls_capped": cfg.beta_calls,
                "calls_cap": cfg.calls_cap,
                "usage_min_1": cfg.beta_light_use,
                "usage_over_quota_capped_1": cfg.beta_over_quota,
                "latent_risk": cfg.beta_latent,
                "promo_region": cfg.promo_log_hazard,
                "region_sd": cfg.region_sd,
            },
            "contract_end_window_days": [-cfg.contract_end_before, cfg.contract_end_after],
            "contract_end_hazard_multiplier": bump,
            "contract_end_log_bump": cfg.contract_end_log_bump,
            "flow_pack": {"log_hr_max": cfg.flow_pack_log_hr, "usage_midpoint": cfg.flow_pack_usage_midpoint,
                          "usage_scale": cfg.flow_pack_usage_scale, "activation": list(cfg.flow_pack_activation)},
            "contract_discount": {"log_hr_base": cfg.discount_log_hr_base,
                                  "log_hr_near_end": cfg.discount_log_hr_near_end,
                                  "near_end_days": cfg.discount_near_end_days,
                                  "acceptance": list(cfg.discount_acceptance)},
            "rmst_90d_days": {a: float(rmst_true[a].mean()) for a in ARMS},
            "note": "the offers' hazard ratios differ by subscriber and act only when the offer is taken, so the "
                    "arm-level hazards are not proportional and no single Cox hazard ratio is the truth; compare "
                    "curves, churn probabilities and RMST instead",
        },
        "config": _config_dict(cfg),
    }


def _config_dict(cfg: SimulationConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        out[f.name] = v.isoformat() if isinstance(v, date) else v
    out["as_of"] = cfg.as_of_date.isoformat()
    return out

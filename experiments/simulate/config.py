"""Every setting of the simulated operator (:class:`SimulationConfig`), its checks and the fixed labels."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from experiments.errors import RetentionError

#: Arm labels in the order used for ``SimulationConfig.arm_weights``.
ARMS: tuple[str, str, str] = ("control", "flow_pack", "contract_discount")
#: Plans in the order used for ``SimulationConfig.plan_shares`` and the plan-level parameters.
PLANS: tuple[str, str, str] = ("prepaid", "postpaid_standard", "postpaid_premium")
#: ``days_to_contract_end`` of prepaid subscribers, who have no contract (their ``contract_end_date`` is null).
#: Chosen larger than any postpaid value (at most 24 months = 731 days) so "far from contract end" reads naturally.
NO_CONTRACT_DAYS = 1095
#: Smallest population the simulator accepts: every arm × region cell must be populated.
MIN_SUBSCRIBERS = 1_000
#: Largest population (memory: about 1.3 GB peak per million subscribers including writing the files).
MAX_SUBSCRIBERS = 20_000_000
#: Days at which ``truth["survival"]["curve"]`` gives each arm's mean analytic survival S(t).
CURVE_DAYS: tuple[int, ...] = (7, 14, 30, 45, 60, 90, 120, 150, 180)
DAYS_PER_MONTH = 30.4375  # 365.25 / 12
#: Horizons (days after assignment) of the binary churn outcomes.
HORIZONS: tuple[int, int, int] = (30, 60, 90)
#: Files written by :func:`write_simulation`, in order.
OUTPUT_FILES: tuple[str, ...] = (
    "subscribers.parquet", "experiment.parquet", "panel.parquet", "truth_effects.parquet", "truth.json",
    "design.yaml",
)
#: Covariates shared by ``subscribers`` and ``experiment`` (features: no NaN in any of them).
FEATURES: tuple[str, ...] = (
    "region", "tenure_months", "plan", "days_to_contract_end", "arpu", "data_usage_ratio", "cs_calls_90d",
    "price_sensitivity",
)


class SimulationConfigError(RetentionError):
    """A simulation setting is out of range or unknown."""


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """Every parameter of the data-generating process (see ``docs/simulator.md`` for the formulas).

    Attributes
    ----------
    n_subscribers : int
        Size of the eligible population (all of it is randomised).
    n_regions : int
        Number of regions, labelled ``R01``, ``R02``, ...
    start_date : date
        First day of assignment; ``days_to_contract_end`` is counted from it.
    assignment_days : int
        Subscribers are assigned uniformly over ``start_date + 0 .. assignment_days - 1``.
    as_of : date or None
        Date of the data extract (censoring); ``None`` means ``start_date + 180 days``.
    arm_weights : tuple of 3 floats
        Probabilities of ``control``, ``flow_pack``, ``contract_discount``; they sum to 1.
    plan_shares : tuple of 3 floats
        Shares of ``prepaid``, ``postpaid_standard``, ``postpaid_premium``.
    arpu_median : tuple of 3 floats
        Median monthly ARPU per plan (log-normal within plan, ``arpu_sigma``).
    arpu_sigma : float
        Log-scale standard deviation of ARPU within plan.
    usage_median, usage_sigma : float
        Log-normal data usage / quota ratio.
    tenure_mean_months : float
        Mean of the (shifted exponential) tenure distribution, capped at ``tenure_max_months``.
    tenure_max_months : int
        Largest tenure.
    contract_24m_share : float
        Share of postpaid contracts that run 24 months (the rest run 12).
    baseline_log_hazard : float
        Intercept ``c0`` of the log monthly hazard (calibrated so control 90-day churn is about 15 %).
    beta_tenure : float
        Coefficient of ``log(tenure_months / 24)``; negative: new subscribers churn more.
    plan_log_hazard : tuple of 3 floats
        Plan effects on the log hazard.
    beta_arpu : float
        Coefficient of ``log(arpu / plan median)``.
    beta_calls : float
        Coefficient of ``min(cs_calls_90d, calls_cap)`` (the strongest observed driver).
    calls_cap : int
        Calls above this add nothing.
    beta_light_use : float
        Coefficient of ``min(usage, 1)`` (engaged users churn less).
    beta_over_quota : float
        Coefficient of ``min(max(usage - 1, 0), 1)`` (throttled heavy users churn more).
    region_sd : float
        Standard deviation of the region effects on the log hazard (shared with the panel's region levels).
    beta_latent : float
        Coefficient of the standard-normal ``latent_risk``.
    promo_log_hazard : float
        Extra log hazard of subscribers in regions where the competitor's promotion is running at ``start_date``.
    contract_end_before, contract_end_after : int
        The bump window is ``[contract end - before, contract end + after)`` in days.
    contract_end_log_bump : float
        Log of the hazard multiplier inside that window.
    flow_pack_log_hr : float
        Log hazard ratio of an activated flow pack for a subscriber far over quota (``theta_fp`` in the docs).
    flow_pack_usage_midpoint, flow_pack_usage_scale : float
        The flow-pack effect is ``flow_pack_log_hr * sigmoid((usage - midpoint) / scale)``.
    flow_pack_activation : tuple of 2 floats
        ``(a0, a1)``: activation probability ``sigmoid(a0 + a1 * (usage - 1))``.
    discount_log_hr_base : float
        Log hazard ratio of an accepted discount far from contract end (and for prepaid).
    discount_log_hr_near_end : float
        Additional log hazard ratio at contract end, decaying as ``exp(-days_to_end / discount_near_end_days)``.
    discount_near_end_days : float
        Decay scale of the near-end part of the discount effect.
    discount_acceptance : tuple of 3 floats
        ``(b0, b_price, b_intent)``: acceptance probability
        ``sigmoid(b0 + b_price * (price_sensitivity - 0.5) + b_intent * intent)``; ``intent`` is the standardised
        log baseline hazard.
    discount_monthly : float
        Monthly price reduction of an accepted discount (capped at ``discount_max_share`` of ARPU).
    discount_max_share : float
        Cap of the discount as a share of ARPU.
    discount_cost_per_acceptance : float
        Cost written to ``design.yaml`` (12 months of the discount).
    flow_pack_cost_per_offer : float
        Cost of a flow pack per subscriber offered, written to ``design.yaml``.
    margin_rate : float
        Monthly margin as a share of ARPU (the ``monthly_margin`` column).
    revenue_noise_sd, revenue_pre_noise_sd : float
        Log-scale noise of post- and pre-assignment revenue (mean-one multiplicative noise).
    panel_months : int
        Length of the region × month panel.
    panel_first_month : date
        Calendar month of panel month 1 (informative only; the panel ends the month before ``start_date``).
    panel_subscribers_per_region : int
        Average base size of a region in the panel.
    panel_base_churn : float
        Monthly churn rate ``p`` of an average region in an average month.
    panel_growth_per_month : float
        Relative growth of each region's base per month.
    panel_season_amplitude : float
        Amplitude of the yearly seasonality, relative to ``p``.
    panel_month_sd, panel_cell_sd : float
        Standard deviations, relative to ``p``, of common month shocks and region × month shocks. The
        counterfactual rate is ``p * (exp(region_effect) + month_effect + cell_shock)``: additive in region and
        month, so parallel trends hold exactly on the churn-rate scale.
    promo_cohorts : tuple of (start_month, n_regions, max_effect)
        Staggered competitor promotion: regions drawn at random start at ``start_month``; the churn rate rises by
        ``max_effect * min((e + 1) / promo_ramp_months, 1)`` at event time ``e = month - start_month``. The
        default has the earliest cohort hit hardest and effects that build up over a year, so two-way fixed
        effects is biased (``truth["promo"]["twfe_estimand"]``).
    promo_ramp_months : float
        Months until the promotion's effect reaches ``max_effect``.

    Examples
    --------
    >>> cfg = SimulationConfig(n_subscribers=10_000, flow_pack_log_hr=-0.5)
    >>> cfg.as_of_date.isoformat()
    '2026-12-28'
    """

    n_subscribers: int = 200_000
    n_regions: int = 24
    start_date: date = date(2026, 7, 1)
    assignment_days: int = 28
    as_of: date | None = None
    arm_weights: tuple[float, float, float] = (0.34, 0.33, 0.33)
    # subscribers
    plan_shares: tuple[float, float, float] = (0.35, 0.45, 0.20)
    arpu_median: tuple[float, float, float] = (12.0, 35.0, 70.0)
    arpu_sigma: float = 0.30
    usage_median: float = 0.70
    usage_sigma: float = 0.50
    tenure_mean_months: float = 30.0
    tenure_max_months: int = 240
    contract_24m_share: float = 0.70
    # baseline hazard (log monthly hazard)
    baseline_log_hazard: float = -3.35
    beta_tenure: float = -0.30
    plan_log_hazard: tuple[float, float, float] = (0.35, 0.0, -0.25)
    beta_arpu: float = -0.15
    beta_calls: float = 0.22
    calls_cap: int = 8
    beta_light_use: float = -0.30
    beta_over_quota: float = 0.40
    region_sd: float = 0.12
    beta_latent: float = 0.50
    promo_log_hazard: float = 0.10
    contract_end_before: int = 30
    contract_end_after: int = 30
    contract_end_log_bump: float = 0.90
    # treatments
    flow_pack_log_hr: float = -0.85
    flow_pack_usage_midpoint: float = 0.95
    flow_pack_usage_scale: float = 0.12
    flow_pack_activation: tuple[float, float] = (0.6, 2.5)
    discount_log_hr_base: float = -0.40
    discount_log_hr_near_end: float = -1.20
    discount_near_end_days: float = 90.0
    discount_acceptance: tuple[float, float, float] = (-0.3, 3.0, 0.6)
    discount_monthly: float = 8.0
    discount_max_share: float = 0.5
    discount_cost_per_acceptance: float = 96.0
    flow_pack_cost_per_offer: float = 6.0
    margin_rate: float = 0.6
    revenue_noise_sd: float = 0.15
    revenue_pre_noise_sd: float = 0.10
    # panel
    panel_months: int = 24
    panel_first_month: date = date(2024, 7, 1)
    panel_subscribers_per_region: int = 250_000
    panel_base_churn: float = 0.018
    panel_growth_per_month: float = 0.002
    panel_season_amplitude: float = 0.08
    panel_month_sd: float = 0.03
    panel_cell_sd: float = 0.03
    promo_cohorts: tuple[tuple[int, int, float], ...] = field(
        default=((13, 6, 0.008), (16, 4, 0.005), (19, 3, 0.003))
    )
    promo_ramp_months: float = 12.0

    @property
    def as_of_date(self) -> date:
        """The extract date: ``as_of`` or ``start_date + 180 days``."""
        return self.as_of if self.as_of is not None else self.start_date + timedelta(days=180)

    def validate(self) -> SimulationConfig:
        """Return ``self`` if every setting is in range, else raise :class:`SimulationConfigError`."""

        def bad(key: str, found: object, fix: str) -> SimulationConfigError:
            return SimulationConfigError(f"simulation setting {key}: found {found!r}; {fix}")

        if not isinstance(self.n_subscribers, (int, np.integer)) or self.n_subscribers < MIN_SUBSCRIBERS:
            raise bad("n_subscribers", self.n_subscribers,
                      f"the simulator needs at least {MIN_SUBSCRIBERS} subscribers so that every arm and region "
                      f"is populated; use {MIN_SUBSCRIBERS} or more")
        if self.n_subscribers > MAX_SUBSCRIBERS:
            raise bad("n_subscribers", self.n_subscribers,
                      f"use at most {MAX_SUBSCRIBERS:,} (about 1.3 GB of memory per million subscribers)")
        if not 2 <= self.n_regions <= 99:
            raise bad("n_regions", self.n_regions, "use between 2 and 99 regions (labels R01..R99)")
        if self.assignment_days < 1:
            raise bad("assignment_days", self.assignment_days, "use at least 1 day")
        for key, probs in (("arm_weights", self.arm_weights), ("plan_shares", self.plan_shares)):
            if len(probs) != 3 or min(probs) <= 0 or not math.isclose(sum(probs), 1.0, abs_tol=1e-9):
                raise bad(key, probs, "give three positive numbers that sum to 1")
        if self.as_of_date < self.start_date + timedelta(days=self.assignment_days):
            raise bad("as_of", self.as_of_date.isoformat(),
                      f"the extract must come after the last assignment day; use a date on or after "
                      f"{(self.start_date + timedelta(days=self.assignment_days)).isoformat()}")
        if self.panel_months < 2:
            raise bad("panel_months", self.panel_months, "use at least 2 months")
        n_promo = sum(c[1] for c in self.promo_cohorts)
        if n_promo > self.n_regions:
            raise bad("promo_cohorts", self.promo_cohorts,
                      f"the cohorts need {n_promo} regions but there are only {self.n_regions}; "
                      "use fewer regions per cohort")
        for start, n_reg, effect in self.promo_cohorts:
            if not 2 <= start <= self.panel_months or n_reg < 1 or not 0 <= effect < 0.5:
                raise bad("promo_cohorts", (start, n_reg, effect),
                          f"each cohort is (start month in 2..{self.panel_months}, regions >= 1, effect in [0, 0.5))")
        if len({c[0] for c in self.promo_cohorts}) != len(self.promo_cohorts):
            raise bad("promo_cohorts", self.promo_cohorts, "give each cohort a different start month")
        if not 0 < self.panel_base_churn < 0.5:
            raise bad("panel_base_churn", self.panel_base_churn, "use a monthly rate between 0 and 0.5")
        if self.contract_end_before < 0 or self.contract_end_after < 0:
            raise bad("contract_end_before/after", (self.contract_end_before, self.contract_end_after),
                      "use non-negative numbers of days")
        return self

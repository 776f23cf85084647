"""Shared builders for the uplift and policy tests: designs and small simulations with known effects."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import yaml

from experiments.simulate.operator import simulate_operator
from experiments.simulate.output import design_yaml
from experiments.spec.models import parse_design

SIM_FEATURES = ["data_usage_ratio", "days_to_contract_end", "price_sensitivity", "plan", "tenure_months", "arpu",
                "cs_calls_90d"]


def toy_design(**uplift: Any) -> Any:
    """A 3-arm design over :func:`toy_frame`'s columns; ``uplift`` overrides the uplift section."""
    raw = {
        "name": "toy",
        "data": {"source": "unused.parquet", "arm": "arm", "acceptance": "accepted"},
        "arms": {"control": {"weight": 0.4}, "a": {"weight": 0.3, "cost": {"per_offer": 1.0}},
                 "b": {"weight": 0.3, "cost": {"per_acceptance": 5.0}}},
        "control": "control",
        "metrics": [{"name": "churn", "column": "churned", "kind": "binary", "direction": "decrease"}],
        "value": {"margin": 10.0, "horizon_months": 12, "annual_discount_rate": 0.0},
        "uplift": {"features": ["x1", "x2", "plan"], "n_bootstrap": 50, **uplift},
    }
    return parse_design(raw)


def toy_frame(n: int, rng: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Randomised toy experiment with known individual effects on churn probability.

    Arm ``a`` cuts churn by 0.15 when ``x2 > 0.5`` (else 0); arm ``b`` cuts it by 0.08 for prepaid subscribers when
    accepted (acceptance 0.5). Returns the data and the truth (``tau_a``, ``tau_b`` on churn, ``p0``).
    """
    g = np.random.default_rng(rng)
    x1 = g.normal(size=n)
    x2 = g.random(n)
    plan = g.choice(["prepaid", "postpaid"], n)
    arm = g.choice(["control", "a", "b"], n, p=[0.4, 0.3, 0.3])
    p0 = 1 / (1 + np.exp(-(-0.8 + 0.6 * x1)))
    tau_a = -0.15 * (x2 > 0.5) * p0 / p0.max()
    accepted = np.where(arm == "b", g.random(n) < 0.5, False).astype(int)
    tau_b = -0.5 * 0.16 * (plan == "prepaid") * p0 / p0.max()
    p = p0 + np.where(arm == "a", tau_a, 0.0) + np.where(accepted == 1, -0.16 * (plan == "prepaid") * p0 / p0.max(), 0)
    churned = (g.random(n) < p).astype(int)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "plan": plan, "arm": arm, "accepted": accepted, "churned": churned})
    truth = pd.DataFrame({"tau_a": tau_a, "tau_b": tau_b, "p0": p0})
    return frame, truth


def sim_design(sim: Any, **uplift: Any) -> Any:
    """The simulator's own design (its uplift section), with overrides."""
    raw = yaml.safe_load(design_yaml(sim))
    raw["uplift"] = {**raw["uplift"], **uplift}
    return parse_design(raw)


def simulate(n: int, seed: int) -> Any:
    return simulate_operator(n_subscribers=n, rng=seed)


def would_stay_anyway(truth: pd.DataFrame) -> np.ndarray:
    """Subscribers who would stay without an offer: true 90-day churn risk under control below 5%."""
    return truth["p90_control"].to_numpy() < 0.05


def true_net_values(truth: pd.DataFrame, arms: list[str], value: np.ndarray, costs: Any) -> np.ndarray:
    """True incremental net value of each arm against no offer, per subscriber (column 0, control, is 0).

    ``truth`` holds the simulator's per-subscriber truth (``tau_ARM`` on churn, ``p_accept_*``) aligned with the
    rows; ``costs`` is an :class:`experiments.policy.PolicyCosts` in ``arms`` order. Net value = value of retention
    x true reduction in churn - cost per offer - cost per acceptance x true acceptance probability.
    """
    net = np.zeros((len(truth), len(arms)))
    for j, a in enumerate(arms[1:], start=1):
        p_acc = truth["p_accept_discount" if a == "contract_discount" else f"p_accept_{a}"].to_numpy()
        net[:, j] = value * -truth[f"tau_{a}"].to_numpy() - costs.per_offer[j] - costs.per_acceptance[j] * p_acc
    return net


def true_value(true_net: np.ndarray, choice: np.ndarray) -> float:
    """Mean true net value per subscriber of a policy's arm codes ``choice`` (from :func:`true_net_values`)."""
    return float(true_net[np.arange(len(choice)), choice].mean())


def oracle_value(true_net: np.ndarray) -> float:
    """Mean true net value of the oracle: each subscriber's best arm, no offer when none pays."""
    return float(np.maximum(true_net.max(axis=1), 0).mean())

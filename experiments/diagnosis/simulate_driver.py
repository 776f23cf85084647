"""Simulated observational data in which the causal effect of one churn driver is known.

The driver is "4 or more customer-service calls". Calls are more frequent for subscribers with network problems, on
month-to-month contracts, with higher charges and shorter tenure; the same variables raise churn. So the naive
difference in churn between many-call and few-call subscribers mixes the driver's effect with confounding. Churn
is logistic in the confounders and the driver:

    calls ~ Poisson(exp(0.55 + 0.25 * network_issues + 0.006 * (monthly_charge - 65) - 0.008 * tenure_months
                        + 0.2 * [month_to_month]))
    logit P(churn) = -1.6 + tau * [calls >= 4] + 0.35 * network_issues + 0.015 * (monthly_charge - 65)
                     - 0.03 * tenure_months + 1.0 * [month_to_month] - 0.5 * [two_year]

``true_ate`` is the average over the simulated subscribers of P(churn | driver on) - P(churn | driver off), each
computed exactly from the formula (no Monte Carlo). The confounders that a correct graph states are
``tenure_months``, ``monthly_charge``, ``contract`` and ``network_issues``; ``contract`` also causes
``monthly_charge``.

Examples
--------
>>> sim = simulate_driver_data(2_000, rng=1)
>>> 0.05 < sim.true_ate < 0.2, sim.naive_difference > sim.true_ate
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CONTRACTS = ("month_to_month", "one_year", "two_year")
#: The graph a user states for this simulator, as the YAML of ``retention driver-effect --graph``.
GRAPH_YAML = """\
treatment: {column: customer_service_calls, op: ">=", value: 4, name: many_service_calls}
outcome: {column: churn, positive: 1}
confounders: [tenure_months, monthly_charge, contract, network_issues]
edges:
  - [contract, monthly_charge]
"""


@dataclass(frozen=True, slots=True)
class DriverSimulation:
    """Observational subscribers and the truth.

    Attributes
    ----------
    frame : DataFrame
        ``subscriber_id``, ``tenure_months``, ``contract``, ``monthly_charge``, ``network_issues``,
        ``customer_service_calls`` and ``churn`` (0/1).
    true_ate : float
        Average effect of the driver on the churn probability over these subscribers (risk difference).
    naive_difference : float
        Churn rate of subscribers with the driver minus without (what an unadjusted comparison shows).
    tau : float
        The driver's coefficient on the logit scale.
    """

    frame: pd.DataFrame
    true_ate: float
    naive_difference: float
    tau: float


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_driver_data(n: int = 5_000, *, tau: float = 0.8,
                         rng: np.random.Generator | int | None = None) -> DriverSimulation:
    """Simulate subscribers whose churn depends on confounders and on the driver ``calls >= 4``.

    Parameters
    ----------
    n : int
        Subscribers.
    tau : float
        Effect of the driver on the logit of churn (0: no causal effect, only confounding).
    rng : Generator, int or None
        Random stream.

    Returns
    -------
    DriverSimulation
    """
    gen = np.random.default_rng(rng)
    tenure = gen.uniform(1, 72, n).round(0)
    contract = gen.choice(3, size=n, p=[0.55, 0.25, 0.20])
    charge = np.clip(gen.normal(60 + 8 * (contract == 0), 18, n), 18, 120).round(2)
    issues = gen.poisson(1.0, n)
    rate = np.exp(0.55 + 0.25 * issues + 0.006 * (charge - 65) - 0.008 * tenure + 0.2 * (contract == 0))
    calls = gen.poisson(rate)
    driver = (calls >= 4).astype(float)
    base = (-1.6 + 0.35 * issues + 0.015 * (charge - 65) - 0.03 * tenure + 1.0 * (contract == 0)
            - 0.5 * (contract == 2))
    p = _sigmoid(base + tau * driver)
    churn = (gen.random(n) < p).astype(int)
    true_ate = float(np.mean(_sigmoid(base + tau) - _sigmoid(base)))
    naive = float(churn[driver == 1].mean() - churn[driver == 0].mean())
    frame = pd.DataFrame({"subscriber_id": [f"D{i:06d}" for i in range(n)], "tenure_months": tenure,
                          "contract": np.array(CONTRACTS)[contract], "monthly_charge": charge,
                          "network_issues": issues, "customer_service_calls": calls, "churn": churn})
    return DriverSimulation(frame=frame, true_ate=true_ate, naive_difference=naive, tau=tau)

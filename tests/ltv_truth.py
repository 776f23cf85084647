"""The true lifetime value per arm of the project simulator, from its closed-form hazard (for tests only).

The simulator (``experiments/simulate.py``, ``docs/simulator.md``) gives subscriber *i* the daily hazard
``rate0_i * HR * B`` inside the contract-end window ``[lo_i, hi_i)`` and ``rate0_i * HR`` outside it, for **all**
t >= 0: after the window (and for prepaid, always) the hazard stays at its baseline, the contract is not renewed and
no second window follows, and an offer's hazard ratio, once taken, lasts. So ``S_i(t) = exp(-HR * H0_i(t))`` with
``H0_i`` from :func:`experiments.simulate.cumulative_hazard` holds at every horizon, also far beyond follow-up.

``rate0_i`` is not written out, but it is recovered exactly from ``truth_effects.p90_control``:
``-log(1 - p90) = H0_i(90) = rate0_i * (90 + (B - 1) |[0, 90) ∩ W_i|)``. Each arm's curve is the mixture over
subscribers (the offer acts only if taken, with probability ``p_accept_*``), averaged over **all** simulated
subscribers (the sample estimand of ``truth.json``). The value uses the convention of :mod:`survival.ltv`:
``LTV = m * sum_k S(k months) (1 + r)^(-k/12)`` with one margin ``m`` for every arm.

Run ``python tests/ltv_truth.py --seeds 1 2 3`` to print the estimated ΔLTV of
:func:`experiments.tenure.analyze_survival` against the truth.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
import pandas as pd

from experiments.simulate.config import DAYS_PER_MONTH
from experiments.simulate.hazard import cumulative_hazard

ARMS = ("control", "flow_pack", "contract_discount")


def baseline_hazard_parts(sim: Any) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Per subscriber ``rate0`` (per day), the window multiplier ``B`` and the window ``[lo, hi)`` in days."""
    cfg, ex, te = sim.config, sim.experiment, sim.truth_effects
    bump = math.exp(cfg.contract_end_log_bump)
    offset = (ex["assigned_at"] - pd.Timestamp(cfg.start_date)).dt.days.to_numpy(float)
    postpaid = ex["plan"].to_numpy() != "prepaid"
    to_end = ex["days_to_contract_end"].to_numpy(float) - offset
    lo = np.where(postpaid, np.maximum(to_end - cfg.contract_end_before, 0.0), 0.0)
    hi = np.where(postpaid, np.maximum(to_end + cfg.contract_end_after, 0.0), 0.0)
    h90 = -np.log1p(-te["p90_control"].to_numpy(float))
    rate0 = h90 / (90.0 + (bump - 1.0) * np.clip(np.minimum(90.0, hi) - lo, 0.0, None))
    return rate0, bump, lo, hi


def true_survival(sim: Any, days: Any) -> dict[str, np.ndarray]:
    """Arm -> mean survival over all simulated subscribers at ``days`` (days since assignment)."""
    rate0, bump, lo, hi = baseline_hazard_parts(sim)
    te = sim.truth_effects
    p_fp, p_d = te["p_accept_flow_pack"].to_numpy(float), te["p_accept_discount"].to_numpy(float)
    hr_fp, hr_d = te["hr_flow_pack_if_taken"].to_numpy(float), te["hr_contract_discount_if_taken"].to_numpy(float)
    out: dict[str, list[float]] = {a: [] for a in ARMS}
    for t in np.asarray(days, float):
        h0 = cumulative_hazard(float(t), rate0, bump, lo, hi)
        s0 = np.exp(-h0)
        out["control"].append(float(s0.mean()))
        out["flow_pack"].append(float((p_fp * np.exp(-hr_fp * h0) + (1 - p_fp) * s0).mean()))
        out["contract_discount"].append(float((p_d * np.exp(-hr_d * h0) + (1 - p_d) * s0).mean()))
    return {a: np.asarray(v) for a, v in out.items()}


def true_ltv(sim: Any, margin: float, horizon_months: int, annual_discount_rate: float) -> dict[str, float]:
    """Arm -> true discounted LTV per subscriber over ``horizon_months`` with the monthly ``margin``."""
    from survival.ltv import discount_factors

    grid = np.arange(1, int(horizon_months) + 1) * DAYS_PER_MONTH
    d = discount_factors(horizon_months, annual_discount_rate)
    return {a: float(margin * d @ s) for a, s in true_survival(sim, grid).items()}


def compare(seed: int, n: int, horizon_months: int = 24, rate: float = 0.08) -> list[dict[str, Any]]:
    """Simulate, analyse with :func:`analyze_survival` and return one row per treated arm: estimate vs truth."""
    from experiments.simulate.operator import simulate_operator
    from experiments.value.tenure import analyze_survival

    sim = simulate_operator(n_subscribers=n, rng=seed)
    ex = sim.experiment[["time_to_churn_days", "churn_event", "arm", "monthly_margin"]]
    res = analyze_survival(ex, duration="time_to_churn_days", event="churn_event", group="arm", control="control",
                           time_unit="days", value={"margin": "monthly_margin", "horizon_months": horizon_months,
                                                    "annual_discount_rate": rate})
    m = res.ltv["settings"]["margin_per_month"]
    truth = true_ltv(sim, m, horizon_months, rate)
    rows = []
    for arm, dd in res.ltv["delta"].items():
        true_delta = truth[arm] - truth["control"]
        rows.append({"seed": seed, "n": n, "arm": arm, "method": res.ltv["arms"][arm]["method"],
                     "own_best": ",".join(f"{g}:{p['best']}" for g, p in res.parametric.items()),
                     "delta_est": dd["estimate"], "lower": dd["ci"][0], "upper": dd["ci"][1],
                     "delta_true": true_delta, "error": dd["estimate"] - true_delta,
                     "covered": bool(dd["ci"][0] <= true_delta <= dd["ci"][1]),
                     "ltv_control_est": res.ltv["arms"]["control"]["value"], "ltv_control_true": truth["control"]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description="Estimated vs true ΔLTV on the project simulator")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--horizon", type=int, default=24)
    args = ap.parse_args()
    rows = []
    for s in args.seeds:
        t0 = time.perf_counter()
        rows += compare(s, args.n, args.horizon)
        print(f"seed {s}: {time.perf_counter() - t0:.1f} s", flush=True)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(2).to_string(index=False))
        print(table.groupby("arm")[["error", "covered"]].agg(["mean", "min", "max"]).round(2))


if __name__ == "__main__":
    main()

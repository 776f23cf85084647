"""Experiment (not a test): who gets the discount as its cost per acceptance grows, against the oracle and a
policy that charges that cost only on the subscribers it retains.

``python benchmarks/uplift_acceptance_cost.py [--seeds 21 5 7 11 1 2 3] [--n 200000] [--costs 96 192]``

For each simulator seed (the simulator's own design and features, ``analyze_uplift(..., rng=4, refute=False)``
exactly as ``tests/experiments/test_policy.py::sim_policy``) the cross-fitted predictions are fitted once, then
the policy is rebuilt with ``evaluate_policy`` for each cost per acceptance of the discount. One JSON line per
seed and cost: the share of would-stay-anyway subscribers (true 90-day risk without an offer < 5%) given the
discount by the learned policy, by the oracle (true effects and acceptance probabilities) and by the naive policy
``V x uplift - cost x uplift`` (acceptance cost paid only by the retained), the share of everyone given the
discount (learned and oracle), and the learned policy's true value / the oracle's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from uplift_helpers import (  # noqa: E402
    oracle_value,
    sim_design,
    simulate,
    true_net_values,
    true_value,
    would_stay_anyway,
)

from experiments.uplift.analyze import analyze_uplift  # noqa: E402
from experiments.uplift.policy import PolicyCosts, choose_arms, evaluate_policy, net_value_matrix  # noqa: E402
from experiments.uplift.prepare import prepare_uplift_data  # noqa: E402


def run(seed: int, n: int, costs: list[float]) -> None:
    sim = simulate(n, seed)
    design = sim_design(sim)
    res = analyze_uplift(design, sim.experiment, rng=4, refute=False)
    te = sim.truth_effects.set_index("subscriber_id").loc[sim.experiment["subscriber_id"]]
    data = prepare_uplift_data(design, sim.experiment)
    cf = res.crossfit
    disc = cf.arms.index("contract_discount")
    stay = would_stay_anyway(te)
    base = PolicyCosts.from_design(design, cf.arms)
    benefit = data.benefit_sign * cf.cate
    for c in costs:
        per_acceptance = base.per_acceptance.copy()
        per_acceptance[disc] = c
        pc = PolicyCosts(base.per_offer, per_acceptance)
        pol = evaluate_policy(data, cf, pc, rng=0)
        true_net = true_net_values(te, cf.arms, data.value, pc)
        oracle = choose_arms(true_net)
        naive = choose_arms(net_value_matrix(benefit, benefit, data.value, pc))  # acceptance := uplift
        print(json.dumps({
            "seed": seed, "n": n, "cost_per_acceptance": c, "stayers": round(float(stay.mean()), 4),
            "stayers_given_discount": round(float(np.mean(pol.choice[stay] == disc)), 4),
            "oracle_stayers_given_discount": round(float(np.mean(oracle[stay] == disc)), 4),
            "naive_stayers_given_discount": round(float(np.mean(naive[stay] == disc)), 4),
            "given_discount": round(float(np.mean(pol.choice == disc)), 4),
            "oracle_given_discount": round(float(np.mean(oracle == disc)), 4),
            "value_over_oracle": round(true_value(true_net, pol.choice) / oracle_value(true_net), 4),
        }), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[21, 5, 7, 11, 1, 2, 3])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--costs", type=float, nargs="+", default=[96.0, 192.0])
    args = ap.parse_args()
    for seed in args.seeds:
        run(seed, args.n, args.costs)


if __name__ == "__main__":
    main()

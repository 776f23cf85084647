"""Factories shared by the experiments tests: a small design and a random outcome table with a known structure."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from experiments.spec.models import parse_design

ARMS = {"control": 0.34, "flow_pack": 0.33, "contract_discount": 0.33}


def make_design(**overrides) -> object:
    raw = {
        "name": "test_design",
        "data": {"source": "experiment.parquet", "unit": "subscriber_id", "arm": "arm", "assigned_at": "assigned_at"},
        "arms": {"control": {"weight": 0.34}, "flow_pack": {"weight": 0.33, "cost": {"per_offer": 6.0}},
                 "contract_discount": {"weight": 0.33, "cost": {"per_acceptance": 96.0}}},
        "control": "control",
        "metrics": [
            {"name": "churn_90d", "column": "churned_90d", "kind": "binary", "direction": "decrease",
             "role": "primary", "maturity_days": 90},
            {"name": "churn_30d", "column": "churned_30d", "kind": "binary", "direction": "decrease",
             "role": "secondary"},
            {"name": "revenue_90d", "column": "revenue_90d", "kind": "continuous", "direction": "increase",
             "role": "guardrail", "non_inferiority": {"margin": -0.02, "relative": True},
             "covariate": "revenue_pre_90d"},
        ],
        "analysis": {"alpha": 0.05, "correction": "holm"},
    }
    raw.update(overrides)
    return parse_design(raw)


def make_frame(n: int = 6000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.choice(list(ARMS), n, p=list(ARMS.values()))
    p = np.select([arm == "control", arm == "flow_pack"], [0.16, 0.14], 0.13)
    pre = rng.gamma(5.0, 20.0, n)
    start = date(2026, 7, 1)
    return pd.DataFrame({
        "subscriber_id": rng.permutation(n).astype("int64") + 10_000,
        "arm": arm,
        "assigned_at": pd.to_datetime([start + timedelta(days=int(d)) for d in rng.integers(0, 28, n)]),
        "region": rng.choice(["north", "south", "east", "west"], n),
        "churned_90d": (rng.random(n) < p).astype("int64"),
        "churned_30d": (rng.random(n) < p / 3).astype("int64"),
        "revenue_pre_90d": pre,
        "revenue_90d": 0.9 * pre + rng.normal(0.0, 12.0, n),
    })

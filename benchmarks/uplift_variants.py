"""Experiment (not a test): outcome-model variants for the uplift CATE on the simulator, same seeds for all.

``python benchmarks/uplift_variants.py VARIANT [VARIANT ...] [--seeds 21 5 7 11] [--n 200000]``

For each simulator seed (200k subscribers, the simulator's own design and features, ``analyze_uplift(..., rng=4,
refute=False)`` exactly as ``tests/experiments/test_policy.py::sim_policy``) it prints the learned policy's true
value / the oracle's, the share of would-stay-anyway subscribers (true risk < 5%) given the discount, the
CATE-truth correlation per arm and the share offered each arm (learned vs oracle). The variant replaces the fit of
the S-learner outcome model (``experiments.uplift.model.OutcomeRegressor``) inside the one EconML ``LinearDRLearner``
fit, so the cross-fitting folds and everything downstream are unchanged.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import experiments.uplift as U  # noqa: E402

BASE = dict(max_iter=300, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=200, early_stopping=True,
            n_iter_no_change=10)

ROUNDS: list[int] = []  # boosting rounds of each S-learner outcome model fitted (early stopping)

# name -> (kind, HGB parameters overriding BASE)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "base": ("s", {}),
    "leaves31": ("s", {"max_leaf_nodes": 31}),
    "leaves63_msl100": ("s", {"max_leaf_nodes": 63, "min_samples_leaf": 100}),
    "lr05_600": ("s", {"learning_rate": 0.05, "max_iter": 600}),
    "patience30": ("s", {"n_iter_no_change": 30}),
    "leaves31_lr05_p20": ("s", {"max_leaf_nodes": 31, "learning_rate": 0.05, "max_iter": 600, "n_iter_no_change": 20}),
    "interact": ("x", {}),
    "interact_leaves31": ("x", {"max_leaf_nodes": 31}),
    "tlearner": ("t", {}),
    "tlearner_msl100": ("t", {"min_samples_leaf": 100}),
    "twostage": ("2", {}),
    "leaves7": ("s", {"max_leaf_nodes": 7}),
    "msl500": ("s", {"min_samples_leaf": 500}),
    "msl1000": ("s", {"min_samples_leaf": 1000}),
    "l2_10": ("s", {"l2_regularization": 10.0}),
    "leaves7_lr05": ("s", {"max_leaf_nodes": 7, "learning_rate": 0.05, "max_iter": 600}),
    "leaves5": ("s", {"max_leaf_nodes": 5}),
    "leaves4": ("s", {"max_leaf_nodes": 4}),
    "leaves10": ("s", {"max_leaf_nodes": 10}),
    "leaves7_p20": ("s", {"max_leaf_nodes": 7, "n_iter_no_change": 20}),
    "leaves7_msl500": ("s", {"max_leaf_nodes": 7, "min_samples_leaf": 500}),
    "leaves7_lr15": ("s", {"max_leaf_nodes": 7, "learning_rate": 0.15}),
    "leaves7_lr2": ("s", {"max_leaf_nodes": 7, "learning_rate": 0.2}),
    "leaves7_p5": ("s", {"max_leaf_nodes": 7, "n_iter_no_change": 5}),
    "leaves7_cap100": ("s", {"max_leaf_nodes": 7, "max_iter": 100}),
    "leaves7_cap100_mf05": ("s", {"max_leaf_nodes": 7, "max_iter": 100, "max_features": 0.5}),
    "tlearner_leaves7": ("t", {"max_leaf_nodes": 7}),
    "interact_leaves7": ("x", {"max_leaf_nodes": 7}),
}


class _Interact:
    """S-learner with explicit arm x feature columns: [X, arms, X * arm_1, ..., X * arm_{k-1}]."""

    def __init__(self, params: dict[str, Any], binary: bool, seed: int, n_arm: int):
        self.params, self.binary, self.seed, self.n_arm = params, binary, seed, n_arm

    def _z(self, Z: np.ndarray) -> np.ndarray:
        X, A = Z[:, :-self.n_arm], Z[:, -self.n_arm:]
        return np.hstack([Z, *[X * A[:, [j]] for j in range(self.n_arm)]])

    def fit(self, Z: np.ndarray, y: np.ndarray, sample_weight: Any = None) -> _Interact:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if self.binary else HistGradientBoostingRegressor
        self.m = cls(**self.params, random_state=self.seed).fit(self._z(Z), y)
        self.classes_ = getattr(self.m, "classes_", None)
        return self

    def predict_proba(self, Z: np.ndarray) -> np.ndarray:
        return self.m.predict_proba(self._z(Z))

    def predict(self, Z: np.ndarray) -> np.ndarray:
        return self.m.predict(self._z(Z))


class _TLearner:
    """One GBM per arm on X (``two_stage``: a pooled GBM first, its logit passed as a feature to the per-arm GBMs)."""

    def __init__(self, params: dict[str, Any], binary: bool, seed: int, n_arm: int, two_stage: bool = False):
        self.params, self.binary, self.seed, self.n_arm, self.two_stage = params, binary, seed, n_arm, two_stage

    def _arm(self, Z: np.ndarray) -> np.ndarray:
        A = Z[:, -self.n_arm:]
        return np.where(A.max(axis=1) > 0, A.argmax(axis=1) + 1, 0)

    def _x(self, Z: np.ndarray) -> np.ndarray:
        X = Z[:, :-self.n_arm]
        if self.two_stage:
            return np.column_stack([X, self.pooled.decision_function(X) if self.binary else self.pooled.predict(X)])
        return X

    def fit(self, Z: np.ndarray, y: np.ndarray, sample_weight: Any = None) -> _TLearner:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if self.binary else HistGradientBoostingRegressor
        a = self._arm(Z)
        if self.two_stage:
            self.pooled = cls(**self.params, random_state=self.seed).fit(Z[:, :-self.n_arm], y)
        Xz = self._x(Z)
        self.models = [cls(**self.params, random_state=self.seed + j).fit(Xz[a == j], y[a == j])
                       for j in range(self.n_arm + 1)]
        self.classes_ = getattr(self.models[0], "classes_", None)
        return self

    def _each(self, Z: np.ndarray, fn: str) -> np.ndarray:
        a = self._arm(Z)
        Xz = self._x(Z)
        out = None
        for j in np.unique(a):
            r = getattr(self.models[j], fn)(Xz[a == j])
            if out is None:
                out = np.zeros((Z.shape[0], *r.shape[1:]))
            out[a == j] = r
        return out

    def predict_proba(self, Z: np.ndarray) -> np.ndarray:
        return self._each(Z, "predict_proba")

    def predict(self, Z: np.ndarray) -> np.ndarray:
        return self._each(Z, "predict")


def install(variant: str, n_arm: int) -> None:
    kind, over = VARIANTS[variant]
    params = {**BASE, **over}

    def fit(self: Any, X: Any, y: Any, sample_weight: Any = None) -> Any:
        X = np.asarray(X)
        y = np.ravel(y)
        if kind == "s":
            from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

            cls = HistGradientBoostingClassifier if self._binary else HistGradientBoostingRegressor
            self.model_ = cls(**params, random_state=self.random_state).fit(X, y)
            ROUNDS.append(int(self.model_.n_iter_))
        elif kind == "x":
            self.model_ = _Interact(params, self._binary, self.random_state, n_arm).fit(X, y)
        else:
            self.model_ = _TLearner(params, self._binary, self.random_state, n_arm, two_stage=kind == "2").fit(X, y)
        return self

    U.model.OutcomeRegressor.fit = fit  # type: ignore[method-assign]


def run(variant: str, seed: int, n: int) -> dict[str, Any]:
    from uplift_helpers import oracle_value, sim_design, simulate, true_net_values, true_value, would_stay_anyway

    from experiments.uplift.policy import PolicyCosts, choose_arms

    sim = simulate(n, seed)
    design = sim_design(sim)
    install(variant, len(design.treatments))
    ROUNDS.clear()
    t0 = time.perf_counter()
    res = U.analyze_uplift(design, sim.experiment, rng=4, refute=False)
    secs = time.perf_counter() - t0
    te = sim.truth_effects.set_index("subscriber_id").loc[sim.experiment["subscriber_id"]]
    v = U.retention_value(design, sim.experiment)
    arms = res.crossfit.arms
    true_net = true_net_values(te, arms, v, PolicyCosts.from_design(design, arms))
    corr = {a: round(float(np.corrcoef(res.crossfit.cate[:, j], te[f"tau_{a}"])[0, 1]), 3)
            for j, a in enumerate(arms[1:], start=1)}
    choice = res.policy.choice
    oracle_choice = choose_arms(true_net)
    disc = arms.index("contract_discount")
    stay = would_stay_anyway(te)
    return {
        "variant": variant, "seed": seed,
        "ratio": round(true_value(true_net, choice) / oracle_value(true_net), 4),
        "disc_stayers": round(float(np.mean(choice[stay] == disc)), 4),
        "corr": corr,
        "share": {a: round(float(np.mean(choice == j)), 3) for j, a in enumerate(arms)},
        "oracle_share": {a: round(float(np.mean(oracle_choice == j)), 3) for j, a in enumerate(arms)},
        "seconds": round(secs, 1),
        "rounds": list(ROUNDS),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("variants", nargs="+", choices=list(VARIANTS))
    p.add_argument("--seeds", type=int, nargs="+", default=[21, 5, 7, 11])
    p.add_argument("--n", type=int, default=200_000)
    args = p.parse_args()
    for variant in args.variants:
        out = [run(variant, s, args.n) for s in args.seeds]
        for o in out:
            print(json.dumps(o), flush=True)
        print(json.dumps({"variant": variant, "mean_ratio": round(float(np.mean([o["ratio"] for o in out])), 4),
                          "min_ratio": min(o["ratio"] for o in out),
                          "mean_disc_stayers": round(float(np.mean([o["disc_stayers"] for o in out])), 4),
                          "max_disc_stayers": max(o["disc_stayers"] for o in out)}), flush=True)


if __name__ == "__main__":
    main()

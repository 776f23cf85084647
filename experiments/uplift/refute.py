"""Refutation of each arm's average effect with DoWhy's refuters.

The estimate being refuted is a doubly-robust (AIPW) average effect: EconML's ``DRLearner`` run through DoWhy
(``backdoor.econml.dr.DRLearner``) with the known propensity of the arm-versus-control comparison, histogram-GBM
outcome models and a constant final model. DoWhy re-runs that estimator on every modified data set, so the
nuisance models are refitted in every refutation run:

* **placebo treatment** (``placebo_type="permute"``): the arm labels are permuted; the effect must vanish;
* **data subset** (80% of the rows): the effect must stay within the spread of the subset estimates;
* **random common cause**: an independent random covariate is added; the effect must not move.

A refuter *passes* when DoWhy's significance test is not significant at ``alpha / 3`` (Bonferroni over the three
refuters of one estimate; for the placebo, zero is within the placebo effects' distribution; for the other two, the
original estimate is within the distribution of re-estimates). Refuters run on a random sample of ``max_rows``
subscribers (a few seconds per arm).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from experiments.errors import DataError

REFUTERS: dict[str, dict[str, Any]] = {
    "placebo_treatment": {"method_name": "placebo_treatment_refuter", "placebo_type": "permute"},
    "data_subset": {"method_name": "data_subset_refuter", "subset_fraction": 0.8},
    "random_common_cause": {"method_name": "random_common_cause"},
}


@dataclass(frozen=True, slots=True)
class RefuterOutcome:
    """One refuter's result.

    Attributes
    ----------
    name : str
        ``placebo_treatment``, ``data_subset`` or ``random_common_cause``.
    estimated_effect : float
        The AIPW average effect on the refutation sample.
    new_effect : float
        Mean effect over the refuter's simulations (near 0 for the placebo, near ``estimated_effect`` otherwise).
    p_value : float
        DoWhy's p-value of its significance test.
    passed : bool
        Whether the estimate survives (test not significant at ``alpha / 3``, Bonferroni over the refuters).
    """

    name: str
    estimated_effect: float
    new_effect: float
    p_value: float
    passed: bool


@dataclass(frozen=True, slots=True)
class RefutationResult:
    """All refuters of one arm's average effect.

    Attributes
    ----------
    outcomes : list[RefuterOutcome]
        One per refuter.
    n_rows : int
        Rows of the refutation sample.
    n_simulations : int
        Simulations per refuter (each refits the nuisance models).
    """

    outcomes: list[RefuterOutcome]
    n_rows: int
    n_simulations: int

    @property
    def passed(self) -> bool:
        """Whether every refuter passed."""
        return all(o.passed for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"n_rows": self.n_rows, "n_simulations": self.n_simulations, "passed": self.passed,
                "refuters": {o.name: {"estimated_effect": o.estimated_effect, "new_effect": o.new_effect,
                                      "p_value": o.p_value, "passed": o.passed} for o in self.outcomes}}

    def summary(self) -> pd.DataFrame:
        """One row per refuter."""
        return pd.DataFrame([{"refuter": o.name, "estimated_effect": o.estimated_effect, "new_effect": o.new_effect,
                              "p_value": o.p_value, "passed": o.passed} for o in self.outcomes])


def _scalar(x: Any) -> float:
    return float(np.ravel(np.asarray(x, dtype=float))[0])


def _init_params(propensity: float, binary: bool, seed: int) -> dict[str, Any]:
    from econml.sklearn_extensions.linear_model import StatsModelsLinearRegression
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from experiments.uplift.model import KnownPropensity

    kw = {"max_iter": 40, "learning_rate": 0.15, "max_leaf_nodes": 15, "min_samples_leaf": 50,
          "early_stopping": False, "random_state": seed}
    return {
        "model_propensity": KnownPropensity((1 - propensity, propensity)),
        "model_regression": HistGradientBoostingClassifier(**kw) if binary else HistGradientBoostingRegressor(**kw),
        "model_final": StatsModelsLinearRegression(fit_intercept=True),
        "discrete_outcome": binary,
        "cv": 2,
        "random_state": seed,
    }


def refute_average_effect(
    X: np.ndarray,
    treated: np.ndarray,
    y: np.ndarray,
    feature_names: Sequence[str],
    *,
    propensity: float | None = None,
    binary: bool = True,
    max_rows: int = 20_000,
    n_simulations: int = 10,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
    n_threads: int | None = 1,
) -> RefutationResult:
    """Run DoWhy's placebo, data-subset and random-common-cause refuters on one arm-versus-control effect.

    Parameters
    ----------
    X : ndarray (n, p)
        Encoded features (the common causes / adjustment set).
    treated : ndarray (n,)
        1 for the arm, 0 for control.
    y : ndarray (n,)
        Outcome.
    feature_names : sequence of str
        Names of ``X``'s columns (reported only; DoWhy sees neutral names).
    propensity : float, optional
        Known probability of the arm within the comparison; defaults to the arm's share of the sample.
    binary : bool
        Whether ``y`` is 0/1.
    max_rows : int
        Rows sampled for the refutation.
    n_simulations : int
        Simulations per refuter.
    alpha : float
        Family-wise significance level of the three refuters (each is tested at ``alpha / 3``).
    rng : Generator, int or None
        Seeds the sample, the estimators and the refuters (through ``numpy.random.RandomState`` objects; nothing
        is seeded globally).
    n_threads : int or None
        OpenMP threads for the gradient-boosting fits (``None``: library default).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_threads, user_api="openmp"):
        return _refute(X, treated, y, propensity=propensity, binary=binary, max_rows=max_rows,
                       n_simulations=n_simulations, alpha=alpha, rng=rng)


def _refute(X: np.ndarray, treated: np.ndarray, y: np.ndarray, *, propensity: float | None, binary: bool,
            max_rows: int, n_simulations: int, alpha: float,
            rng: np.random.Generator | int | None) -> RefutationResult:
    from dowhy import CausalModel

    gen = np.random.default_rng(rng)
    t = np.asarray(treated).astype(int)
    if not np.isin(t, (0, 1)).all() or t.min() == t.max():
        raise DataError("refutation needs treated = 0 (control) and 1 (arm), both present")
    n = t.size
    idx = np.sort(gen.choice(n, max_rows, replace=False)) if n > max_rows else np.arange(n)
    names = [f"w{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(np.asarray(X)[idx], columns=names)
    df["treated"] = t[idx]
    df["outcome"] = np.asarray(y, dtype=float)[idx]
    e = float(df["treated"].mean()) if propensity is None else float(propensity)
    seed = int(gen.integers(2**31 - 1))
    dowhy_logger = logging.getLogger("dowhy")
    level = dowhy_logger.level
    dowhy_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = CausalModel(data=df, treatment="treated", outcome="outcome", common_causes=names)
            estimand = model.identify_effect(proceed_when_unidentifiable=True, method_name="maximal-adjustment")
            estimate = model.estimate_effect(
                estimand, method_name="backdoor.econml.dr.DRLearner", control_value=0, treatment_value=1,
                method_params={"init_params": _init_params(e, binary, seed), "fit_params": {}},
            )
            outcomes = []
            for name, params in REFUTERS.items():
                kwargs = {k: v for k, v in params.items() if k != "method_name"}
                ref = model.refute_estimate(
                    estimand, estimate, method_name=params["method_name"], num_simulations=n_simulations,
                    random_state=np.random.RandomState(int(gen.integers(2**31 - 1))), **kwargs,
                )
                res = ref.refutation_result or {}
                p = _scalar(res.get("p_value", float("nan")))
                outcomes.append(RefuterOutcome(name=name, estimated_effect=_scalar(ref.estimated_effect),
                                               new_effect=_scalar(ref.new_effect), p_value=p,
                                               passed=bool(p >= alpha / len(REFUTERS))))
    finally:
        dowhy_logger.setLevel(level)
    return RefutationResult(outcomes=outcomes, n_rows=int(idx.size), n_simulations=n_simulations)

"""The value-aware offer policy: who gets which offer, what that is worth, and readable rules.

Per subscriber ``i`` and arm ``a`` the expected net value of offering ``a`` instead of nothing is

    net[i, a] = V_i * b[i, a] - c_offer[a] - c_accept[a] * q[i, a]

with ``V_i`` the value of retention, ``b[i, a]`` the predicted benefit (reduction in churn) of the arm against
control, and ``q[i, a]`` the predicted probability that the subscriber accepts. The acceptance cost is paid by every
subscriber who accepts, including those who would have stayed anyway: it is weighted by the acceptance probability
of the individual, not netted against the average uplift. The policy picks the arm with the largest net value, "no
offer" (net 0) included, optionally under a budget of offers or of expected spend.

The policy is evaluated on held-out (cross-fitted) randomised data with the doubly-robust (AIPW) estimator of its
incremental net value against giving no offer:

    Gamma[i, a] = m[i, a] + 1{A_i = a} (R_i - m[i, a]) / e_a,   value(pi) = mean_i(Gamma[i, pi_i] - Gamma[i, 0])

where ``R_i = V_i * benefit_i - c_offer[A_i] - c_accept[A_i] * accepted_i`` is the realised net value and
``m[i, a]`` its out-of-fold prediction. With known propensities ``e_a`` this is unbiased whatever the models.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments.errors import DataError

if TYPE_CHECKING:
    from experiments.spec.models import ExperimentDesign, UpliftBudget
    from experiments.uplift.model import CrossFit
    from experiments.uplift.prepare import UpliftData

#: Subsample on which the policy tree is grown (a depth-3 tree does not need more rows to find its splits).
TREE_MAX_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class PolicyCosts:
    """Offer costs per arm, in arm order (control first).

    Attributes
    ----------
    per_offer : ndarray of shape (k,)
        Paid for every subscriber offered the arm.
    per_acceptance : ndarray of shape (k,)
        Paid for every subscriber who accepts it.
    """

    per_offer: np.ndarray
    per_acceptance: np.ndarray

    @classmethod
    def from_design(cls, design: ExperimentDesign, arms: Sequence[str]) -> PolicyCosts:
        """Costs from the design's ``arms[*].cost``."""
        return cls(per_offer=np.array([design.arms[a].cost.per_offer for a in arms], dtype=float),
                   per_acceptance=np.array([design.arms[a].cost.per_acceptance for a in arms], dtype=float))


def net_value_matrix(benefit_effect: np.ndarray, accept: np.ndarray, value: np.ndarray,
                     costs: PolicyCosts) -> np.ndarray:
    """Expected incremental net value of each arm against no offer, per subscriber.

    Parameters
    ----------
    benefit_effect : ndarray (n, k)
        Predicted benefit of each arm against control (column 0 is 0).
    accept : ndarray (n, k)
        Predicted acceptance probability per arm (column 0 is 0).
    value : ndarray (n,)
        Value of one unit of benefit (value of retention) per subscriber.
    costs : PolicyCosts

    Examples
    --------
    >>> c = PolicyCosts(np.array([0.0, 6.0]), np.array([0.0, 0.0]))
    >>> net_value_matrix(np.array([[0.0, 0.02]]), np.array([[0.0, 1.0]]), np.array([500.0]), c)
    array([[0., 4.]])
    """
    net = value[:, None] * benefit_effect - costs.per_offer[None, :] - costs.per_acceptance[None, :] * accept
    net[:, 0] = 0.0
    return net


def predicted_net_outcome(benefit_mu: np.ndarray, accept: np.ndarray, value: np.ndarray,
                          costs: PolicyCosts) -> np.ndarray:
    """``m[i, a] = V_i * mu_benefit[i, a] - c_offer[a] - c_accept[a] * q[i, a]``: predicted realised net value."""
    return value[:, None] * benefit_mu - costs.per_offer[None, :] - costs.per_acceptance[None, :] * accept


def realized_net_outcome(benefit: np.ndarray, accepted: np.ndarray | None, arm_codes: np.ndarray,
                         value: np.ndarray, costs: PolicyCosts) -> np.ndarray:
    """``R_i = V_i * benefit_i - c_offer[A_i] - c_accept[A_i] * accepted_i`` (accepted = 1 if not recorded)."""
    acc = np.ones_like(benefit) if accepted is None else accepted
    return value * benefit - costs.per_offer[arm_codes] - costs.per_acceptance[arm_codes] * acc


def choose_arms(net: np.ndarray, *, offers: int | None = None, spend: float | None = None,
                expected_cost: np.ndarray | None = None) -> np.ndarray:
    """Arm code per subscriber: the largest net value, no offer (code 0) when no arm has positive value.

    Under a budget, subscribers are ranked by their best net value (``offers``: at most that many offers) or by net
    value per unit of expected cost (``spend``: greedily, each subscriber whose expected cost still fits in what is
    left of ``spend``) and the rest get no offer.
    Ties are broken by row order (stable sort), so the result is deterministic.

    Examples
    --------
    >>> net = np.array([[0.0, 2.0, 3.0], [0.0, -1.0, -2.0], [0.0, 5.0, 1.0]])
    >>> choose_arms(net).tolist(), choose_arms(net, offers=1).tolist()
    ([2, 0, 1], [0, 0, 1])
    """
    choice = np.argmax(net, axis=1)  # first maximum: control wins ties, so zero-value offers are not made
    best = net[np.arange(net.shape[0]), choice]
    choice = np.where(best > 0, choice, 0)
    if offers is not None:
        offered = np.flatnonzero(choice > 0)
        if offered.size > offers:
            keep = offered[np.argsort(-best[offered], kind="stable")[:offers]]
            mask = np.zeros(choice.size, dtype=bool)
            mask[keep] = True
            choice = np.where(mask, choice, 0)
    if spend is not None:
        if expected_cost is None:
            raise DataError("a spend budget needs the expected cost of each arm per subscriber")
        rows = np.arange(choice.size)
        cost = expected_cost[rows, choice]
        offered = np.flatnonzero(choice > 0)
        ratio = best[offered] / np.maximum(cost[offered], 1e-12)
        order = offered[np.argsort(-ratio, kind="stable")]
        c_sorted = cost[order]
        within = np.cumsum(c_sorted) <= spend  # the greedy prefix, then fill the rest with whatever still fits
        first_out = int(np.argmin(within)) if not within.all() else within.size
        left = spend - float(c_sorted[:first_out].sum())
        for i in range(first_out, order.size):
            if c_sorted[i] <= left:
                within[i] = True
                left -= float(c_sorted[i])
        mask = np.zeros(choice.size, dtype=bool)
        mask[order[within]] = True
        choice = np.where(mask, choice, 0)
    return choice


@dataclass(frozen=True, slots=True)
class PolicyValue:
    """Doubly-robust value of a policy against no offer.

    Attributes
    ----------
    value, se : float
        Mean incremental net value per subscriber and its standard error.
    ci : tuple[float, float]
        Normal ``1 - alpha`` interval.
    """

    value: float
    se: float
    ci: tuple[float, float]


def policy_value(gamma: np.ndarray, assignment: np.ndarray, alpha: float = 0.05) -> PolicyValue:
    """DR value of a deterministic (codes, shape (n,)) or stochastic (probabilities, shape (n, k)) policy.

    Examples
    --------
    >>> g = np.array([[1.0, 3.0], [2.0, 1.0], [0.0, 2.0]])
    >>> policy_value(g, np.array([1, 0, 1])).value
    1.3333333333333333
    """
    if assignment.ndim == 1:
        picked = gamma[np.arange(gamma.shape[0]), assignment]
    else:
        picked = (gamma * assignment).sum(axis=1)
    psi = picked - gamma[:, 0]
    v = float(psi.mean())
    se = float(psi.std(ddof=1) / math.sqrt(psi.size)) if psi.size > 1 else float("nan")
    z = stats.norm.ppf(1 - alpha / 2)
    return PolicyValue(value=v, se=se, ci=(v - z * se, v + z * se))


def _rule_text(name: str, op: str, thr: float) -> str:
    if "=" in name:
        col, lvl = name.split("=", 1)
        return f"{col} is {lvl}" if op == ">" else f"{col} is not {lvl}"
    return f"{name} {op} {thr:.4g}"


def tree_rules(tree: Any, feature_names: Sequence[str], labels: Sequence[str | None],
               shares: np.ndarray) -> list[str]:
    """Readable rules, one per leaf: ``"if a <= 3 and plan is prepaid: offer X (12.5% of subscribers)"``."""
    t = tree.tree_
    rules: list[str] = []

    def walk(node: int, conds: list[str]) -> None:
        if t.children_left[node] == t.children_right[node]:  # leaf
            label = labels[int(np.argmax(t.value[node][0]))]
            what = "no offer" if label is None else f"offer {label}"
            share = shares[node]
            rules.append(f"if {' and '.join(conds) if conds else 'anyone'}: {what} ({share:.1%} of subscribers)")
            return
        name = feature_names[t.feature[node]]
        walk(t.children_left[node], [*conds, _rule_text(name, "<=", t.threshold[node])])
        walk(t.children_right[node], [*conds, _rule_text(name, ">", t.threshold[node])])

    walk(0, [])
    return rules


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """The learned policy and its held-out evaluation.

    Attributes
    ----------
    arms : list[str]
        Arm labels, control first.
    choice : ndarray (n,)
        Arm code chosen for each subscriber (out-of-fold predictions).
    net : ndarray (n, k)
        Expected incremental net value per subscriber and arm (column 0 = no offer = 0).
    value : PolicyValue
        DR value of the policy against no offer, per subscriber.
    baselines : dict[str, PolicyValue]
        ``control`` (no one; 0 by definition), each arm for everyone, and ``random`` (the design's weights).
    tree_value : PolicyValue
        DR value of the distilled policy tree.
    share : dict[str, float]
        Fraction of subscribers given each arm (control = no offer).
    rules : list[str]
        The policy tree's rules.
    tree_agreement : float
        Fraction of subscribers for whom the tree picks the same arm as the full policy.
    budget : dict
        The budget applied (``offers``, ``spend``) and the policy's expected number of offers and spend.
    value_unit : str
        Unit of the values.
    value_note : str
        How the values were computed (for the report's method notes).
    tree : Any
        The fitted ``sklearn.tree.DecisionTreeClassifier``.
    """

    arms: list[str]
    choice: np.ndarray
    net: np.ndarray
    value: PolicyValue
    baselines: dict[str, PolicyValue]
    tree_value: PolicyValue
    share: dict[str, float]
    rules: list[str]
    tree_agreement: float
    budget: dict[str, Any]
    value_unit: str
    value_note: str
    tree: Any = field(repr=False, default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the ``policy`` part of ``uplift.json``."""
        return {
            "value": self.value.value,
            "value_se": self.value.se,
            "value_ci": list(self.value.ci),
            "baselines": {k: v.value for k, v in self.baselines.items()},
            "baselines_ci": {k: list(v.ci) for k, v in self.baselines.items()},
            "share": dict(self.share),
            "rules": list(self.rules),
            "tree_value": self.tree_value.value,
            "tree_value_ci": list(self.tree_value.ci),
            "tree_agreement": self.tree_agreement,
            "budget": dict(self.budget),
            "value_unit": self.value_unit,
        }

    def summary(self) -> pd.DataFrame:
        """Tidy table of the policy, its tree and the baselines with intervals."""
        rows = [("learned policy", self.value), ("policy tree", self.tree_value)]
        rows += [(("no one" if k == "control" else "random" if k == "random" else f"everyone gets {k}"), v)
                 for k, v in self.baselines.items()]
        return pd.DataFrame([{"policy": name, "value": v.value, "se": v.se, "ci_lo": v.ci[0], "ci_hi": v.ci[1]}
                             for name, v in rows])


def fit_policy_tree(X: np.ndarray, net: np.ndarray, choice: np.ndarray, depth: int,
                    rng: np.random.Generator | int | None = None) -> Any:
    """Distil the policy into a shallow classification tree (depth <= 3) marketing can read.

    The tree predicts the chosen arm from the features; each subscriber weighs by what a wrong choice would cost
    (best net value minus the mean of the other options), so the splits follow the money, not the head count.
    """
    from sklearn.tree import DecisionTreeClassifier

    gen = np.random.default_rng(rng)
    n = X.shape[0]
    idx = np.sort(gen.choice(n, TREE_MAX_ROWS, replace=False)) if n > TREE_MAX_ROWS else np.arange(n)
    nv = net[idx]
    best = nv[np.arange(idx.size), choice[idx]]
    regret = best - (nv.sum(axis=1) - best) / max(nv.shape[1] - 1, 1)
    w = np.maximum(regret, 0) + 1e-9
    tree = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=max(50, idx.size // 200),
                                  random_state=int(gen.integers(2**31 - 1)))
    return tree.fit(X[idx], choice[idx], sample_weight=w)


def evaluate_policy(data: UpliftData, cf: CrossFit, costs: PolicyCosts, *, budget: UpliftBudget | None = None,
                    tree_depth: int = 2, alpha: float = 0.05,
                    rng: np.random.Generator | int | None = None) -> PolicyResult:
    """Build the value-aware policy from cross-fitted predictions and evaluate it (and the baselines) by AIPW."""
    from experiments.uplift.model import aipw_scores

    n, k = cf.cate.shape
    if data.value is not None:
        value = data.value
        unit = "net value per subscriber (currency of the design's value and costs)"
        note = ("Policy values: incremental net value per subscriber against giving no offer (value of retention x "
                "reduction in churn minus the cost per offer and the cost per acceptance x each subscriber's "
                "predicted acceptance), estimated by AIPW on the cross-fitted predictions with the design's arm "
                "weights as propensities.")
        use_costs = costs
    else:
        value = np.ones(n)
        unit = f"{data.metric} per subscriber (no value section: costs are not subtracted)"
        note = ("Policy values: improvement in the metric per subscriber against giving no offer (the design has no "
                "value section, so offer costs cannot be put on the same scale and are not subtracted), by AIPW.")
        use_costs = PolicyCosts(np.zeros(k), np.zeros(k))
    code = {a: i for i, a in enumerate(cf.arms)}
    t = np.array([code[a] for a in data.arm])
    benefit = data.benefit_sign * data.y
    net = net_value_matrix(data.benefit_sign * cf.cate, cf.accept, value, use_costs)
    expected_cost = use_costs.per_offer[None, :] + use_costs.per_acceptance[None, :] * cf.accept
    offers = budget.offers if budget is not None else None
    spend = budget.spend if budget is not None else None
    choice = choose_arms(net, offers=offers, spend=spend, expected_cost=expected_cost)
    m = predicted_net_outcome(data.benefit_sign * cf.mu, cf.accept, value, use_costs)
    r = realized_net_outcome(benefit, data.accepted, t, value, use_costs)
    gamma = aipw_scores(r, t, m, cf.propensity)
    pv = policy_value(gamma, choice, alpha)
    baselines = {cf.arms[0]: policy_value(gamma, np.zeros(n, dtype=int), alpha)}
    for j, a in enumerate(cf.arms[1:], start=1):
        baselines[a] = policy_value(gamma, np.full(n, j), alpha)
    baselines["random"] = policy_value(gamma, np.tile(cf.propensity / cf.propensity.sum(), (n, 1)), alpha)
    tree = fit_policy_tree(data.X, net, choice, tree_depth, rng=rng)
    tree_choice = tree.predict(data.X).astype(int)
    leaves = tree.apply(data.X)
    counts = np.bincount(leaves, minlength=tree.tree_.node_count) / n
    labels = [None if c == 0 else cf.arms[c] for c in tree.classes_]
    rules = tree_rules(tree, data.feature_names, labels, counts)
    rows = np.arange(n)
    return PolicyResult(
        arms=list(cf.arms), choice=choice, net=net, value=pv, baselines=baselines,
        tree_value=policy_value(gamma, tree_choice, alpha),
        share={a: float(np.mean(choice == j)) for j, a in enumerate(cf.arms)},
        rules=rules, tree_agreement=float(np.mean(tree_choice == choice)),
        budget={"offers": offers, "spend": spend, "n_offers": int((choice > 0).sum()),
                "expected_spend": float(expected_cost[rows, choice].sum())},
        value_unit=unit, value_note=note, tree=tree,
    )

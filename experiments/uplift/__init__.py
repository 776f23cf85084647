"""Who should get which offer: per-arm, per-subscriber uplift (EconML), its held-out metrics, the offer policy.

``prepare`` (rows) → ``model`` (cross-fitted effects) → ``metrics``, ``policy``, ``refute`` (on out-of-fold
predictions) → ``results`` → ``plots`` and ``section``; :func:`analyze_uplift` runs them all.

May import: :mod:`experiments.errors`, :mod:`~experiments.spec`, :mod:`~experiments.data`,
:mod:`~experiments.report`.
"""

from experiments.uplift.analyze import analyze_uplift, demo_uplift
from experiments.uplift.metrics import evaluate_uplift, qini_coefficient, uplift_at_k, uplift_curves
from experiments.uplift.model import UpliftModel, aipw_scores, average_effects
from experiments.uplift.policy import PolicyCosts, PolicyResult, choose_arms, evaluate_policy, net_value_matrix
from experiments.uplift.prepare import UpliftData, prepare_uplift_data, retention_value
from experiments.uplift.refute import refute_average_effect
from experiments.uplift.results import ArmEvaluation, UpliftResult
from experiments.uplift.section import uplift_section

__all__ = [
    "ArmEvaluation", "PolicyCosts", "PolicyResult", "UpliftData", "UpliftModel", "UpliftResult", "aipw_scores",
    "analyze_uplift", "average_effects", "choose_arms", "demo_uplift", "evaluate_policy", "evaluate_uplift",
    "net_value_matrix", "prepare_uplift_data", "qini_coefficient", "refute_average_effect", "retention_value",
    "uplift_at_k", "uplift_curves", "uplift_section",
]

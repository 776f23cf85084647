"""The typed results of an uplift analysis (what :func:`experiments.uplift.analyze_uplift` returns)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from experiments.uplift.model import AverageEffect, CrossFit

if TYPE_CHECKING:
    from experiments.uplift.metrics import BLPTest, UpliftMetrics
    from experiments.uplift.policy import PolicyResult
    from experiments.uplift.refute import RefutationResult

@dataclass(frozen=True, slots=True)
class ArmEvaluation:
    """Held-out evaluation of one arm's CATE against control.

    Attributes
    ----------
    effect : AverageEffect
        AIPW average effect.
    metrics : UpliftMetrics
        Qini, AUUC, uplift@k with bootstrap intervals (benefit scale: larger = better).
    calibration : pandas.DataFrame
        Observed versus predicted benefit by predicted-benefit decile.
    blp : BLPTest
        Best-linear-predictor test of heterogeneity.
    refutation : RefutationResult or None
        DoWhy refuters of the average effect.
    """

    effect: AverageEffect
    metrics: UpliftMetrics
    calibration: pd.DataFrame
    blp: BLPTest
    refutation: RefutationResult | None = None


@dataclass(frozen=True, slots=True)
class UpliftResult:
    """The uplift analysis of one design: per-arm effects and their evaluation, the policy, segments, checks.

    Attributes
    ----------
    design_name, metric : str
        Experiment and metric analysed.
    arms : dict[str, ArmEvaluation]
        Per treatment arm.
    policy : PolicyResult
        The value-aware policy, its held-out value, baselines, shares and tree rules.
    segments : pandas.DataFrame
        ATE per arm within each level of each ``uplift.segments`` column (empty without segments).
    crossfit : CrossFit
        Out-of-fold predictions.
    n, n_input : int
        Rows analysed and rows in the source (they differ when ``uplift.max_rows`` sampled).
    value_unit : str
        What ``policy.value`` is measured in.
    notes : list[str]
        Method notes and warnings.
    seconds : dict[str, float]
        Wall time per step.
    """

    design_name: str
    metric: str
    arms: dict[str, ArmEvaluation]
    policy: PolicyResult
    segments: pd.DataFrame
    crossfit: CrossFit
    n: int
    n_input: int
    value_unit: str
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: the ``uplift.json`` schema."""
        arms = {}
        for a, ev in self.arms.items():
            m = ev.metrics
            arms[a] = {
                "ate": ev.effect.ate,
                "ate_se": ev.effect.se,
                "ate_ci": list(ev.effect.ci),
                "diff_in_means": ev.effect.diff_in_means,
                "n_arm": ev.effect.n_arm,
                "n_control": ev.effect.n_control,
                "qini": m.qini.estimate,
                "qini_ci": [m.qini.lo, m.qini.hi],
                "auuc": m.auuc.estimate,
                "auuc_ci": [m.auuc.lo, m.auuc.hi],
                "uplift_at": {str(k): v.estimate for k, v in m.uplift_at.items()},
                "uplift_at_ci": {str(k): [v.lo, v.hi] for k, v in m.uplift_at.items()},
                "blp": {"beta1": ev.blp.beta1, "beta1_se": ev.blp.beta1_se, "beta2": ev.blp.beta2,
                        "beta2_se": ev.blp.beta2_se, "pvalue_heterogeneity": ev.blp.pvalue_heterogeneity},
                "calibration": ev.calibration.to_dict(orient="records"),
                "refutation": ev.refutation.to_dict() if ev.refutation is not None else None,
            }
        return {
            "design": self.design_name,
            "metric": self.metric,
            "n": self.n,
            "n_input": self.n_input,
            "value_unit": self.value_unit,
            "arms": arms,
            "policy": self.policy.to_dict(),
            "segments": self.segments.to_dict(orient="records"),
            "notes": list(self.notes),
            "seconds": dict(self.seconds),
        }

    def summary(self) -> pd.DataFrame:
        """Tidy table: one row per arm with the ATE, its interval and the held-out uplift metrics."""
        rows = []
        for a, ev in self.arms.items():
            m = ev.metrics
            rows.append({"arm": a, "ate": ev.effect.ate, "ci_lo": ev.effect.ci[0], "ci_hi": ev.effect.ci[1],
                         "qini": m.qini.estimate, "auuc": m.auuc.estimate,
                         **{f"uplift@{k:g}": v.estimate for k, v in m.uplift_at.items()},
                         "blp_beta2": ev.blp.beta2, "blp_p": ev.blp.pvalue_heterogeneity})
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        return self.summary().to_html(index=False, float_format=lambda v: f"{v:.4g}")

    def plot(self, ax: Any = None) -> Any:  # noqa: ARG002
        """Plotly figure of the Qini curves of every arm with the random baseline."""
        from experiments.uplift.plots import qini_figure

        return qini_figure({a: ev.metrics.curves for a, ev in self.arms.items()})

    def plot_calibration(self) -> Any:
        """Plotly figure of observed versus predicted benefit by predicted-benefit decile, per arm."""
        from experiments.uplift.plots import calibration_figure

        return calibration_figure({a: ev.calibration for a, ev in self.arms.items()})

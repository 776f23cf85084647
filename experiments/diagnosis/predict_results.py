"""Results of ``retention predict``: cross-validated metrics per model, the feature guard, the drivers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

PREDICTIVE_NOT_CAUSAL = "predictive, not causal"


@dataclass(frozen=True, slots=True)
class FoldMetric:
    """One metric across the cross-validation folds.

    Attributes
    ----------
    folds : tuple[float, ...]
        The value in each fold (the same folds for every model).
    mean, lo, hi : float
        Mean across folds and its Student-t interval (:func:`experiments.diagnosis.ranking.t_interval`).
    """

    folds: tuple[float, ...]
    mean: float
    lo: float
    hi: float

    def to_dict(self) -> dict[str, Any]:
        """``mean``, ``ci`` and ``folds``."""
        return {"mean": self.mean, "ci": [self.lo, self.hi], "folds": list(self.folds)}


@dataclass(frozen=True, slots=True)
class ModelScore:
    """Cross-validated quality of one model with one way of handling the class imbalance.

    Attributes
    ----------
    model : str
        ``logit``, ``rf`` or ``lgbm``.
    balance : str
        ``class_weight`` (weights inversely proportional to class frequency) or ``smote`` (SMOTE oversampling of
        the training folds only, inside an imbalanced-learn pipeline).
    metrics : dict[str, FoldMetric]
        ``roc_auc``, ``pr_auc`` (average precision), ``precision``, ``recall``, ``f1`` (at the threshold, on the
        calibrated probability), ``precision_at_k``, ``recall_at_k``, ``lift_at_k``, ``brier`` and ``ece``
        (expected calibration error of the calibrated probability, 10 equal-count bins).
    pooled : dict[str, float]
        ROC AUC, PR AUC and the K-metrics on the pooled out-of-fold scores of all subscribers.
    oof_score : ndarray
        Out-of-fold raw score of each subscriber (the classifier's probability before calibration).
    oof_prob : ndarray
        Out-of-fold calibrated probability (isotonic map fitted on the other folds' out-of-fold scores).
    seconds : float
        Wall time of the cross-validation of this model.
    """

    model: str
    balance: str
    metrics: dict[str, FoldMetric]
    pooled: dict[str, float]
    oof_score: np.ndarray = field(repr=False)
    oof_prob: np.ndarray = field(repr=False)
    seconds: float = 0.0

    @property
    def name(self) -> str:
        """``model`` or ``model+smote``."""
        return self.model if self.balance == "class_weight" else f"{self.model}+smote"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able metrics (without the per-subscriber arrays)."""
        return {"model": self.model, "balance": self.balance, "name": self.name,
                "metrics": {k: v.to_dict() for k, v in self.metrics.items()}, "pooled": self.pooled,
                "seconds": self.seconds}


@dataclass(frozen=True, slots=True)
class FeatureReport:
    """What the leakage guard and the type checks did to the columns.

    Attributes
    ----------
    numeric, categorical : tuple[str, ...]
        Features used, by kind.
    dropped : dict[str, str]
        Column → why it is not a feature: ``target``, ``label contract`` (Parquet metadata
        ``retention.label_columns``), ``--drop``, ``id-like`` (text unique per row), ``constant``, or
        ``single-feature AUC 0.997 > 0.99`` (a feature that alone separates churners almost perfectly is almost
        always the label in disguise).
    coerced : dict[str, int]
        Text columns read as numbers → count of blank values (made missing and imputed).
    single_auc : dict[str, float]
        Each candidate feature's single-feature ROC AUC (max of AUC and 1 − AUC; categories scored by their
        cross-fitted churn rate).
    """

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    dropped: dict[str, str]
    coerced: dict[str, int]
    single_auc: dict[str, float]

    @property
    def features(self) -> tuple[str, ...]:
        """All features in model order (numeric then categorical)."""
        return (*self.numeric, *self.categorical)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return {"numeric": list(self.numeric), "categorical": list(self.categorical), "dropped": self.dropped,
                "coerced_blanks": self.coerced, "single_feature_auc": self.single_auc}


@dataclass(frozen=True, slots=True)
class PredictResult:
    """``retention predict``: every model's cross-validated scores, the chosen one, its drivers.

    Attributes
    ----------
    target, positive : str
        Label column and the value that means churned.
    n, n_positive : int
        Subscribers used and churners among them.
    k : tuple[str, float]
        K as given: ``("share", 0.1)`` or ``("count", 500)``.
    folds : int
        Stratified folds (the same for every model).
    threshold : float
        Probability threshold of precision / recall / F1.
    scores : tuple[ModelScore, ...]
        One per model and imbalance handling.
    best : str
        Name of the model saved (highest mean Recall@K, then ROC AUC).
    features : FeatureReport
        The leakage guard's report.
    drivers : DataFrame
        ``feature, mean_abs_shap, share`` of the saved model on (a sample of) the data: **predictive, not causal**.
    shap_sample : DataFrame
        Long table ``feature, shap, value_rank`` (value rank in [0, 1] within the feature) for the beeswarm.
    y : ndarray
        0/1 label of each subscriber (for the gains and calibration figures).
    holdout : dict
        Metrics of the saved model on the ``test`` rows of a time split (empty without one).
    comparison : DataFrame or None
        Survival risk score vs the classifier on Recall@K (when computed).
    seed : int
        Seed of the folds and models.
    notes : tuple[str, ...]
        Method notes.
    """

    target: str
    positive: str
    n: int
    n_positive: int
    k: tuple[str, float]
    folds: int
    threshold: float
    scores: tuple[ModelScore, ...]
    best: str
    features: FeatureReport
    drivers: pd.DataFrame = field(repr=False)
    shap_sample: pd.DataFrame = field(repr=False)
    y: np.ndarray = field(repr=False)
    holdout: dict[str, Any] = field(default_factory=dict)
    comparison: pd.DataFrame | None = field(default=None, repr=False)
    seed: int = 0
    notes: tuple[str, ...] = ()

    @property
    def k_label(self) -> str:
        """K as people write it: ``10%`` or ``500``."""
        kind, v = self.k
        return f"{100 * v:g}%" if kind == "share" else f"{int(v)}"

    def score_of(self, name: str) -> ModelScore:
        """The :class:`ModelScore` called ``name``."""
        return next(s for s in self.scores if s.name == name)

    def summary(self) -> pd.DataFrame:
        """One row per model: mean and interval of each metric."""
        rows = []
        for s in self.scores:
            row: dict[str, Any] = {"model": s.name}
            for key, m in s.metrics.items():
                row[key] = m.mean
                if key in ("roc_auc", "pr_auc", "recall_at_k"):
                    row[f"{key}_lo"], row[f"{key}_hi"] = m.lo, m.hi
            rows.append(row)
        return pd.DataFrame(rows)

    def balance_comparison(self) -> pd.DataFrame | None:
        """Class weights vs SMOTE per model (differences in mean ROC AUC, PR AUC and Recall@K); None without SMOTE."""
        by = {(s.model, s.balance): s for s in self.scores}
        rows = []
        for (model, bal), s in by.items():
            if bal != "smote" or (model, "class_weight") not in by:
                continue
            w = by[(model, "class_weight")]
            rows.append({"model": model, **{f"{m}_class_weight": w.metrics[m].mean for m in ("roc_auc", "recall_at_k")},
                         **{f"{m}_smote": s.metrics[m].mean for m in ("roc_auc", "recall_at_k")},
                         "roc_auc_diff": s.metrics["roc_auc"].mean - w.metrics["roc_auc"].mean,
                         "pr_auc_diff": s.metrics["pr_auc"].mean - w.metrics["pr_auc"].mean,
                         "recall_at_k_diff": s.metrics["recall_at_k"].mean - w.metrics["recall_at_k"].mean})
        return pd.DataFrame(rows) if rows else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the whole of ``predict.json``."""
        cmp = self.balance_comparison()
        return {"target": self.target, "positive": self.positive, "n": self.n, "n_positive": self.n_positive,
                "churn_rate": self.n_positive / self.n, "k": {"kind": self.k[0], "value": self.k[1],
                                                             "label": self.k_label},
                "folds": self.folds, "threshold": self.threshold, "seed": self.seed, "best": self.best,
                "models": [s.to_dict() for s in self.scores],
                "class_weight_vs_smote": None if cmp is None else cmp.to_dict("records"),
                "features": self.features.to_dict(),
                "drivers": {"label": PREDICTIVE_NOT_CAUSAL, "table": self.drivers.to_dict("records")},
                "holdout": self.holdout,
                "risk_comparison": None if self.comparison is None else self.comparison.to_dict("records"),
                "notes": list(self.notes)}

    def _repr_html_(self) -> str:
        return self.summary().to_html(index=False, float_format=lambda x: f"{x:.3f}")

    def plot(self, ax=None):
        """The gains chart (a Plotly figure; ``ax`` is ignored)."""
        from experiments.diagnosis.predict_plots import gains_figure

        return gains_figure(self)

"""The survival risk score beside the snapshot classifier: Recall@K of both on the same subscribers.

Where the data have a duration (tenure so far, or at churn), ``retention risk``'s Cox model
(:class:`survival.risk.ChurnRiskModel`) can rank the same subscribers. To compare it fairly with the classifier's
out-of-fold scores it is fitted on the same stratified folds: on each training fold, the Cox model of the duration and
the churn label with the classifier's features (the duration itself excluded) as covariates; each test fold is then
ranked by its log partial hazard (``risk_score`` of ``retention risk``: higher = earlier churn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from experiments.diagnosis.ranking import k_count, precision_at_k, recall_at_k
from experiments.errors import DataError

if TYPE_CHECKING:
    from experiments.diagnosis.predict_results import PredictResult

#: Ridge penalty of the Cox fits (one-hot categories of snapshot data are often collinear, e.g. Telco's six
#: "No internet service" levels).
COX_PENALIZER = 0.01


def _covariates(frame: pd.DataFrame, result: PredictResult, duration: str, train: np.ndarray) -> pd.DataFrame:
    """The classifier's features as Cox covariates: numbers median-imputed (training median), categories as text with
    missing values as their own level; constant columns of the training fold left out."""
    from experiments.diagnosis.predict import MISSING_LEVEL

    out = {}
    for c in result.features.numeric:
        if c == duration:
            continue
        v = pd.to_numeric(frame[c].astype("string").str.strip().replace("", pd.NA), errors="coerce").astype(float)
        out[c] = v.fillna(float(np.nanmedian(v.to_numpy()[train])))
    for c in result.features.categorical:
        if c == duration:
            continue
        out[c] = frame[c].astype("string").str.strip().replace("", pd.NA).fillna(MISSING_LEVEL).astype(str)
    cov = pd.DataFrame(out, index=frame.index)
    keep = [c for c in cov if cov[c].iloc[train].nunique() > 1]
    return cov[keep]


def risk_comparison(frame: pd.DataFrame, result: PredictResult, duration: str) -> pd.DataFrame:
    """Recall@K, precision@K and ROC AUC of the survival risk score and the saved classifier on the same rows.

    Parameters
    ----------
    frame : DataFrame
        The rows ``predict`` cross-validated, in the same order (``result.y`` is their label).
    result : PredictResult
        The cross-validation (its folds are rebuilt from ``result.seed``).
    duration : str
        Tenure column (in any unit): time to churn for churners, time so far for the others.

    Returns
    -------
    DataFrame
        One row per method: ``method``, ``duration``, ``n``, ``k``, ``recall_at_k``, ``precision_at_k``,
        ``roc_auc``, ``max_recall_at_k`` (K / churners, at most 1).
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from survival.risk import ChurnRiskModel

    if duration not in frame.columns:
        raise DataError(f"--risk-duration {duration!r} is not a column; columns are: "
                        f"{', '.join(map(str, frame.columns[:30]))}")
    t = pd.to_numeric(frame[duration], errors="coerce")
    if t.isna().any() or (t < 0).any():
        raise DataError(f"--risk-duration {duration!r} has {int(t.isna().sum() + (t < 0).sum()):,} missing, "
                        "non-numeric or negative values; a survival model needs a tenure >= 0 for every subscriber")
    y = result.y
    folds = list(StratifiedKFold(n_splits=result.folds, shuffle=True, random_state=result.seed)
                 .split(np.zeros(y.size), y))
    risk = np.full(y.size, np.nan)
    for train, test in folds:
        cov = _covariates(frame, result, duration, train)
        data = cov.assign(_t=t.to_numpy(float), _e=y)
        model = ChurnRiskModel(horizon=1.0, covariates=list(cov.columns), penalizer=COX_PENALIZER)
        model.fit(data.iloc[train], "_t", "_e")
        risk[test] = model.risk_score(data.iloc[test])
    kk = k_count(result.k, y.size)
    best = result.score_of(result.best)
    rows = []
    for method, score in ((f"survival risk (Cox, {duration})", risk), (f"classifier ({result.best})",
                                                                         best.oof_score)):
        rows.append({"method": method, "duration": duration, "n": int(y.size), "k": kk,
                     "recall_at_k": recall_at_k(y, score, kk), "precision_at_k": precision_at_k(y, score, kk),
                     "roc_auc": float(roc_auc_score(y, score)), "max_recall_at_k": min(1.0, kk / max(int(y.sum()), 1))})
    return pd.DataFrame(rows)


def with_comparison(result: PredictResult, comparison: Any) -> PredictResult:
    """The result with its ``comparison`` set (results are frozen)."""
    from dataclasses import replace

    return replace(result, comparison=comparison)

"""Who churns next: cross-validated churn classifiers ranked by Recall@K, a saved model, drivers, batch scoring.

:func:`predict_churn` reads one row per subscriber, applies the **leakage guard** (the label contract of
``retention label`` files, ``drop``, id-like text columns, and any feature whose single-feature AUC exceeds 0.99),
and cross-validates each model on the same stratified folds: logistic regression (scaled numbers, one-hot
categories), random forest and LightGBM. Class imbalance is handled by class weights, or (``smote=True``, in
addition) by SMOTE applied to the training folds only inside an imbalanced-learn pipeline. Probabilities are
calibrated with an isotonic map fitted on out-of-fold scores (scikit-learn's ``CalibratedClassifierCV(...,
ensemble=False)`` scheme: out-of-fold predictions for the calibrator, the final model refitted on all rows). The
model with the highest mean Recall@K is refitted on all rows and returned as a :class:`ChurnModel`, which
:func:`score_batches` applies to new subscribers batch by batch, with each subscriber's top drivers (SHAP values:
LightGBM's built-in TreeSHAP, ``shap.TreeExplainer`` for the forest, exact linear SHAP for the logit). Drivers are
**predictive, not causal**.

Examples
--------
>>> import numpy as np, pandas as pd
>>> gen = np.random.default_rng(0)
>>> x = gen.normal(size=600)
>>> df = pd.DataFrame({"x": x, "noise": gen.normal(size=600),
...                    "churn": (gen.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
>>> res = predict_churn(df, "churn", models=("logit",), folds=3, rng=1)
>>> res.best, res.score_of("logit").metrics["roc_auc"].mean > 0.7
('logit', True)
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from experiments.diagnosis.predict_results import FeatureReport, FoldMetric, ModelScore, PredictResult
from experiments.diagnosis.ranking import (
    expected_calibration_error,
    k_count,
    lift_at_k,
    parse_k,
    precision_at_k,
    recall_at_k,
    t_interval,
)
from experiments.errors import DataError, DesignError

ModelName = Literal["logit", "rf", "lgbm"]
MODELS: tuple[str, ...] = ("logit", "rf", "lgbm")
SUSPECT_AUC = 0.99
SCREEN_ROWS = 100_000  # rows of the single-feature AUC screen (a seeded sample above)
MISSING_LEVEL = "(missing)"
MODEL_FORMAT = 1
TIERS = ("low", "medium", "high")


# ------------------------------------------------------------------------------------------------ reading


def _load(data: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The whole table as pandas (via DuckDB) and the label contract of a Parquet file (empty otherwise)."""
    from experiments.diagnosis.labels import read_label_contract
    from experiments.diagnosis.profiling import open_diagnosis_source

    contract: dict[str, Any] = {"label_columns": [], "target": None, "split": None, "id": None}
    if isinstance(data, (str, Path)) and str(data).lower().endswith(".parquet") and Path(data).exists():
        contract = read_label_contract(str(data))
    if isinstance(data, pd.DataFrame):
        return data.copy(), contract
    src = open_diagnosis_source(data)
    return src.con.execute(f"SELECT * FROM {src.relation}").df(), contract


def _target(frame: pd.DataFrame, target: str, positive: str | None) -> tuple[np.ndarray, str]:
    from experiments.diagnosis.profiling import POSITIVE_WORDS
    from experiments.errors import close_matches

    if target not in frame.columns:
        raise DataError(f"--target {target!r} is not a column{close_matches(target, list(frame.columns))}; columns "
                        f"are: {', '.join(map(str, frame.columns[:30]))}")
    codes, uniques = pd.factorize(frame[target], use_na_sentinel=True)  # the text of each distinct value once
    levels = [str(v).strip() for v in uniques]
    text = pd.Series(np.asarray([*levels, None], dtype=object)[codes], index=frame.index)
    missing = int((text.isna() | (text == "")).sum())
    if missing:
        raise DataError(f"target column {target!r} has {missing:,} missing (null or blank) values; a classifier "
                        "needs a known outcome for every subscriber: fill them or filter those rows out")
    values = sorted(text.unique().tolist())
    shown = ", ".join(repr(v) for v in values[:8])
    if len(values) < 2:
        raise DataError(f"target column {target!r} has a single value ({shown}); a classifier needs churners and "
                        "non-churners: check the filter or the label rule")
    if positive is not None:
        if str(positive) not in values:
            raise DataError(f"--positive {positive!r} is not a value of {target!r}; its values are {shown}")
        pos = str(positive)
    else:
        hits = [v for v in values if v.lower() in POSITIVE_WORDS]
        if len(values) > 2 or len(hits) != 1:
            raise DataError(f"target column {target!r} has values {shown}; name the one that means churned with "
                            "--positive")
        pos = hits[0]
    return (text == pos).to_numpy(np.int64), pos


def _numeric_text(s: pd.Series) -> tuple[pd.Series, int] | None:
    """A text column whose every non-blank value is a number: (numbers, count of blanks); None otherwise."""
    if s.dtype.kind not in "OSU" and str(s.dtype) not in ("string", "str"):
        return None
    head = s.head(1_000).astype("string").str.strip()  # a word among the first rows settles it cheaply
    head = head[head.notna() & (head != "")]
    if len(head) and pd.to_numeric(head, errors="coerce").isna().any():
        return None
    text = s.astype("string").str.strip()
    blank = text.isna() | (text == "")
    nums = pd.to_numeric(text.where(~blank), errors="coerce")
    if blank.all() or nums[~blank].isna().any():
        return None
    return nums.astype(float), int(blank.sum())


# ------------------------------------------------------------------------------------------------ feature guard


def _single_auc(x: pd.Series, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], categorical: bool,
                rows: np.ndarray | None = None) -> float:
    """max(AUC, 1 - AUC) of one feature alone, on ``rows`` (a seeded sample) or every row."""
    from sklearn.metrics import roc_auc_score

    if categorical:  # cross-fitted churn rate of the level: an in-sample rate would flatter rare levels
        score = np.full(len(x), y.mean())
        codes = x.astype("string").fillna(MISSING_LEVEL).to_numpy()
        for train, test in folds:
            rates = pd.Series(y[train]).groupby(codes[train]).mean()
            score[test] = pd.Series(codes[test]).map(rates).fillna(y[train].mean()).to_numpy()
    else:
        v = x.to_numpy(float)
        score = np.where(np.isnan(v), np.nanmedian(v) if np.isfinite(v).any() else 0.0, v)
    auc = float(roc_auc_score(y, score) if rows is None else roc_auc_score(y[rows], score[rows]))
    return max(auc, 1 - auc)


def plan_features(frame: pd.DataFrame, target: str, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], *,
                  label_columns: tuple[str, ...] = (), drop: tuple[str, ...] = (), keep: tuple[str, ...] = (),
                  suspect_auc: float = SUSPECT_AUC, screen_rows: int = SCREEN_ROWS,
                  seed: int = 0) -> tuple[pd.DataFrame, FeatureReport, list[dict[str, Any]]]:
    """The leakage guard and the types: the feature frame, its report and the model schema.

    Returns the features (numbers as float, categories as pandas categoricals with fixed levels), the
    :class:`FeatureReport` and the schema (one dict per feature: ``name``, ``kind``, ``dtype``, ``categories``).
    The single-feature AUC screen runs on a seeded sample of ``screen_rows`` rows when there are more (the
    categories' cross-fitted churn rates still use every training row).
    """
    from experiments.errors import close_matches

    for c in drop:
        if c not in frame.columns:
            raise DataError(f"--drop {c!r} is not a column{close_matches(c, list(frame.columns))}")
    dropped: dict[str, str] = {target: "target"}
    for c in label_columns:
        if c in frame.columns and c not in dropped:
            dropped[c] = "label contract (retention.label_columns)"
    for c in drop:
        dropped.setdefault(c, "--drop")
    n = len(frame)
    cols: dict[str, pd.Series] = {}
    coerced: dict[str, int] = {}
    kinds: dict[str, str] = {}
    for c in frame.columns:
        if c in dropped:
            continue
        s = frame[c]
        if s.dtype.kind in "biuf":
            cols[c], kinds[c] = s.astype(float), "numeric"
        elif s.dtype.kind == "M":
            dropped[c] = "timestamp (derive a number such as days since, then pass it as a feature)"
            continue
        else:
            num = _numeric_text(s)
            if num is not None:
                cols[c], kinds[c] = num[0], "numeric"
                if num[1]:
                    coerced[c] = num[1]
            else:
                text = s.astype("string").str.strip()
                if text.nunique(dropna=True) == n and n > 1:
                    dropped[c] = "id-like (text unique per row)"
                    continue
                cols[c], kinds[c] = text.where(text != ""), "categorical"
        if cols[c].nunique(dropna=True) <= 1:
            dropped[c] = "constant"
            del cols[c]
    rows = None
    if n > screen_rows:  # a sample of 100k rows pins an AUC to about ±0.003: plenty to see a leak at 0.99
        rows = np.sort(np.random.default_rng(seed).choice(n, size=screen_rows, replace=False))
        if len(np.unique(y[rows])) < 2:
            rows = None
    single = {c: _single_auc(s, y, folds, kinds[c] == "categorical", rows) for c, s in cols.items()}
    for c, auc in single.items():
        if auc > suspect_auc and c not in keep:
            dropped[c] = f"single-feature AUC {auc:.3f} > {suspect_auc} (the label in disguise? keep it with --keep)"
    numeric = tuple(c for c in cols if kinds[c] == "numeric" and c not in dropped)
    categorical = tuple(c for c in cols if kinds[c] == "categorical" and c not in dropped)
    if not numeric and not categorical:
        raise DataError("no feature is left after the leakage guard; dropped: "
                        + "; ".join(f"{c} ({why})" for c, why in dropped.items()))
    schema = [{"name": c, "kind": "numeric", "dtype": str(frame[c].dtype), "categories": None} for c in numeric]
    schema += [{"name": c, "kind": "categorical", "dtype": str(frame[c].dtype),
                "categories": sorted(cols[c].dropna().unique().tolist())} for c in categorical]
    features = prepare_features(pd.DataFrame(cols), schema)
    report = FeatureReport(numeric=numeric, categorical=categorical, dropped=dropped, coerced=coerced,
                           single_auc={c: round(v, 6) for c, v in single.items()})
    return features, report, schema


def schema_mismatch(columns: list[str], schema: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Model features missing from ``columns``, and columns the model does not know."""
    names = [f["name"] for f in schema]
    return [c for c in names if c not in columns], [c for c in columns if c not in names]


def prepare_features(frame: pd.DataFrame, schema: list[dict[str, Any]]) -> pd.DataFrame:
    """The model's feature frame from raw columns: numbers coerced (blank text → missing), categories fixed to the
    training levels (an unseen level becomes missing)."""
    out = {}
    for f in schema:
        s = frame[f["name"]]
        if f["kind"] == "numeric":
            out[f["name"]] = (s.astype(float) if s.dtype.kind in "biuf"
                              else pd.to_numeric(s.astype("string").str.strip().replace("", pd.NA), errors="coerce")
                              .astype(float))
        else:
            text = s.astype("string").str.strip()
            out[f["name"]] = pd.Categorical(text.where(text != "").astype(object), categories=f["categories"])
    return pd.DataFrame(out, index=frame.index)


# ------------------------------------------------------------------------------------------------ models


def _preprocessor(schema: list[dict[str, Any]], scale: bool):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    num = [f["name"] for f in schema if f["kind"] == "numeric"]
    cat = [f for f in schema if f["kind"] == "categorical"]
    parts = []
    if num:
        steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
        parts.append(("num", make_pipeline(*steps), num))
    if cat:
        parts.append(("cat", make_pipeline(
            FunctionTransformer(_fill_missing_level, feature_names_out="one-to-one"),
            OneHotEncoder(categories=[[*f["categories"], MISSING_LEVEL] for f in cat], handle_unknown="ignore",
                          sparse_output=False)), [f["name"] for f in cat]))
    return ColumnTransformer(parts, verbose_feature_names_out=False)


def _fill_missing_level(x: Any) -> np.ndarray:
    """Categories as object strings with missing values as their own level (no fitting: no leakage)."""
    arr = pd.DataFrame(x).astype(object)
    return arr.where(arr.notna(), MISSING_LEVEL).to_numpy(dtype=object)


def lgbm_params(seed: int, n_jobs: int) -> dict[str, Any]:
    """LightGBM settings used by ``predict`` (general-purpose, not tuned to any data set).

    Trees and learning rate are LightGBM's own defaults (100 at 0.1): 300 trees at 0.03 gave the same
    cross-validated ROC AUC on both real data sets (churn2020 0.9127 vs 0.9115, Telco 0.8440 vs 0.8428, well inside
    the fold intervals) and cost three times as much at every prediction and every SHAP value of ``score``.
    """
    return {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 30,
            "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0,
            "random_state": seed, "n_jobs": n_jobs, "verbose": -1}


def make_model(name: str, schema: list[dict[str, Any]], *, smote: bool = False, seed: int = 0, n_jobs: int = 1):
    """The estimator of one model: an sklearn/imblearn pipeline (or a bare ``LGBMClassifier``)."""
    if name not in MODELS:
        raise DesignError(f"--models: unknown model {name!r}; choose from {', '.join(MODELS)}")
    weight = None if smote else "balanced"
    if name == "logit":
        from sklearn.linear_model import LogisticRegression

        clf, prep = LogisticRegression(class_weight=weight, max_iter=5000, C=1.0), _preprocessor(schema, True)
    elif name == "rf":
        from sklearn.ensemble import RandomForestClassifier

        clf = RandomForestClassifier(n_estimators=300, min_samples_leaf=3, max_features="sqrt", n_jobs=n_jobs,
                                     class_weight=None if smote else "balanced_subsample", random_state=seed)
        prep = _preprocessor(schema, False)
    else:
        from lightgbm import LGBMClassifier

        clf = LGBMClassifier(class_weight=weight, **lgbm_params(seed, n_jobs))
        if not smote:
            return clf  # numbers and pandas categoricals natively; missing values go down the learned side
        prep = _preprocessor(schema, False)
    if smote:
        from imblearn.over_sampling import SMOTE
        from imblearn.pipeline import Pipeline as ImbPipeline

        return ImbPipeline([("prep", prep), ("smote", SMOTE(random_state=seed)), ("clf", clf)])
    from sklearn.pipeline import Pipeline

    return Pipeline([("prep", prep), ("clf", clf)])


def _isotonic():
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")


def _fold_metrics(y: np.ndarray, score: np.ndarray, prob: np.ndarray, k: tuple[str, float],
                  threshold: float, n_total: int) -> dict[str, float]:
    """Metrics of one test fold; a count K is scaled to the fold (K · fold size / all rows)."""
    from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score, roc_auc_score

    kk = k_count(k if k[0] == "share" else ("share", k[1] / n_total), y.size)
    pred = (prob >= threshold).astype(int)
    return {"roc_auc": float(roc_auc_score(y, score)), "pr_auc": float(average_precision_score(y, score)),
            "precision": float(precision_score(y, pred, zero_division=0)),
            "recall": float(recall_score(y, pred, zero_division=0)), "f1": float(f1_score(y, pred, zero_division=0)),
            "precision_at_k": precision_at_k(y, score, kk), "recall_at_k": recall_at_k(y, score, kk),
            "lift_at_k": lift_at_k(y, score, kk), "brier": float(np.mean((prob - y) ** 2)),
            "ece": expected_calibration_error(y, prob)}


def cross_validate(name: str, X: pd.DataFrame, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]],
                   schema: list[dict[str, Any]], *, k: tuple[str, float], threshold: float = 0.5,
                   smote: bool = False, seed: int = 0, n_jobs: int = 1) -> ModelScore:
    """Out-of-fold scores of one model on the given folds, calibrated out of fold, and the metrics of each fold."""
    from sklearn.base import clone
    from sklearn.metrics import average_precision_score, roc_auc_score

    start = time.perf_counter()
    base = make_model(name, schema, smote=smote, seed=seed, n_jobs=n_jobs)
    score = np.full(y.size, np.nan)
    for train, test in folds:
        est = clone(base).fit(X.iloc[train], y[train])
        score[test] = est.predict_proba(X.iloc[test])[:, 1]
    prob = np.empty_like(score)
    for i, (_, test) in enumerate(folds):  # calibrator of fold i from the other folds' out-of-fold scores
        other = np.concatenate([t for j, (_, t) in enumerate(folds) if j != i])
        prob[test] = _isotonic().fit(score[other], y[other]).predict(score[test])
    per = [_fold_metrics(y[test], score[test], prob[test], k, threshold, y.size) for _, test in folds]
    metrics = {m: FoldMetric(tuple(p[m] for p in per), *t_interval([p[m] for p in per])) for m in per[0]}
    kk = k_count(k, y.size)
    pooled = {"roc_auc": float(roc_auc_score(y, score)), "pr_auc": float(average_precision_score(y, score)),
              "k": kk, "precision_at_k": precision_at_k(y, score, kk), "recall_at_k": recall_at_k(y, score, kk),
              "lift_at_k": lift_at_k(y, score, kk), "ece": expected_calibration_error(y, prob)}
    return ModelScore(model=name, balance="smote" if smote else "class_weight", metrics=metrics, pooled=pooled,
                      oof_score=score, oof_prob=prob, seconds=time.perf_counter() - start)


# ------------------------------------------------------------------------------------------------ the saved model


@dataclass
class ChurnModel:
    """A fitted churn classifier with everything ``retention score`` needs.

    Attributes
    ----------
    name : str
        ``logit``, ``rf``, ``lgbm`` (``+smote`` when trained on oversampled folds).
    estimator : object
        The fitted pipeline or ``LGBMClassifier``.
    calibrator : IsotonicRegression
        Raw score → calibrated probability, fitted on the out-of-fold scores.
    schema : list[dict]
        Features: ``name``, ``kind`` (numeric/categorical), source ``dtype``, ``categories``.
    target, positive : str
        What the model predicts.
    tier_cuts : tuple[float, float]
        Calibrated probability at or above which a subscriber is ``medium`` / ``high`` (the top 3K and top K of
        the out-of-fold probabilities, K the campaign size of ``predict``).
    threshold : float
        Probability threshold used by ``predict`` for precision / recall.
    dropped : dict[str, str]
        Columns the leakage guard left out (for the record).
    """

    name: str
    estimator: Any
    calibrator: Any
    schema: list[dict[str, Any]]
    target: str
    positive: str
    tier_cuts: tuple[float, float]
    threshold: float = 0.5
    dropped: dict[str, str] = field(default_factory=dict)
    format: int = MODEL_FORMAT

    @property
    def features(self) -> list[str]:
        """Feature names in model order."""
        return [f["name"] for f in self.schema]

    @property
    def kind(self) -> str:
        """The model family (``logit``, ``rf``, ``lgbm``)."""
        return self.name.split("+")[0]

    def check_columns(self, columns: list[str], source: str = "the data") -> None:
        """Raise :class:`DataError` naming the missing model features (and the unknown columns) of ``columns``."""
        missing, extra = schema_mismatch(columns, self.schema)
        if missing:
            raise DataError(
                f"{source} does not have the model's feature set: missing {', '.join(missing[:20])}"
                f"{' ...' if len(missing) > 20 else ''}; columns the model does not know: "
                f"{', '.join(extra[:20]) or 'none'}; score data with the columns the model was trained on "
                f"(see its .schema.json) or retrain with retention predict")

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """Uncalibrated probability of the classifier."""
        return self.estimator.predict_proba(X)[:, 1]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probability of prepared features ``X``."""
        return self.calibrator.predict(self.raw_score(X))

    def tiers(self, prob: np.ndarray) -> np.ndarray:
        """``low`` / ``medium`` / ``high`` by :attr:`tier_cuts`."""
        lo, hi = self.tier_cuts
        return np.asarray(TIERS, dtype=object)[np.where(prob >= hi, 2, np.where(prob >= lo, 1, 0))]

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """SHAP values per original feature (columns of ``X``), in the model's margin (log-odds) scale.

        LightGBM: its TreeSHAP (``pred_contrib=True``); random forest: ``shap.TreeExplainer`` (probability scale);
        logit: exact linear SHAP ``coef · (x − mean of training x)`` of the scaled columns. One-hot columns are
        summed back to their feature.
        """
        if self.kind == "lgbm" and not self.name.endswith("smote"):
            return self.estimator.booster_.predict(X, pred_contrib=True)[:, :-1]
        prep = self.estimator.named_steps["prep"]
        clf = self.estimator.named_steps["clf"]
        xt = np.asarray(prep.transform(X), dtype=float)
        if self.kind == "logit":
            contrib = clf.coef_[0] * (xt - self.linear_mean_)
        elif self.kind == "lgbm":
            contrib = clf.booster_.predict(xt, pred_contrib=True)[:, :-1]
        else:
            import shap

            vals = shap.TreeExplainer(clf).shap_values(xt, check_additivity=False)
            contrib = vals[:, :, 1] if np.ndim(vals) == 3 else vals[1]
        groups = self.groups_
        out = np.zeros((xt.shape[0], len(self.schema)))
        np.add.at(out.T, groups, contrib.T)
        return out

    def finish(self, X: pd.DataFrame) -> ChurnModel:
        """Store what :meth:`contributions` needs (one-hot groups, training means of the logit's columns)."""
        if self.kind == "lgbm" and not self.name.endswith("smote"):
            return self
        prep = self.estimator.named_steps["prep"]
        names = list(prep.get_feature_names_out())
        index = {f["name"]: i for i, f in enumerate(self.schema)}
        cats = [f for f in self.schema if f["kind"] == "categorical"]
        groups = []
        for col in names:
            if col in index:
                groups.append(index[col])
            else:
                groups.append(next(index[f["name"]] for f in cats if col.startswith(f["name"] + "_")))
        self.groups_ = np.asarray(groups)
        if self.kind == "logit":
            self.linear_mean_ = np.asarray(prep.transform(X), dtype=float).mean(axis=0)
        return self

    def schema_json(self) -> dict[str, Any]:
        """The sidecar: features with kinds, dtypes and categories; target, model name, tiers."""
        return {"format": self.format, "model": self.name, "target": self.target, "positive": self.positive,
                "features": self.schema, "tier_cuts": list(self.tier_cuts), "threshold": self.threshold,
                "dropped": self.dropped}

    def to_bytes(self) -> bytes:
        """The model as a joblib file."""
        import joblib

        buf = io.BytesIO()
        joblib.dump(self, buf)
        return buf.getvalue()


def load_model(path: str | Path) -> ChurnModel:
    """Read a model file written by ``retention predict`` (joblib)."""
    import joblib

    try:
        model = joblib.load(path)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not our model file"
        raise DataError(f"--model {str(path)!r} is not a model file written by retention predict "
                        f"({type(exc).__name__}); pass the model.joblib of a predict run") from None
    if not isinstance(model, ChurnModel):
        raise DataError(f"--model {str(path)!r} holds a {type(model).__name__}, not a retention predict model")
    return model


# ------------------------------------------------------------------------------------------------ predict


def _seed(rng: np.random.Generator | int | None) -> int:
    return int(np.random.default_rng(rng).integers(2**31 - 1))


def predict_churn(data: Any, target: str | None = None, *, positive: str | None = None,
                  models: tuple[str, ...] | list[str] = MODELS, k: str | int | float = "10%", folds: int = 5,
                  smote: bool = False, threshold: float = 0.5, drop: tuple[str, ...] | list[str] = (),
                  keep: tuple[str, ...] | list[str] = (), label_columns: tuple[str, ...] | list[str] = (),
                  drivers_sample: int = 5_000, rng: np.random.Generator | int | None = 0,
                  n_jobs: int = 1) -> PredictResult:
    """Cross-validate churn classifiers on the same stratified folds, pick the best by Recall@K and refit it.

    Parameters
    ----------
    data : path, ``duckdb://`` URL or DataFrame
        One row per subscriber. A Parquet file written by ``retention label`` brings its label contract.
    target : str
        Label column (default: the label file's ``retention.target``).
    positive : str
        Value of ``target`` meaning churned (default: the one that reads as churned: 1, yes, true ...).
    models : sequence of {"logit", "rf", "lgbm"}
    k : str or number
        Campaign size: a share (``"10%"``) or a count (``500``).
    folds : int
        Stratified folds, shuffled with the seed; the same folds for every model.
    smote : bool
        Also cross-validate every model with SMOTE in the training folds (instead of class weights).
    threshold : float
        Calibrated probability from which a subscriber is predicted to churn (precision / recall / F1).
    drop, keep : sequence of str
        Columns to leave out; suspect columns (single-feature AUC > 0.99) to keep anyway.
    label_columns : sequence of str
        Label-defining columns (added to the Parquet contract's).
    drivers_sample : int
        Rows on which the saved model's SHAP drivers are computed.
    rng : Generator, int or None
        Seed of the folds, the models and SMOTE.
    n_jobs : int
        Threads of the forest and LightGBM.

    Returns
    -------
    PredictResult
        With the refitted :class:`ChurnModel` in ``result.model`` (attribute set on the returned object's
        ``holdout``-free companion: use :func:`predict_and_fit`).
    """
    return predict_and_fit(data, target, positive=positive, models=models, k=k, folds=folds, smote=smote,
                           threshold=threshold, drop=drop, keep=keep, label_columns=label_columns,
                           drivers_sample=drivers_sample, rng=rng, n_jobs=n_jobs)[0]


def predict_and_fit(data: Any, target: str | None = None, *, positive: str | None = None,
                    models: tuple[str, ...] | list[str] = MODELS, k: str | int | float = "10%", folds: int = 5,
                    smote: bool = False, threshold: float = 0.5, drop: tuple[str, ...] | list[str] = (),
                    keep: tuple[str, ...] | list[str] = (), label_columns: tuple[str, ...] | list[str] = (),
                    drivers_sample: int = 5_000, rng: np.random.Generator | int | None = 0,
                    n_jobs: int = 1) -> tuple[PredictResult, ChurnModel]:
    """:func:`predict_churn` and the refitted best model (see there for the parameters)."""
    from sklearn.model_selection import StratifiedKFold

    models = tuple(dict.fromkeys(m.strip() for m in models))
    for m in models:
        if m not in MODELS:
            raise DesignError(f"--models: unknown model {m!r}; choose from {', '.join(MODELS)}")
    if not models:
        raise DesignError(f"--models: name at least one of {', '.join(MODELS)}")
    if not isinstance(folds, int) or folds < 2:
        raise DesignError(f"--folds must be a whole number of at least 2; found {folds!r}")
    if not 0 < threshold < 1:
        raise DesignError(f"--threshold must be a probability strictly between 0 and 1; found {threshold}")
    parse_k(k)  # syntax first, before reading the data
    frame, contract = _load(data)
    target = target or contract.get("target")
    if not target:
        raise DesignError("--target: name the label column (the data has no retention.target metadata)")
    holdout_frame = None
    split = contract.get("split")
    if split and split in frame.columns and set(frame[split].astype(str)) >= {"train", "test"}:
        holdout_frame = frame[frame[split].astype(str) == "test"].reset_index(drop=True)
        frame = frame[frame[split].astype(str) == "train"].reset_index(drop=True)
    kk = parse_k(k, len(frame))
    y, pos = _target(frame, target, positive)
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    if min(n_pos, n_neg) < folds:
        raise DataError(f"target {target!r} has {min(n_pos, n_neg)} subscribers in its smaller class; "
                        f"{folds} stratified folds need at least {folds}: lower --folds or add data")
    seed = _seed(rng)
    fold_list = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(y.size), y))
    labels = tuple(contract.get("label_columns") or ()) + tuple(label_columns)
    X, report, schema = plan_features(frame, target, y, fold_list, label_columns=labels, drop=tuple(drop),
                                      keep=tuple(keep), seed=seed)
    scores = []
    for m in models:
        scores.append(cross_validate(m, X, y, fold_list, schema, k=kk, threshold=threshold, seed=seed,
                                     n_jobs=n_jobs))
        if smote:
            scores.append(cross_validate(m, X, y, fold_list, schema, k=kk, threshold=threshold, smote=True,
                                         seed=seed, n_jobs=n_jobs))
    best = max(scores, key=lambda s: (s.metrics["recall_at_k"].mean, s.metrics["roc_auc"].mean))
    estimator = make_model(best.model, schema, smote=best.balance == "smote", seed=seed, n_jobs=n_jobs).fit(X, y)
    calibrator = _isotonic().fit(best.oof_score, y)
    share = k_count(kk, y.size) / y.size
    cuts = tuple(float(np.quantile(best.oof_prob, 1 - q)) for q in (min(1.0, 3 * share), share))
    if cuts[0] >= cuts[1]:
        cuts = (float(np.nextafter(cuts[1], 0)), cuts[1])
    model = ChurnModel(name=best.name, estimator=estimator, calibrator=calibrator, schema=schema, target=target,
                       positive=pos, tier_cuts=cuts, threshold=threshold, dropped=report.dropped).finish(X)
    drivers, sample = _drivers(model, X, drivers_sample, seed)
    holdout: dict[str, Any] = {}
    if holdout_frame is not None and len(holdout_frame):
        holdout = _holdout(model, holdout_frame, target, pos, kk)
    notes = _notes(report, folds, best, model)
    result = PredictResult(target=target, positive=pos, n=int(y.size), n_positive=n_pos, k=kk, folds=folds,
                           threshold=threshold, scores=tuple(scores), best=best.name, features=report,
                           drivers=drivers, shap_sample=sample, y=y, holdout=holdout, seed=seed, notes=notes)
    return result, model


def load_frame_for_predict(data: Any) -> pd.DataFrame:
    """The rows :func:`predict_and_fit` cross-validates, in its order (the ``train`` rows of a label file with a
    time split, else every row): for analyses of the same subscribers, such as the survival risk comparison."""
    frame, contract = _load(data)
    split = contract.get("split")
    if split and split in frame.columns and set(frame[split].astype(str)) >= {"train", "test"}:
        frame = frame[frame[split].astype(str) == "train"].reset_index(drop=True)
    return frame


def _holdout(model: ChurnModel, frame: pd.DataFrame, target: str, pos: str, k: tuple[str, float]) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = (frame[target].astype(str).str.strip() == pos).to_numpy(int)
    if y.min() == y.max():
        return {"n": int(y.size), "note": "the test rows have one class only"}
    X = prepare_features(frame, model.schema)
    s = model.raw_score(X)
    kk = k_count(k if k[0] == "share" else ("share", min(1.0, k[1] / max(len(frame), 1))), y.size)
    return {"n": int(y.size), "n_positive": int(y.sum()), "roc_auc": float(roc_auc_score(y, s)),
            "pr_auc": float(average_precision_score(y, s)), "recall_at_k": recall_at_k(y, s, kk),
            "precision_at_k": precision_at_k(y, s, kk), "k": kk}


def _drivers(model: ChurnModel, X: pd.DataFrame, sample: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Global mean |SHAP| per feature and a long sample for the beeswarm (predictive, not causal)."""
    gen = np.random.default_rng(seed)
    idx = np.sort(gen.choice(len(X), size=min(sample, len(X)), replace=False))
    xs = X.iloc[idx]
    contrib = model.contributions(xs)
    mean_abs = np.abs(contrib).mean(axis=0)
    table = pd.DataFrame({"feature": model.features, "mean_abs_shap": mean_abs,
                          "share": mean_abs / mean_abs.sum() if mean_abs.sum() else mean_abs})
    table = table.sort_values("mean_abs_shap", ascending=False, ignore_index=True)
    long = []
    for j, f in enumerate(model.features):
        col = xs[f]
        val = col.cat.codes.where(col.notna()).astype(float) if isinstance(col.dtype, pd.CategoricalDtype) \
            else col.astype(float)
        rank = val.rank(pct=True).to_numpy()
        long.append(pd.DataFrame({"feature": f, "shap": contrib[:, j], "value_rank": rank}))
    return table, pd.concat(long, ignore_index=True)


def _notes(report: FeatureReport, folds: int, best: ModelScore, model: ChurnModel) -> tuple[str, ...]:
    notes = [f"Stratified {folds}-fold cross-validation, shuffled with the seed; every model sees the same folds. "
             "Intervals are Student-t intervals across folds (the folds share training rows: a guide to the spread, "
             "not an exact confidence interval).",
             "Probabilities are calibrated by an isotonic map of the out-of-fold scores (scikit-learn's "
             "CalibratedClassifierCV ensemble=False scheme); the reported calibrated out-of-fold probabilities use a "
             "map fitted on the other folds only. ROC AUC, PR AUC and the K metrics use the raw scores.",
             "Class imbalance: class weights inversely proportional to class frequency; with --smote, SMOTE "
             "oversamples the training folds only (imbalanced-learn pipeline), never the test fold.",
             f"Saved model: {best.name} (highest mean Recall@K, then ROC AUC), refitted on all rows.",
             "Drivers are SHAP values of the saved model: predictive, not causal. A driver says what the model "
             "uses, not what an offer would change; test that with retention driver-effect or an experiment."]
    if report.coerced:
        notes.append("Text columns read as numbers; their blank values were made missing and imputed (median for "
                     "the logit and forest; LightGBM's learned missing-value side): "
                     + ", ".join(f"{c} ({n:,} blank)" for c, n in report.coerced.items()) + ".")
    return tuple(notes)


# ------------------------------------------------------------------------------------------------ scoring


def _dataset(path: str | Path, model: ChurnModel):
    import pyarrow as pa
    import pyarrow.dataset as ds

    p = str(path)
    if p.lower().endswith(".csv"):
        import pyarrow.csv as pcsv

        header = pcsv.open_csv(p).schema.names
        model.check_columns(header, p)
        conv = pcsv.ConvertOptions(column_types={f["name"]: pa.string() for f in model.schema})
        return ds.dataset(p, format=ds.CsvFileFormat(convert_options=conv))
    try:
        dset = ds.dataset(p, format="parquet")
    except (pa.ArrowInvalid, OSError) as exc:
        if not Path(p).exists():
            raise FileNotFoundError(p) from None
        raise DataError(f"cannot read {p}: {str(exc).splitlines()[0]}") from None
    model.check_columns(dset.schema.names, p)
    return dset


def _batches(dset: Any, columns: list[str], batch_size: int) -> Any:
    """Record batches of ``columns``, in file order, holding one Parquet row group at a time.

    ``Dataset.to_batches`` keeps what it has decoded until the scan ends (apache/arrow#39808: 5.9 GB peak for a
    10M-row score file, ``benchmarks/README.md``), so Parquet files are read row group by row group with
    ``ParquetFile.iter_batches``; CSV goes through the dataset scanner.
    """
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    if not isinstance(dset.format, ds.ParquetFileFormat):
        yield from dset.to_batches(columns=columns, batch_size=batch_size)
        return
    for fragment in dset.get_fragments():
        pf = pq.ParquetFile(fragment.path, filesystem=dset.filesystem)
        for group in range(pf.metadata.num_row_groups):
            yield from pf.iter_batches(batch_size=batch_size, columns=columns, row_groups=[group])


def _read_ahead(items: Any) -> Any:
    """``items``, each produced in a worker thread while the caller works on the one before (Arrow decoding and
    LightGBM's prediction release the GIL, so reading the next batch overlaps predicting this one)."""
    from concurrent.futures import ThreadPoolExecutor

    it = iter(items)
    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as pool:
        pending = pool.submit(next, it, None)
        while (item := pending.result()) is not None:
            pending = pool.submit(next, it, None)
            yield item


KEEP_CELLS = 1 << 24
"""Most feature values (rows × features; 128 MB as float64) of a ``drivers_top`` contact list held in memory."""


def _take(x: Any, rows: Any) -> Any:
    """Rows of a feature matrix (NumPy) or frame (pandas), by position."""
    return x[rows] if isinstance(x, np.ndarray) else x.iloc[rows]


class _TopRows:
    """The ``n`` highest probabilities seen so far, with their row numbers and features (ties: the earlier row).

    The order is the rank's (a stable sort of ``-probability``), so after the last batch :attr:`rows` holds exactly
    the rows ranked 1..n, sorted by row number.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.rows = np.zeros(0, dtype=np.int64)
        self.prob = np.zeros(0)
        self.x: Any = None

    def offer(self, prob: np.ndarray, x: Any, first_row: int) -> None:
        if self.rows.size == self.n:  # only rows above the current n-th can enter (a tie loses: it comes later)
            new = np.flatnonzero(prob > self.prob.min())
            prob, x = prob[new], _take(x, new)
            rows = first_row + new
        else:
            rows = first_row + np.arange(prob.size)
        if not rows.size:
            return
        all_rows, all_prob = np.concatenate([self.rows, rows]), np.concatenate([self.prob, prob])
        xs = x if self.x is None else (np.concatenate([self.x, x]) if isinstance(x, np.ndarray)
                                       else pd.concat([self.x, x]))
        best = np.lexsort((all_rows, -all_prob))[:self.n]
        best.sort()  # row order (rows are increasing along the concatenation)
        self.rows, self.prob, self.x = all_rows[best], all_prob[best], _take(xs, best)


def _native_lgbm(model: ChurnModel) -> bool:
    """A LightGBM model that reads numbers and category codes directly (no preprocessing pipeline)."""
    return model.kind == "lgbm" and not model.name.endswith("smote")


def feature_matrix(batch: Any, schema: list[dict[str, Any]]) -> np.ndarray:
    """The float64 row-major matrix LightGBM reads, straight from an Arrow batch (no pandas object columns).

    Numbers as float (missing as NaN; text columns coerced like :func:`prepare_features`, blank → missing);
    categories as the code of their training level (trimmed text; missing or unseen → NaN), which is what LightGBM
    makes of the pandas categoricals it was trained on.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.empty((batch.num_rows, len(schema)), dtype=np.float64)
    for j, f in enumerate(schema):
        col = batch.column(f["name"])
        if f["kind"] == "numeric":
            if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_boolean(col.type):
                out[:, j] = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
            else:  # text read as numbers (CSV): the pandas coercion, rare and exact
                out[:, j] = prepare_features(pd.DataFrame({f["name"]: col.to_pandas()}), [f]).iloc[:, 0].to_numpy()
        else:
            text = pc.utf8_trim_whitespace(pc.cast(col, pa.string()))
            codes = pc.index_in(text, value_set=pa.array([str(c) for c in f["categories"]], pa.string()))
            out[:, j] = pc.cast(codes, pa.float64()).to_numpy(zero_copy_only=False)
    return out


def _top_drivers(contrib: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column index and value of the ``k`` largest contributions of each row, largest first (ties: lower index)."""
    top = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    return top, np.take_along_axis(contrib, top, axis=1)


def score_batches(model: ChurnModel, data: str | Path, out: str | Path, *, id_column: str | None = None,
                  segments: Any = None, drivers: int = 3, batch_size: int = 250_000, lang: str = "en",
                  n_jobs: int | None = None, driver_tiers: tuple[str, ...] | None = None,
                  drivers_top: str | int | float | None = None,
                  progress: Callable[[str, int, int | None], None] | None = None) -> dict[str, Any]:
    """Score a Parquet/CSV file batch by batch into ``out`` (Parquet), with bounded memory.

    Two passes over the input: the first computes every calibrated probability (one float per subscriber is all
    that is kept) for the global rank; the second computes the SHAP contributions of each batch and writes
    ``[id], probability, rank, tier, driver_1..3, driver_1..3_shap, [segment], action``. Memory: the two
    per-subscriber arrays (probability and rank, 16 bytes a row) plus one Parquet row group and one batch.

    Parameters
    ----------
    n_jobs : int or None
        LightGBM threads for the probabilities and TreeSHAP (default: every core).
    driver_tiers : tuple of str or None
        Tiers whose subscribers get drivers (default: every subscriber); the others' driver columns are null.
        TreeSHAP costs tens of times a prediction, so ``("high",)`` scores large files much faster.
    drivers_top : str, int, float or None
        Drivers only for the K highest-ranked subscribers, the contact list: a count (``100000``) or a share
        (``"1%"``, ``0.01``). Not together with ``driver_tiers``.
    progress : callable or None
        Called after each batch as ``progress(stage, rows_done, rows_total)``: stage ``"probabilities"`` (the first
        pass; the total is known for Parquet, None for CSV) then ``"drivers"`` (the second pass).

    Returns a summary (rows, tiers) for the report; aggregates only, no subscriber rows.

    Examples
    --------
    >>> import numpy as np, pandas as pd, tempfile, pathlib
    >>> gen = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": gen.normal(size=400), "z": gen.normal(size=400)})
    >>> df["churn"] = (gen.random(400) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
    >>> _, model = predict_and_fit(df, "churn", models=("lgbm",), folds=3, rng=0)
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> df.drop(columns="churn").to_parquet(d / "in.parquet")
    >>> score_batches(model, d / "in.parquet", d / "out.parquet")["rows"]
    400
    """
    import os

    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    dset = _dataset(data, model)
    names = dset.schema.names
    if id_column and id_column not in names:
        raise DataError(f"--id {id_column!r} is not a column of {data}")
    unknown = sorted(set(driver_tiers or ()) - set(TIERS))
    if unknown or driver_tiers == ():
        found = ", ".join(unknown) + " is not a tier" if unknown else "no tier given"
        raise DesignError(f"--driver-tiers: {found}; choose all or from {', '.join(TIERS)}, comma-separated "
                          "(e.g. high,medium)")
    if drivers_top is not None and driver_tiers is not None:
        raise DesignError("--drivers-top and --driver-tiers both choose who gets drivers; give one of them")
    known = dset.count_rows() if isinstance(dset.format, ds.ParquetFileFormat) else None  # from the footers
    total = (known if known is not None else dset.count_rows()) if drivers_top is not None else 0
    top_k = parse_k(drivers_top, total, option="--drivers-top") if drivers_top is not None else None
    rules = None
    if segments is not None:
        from experiments.diagnosis.segments import load_rules

        rules = load_rules(segments) if isinstance(segments, (str, Path)) else segments
    threads = int(n_jobs or os.cpu_count() or 1)
    native = _native_lgbm(model)
    booster = model.estimator.booster_ if native else None

    def matrix(batch: Any) -> Any:
        return feature_matrix(batch, model.schema) if native else prepare_features(batch.to_pandas(), model.schema)

    def probability(x: Any) -> np.ndarray:
        raw = booster.predict(x, num_threads=threads) if native else model.raw_score(x)
        return model.calibrator.predict(raw)

    def contributions(x: Any) -> np.ndarray:
        if native:
            return booster.predict(x, pred_contrib=True, num_threads=threads)[:, :-1]
        return model.contributions(x)

    k = min(drivers, len(model.features))
    # The contact list's features stay in memory from the first pass when they are few (one matrix of K rows),
    # so the second pass reads no feature at all; a large K reads them again batch by batch.
    top_n = k_count(top_k, total) if top_k else None
    keep = top_n is not None and k > 0 and top_n * len(model.features) <= KEEP_CELLS
    report = progress or (lambda stage, done, total: None)
    probs, lengths = [], []
    held: _TopRows | None = _TopRows(top_n) if keep else None
    seen = 0
    for x in _read_ahead(matrix(b) for b in _batches(dset, model.features, batch_size)):
        probs.append(probability(x))
        if held is not None:
            held.offer(probs[-1], x, seen)
        lengths.append(len(x))
        seen += len(x)
        report("probabilities", seen, known)
        del x
    p_all = np.concatenate(probs) if probs else np.zeros(0)
    del probs
    order = np.argsort(-p_all, kind="stable")
    rank = np.empty(p_all.size, dtype=np.int64)
    rank[order] = np.arange(1, p_all.size + 1)
    del order
    held_top = held_val = None
    if held is not None and held.rows.size:  # their drivers, in row order; the second pass looks them up
        held_top, held_val = _top_drivers(np.concatenate([contributions(_take(held.x, slice(i, i + batch_size)))
                                                          for i in range(0, held.rows.size, batch_size)]), k)
    cols = list(dict.fromkeys([*([] if keep else model.features), *([id_column] if id_column else [])]))
    read_cols = list(names) if rules is not None else cols
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    writer = None
    start = 0
    tiers = {t: 0 for t in TIERS}
    feats = pa.array(model.features, pa.string())
    actions = pa.array(["no action: standard care", "watch: include in the next campaign if budget allows",
                        "contact this week with a retention offer",
                        *(f"contact this week with a retention offer (top driver: {f})" for f in model.features)],
                       pa.string())
    tier_names = pa.array(TIERS, pa.string())
    chunks = (((b, b.num_rows) for b in _batches(dset, read_cols, batch_size)) if read_cols
              else ((None, n) for n in lengths))  # nothing to read: probabilities, ranks and drivers are here
    try:
        for batch, n in chunks:
            p = p_all[start:start + n]
            lo, hi = model.tier_cuts
            tier_code = np.where(p >= hi, 2, np.where(p >= lo, 1, 0)).astype(np.int8)
            res: dict[str, Any] = {}
            if id_column:
                res[id_column] = batch.column(id_column)
            res.update(probability=pa.array(p), rank=pa.array(rank[start:start + n]),
                       tier=pa.DictionaryArray.from_arrays(pa.array(tier_code), tier_names).cast(pa.string()))
            first = None
            if k:
                if top_n is not None:
                    has = rank[start:start + n] <= top_n
                elif driver_tiers is None:
                    has = np.ones(n, bool)
                else:
                    has = np.isin(tier_code, [TIERS.index(t) for t in driver_tiers])
                idx = np.zeros((n, k), dtype=np.int32)
                val = np.zeros((n, k))
                if held_top is not None:  # the contact list's, computed after the first pass
                    at = slice(*np.searchsorted(held.rows, [start, start + n]))
                    idx[held.rows[at] - start], val[held.rows[at] - start] = held_top[at], held_val[at]
                elif has.any():
                    sub = batch if has.all() else batch.filter(pa.array(has))
                    idx[has], val[has] = _top_drivers(contributions(matrix(sub)), k)
                    del sub
                for j in range(k):
                    res[f"driver_{j + 1}"] = pa.DictionaryArray.from_arrays(
                        pa.array(idx[:, j], mask=~has), feats).cast(pa.string())
                    res[f"driver_{j + 1}_shap"] = pa.array(val[:, j], mask=~has)
                first = np.where(has, idx[:, 0], -1)
            if rules is not None:
                raw = batch.to_pandas()
                seg = _segments_of(raw, rules)
                res["segment"] = seg
                res["action"] = np.array([rules.action_of(s, lang) for s in seg], dtype=object)
            else:  # contact the high tier about its top driver, watch the medium
                code = tier_code.astype(np.int32)
                if first is not None:
                    code = np.where((tier_code == 2) & (first >= 0), 3 + first, code)
                res["action"] = pa.DictionaryArray.from_arrays(pa.array(code), actions).cast(pa.string())
            for t, c in zip(TIERS, np.bincount(tier_code, minlength=3), strict=True):
                tiers[t] += int(c)
            table = pa.table(res)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            start += n
            report("drivers", start, p_all.size)
        if writer is None:
            raise DataError(f"{data} has no rows to score")
        writer.close()
        tmp.replace(out)
    except BaseException:
        if writer is not None:
            writer.close()
            tmp.unlink(missing_ok=True)
        raise
    return {"rows": int(p_all.size), "tiers": tiers, "tier_cuts": list(model.tier_cuts), "model": model.name,
            "mean_probability": float(p_all.mean()) if p_all.size else None}


def _segments_of(raw: pd.DataFrame, rules: Any) -> np.ndarray:
    import duckdb

    from experiments.data.sources import DuckDBSource
    from experiments.diagnosis.segments import segment_sql

    con = duckdb.connect()
    con.register("batch", raw)
    src = DuckDBSource(con, "batch", "the scored data")
    seg = con.execute(f"SELECT {segment_sql(src, rules)} FROM batch").fetchnumpy()
    con.close()
    return np.asarray(next(iter(seg.values())), dtype=object)


def result_json(result: PredictResult, model: ChurnModel) -> str:
    """``predict.json``: the result and the saved model's schema."""
    from experiments.data.io import to_json

    d = result.to_dict()
    d["saved_model"] = model.schema_json()
    return to_json(d)


def schema_text(model: ChurnModel) -> str:
    """The schema sidecar as JSON text."""
    return json.dumps(model.schema_json(), indent=2, ensure_ascii=False, default=str) + "\n"

"""Per-arm, per-subscriber uplift (conditional average treatment effects) with EconML, cross-fitted.

Flow: :func:`prepare_uplift_data` validates and encodes the rows a design names (features, arm, outcome,
acceptance, value of retention); :class:`UpliftModel` cross-fits, for every fold, EconML's doubly-robust learner
(``DRLearner``, default) or causal forest (``CausalForestDML``) on the other folds, an outcome model per arm and an
acceptance model per arm, and predicts on the held-out fold. Every number downstream (Qini, uplift@k, calibration,
policy value) is computed on these out-of-fold predictions, i.e. on data the models did not see.

The propensities are the design's arm weights, known by randomisation: they are passed to EconML as a fixed
classifier (:class:`KnownPropensity`) instead of being re-estimated.

:func:`analyze_uplift` is the one call the CLI and the demo make; it returns an :class:`UpliftResult` whose
``to_dict()`` is ``uplift.json``.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import DataConversionWarning

from experiments.errors import DataError, DesignError, close_matches

if TYPE_CHECKING:
    from experiments.design import ExperimentDesign, UpliftSpec
    from experiments.policy import PolicyResult
    from experiments.refute import RefutationResult
    from experiments.uplift_metrics import BLPTest, UpliftMetrics

#: Fewest subscribers an arm (and control) needs: each of the cross-fitting folds and EconML's inner folds must hold
#: both outcome classes of every arm; with 2 x 2 folds, 200 units leave 50 per inner fold.
MIN_UNITS_PER_FOLD = 100
#: Largest number of levels a text feature may have before it is refused (one-hot columns).
MAX_CATEGORY_LEVELS = 50
#: Internal column that carries per-subscriber values passed as an array through the row filters.
VALUE_COLUMN = "__value_of_retention__"
#: Most rows any one nuisance model (outcome or acceptance GBM) is fitted on. Above it the model's training side is a
#: stratified random sample (by arm, and by outcome for a binary metric); its predictions still cover every held-out
#: row, so cross-fitting stays honest. With 2 folds it starts to bind above 500k subscribers. The outcome model's arm
#: contrasts are the CATE, and they keep improving with rows: at 1M subscribers (20 features) its CATE-truth
#: correlations were 0.83 / 0.64 with 100k rows, 0.87 / 0.66 with 250k and 0.90 / 0.72 with all 500k, the policy's
#: share of the oracle 0.876, 0.917 and 0.934, for 10, 21 and 39 s of fitting and predicting (docs/uplift.md).
NUISANCE_MAX_ROWS = 250_000
#: Most rows an acceptance model is fitted on (one per arm and fold; a small GBM). Acceptance is well predicted from
#: far fewer rows than the outcome's arm contrasts: at 1M subscribers the policy built from the true benefits and
#: these estimated acceptance probabilities reached 0.99 of the oracle.
ACCEPT_MAX_ROWS = 100_000
#: Most leaves per tree of the outcome model (whose arm contrasts are the CATE). Chosen by the average over simulator
#: seeds 21/5/7/11 at 200k subscribers (policy/oracle 0.910 with 7 leaves, 0.882 with 15, 0.843 with 31) and
#: confirmed at 1M with 20 features (docs/uplift.md, benchmarks/uplift_variants.py).
OUTCOME_MAX_LEAVES = 7
#: Most boosting rounds of the outcome model (early stopping usually ends it sooner: 41-90 rounds at 200k
#: subscribers). At 1M (250k-row training sides) the 7-leaf model ran 113-158 rounds and its predictions under every
#: arm cost 27 s; capped at 100 rounds: 20 s, policy/oracle 0.906 instead of 0.908 (docs/uplift.md).
OUTCOME_MAX_ROUNDS = 100


class KnownPropensity(ClassifierMixin, BaseEstimator):
    """A classifier that ignores the features and returns the design's assignment probabilities.

    Parameters
    ----------
    proba : tuple of float
        Probability of each treatment label, in EconML's category order (control first).

    Examples
    --------
    >>> KnownPropensity((0.5, 0.25, 0.25)).fit(np.zeros((3, 1)), [0, 1, 2]).predict_proba(np.zeros((2, 1)))
    array([[0.5 , 0.25, 0.25],
           [0.5 , 0.25, 0.25]])
    """

    def __init__(self, proba: tuple[float, ...] = (0.5, 0.5)):
        self.proba = proba

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> KnownPropensity:  # noqa: ARG002
        self.classes_ = np.arange(len(self.proba))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        p = np.asarray(self.proba, dtype=float)
        return np.tile(p / p.sum(), (np.asarray(X).shape[0], 1))

    def predict(self, X: Any) -> np.ndarray:
        return np.full(np.asarray(X).shape[0], int(np.argmax(self.proba)))


# ----------------------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpliftData:
    """The validated, encoded rows an uplift analysis runs on (copies; the caller's frame is not touched).

    Attributes
    ----------
    X : ndarray of shape (n, p), float32
        Numeric features; text features are one-hot encoded (one column per level, ``name=level``).
    feature_names : list[str]
        Names of the columns of ``X``.
    arm : ndarray of shape (n,)
        Arm label per subscriber.
    y : ndarray of shape (n,)
        Outcome of the metric as recorded (e.g. churned 0/1).
    benefit_sign : float
        +1 if larger outcomes are better (``direction: increase``), -1 otherwise; ``benefit = sign * y``.
    accepted : ndarray of shape (n,) or None
        0/1 acceptance of the offer (``data.acceptance``), if the design names it.
    value : ndarray of shape (n,) or None
        Value of one unit of benefit per subscriber (value of retention), if the design has a ``value`` section
        or values were passed.
    segments : dict[str, ndarray]
        Raw segment columns (``uplift.segments``) for the segment tables.
    metric : str
        Name of the metric analysed.
    binary : bool
        Whether the metric is binary (0/1).
    n_input : int
        Rows before sampling down to ``uplift.max_rows``.
    """

    X: np.ndarray
    feature_names: list[str]
    arm: np.ndarray
    y: np.ndarray
    benefit_sign: float
    accepted: np.ndarray | None
    value: np.ndarray | None
    segments: dict[str, np.ndarray]
    metric: str
    binary: bool
    n_input: int


def retention_value(design: ExperimentDesign, frame: pd.DataFrame) -> np.ndarray | None:
    """Value of retaining each subscriber from the design's ``value`` section, or None without one.

    ``retention_value`` (a number or a column) is used as given. Otherwise the value is the margin per month
    (a number or a column) summed over ``horizon_months`` and discounted monthly at ``annual_discount_rate``:
    ``margin * sum_{m=1..H} (1 + r) ** (-m / 12)``. Lifetime values from the survival part can be passed to
    :func:`analyze_uplift` as ``value=`` instead.

    Examples
    --------
    >>> from experiments.design import ValueSpec
    >>> class D: value = ValueSpec(margin=10.0, horizon_months=12, annual_discount_rate=0.0)
    >>> float(retention_value(D(), pd.DataFrame({"a": [1, 2]}))[0])
    120.0
    """
    spec = design.value
    if spec is None:
        return None

    def column_or_number(v: float | str, key: str) -> np.ndarray:
        if isinstance(v, str):
            if v not in frame.columns:
                raise DataError(f"value.{key} names column {v!r}, which the data does not have"
                                f"{close_matches(v, frame.columns)}; give a number or an existing column")
            arr = pd.to_numeric(frame[v], errors="coerce").to_numpy(dtype=float)
            if not np.isfinite(arr).all():
                raise DataError(f"value.{key} column {v!r} has {int((~np.isfinite(arr)).sum())} missing or "
                                "non-numeric values; fill them or give a number")
            return arr
        return np.full(len(frame), float(v))

    if spec.retention_value is not None:
        return column_or_number(spec.retention_value, "retention_value")
    months = np.arange(1, spec.horizon_months + 1)
    annuity = float(np.sum((1 + spec.annual_discount_rate) ** (-months / 12)))
    return column_or_number(spec.margin, "margin") * annuity


#: dtype of the feature matrix. The histogram GBMs bin every feature into at most 255 bins and scikit-learn's
#: decision trees (the policy tree) split in float32 anyway, so float64 would only double the memory (1M x 31
#: features: 124 MB instead of 248 MB, and the same again for every fold's copy).
FEATURE_DTYPE = np.float32


def _encode_features(frame: pd.DataFrame, features: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    plan: list[tuple[str, list[str] | None]] = []  # (column, text levels or None for a number)
    names: list[str] = []
    for f in features:
        if f not in frame.columns:
            raise DataError(f"uplift.features names column {f!r}, which the data does not have"
                            f"{close_matches(f, frame.columns)}; remove it from uplift.features or fix its name")
        s = frame[f]
        if s.isna().any():
            raise DataError(f"feature column {f!r} has {int(s.isna().sum())} missing values; fill them (or drop "
                            "the rows) before the uplift analysis, or remove it from uplift.features")
        if s.nunique(dropna=False) < 2:
            raise DataError(f"feature column {f!r} is constant ({s.iloc[0]!r} in every row) and cannot explain "
                            "who benefits; remove it from uplift.features")
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            plan.append((f, None))
            names.append(f)
        elif pd.api.types.is_datetime64_any_dtype(s):
            raise DataError(f"feature column {f!r} holds dates; turn it into a number (e.g. days since an event) "
                            "before using it as an uplift feature")
        else:
            levels = sorted(s.astype(str).unique())
            if len(levels) > MAX_CATEGORY_LEVELS:
                raise DataError(f"feature column {f!r} is text with {len(levels)} distinct values (more than "
                                f"{MAX_CATEGORY_LEVELS}); group rare values or drop it from uplift.features")
            plan.append((f, levels))
            names += [f"{f}={lvl}" for lvl in levels]  # one-hot with every level, readable in the policy-tree rules
    # filled column by column: no list of float64 columns and no stacked copy of them
    X = np.empty((len(frame), len(names)), dtype=FEATURE_DTYPE)
    j = 0
    for f, lv in plan:
        if lv is None:
            X[:, j] = frame[f].to_numpy(dtype=float)
            j += 1
        else:
            text = frame[f].astype(str).to_numpy()
            for lvl in lv:
                X[:, j] = text == lvl
                j += 1
    return X, names


def prepare_uplift_data(
    design: ExperimentDesign,
    frame: pd.DataFrame,
    spec: UpliftSpec | None = None,
    *,
    value: Sequence[float] | np.ndarray | str | None = None,
    rng: np.random.Generator | int | None = None,
) -> UpliftData:
    """Validate the rows of an experiment for uplift and encode them.

    Parameters
    ----------
    design : ExperimentDesign
        The design; its ``uplift`` section is used unless ``spec`` is given.
    frame : pandas.DataFrame
        One row per subscriber. Not modified.
    spec : UpliftSpec, optional
        Overrides ``design.uplift``.
    value : array, column name or None
        Value of retention per subscriber (e.g. lifetime values from ``survival.ltv``); overrides the design's
        ``value`` section.
    rng : Generator, int or None
        Used only to sample down to ``spec.max_rows``.

    Raises
    ------
    DataError
        Missing or constant feature, missing values, unknown arm label, an arm with too few units, an outcome that
        is not 0/1 for a binary metric.
    """
    spec = spec or design.uplift
    if spec is None:
        raise DesignError("the design has no uplift section; add uplift: {features: [tenure_months, arpu, ...]}")
    metric = design.metric(spec.metric) if spec.metric else next(m for m in design.metrics if m.role == "primary")
    arm_col = design.data.arm
    needed = {"data.arm": arm_col, f"metrics[{metric.name}].column": metric.column}
    if design.data.acceptance:
        needed["data.acceptance"] = design.data.acceptance
    for key, col in needed.items():
        if col not in frame.columns:
            raise DataError(f"data has no column {col!r} (named by {key}){close_matches(col, frame.columns)}; "
                            "fix the design or the data")
    n_input = len(frame)
    if spec.max_rows is not None and n_input > spec.max_rows:
        idx = np.sort(np.random.default_rng(rng).choice(n_input, spec.max_rows, replace=False))
        frame = frame.iloc[idx]
    arm = frame[arm_col].astype(str).to_numpy()
    unknown = sorted(set(np.unique(arm)) - set(design.arms))
    if unknown:
        raise DataError(f"column {arm_col!r} has arm labels {unknown[:5]} that are not in the design's arms "
                        f"{list(design.arms)}; fix the labels or the design")
    n_folds = spec.n_folds
    need = MIN_UNITS_PER_FOLD * n_folds
    for a in design.arms:
        k = int((arm == a).sum())
        if k < need:
            raise DataError(f"arm {a!r} has {k} subscribers; the uplift models need at least {need} per arm "
                            f"({MIN_UNITS_PER_FOLD} per cross-fitting fold x uplift.n_folds = {n_folds}); collect "
                            "more data, lower uplift.n_folds, or remove the arm from the design")
    y_raw = pd.to_numeric(frame[metric.column], errors="coerce")
    if y_raw.isna().any():
        raise DataError(f"outcome column {metric.column!r} (metric {metric.name!r}) has {int(y_raw.isna().sum())} "
                        "missing or non-numeric values; drop immature or unknown rows first")
    y = y_raw.to_numpy(dtype=float)
    if metric.kind == "binary":
        bad = ~np.isin(y, (0.0, 1.0))
        if bad.any():
            raise DataError(f"outcome column {metric.column!r} of binary metric {metric.name!r} has "
                            f"{int(bad.sum())} values other than 0/1 (e.g. {y[bad][0]!r}); recode it to 0/1 or "
                            "declare the metric kind: continuous")
        for a in design.arms:
            if np.unique(y[arm == a]).size < 2:
                raise DataError(f"outcome {metric.column!r} takes a single value in arm {a!r}; the uplift models "
                                "need both outcomes in every arm")
    X, names = _encode_features(frame, spec.features)
    accepted = None
    if design.data.acceptance:
        acc = pd.to_numeric(frame[design.data.acceptance], errors="coerce").to_numpy(dtype=float)
        if not np.isin(acc, (0.0, 1.0)).all():
            raise DataError(f"acceptance column {design.data.acceptance!r} must be 0/1; found other or missing "
                            "values; recode it")
        accepted = acc
    if value is None:
        val = retention_value(design, frame)
    elif isinstance(value, str):
        if value not in frame.columns:
            raise DataError(f"value column {value!r} is not in the data{close_matches(value, frame.columns)}")
        val = frame[value].to_numpy(dtype=float)
    else:
        val = np.asarray(value, dtype=float)
        if val.shape != (n_input,):
            raise DataError(f"value has shape {val.shape}; give one value of retention per row ({n_input})")
        if spec.max_rows is not None and n_input > spec.max_rows:
            val = val[idx]
    if val is not None and not np.isfinite(val).all():
        raise DataError("value of retention has missing or infinite entries; fill them")
    segments = {}
    for s in spec.segments:
        if s not in frame.columns:
            raise DataError(f"uplift.segments names column {s!r}, which the data does not have"
                            f"{close_matches(s, frame.columns)}")
        segments[s] = frame[s].to_numpy()
    return UpliftData(
        X=X, feature_names=names, arm=arm, y=y, benefit_sign=1.0 if metric.direction == "increase" else -1.0,
        accepted=accepted, value=val, segments=segments, metric=metric.name, binary=metric.kind == "binary",
        n_input=n_input,
    )


# ----------------------------------------------------------------------------------------------------------------
# Cross-fitted models
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CrossFit:
    """Out-of-fold predictions for every subscriber.

    Attributes
    ----------
    arms : list[str]
        Arm labels, control first; the column order of the matrices below.
    cate : ndarray of shape (n, n_arms)
        Predicted effect of each arm on the outcome against control (column 0 is 0), outcome units, out of fold.
        With the DR learner it is the contrast ``mu[:, a] - mu[:, 0]`` of the learner's own cross-fitted outcome
        model (see :class:`UpliftModel`); with the causal forest it is the forest's effect. For a binary outcome
        it lies in ``[-mu[:, 0], 1 - mu[:, 0]]`` (a probability stays a probability).
    mu : ndarray of shape (n, n_arms)
        Predicted outcome under each arm, out of fold.
    accept : ndarray of shape (n, n_arms)
        Predicted probability of accepting each arm's offer (0 for control; 1 if acceptance is not recorded).
    propensity : ndarray of shape (n_arms,)
        Known assignment probabilities (the design's weights).
    fold : ndarray of shape (n,)
        Fold each subscriber was held out in.
    seconds : float
        Wall time of the fit.
    nuisance_rows : int or None
        The cap on the rows each nuisance model was fitted on, if it bound (None: every training row was used).
    ate_econml : ndarray of shape (n_arms,) or None
        DR learner only: EconML's own doubly-robust average effect of each arm against control (column 0 is 0),
        from the same out-of-fold outcome predictions; it equals :func:`average_effects` (a cross-check).
    """

    arms: list[str]
    cate: np.ndarray
    mu: np.ndarray
    accept: np.ndarray
    propensity: np.ndarray
    fold: np.ndarray
    seconds: float
    nuisance_rows: int | None = None
    ate_econml: np.ndarray | None = None


def _subsample(idx: np.ndarray, strata: np.ndarray, max_rows: int | None, rng: np.random.Generator) -> np.ndarray:
    """At most ``max_rows`` of the indices ``idx``, sampled without replacement in proportion to each stratum.

    ``strata`` holds one label per entry of ``idx``. Returns ``idx`` itself when it is small enough.

    Examples
    --------
    >>> idx = np.arange(10); s = np.array([0] * 6 + [1] * 4)
    >>> sub = _subsample(idx, s, 5, np.random.default_rng(0))
    >>> int((sub < 6).sum()), int((sub >= 6).sum())
    (3, 2)
    """
    if max_rows is None or idx.size <= max_rows:
        return idx
    labels, inverse = np.unique(strata, return_inverse=True)
    counts = np.bincount(inverse, minlength=labels.size)
    take = np.floor(counts * (max_rows / idx.size)).astype(np.int64)
    short = max_rows - int(take.sum())  # hand the rounding remainder to the largest strata
    take[np.argsort(-counts, kind="stable")[:short]] += 1
    parts = [rng.choice(idx[inverse == s], int(take[s]), replace=False) for s in range(labels.size)]
    return np.sort(np.concatenate(parts))


def _nuisance_splits(t: np.ndarray, y: np.ndarray, binary: bool, n_splits: int, max_rows: int | None,
                     rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """EconML's inner cross-fitting folds, stratified by arm (and outcome), with training sides capped.

    Each fold's test side is every row of the fold (EconML predicts the nuisances there); its training side is the
    other folds, sampled down to ``max_rows`` by :func:`_subsample`. Train and test never overlap.
    """
    strata = t * 2 + y.astype(np.int64) if binary else t
    return _capped_splits(_folds(strata, n_splits, rng), strata, max_rows, rng)


def _capped_splits(fold: np.ndarray, strata: np.ndarray, max_rows: int | None,
                   rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training rows sampled down to ``max_rows`` by stratum, test rows) for each fold label 0..K-1."""
    out = []
    for f in range(int(fold.max()) + 1):
        train = np.flatnonzero(fold != f)
        out.append((_subsample(train, strata[train], max_rows, rng), np.flatnonzero(fold == f)))
    return out


def _folds(arm: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold labels stratified by arm (each fold holds each arm in proportion)."""
    fold = np.empty(arm.size, dtype=np.int64)
    for a in np.unique(arm):
        idx = np.flatnonzero(arm == a)
        perm = rng.permutation(idx)
        fold[perm] = np.arange(perm.size) % n_folds
    return fold


def _hgb_classifier(seed: int) -> Any:
    """Nuisance classifier: histogram GBM kept lean (15 leaves, at most 40 rounds, early stopping)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=40, learning_rate=0.2, max_leaf_nodes=15, min_samples_leaf=200,
                                          early_stopping=True, n_iter_no_change=5, random_state=seed)


def _hgb_regressor(seed: int) -> Any:
    """Nuisance regressor (continuous outcomes), same settings as :func:`_hgb_classifier`."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=40, learning_rate=0.2, max_leaf_nodes=15, min_samples_leaf=200,
                                         early_stopping=True, n_iter_no_change=5, random_state=seed)


class OutcomeRegressor(BaseEstimator):
    """The outcome model of the DR learner, whose arm contrasts are the CATE: an S-learner (one histogram GBM on
    ``[X, one-hot arms]``); :class:`OutcomeClassifier` (logistic loss) for a binary outcome.

    Up to ``OUTCOME_MAX_ROUNDS = 100`` rounds at learning rate 0.1, stopped when the loss on a 10% validation
    split has not improved for 10 rounds: the number of rounds follows the data (the nuisance GBMs' 40 rounds at
    rate 0.2 stopped after 25-35 rounds and flattened the arm contrasts); the cap bounds the time at 1M. Trees of
    at most ``OUTCOME_MAX_LEAVES = 7`` leaves: the arm contrasts are differences of two noisy predictions, and smaller
    trees (fewer high-order interactions per round) made them less noisy; on the simulator at 200k subscribers
    (seeds 21/5/7/11, ``benchmarks/uplift_variants.py``) the policy reached 0.907-0.917 of the oracle with 7
    leaves against 0.870-0.899 with 15 and 0.828-0.852 with 31 (docs/uplift.md). It has no ``score`` method on
    purpose: EconML then skips scoring the nuisance models on every held-out fold, a full extra prediction pass
    whose result nothing here uses.

    Parameters
    ----------
    random_state : int
        Seed of the validation split.
    """

    _binary = False

    def __init__(self, random_state: int = 0):
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> OutcomeRegressor:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if self._binary else HistGradientBoostingRegressor
        self.model_ = cls(max_iter=OUTCOME_MAX_ROUNDS, learning_rate=0.1, max_leaf_nodes=OUTCOME_MAX_LEAVES,
                          min_samples_leaf=200,
                          early_stopping=True, n_iter_no_change=10, random_state=self.random_state)
        self.model_.fit(X, np.ravel(y), sample_weight=sample_weight)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self.model_.predict(X)


class OutcomeClassifier(OutcomeRegressor):
    """:class:`OutcomeRegressor` for a 0/1 outcome: logistic loss, ``predict_proba``."""

    _binary = True

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> OutcomeClassifier:
        super().fit(X, y, sample_weight)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.model_.predict_proba(X)


def _outcome_model(binary: bool, seed: int) -> OutcomeRegressor:
    return OutcomeClassifier(random_state=seed) if binary else OutcomeRegressor(random_state=seed)


def _final_regressor(seed: int) -> Any:
    """CATE (final-stage) regressor on the noisy doubly-robust pseudo-outcomes: small, heavily regularised trees."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=40, learning_rate=0.1, max_leaf_nodes=8, min_samples_leaf=1000,
                                         l2_regularization=1.0, early_stopping=True, n_iter_no_change=5,
                                         random_state=seed)


def _fit_cate(learner: str, X: np.ndarray, t: np.ndarray, y: np.ndarray, proba: tuple[float, ...], binary: bool,
              seed: int, max_rows: int | None = None, cv: list[tuple[np.ndarray, np.ndarray]] | None = None,
              cache_values: bool = False) -> Any:
    """Fit EconML on ``X``; ``t`` holds integer arm codes 0..K-1 (0 = control).

    ``cv`` gives EconML's cross-fitting folds (train, test); by default two folds stratified by arm (and
    outcome). Each outcome model is fitted on at most ``max_rows`` rows of its training side
    (:func:`_nuisance_splits`), the final model on every row. ``cache_values`` keeps EconML's out-of-fold
    nuisance values (:func:`_out_of_fold_outcomes` reads them).
    """
    if cv is None:
        cv = _nuisance_splits(t, y, binary, 2, max_rows, np.random.default_rng(seed))
    if learner == "dr":
        from econml.dr import LinearDRLearner

        # The features go in as W (controls): EconML cross-fits the outcome model on [W, arm] and its final stage
        # is the average effect (X=None), not a second, unused CATE model on every row.
        est = LinearDRLearner(
            model_propensity=KnownPropensity(proba),
            model_regression=_outcome_model(binary, seed),
            discrete_outcome=binary,
            categories=list(range(len(proba))),
            cv=cv,
            random_state=seed,
        )
        est.fit(y, t, X=None, W=X, cache_values=cache_values)
        return est
    if learner == "causal_forest":
        from econml.dml import CausalForestDML

        est = CausalForestDML(
            model_y=_hgb_classifier(seed) if binary else _hgb_regressor(seed),
            model_t=KnownPropensity(proba),
            discrete_treatment=True,
            discrete_outcome=binary,
            categories=list(range(len(proba))),
            cv=cv,
            n_estimators=100,
            min_samples_leaf=50,
            random_state=seed,
            n_jobs=1,
        )
        est.fit(y, t, X=X)
        return est
    raise DesignError(f"uplift.learner: {learner!r} is not allowed; use one of 'dr', 'causal_forest'")


def _fit_outcome(X: np.ndarray, t: np.ndarray, y: np.ndarray, k: int, binary: bool, seed: int) -> Any:
    onehot = np.eye(k)[t]
    return _outcome_model(binary, seed).fit(np.hstack([X, onehot]), y)


def _predict_outcome(model: Any, X: np.ndarray, arm_code: int, k: int, binary: bool) -> np.ndarray:
    onehot = np.zeros((X.shape[0], k))
    onehot[:, arm_code] = 1.0
    Z = np.hstack([X, onehot])
    return model.predict_proba(Z)[:, 1] if binary else model.predict(Z)


def _out_of_fold_outcomes(est: Any, y: np.ndarray, t: np.ndarray, k: int) -> np.ndarray:
    """Out-of-fold outcome predictions under every arm, shape (n, k), from a DR learner fitted with
    ``cache_values=True``.

    EconML caches, for every row and arm ``a``, the doubly-robust value
    ``Y_a = mu_a + 1{T = a} (y - mu_a) / e_a`` with ``mu_a`` predicted by the fold model that did not see the row
    and ``e_a`` the (known) propensity. Where ``T != a`` that is ``mu_a`` itself; where ``T = a`` it is solved for
    ``mu_a = (e_a Y_a - y) / (e_a - 1)``. ``test_uplift_nuisance.py`` checks the result against predicting with
    the fold models directly, which guards against a change of EconML's internal layout.
    """
    cached = est._cached_values
    if cached is None:  # pragma: no cover - _fit_cate is always called with cache_values=True here
        raise RuntimeError("the DR learner was fitted without cache_values=True")
    n = y.size
    y_dr = np.asarray(cached.nuisances[0], dtype=float).reshape(n, k)
    e = np.asarray(cached.nuisances[1], dtype=float).reshape(n, k)
    own = np.arange(k)[None, :] == t[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(own, (e * y_dr - y[:, None]) / (e - 1.0), y_dr)
    est._cached_values = None  # release EconML's copies of the data
    return mu


def _predict_arms(models: Sequence[Any], X: np.ndarray, k: int, binary: bool) -> np.ndarray:
    """Predicted outcome under every arm, shape (n, k), from S-learner models whose input is
    ``[X, one-hot of the arms but control]`` (EconML's layout), averaged over ``models``."""
    out = np.zeros((X.shape[0], k))
    for j in range(k):
        onehot = np.zeros((X.shape[0], k - 1), dtype=X.dtype)  # Z keeps X's dtype: no float64 copy
        if j > 0:
            onehot[:, j - 1] = 1.0
        Z = np.hstack([X, onehot])
        for m in models:
            out[:, j] += m.predict_proba(Z)[:, 1] if binary else m.predict(Z)
        del Z
    return out / len(models)


def _outcome_predictions(data: UpliftData, t: np.ndarray, tr: np.ndarray, te: np.ndarray, k: int,
                         seed: int) -> np.ndarray:
    """Predicted outcome under every arm for the held-out rows ``te`` from an outcome model fitted on the
    training rows ``tr`` (the causal forest has no per-arm outcome model of its own), shape (n_te, k)."""
    om = _fit_outcome(data.X[tr], t[tr], data.y[tr], k, data.binary, seed)
    out = np.zeros((int(np.sum(te)), k))
    X_te = data.X[te]
    for j in range(k):
        out[:, j] = _predict_outcome(om, X_te, j, k, data.binary)
    return out


def _fit_predict_accept(X_tr: np.ndarray, acc_tr: np.ndarray, X_te: np.ndarray, seed: int,
                        max_rows: int | None = None) -> np.ndarray:
    """Acceptance probability on ``X_te`` from a classifier fitted on at most ``max_rows`` rows (stratified by
    acceptance) of the training side."""
    rate = float(acc_tr.mean())
    if rate in (0.0, 1.0) or acc_tr.size < 2 * MIN_UNITS_PER_FOLD:
        return np.full(X_te.shape[0], rate)
    rows = _subsample(np.arange(acc_tr.size), acc_tr, max_rows, np.random.default_rng(seed))
    if rows.size < acc_tr.size:
        X_tr, acc_tr = X_tr[rows], acc_tr[rows]
    return _hgb_classifier(seed).fit(X_tr, acc_tr).predict_proba(X_te)[:, 1]


class UpliftModel:
    """Cross-fitted per-arm CATE, outcome and acceptance models (scikit-learn style: settings in ``__init__``).

    Parameters
    ----------
    arms : sequence of str
        Arm labels, control first.
    propensity : sequence of float
        Known assignment probability of each arm (the design's weights), same order.
    learner : {"dr", "causal_forest"}
        ``"dr"``: one EconML ``DRLearner`` fit whose cross-fitting folds are ours (known propensities; outcome model
        one early-stopped histogram GBM on ``[X, arm]``). Each subscriber's outcome under every arm is predicted
        by the fold model that did not see them, and the CATE is the contrast of these predictions,
        ``mu_a(x) - mu_0(x)``: for a binary outcome the model works on the log-odds scale, so an arm's effect
        shrinks with the subscriber's own risk and can never exceed it, and no propensity-weighted residual enters
        it. A final-stage regression of the doubly-robust pseudo-outcomes on the features (EconML's DR-learner
        CATE) gave policies of lower value and gave the discount to 3-6% of would-stay-anyway subscribers on the
        simulator, against 0.1-2% for the contrast (docs/uplift.md); EconML's final stage here is the average
        effect (``CrossFit.ate_econml``, a cross-check of :func:`average_effects`). ``"causal_forest"``: EconML's
        ``CausalForestDML`` fitted on the other folds, its effect predicted on the held-out fold.
    n_folds : int
        Cross-fitting folds: each subscriber's predictions come from models fitted on the other folds.
    rng : Generator, int or None
        Seeds the folds and the models.
    n_threads : int or None
        OpenMP threads for the gradient-boosting fits (``None``: the library default, all cores). One thread is the
        default because on a shared machine OpenMP's spinning threads slow down several-fold under contention.
    nuisance_rows : int or None
        Most rows each outcome and acceptance model is fitted on (stratified sample of its training side; the
        predictions still cover every held-out row and EconML's final model sees every row). ``None``: no cap.

    Attributes
    ----------
    crossfit_ : CrossFit
        Out-of-fold predictions for the rows passed to :meth:`fit`.
    """

    def __init__(self, arms: Sequence[str], propensity: Sequence[float], learner: str = "dr", n_folds: int = 2,
                 rng: np.random.Generator | int | None = None, n_threads: int | None = 1,
                 nuisance_rows: int | None = NUISANCE_MAX_ROWS):
        self.n_threads = n_threads
        self.nuisance_rows = nuisance_rows
        self.arms = arms
        self.propensity = propensity
        self.learner = learner
        self.n_folds = n_folds
        self.rng = rng

    def fit(self, data: UpliftData) -> UpliftModel:
        """Cross-fit on ``data`` and store the out-of-fold predictions in ``crossfit_``."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return self._fit(data)

    def _fit(self, data: UpliftData) -> UpliftModel:
        t0 = time.perf_counter()
        gen = np.random.default_rng(self.rng)
        arms = list(self.arms)
        k = len(arms)
        code = {a: i for i, a in enumerate(arms)}
        t = np.array([code[a] for a in data.arm]) if data.arm.dtype.kind != "i" else data.arm
        proba = tuple(float(p) for p in self.propensity)
        n = data.y.size
        cate = np.zeros((n, k))
        mu = np.zeros((n, k))
        ate_econml = None
        # folds stratified by arm and (binary) outcome; each nuisance model's training side is capped
        strata = t * 2 + data.y.astype(np.int64) if data.binary else t
        fold = _folds(strata, self.n_folds, gen)
        seed = int(gen.integers(2**31 - 1))
        with warnings.catch_warnings():
            # EconML passes a column vector to scikit-learn (DataConversionWarning); nothing to act on.
            warnings.simplefilter("ignore", category=DataConversionWarning)
            # The linear final stage's covariance is singular when every level of a text feature is one-hot
            # encoded beside its intercept; its effect predictions are still unique and its inference is not used.
            warnings.filterwarnings("ignore", message="Co-variance matrix is underdetermined", category=UserWarning)
            if self.learner == "dr":
                # One EconML fit whose cross-fitting folds are ours: the outcome model of fold f is fitted on
                # the other folds (sampled down to the cap) and predicts every row of fold f, under every arm.
                # EconML predicts every held-out row under every arm to build its pseudo-outcomes; those
                # out-of-fold predictions are read back (_out_of_fold_outcomes) instead of predicting twice.
                cv = _capped_splits(fold, strata, self.nuisance_rows, np.random.default_rng(seed))
                est = _fit_cate("dr", data.X, t, data.y, proba, data.binary, seed, cv=cv, cache_values=True)
                mu = _out_of_fold_outcomes(est, data.y, t, k)
                cate = mu - mu[:, [0]]
                ate_econml = np.array([0.0, *(float(np.ravel(est.ate(T0=0, T1=j))[0]) for j in range(1, k))])
                del est
            else:
                for f in range(self.n_folds):
                    tr, te = fold != f, fold == f
                    s_f = seed + 7 * f
                    est = _fit_cate(self.learner, data.X[tr], t[tr], data.y[tr], proba, data.binary, s_f,
                                    max_rows=self.nuisance_rows)
                    for j in range(1, k):
                        cate[te, j] = np.ravel(est.effect(data.X[te], T0=0, T1=j))
                    mu[te] = _outcome_predictions(data, t, tr, te, k, s_f + 2)
                    del est
        accept = np.zeros((n, k))
        if data.accepted is None:
            accept[:, 1:] = 1.0
        else:
            accept_cap = min(ACCEPT_MAX_ROWS, self.nuisance_rows or ACCEPT_MAX_ROWS)
            for f in range(self.n_folds):
                te = fold == f
                X_te = data.X[te]
                for j in range(1, k):
                    rows = np.flatnonzero((fold != f) & (t == j))  # sampled before copying the rows of X
                    s_fj = seed + 3 + j + 7 * f
                    rows = _subsample(rows, data.accepted[rows], accept_cap, np.random.default_rng(s_fj))
                    accept[te, j] = _fit_predict_accept(data.X[rows], data.accepted[rows], X_te, s_fj)
                del X_te
        if data.binary:
            # A probability difference is bounded by the control probability: mu_0 + tau must stay in [0, 1]
            # (the DR learner's contrasts satisfy it by construction; the causal forest's need the clip).
            cate = np.clip(cate, -mu[:, [0]], 1.0 - mu[:, [0]])
        # the largest training side of an outcome model: a fold's complement (the causal forest's inner folds
        # halve it); the acceptance models' cap is reported in the notes separately
        outcome_side = max(int((fold != f).sum()) for f in range(self.n_folds))
        if self.learner != "dr":
            outcome_side //= 2
        capped = (self.nuisance_rows if self.nuisance_rows is not None and outcome_side > self.nuisance_rows
                  else None)
        self.crossfit_ = CrossFit(arms=arms, cate=cate, mu=mu, accept=accept, propensity=np.asarray(proba),
                                  fold=fold, seconds=time.perf_counter() - t0, nuisance_rows=capped,
                                  ate_econml=ate_econml)
        return self


# ----------------------------------------------------------------------------------------------------------------
# Average effects
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AverageEffect:
    """Augmented-IPW average effect of one arm against control with the known propensities.

    Attributes
    ----------
    arm : str
        The arm.
    ate, se : float
        Effect on the outcome (arm minus control, outcome units) and its standard error.
    ci : tuple[float, float]
        Normal ``1 - alpha`` interval.
    diff_in_means : float
        The plain difference in means, for comparison.
    n_arm, n_control : int
        Subscribers in the arm and in control.
    """

    arm: str
    ate: float
    se: float
    ci: tuple[float, float]
    diff_in_means: float
    n_arm: int
    n_control: int


def aipw_scores(y: np.ndarray, arm_codes: np.ndarray, mu: np.ndarray, propensity: np.ndarray) -> np.ndarray:
    """Doubly-robust (AIPW) scores ``Gamma[i, a] = mu[i, a] + 1{A_i = a} (y_i - mu[i, a]) / e_a``.

    Their column means estimate the mean outcome under each arm; differences estimate effects.

    Examples
    --------
    >>> aipw_scores(np.array([1.0, 0.0]), np.array([0, 1]), np.full((2, 2), 0.5), np.array([0.5, 0.5]))
    array([[ 1.5,  0.5],
           [ 0.5, -0.5]])
    """
    k = mu.shape[1]
    ind = np.eye(k)[arm_codes]
    return mu + ind * (y[:, None] - mu) / propensity[None, :]


def average_effects(data: UpliftData, cf: CrossFit, alpha: float = 0.05) -> list[AverageEffect]:
    """AIPW average effect of every arm against control on the out-of-fold outcome predictions.

    With known propensities the estimator is unbiased whatever the outcome model; the model only reduces variance.
    """
    code = {a: i for i, a in enumerate(cf.arms)}
    t = np.array([code[a] for a in data.arm])
    g = aipw_scores(data.y, t, cf.mu, cf.propensity)
    z = stats.norm.ppf(1 - alpha / 2)
    out = []
    for j, a in enumerate(cf.arms[1:], start=1):
        psi = g[:, j] - g[:, 0]
        ate = float(psi.mean())
        se = float(psi.std(ddof=1) / math.sqrt(psi.size))
        dim = float(data.y[t == j].mean() - data.y[t == 0].mean())
        out.append(AverageEffect(arm=a, ate=ate, se=se, ci=(ate - z * se, ate + z * se), diff_in_means=dim,
                                 n_arm=int((t == j).sum()), n_control=int((t == 0).sum())))
    return out


# ----------------------------------------------------------------------------------------------------------------
# The analysis
# ----------------------------------------------------------------------------------------------------------------


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
        from experiments.uplift_report import qini_figure

        return qini_figure(self)


def _benefit(data: UpliftData) -> np.ndarray:
    return data.benefit_sign * data.y


def analyze_uplift(
    design: ExperimentDesign,
    data: Any = None,
    *,
    rng: np.random.Generator | int | None = None,
    value: Sequence[float] | np.ndarray | str | None = None,
    refute: bool = True,
    refute_simulations: int = 10,
    spec: UpliftSpec | None = None,
    n_threads: int | None = 1,
) -> UpliftResult:
    """Cross-fitted per-arm uplift, its held-out evaluation, the value-aware policy and refutations.

    Parameters
    ----------
    design : ExperimentDesign
        With an ``uplift`` section (or pass ``spec``).
    data : DataFrame, path, Ibis table or None
        Rows of the experiment; defaults to ``design.data.source``. Only the needed columns are read.
    rng : Generator, int or None
        Seeds folds, models, bootstraps and refuters.
    value : array, column or None
        Value of retention per subscriber (e.g. lifetime values); overrides the design's ``value`` section.
    refute : bool
        Run DoWhy's refuters on each arm's average effect (on a sample of ``uplift.refute_rows``).
    refute_simulations : int
        Simulations per DoWhy refuter (each refits the nuisance models).
    spec : UpliftSpec, optional
        Overrides ``design.uplift``.
    n_threads : int or None
        OpenMP threads for the model fits (see :class:`UpliftModel`).

    Returns
    -------
    UpliftResult

    Examples
    --------
    >>> from experiments.simulate import simulate_operator  # doctest: +SKIP
    >>> res = analyze_uplift(design, sim.experiment, rng=0)  # doctest: +SKIP
    >>> res.to_dict()["policy"]["value"]  # doctest: +SKIP
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_threads, user_api="openmp"):
        return _analyze_uplift(design, data, rng=rng, value=value, refute=refute,
                               refute_simulations=refute_simulations, spec=spec, n_threads=n_threads)


def _analyze_uplift(design: ExperimentDesign, data: Any, *, rng: np.random.Generator | int | None,
                    value: Sequence[float] | np.ndarray | str | None, refute: bool, refute_simulations: int,
                    spec: UpliftSpec | None, n_threads: int | None) -> UpliftResult:
    from experiments.policy import PolicyCosts, evaluate_policy
    from experiments.uplift_metrics import blp_test, calibration_table, evaluate_uplift, segment_table

    spec = spec or design.uplift
    if spec is None:
        raise DesignError("the design has no uplift section; add uplift: {features: [tenure_months, arpu, ...]}")
    gen = np.random.default_rng(rng)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    frame = _load_frame(design, data, spec, value)
    seconds["load"] = time.perf_counter() - t0
    if value is not None and not isinstance(value, str):
        value = VALUE_COLUMN
    ud = prepare_uplift_data(design, frame, spec, value=value, rng=gen)
    del frame
    arms = [design.control, *design.treatments]
    weights = [design.arms[a].weight for a in arms]
    model = UpliftModel(arms, weights, learner=spec.learner, n_folds=spec.n_folds, rng=gen, n_threads=n_threads).fit(ud)
    cf = model.crossfit_
    seconds["fit"] = cf.seconds
    t1 = time.perf_counter()
    effects = average_effects(ud, cf, alpha=design.analysis.alpha)
    benefit = _benefit(ud)
    code = {a: i for i, a in enumerate(arms)}
    t_codes = np.array([code[a] for a in ud.arm])
    evals: dict[str, ArmEvaluation] = {}
    for j, a in enumerate(arms[1:], start=1):
        m = (t_codes == j) | (t_codes == 0)
        treated = (t_codes[m] == j).astype(int)
        score = ud.benefit_sign * cf.cate[m, j]
        metrics = evaluate_uplift(benefit[m], score, treated, n_bootstrap=spec.n_bootstrap,
                                  alpha=design.analysis.alpha, rng=gen)
        e = cf.propensity[j] / (cf.propensity[j] + cf.propensity[0])
        calib = calibration_table(benefit[m], score, treated, n_bins=10, alpha=design.analysis.alpha)
        baseline = ud.benefit_sign * cf.mu[m, 0]
        blp = blp_test(benefit[m], score, treated, e, baseline=baseline)
        evals[a] = ArmEvaluation(effect=effects[j - 1], metrics=metrics, calibration=calib, blp=blp)
    seconds["evaluate"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    costs = PolicyCosts.from_design(design, arms)
    policy = evaluate_policy(ud, cf, costs, budget=spec.budget, tree_depth=spec.policy_tree_depth,
                             alpha=design.analysis.alpha, rng=gen)
    seconds["policy"] = time.perf_counter() - t2
    if spec.learner == "dr":
        cate_text = (f"CATE: the arm contrasts mu_a(x) - mu_0(x) of the outcome model of EconML's doubly-robust "
                     f"learner (LinearDRLearner, one histogram GBM on the features and the arm, the design's arm "
                     f"weights as known propensities), each subscriber predicted by the model of the "
                     f"{spec.n_folds}-fold cross-fitting that did not see them, so every evaluation number is "
                     "computed on subscribers the models did not see.")
    else:
        cate_text = (f"CATE: EconML CausalForestDML with the design's arm weights as known propensities; "
                     f"{spec.n_folds}-fold cross-fitting, so every evaluation number is computed on subscribers "
                     "the models did not see.")
    notes = [
        cate_text,
        "Uplift metrics use the benefit scale (reduction in the metric when it should decrease); the random "
        "baseline is subtracted from the Qini coefficient and AUUC.",
        policy.value_note,
    ]
    if cf.nuisance_rows is not None:
        notes.append(f"Each outcome model was fitted on a stratified sample of at most {cf.nuisance_rows:,} rows of "
                     f"its training folds (acceptance models: at most {ACCEPT_MAX_ROWS:,}); its predictions cover "
                     "every held-out row.")
    if ud.n_input > ud.y.size:
        notes.append(f"Sampled {ud.y.size:,} of {ud.n_input:,} rows (uplift.max_rows) for the row-level models.")
    segs = pd.DataFrame()
    if ud.segments:
        segs = pd.concat([segment_table(ud.y, ud.arm, v, design.control, arms[1:], alpha=design.analysis.alpha,
                                        segment_name="level").assign(segment=k)
                          for k, v in ud.segments.items()], ignore_index=True)
        segs = segs[["segment", *[c for c in segs.columns if c != "segment"]]]
    if refute:
        from experiments.refute import refute_average_effect

        t3 = time.perf_counter()
        for j, a in enumerate(arms[1:], start=1):
            m = (t_codes == j) | (t_codes == 0)
            e = cf.propensity[j] / (cf.propensity[j] + cf.propensity[0])
            ref = refute_average_effect(ud.X[m], (t_codes[m] == j).astype(int), ud.y[m], ud.feature_names,
                                        propensity=e, max_rows=spec.refute_rows, binary=ud.binary,
                                        n_simulations=refute_simulations, alpha=design.analysis.alpha, rng=gen)
            evals[a] = ArmEvaluation(effect=evals[a].effect, metrics=evals[a].metrics,
                                     calibration=evals[a].calibration, blp=evals[a].blp, refutation=ref)
        seconds["refute"] = time.perf_counter() - t3
    return UpliftResult(design_name=design.name, metric=ud.metric, arms=evals, policy=policy, segments=segs,
                        crossfit=cf, n=int(ud.y.size), n_input=ud.n_input, value_unit=policy.value_unit,
                        notes=notes, seconds=seconds)


def _load_frame(design: ExperimentDesign, data: Any, spec: UpliftSpec, value: Any) -> pd.DataFrame:
    """The needed columns as a pandas frame (a DataFrame passed in is not copied wholesale or modified)."""
    cols = [design.data.arm, *spec.features, *spec.segments]
    metric = design.metric(spec.metric) if spec.metric else next(m for m in design.metrics if m.role == "primary")
    cols.append(metric.column)
    if design.data.acceptance:
        cols.append(design.data.acceptance)
    if design.value is not None:
        for v in (design.value.margin, design.value.retention_value):
            if isinstance(v, str):
                cols.append(v)
    if isinstance(value, str):
        cols.append(value)
    if design.data.assigned_at and metric.maturity_days is not None and design.data.as_of is not None:
        cols.append(design.data.assigned_at)
    if value is not None and not isinstance(value, str):
        cols = [c for c in cols if c != VALUE_COLUMN]
    cols = list(dict.fromkeys(cols))
    if isinstance(data, pd.DataFrame):
        frame = data
    else:
        from experiments.data import open_table, require_columns

        source = data if data is not None else design.data.source
        base = design.path.parent if design.path and data is None else None
        table = open_table(source, base_dir=base)
        require_columns(table, {f"uplift column {c}": c for c in cols})
        frame = table.select(*cols).to_pandas()
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        c = missing[0]
        raise DataError(f"data has no column {c!r}{close_matches(c, frame.columns)}; it is named by the design's "
                        "uplift, data or value section; fix the name or add the column")
    frame = frame[cols]  # a new frame: adding a column below does not touch the caller's
    if value is not None and not isinstance(value, str):
        arr = np.asarray(value, dtype=float)
        if arr.shape != (len(frame),):
            raise DataError(f"value has shape {arr.shape}; give one value of retention per row ({len(frame)})")
        frame = frame.assign(**{VALUE_COLUMN: arr})
    if design.data.assigned_at in cols and metric.maturity_days is not None and design.data.as_of is not None:
        cutoff = pd.Timestamp(design.data.as_of) - pd.Timedelta(days=metric.maturity_days)
        frame = frame[pd.to_datetime(frame[design.data.assigned_at]) <= cutoff]
        if frame.empty:
            raise DataError(f"no subscriber was assigned by {cutoff.date()} ({metric.maturity_days} days before "
                            f"data.as_of {design.data.as_of}); the metric {metric.name!r} is not mature yet")
    return frame


#: Settings of the demo's uplift step: sampled and lighter so that it stays near a minute on 200k subscribers.
DEMO_SETTINGS: dict[str, Any] = {"max_rows": 100_000, "n_bootstrap": 100, "refute_rows": 10_000}
DEMO_REFUTE_SIMULATIONS = 5


def demo_uplift(design: ExperimentDesign, data: Any = None, *,
                rng: np.random.Generator | int | None = None) -> UpliftResult:
    """The uplift step of ``retention demo``: :func:`analyze_uplift` on at most 100k sampled rows, 100 bootstrap
    replicates and 5 simulations per refuter on 10k rows (the report's notes say that it sampled).

    Examples
    --------
    >>> res = demo_uplift(load_design("demo/design.yaml"), rng=0)  # doctest: +SKIP
    >>> section = uplift_section(res)  # doctest: +SKIP
    """
    if design.uplift is None:
        raise DesignError("the design has no uplift section; add uplift: {features: [tenure_months, arpu, ...]}")
    spec = design.uplift.model_copy(update=DEMO_SETTINGS)
    return analyze_uplift(design, data, rng=rng, spec=spec, refute_simulations=DEMO_REFUTE_SIMULATIONS)

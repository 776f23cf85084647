"""Cross-fitted per-arm uplift models (EconML) and the AIPW average effects on their out-of-fold predictions.

:class:`UpliftModel` cross-fits, for every fold, EconML's doubly-robust learner (``DRLearner``, default) or causal
forest (``CausalForestDML``) on the other folds, an outcome model per arm and an acceptance model per arm, and
predicts on the held-out fold. Every number downstream (Qini, uplift@k, calibration, policy value) is computed on
these out-of-fold predictions, i.e. on data the models did not see.

The propensities are the design's arm weights, known by randomisation: they are passed to EconML as a fixed
classifier (:class:`KnownPropensity`) instead of being re-estimated.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import DataConversionWarning

from experiments.errors import DesignError
from experiments.uplift.prepare import MIN_UNITS_PER_FOLD, UpliftData

if TYPE_CHECKING:
    pass

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

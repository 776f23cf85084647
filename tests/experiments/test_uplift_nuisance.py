"""Nuisance models fitted on a capped, stratified sample (speed at 1M rows): honest folds, proportions, accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from uplift_helpers import sim_design, simulate

from experiments.uplift.model import NUISANCE_MAX_ROWS, UpliftModel, _nuisance_splits, _subsample, average_effects
from experiments.uplift.prepare import prepare_uplift_data

ARMS = ["control", "flow_pack", "contract_discount"]
WEIGHTS = [0.34, 0.33, 0.33]
#: A stratum's share in the sample may differ from its share in the population by rounding only (one row).
ROUNDING = 1


@pytest.mark.parametrize("cap", [7, 100, 999, 1000, 5000])
def test_subsample_keeps_each_strata_share_and_never_repeats_a_row(cap):
    """Sampling without replacement in proportion to each stratum: the sample is a subset of the indices, has
    exactly ``min(cap, n)`` distinct rows, and each stratum's count is its proportional share up to rounding."""
    rng = np.random.default_rng(3)
    idx = np.sort(rng.choice(10_000, 1000, replace=False))
    strata = rng.choice(4, idx.size, p=[0.5, 0.3, 0.15, 0.05])
    sub = _subsample(idx, strata, cap, np.random.default_rng(0))
    assert sub.size == min(cap, idx.size) == np.unique(sub).size
    assert np.isin(sub, idx).all()
    pos = np.searchsorted(idx, sub)
    for s in range(4):
        expected = (strata == s).sum() * sub.size / idx.size
        assert abs((strata[pos] == s).sum() - expected) <= ROUNDING


def test_subsample_without_a_cap_returns_the_rows_unchanged():
    idx = np.arange(50)
    assert _subsample(idx, idx % 2, None, np.random.default_rng(0)) is idx
    assert _subsample(idx, idx % 2, 50, np.random.default_rng(0)) is idx


@pytest.mark.parametrize("binary", [True, False])
def test_nuisance_splits_are_honest_cross_fitting_folds(binary):
    """Train and test sides never overlap, the test sides partition every row exactly once (so EconML predicts
    every nuisance out of fold), and each training side holds at most the cap, drawn from the other fold."""
    rng = np.random.default_rng(1)
    n = 9_001
    t = rng.choice(3, n, p=[0.4, 0.3, 0.3])
    y = (rng.random(n) < 0.2).astype(float)
    splits = _nuisance_splits(t, y, binary, 2, 2_000, np.random.default_rng(5))
    tests = np.concatenate([te for _, te in splits])
    np.testing.assert_array_equal(np.sort(tests), np.arange(n))
    for train, test in splits:
        assert np.intersect1d(train, test).size == 0
        assert train.size == 2_000
        for j in range(3):  # arms (and outcomes) in proportion: the known propensities still describe the sample
            share_all = np.mean(t[np.setdiff1d(np.arange(n), test)] == j)
            assert abs(np.mean(t[train] == j) - share_all) <= 3 * ROUNDING / train.size


def test_the_cap_binds_only_above_it_and_the_result_says_so():
    """At the default cap a 30k-row fit is untouched (``nuisance_rows`` is None); a cap below the training sides
    is recorded on the result."""
    sim = simulate(30_000, 5)
    ud = prepare_uplift_data(sim_design(sim), sim.experiment)
    assert UpliftModel(ARMS, WEIGHTS, rng=1).fit(ud).crossfit_.nuisance_rows is None
    assert NUISANCE_MAX_ROWS > 30_000
    assert UpliftModel(ARMS, WEIGHTS, rng=1, nuisance_rows=3_000).fit(ud).crossfit_.nuisance_rows == 3_000


def _capped_run(seed: int, cap: int | None) -> tuple[list[bool], dict[str, float]]:
    sim = simulate(20_000, seed)
    ud = prepare_uplift_data(sim_design(sim), sim.experiment)
    cf = UpliftModel(ARMS, WEIGHTS, rng=seed, nuisance_rows=cap).fit(ud).crossfit_
    covered = [e.ci[0] <= sim.truth["ate"][e.arm]["churn_90d"] <= e.ci[1] for e in average_effects(ud, cf)]
    return covered, {e.arm: e.se for e in average_effects(ud, cf)}


@pytest.mark.slow
def test_capped_nuisance_models_keep_the_ate_intervals_valid():
    """Known truth (simulator, ``truth['ate']``): with every nuisance model fitted on at most 2,500 rows (a quarter
    of its 10k-row training side at 20k subscribers) the AIPW intervals still cover the true average effects at
    close to the nominal 95% (12 runs x 2 arms; the binomial 99.9% lower bound for 24 intervals at 0.95 is about
    0.75), and the standard errors grow by less than 10% against the uncapped fit on the first three seeds.
    Measured: coverage 21/24 = 0.875; standard-error ratios capped/uncapped 1.001-1.003."""
    cover, ratio = [], []
    for seed in range(300, 312):
        c, se_cap = _capped_run(seed, 2_500)
        cover += c
        if seed < 303:
            _, se_full = _capped_run(seed, None)
            ratio += [se_cap[a] / se_full[a] for a in se_cap]
    assert np.mean(cover) >= 0.75
    assert max(ratio) < 1.10


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.DataConversionWarning")
@pytest.mark.filterwarnings("ignore:Co-variance matrix is underdetermined")
def test_outcomes_read_back_from_econml_equal_the_fold_models_predictions():
    """Independent reference: predicting each held-out fold under every arm with EconML's own fitted fold model
    (``models_regression``) gives the same out-of-fold outcomes as solving EconML's cached doubly-robust values
    for them (:func:`_out_of_fold_outcomes`). Guards against a change of EconML's internal layout; tolerance
    1e-9 (a division by e - 1 with e = 0.3-0.4 and float noise)."""
    from experiments.uplift.model import _capped_splits, _fit_cate, _folds, _out_of_fold_outcomes, _predict_arms

    sim = simulate(8_000, 2)
    ud = prepare_uplift_data(sim_design(sim), sim.experiment)
    code = {a: i for i, a in enumerate(ARMS)}
    t = np.array([code[a] for a in ud.arm])
    strata = t * 2 + ud.y.astype(np.int64)
    fold = _folds(strata, 2, np.random.default_rng(0))
    cv = _capped_splits(fold, strata, 3_000, np.random.default_rng(1))
    est = _fit_cate("dr", ud.X, t, ud.y, tuple(WEIGHTS), True, 3, cv=cv, cache_values=True)
    direct = np.zeros((ud.y.size, 3))
    for f, (train, test) in enumerate(cv):
        assert np.intersect1d(train, test).size == 0
        direct[test] = _predict_arms([est.models_regression[0][f]], ud.X[test], 3, True)
    np.testing.assert_allclose(_out_of_fold_outcomes(est, ud.y, t, 3), direct, rtol=0, atol=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.DataConversionWarning")
def test_econml_average_effect_equals_our_aipw():
    """Independent implementation: EconML's own doubly-robust average effect (its final stage with no features,
    fitted on the pseudo-outcomes it built from the same out-of-fold outcome predictions) equals the AIPW effect
    computed here from the outcomes read back (:func:`average_effects`), to float precision (1e-10)."""
    sim = simulate(10_000, 4)
    ud = prepare_uplift_data(sim_design(sim), sim.experiment)
    cf = UpliftModel(ARMS, WEIGHTS, rng=2).fit(ud).crossfit_
    ours = [e.ate for e in average_effects(ud, cf)]
    np.testing.assert_allclose(cf.ate_econml[1:], ours, rtol=0, atol=1e-10)

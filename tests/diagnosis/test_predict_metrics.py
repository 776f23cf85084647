"""Ranking metrics of ``retention predict`` against independent computations.

References: scikit-learn's ``precision_score`` / ``recall_score`` on a 0/1 prediction that marks the top K
(an independent implementation of the same definitions), hand-computed cases, and ``scipy.stats.t`` for the
fold interval.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import precision_score, recall_score

from experiments.diagnosis.ranking import (
    calibration_bins,
    expected_calibration_error,
    gains_curve,
    k_count,
    lift_at_k,
    parse_k,
    precision_at_k,
    recall_at_k,
    t_interval,
)
from experiments.errors import DataError, DesignError

RTOL = 1e-12  # same counts, float noise only


def test_hand_computed_case():
    y = [1, 0, 1, 1, 0, 0, 0, 0, 1, 0]
    s = [0.95, 0.9, 0.85, 0.3, 0.8, 0.2, 0.1, 0.05, 0.7, 0.0]
    # top 3 by score: 0.95 (1), 0.9 (0), 0.85 (1) -> 2 churners of 4
    assert precision_at_k(y, s, 3) == pytest.approx(2 / 3, rel=RTOL)
    assert recall_at_k(y, s, 3) == pytest.approx(2 / 4, rel=RTOL)
    assert lift_at_k(y, s, 3) == pytest.approx((2 / 3) / 0.4, rel=RTOL)
    assert recall_at_k(y, s, 10) == 1.0


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("k", [1, 17, 250, 999])
def test_against_sklearn_on_top_k(seed, k):
    gen = np.random.default_rng(seed)
    y = (gen.random(1000) < 0.15).astype(int)
    s = gen.normal(size=1000) + y  # continuous: no ties at the cut
    top = np.zeros(1000, int)
    top[np.argsort(-s)[:k]] = 1
    assert precision_at_k(y, s, k) == pytest.approx(precision_score(y, top), rel=RTOL)
    assert recall_at_k(y, s, k) == pytest.approx(recall_score(y, top), rel=RTOL)
    assert lift_at_k(y, s, k) == pytest.approx(precision_score(y, top) / y.mean(), rel=RTOL)


def test_gains_curve_matches_recall_at_k():
    gen = np.random.default_rng(5)
    y = (gen.random(500) < 0.2).astype(int)
    s = gen.normal(size=500) + 2 * y
    g = gains_curve(y, s, points=10)
    for share, captured in zip(g["share"][1:], g["captured"][1:], strict=True):
        assert captured == pytest.approx(recall_at_k(y, s, k_count(("share", share), 500)), rel=RTOL)
    assert g["captured"][0] == 0 and g["captured"][-1] == 1


def test_ties_at_the_cut_contact_exactly_k():
    assert precision_at_k([1, 0, 0, 1], [0.5, 0.5, 0.5, 0.5], 2) == 0.5  # stable order: first two rows


@pytest.mark.parametrize(("text", "want"), [("10%", ("share", 0.1)), ("2.5%", ("share", 0.025)),
                                             (0.2, ("share", 0.2)), ("300", ("count", 300.0)), (7, ("count", 7.0))])
def test_parse_k(text, want):
    assert parse_k(text) == pytest.approx(want)


def test_parse_k_errors():
    with pytest.raises(DesignError, match="neither a share"):
        parse_k("ten")
    with pytest.raises(DataError, match="more than the 100 rows"):
        parse_k("500", n=100)
    with pytest.raises(DesignError, match="share"):
        parse_k("150%")


def test_k_count_rounds_up_shares():
    assert k_count(("share", 0.1), 4250) == 425 and k_count(("share", 0.1), 7043) == 705
    assert k_count(("count", 50.0), 20) == 20


def test_t_interval_against_scipy():
    v = np.array([0.91, 0.93, 0.90, 0.94, 0.92])
    m, lo, hi = t_interval(v)
    want = stats.t.interval(0.95, df=4, loc=v.mean(), scale=stats.sem(v))
    assert (lo, hi) == pytest.approx(want, rel=1e-12) and m == pytest.approx(v.mean())


def test_calibration_error_of_a_calibrated_score_is_small():
    gen = np.random.default_rng(9)
    p = gen.uniform(0, 1, 200_000)
    y = (gen.random(p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.01  # sampling noise only, ~ sqrt(0.25 / 20,000) per bin
    assert expected_calibration_error(y, np.clip(p + 0.2, 0, 1)) > 0.15
    c = calibration_bins(y, p, bins=10)
    assert c["n"].sum() == p.size and np.all(np.diff(c["predicted"]) > 0)

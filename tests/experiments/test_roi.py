"""ROI per arm: hand-computed values and interval coverage on simulated components with a known truth."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.spec.models import Cost
from experiments.value.roi import arm_roi


def test_hand_computed_example():
    """V = 40 ± 4, acceptance 25% ± 0.5% at 96 per acceptance + 2 per offer: C = 26, net 14, ROI 14/26.

    Net SE = sqrt(4² + (96 × 0.005)²) = sqrt(16 + 0.2304); ROI SE = sqrt(4²/26² + 40² × 0.48² / 26⁴).
    """
    r = arm_roi("d", churn_diff=(-0.03, 0.002), value_gained=(40.0, 4.0), cost=Cost(per_offer=2.0, per_acceptance=96.0),
                acceptance=(0.25, 0.005))
    assert r.cost == pytest.approx(26.0)
    assert r.net_value == pytest.approx(14.0)
    assert r.net_se == pytest.approx(np.sqrt(16 + 0.2304), rel=1e-12)
    assert r.roi == pytest.approx(14 / 26, rel=1e-12)
    assert (r.roi_ci[1] - r.roi) / 1.959963984540054 == pytest.approx(
        np.sqrt(16 / 26**2 + 40**2 * 0.48**2 / 26**4), rel=1e-9)
    assert r.retained_per_1000 == pytest.approx(30.0)
    assert r.retained_ci == pytest.approx((30 - 1.959963984540054 * 2, 30 + 1.959963984540054 * 2), rel=1e-9)


def test_free_offer_has_no_roi_but_a_net_value():
    r = arm_roi("f", churn_diff=(-0.01, 0.002), value_gained=(5.0, 1.0), cost=Cost())
    assert np.isnan(r.roi) and r.net_value == 5.0 and r.prob_positive > 0.99


@pytest.mark.slow
def test_net_value_interval_coverage():
    """Estimates drawn around a known truth with their stated SEs: the net-value CI covers at ~95%."""
    rng = np.random.default_rng(12)
    true_v, true_a, v_se, a_se = 30.0, 0.3, 5.0, 0.01
    cost = Cost(per_offer=1.0, per_acceptance=80.0)
    truth = true_v - (1.0 + 80.0 * true_a)
    hits = []
    for _ in range(4000):
        r = arm_roi("x", churn_diff=(-0.02, 0.003), value_gained=(rng.normal(true_v, v_se), v_se), cost=cost,
                    acceptance=(rng.normal(true_a, a_se), a_se))
        hits.append(r.net_ci[0] <= truth <= r.net_ci[1])
    assert 0.94 <= np.mean(hits) <= 0.96

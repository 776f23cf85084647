"""Confidence sequences: GrowthBook's implementation as the external reference, the paper's e-value duality,
seeded peeking simulations (false-positive rate of the CS vs naive repeated z-tests, coverage), and monitor()."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.stats import SuffStats
from experiments.errors import DataError
from experiments.planning.monitoring import (
    confidence_sequence,
    cs_halfwidth,
    cs_rejections,
    monitor,
    naive_rejections,
    rho,
)
from experiments.spec.models import parse_design

RTOL_GBSTATS = 1e-12  # same closed form as gbstats, float noise only
SIMS = 4000
LOOKS = 30
DAILY = 200  # units per arm per day


def _se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


# ----------------------------------------------------------------------------------------------- external reference


@pytest.mark.parametrize("n_c,x_c,n_t,x_t,tuning,alpha,lower,upper", [
    (2000, 400, 2000, 460, 4000, 0.05, -0.009405149395126183, 0.06940514939512618),
    (150, 30, 160, 41, 5000, 0.05, -0.15293964952354405, 0.265439649523544),
    (25000, 5100, 24800, 4900, 20000, 0.025, -0.018342479614422653, 0.005503769937003307),
])
def test_proportions_match_gbstats(n_c, x_c, n_t, x_t, tuning, alpha, lower, upper):
    """Reference values computed with GrowthBook gbstats 0.8.0 (PyPI wheel), ``SequentialTwoSidedTTest(
    ProportionStatistic(n=n_c, sum=x_c), ProportionStatistic(n=n_t, sum=x_t), SequentialConfig(
    sequential_tuning_parameter=tuning, difference_type="absolute", alpha=alpha)).confidence_interval``."""
    s = confidence_sequence(SuffStats(n_t, x_t, x_t), SuffStats(n_c, x_c, x_c), binary=True, alpha=alpha,
                            tuning=tuning)
    assert s.lower == pytest.approx(lower, rel=RTOL_GBSTATS)
    assert s.upper == pytest.approx(upper, rel=RTOL_GBSTATS)


def test_means_match_gbstats():
    """gbstats 0.8.0, ``SampleMeanStatistic`` control n=500, mean 40, sd 12; treatment n=520, mean 41, sd 13
    (sums of squares built from those), tuning 3000, alpha 0.05: CI [-1.4764412110602128, 3.4764412110602128]."""
    c = SuffStats(500, 20000.0, 20000.0**2 / 500 + 499 * 144.0)
    t = SuffStats(520, 21320.0, 21320.0**2 / 520 + 519 * 169.0)
    s = confidence_sequence(t, c, binary=False, tuning=3000)
    assert s.lower == pytest.approx(-1.4764412110602128, rel=RTOL_GBSTATS)
    assert s.upper == pytest.approx(3.4764412110602128, rel=RTOL_GBSTATS)


@pytest.mark.parametrize("n,alpha,tuning", [(1000, 0.05, 5000), (40_000, 0.01, 20_000), (300, 0.1, 300)])
def test_boundary_is_where_the_mixture_p_value_equals_alpha(n, alpha, tuning):
    """Duality in Waudby-Smith et al. (2023), eq. 155 (GrowthBook's ``p_value``): the always-valid p-value 1 / E,
    E = exp(ρ² S / (2 (Nρ² + 1))) / √(Nρ² + 1) with S = N est² / V, equals alpha exactly at |est| = half-width."""
    v = 0.3 / n
    hw = cs_halfwidth(v, n, alpha, tuning)
    r2 = rho(alpha, tuning) ** 2
    st2 = hw**2 * n / v  # gbstats: (estimate - test_value)^2 * N / variance
    evalue = math.exp(r2 * st2 / (2 * (n * r2 + 1))) / math.sqrt(n * r2 + 1)
    assert 1 / evalue == pytest.approx(alpha, rel=1e-10)


def test_cs_is_wider_than_fixed_interval_and_tightest_near_tuning():
    """At any N the CS is wider than the fixed-n z interval; its ratio to the z interval is smallest near N_tune."""
    ns = np.array([500, 2000, 8000, 32000, 128000])
    ratio = cs_halfwidth(1.0 / ns, ns, 0.05, 8000) / (1.959963984540054 * np.sqrt(1.0 / ns))
    assert (ratio > 1).all()
    assert ns[np.argmin(ratio)] == 8000


# ----------------------------------------------------------------------------------------------- simulations


def _paths(rng, p_c, p_t, sims=SIMS):
    x_t = rng.binomial(DAILY, p_t, (sims, LOOKS)).cumsum(axis=1)
    x_c = rng.binomial(DAILY, p_c, (sims, LOOKS)).cumsum(axis=1)
    n = np.arange(1, LOOKS + 1) * DAILY
    return x_t, x_c, n


@pytest.mark.parametrize("tuning", [2 * DAILY * LOOKS, 5000])
def test_peeking_false_positive_rate(tuning, capsys):
    """Null true (20% vs 20%), a look after each of 30 days with 200 new units per arm: the CS's chance of ever
    excluding zero stays ≤ 0.05 (within 3 simulation SE) while 30 naive z-tests at 0.05 exceed it.
    Seeded; the numbers are printed (pytest -s) and quoted in docs/design-and-assignment.md."""
    rng = np.random.default_rng(314)
    x_t, x_c, n = _paths(rng, 0.20, 0.20)
    fpr_cs = cs_rejections(x_t, x_c, n, n, 0.05, tuning).any(axis=1).mean()
    fpr_naive = naive_rejections(x_t, x_c, n, n, 0.05).any(axis=1).mean()
    fpr_final = naive_rejections(x_t, x_c, n, n, 0.05)[:, -1].mean()
    with capsys.disabled():
        print(f"\n[peeking, tuning={tuning}] CS FPR {fpr_cs:.4f}, naive repeated z FPR {fpr_naive:.4f}, "
              f"single final z-test {fpr_final:.4f} ({SIMS} sims)")
    assert fpr_cs <= 0.05 + 3 * _se(0.05, SIMS)
    assert fpr_naive > 0.05 + 3 * _se(0.05, SIMS)
    assert abs(fpr_final - 0.05) < 3 * _se(0.05, SIMS)  # the simulation itself is calibrated


def test_running_coverage_under_an_effect():
    """True difference +0.03 (20% → 23%): the running intersection of the CS contains it at every look in at least
    95% of the paths (3 simulation SE)."""
    rng = np.random.default_rng(2718)
    x_t, x_c, n = _paths(rng, 0.20, 0.23)
    pt, pc = x_t / n, x_c / n
    hw = cs_halfwidth(pt * (1 - pt) / n + pc * (1 - pc) / n, 2 * n, 0.05, 2 * DAILY * LOOKS)
    lo = np.maximum.accumulate(pt - pc - hw, axis=1)
    hi = np.minimum.accumulate(pt - pc + hw, axis=1)
    covered = ((lo <= 0.03) & (hi >= 0.03)).all(axis=1).mean()
    assert covered >= 0.95 - 3 * _se(0.05, SIMS)
    assert ((lo > 0).any(axis=1)).mean() > 0.5  # and it detects the effect in most paths within 30 days


# ----------------------------------------------------------------------------------------------- monitor()


def _design(**extra):
    raw = {"name": "flowpack_vs_discount", "data": {"source": "outcomes.parquet", "unit": "subscriber_id",
                                                    "assigned_at": "assigned_at"},
           "arms": {"control": {"weight": 0.5}, "flow_pack": {"weight": 0.25}, "discount": {"weight": 0.25}},
           "control": "control",
           "metrics": [{"name": "churn", "column": "churned", "kind": "binary", "direction": "decrease"}],
           "analysis": {"alpha": 0.05, "correction": "holm"}}
    raw.update(extra)
    return parse_design(raw)


def _frame(rng, n, rates, weights=(0.5, 0.25, 0.25), days=20):
    rng = np.random.default_rng(rng)
    arms = np.array(["control", "flow_pack", "discount"])
    arm = rng.choice(arms, n, p=list(weights))
    p = np.select([arm == a for a in arms], rates)
    return pd.DataFrame({"subscriber_id": np.arange(n), "arm": arm,
                         "assigned_at": [date(2026, 3, 1) + timedelta(days=int(d)) for d in rng.integers(0, days, n)],
                         "churned": (rng.random(n) < p).astype(int)})


def test_monitor_detects_a_large_effect_and_matches_the_direct_computation():
    df = _frame(1, 12000, (0.20, 0.14, 0.19))
    before = df.copy()
    r = monitor(_design(), df, tuning=12000)
    assert r.decision == "stop_effect" and r.may_stop and "flow_pack" in r.message
    pd.testing.assert_frame_equal(df, before)
    fp = next(s for s in r.latest if s.arm == "flow_pack")
    t, c = df.loc[df.arm == "flow_pack", "churned"], df.loc[df.arm == "control", "churned"]
    direct = confidence_sequence(SuffStats.from_values(t), SuffStats.from_values(c), binary=True, alpha=0.025,
                                 tuning=12000)
    assert fp.lower == pytest.approx(direct.lower, rel=1e-12) and fp.alpha == 0.025  # Holm → α/2 per CS
    assert fp.lower_running >= fp.lower and len(r.path) == 2 * 20
    shuffled = monitor(_design(), df.sample(frac=1, random_state=4), tuning=12000)
    assert shuffled.latest[0].lower == pytest.approx(r.latest[0].lower, rel=1e-12)


def test_monitor_continue_and_planned_size():
    df = _frame(2, 3000, (0.20, 0.20, 0.20))
    r = monitor(_design(), df)
    assert r.decision == "continue" and not r.may_stop
    done = monitor(_design(), df, planned_total=2500)
    assert done.decision == "planned_size_reached"


def test_monitor_default_tuning_is_planned_total():
    d = _design(power={"baseline": 0.2, "mde": 0.05})
    r = monitor(d, _frame(3, 4000, (0.2, 0.2, 0.2)))
    assert r.planned_total is not None and r.tuning == r.planned_total


def test_monitor_flags_srm():
    df = _frame(4, 8000, (0.2, 0.2, 0.2), weights=(0.6, 0.2, 0.2))
    assert monitor(_design(), df).decision == "srm"


def test_monitor_bad_input():
    df = _frame(5, 1000, (0.2, 0.2, 0.2))
    with pytest.raises(DataError, match="values other than 0/1"):
        monitor(_design(), df.assign(churned=df.churned * 2))
    with pytest.raises(DataError, match=r"arm labels \['flowpack'\]"):
        monitor(_design(), df.assign(arm=df.arm.replace("flow_pack", "flowpack")))
    with pytest.raises(DataError, match="no column 'churned'"):
        monitor(_design(), df.rename(columns={"churned": "churn_flag"}))


def test_design_report_section(tmp_path):
    """The section gathers the three results; a short population fails its check."""
    from experiments.planning.power import sample_size
    from experiments.planning.section import design_section

    size = sample_size(0.2, 0.05, population=1000)
    r = monitor(_design(), _frame(6, 3000, (0.2, 0.2, 0.2)))
    s = design_section(size, None, r)
    assert s.key == "design" and len(s.conclusions) == 2
    assert [c.status for c in s.checks] == ["fail"]
    assert r.message in s.conclusions

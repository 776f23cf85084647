"""`experiments.promo`: the demo/report entry points of the competitor-promotion study."""

from __future__ import annotations

from pathlib import Path

import pytest

from causal.simulate import simulate_panel
from experiments.analysis.promo import analyze_promo, promo_section
from experiments.report.sections import ReportSection


@pytest.fixture(scope="module")
def staggered_result():
    panel, truth = simulate_panel(24, 18, starts=(7, 10, 13), effect=0.004, noise=0.001, rng=12)
    return analyze_promo(panel, n_boot=999, n_perm=99, n_placebo=50), truth, panel


def test_staggered_detected_and_truth_covered(staggered_result) -> None:
    res, truth, _ = staggered_result
    assert res.staggered is not None and res.se_type == "cs-influence"  # several start dates → staggered headline
    assert res.ci[0] < truth.att < res.ci[1]
    assert res.wild is not None  # 24 clusters: the TWFE inference is the wild cluster bootstrap


def test_section_content(staggered_result) -> None:
    res, _, _ = staggered_result
    sec = promo_section(res, value_per_subscriber=300.0)
    assert isinstance(sec, ReportSection) and sec.key == "promo"
    assert f"{100 * res.att:+.3f} pp" in sec.conclusions[0]
    assert f"{res.business.excess:,.0f} excess churners" in sec.conclusions[1]
    assert any(c.startswith("Value lost:") for c in sec.conclusions)
    names = [c.name for c in sec.checks]
    assert names[:2] == ["Pre-trends", "Few clusters"] and "Leave one unit out" in names
    assert "wild cluster bootstrap" in sec.checks[1].message
    fig = sec.figures[0][1]
    assert len(fig.data) == 2 and fig.data[0].error_y.array is not None  # TWFE and CS event studies with intervals
    assert {t[0] for t in sec.tables} >= {"Estimates (effect on the monthly churn rate)", "Refutations"}


def test_pretrend_fails_loudly() -> None:
    panel, _ = simulate_panel(60, 12, treated_share=0.5, starts=(7,), effect=0.0, pretrend=0.001, noise=0.0005,
                              rng=5)
    sec = promo_section(analyze_promo(panel, se="cluster", n_perm=0, n_placebo=0))
    assert sec.checks[0].name == "Pre-trends" and sec.checks[0].status == "fail"


def test_from_parquet_path(tmp_path: Path) -> None:
    panel, _ = simulate_panel(20, 10, starts=(6,), rng=2)
    path = tmp_path / "panel.parquet"
    panel.to_parquet(path)
    res = analyze_promo(path, n_boot=999, n_perm=0, n_placebo=0)
    assert res.staggered is None and res.n_obs == 200 and res.se_type == "wild"


def test_simulator_panel_of_issue_4_passes_pre_trends() -> None:
    """Issue 4 follow-up: the panel of ``retention simulate --seed 20260701`` (parallel trends exact by construction;
    the region panel does not depend on the number of subscribers) no longer fails the pre-trend check. R did's χ²
    pre-test, still available with ``pretest="wald"``, rejects it (χ² = 119 on 20 df), and the default message says
    that the bootstrap decided and why."""
    from experiments.simulate.operator import simulate_operator

    panel = simulate_operator(rng=20260701, n_subscribers=2000).panel
    res = analyze_promo(panel, n_boot=999, n_perm=0, n_placebo=0)
    check = promo_section(res).checks[0]
    assert check.name == "Pre-trends" and check.status == "ok", check.message
    assert "wild bootstrap p" in check.message and "The bootstrap decides" in check.message
    assert res.refutations["pretrend"].details["r_did_p"] < 1e-6  # the over-sized test the bootstrap replaces
    old = promo_section(analyze_promo(panel, n_boot=999, n_perm=0, n_placebo=0, pretest="wald")).checks[0]
    assert old.status == "fail" and "R did's χ² Wald, as requested" in old.message

"""Refutations and randomization inference: their fast paths equal brute-force refits."""

from __future__ import annotations

import numpy as np
import pytest

from causal.did import DiD, _layout, _sums
from causal.simulate import simulate_panel
from causal.twfe import fit_twfe

RTOL = 1e-9  # the same regression solved two ways (cached FWL projection vs a full refit)


@pytest.fixture(scope="module")
def fitted():
    panel, _ = simulate_panel(16, 10, treated_share=0.4, starts=(5, 7), effect=0.003, rng=21)
    model = DiD(unit="region", time="month", outcome="churn_rate", treat="promo", weight="subscribers",
                se="cluster", n_perm=49, n_placebo=20, rng=np.random.default_rng(5)).fit(panel)
    return model, panel


def _refit(cells, lay, keep, treat) -> float:
    tab = cells.table
    s = {k: v[keep] for k, v in _sums(tab).items()}
    return float(fit_twfe(treat[keep][:, None], ("d",), lay.unit_idx[keep], lay.pos[keep], lay.cluster[keep],
                          s).coef[0])


def test_randomization_p_value_equals_brute_force(fitted) -> None:
    """Replaying the same permutations (same seed and draw order) with full refits gives the same p-value."""
    model, _ = fitted
    res, cells = model.result_, model.cells_
    lay = _layout(cells)
    rng = np.random.default_rng(5)
    for _ in range(20):  # replay the placebo-unit draws (units, then starts), which come before the permutations
        k = min(int((lay.start >= 0).sum()), int((lay.start < 0).sum()) - 1)
        rng.choice(np.flatnonzero(lay.start < 0), size=k, replace=False)
        rng.choice(lay.start[lay.start >= 0], size=k, replace=True)
    draws = []
    for _ in range(49):
        s = rng.permutation(lay.start)[lay.unit_idx]
        draws.append(_refit(cells, lay, np.ones(len(lay.pos), bool), ((s >= 0) & (lay.pos >= s)).astype(float)))
    p = (1 + np.sum(np.abs(draws) >= abs(res.twfe.coef.iloc[0]))) / 50
    assert res.refutations["randomization"].p_value == pytest.approx(p, rel=RTOL)
    assert res.refutations["randomization"].estimate == pytest.approx(np.mean(draws), rel=1e-7)


def test_leave_one_out_equals_refits(fitted) -> None:
    model, _ = fitted
    res, cells = model.result_, model.cells_
    lay = _layout(cells)
    treat = cells.table["treat"].to_numpy(float)
    ests = [_refit(cells, lay, lay.unit_idx != u, treat) for u in range(len(lay.unit_labels))]
    loo = res.refutations["leave_one_unit_out"]
    assert loo.details["min"] == pytest.approx(min(ests), rel=RTOL)
    assert loo.details["max"] == pytest.approx(max(ests), rel=RTOL)


def test_placebo_start_uses_pre_period_only(fitted) -> None:
    """The placebo start refit sees no treated cell: its estimate equals a refit on pre-period cells."""
    model, _ = fitted
    res, cells = model.result_, model.cells_
    lay = _layout(cells)
    usable = lay.start >= 2
    s = lay.start[lay.unit_idx]
    keep = (s < 0) | (usable[lay.unit_idx] & (lay.pos < s))
    assert cells.table["treat"].to_numpy()[keep].sum() == 0
    shift = res.refutations["placebo_start"].details["shift_periods"]
    assert shift == max(1, int(lay.start[usable].min()) // 2)
    fake = ((s >= 0) & (lay.pos >= s - shift) & keep).astype(float)
    assert res.refutations["placebo_start"].estimate == pytest.approx(_refit(cells, lay, keep, fake), rel=RTOL)

"""Lifetime value per arm against the project simulator's closed-form truth (issue 5 follow-up).

The truth (``tests/ltv_truth.py``) is each arm's mean survival curve under the simulator's piecewise-constant hazard,
which the simulator defines for every t >= 0 (one contract-end window, no renewal, the offer's hazard ratio lasts),
valued with the convention of :mod:`survival.ltv`. Within follow-up the Kaplan–Meier value must cover it; beyond
follow-up (24 months from about 6) the extrapolation is measured, and the report must say it is an extrapolation.
"""

from __future__ import annotations

import numpy as np
import pytest
from ltv_truth import compare, true_ltv, true_survival

from experiments.simulate.config import CURVE_DAYS
from experiments.simulate.operator import simulate_operator
from experiments.value.tenure import analyze_survival, survival_section

EXACT = 1e-9  # same closed form, float noise only (rate0 is recovered from p90 through log1p)
#: Accuracy the report's trust check claims for ΔLTV extrapolated 18 months beyond 6 months of follow-up
#: (experiments.tenure.EXTRAPOLATION_BIAS). Measured with ``python tests/ltv_truth.py --seeds 1 2 3 4 5 6 7 8
#: 20260701 --n 200000``: errors from -4.32 to +1.53 per subscriber on true ΔLTVs of 20.2 to 25.2, i.e. at most 21%.
#: Per-arm families chosen separately (the bug) gave +2.67 against a truth near +20.5 (87% off).
EXTRAPOLATION_REL_ERROR = 0.25
VALUE = {"margin": "monthly_margin", "annual_discount_rate": 0.08}


def test_true_curve_equals_the_simulator_truth_json_curve():
    """Reference: ``truth["survival"]["curve"]`` written by the simulator itself (its own closed form, computed
    from the internal rate0); the reconstruction from ``truth_effects`` must agree to float noise."""
    sim = simulate_operator(n_subscribers=20_000, rng=11)
    got = true_survival(sim, CURVE_DAYS)
    for arm, values in got.items():
        np.testing.assert_allclose(values, sim.truth["survival"]["curve"][arm], rtol=EXACT)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_km_delta_ltv_within_follow_up_covers_truth(seed):
    """Horizon 5 months (152 days, within every subscriber's follow-up of at least 153): Kaplan–Meier values, no
    extrapolation; each arm's ΔLTV 95% interval covers the true ΔLTV."""
    sim = simulate_operator(n_subscribers=60_000, rng=seed)
    ex = sim.experiment[["time_to_churn_days", "churn_event", "arm", "monthly_margin"]]
    res = analyze_survival(ex, duration="time_to_churn_days", event="churn_event", group="arm", control="control",
                           time_unit="days", value={**VALUE, "horizon_months": 5})
    assert {v["method"] for v in res.ltv["arms"].values()} == {"kaplan-meier"}
    truth = true_ltv(sim, res.ltv["settings"]["margin_per_month"], 5, 0.08)
    for arm, dd in res.ltv["delta"].items():
        assert dd["ci"][0] <= truth[arm] - truth["control"] <= dd["ci"][1]
    check = next(c for c in survival_section(res).checks if c.name == "Extrapolation beyond follow-up")
    assert check.status == "ok"


@pytest.mark.slow
def test_extrapolated_delta_ltv_against_truth_is_flagged_and_bounded():
    """24 months from about 6 months of follow-up (the demo's seed, the worst of the nine measured): one family for
    all arms, a trust-check warning naming the extrapolated months and the measured error, and an error within the
    bound that warning states. The interval is NOT asserted to cover the truth: it missed in 3 of 18 measured
    arm-runs (see EXTRAPOLATION_REL_ERROR), because it carries parameter uncertainty only."""
    rows = compare(20260701, 200_000)
    assert len({r["method"] for r in rows}) == 1
    for r in rows:
        assert abs(r["error"]) <= EXTRAPOLATION_REL_ERROR * abs(r["delta_true"]), r
        assert r["delta_est"] > 0 and r["lower"] > 0  # both offers add value, and the estimate says so


@pytest.mark.slow
def test_extrapolation_warning_names_months_and_family():
    sim = simulate_operator(n_subscribers=40_000, rng=3)
    ex = sim.experiment[["time_to_churn_days", "churn_event", "arm", "monthly_margin"]]
    res = analyze_survival(ex, duration="time_to_churn_days", event="churn_event", group="arm", control="control",
                           time_unit="days", value={**VALUE, "horizon_months": 24})
    fam = res.ltv["family"]["family"]
    assert {v["method"] for v in res.ltv["arms"].values()} == {f"parametric:{fam}"}
    check = next(c for c in survival_section(res).checks if c.name == "Extrapolation beyond follow-up")
    assert check.status == "warning"
    assert "18.1 months beyond the observed follow-up" in check.message and fam in check.message
    assert "known truth" in check.message
    assert any(f"one parametric family for every arm, {fam}" in n for n in res.notes)
    table = dict(survival_section(res).tables)
    aic = next(t for k, t in table.items() if k.startswith("Parametric models"))
    assert list(aic["group"])[-1] == "total (all arms)"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 3, 4, 8, 10])
def test_mixed_per_arm_families_no_longer_drive_delta_ltv(seed):
    """30,000 subscribers, 24 months from ~6: in these seeds (all five of seeds 1–10 where it happens) the arms'
    own AIC-best families differ, which is what made ΔLTV a model-choice artefact (the old per-arm choice gave
    6.6 to 46.4 against truths of 20–25 and missed in 6 of 20 comparisons over seeds 1–10). With one family for all
    arms each ΔLTV 95% interval covers the true ΔLTV."""
    from survival.hazard import fit_parametric
    from survival.ltv import ltv_by_group, ltv_difference

    sim = simulate_operator(n_subscribers=30_000, rng=seed)
    ex = sim.experiment
    t, e, g = ex["time_to_churn_days"].to_numpy(float), ex["churn_event"].to_numpy(int), ex["arm"].to_numpy()
    own = {a: fit_parametric(t[g == a], e[g == a]).best for a in np.unique(g)}
    assert len(set(own.values())) > 1  # the situation under test
    m = float(ex["monthly_margin"].mean())
    res = ltv_by_group(t, e, g, m, 24, 0.08, time_unit="days", method="parametric")
    assert len({r.method for r in res.values()}) == 1
    truth = true_ltv(sim, m, 24, 0.08)
    for arm in ("flow_pack", "contract_discount"):
        dd = ltv_difference(res[arm], res["control"])
        assert dd.lower <= truth[arm] - truth["control"] <= dd.upper

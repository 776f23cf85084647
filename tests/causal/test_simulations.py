"""Statistical properties on seeded simulations with a known truth.

Each test draws its own ``np.random.default_rng(seed)``; nothing is seeded globally. Rejection-rate bands are wide
enough for the Monte Carlo error of the number of replications (stated next to each band).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal.did import DiD
from causal.simulate import simulate_panel
from causal.staggered import callaway_santanna
from causal.twfe import fit_twfe, t_inference, wild_cluster_bootstrap

ALPHA = 0.05


def _null_panel(G: int, T: int, n_treated: int, rng: np.random.Generator, weight_sd: float = 0.0) -> tuple:
    """Cell-level panel with unit and period effects, AR(1) errors within units (ρ = 0.5), no treatment effect.

    Cells get weights ``exp(N(0, weight_sd))`` per unit (unequal cluster sizes) and error variance ∝ 1/weight.
    """
    u = np.repeat(np.arange(G), T)
    t = np.tile(np.arange(T), G)
    e = np.zeros((G, T))
    e[:, 0] = rng.normal(size=G)
    for k in range(1, T):
        e[:, k] = 0.5 * e[:, k - 1] + rng.normal(size=G) * np.sqrt(0.75)
    w = np.exp(rng.normal(0, weight_sd, G))[u] if weight_sd else np.ones(G * T)
    y = rng.normal(size=G)[u] + rng.normal(size=T)[t] + e.ravel() / np.sqrt(w / w.mean())
    treated = rng.choice(G, n_treated, replace=False)
    d = (np.isin(u, treated) & (t >= T // 2)).astype(float)
    sums = {"n": np.ones(G * T), "sw": w, "swy": w * y, "swyy": w * y**2, "sww": w**2, "swwy": w**2 * y,
            "swwyy": w**2 * y**2}
    return d[:, None], u, t, sums


@pytest.mark.slow
def test_crv1_size_with_many_clusters() -> None:
    """60 clusters (30 treated), no effect, serially correlated errors: CRV1 rejects at 0.04–0.06 while iid
    standard errors, which ignore the within-unit correlation, over-reject. 4,000 replications: Monte Carlo SE of a
    0.05 rate is 0.0034."""
    rng = np.random.default_rng(20261122)
    reps = 4000
    rej = {"crv1": 0, "iid": 0}
    for _ in range(reps):
        X, u, t, s = _null_panel(60, 10, 30, rng)
        fit = fit_twfe(X, ("d",), u, t, u, s)
        for kind in rej:
            p, _ = t_inference(float(fit.coef[0]), float(fit.se(kind)[0]), fit.df[kind], ALPHA)
            rej[kind] += p < ALPHA
    rate = {k: v / reps for k, v in rej.items()}
    assert 0.04 <= rate["crv1"] <= 0.06, rate
    assert rate["iid"] > 0.10, rate


@pytest.mark.slow
def test_few_clusters_wild_bootstrap_vs_crv1() -> None:
    """8 clusters, 2 of them treated, unequal cluster sizes, no effect: CRV1 t tests over-reject badly while the
    restricted wild cluster bootstrap (Webb weights, 399 draws) stays near 0.05. 600 replications: Monte Carlo SE
    of a 0.05 rate is 0.009, so the band for the bootstrap is 0.02–0.08 and CRV1 must exceed 0.10."""
    rng = np.random.default_rng(8)
    reps = 600
    crv1 = wild = 0
    for _ in range(reps):
        X, u, t, s = _null_panel(8, 12, 2, rng, weight_sd=1.0)
        fit = fit_twfe(X, ("d",), u, t, u, s)
        p, _ = t_inference(float(fit.coef[0]), float(fit.se("crv1")[0]), fit.df["crv1"], ALPHA)
        crv1 += p < ALPHA
        wb = wild_cluster_bootstrap(X, 0, u, t, u, s, fit, n_draws=399, weights="webb", rng=rng)
        wild += wb.p_value < ALPHA
    rate_crv1, rate_wild = crv1 / reps, wild / reps
    assert rate_crv1 > 0.10, (rate_crv1, rate_wild)
    assert 0.02 <= rate_wild <= 0.08, (rate_crv1, rate_wild)


def _pretrend_rejections(pretrend: float, reps: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        panel, _ = simulate_panel(60, 12, treated_share=0.5, starts=(7,), effect=0.003, pretrend=pretrend,
                                  noise=0.001, rng=rng)
        res = DiD(unit="region", time="month", outcome="churn_rate", treat="promo", weight="subscribers",
                  se="cluster", refute=False, n_perm=0).fit(panel).result_
        hits += res.pretrend_p < ALPHA
    return hits / reps


@pytest.mark.slow
def test_event_study_detects_injected_pretrend() -> None:
    """Treated regions drifting up by 0.06 pp a month before the start: the joint test of the event-study leads
    rejects in most of 40 panels; without the drift it rejects about 5% of the time (band up to 0.15 for 40
    replications, Monte Carlo SE 0.034)."""
    assert _pretrend_rejections(0.0006, 40, 1) >= 0.8
    assert _pretrend_rejections(0.0, 40, 2) <= 0.15


@pytest.mark.slow
def test_staggered_recovers_heterogeneous_effects_twfe_does_not() -> None:
    """Cohorts starting in months 5, 9 and 13 with effects that grow with exposure and differ by cohort: the
    Callaway–Sant'Anna simple ATT is unbiased for its estimand (unit-weighted average over treated cells) and its
    intervals cover it; TWFE on the same panels is far off. 60 panels."""
    rng = np.random.default_rng(2026)
    reps = 60
    cs_err, twfe_err, targets, cover = [], [], [], 0
    for _ in range(reps):
        panel, truth = simulate_panel(50, 16, treated_share=0.6, starts=(5, 9, 13), effect=0.002,
                                      cohort_slope=0.0005, growth=0.0008, noise=0.001, rng=rng)
        Y = panel.pivot(index="region", columns="month", values="churn_rate").to_numpy()
        w = panel.groupby("region")["subscribers"].mean().to_numpy()
        starts = panel.groupby("region")["promo_start"].first()
        start_pos = np.array([-1 if pd.isna(s) else int(s) - 1 for s in starts])
        cs = callaway_santanna(Y, start_pos, np.arange(1, 17), weights=w)
        cells = truth.effect_by_cell.merge(pd.DataFrame({"region": np.arange(50), "w": w}), on="region")
        target = float(np.average(cells["effect"], weights=cells["w"]))
        targets.append(target)
        cs_err.append(cs.simple.att - target)
        cover += cs.simple.ci[0] <= target <= cs.simple.ci[1]
        res = DiD(unit="region", time="month", outcome="churn_rate", treat="promo", weight="subscribers",
                  se="cluster", refute=False, n_perm=0).fit(panel).result_
        twfe_err.append(res.att - target)
    cs_bias, twfe_bias = float(np.mean(cs_err)), float(np.mean(twfe_err))
    cs_mcse = float(np.std(cs_err) / np.sqrt(reps))
    assert abs(cs_bias) < 3 * cs_mcse + 1e-5, (cs_bias, cs_mcse)
    twfe_mcse = float(np.std(twfe_err) / np.sqrt(reps))
    # TWFE's bias is unmistakable (over 10 Monte Carlo SEs) and material (over 10% of the effect)
    assert abs(twfe_bias) > 10 * max(cs_mcse, twfe_mcse) and abs(twfe_bias) > 0.1 * np.mean(targets), twfe_bias
    assert cover / reps >= 0.85, cover / reps


def test_twfe_recovers_homogeneous_effect() -> None:
    """One start date and a constant effect: the TWFE ATT is within its interval of the truth (fast sanity), and the
    value lost with a value column is ATT × Σ subscribers × value over treated cells."""
    panel, truth = simulate_panel(60, 12, treated_share=0.5, starts=(7,), effect=0.004, noise=0.001, rng=77)
    panel = panel.assign(ltv=300.0 + panel["region"] * 2.0)  # value per subscriber, a column varying by region
    res = DiD(unit="region", time="month", outcome="churn_rate", treat="promo", weight="subscribers", se="cluster",
              n_perm=0, n_placebo=50, value="ltv", rng=3).fit(panel).result_
    assert res.ci[0] <= truth.att <= res.ci[1]
    treated = panel[panel.promo == 1]
    assert res.business.value_lost == pytest.approx(res.att * (treated.subscribers * treated.ltv).sum(), rel=1e-10)
    assert res.business.value_source == "column ltv"
    assert res.business.exposure == pytest.approx(panel.loc[panel.promo == 1, "subscribers"].sum())
    assert res.business.excess == pytest.approx(res.att * res.business.exposure)
    assert set(res.refutations) == {"pretrend", "placebo_start", "placebo_units", "leave_one_unit_out"}
    assert res.refutations["placebo_units"].details["n_draws"] == 50
    assert res.refutations["placebo_start"].details["shift_periods"] == 3  # half of the 6 pre-periods


@pytest.mark.slow
def test_pretrend_wald_with_few_clusters_wild_vs_crv1() -> None:
    """12 clusters (5 treated), 4 leads, no pre-trend and no effect: the CRV1 Wald F test of the leads over-rejects
    badly, the wild cluster bootstrap of the same statistic (null imposed, Rademacher, 399 draws) stays near 0.05.
    400 replications: Monte Carlo SE of a 0.05 rate is 0.011; band 0.02–0.09."""
    from causal.twfe import wald_test, wild_wald_test

    rng = np.random.default_rng(12)
    reps, crv1, wild = 400, 0, 0
    for _ in range(reps):
        d, u, t, s = _null_panel(12, 12, 5, rng)
        start = np.where(d[:, 0].reshape(12, 12).any(axis=1), 6, -999)
        rel = np.where(start[u] > 0, t - start[u], -999)
        rels = [r for r in range(-6, 6) if r != -1]
        X = np.stack([(rel == r).astype(float) for r in rels], axis=1)
        leads = [i for i, r in enumerate(rels) if r < -1]
        fit = fit_twfe(X, tuple(map(str, rels)), u, t, u, s)
        _, p, _ = wald_test(fit.coef[leads], fit.vcov["crv1"][np.ix_(leads, leads)], fit.df["crv1"])
        crv1 += p < ALPHA
        wild += wild_wald_test(X, leads, u, t, u, s, fit, n_draws=399, rng=rng).p_value < ALPHA
    assert crv1 / reps > 0.15, (crv1 / reps, wild / reps)
    assert 0.02 <= wild / reps <= 0.09, (crv1 / reps, wild / reps)

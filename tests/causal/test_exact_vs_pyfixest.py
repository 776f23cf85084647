"""The aggregated (per-cell) fits equal row-level pyfixest 0.60 regressions.

Reference: pyfixest 0.60 ``feols`` on the same subscriber-month rows, default small-sample corrections
(``ssc(k_adj=True, k_fixef="nonnested", G_adj=True)``), with a tight demeaning tolerance so that pyfixest's
iterative demeaning is not the limiting factor.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from causal.did import DiD, _layout, _sums, event_time_design
from causal.panel import cell_stats
from causal.simulate import simulate_subscriber_rows
from causal.twfe import boot_t_matrices, fit_twfe

RTOL = 1e-8  # same formulas, float noise only
FIXEF_TOL = 1e-13  # pyfixest's demeaning tolerance; its default (1e-8 relative) would dominate the comparison
VCOV = {"iid": "iid", "hc1": "hetero", "crv1": {"CRV1": "region"}}


def _feols(fml: str, data: pd.DataFrame, vcov: object, weights: str | None = None) -> pf.Feols:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pf.feols(fml, data=data, vcov=vcov, weights=weights, fixef_tol=FIXEF_TOL, fixef_maxiter=100_000)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """300 regions × 24 months of subscriber-month rows (~170k), promotion in 30% of regions from month 13."""
    df = simulate_subscriber_rows(300, 24, mean_subscribers=24, rng=20261122)
    df["w"] = np.random.default_rng(7).uniform(0.5, 2.0, len(df))
    return df


@pytest.fixture(scope="module")
def fits(rows: pd.DataFrame) -> dict:
    out = {}
    for weight in (None, "w"):
        cells = cell_stats(rows, unit="region", time="month", outcome="churned", treat="promo", weight=weight,
                           covariates=("price_index",))
        tab = cells.table
        X = tab[["treat", "cov__price_index"]].to_numpy()
        out[weight] = fit_twfe(X, ("promo", "price_index"), tab["unit"].to_numpy(), tab["time"].to_numpy(),
                               tab["cluster"].to_numpy(), _sums(tab))
    return out


@pytest.mark.parametrize("weight", [None, "w"])
@pytest.mark.parametrize("kind", ["iid", "hc1", "crv1"])
def test_twfe_equals_pyfixest(rows: pd.DataFrame, fits: dict, weight: str | None, kind: str) -> None:
    """Coefficients and iid/HC1/CRV1 SEs of ``churned ~ promo + price_index | region + month`` equal pyfixest's."""
    ref = _feols("churned ~ promo + price_index | region + month", rows, VCOV[kind], weight)
    fit = fits[weight]
    np.testing.assert_allclose(fit.coef, ref.coef().to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(fit.se(kind), ref.se().to_numpy(), rtol=RTOL)
    assert fit.n_obs == ref._N
    p_ref = ref.pvalue().to_numpy()
    from causal.twfe import t_inference

    p = [t_inference(float(c), float(s), fit.df[kind], 0.05)[0] for c, s in zip(fit.coef, fit.se(kind), strict=True)]
    np.testing.assert_allclose(p, p_ref, rtol=1e-6)  # pyfixest's p-values pass through scipy's t cdf too


def test_event_study_equals_pyfixest(rows: pd.DataFrame) -> None:
    """Event-time dummies (reference −1, never-treated zero) match pyfixest ``i(rel, ref=-1)`` with CRV1."""
    cells = cell_stats(rows, unit="region", time="month", outcome="churned", treat="promo")
    lay = _layout(cells)
    E, rels = event_time_design(lay, None)
    tab = cells.table
    fit = fit_twfe(E, tuple(map(str, rels)), lay.unit_idx, lay.pos, lay.cluster, _sums(tab))
    first = rows[rows.promo == 1].groupby("region")["month"].min()
    rel = (rows["month"] - rows["region"].map(first)).to_numpy()  # NaN for never-treated regions
    dummies = {f"ev{i}": (rel == r).astype(float) for i, r in enumerate(rels)}
    ref = _feols(" + ".join(dummies).join(["churned ~ ", " | region + month"]), rows.assign(**dummies),
                 {"CRV1": "region"})
    ref_coef = ref.coef()[list(dummies)].to_numpy()
    ref_se = ref.se()[list(dummies)].to_numpy()
    np.testing.assert_allclose(fit.coef, ref_coef, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(fit.se("crv1"), ref_se, rtol=RTOL, atol=1e-12)


def test_wild_bootstrap_draws_equal_row_level_refits() -> None:
    """Each bootstrap t* equals a brute-force row-level CRV1 t from pyfixest on the wild-bootstrapped rows.

    Independent reference: for draw vector v, build y* = restricted fitted value + v_g × restricted residual on the
    subscriber rows (restricted fit by pyfixest with the null β_promo = 0 imposed), refit with pyfixest and take
    its CRV1 t statistic (the WCR bootstrap of MacKinnon, Nielsen and Webb 2023; Roodman et al. 2019).
    """
    rows = simulate_subscriber_rows(8, 10, mean_subscribers=15, treated_share=0.4, starts=(6,), rng=5)
    cells = cell_stats(rows, unit="region", time="month", outcome="churned", treat="promo",
                       covariates=("price_index",))
    tab = cells.table
    X = tab[["treat", "cov__price_index"]].to_numpy()
    u, t, g = tab["unit"].to_numpy(), tab["time"].to_numpy(), tab["cluster"].to_numpy()
    fit = fit_twfe(X, ("promo", "price_index"), u, t, g, _sums(tab))
    s, K, adj = boot_t_matrices(X, 0, u, t, g, _sums(tab), fit)
    restricted = _feols("churned ~ price_index | region + month", rows, "iid")
    fitted = restricted.predict()
    resid = rows["churned"].to_numpy() - fitted
    v_all = np.random.default_rng(11).choice([-1.0, 1.0], size=(8, 4))
    for b in range(v_all.shape[1]):
        v = v_all[:, b]
        ystar = fitted + v[rows["region"].to_numpy()] * resid
        ref = _feols("ystar ~ promo + price_index | region + month", rows.assign(ystar=ystar), {"CRV1": "region"})
        t_ref = float(ref.tstat()["promo"])
        t_agg = float(s @ v / np.sqrt(adj * np.sum((K @ v) ** 2)))
        np.testing.assert_allclose(t_agg, t_ref, rtol=1e-7)  # pyfixest's predict() adds its FE-recovery noise


def test_invariant_to_row_order_and_unit_labels(rows: pd.DataFrame) -> None:
    """Shuffling rows and relabelling regions (as strings) leaves estimate and SEs unchanged."""
    base = DiD(unit="region", time="month", outcome="churned", treat="promo", se="cluster", refute=False,
               n_perm=0).fit(rows).result_
    shuffled = rows.sample(frac=1.0, random_state=3).assign(region=lambda d: "r" + d["region"].astype(str))
    other = DiD(unit="region", time="month", outcome="churned", treat="promo", se="cluster", refute=False,
                n_perm=0).fit(shuffled).result_
    assert other.att == pytest.approx(base.att, rel=RTOL)
    assert other.se == pytest.approx(base.se, rel=RTOL)
    assert list(shuffled.columns) == ["region", "month", "promo", "price_index", "churned", "w"]  # not mutated


def test_duckdb_table_equals_dataframe(rows: pd.DataFrame, tmp_path) -> None:
    """A Parquet file read by DuckDB through Ibis gives the same cells as the DataFrame (never loaded to pandas)."""
    import ibis

    path = tmp_path / "rows.parquet"
    rows.to_parquet(path)
    con = ibis.duckdb.connect()
    a = cell_stats(con.read_parquet(str(path)), unit="region", time="month", outcome="churned", treat="promo")
    b = cell_stats(rows, unit="region", time="month", outcome="churned", treat="promo")
    pd.testing.assert_frame_equal(a.table, b.table, rtol=1e-12)
    assert a.source == "duckdb"


def test_wild_wald_draws_equal_row_level_refits() -> None:
    """Each bootstrap Wald statistic of the event-study leads equals the CRV1 Wald statistic computed from pyfixest's
    coefficients and covariance after refitting the wild-bootstrapped rows (null: all leads zero imposed)."""
    from causal.twfe import wild_wald_test

    rows = simulate_subscriber_rows(10, 9, mean_subscribers=12, treated_share=0.4, starts=(6,), rng=8)
    cells = cell_stats(rows, unit="region", time="month", outcome="churned", treat="promo")
    lay = _layout(cells)
    E, rels = event_time_design(lay, None)
    tab = cells.table
    fit = fit_twfe(E, tuple(map(str, rels)), lay.unit_idx, lay.pos, lay.cluster, _sums(tab))
    leads = [i for i, r in enumerate(rels) if r < -1]
    first = rows[rows.promo == 1].groupby("region")["month"].min()
    rel = (rows["month"] - rows["region"].map(first)).to_numpy()
    dummies = {f"ev{i}": (rel == r).astype(float) for i, r in enumerate(rels)}
    data = rows.assign(**dummies)
    lags = [f"ev{i}" for i in range(len(rels)) if i not in leads]
    restricted = _feols(" + ".join(lags).join(["churned ~ ", " | region + month"]), data, "iid")
    fitted = restricted.predict()
    resid = rows["churned"].to_numpy() - fitted
    v_all = np.random.default_rng(3).choice([-1.0, 1.0], size=(10, 3))
    boot = wild_wald_test(E, leads, lay.unit_idx, lay.pos, lay.cluster, _sums(tab), fit, draws=v_all)
    names = [f"ev{i}" for i in leads]
    for b in range(v_all.shape[1]):
        ystar = fitted + v_all[rows["region"].to_numpy(), b] * resid
        ref = _feols(" + ".join(dummies).join(["ystar ~ ", " | region + month"]), data.assign(ystar=ystar),
                     {"CRV1": "region"})
        beta = ref.coef()[names].to_numpy()
        pos = [list(ref.coef().index).index(n) for n in names]
        vc = ref._vcov[np.ix_(pos, pos)]
        w_ref = float(beta @ np.linalg.solve(vc, beta)) / len(names)
        np.testing.assert_allclose(boot.stat_boot[b], w_ref, rtol=1e-7)  # predict() adds FE-recovery noise

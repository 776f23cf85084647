"""The analysis on engine aggregates equals the row-level computation, and is invariant where it must be."""

from __future__ import annotations

from datetime import date

import ibis
import numpy as np
import pandas as pd
import pytest
import scipy.stats as sps
from experiment_factories import make_design, make_frame
from statsmodels.stats.proportion import proportions_ztest

from experiments.analysis.experiment import analyze
from experiments.errors import DataError

RTOL = 1e-10  # engine sums vs numpy on rows: float noise only
AS_OF = date(2026, 10, 20)


def _row_level(frame: pd.DataFrame, metric: str, column: str, mature: pd.Series | None = None):
    df = frame if mature is None else frame[mature]
    return {a: g[column].to_numpy(float) for a, g in df.groupby("arm")}


def test_binary_metric_equals_row_level(design, frame):
    """Pooled z (statsmodels) and unpooled Wald on the mature rows equal the aggregated result."""
    r = analyze(design, frame, as_of=AS_OF)
    cutoff = pd.Timestamp(AS_OF) - pd.Timedelta(days=90)
    rows = _row_level(frame, "churn_90d", "churned_90d", frame["assigned_at"] <= cutoff)
    m = r.metrics["churn_90d"]
    for c in m.comparisons:
        t, ctl = rows[c.arm], rows["control"]
        z, p = proportions_ztest([t.sum(), ctl.sum()], [t.size, ctl.size])
        assert c.p_value == pytest.approx(p, rel=1e-9)
        assert c.diff == pytest.approx(t.mean() - ctl.mean(), rel=RTOL)
        assert c.se == pytest.approx(np.sqrt(t.var() / t.size + ctl.var() / ctl.size), rel=RTOL)
    assert m.excluded_immature == int((frame["assigned_at"] > cutoff).sum()) > 0
    ref = sps.chi2_contingency(np.array([[v.sum(), v.size - v.sum()] for v in rows.values()]), correction=False)
    assert m.omnibus.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_continuous_and_cuped_equal_row_level(design, frame):
    r = analyze(design, frame, as_of=AS_OF)
    m = r.metrics["revenue_90d"]
    y = {a: g["revenue_90d"].to_numpy() for a, g in frame.groupby("arm")}
    for c in m.comparisons:
        ref = sps.ttest_ind(y[c.arm], y["control"], equal_var=False)
        assert c.statistic == pytest.approx(ref.statistic, rel=1e-9)
        assert c.p_value == pytest.approx(ref.pvalue, rel=1e-8)
        assert np.isnan(c.p_adjusted)  # guardrails are outside the family
    x, yy = frame["revenue_pre_90d"].to_numpy(), frame["revenue_90d"].to_numpy()
    theta = np.cov(x, yy)[0, 1] / x.var(ddof=1)
    assert m.cuped.theta == pytest.approx(theta, rel=RTOL)
    adj = frame.assign(adj=yy - theta * (x - x.mean()))
    for c in m.cuped.comparisons:
        a, b = adj.loc[adj.arm == c.arm, "adj"], adj.loc[adj.arm == "control", "adj"]
        assert c.statistic == pytest.approx(sps.ttest_ind(a, b, equal_var=False).statistic, rel=1e-8)
    assert m.cuped.variance_reduction > 0.5


def test_holm_is_applied_within_each_metric(design, frame):
    r = analyze(design, frame, as_of=AS_OF)
    comps = r.metrics["churn_90d"].comparisons
    p = sorted(c.p_value for c in comps)
    expected = sorted([min(1.0, 2 * p[0]), min(1.0, max(2 * p[0], p[1]))])
    assert sorted(c.p_adjusted for c in comps) == pytest.approx(expected, rel=1e-12)


def test_srm_uses_design_weights(design, frame):
    r = analyze(design, frame, as_of=AS_OF)
    counts = frame["arm"].value_counts()
    obs = np.array([counts[a] for a in design.arms], dtype=float)
    ref = sps.chisquare(obs, obs.sum() * np.array([0.34, 0.33, 0.33]))
    assert r.srm.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def _flat(result) -> dict:
    return result.to_dict()["metrics"]


def _assert_same(a: dict, b: dict) -> None:
    """Compare nested results to float noise."""
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12, nan_ok=True)
    else:
        assert a == b


def test_row_order_invariance(design, frame):
    shuffled = frame.sample(frac=1.0, random_state=np.random.default_rng(3).integers(1 << 31))
    _assert_same(_flat(analyze(design, frame, as_of=AS_OF)), _flat(analyze(design, shuffled, as_of=AS_OF)))


def test_stratified_aggregation_pools_to_the_same_result(design, frame):
    """Aggregating per arm × region and pooling the sums gives the unstratified result."""
    plain = analyze(design, frame, as_of=AS_OF)
    strat = analyze(design, frame, as_of=AS_OF, stratum="region")
    assert len(strat.strata) == 3 * 4
    _assert_same(_flat(plain), _flat(strat))


def test_relabelling_arms_relabels_results(frame):
    """Renaming the arm labels (and the design) changes names only."""
    mapping = {"control": "A", "flow_pack": "B", "contract_discount": "C"}
    d1 = make_design()
    d2 = make_design(arms={"A": {"weight": 0.34}, "B": {"weight": 0.33}, "C": {"weight": 0.33}}, control="A")
    r1 = analyze(d1, frame, as_of=AS_OF)
    r2 = analyze(d2, frame.assign(arm=frame["arm"].map(mapping)), as_of=AS_OF)
    for name in ("churn_90d", "revenue_90d"):
        by1 = {mapping[c.arm]: c for c in r1.metrics[name].comparisons}
        for c in r2.metrics[name].comparisons:
            assert c.diff == pytest.approx(by1[c.arm].diff, rel=1e-12)
            assert c.p_adjusted == pytest.approx(by1[c.arm].p_adjusted, rel=1e-12, nan_ok=True)


def test_caller_frame_is_not_mutated(design, frame):
    before = frame.copy(deep=True)
    analyze(design, frame, as_of=AS_OF)
    pd.testing.assert_frame_equal(frame, before)


def test_duckdb_file_and_parquet_sources_agree(design, frame, tmp_path):
    frame.to_parquet(tmp_path / "exp.parquet")
    frame.to_csv(tmp_path / "exp.csv", index=False)
    con = ibis.duckdb.connect(str(tmp_path / "w.db"))
    con.create_table("outcomes", frame)
    con.disconnect()
    ref = _flat(analyze(design, frame, as_of=AS_OF))
    for src in (tmp_path / "exp.parquet", f"duckdb://{tmp_path / 'w.db'}?table=outcomes", tmp_path / "exp.csv"):
        _assert_same(ref, _flat(analyze(design, str(src), as_of=AS_OF)))


def test_as_of_defaults_to_latest_assignment_with_a_note(frame):
    metrics = [{"name": "churn_5d", "column": "churned_30d", "kind": "binary", "direction": "decrease",
                "maturity_days": 5}]
    r = analyze(make_design(metrics=metrics), frame)
    assert r.as_of == frame["assigned_at"].max().date()
    assert any("as-of date not given" in n for n in r.notes)
    assert r.metrics["churn_5d"].excluded_immature == int((frame["assigned_at"] > frame["assigned_at"].max()
                                                           - pd.Timedelta(days=5)).sum())


def test_nothing_mature_is_a_clear_error(design, frame):
    with pytest.raises(DataError, match=r"fewer than 2 mature units \(maturity_days=90\)"):
        analyze(design, frame)


def test_one_unit_per_arm_is_a_clear_error_without_maturity_talk():
    """The smallest input a user tries: one subscriber per arm; no maturity rule, so no advice to wait."""
    metrics = [{"name": "churn", "column": "churned", "kind": "binary", "direction": "decrease"}]
    design = make_design(metrics=metrics, data={"source": "x.parquet", "arm": "arm"})
    frame = pd.DataFrame({"arm": list(design.arms), "churned": [1] * len(design.arms)})
    with pytest.raises(DataError, match=r"fewer than 2 units \(a variance needs 2\); add units") as err:
        analyze(design, frame)
    assert "maturity" not in str(err.value)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_backend_equals_duckdb(design, to_spark):
    """The scale-out path: the same aggregation runs on a real local Spark session through Ibis."""
    frame = make_frame(3000, seed=11)
    table = to_spark(frame, "experiment_outcomes")
    assert table.get_backend().name == "pyspark"
    _assert_same(_flat(analyze(design, frame, as_of=AS_OF)), _flat(analyze(design, table, as_of=AS_OF)))


def test_acceptance_rates_per_arm(frame):
    rng = np.random.default_rng(8)
    df = frame.assign(accepted=np.where(frame["arm"] == "control", 0, rng.random(len(frame)) < 0.4).astype(int))
    d = make_design(data={"source": "x.parquet", "unit": "subscriber_id", "arm": "arm",
                          "assigned_at": "assigned_at", "acceptance": "accepted"})
    r = analyze(d, df, as_of=AS_OF)
    for arm, e in r.acceptance.items():
        assert e.mean == pytest.approx(df.loc[df.arm == arm, "accepted"].mean(), rel=RTOL, abs=1e-15)
    bad = df.assign(accepted=df["accepted"].where(df.index % 100 != 0))
    with pytest.raises(DataError, match="'accepted' \\(data.acceptance\\)"):
        analyze(d, bad, as_of=AS_OF)

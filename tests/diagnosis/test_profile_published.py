"""The profile reproduces the figures published for the two shared datasets (``../shared/data/README.md``)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from scipy.stats import chi2_contingency

CALLS = "number_customer_service_calls"


def test_churn2020_overall(churn2020_profile):
    """Published: overall churn 598 / 4,250 = 14.07 %."""
    o = churn2020_profile.overall
    assert (o.churned, o.n) == (598, 4250)
    assert round(100 * o.rate, 2) == 14.07


@pytest.mark.parametrize(("column", "level", "churned", "n", "pct"), [
    ("international_plan", "yes", 167, 396, 42.17),
    ("international_plan", "no", 431, 3854, 11.18),
    ("voice_mail_plan", "yes", 82, 1112, 7.37),
    ("voice_mail_plan", "no", 516, 3138, 16.44),
    (CALLS, "4", 92, 209, 44.02),
    (CALLS, "5", 49, 81, 60.49),
    (CALLS, "6", 19, 28, 67.86),
    (CALLS, "9", 2, 2, 100.0),
])
def test_churn2020_published_levels(churn2020_profile, column, level, churned, n, pct):
    r = churn2020_profile.features[column][level]
    assert (r.churned, r.n) == (churned, n)
    assert round(100 * r.rate, 2) == pct


@pytest.mark.parametrize("calls", ["0", "1", "2", "3"])
def test_churn2020_low_call_levels(churn2020_profile, calls):
    """Published: 0–3 customer-service calls churn at 10.8 %–11.3 %."""
    assert 10.8 <= round(100 * churn2020_profile.features[CALLS][calls].rate, 1) <= 11.3


def test_threshold_between_three_and_four_calls(churn2020_profile, churn2020):
    """The detector's cut is 3 | 4 calls; its χ² equals scipy's on the dichotomised rows."""
    t = churn2020_profile.thresholds[CALLS]
    assert t.between == ("3", "4") and t.cut == 4
    rows = pd.read_csv(churn2020)
    table = pd.crosstab(rows[CALLS] >= 4, rows["churn"] == "yes")
    ref = chi2_contingency(table.to_numpy(), correction=False)
    assert t.statistic == pytest.approx(ref[0], rel=1e-10)
    assert t.p_raw == pytest.approx(ref[1], rel=1e-6)
    assert (t.below.n, t.above.n) == (int((rows[CALLS] < 4).sum()), int((rows[CALLS] >= 4).sum()))
    assert t.p_value < 1e-50


def test_telco_by_contract(telco_profile):
    """Published: overall 1,869 / 7,043 = 26.54 %; month-to-month 42.71 %, one year 11.27 %, two year 2.83 %."""
    assert (telco_profile.overall.churned, telco_profile.overall.n) == (1869, 7043)
    assert round(100 * telco_profile.overall.rate, 2) == 26.54
    got = {lvl: round(100 * r.rate, 2) for lvl, r in telco_profile.features["Contract"].items()}
    assert got == {"Month-to-month": 42.71, "One year": 11.27, "Two year": 2.83}


def test_telco_blank_total_charges_are_counted(telco_profile, telco):
    """The 11 blank TotalCharges (all tenure 0) are reported and kept as their own level, never dropped."""
    info = telco_profile.columns["TotalCharges"]
    assert info.numeric_text and info.blank == 11
    levels = telco_profile.features["TotalCharges"]
    assert levels["(missing)"].n == 11
    assert sum(r.n for r in levels.values()) == 7043
    d = json.loads(json.dumps(telco_profile.to_dict()))
    assert d["missing"]["TotalCharges"] == {"null": 0, "blank": 11}
    assert any("TotalCharges" in n and "11 blank" in n for n in d["notes"])
    rows = pd.read_csv(telco)
    blank = rows[rows["TotalCharges"].str.strip() == ""]
    assert levels["(missing)"].churned == int((blank["Churn"] == "Yes").sum())


def test_json_schema(churn2020_profile):
    """The keys the issue asks for, levels written as in the data ("4", "yes")."""
    d = json.loads(json.dumps(churn2020_profile.to_dict()))
    assert set(d["overall"]) >= {"n", "rate"}
    assert set(d["features"][CALLS]["4"]) >= {"n", "rate", "ci"} and len(d["features"][CALLS]["4"]["ci"]) == 2
    assert "yes" in d["features"]["international_plan"]
    t = d["thresholds"][CALLS]
    assert set(t) >= {"cut", "below", "above", "p"} and set(t["below"]) >= {"n", "rate"}
    assert isinstance(d["associations"][CALLS], float)
    assert isinstance(d["crosstabs"], list) and d["crosstabs"] and set(d["crosstabs"][0]) >= {"columns", "cells", "p"}


def test_levels_equal_pandas_groupby(churn2020_profile, churn2020):
    """Every level count of every text and count column equals pandas' groupby on the rows."""
    rows = pd.read_csv(churn2020)
    for col, info in churn2020_profile.columns.items():
        if info.role == "binned":
            continue
        ref = rows.groupby(rows[col].astype(str))["churn"].agg(n="size", k=lambda s: int((s == "yes").sum()))
        got = {lvl: (r.n, r.churned) for lvl, r in churn2020_profile.features[col].items()}
        assert got == {lvl: (int(a), int(b)) for lvl, (a, b) in ref.iterrows()}, col


def test_bins_cover_every_subscriber(telco_profile, telco):
    """Binned columns: the bins partition the rows (counts equal pandas' cut at the same edges)."""
    rows = pd.read_csv(telco)
    info = telco_profile.columns["MonthlyCharges"]
    cut = pd.cut(rows["MonthlyCharges"], list(info.edges), right=False, include_lowest=True)
    ref = cut.value_counts(sort=False).to_numpy()
    ref[-1] += int((rows["MonthlyCharges"] == info.edges[-1]).sum())  # the last bin is closed
    assert [r.n for r in telco_profile.features["MonthlyCharges"].values()] == list(ref)


def test_revenue_at_risk(telco_profile, telco):
    rows = pd.read_csv(telco)
    assert telco_profile.overall.revenue == pytest.approx(rows["MonthlyCharges"].sum(), rel=1e-12)
    assert telco_profile.overall.revenue_at_risk == pytest.approx(
        rows.loc[rows["Churn"] == "Yes", "MonthlyCharges"].sum(), rel=1e-12)


def test_caller_frame_not_mutated(churn2020):
    from experiments.diagnosis import profile

    df = pd.read_csv(churn2020)
    before = df.copy()
    p = profile(df, "churn")
    pd.testing.assert_frame_equal(df, before)
    assert p.features["international_plan"]["yes"].n == 396


def test_result_interface(churn2020_profile):
    s = churn2020_profile.summary()
    assert list(s.columns)[:3] == ["column", "level", "n"] and len(s) > 50
    assert "598 of 4,250" in churn2020_profile._repr_html_()
    fig = churn2020_profile.plot(CALLS)
    assert list(fig.data[0].x)[:4] == ["0", "1", "2", "3"]


@pytest.fixture(scope="module")
def churn2020_copies(churn2020, tmp_path_factory):
    """The same rows as Parquet, a DuckDB table and a shuffled DataFrame (text kept as text)."""
    import duckdb
    import numpy as np

    root = tmp_path_factory.mktemp("copies")
    rows = pd.read_csv(churn2020)
    rows.to_parquet(root / "churn.parquet")
    con = duckdb.connect(str(root / "churn.duckdb"))
    con.execute(f"CREATE TABLE subscribers AS SELECT * FROM read_parquet('{root / 'churn.parquet'}')")
    con.close()
    shuffled = rows.sample(frac=1.0, random_state=np.random.default_rng(3).integers(2**31)).reset_index(drop=True)
    return {"parquet": root / "churn.parquet", "duckdb": f"duckdb:///{root / 'churn.duckdb'}?table=subscribers",
            "shuffled frame": shuffled}


@pytest.mark.parametrize("kind", ["parquet", "duckdb", "shuffled frame"])
def test_same_profile_from_every_source(churn2020_profile, churn2020_copies, kind):
    """Parquet, a DuckDB table and a shuffled DataFrame give the CSV's profile (invariance to source and row order)."""
    from experiments.diagnosis import profile

    got, want = profile(churn2020_copies[kind], "churn").to_dict(), churn2020_profile.to_dict()
    assert got["features"] == want["features"]
    assert got["thresholds"] == want["thresholds"]
    assert got["associations"] == pytest.approx(want["associations"], rel=1e-9)
    assert [x["columns"] for x in got["crosstabs"]] == [x["columns"] for x in want["crosstabs"]]

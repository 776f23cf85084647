"""Rule segments, RFM tiers and k-means clusters against pandas, numpy and scikit-learn references."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.diagnosis.export import export_columns
from experiments.diagnosis.profiling import open_diagnosis_source
from experiments.diagnosis.segments import (
    RFM_TIERS,
    describe_cluster,
    fit_kmeans,
    kmeans_segments,
    load_rules,
    parse_rules,
    rfm_segments,
    rule_segments,
)

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "designs" / "segments" / "churn2020.yaml"


def _columns(frame: pd.DataFrame, **kw) -> pd.DataFrame:
    """The export's added columns for ``frame``, computed by DuckDB (the same SQL as --export)."""
    src = open_diagnosis_source(frame)
    cols = export_columns(src, **kw)
    sql = ", ".join(f'{expr} AS "{name}"' for name, expr in cols.items())
    return src.con.execute(f"SELECT {sql} FROM {src.relation}").df()


def test_rule_segments_first_match_equals_pandas(churn2020):
    """The example rule file on the 2020 data: sizes and churn of each segment equal pandas' first-match masks."""
    rows = pd.read_csv(churn2020)
    masks = [
        ("many_service_calls", rows["number_customer_service_calls"] >= 4),
        ("international_plan", (rows["international_plan"] == "yes")
         & ((rows["total_intl_minutes"] > 13) | (rows["total_intl_calls"] <= 2))),
        ("heavy_day_users", rows["total_day_minutes"] > 245),
        ("voice_mail_users", rows["voice_mail_plan"] == "yes"),
    ]
    taken = pd.Series(False, index=rows.index)
    want = {}
    for name, m in masks:
        mine = m & ~taken
        want[name] = (int(mine.sum()), int((mine & (rows["churn"] == "yes")).sum()))
        taken |= m
    want["everyone_else"] = (int((~taken).sum()), int((~taken & (rows["churn"] == "yes")).sum()))
    res = rule_segments(churn2020, RULES, "churn")
    assert {s.name: (s.churn.n, s.churn.churned) for s in res.segments} == want
    assert [s.risk for s in res.segments][:2] == ["high", "high"]
    assert sum(s.share for s in res.segments) == pytest.approx(1.0)
    assert res.summary()["n"].sum() == 4250


@pytest.mark.parametrize(("when", "expected"), [
    ({"column": "x", "op": "between", "value": [2, 4]}, [False, False, True, True, True, False]),
    ({"column": "x", "op": "!=", "value": 3}, [False, True, True, False, True, True]),
    ({"column": "plan", "op": "in", "value": ["a", "c"]}, [True, False, True, False, False, True]),
    ({"column": "plan", "op": "not_in", "value": ["a"]}, [False, True, True, True, False, False]),
    ({"column": "plan", "op": "is_null"}, [False, False, False, False, True, False]),
    ({"column": "charges", "op": "is_null"}, [False, True, False, False, False, False]),
    ({"column": "charges", "op": ">", "value": 15}, [False, False, True, True, False, True]),
    ({"any": [{"column": "x", "op": "<", "value": 1}, {"column": "plan", "op": "==", "value": "b"}]},
     [False, True, False, True, False, False]),
])
def test_operators(when, expected):
    """Each operator on a small frame: nulls never satisfy a comparison, blanks in numeric text count as null."""
    frame = pd.DataFrame({"x": [np.nan, 1, 2, 3, 4, 5], "plan": ["a", "b", "c", "b", None, "a"],
                          "charges": ["10", " ", "20.5", "30", "12", "99"], "churn": ["no"] * 5 + ["yes"]})
    rules = parse_rules({"segments": [{"name": "hit", "risk": "high", "action": "act", "when": when}]})
    got = _columns(frame, rules=rules)["segment"].eq("hit").tolist()
    assert got == expected


def test_rule_text_in_two_languages():
    rules = load_rules(RULES)
    assert rules.action_of("many_service_calls", "zh") != rules.action_of("many_service_calls", "en")
    assert rules.action_of("everyone_else", "zh") == "标准客户关怀"


def test_rfm_scores_equal_pandas_qcut():
    """Quintile scores equal ``pd.qcut(x, 5) + 1`` (linear quantiles, right-closed bins); recency reversed; tiers
    follow :data:`RFM_TIERS` in order."""
    rng = np.random.default_rng(5)
    n = 2000
    frame = pd.DataFrame({"days": rng.exponential(30, n), "topups": rng.gamma(2, 3, n), "spend": rng.lognormal(3, 1, n),
                          "churn": rng.choice(["yes", "no"], n)})
    got = _columns(frame, rfm={"recency": "days", "frequency": "topups", "monetary": "spend"})
    r = 5 - pd.qcut(frame["days"], 5, labels=False)
    f = pd.qcut(frame["topups"], 5, labels=False) + 1
    m = pd.qcut(frame["spend"], 5, labels=False) + 1
    assert got["rfm_r"].tolist() == r.tolist()
    assert got["rfm_f"].tolist() == f.tolist()
    assert got["rfm_m"].tolist() == m.tolist()
    tier = np.select([(r >= 4) & (f >= 4) & (m >= 4), f >= 4, (r <= 2) & ((f >= 3) | (m >= 3)), r <= 2, r >= 4],
                     [name for name, _ in RFM_TIERS[:5]], default="need_attention")
    assert got["rfm_tier"].tolist() == tier.tolist()
    res = rfm_segments(frame, "churn", recency="days", frequency="topups", monetary="spend")
    counts = pd.Series(tier).value_counts()
    assert {s.name: s.churn.n for s in res.segments} == counts.to_dict()


@pytest.fixture(scope="module")
def blobs() -> tuple[pd.DataFrame, np.ndarray]:
    """Three well-separated groups in three features on different scales, with different churn (seeded)."""
    rng = np.random.default_rng(42)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 1.0], [0.0, 6.0, -1.0]])
    truth = rng.integers(0, 3, 3000)
    x = centres[truth] + rng.normal(0, 1, (3000, 3))
    frame = pd.DataFrame({"tenure": 24 + 5 * x[:, 0], "calls": 2 + x[:, 1], "arpu": 50 + 10 * x[:, 2],
                          "churn": np.where(rng.random(3000) < np.array([0.1, 0.3, 0.6])[truth], "yes", "no")})
    return frame, truth


def test_kmeans_recovers_planted_groups(blobs):
    """k = 3 by silhouette; the engine's nearest-centroid labels recover the groups (adjusted Rand ≥ 0.95)."""
    from sklearn.metrics import adjusted_rand_score

    frame, truth = blobs
    res = kmeans_segments(frame, "churn", ["tenure", "calls", "arpu"], ks=range(2, 6), rng=1)
    assert res.details["k"] == 3
    assert max(res.details["silhouette"], key=res.details["silhouette"].get) == 3
    src = open_diagnosis_source(frame)
    fit = fit_kmeans(src, ["tenure", "calls", "arpu"], ks=range(3, 4), rng=1)
    labels = _columns(frame, fit=fit)["cluster"]
    assert adjusted_rand_score(truth, labels) >= 0.95
    assert sum(s.churn.n for s in res.segments) == 3000
    assert sorted(s.churn.rate for s in res.segments) == pytest.approx([0.1, 0.3, 0.6], abs=0.05)  # planted churn


def test_engine_assignment_equals_numpy_nearest_centroid(blobs):
    frame, _ = blobs
    src = open_diagnosis_source(frame)
    fit = fit_kmeans(src, ["tenure", "calls", "arpu"], ks=range(3, 4), rng=3)
    z = (frame[["tenure", "calls", "arpu"]].to_numpy() - fit.mean) / fit.scale
    ref = ((z[:, None, :] - fit.centroids[None]) ** 2).sum(axis=2).argmin(axis=1) + 1
    got = _columns(frame, fit=fit)["cluster"].str.removeprefix("cluster_").astype(int)
    assert (got.to_numpy() == ref).all()
    assert fit.scale == pytest.approx(frame[["tenure", "calls", "arpu"]].std(ddof=0).to_numpy(), rel=1e-9)


def test_kmeans_seeded_is_reproducible(blobs):
    frame, _ = blobs
    a = kmeans_segments(frame, "churn", ["tenure", "calls", "arpu"], ks=range(2, 5), rng=7)
    b = kmeans_segments(frame, "churn", ["tenure", "calls", "arpu"], ks=range(2, 5), rng=7)
    assert a.to_dict() == b.to_dict()


def test_describe_cluster():
    assert describe_cluster(np.array([0.1, 2.0, -0.6]), ("a", "b", "c")) == "high b (+2.0 sd), low c (-0.6 sd)"


def test_documented_rule_file_is_valid():
    """The rule-file example in docs/diagnosis.md parses (and evaluates on the 2020 data)."""
    import re

    import yaml

    text = (REPO / "docs" / "diagnosis.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    rule_files = [parse_rules(b, "docs/diagnosis.md") for b in blocks if isinstance(b, dict) and "segments" in b]
    assert rule_files and rule_files[0].segments[0].name == "many_service_calls"

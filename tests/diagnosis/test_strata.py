"""Segments in the next experiment: a stratum of ``assign``, a breakdown of ``analyze``."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from experiment_factories import make_frame
from typer.testing import CliRunner

from experiments.analysis.experiment import analyze
from experiments.cli.app import app
from experiments.diagnosis.segments import parse_rules
from experiments.diagnosis.strata import breakdown_section, segment_breakdown, with_segments
from experiments.spec.models import parse_design

RTOL = 1e-9  # the same statistics on the same sums, float noise only
RULES = {"segments": [
    {"name": "high_spend", "risk": "high", "action": "call",
     "when": {"column": "revenue_pre_90d", "op": ">", "value": 130}},
    {"name": "north", "risk": "medium", "action": "mail", "when": {"column": "region", "op": "==", "value": "north"}},
]}
DESIGN = {
    "name": "seg_test",
    "data": {"source": "outcomes.parquet", "unit": "subscriber_id", "arm": "arm"},
    "arms": {"control": {"weight": 0.34}, "flow_pack": {"weight": 0.33}, "contract_discount": {"weight": 0.33}},
    "control": "control",
    "metrics": [{"name": "churn_90d", "column": "churned_90d", "kind": "binary", "direction": "decrease",
                 "role": "primary"},
                {"name": "revenue_90d", "column": "revenue_90d", "kind": "continuous", "role": "secondary"}],
}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame(6000, seed=16)


def _segment_of(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(["high_spend" if r > 130 else "north" if g == "north" else "other"
                      for r, g in zip(frame["revenue_pre_90d"], frame["region"], strict=True)], index=frame.index)


def test_with_segments_adds_the_column(frame):
    got = with_segments(frame, parse_rules(RULES)).execute()
    assert got["segment"].tolist() == _segment_of(frame).tolist()
    assert "segment" not in frame  # the caller's frame is untouched


def test_breakdown_equals_analyze_on_each_segment(frame):
    """Each segment's comparisons equal ``analyze`` run on that segment's rows alone (an independent path: a pandas
    filter and DuckDB's direct SQL instead of Ibis sums by stratum)."""
    design = parse_design(DESIGN)
    b = segment_breakdown(design, parse_rules(RULES), frame)
    seg = _segment_of(frame)
    assert set(b.segments) == set(seg)
    for name, metrics in b.segments.items():
        ref = analyze(design, frame[seg == name])
        for m in ("churn_90d", "revenue_90d"):
            for got, want in zip(metrics[m].comparisons, ref.metrics[m].comparisons, strict=True):
                assert got.arm == want.arm
                assert (got.diff, got.p_value) == pytest.approx((want.diff, want.p_value), rel=RTOL)
                assert got.ci == pytest.approx(want.ci, rel=RTOL)
    whole = analyze(design, frame)
    assert b.overall.metrics["churn_90d"].comparisons[0].diff == pytest.approx(
        whole.metrics["churn_90d"].comparisons[0].diff, rel=RTOL)
    s = b.summary()
    assert len(s) == 3 * 2 * 2 and (s["p_holm"] >= s["p_value"] - 1e-15).all()
    sec = breakdown_section(b, "zh")
    assert sec.conclusions and "Holm" in sec.conclusions[0]


def test_assign_with_segments_as_stratum(frame, tmp_path):
    """``retention assign --segments``: strata: [segment] balances the arms within every segment."""
    pop = frame[["subscriber_id", "region", "revenue_pre_90d"]]
    pop.to_parquet(tmp_path / "subscribers.parquet")
    design = {**DESIGN, "population": {"source": "subscribers.parquet", "unit": "subscriber_id"},
              "strata": ["segment"]}
    (tmp_path / "design.yaml").write_text(yaml.safe_dump(design, sort_keys=False))
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(RULES, sort_keys=False))
    res = CliRunner().invoke(app, ["assign", str(tmp_path / "design.yaml"), "--out", str(tmp_path / "a.parquet"),
                                   "--segments", str(tmp_path / "rules.yaml"),
                                   "--registry", str(tmp_path / "reg.duckdb")])
    assert res.exit_code == 0, res.output
    out = pd.read_parquet(tmp_path / "a.parquet").merge(pop, on="subscriber_id")
    out["segment"] = _segment_of(out)
    table = pd.crosstab(out["segment"], out["arm"])
    weights = {"control": 0.34, "flow_pack": 0.33, "contract_discount": 0.33}
    for segment, row in table.iterrows():
        for arm, w in weights.items():
            assert abs(row[arm] - w * row.sum()) <= 1, (segment, arm)


def test_analyze_with_segments_cli(frame, tmp_path):
    frame.to_parquet(tmp_path / "outcomes.parquet")
    (tmp_path / "design.yaml").write_text(yaml.safe_dump(DESIGN, sort_keys=False))
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(RULES, sort_keys=False))
    res = CliRunner().invoke(app, ["analyze", str(tmp_path / "design.yaml"), "--out", str(tmp_path / "out"),
                                   "--segments", str(tmp_path / "rules.yaml")])
    assert res.exit_code == 0, res.output
    d = json.loads((tmp_path / "out" / "results.json").read_text())
    assert set(d["segments"]["segments"]) == {"high_spend", "north", "other"}
    assert "high_spend" in res.output


def test_bad_segment_rule_in_analyze(frame, tmp_path):
    frame.to_parquet(tmp_path / "outcomes.parquet")
    (tmp_path / "design.yaml").write_text(yaml.safe_dump(DESIGN, sort_keys=False))
    bad = {"segments": [{"name": "x", "risk": "high", "action": "a",
                         "when": {"column": "plan", "op": "==", "value": 1}}]}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(bad))
    res = CliRunner().invoke(app, ["analyze", str(tmp_path / "design.yaml"), "--out", str(tmp_path / "out"),
                                   "--segments", str(tmp_path / "rules.yaml")])
    assert res.exit_code == 2 and "no column 'plan'" in res.stderr
    assert not (tmp_path / "out" / "results.json").exists()

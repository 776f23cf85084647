"""``retention profile | segment | cockpit`` through the CLI: good runs, and bad input as one line on stderr, exit
code 2, no traceback and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from signals_cli import refusal
from typer.testing import CliRunner

from experiments.cli.app import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "designs" / "segments" / "churn2020.yaml"


def _refusal(args: list[str], out: Path) -> str:
    return refusal(args, out, empty_dir_ok=True)


def test_profile_writes_json_and_html(churn2020, tmp_path):
    res = runner.invoke(app, ["profile", "--data", str(churn2020), "--target", "churn", "--json",
                              str(tmp_path / "p.json"), "--out", str(tmp_path / "rep"), "--lang", "zh"])
    assert res.exit_code == 0, res.output
    d = json.loads((tmp_path / "p.json").read_text())
    assert d["features"]["international_plan"]["yes"]["n"] == 396
    assert d["thresholds"]["number_customer_service_calls"]["between"] == ["3", "4"]
    html = (tmp_path / "rep" / "profile.html").read_text()
    assert "流失诊断" in html and "14.07%" in html
    again = runner.invoke(app, ["profile", "--data", str(churn2020), "--target", "churn", "--json",
                                str(tmp_path / "p.json")])
    assert again.exit_code == 2 and "--force" in again.stderr


def test_numeric_text_with_blanks_is_handled(telco, tmp_path):
    """TotalCharges is text with 11 blanks: the run succeeds and reports them."""
    res = runner.invoke(app, ["profile", "--data", str(telco), "--target", "Churn", "--json", str(tmp_path / "t.json")])
    assert res.exit_code == 0, res.output
    assert "11" in res.output and "TotalCharges" in res.output
    d = json.loads((tmp_path / "t.json").read_text())
    assert d["missing"]["TotalCharges"]["blank"] == 11 and d["features"]["TotalCharges"]["(missing)"]["n"] == 11


@pytest.fixture
def frames(tmp_path) -> dict[str, Path]:
    base = pd.DataFrame({"plan": ["a", "b", "c", "a"] * 25, "calls": list(range(5)) * 20,
                         "state": [f"s{i}" for i in range(100)],
                         "status": ["active", "ported", "closed", "active"] * 25,
                         "churn": ["yes", "no", "no", "no"] * 25})
    paths = {}
    paths["three"] = tmp_path / "three.csv"
    base.to_csv(paths["three"], index=False)
    missing = base.copy()
    missing.loc[[3, 7], "churn"] = None
    paths["missing"] = tmp_path / "missing.csv"
    missing.to_csv(paths["missing"], index=False)
    return paths


def test_target_with_three_values_needs_positive(frames, tmp_path):
    out = tmp_path / "o.json"
    line = _refusal(["profile", "--data", str(frames["three"]), "--target", "status", "--json", str(out)], out)
    assert all(w in line for w in ("--positive", "'status'", "3 distinct values")), line
    res = runner.invoke(app, ["profile", "--data", str(frames["three"]), "--target", "status", "--positive", "ported",
                              "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["overall"]["rate"] == 0.25


def test_target_with_missing_values(frames, tmp_path):
    out = tmp_path / "o.json"
    line = _refusal(["profile", "--data", str(frames["missing"]), "--target", "churn", "--json", str(out)], out)
    assert all(w in line for w in ("missing", "'churn'", "2 missing")), line


@pytest.mark.parametrize(("args", "match"), [
    (["--target", "churned"], "no column 'churned'"),
    (["--target", "churn", "--positive", "maybe"], "--positive 'maybe' is not a value"),
    (["--target", "churn", "--revenue", "arpu"], "no column 'arpu'"),
    (["--target", "churn", "--lang", "fr"], "'en', 'zh'"),
])
def test_profile_bad_flags(frames, tmp_path, args, match):
    out = tmp_path / "o.json"
    assert match in _refusal(["profile", "--data", str(frames["three"]), *args, "--json", str(out)], out)


def _rules(tmp_path: Path, when: dict) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"segments": [{"name": "s", "risk": "high", "action": "call", "when": when}]}))
    return path


@pytest.mark.parametrize(("when", "match"), [
    ({"column": "number_of_calls", "op": ">=", "value": 4}, "no column 'number_of_calls'"),
    ({"column": "number_customer_service_calls", "op": "=>", "value": 4}, "'=>' is not allowed"),
    ({"all": [{"column": "international_plan", "op": "==", "value": "yes"},
              {"column": "total_day_minutes", "op": "around", "value": 3}]}, "when.all.1.op"),
    ({"column": "number_customer_service_calls", "op": ">=", "value": "many"}, "not a number"),
    ({"column": "international_plan", "op": "in", "value": []}, "non-empty list"),
])
def test_bad_rules(churn2020, tmp_path, when, match):
    out = tmp_path / "seg.parquet"
    rules = _rules(tmp_path, when)
    line = _refusal(["segment", "--data", str(churn2020), "--target", "churn", "--rules", str(rules), "--export",
                     str(out)], out)
    assert match in line


def test_filter_column_with_too_many_levels(churn2020, tmp_path):
    """``state`` has 51 levels; the cube allows 30 by default: the message names the cap."""
    out = tmp_path / "c.html"
    line = _refusal(["cockpit", "--data", str(churn2020), "--target", "churn", "--filter", "state", "--out", str(out)],
                    out)
    assert all(w in line for w in ("max_levels=30", "'state'", "51 levels")), line


def test_cube_cell_cap(churn2020, tmp_path):
    out = tmp_path / "c.html"
    line = _refusal(["cockpit", "--data", str(churn2020), "--target", "churn", "--filter", "state",
                     "--max-levels", "60", "--max-cells", "100", "--out", str(out)], out)
    assert "more than max_cells=100" in line


def test_cockpit_and_export(churn2020, tmp_path):
    out, export = tmp_path / "c.html", tmp_path / "rows.csv"
    res = runner.invoke(app, ["cockpit", "--data", str(churn2020), "--target", "churn", "--rules", str(RULES),
                              "--out", str(out), "--export", str(export)])
    assert res.exit_code == 0, res.output
    assert "<html" in out.read_text()
    rows = pd.read_csv(export)
    assert len(rows) == 4250 and "segment" in rows
    calls = rows["number_customer_service_calls"] >= 4
    assert (rows.loc[calls, "segment"] == "many_service_calls").all()
    assert rows.loc[~calls, "segment"].ne("many_service_calls").all()


def test_bad_export_suffix(churn2020, tmp_path):
    out = tmp_path / "rows.xlsx"
    line = _refusal(["segment", "--data", str(churn2020), "--target", "churn", "--rules", str(RULES), "--export",
                     str(out)], out)
    assert "use .parquet or .csv" in line


def test_segment_needs_a_method(churn2020, tmp_path):
    out = tmp_path / "s.json"
    line = _refusal(["segment", "--data", str(churn2020), "--target", "churn", "--json", str(out)], out)
    assert "nothing to segment" in line


@pytest.mark.parametrize(("values", "positive"), [([True, False], "true"), ([1, 0], "1"), ([1.0, 0.0], "1.0"),
                                                  (["Churned", "Stayed"], "Churned")])
def test_positive_value_found_for_two_valued_targets(tmp_path, values, positive):
    frame = pd.DataFrame({"plan": ["a", "b"] * 20, "y": values * 20})
    frame.to_parquet(tmp_path / "d.parquet")
    res = runner.invoke(app, ["profile", "--data", str(tmp_path / "d.parquet"), "--target", "y", "--json",
                              str(tmp_path / "p.json")])
    assert res.exit_code == 0, res.output
    d = json.loads((tmp_path / "p.json").read_text())
    assert d["positive"] == positive and d["overall"]["rate"] == 0.5

"""`retention design`, `retention assign`, `retention monitor` end to end: outputs, refusal to overwrite, and bad
input as one stderr line with exit code 2 and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from experiments.cli import app

runner = CliRunner()


def _population(n: int = 2000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "subscriber_id": np.arange(10_000, 10_000 + n, dtype=np.int64),
        "region": rng.choice(["R01", "R02", "R03"], n),
        "plan": rng.choice(["prepaid", "postpaid_standard", "postpaid_premium"], n),
        "arpu": rng.gamma(2.0, 20.0, n),
        "tenure_months": rng.integers(0, 60, n),
    })


def _design(**extra) -> dict:
    raw = {
        "name": "cli_assign",
        "data": {"source": "outcomes.parquet", "unit": "subscriber_id", "assigned_at": "assigned_at"},
        "arms": {"control": {"weight": 0.34}, "flow_pack": {"weight": 0.33}, "contract_discount": {"weight": 0.33}},
        "control": "control",
        "metrics": [{"name": "churn_90d", "column": "churned_90d", "kind": "binary", "direction": "decrease"}],
        "analysis": {"alpha": 0.05, "correction": "holm"},
        "population": {"source": "subscribers.parquet", "unit": "subscriber_id",
                       "eligibility": [{"column": "plan", "op": "in",
                                        "value": ["postpaid_standard", "postpaid_premium"]}],
                       "covariates": ["arpu", "tenure_months"]},
        "strata": ["region", "plan"],
        "power": {"baseline": 0.16, "mde": 0.03, "daily_inflow": 300},
    }
    raw.update(extra)
    return raw


def _setup(tmp_path: Path, design: dict | None = None, pop: pd.DataFrame | None = None) -> Path:
    (_population() if pop is None else pop).to_parquet(tmp_path / "subscribers.parquet")
    path = tmp_path / "design.yaml"
    path.write_text(yaml.safe_dump(design or _design(), sort_keys=False))
    return path


def assert_one_line_exit_2(res, match: str) -> str:
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.output
    assert match in lines[0], lines[0]
    return lines[0]


# ----------------------------------------------------------------------------------------------- design


@pytest.mark.parametrize("method,n", [("evan_miller", 1031), ("pooled", 1094), ("cohen_h", 1092)])
def test_design_ad_hoc_json(tmp_path, method, n):
    """20% → 25%, α 0.05, power 0.8, two arms (reference values and rounding: tests/experiments/test_power.py)."""
    out = tmp_path / "size.json"
    res = runner.invoke(app, ["design", "--baseline", "0.20", "--mde", "0.05", "--alpha", "0.05", "--power", "0.80",
                              "--arms", "2", "--method", method, "--json", str(out)])
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    assert d["n_per_arm"] == n and d["total"] == 2 * n and d["method"] == method
    assert d["allocation"] == {"control": 0.5, "treatment_1": 0.5}
    assert "rounded up" in d["rounding"] and "rounding:" in res.stdout


def test_design_file_counts_population_and_runtime(tmp_path):
    path = _setup(tmp_path)
    out = tmp_path / "size.json"
    res = runner.invoke(app, ["design", str(path), "--json", str(out)])
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    pop = _population()
    assert d["population"] == int(pop.plan.isin(["postpaid_standard", "postpaid_premium"]).sum())
    assert d["days"] == int(np.ceil(d["total"] / 300))
    assert d["correction"] == "holm" and d["alpha_per_comparison"] == pytest.approx(0.025)
    assert d["allocation"] == {"control": 0.34, "flow_pack": 0.33, "contract_discount": 0.33}
    assert "NOT enough" in res.stdout  # 1,3xx eligible < 8,288 needed
    again = runner.invoke(app, ["design", str(path), "--json", str(out)])
    assert_one_line_exit_2(again, "already exists")


def test_design_flag_overrides_are_restated(tmp_path):
    path = _setup(tmp_path)
    out = tmp_path / "size.json"
    res = runner.invoke(app, ["design", str(path), "--mde", "0.05", "--method", "pooled", "--json", str(out)])
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    assert d["mde"] == 0.05 and d["method"] == "pooled" and "pooled" in res.stdout


def test_design_power_curve_is_self_contained(tmp_path):
    out = tmp_path / "curve.html"
    res = runner.invoke(app, ["design", "--baseline", "0.2", "--mde", "0.05", "--arms", "3", "--plot", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert "Power curve" in html and 'src="https://cdn.plot.ly' not in html
    assert len(html) > 1_000_000  # plotly.js is embedded


def test_design_bad_flags(tmp_path):
    assert_one_line_exit_2(runner.invoke(app, ["design", "--baseline", "0.2"]), "--mde")
    assert_one_line_exit_2(runner.invoke(app, ["design", "--baseline", "0.2", "--mde", "0.05", "--method", "exact"]),
                     "power.method")


# ----------------------------------------------------------------------------------------------- assign


def test_assign_writes_list_and_prints_balance(tmp_path):
    path = _setup(tmp_path)
    out = tmp_path / "assignment.csv"
    res = runner.invoke(app, ["assign", str(path), "--population", str(tmp_path / "subscribers.parquet"),
                              "--out", str(out), "--assigned-at", "2026-01-05", "--json", str(tmp_path / "a.json")])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert list(df.columns) == ["subscriber_id", "arm", "stratum", "assigned_at", "design_hash", "salt"]
    assert "SRM p-value" in res.stdout and "standardized mean difference" in res.stdout
    summary = json.loads((tmp_path / "a.json").read_text())
    assert summary["units"] == len(df) and {r["covariate"] for r in summary["balance"]} == {"arpu", "tenure_months"}
    assert (tmp_path / "assignment_registry.duckdb").exists()
    before = out.read_bytes()
    again = runner.invoke(app, ["assign", str(path), "--out", str(out), "--salt", "other"])
    assert_one_line_exit_2(again, "already exists")
    assert out.read_bytes() == before
    forced = runner.invoke(app, ["assign", str(path), "--out", str(out), "--salt", "other", "--force",
                                 "--assigned-at", "2026-01-05"])
    assert forced.exit_code == 0 and out.read_bytes() != before


def _assert_nothing_written(tmp_path: Path) -> None:
    assert sorted(p.name for p in tmp_path.iterdir()) == ["design.yaml", "subscribers.parquet"]


@pytest.mark.parametrize("case,match", [
    ("no_unit", "no column 'subscriber_id' (named by population.unit)"),
    ("duplicates", "2 duplicated ids"),
    ("strata_nulls", "strata column 'region' has missing values in 5 of"),
    ("weights", "arm weights sum to 0.9"),
    ("eligibility_column", "eligibility[0] names column 'plan_type'"),
])
def test_assign_bad_input(tmp_path, case, match):
    pop = _population()
    design = _design()
    if case == "no_unit":
        pop = pop.rename(columns={"subscriber_id": "msisdn"})
    elif case == "duplicates":
        pop = pd.concat([pop, pop[pop.plan != "prepaid"].iloc[:2]], ignore_index=True)
    elif case == "strata_nulls":
        pop.loc[pop.plan != "prepaid", "region"] = pop.loc[pop.plan != "prepaid", "region"].mask(
            np.arange((pop.plan != "prepaid").sum()) < 5)
    elif case == "weights":
        design["arms"]["control"]["weight"] = 0.24
    elif case == "eligibility_column":
        design["population"]["eligibility"][0]["column"] = "plan_type"
    path = _setup(tmp_path, design, pop)
    res = runner.invoke(app, ["assign", str(path), "--out", str(tmp_path / "assignment.parquet")])
    line = assert_one_line_exit_2(res, match)
    if case == "strata_nulls":
        assert "'unknown'" in line  # suggests a fill value
    _assert_nothing_written(tmp_path)


# ----------------------------------------------------------------------------------------------- monitor


def test_monitor_cli(tmp_path):
    path = _setup(tmp_path)
    rng = np.random.default_rng(8)
    n = 6000
    arm = rng.choice(["control", "flow_pack", "contract_discount"], n, p=[0.34, 0.33, 0.33])
    data = pd.DataFrame({"subscriber_id": np.arange(n), "arm": arm,
                         "assigned_at": pd.Timestamp("2026-02-01") + pd.to_timedelta(rng.integers(0, 14, n), "D"),
                         "churned_90d": (rng.random(n) < np.where(arm == "control", 0.16, 0.16)).astype(int)})
    data.to_parquet(tmp_path / "outcomes.parquet")
    out = tmp_path / "monitor.json"
    res = runner.invoke(app, ["monitor", str(path), "--data", str(tmp_path / "outcomes.parquet"), "--json", str(out)])
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    assert d["decision"] in ("continue", "planned_size_reached") and len(d["sequences"]) == 2
    assert d["tuning"] == d["planned_total"]
    assert len(d["path"]) == 2 * 14 and "always-valid" in res.stdout
    bad = runner.invoke(app, ["monitor", str(path), "--data", str(tmp_path / "nope.parquet")])
    assert bad.exit_code == 2

"""Bad input through the CLI: one line on stderr, exit code 2, no traceback, nothing written to --out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from experiment_factories import make_frame
from typer.testing import CliRunner

from experiments.cli import app

runner = CliRunner()

BASE_DESIGN = {
    "name": "cli_test",
    "data": {"source": "experiment.parquet", "unit": "subscriber_id", "arm": "arm", "assigned_at": "assigned_at",
             "as_of": "2026-10-20"},
    "arms": {"control": {"weight": 0.34}, "flow_pack": {"weight": 0.33}, "contract_discount": {"weight": 0.33}},
    "control": "control",
    "metrics": [{"name": "churn_90d", "column": "churned_90d", "kind": "binary", "direction": "decrease",
                 "role": "primary", "maturity_days": 90},
                {"name": "revenue_90d", "column": "revenue_90d", "kind": "continuous", "role": "guardrail",
                 "non_inferiority": {"margin": -0.02, "relative": True}, "covariate": "revenue_pre_90d"}],
}


def _setup(tmp_path: Path, design: dict | str | None = None, frame=None) -> Path:
    frame = make_frame(3000) if frame is None else frame
    frame.to_parquet(tmp_path / "experiment.parquet")
    text = design if isinstance(design, str) else yaml.safe_dump(design or BASE_DESIGN, sort_keys=False)
    (tmp_path / "design.yaml").write_text(text)
    return tmp_path / "design.yaml"


def assert_bad_input(tmp_path: Path, design_path: Path, match: str, *extra: str) -> str:
    out = tmp_path / "out"
    res = runner.invoke(app, ["analyze", str(design_path), "--out", str(out), *extra])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.output
    assert match in lines[0], lines[0]
    assert not out.exists() or not any(out.iterdir())
    return lines[0]


def test_good_run_writes_results(tmp_path):
    design = _setup(tmp_path)
    res = runner.invoke(app, ["analyze", str(design), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    import json

    out = json.loads((tmp_path / "out" / "results.json").read_text())
    assert set(out) >= {"design", "srm", "metrics"}
    assert set(out["srm"]) >= {"statistic", "p_value", "ok"}
    m = out["metrics"]["churn_90d"]
    assert set(m["arms"]["control"]) >= {"n", "mean", "ci"}
    assert set(m["omnibus"]) >= {"test", "statistic", "dof", "p_value"}
    assert set(m["comparisons"][0]) >= {"arm", "control", "diff", "ci", "p_value", "p_adjusted", "rel_lift", "rel_ci"}
    # refuses to overwrite without --force, then overwrites with it
    again = runner.invoke(app, ["analyze", str(design), "--out", str(tmp_path / "out")])
    assert again.exit_code == 2 and "--force" in again.stderr
    forced = runner.invoke(app, ["analyze", str(design), "--out", str(tmp_path / "out"), "--force"])
    assert forced.exit_code == 0


def test_missing_design_file(tmp_path):
    assert_bad_input(tmp_path, tmp_path / "nope.yaml", "does not exist")


def test_missing_data_file(tmp_path):
    design = _setup(tmp_path)
    (tmp_path / "experiment.parquet").unlink()
    assert_bad_input(tmp_path, design, "does not exist")


def test_misspelled_column_lists_close_matches(tmp_path):
    d = yaml.safe_load(yaml.safe_dump(BASE_DESIGN))
    d["metrics"][0]["column"] = "churned_90"
    line = assert_bad_input(tmp_path, _setup(tmp_path, d), "no column 'churned_90'")
    assert "did you mean 'churned_90d'" in line


def test_arm_in_data_missing_from_design(tmp_path):
    frame = make_frame(3000)
    frame.loc[frame.index[:5], "arm"] = "mystery_offer"
    assert_bad_input(tmp_path, _setup(tmp_path, frame=frame), "['mystery_offer'] that the design lacks")


def test_arm_in_design_missing_from_data(tmp_path):
    d = yaml.safe_load(yaml.safe_dump(BASE_DESIGN))
    d["arms"] = {"control": {"weight": 0.25}, "flow_pack": {"weight": 0.25}, "contract_discount": {"weight": 0.25},
                 "loyalty_points": {"weight": 0.25}}
    assert_bad_input(tmp_path, _setup(tmp_path, d), "['loyalty_points'] of the design have no units")


def test_non_binary_values(tmp_path):
    frame = make_frame(3000)
    frame.loc[frame.index[:3], "churned_90d"] = 2
    assert_bad_input(tmp_path, _setup(tmp_path, frame=frame), "other than 0/1")


def test_nan_values(tmp_path):
    frame = make_frame(3000)
    frame["revenue_90d"] = frame["revenue_90d"].astype(float)
    frame.loc[frame.index[:4], "revenue_90d"] = np.nan
    assert_bad_input(tmp_path, _setup(tmp_path, frame=frame), "missing value(s)")


def test_duplicate_unit_ids(tmp_path):
    frame = make_frame(3000)
    frame.loc[frame.index[1], "subscriber_id"] = frame.loc[frame.index[0], "subscriber_id"]
    assert_bad_input(tmp_path, _setup(tmp_path, frame=frame), "1 duplicate id(s)")


def test_weights_not_summing_to_one(tmp_path):
    d = yaml.safe_load(yaml.safe_dump(BASE_DESIGN))
    d["arms"]["control"]["weight"] = 0.5
    assert_bad_input(tmp_path, _setup(tmp_path, d), "arm weights sum to 1.16")


def test_empty_arm(tmp_path):
    frame = make_frame(3000)
    frame = frame[frame["arm"] != "flow_pack"]
    assert_bad_input(tmp_path, _setup(tmp_path, frame=frame), "['flow_pack'] of the design have no units")


def test_unknown_yaml_key(tmp_path):
    d = yaml.safe_load(yaml.safe_dump(BASE_DESIGN))
    d["analysis"] = {"alpha": 0.05, "corection": "holm"}
    assert_bad_input(tmp_path, _setup(tmp_path, d), "analysis.corection: unknown key")


def test_yaml_constructing_python_objects_is_refused(tmp_path):
    evil = "name: !!python/object/apply:os.system ['echo pwned > pwned.txt']\n"
    assert_bad_input(tmp_path, _setup(tmp_path, evil), "cannot construct Python objects")
    assert not (tmp_path / "pwned.txt").exists() and not Path("pwned.txt").exists()


def test_bad_literal_lists_allowed_values(tmp_path):
    d = yaml.safe_load(yaml.safe_dump(BASE_DESIGN))
    d["analysis"] = {"correction": "fdr"}
    assert_bad_input(tmp_path, _setup(tmp_path, d), "'holm', 'bonferroni', 'bh' or 'none'")


def test_string_outcome_column(tmp_path):
    frame = make_frame(3000)
    frame["churned_90d"] = np.where(frame["churned_90d"] == 1, "yes", "no")
    assert_bad_input(tmp_path, _setup(tmp_path, frame=frame), "holds string values")


def test_real_process_exit_code_and_single_line(tmp_path):
    """The installed console script, as a user runs it: exit 2, one stderr line, no traceback."""
    design = _setup(tmp_path)
    (tmp_path / "experiment.parquet").unlink()
    proc = subprocess.run([sys.executable, "-m", "experiments", "analyze", str(design), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv,names", [
    (["did", "--data", "x.csv"], "--json"),                      # a missing option
    (["design", "--baseline", "abc"], "--baseline"),             # a value of the wrong type
    (["analyze", "--no-such-flag"], "--no-such-flag"),          # an unknown option
    (["no-such-command"], "no-such-command"),                    # an unknown command
])
def test_usage_errors_are_one_line_with_exit_code_2(tmp_path, argv, names):
    """click's usage errors come out like every other error: one line naming the option, the help to read, exit 2."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}  # this checkout's code
    proc = subprocess.run([sys.executable, "-m", "experiments", *argv], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and names in lines[0] and "--help" in lines[0]
    assert "Traceback" not in proc.stderr and list(tmp_path.iterdir()) == []

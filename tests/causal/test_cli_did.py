"""`retention did`: design and ad-hoc forms, the JSON contract, and bad input as one stderr line with exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from causal.simulate import simulate_panel
from experiments.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
ADHOC = ["--unit", "region", "--time", "month", "--outcome", "churn_rate", "--treat", "promo",
         "--weight", "subscribers", "--n-boot", "999", "--n-perm", "99"]


@pytest.fixture()
def panel_path(tmp_path: Path) -> Path:
    panel, _ = simulate_panel(24, 12, starts=(5, 8), effect=0.004, rng=4)
    path = tmp_path / "demo" / "panel.parquet"
    path.parent.mkdir()
    panel.to_parquet(path)
    return path


def test_adhoc_json_contract(panel_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "did.json"
    res = runner.invoke(app, ["did", "--data", str(panel_path), *ADHOC, "--staggered", "--json", str(out)])
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    for key in ("att", "se", "ci", "p_value", "n_obs", "n_clusters", "se_type", "pretrend_p", "event_study",
                "refutations"):
        assert key in d, key
    assert d["n_clusters"] == 24 and d["n_obs"] == 24 * 12
    assert d["se_type"] == "cs-influence" and d["staggered"]["simple"]["att"] == d["att"]
    assert d["ci"][0] < d["att"] < d["ci"][1]
    assert {"rel_time", "coef", "ci"} <= set(d["event_study"][0])
    assert {"placebo_start", "placebo_units", "leave_one_unit_out", "pretrend", "randomization"} <= set(
        d["refutations"])
    assert "wild" in d["se_reason"]  # 24 clusters < 50: the TWFE inference is the wild bootstrap and says why


def test_design_form(panel_path: Path, tmp_path: Path) -> None:
    designs = tmp_path / "designs"
    designs.mkdir()
    shutil.copy(REPO / "designs" / "competitor_promo_did.yaml", designs / "competitor_promo_did.yaml")
    out = tmp_path / "d.json"
    res = runner.invoke(app, ["did", str(designs / "competitor_promo_did.yaml"), "--json", str(out), "--n-perm",
                              "0", "--se", "cluster"])
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    assert d["business"]["value_source"] == "constant" and np.isfinite(d["business"]["value_lost"])
    assert d["twfe"][0]["term"] == "promo"


def assert_bad(args: list[str], out: Path, match: str) -> None:
    res = runner.invoke(app, ["did", *args, "--json", str(out)])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert match in lines[0], lines[0]
    assert "Traceback" not in res.output


def test_bad_column_exits_2_without_output(panel_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    args = ["--data", str(panel_path), *ADHOC]
    args[args.index("churn_rate")] = "churn"
    assert_bad(args, out, "outcome column 'churn' is not in the data")
    assert not out.exists()


def test_single_cluster_exits_2(panel_path: Path, tmp_path: Path) -> None:
    import pandas as pd

    p = pd.read_parquet(panel_path).assign(country="CN")
    path = tmp_path / "one.parquet"
    p.to_parquet(path)
    assert_bad(["--data", str(path), *ADHOC, "--cluster", "country"], tmp_path / "y.json", "only one cluster")


def test_missing_flags_and_bad_choice(panel_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "z.json"
    assert_bad(["--data", str(panel_path), "--unit", "region"], out, "missing --time, --outcome, --treat")
    assert_bad(["--data", str(panel_path), *ADHOC, "--se", "robust"], out, "--se: 'robust' is not allowed")


def test_wrong_design_kind(tmp_path: Path) -> None:
    design = tmp_path / "exp.yaml"
    shutil.copy(REPO / "designs" / "flowpack_vs_discount.yaml", design)
    assert_bad([str(design)], tmp_path / "k.json", "needs a design with kind: did")


def test_refuses_to_overwrite(panel_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "did.json"
    out.write_text("keep me")
    assert_bad(["--data", str(panel_path), *ADHOC], out, "--force")
    assert out.read_text() == "keep me"
    res = runner.invoke(app, ["did", "--data", str(panel_path), *ADHOC, "--json", str(out), "--force"])
    assert res.exit_code == 0 and json.loads(out.read_text())["n_clusters"] == 24

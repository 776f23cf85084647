"""``retention predict`` and ``retention score`` through the CLI: a good run writes predict.json, the model, its
schema and report.html, and score writes one row per subscriber; bad input is one stderr line, exit 2, nothing
written."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from signals_cli import refusal
from typer.testing import CliRunner

from experiments.cli.app import app

runner = CliRunner()


def _refusal(args: list[str], out: Path) -> str:
    return refusal(args, out, empty_dir_ok=True)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """1,200 subscribers with a known logistic churn: two numbers, a plan and an id."""
    gen = np.random.default_rng(11)
    n = 1200
    calls = gen.poisson(1.5, n)
    charge = gen.normal(60, 15, n).round(2)
    plan = gen.choice(["monthly", "yearly"], n)
    logit = -2 + 0.8 * calls + 0.02 * (charge - 60) - 1.2 * (plan == "yearly")
    churn = np.where(gen.random(n) < 1 / (1 + np.exp(-logit)), "Yes", "No")
    path = tmp_path_factory.mktemp("data") / "subs.csv"
    pd.DataFrame({"id": [f"c{i:05d}" for i in range(n)], "calls": calls, "charge": charge, "plan": plan,
                  "tenure": gen.integers(1, 60, n), "churn": churn}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def run(small, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pred") / "out"
    res = runner.invoke(app, ["predict", "--data", str(small), "--target", "churn", "--models", "logit,lgbm",
                              "--folds", "3", "--k", "10%", "--risk-duration", "tenure", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Recall@10%" in res.output and "predictive, not causal" in res.output
    return out


def test_predict_writes_json_model_and_report(run):
    assert sorted(p.name for p in run.iterdir()) == ["model.joblib", "model.joblib.schema.json", "predict.json",
                                                     "report.html"]
    d = json.loads((run / "predict.json").read_text())
    assert d["n"] == 1200 and d["k"]["label"] == "10%" and d["folds"] == 3
    assert {m["name"] for m in d["models"]} == {"logit", "lgbm"}
    assert d["features"]["dropped"]["id"].startswith("id-like")
    assert d["drivers"]["label"] == "predictive, not causal"
    assert d["drivers"]["table"][0]["feature"] == "calls"  # the strongest simulated effect
    assert d["saved_model"]["model"] == d["best"]
    assert [r["method"] for r in d["risk_comparison"]] == ["survival risk (Cox, tenure)", f"classifier ({d['best']})"]
    logit = next(m for m in d["models"] if m["name"] == "logit")
    assert logit["metrics"]["roc_auc"]["mean"] > 0.7
    html = (run / "report.html").read_text()
    assert "Early warning" in html and "predictive, not causal" in html and "Cumulative gains" in html


def test_score_writes_one_row_per_subscriber(run, small, tmp_path):
    out = tmp_path / "scores.parquet"
    res = runner.invoke(app, ["score", "--model", str(run / "model.joblib"), "--data", str(small), "--id", "id",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    s = pd.read_parquet(out)
    assert len(s) == 1200 and s["id"].iloc[0] == "c00000"
    assert {"probability", "rank", "tier", "driver_1", "driver_2", "driver_3", "action"} <= set(s.columns)
    assert sorted(s["rank"]) == list(range(1, 1201))
    assert s.loc[s["rank"].idxmin(), "probability"] == s["probability"].max()
    assert set(s["tier"]) <= {"low", "medium", "high"} and (s["tier"] == "high").any()
    assert set(s["driver_1"]) <= {"calls", "charge", "plan", "tenure"}
    again = runner.invoke(app, ["score", "--model", str(run / "model.joblib"), "--data", str(small), "--out", str(out)])
    assert again.exit_code == 2 and "--force" in again.stderr


def _scored_with_and_without(run, small, tmp_path, extra: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``retention score`` with drivers for everyone and with ``extra``; both tables."""
    every, some = tmp_path / "all.parquet", tmp_path / "some.parquet"
    for out, more in ((every, []), (some, extra)):
        res = runner.invoke(app, ["score", "--model", str(run / "model.joblib"), "--data", str(small), "--id", "id",
                                  "--out", str(out), *more])
        assert res.exit_code == 0, res.output
    return pd.read_parquet(every), pd.read_parquet(some)


@pytest.mark.parametrize("extra", [["--driver-tiers", "High"], ["--drivers-top", "5%"]], ids=["high tier", "top 5%"])
def test_score_drivers_for_some_subscribers_only(run, small, tmp_path, extra):
    """The same probabilities, ranks and (for the chosen rows) drivers as drivers for all; the rest null.

    ``--driver-tiers high``: the high tier; ``--drivers-top 5%``: the 60 highest-ranked of 1,200.
    """
    a, got = _scored_with_and_without(run, small, tmp_path, extra)
    chosen = got["tier"] == "high" if extra[0] == "--driver-tiers" else got["rank"] <= 60
    assert chosen.any() and (~chosen).any()
    if extra[0] == "--drivers-top":
        assert chosen.sum() == 60
    pd.testing.assert_frame_equal(got[chosen], a[chosen])
    np.testing.assert_array_equal(got["probability"], a["probability"])
    assert got.loc[~chosen, ["driver_1", "driver_2", "driver_3", "driver_1_shap"]].isna().all().all()


@pytest.mark.parametrize(("extra", "words"), [
    (["--drivers-top", "1201"], ["--drivers-top", "1,201", "1,200 rows"]),
    (["--drivers-top", "ten"], ["--drivers-top", "'ten'", "10%"]),
    (["--drivers-top", "0%"], ["--drivers-top", "share"]),
    (["--drivers-top", "5%", "--driver-tiers", "high"], ["--drivers-top", "--driver-tiers", "one of them"]),
])
def test_score_refuses_a_bad_contact_list(run, small, tmp_path, extra, words):
    out = tmp_path / "s.parquet"
    line = _refusal(["score", "--model", str(run / "model.joblib"), "--data", str(small), "--out", str(out), *extra],
                    out)
    for w in words:
        assert w in line, (w, line)


@pytest.mark.parametrize("tiers", ["top", " , ", "high,best"])
def test_score_refuses_unknown_driver_tiers(run, small, tmp_path, tiers):
    out = tmp_path / "s.parquet"
    line = _refusal(["score", "--model", str(run / "model.joblib"), "--data", str(small), "--out", str(out),
                     "--driver-tiers", tiers], out)
    assert "--driver-tiers" in line
    assert "high" in line


def test_score_with_another_feature_set_names_the_columns(run, small, tmp_path):
    other = tmp_path / "other.csv"
    pd.read_csv(small).drop(columns=["calls"]).rename(columns={"charge": "bill"}).to_csv(other, index=False)
    out = tmp_path / "s.parquet"
    line = _refusal(["score", "--model", str(run / "model.joblib"), "--data", str(other), "--out", str(out)], out)
    assert all(w in line for w in ("missing", "calls", "charge", "bill")), line


def test_score_refuses_a_file_that_is_not_a_model(small, tmp_path):
    out = tmp_path / "s.parquet"
    line = _refusal(["score", "--model", str(small), "--data", str(small), "--out", str(out)], out)
    assert "not a model file" in line


@pytest.fixture
def bad_frames(small, tmp_path) -> dict[str, Path]:
    base = pd.read_csv(small)
    one = tmp_path / "one.csv"
    base.assign(churn="No").to_csv(one, index=False)
    miss = tmp_path / "miss.csv"
    base.assign(churn=base["churn"].where(base.index % 50 != 0)).to_csv(miss, index=False)
    return {"one": one, "missing": miss}


@pytest.mark.parametrize("case, match", [
    ("one", "single value"),
    ("missing", "24 missing"),
    ("k", "--k"),
    ("model", "unknown model"),
    ("positive", "--positive"),
])
def test_predict_bad_input(case, match, bad_frames, small, tmp_path):
    out = tmp_path / "out"
    data = {"one": bad_frames["one"], "missing": bad_frames["missing"]}.get(case, small)
    args = ["predict", "--data", str(data), "--target", "churn", "--models", "logit", "--folds", "3",
            "--out", str(out)]
    if case == "k":
        args += ["--k", "5000"]
    if case == "model":
        args[args.index("logit")] = "logit,xgb"
    if case == "positive":
        args += ["--positive", "Maybe"]
    line = _refusal(args, out)
    assert match in line
    if case in ("one", "missing"):
        assert "'churn'" in line


def test_predict_refuses_existing_output_without_force(run, small):
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    res = runner.invoke(app, ["predict", "--data", str(small), "--target", "churn", "--models", "logit",
                              "--folds", "3", "--out", str(run)])
    assert res.exit_code == 2 and len([ln for ln in res.stderr.splitlines() if ln.strip()]) == 1
    assert "--force" in res.stderr and "Traceback" not in res.output
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before


@pytest.mark.browser
def test_report_opens_in_headless_chromium(run, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        pytest.fail("Chromium is not installed; scripts/test.sh installs it (apt-get install chromium)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    proc = subprocess.run([chromium, *flags, f"--user-data-dir={tmp_path / 'p'}", "--virtual-time-budget=15000",
                           "--dump-dom", (run / "report.html").as_uri()], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert len(re.findall(r'class="main-svg"', dom)) >= 5  # Plotly drew the gains, lift, calibration, drivers
    assert "predictive, not causal" in dom


def test_score_with_segment_rules_gives_segment_and_action(churn2020, tmp_path):
    rules = Path(__file__).resolve().parents[2] / "designs" / "segments" / "churn2020.yaml"
    out = tmp_path / "m"
    res = runner.invoke(app, ["predict", "--data", str(churn2020), "--target", "churn", "--models", "lgbm",
                              "--folds", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    scores = tmp_path / "s.parquet"
    res = runner.invoke(app, ["score", "--model", str(out / "model.joblib"), "--data", str(churn2020), "--rules",
                              str(rules), "--out", str(scores)])
    assert res.exit_code == 0, res.output
    s = pd.read_parquet(scores)
    raw = pd.read_csv(churn2020)
    assert len(s) == len(raw) and "segment" in s and s["action"].notna().all()
    many = raw["number_customer_service_calls"] >= 4
    assert (s.loc[many.to_numpy(), "segment"] == "many_service_calls").all()  # the rule file's first rule

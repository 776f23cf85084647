"""``retention survival`` and ``retention risk`` end to end: Telco numbers equal lifelines, simulator truth,
bad input as one stderr line with exit code 2 and no output file, no overwrite without --force."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import median_survival_times, restricted_mean_survival_time
from typer.testing import CliRunner

from experiments.cli import app

from .conftest import TELCO

runner = CliRunner()
ATOL_CURVE = 1e-10  # same product-limit arithmetic as lifelines
RTOL_TEST = 1e-8  # same statistic, different summation order


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _one_line_error(res, needle):
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert needle in lines[0], lines[0]
    assert "Traceback" not in res.output


def test_telco_ad_hoc_json_equals_lifelines(tmp_path, telco):
    """``retention survival --data telco_churn.csv --duration tenure --event Churn --event-value Yes --group Contract
    --times 12,24,60 --horizon 72``: S(t), medians with CI, RMST(72) and the 3-group log-rank equal lifelines 0.30."""
    out = tmp_path / "s.json"
    res = _run("survival", "--data", TELCO, "--duration", "tenure", "--event", "Churn", "--event-value", "Yes",
               "--group", "Contract", "--times", "12,24,60", "--horizon", "72", "--json", out)
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    for g, sub in telco.groupby("Contract"):
        kmf = KaplanMeierFitter().fit(sub["tenure"], sub["Churn"] == "Yes")
        mine = got["groups"][g]
        assert mine["n"] == len(sub) and mine["events"] == int((sub["Churn"] == "Yes").sum())
        np.testing.assert_allclose([mine["s_at"][k] for k in ["12", "24", "60"]],
                                   kmf.survival_function_at_times([12, 24, 60]), rtol=0, atol=ATOL_CURVE)
        med = kmf.median_survival_time_
        ci = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
        as_json = [None if not np.isfinite(x) else float(x) for x in (med, *ci)]
        assert [mine["median"], *mine["median_ci"]] == as_json
        assert mine["rmst"] == pytest.approx(restricted_mean_survival_time(kmf, t=72), rel=RTOL_TEST)
    ref = multivariate_logrank_test(telco["tenure"], telco["Contract"], telco["Churn"] == "Yes")
    assert got["logrank"]["statistic"] == pytest.approx(ref.test_statistic, rel=RTOL_TEST)
    assert got["logrank"]["dof"] == 2
    assert set(got["cox"]) == {"Contract[One year]", "Contract[Two year]"}
    assert set(got["ph_test"]["covariates"]) == set(got["cox"])
    assert got["ph_test"]["ok"] is False  # contract hazards are not proportional over 72 months: reported
    # the 11 blank TotalCharges are reported even though the column is not used
    assert got["data"]["blank_or_missing"] == {"TotalCharges": 11}
    assert got["data"]["rows_used"] == 7043


def test_telco_blank_covariate_is_an_error_unless_dropped_explicitly(tmp_path):
    out = tmp_path / "s.json"
    args = ["survival", "--data", TELCO, "--duration", "tenure", "--event", "Churn", "--event-value", "Yes",
            "--group", "Contract", "--covariates", "MonthlyCharges,TotalCharges", "--json", out]
    _one_line_error(_run(*args), "covariate 'TotalCharges' has 11 missing or blank value(s)")
    assert not out.exists()
    res = _run(*args, "--drop-missing")
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    assert got["data"]["dropped"] == {"TotalCharges": {"rows": 11, "reason": "missing or blank covariate"}}
    assert got["data"]["rows_used"] == 7032
    assert "TotalCharges" in got["cox"]


def test_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "s.json"
    out.write_text("keep me")
    args = ["survival", "--data", TELCO, "--duration", "tenure", "--event", "Churn", "--event-value", "Yes",
            "--json", out]
    _one_line_error(_run(*args), "already exists")
    assert out.read_text() == "keep me"
    assert _run(*args, "--force").exit_code == 0
    assert "groups" in json.loads(out.read_text())


@pytest.mark.parametrize(
    ("rows", "extra", "needle"),
    [
        ({"t": [1.0, -2.0, 3.0], "e": [1, 0, 1]}, [], "negative duration"),
        ({"t": [1.0, None, 3.0], "e": [1, 0, 1]}, [], "missing duration"),
        ({"t": [1.0, 2.0, 3.0], "e": [1, 2, 0]}, [], "must be coded 0/1"),
        ({"t": [1.0, 2.0, 3.0], "e": [1, 0, 1]}, ["--horizon", "10"], "beyond the last observed time 3"),
        ({"t": [1.0, 2.0, 3.0, 4.0], "e": [1, 0, 1, 0], "g": ["a", "a", "b", "b"], "x": [1, 1, 1, 1]},
         ["--group", "g", "--covariates", "x"], "covariate 'x' has no variance"),
    ],
)
def test_bad_input_one_line_exit_2_no_file(tmp_path, rows, extra, needle):
    src = tmp_path / "d.csv"
    pd.DataFrame(rows).to_csv(src, index=False)
    out = tmp_path / "s.json"
    _one_line_error(_run("survival", "--data", src, "--duration", "t", "--event", "e", *extra, "--json", out), needle)
    assert not out.exists()


def test_group_without_events_is_reported(tmp_path):
    src = tmp_path / "d.csv"
    pd.DataFrame({"t": [1.0, 2, 3, 4, 5, 6], "e": [1, 0, 1, 0, 0, 0], "g": ["a", "a", "a", "b", "b", "b"]}).to_csv(
        src, index=False)
    out = tmp_path / "s.json"
    res = _run("survival", "--data", src, "--duration", "t", "--event", "e", "--group", "g", "--control", "a",
               "--json", out)
    _one_line_error(res, "arm 'b' has no churn event")
    assert not out.exists()


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from experiments.simulate.operator import simulate_operator
    from experiments.simulate.output import write_simulation

    folder = tmp_path_factory.mktemp("sim")
    sim = simulate_operator(n_subscribers=20_000, rng=5)
    write_simulation(sim, folder, force=True)
    return folder, sim.truth


@pytest.mark.slow
def test_design_mode_recovers_simulator_truth(tmp_path, simulated):
    """``retention survival design.yaml --horizon 90``: each arm's RMST(90 days) is within 3 SE of the simulator's
    analytic truth, and the tenure gained (RMST difference vs control) within 3 SE of the true difference."""
    folder, truth = simulated
    out = tmp_path / "s.json"
    res = _run("survival", folder / "design.yaml", "--horizon", "90", "--json", out)
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    true_rmst = truth["survival"]["rmst_90d_days"]
    for arm, v in got["groups"].items():
        assert abs(v["rmst"] - true_rmst[arm]) < 3 * v["rmst_se"], (arm, v["rmst"], true_rmst[arm])
    for arm, g in got["tenure_gained"].items():
        assert abs(g["estimate"] - (true_rmst[arm] - true_rmst["control"])) < 3 * g["se"]
    assert got["control"] == "control"
    assert set(got["ltv"]["delta"]) == {"flow_pack", "contract_discount"}
    assert got["ltv"]["arms"]["control"]["method"].startswith("parametric:")
    assert got["ltv"]["arms"]["control"]["extrapolated_months"] > 0
    # the simulator multiplies the hazard within 30 days of contract end; without covariates the Cox estimate is
    # attenuated by unmodelled heterogeneity, but it is clearly above 1 and below the conditional truth
    ce = got["contract_end"]
    assert ce["covariate"] == "around_contract_end" and ce["window"] == [-30.0, 30.0]
    assert 1 < ce["hr_ci"][0] and ce["hr"] < truth["survival"]["contract_end_hazard_multiplier"]


def test_risk_scores_current_subscribers(tmp_path):
    from lifelines.datasets import load_rossi

    src = tmp_path / "rossi.csv"
    load_rossi().assign(id=lambda d: np.arange(len(d))).to_csv(src, index=False)
    out, quality = tmp_path / "scores.csv", tmp_path / "q.json"
    res = _run("risk", "--data", src, "--duration", "week", "--event", "arrest", "--covariates", "fin,age,prio",
               "--horizon", "0", "--id", "id", "--out", out, "--json", quality)
    _one_line_error(res, "horizon must be a positive number")
    assert not out.exists() and not quality.exists()
    res = _run("risk", "--data", src, "--duration", "week", "--event", "arrest", "--covariates", "fin,age,prio",
               "--horizon", "4", "--id", "id", "--out", out, "--json", quality)
    # Rossi's censored subscribers all have 52 weeks: 52 + 4 is beyond follow-up and is refused
    _one_line_error(res, "beyond the last observed time 52")
    res = _run("risk", "--data", src, "--duration", "week", "--event", "arrest", "--covariates", "fin,age,prio",
               "--horizon", "4", "--id", "id", "--all", "--out", out, "--json", quality)
    assert res.exit_code == 2  # churned subscribers at week 50 + 4 are still beyond follow-up
    short = tmp_path / "short.csv"
    load_rossi().assign(id=lambda d: np.arange(len(d)), week=lambda d: np.where(d["arrest"] == 0, 30, d["week"])
                        ).to_csv(short, index=False)
    res = _run("risk", "--data", short, "--duration", "week", "--event", "arrest", "--covariates", "fin,age,prio",
               "--horizon", "8", "--id", "id", "--out", out, "--json", quality)
    assert res.exit_code == 0, res.output
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["id", "tenure", "p_churn", "risk_score", "tier"]
    assert len(scores) == int((load_rossi()["arrest"] == 0).sum())
    assert set(scores["tier"]) == {"low", "medium", "high"}
    q = json.loads(quality.read_text())
    assert q["sign_convention"] == "higher risk score = earlier churn"
    assert 0.5 < q["harrell_c"] < 1

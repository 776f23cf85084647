"""A/A calibration (``retention calibrate``, :mod:`experiments.analysis.calibrate`).

References: the per-run statistics against ``scipy.stats`` (``ttest_ind(equal_var=False)``, ``chi2_contingency``
without continuity correction) on row-level data with the reshuffled labels; the Clopper–Pearson interval against
``statsmodels.stats.proportion.proportion_confint(method="beta")``. Seeded simulations: the simulator's experiment
(binary metrics at their nominal false-positive rate) and a lognormal revenue metric with σ = 2.5 at n = 200 per arm
(heavy tails: the relative-lift interval under-covers, the winsorised remedy is closer to nominal).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from statsmodels.stats.proportion import proportion_confint
from typer.testing import CliRunner

from experiments.analysis import stats
from experiments.analysis.calibrate import arm_stats, calibrate, clopper_pearson, permute_within
from experiments.cli import app
from experiments.spec.models import parse_design

RTOL = 1e-9  # same formula, float noise only
runner = CliRunner()
SEED = 20261207
SD_1000 = (0.05 * 0.95 / 1000) ** 0.5  # binomial SD of a rate of 0.05 over 1,000 runs


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    res = runner.invoke(app, ["simulate", "--out", str(out), "--subscribers", "20000", "--seed", str(SEED)])
    assert res.exit_code == 0, res.output
    return out / "design.yaml"


def test_binary_metric_false_positive_rate_on_the_simulator(simulated, tmp_path):
    """Acceptance: 1,000 reshuffles of the simulator's experiment; the primary binary metric's tests reject at
    0.04–0.06 for alpha 0.05. The twelve binary tests together: each within 3 binomial SDs of 0.05 (± 0.021 at
    1,000 runs; twelve 95% intervals would miss 0.05 by chance about half the time, so they are not asserted)."""
    out = tmp_path / "cal.json"
    res = runner.invoke(app, ["calibrate", str(simulated), "--runs", "1000", "--seed", str(SEED), "--json", str(out)])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    assert got["runs"] == 1000 and got["strata"] == ["region", "plan"]
    primary = [t for t in got["tests"] if t["metric"] == "churn_90d"]
    assert {t["test"] for t in primary} == {"pearson_chi2", "two_proportion_z", "relative_lift", "family_holm"}
    for t in primary:
        assert 0.04 <= t["false_positive_rate"]["rate"] <= 0.06, t
    for t in got["tests"]:
        if t["metric"].startswith("churn"):
            assert abs(t["false_positive_rate"]["rate"] - 0.05) <= 3 * SD_1000, t
            if t["coverage"] is not None:
                assert abs(t["coverage"]["rate"] - 0.95) <= 3 * SD_1000, t
    srm = got["srm"]
    assert srm["ci"][0] <= 0.001 <= srm["ci"][1]


def _heavy(n: int = 200, sigma: float = 2.5, seed: int = 11):
    d = parse_design({"name": "heavy", "data": {"source": "x.parquet", "arm": "arm"},
                      "arms": {"control": {"weight": 0.5}, "offer": {"weight": 0.5}}, "control": "control",
                      "metrics": [{"name": "revenue", "column": "revenue", "kind": "continuous",
                                   "direction": "increase"}]})
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"arm": np.repeat(["control", "offer"], n), "revenue": rng.lognormal(0.0, sigma, 2 * n)})
    return d, df


def test_heavy_tailed_metric_is_flagged_and_the_remedy_is_closer_to_nominal():
    """Lognormal σ = 2.5, 200 per arm, 1,000 reshuffles: the metric is heavy-tailed, an interval of the analysis
    under-covers (the relative lift's), and winsorising at the 99% quantile brings both coverages closer to 95%."""
    d, df = _heavy()
    r = calibrate(d, df, runs=1000, seed=SEED)
    (tail,) = r.tails
    assert tail.heavy_tailed and tail.excess_kurtosis > 10
    assert tail.under_covers and tail.relative_coverage.ci[1] < 0.95
    assert tail.remedy_closer
    for welch, remedy in ((tail.welch_coverage, tail.remedy_coverage),
                          (tail.relative_coverage, tail.remedy_relative_coverage)):
        assert abs(remedy.rate - 0.95) < abs(welch.rate - 0.95)
    assert tail.caps[1] == pytest.approx(np.quantile(df["revenue"], 0.99))
    assert "0.99" in tail.remedy
    assert list(r.tails_summary()["metric"]) == ["revenue"]


def test_light_tailed_metric_is_not_flagged():
    d, df = _heavy(n=300, sigma=0.3, seed=3)
    (tail,) = calibrate(d, df, runs=300, seed=1).tails
    assert not tail.heavy_tailed and not tail.under_covers


@pytest.mark.parametrize("run", range(3))
def test_per_run_statistics_match_scipy(run):
    """One reshuffle's per-arm sums give the analysis's tests; they equal scipy's on the row-level data."""
    rng = np.random.default_rng(run)
    n = 900
    strata = np.sort(rng.integers(0, 4, n))
    arm = rng.integers(0, 3, n).astype(np.int8)
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(strata)) + 1, [n]])
    y = rng.lognormal(0, 1, n)
    z = rng.binomial(1, 0.2, n).astype(float)
    labels = permute_within(arm, bounds, np.random.default_rng(100 + run))
    for s in range(4):  # each stratum keeps its arm counts
        block = slice(bounds[s], bounds[s + 1])
        assert np.bincount(labels[block], minlength=3).tolist() == np.bincount(arm[block], minlength=3).tolist()
    ones = np.ones(n)
    cont = arm_stats(labels, 3, y, ones)
    for a in (1, 2):
        c = stats.compare_means(cont[a], cont[0])
        ref = scipy.stats.ttest_ind(y[labels == a], y[labels == 0], equal_var=False)
        assert c.statistic == pytest.approx(ref.statistic, rel=RTOL)
        assert c.p_value == pytest.approx(ref.pvalue, rel=1e-7)
    binary = arm_stats(labels, 3, z, ones, binary=True)
    table = np.array([[z[labels == a].sum(), (labels == a).sum() - z[labels == a].sum()] for a in range(3)])
    ref2 = scipy.stats.chi2_contingency(table, correction=False)
    got = stats.chi2_independence([b.n for b in binary], [b.sum for b in binary])
    assert got.statistic == pytest.approx(ref2.statistic, rel=RTOL)
    assert got.p_value == pytest.approx(ref2.pvalue, rel=1e-7)
    for b, a in zip(binary, range(3), strict=True):
        assert b == stats.SuffStats.from_values(z[labels == a])


@pytest.mark.parametrize(("hits", "runs"), [(0, 500), (1, 1000), (50, 1000), (23, 500), (500, 500)])
def test_clopper_pearson_matches_statsmodels(hits, runs):
    lo, hi = proportion_confint(hits, runs, alpha=0.05, method="beta")
    got = clopper_pearson(hits, runs)
    assert got == pytest.approx((lo, hi), abs=1e-10)


def test_same_seed_same_result_and_data_untouched():
    d, df = _heavy(n=100)
    before = df.copy()
    a, b = calibrate(d, df, runs=50, seed=4), calibrate(d, df, runs=50, seed=4)
    assert a.tests == b.tests and a.srm == b.srm
    pd.testing.assert_frame_equal(df, before)
    assert set(a.summary().columns) >= {"metric", "test", "fpr", "fpr_lo", "fpr_hi", "coverage", "verdict"}
    json.dumps(a.to_dict())


@pytest.mark.parametrize(("args", "words"), [
    (["--runs", "0"], ["--runs", "at least 1"]),
    (["--runs", "abc"], ["--runs", "whole number"]),
    (["--runs", "-3"], ["--runs", "at least 1"]),
    (["--winsorize", "1.5"], ["winsor", "between 0.5 and 1"]),
    (["--stratum", "nope"], ["nope", "not in the data"]),
])
def test_bad_flags_one_line_exit_2_nothing_written(simulated, tmp_path, args, words):
    out = tmp_path / "cal.json"
    res = runner.invoke(app, ["calibrate", str(simulated), "--json", str(out), "--runs", "5", *args])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output
    assert all(w.lower() in lines[0].lower() for w in words), lines[0]
    assert not out.exists()


def test_missing_design_one_line(tmp_path):
    res = runner.invoke(app, ["calibrate", str(tmp_path / "absent.yaml"), "--json", str(tmp_path / "c.json")])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "absent.yaml" in res.stderr and not (tmp_path / "c.json").exists()
    assert list(tmp_path.iterdir()) == []


def test_existing_json_needs_force(simulated, tmp_path):
    out = tmp_path / "cal.json"
    out.write_text("earlier\n")
    res = runner.invoke(app, ["calibrate", str(simulated), "--runs", "3", "--json", str(out)])
    assert res.exit_code == 2 and "--force" in res.stderr and out.read_text() == "earlier\n"
    res = runner.invoke(app, ["calibrate", str(simulated), "--runs", "3", "--json", str(out), "--force"])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["runs"] == 3


def test_matrix_sums_equal_bincount():
    """The runs' per-arm sums (one matrix-vector product per arm, the last arm by difference) equal bincount's."""
    from experiments.analysis.calibrate import _Sums

    rng = np.random.default_rng(5)
    n, k = 5000, 3
    labels = rng.integers(0, k, n).astype(np.int8)
    used = (rng.random(n) < 0.8).astype(float)
    y, x = rng.lognormal(0, 1, n) * used, rng.normal(10, 2, n) * used
    sums = _Sums(k)
    sums.add("m", used, y, y * y, x, x * x, x * y)
    sums.freeze()
    got = sums.stats(sums.per_arm(labels), "m")
    ref = arm_stats(labels, k, y, used, x)
    for g, r in zip(got, ref, strict=True):
        assert g.n == r.n
        for field in ("sum", "sum_sq", "x_sum", "x_sum_sq", "xy_sum"):
            assert getattr(g, field) == pytest.approx(getattr(r, field), rel=RTOL)

"""The DoWhy check of one driver: its estimators against independent implementations (statsmodels OLS, a
hand-written Hajek IPW with the same propensity model), coverage of the simulator's true effect, the refuters in the
JSON, the dependence on the stated graph, and bad input through the CLI (one line, exit 2, nothing written)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from signals_cli import refusal
from typer.testing import CliRunner

from experiments.cli.app import app
from experiments.diagnosis.driver_effect import _propensity_model, driver_effect, parse_driver_spec
from experiments.diagnosis.simulate_driver import GRAPH_YAML, simulate_driver_data
from experiments.report.i18n import MESSAGES

RTOL = 1e-8  # same estimator, float noise only
SIMS = 5  # refuter simulations: enough for DoWhy's test, small enough for a fast suite
runner = CliRunner()


def _spec(**over):
    return parse_driver_spec({**yaml.safe_load(GRAPH_YAML), **over})


def _design(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.column_stack([frame["tenure_months"], frame["monthly_charge"],
                         frame["contract"] == "one_year", frame["contract"] == "two_year",
                         frame["network_issues"]]).astype(float)
    return x, (frame["customer_service_calls"] >= 4).to_numpy(float), frame["churn"].to_numpy(float)


@pytest.fixture(scope="module")
def sim():
    return simulate_driver_data(4000, rng=5)


def test_linear_regression_matches_statsmodels(sim):
    """Reference: statsmodels OLS of churn on the driver and the encoded confounders (coefficient and 95% CI)."""
    import statsmodels.api as sm

    res = driver_effect(sim.frame, _spec(method="linear_regression"), n_simulations=SIMS, rng=1)
    x, t, y = _design(sim.frame)
    ols = sm.OLS(y, sm.add_constant(np.column_stack([t, x]))).fit()
    np.testing.assert_allclose(res.estimate, ols.params[1], rtol=RTOL)
    np.testing.assert_allclose(res.ci, ols.conf_int(0.05)[1], rtol=RTOL)


def test_weighting_matches_hand_written_hajek(sim):
    """Reference: self-normalised IPW with the same propensity model, scores clipped to [0.01, 0.99] (the spec's
    propensity_clip)."""
    res = driver_effect(sim.frame, _spec(), n_simulations=SIMS, n_bootstrap=20, rng=1)
    x, t, y = _design(sim.frame)
    ps = np.clip(_propensity_model().fit(x, t).predict_proba(x)[:, 1], 0.01, 0.99)
    w1, w0 = t / ps, (1 - t) / (1 - ps)
    np.testing.assert_allclose(res.estimate, (w1 @ y) / w1.sum() - (w0 @ y) / w0.sum(), rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_interval_covers_the_true_effect_and_refuters_pass(seed):
    """Seeded simulation with a known average effect; coverage over 20 seeds is in benchmarks/signals_acceptance.py."""
    s = simulate_driver_data(5000, rng=seed)
    res = driver_effect(s.frame, _spec(), n_simulations=SIMS, n_bootstrap=100, rng=seed)
    assert res.ci[0] <= s.true_ate <= res.ci[1], (res.ci, s.true_ate)
    assert not res.ci[0] <= s.naive_difference <= res.ci[1]  # the unadjusted difference is confounded
    assert res.passed, res.summary()


def test_estimate_rests_on_the_stated_graph(sim):
    """Leaving out a confounder (network_issues) biases the estimate upward; the refuters cannot see it."""
    full = driver_effect(sim.frame, _spec(), n_simulations=SIMS, n_bootstrap=30, rng=2)
    short = driver_effect(sim.frame, _spec(confounders=["tenure_months", "monthly_charge", "contract"]),
                          n_simulations=SIMS, n_bootstrap=30, rng=2)
    assert short.estimate - full.estimate > 0.03
    assert short.ci[0] > sim.true_ate
    assert short.passed  # all three refuters pass on the wrong graph
    assert "<table" in short._repr_html_() and type(short.plot()).__name__ == "Figure"


def test_no_effect_gives_an_interval_around_zero():
    """With tau = 0 the driver does nothing: the interval covers zero while the naive comparison shows an effect."""
    s = simulate_driver_data(5000, tau=0.0, rng=9)
    res = driver_effect(s.frame, _spec(), n_simulations=SIMS, n_bootstrap=60, rng=9)
    assert abs(s.true_ate) < 1e-12 and res.ci[0] <= 0 <= res.ci[1]
    assert res.naive_difference > 0.05  # confounding alone makes the naive comparison look like an effect


def test_refuter_verdicts_follow_their_p_values(sim):
    """A refuter fails when DoWhy's p-value is below alpha / 3; at alpha 0.999 the bar is 0.333, so some fail."""
    res = driver_effect(sim.frame, _spec(alpha=0.999), n_simulations=SIMS, n_bootstrap=20, rng=3)
    for r in res.refuters:
        assert r.passed == (r.p_value >= 0.999 / 3)
    failed = [r.name for r in res.refuters if not r.passed]
    assert failed and not res.passed
    text = " ".join(res.explanation("en"))
    assert text.count("FAILED") == len(failed)
    assert res.to_dict()["passed"] is False


def test_json_carries_estimate_interval_refuters_and_words(sim, tmp_path):
    data, graph, out = tmp_path / "d.parquet", tmp_path / "g.yaml", tmp_path / "effect.json"
    sim.frame.to_parquet(data)
    graph.write_text(GRAPH_YAML)
    before = sim.frame.copy()
    res = runner.invoke(app, ["driver-effect", "--data", str(data), "--graph", str(graph), "--json", str(out),
                              "--simulations", str(SIMS), "--bootstrap", "30", "--lang", "zh"])
    assert res.exit_code == 0, res.output
    j = json.loads(out.read_text())
    assert {"estimate", "ci", "refuters", "adjustment_set", "naive_difference", "explanation"} <= set(j)
    assert set(j["refuters"]) == {"placebo_treatment", "random_common_cause", "data_subset"}
    for r in j["refuters"].values():
        assert {"estimated_effect", "new_effect", "p_value", "passed"} <= set(r)
    assert "network_issues" in j["adjustment_set"] and len(j["ci"]) == 2
    assert j["ci"][0] <= sim.true_ate <= j["ci"][1]
    assert any("stated graph" in s for s in j["explanation"]["en"])
    assert any("因果图" in s for s in j["explanation"]["zh"]) and "因果图" in res.output
    pd.testing.assert_frame_equal(sim.frame, before)


def _refusal(tmp_path, frame: pd.DataFrame, graph_text: str, *args: str) -> str:
    data, graph, out = tmp_path / "d.csv", tmp_path / "g.yaml", tmp_path / "effect.json"
    frame.to_csv(data, index=False)
    graph.write_text(graph_text)
    return refusal(["driver-effect", "--data", str(data), "--graph", str(graph), "--json", str(out),
                    "--simulations", "2", "--bootstrap", "5", *args], out)


SMALL = simulate_driver_data(300, rng=1).frame


def _graph(**over) -> str:
    return yaml.safe_dump({**yaml.safe_load(GRAPH_YAML), **over})


@pytest.mark.parametrize("frame,graph,match", [
    (SMALL, _graph(confounders=["tenure_months", "network_problems"], edges=[]),
     "confounders[1] names column 'network_problems'"),
    (SMALL.drop(columns="churn"), GRAPH_YAML, "outcome.column names column 'churn'"),
    (SMALL, _graph(treatment={"column": "customer_service_call", "op": ">=", "value": 4}), "did you mean"),
    (SMALL, _graph(estimator="ols"), "estimator: unknown key"),
    (SMALL, _graph(method="matching"), "'matching' is not allowed"),
    (SMALL, _graph(confounders=["churn"], edges=[]), "is also the outcome"),
    (SMALL, _graph(edges=[["contract", "region"]]), "'region', which is not a confounder"),
    (SMALL, _graph(treatment={"column": "customer_service_calls", "op": ">=", "value": 99}), "for every row"),
    (SMALL, _graph(treatment={"column": "customer_service_calls", "op": "between", "value": 4}), "treatment condition"),
    (SMALL, _graph(treatment={"column": "customer_service_calls", "op": ">=", "value": "many"}), "write a number"),
    (SMALL.assign(tenure_months=np.where(np.arange(300) < 3, np.nan, SMALL["tenure_months"])), GRAPH_YAML,
     "3 missing value(s)"),
    (SMALL, "treatment: [1, 2\n", "not valid YAML"),
])
def test_cli_bad_input(tmp_path, frame, graph, match):
    assert match in _refusal(tmp_path, frame, graph)


def test_cli_bad_lang(tmp_path):
    assert "--lang: 'fr' is not allowed" in _refusal(tmp_path, SMALL, GRAPH_YAML, "--lang", "fr")


def test_large_data_are_sampled_in_the_engine(sim):
    res = driver_effect(sim.frame, _spec(max_rows=1000), n_simulations=SIMS, n_bootstrap=10, rng=4)
    again = driver_effect(sim.frame, _spec(max_rows=1000), n_simulations=SIMS, n_bootstrap=10, rng=4)
    assert res.n_rows == 1000 and res.n_total == len(sim.frame) and res.to_dict()["sampled"] is True
    assert res.estimate == again.estimate  # the reservoir sample is seeded


@pytest.mark.parametrize("key", [k for k in MESSAGES if k.startswith(("driver.", "labels.", "reasons."))])
def test_sentences_exist_in_both_languages(key):
    en, zh = MESSAGES[key]["en"], MESSAGES[key]["zh"]
    assert en and re.search(r"[\u4e00-\u9fff]", zh)
    assert set(re.findall(r"{(\w+)}", en)) == set(re.findall(r"{(\w+)}", zh))  # the same figures in both

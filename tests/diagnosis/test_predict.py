"""``predict_churn`` against the published bar and external references: cross-validated ROC AUC on the two real
data sets, the leakage guard, AUC and Recall@K against scikit-learn, SHAP drivers against LightGBM's raw score and
the ``shap`` package, the survival risk comparison, and the report section in both languages."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from experiments.diagnosis.predict import predict_and_fit, prepare_features
from experiments.diagnosis.ranking import k_count, recall_at_k

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def telco_fit(telco):
    return predict_and_fit(telco, "Churn", models=("lgbm",), folds=5, rng=0)


@pytest.fixture(scope="module")
def churn2020_fit(churn2020):
    return predict_and_fit(churn2020, "churn", models=("lgbm",), folds=5, rng=0)


def test_churn2020_reaches_the_published_auc(churn2020_fit):
    res, model = churn2020_fit
    auc = res.score_of("lgbm").metrics["roc_auc"]
    assert auc.mean >= 0.90 and auc.lo > 0.88  # published analyses: about 0.90
    assert res.positive == "yes" and res.n == 4250 and res.n_positive == 598
    assert res.score_of("lgbm").pooled["recall_at_k"] > 0.55  # max possible at 10%: 425 / 598 = 71%


def test_telco_reaches_the_published_auc_with_blanks_reported(telco_fit):
    res, _ = telco_fit
    auc = res.score_of("lgbm").metrics["roc_auc"]
    assert auc.mean >= 0.83  # published analyses: about 0.84
    assert res.features.dropped["customerID"].startswith("id-like")
    assert res.features.coerced == {"TotalCharges": 11}  # the 11 blank TotalCharges, made missing
    assert "TotalCharges" in res.features.numeric
    assert any("TotalCharges (11 blank)" in n for n in res.notes)


def test_auc_and_recall_match_sklearn_on_the_oof_scores(telco_fit):
    res, _ = telco_fit
    s = res.score_of("lgbm")
    y = res.y
    assert s.pooled["roc_auc"] == pytest.approx(roc_auc_score(y, s.oof_score), abs=1e-12)
    assert not np.isnan(s.oof_score).any()
    # fold AUCs from sklearn on the same stratified folds
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(5, shuffle=True, random_state=res.seed).split(np.zeros(y.size), y)
    ref = [roc_auc_score(y[t], s.oof_score[t]) for _, t in folds]
    np.testing.assert_allclose(s.metrics["roc_auc"].folds, ref, atol=1e-12)
    # Recall@K by hand: churners among the top K scores
    kk = k_count(res.k, y.size)
    top = np.argsort(-s.oof_score, kind="stable")[:kk]
    assert s.pooled["recall_at_k"] == pytest.approx(y[top].sum() / y.sum())
    assert recall_at_k(y, s.oof_score, kk) == s.pooled["recall_at_k"]


def test_lgbm_drivers_sum_to_the_raw_score(telco_fit, telco):
    _, model = telco_fit
    raw = pd.read_csv(telco).head(300)
    X = prepare_features(raw, model.schema)
    contrib = model.contributions(X)
    full = model.estimator.booster_.predict(X, pred_contrib=True)
    margin = model.estimator.booster_.predict(X, raw_score=True)
    np.testing.assert_allclose(contrib.sum(axis=1) + full[:, -1], margin, atol=1e-8)  # local accuracy of TreeSHAP


def test_rf_drivers_match_the_shap_package():
    import shap

    gen = np.random.default_rng(4)
    x = gen.normal(size=(300, 3))
    df = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": np.where(x[:, 2] > 0, "p", "q"),
                       "churn": (gen.random(300) < 1 / (1 + np.exp(-2 * x[:, 0] + x[:, 2]))).astype(int)})
    res, model = predict_and_fit(df, "churn", models=("rf",), folds=2, drivers_sample=300, rng=1)
    X = prepare_features(df, model.schema)
    ours = model.contributions(X)
    clf, prep = model.estimator.named_steps["clf"], model.estimator.named_steps["prep"]
    vals = shap.TreeExplainer(clf).shap_values(np.asarray(prep.transform(X), float), check_additivity=True)
    vals = vals[:, :, 1] if np.ndim(vals) == 3 else vals[1]
    np.testing.assert_allclose(ours[:, :2], vals[:, :2], atol=1e-10)
    np.testing.assert_allclose(ours[:, 2], vals[:, 2:].sum(axis=1), atol=1e-10)  # one-hot columns summed back
    assert res.drivers["feature"].iloc[0] == "a"  # the strongest true effect leads the drivers


def test_leakage_guard_drops_and_names_label_columns():
    gen = np.random.default_rng(7)
    n = 800
    x = gen.normal(size=n)
    churn = (gen.random(n) < 1 / (1 + np.exp(-1.5 * x))).astype(int)
    df = pd.DataFrame({"x": x, "noise": gen.normal(size=n), "churn": churn,
                       # a label-defining column left in the data: days inactive, beyond 30 means churned
                       "recency_days": np.where(churn == 1, 31 + gen.integers(0, 60, n), gen.integers(0, 30, n)),
                       "gap_ratio": gen.normal(size=n)})
    res = predict_and_fit(df, "churn", models=("logit",), folds=3, label_columns=("gap_ratio",), rng=0)[0]
    d = res.features.dropped
    assert d["gap_ratio"].startswith("label contract")  # named as label-defining
    assert d["recency_days"].startswith("single-feature AUC 1.000")  # the label in disguise, caught by its AUC
    assert set(res.features.features) == {"x", "noise"}
    assert res.score_of("logit").metrics["roc_auc"].mean < 0.9  # the model did not see the label
    assert df.columns.tolist() == ["x", "noise", "churn", "recency_days", "gap_ratio"]  # caller's data untouched


def test_smote_runs_inside_the_folds_and_is_compared():
    gen = np.random.default_rng(2)
    n = 1500
    x = gen.normal(size=(n, 2))
    df = pd.DataFrame({"a": x[:, 0], "b": x[:, 1],
                       "churn": (gen.random(n) < 1 / (1 + np.exp(3 - 1.5 * x[:, 0]))).astype(int)})
    res = predict_and_fit(df, "churn", models=("logit",), folds=3, smote=True, rng=0)[0]
    assert {s.name for s in res.scores} == {"logit", "logit+smote"}
    cmp = res.balance_comparison()
    assert cmp is not None and abs(cmp["roc_auc_diff"].iloc[0]) < 0.05  # both rank the same linear signal


def test_survival_risk_vs_classifier_on_the_same_subscribers(telco_fit, telco):
    from experiments.diagnosis.predict import load_frame_for_predict
    from experiments.diagnosis.predict_risk import risk_comparison

    res, _ = telco_fit
    c = risk_comparison(load_frame_for_predict(telco), res, "tenure")
    assert list(c["method"]) == ["survival risk (Cox, tenure)", "classifier (lgbm)"]
    assert (c["n"] == 7043).all() and c["k"].iloc[0] == 705
    assert c["max_recall_at_k"].iloc[0] == pytest.approx(705 / 1869)
    assert c["recall_at_k"].iloc[1] == pytest.approx(res.score_of("lgbm").pooled["recall_at_k"])
    assert 0.15 < c["recall_at_k"].iloc[0] <= c["max_recall_at_k"].iloc[0]
    assert c["roc_auc"].iloc[0] > 0.75  # the Cox ranking carries real signal


def test_gains_curve_agrees_with_recall_at_k(telco_fit):
    from experiments.diagnosis.predict_plots import gains_curve

    res, _ = telco_fit
    s = res.score_of("lgbm").oof_score
    g = gains_curve(res.y, s, points=11)
    kk = round(0.1 * res.n)
    assert g["captured"].iloc[1] == pytest.approx(recall_at_k(res.y, s, kk))
    assert g["captured"].iloc[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_section_in_both_languages(telco_fit, lang):
    from experiments.diagnosis.predict_section import predict_section

    res, _ = telco_fit
    sec = predict_section(res, lang)
    assert len(sec.figures) == 5 and len(sec.tables) == 3
    label = "predictive, not causal" if lang == "en" else "仅具预测性，不代表因果"
    driver_caps = [c for c, _ in sec.tables if "SHAP" in c] + [c for c, _ in sec.figures if "SHAP" in c]
    assert len(driver_caps) == 3 and all(label in c for c in driver_caps)
    if lang == "zh":
        assert all(CJK.search(c) for c in sec.conclusions)
        assert sec.title == "流失预警：谁将流失"
    assert any("TotalCharges" in c for c in sec.conclusions)

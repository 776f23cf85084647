"""``score_batches`` (Arrow matrices, batched TreeSHAP) against the straightforward whole-frame computation.

Reference: the fitted ``LGBMClassifier`` itself on the whole pandas frame built by ``prepare_features``:
``predict_proba`` through the isotonic calibrator for the probability, ``booster_.predict(pred_contrib=True)`` for
the SHAP values (LightGBM's TreeSHAP), the stable descending sort for the top drivers. TreeSHAP is additive: the
contributions of a row plus the expected value sum to its raw score (log-odds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from experiments.diagnosis.predict import TIERS, feature_matrix, predict_and_fit, prepare_features, score_batches

RTOL = 1e-12  # the same LightGBM trees on the same numbers: float noise only
ADD_TOL = 1e-9  # TreeSHAP additivity (sum of contributions = raw score), float64 sums over the trees


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    gen = np.random.default_rng(7)
    n = 1_500
    df = pd.DataFrame({f"x{j}": gen.normal(size=n) for j in range(5)})
    df.loc[gen.random(n) < 0.05, "x2"] = np.nan
    df["plan"] = gen.choice([" basic", "plus ", "max", None], size=n)
    eta = -1.0 + 1.2 * df["x0"] - 0.8 * df["x1"] + 0.7 * (df["plan"] == "max")
    df["churn"] = (gen.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    _, model = predict_and_fit(df, "churn", models=("lgbm",), folds=3, rng=0, drivers_sample=200)
    new = df.drop(columns="churn").iloc[:700].copy()
    new.loc[new.index[:5], "plan"] = "unseen"  # an unseen level becomes missing, as in prepare_features
    new.insert(0, "subscriber_id", np.arange(len(new)) + 10)
    path = tmp_path_factory.mktemp("score") / "new.parquet"
    new.to_parquet(path, index=False)
    return model, new, path


def _reference(model, new):
    X = prepare_features(new, model.schema)
    prob = model.calibrator.predict(model.estimator.predict_proba(X)[:, 1])
    contrib = model.estimator.booster_.predict(X, pred_contrib=True)
    return X, prob, contrib


def test_matrix_reads_like_the_pandas_frame(fitted):
    """The Arrow matrix holds the numbers and category codes LightGBM makes of the pandas frame."""
    model, new, _ = fitted
    X = prepare_features(new, model.schema)
    want = np.column_stack([X[c].cat.codes.where(X[c].notna()).astype(float) if X[c].dtype == "category"
                            else X[c].to_numpy(float) for c in model.features])
    got = feature_matrix(pa.RecordBatch.from_pandas(new, preserve_index=False), model.schema)
    np.testing.assert_array_equal(got, want)


def _row_groups_in_two_files(new: pd.DataFrame, folder) -> None:
    """``new`` as a folder of two Parquet files of several row groups each (read row group by row group)."""
    import pyarrow.parquet as pq

    folder.mkdir()
    half = len(new) // 2
    for i, part in enumerate((new.iloc[:half], new.iloc[half:])):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), folder / f"part-{i}.parquet",
                       row_group_size=97)
    assert pq.ParquetFile(folder / "part-0.parquet").metadata.num_row_groups == 4


@pytest.mark.parametrize("layout", ["one file", "row groups in two files"])
@pytest.mark.parametrize("batch_size", [700, 128])
def test_probabilities_and_drivers_match_the_whole_frame(fitted, tmp_path, batch_size, layout):
    model, new, path = fitted
    if layout != "one file":
        path = tmp_path / "parts"
        _row_groups_in_two_files(new, path)
    _, prob, contrib = _reference(model, new)
    out = tmp_path / "scores.parquet"
    summary = score_batches(model, path, out, id_column="subscriber_id", batch_size=batch_size, n_jobs=1)
    got = pd.read_parquet(out)
    assert summary["rows"] == len(new) and sum(summary["tiers"].values()) == len(new)
    np.testing.assert_array_equal(got["subscriber_id"], new["subscriber_id"])
    np.testing.assert_allclose(got["probability"], prob, rtol=RTOL)
    np.testing.assert_array_equal(got["rank"], pd.Series(-prob).rank(method="first").astype(int))
    top = np.argsort(-contrib[:, :-1], axis=1, kind="stable")[:, :3]
    names = np.asarray(model.features, dtype=object)
    for j in range(3):
        np.testing.assert_array_equal(got[f"driver_{j + 1}"], names[top[:, j]])
        np.testing.assert_allclose(got[f"driver_{j + 1}_shap"], contrib[np.arange(len(new)), top[:, j]], rtol=RTOL)
    assert set(got["tier"]) <= set(TIERS)
    high = got["tier"] == "high"
    assert (got.loc[high, "action"] == "contact this week with a retention offer (top driver: "
            + got.loc[high, "driver_1"] + ")").all()


def test_contributions_add_up_to_the_raw_score(fitted):
    """TreeSHAP additivity: sum of the feature contributions + expected value = the raw log-odds score."""
    model, new, _ = fitted
    X, _, contrib = _reference(model, new)
    raw = model.estimator.booster_.predict(X, raw_score=True)
    np.testing.assert_allclose(contrib.sum(axis=1), raw, atol=ADD_TOL)


def test_drivers_for_the_high_tier_only(fitted, tmp_path):
    model, new, path = fitted
    out = tmp_path / "high.parquet"
    score_batches(model, path, out, batch_size=256, driver_tiers=("high",), n_jobs=1)
    got = pd.read_parquet(out)
    full = tmp_path / "all.parquet"
    score_batches(model, path, full, batch_size=256, n_jobs=1)
    every = pd.read_parquet(full)
    high = got["tier"] == "high"
    assert got.loc[~high, "driver_1"].isna().all() and got.loc[~high, "driver_3_shap"].isna().all()
    pd.testing.assert_frame_equal(got[high], every[high])
    np.testing.assert_array_equal(got["probability"], every["probability"])


def _ranked_drivers(model, path, out, **kw):
    score_batches(model, path, out, batch_size=256, n_jobs=1, **kw)
    return pd.read_parquet(out)


@pytest.mark.parametrize("keep_cells", [1 << 24, 0], ids=["contact list held from the first pass", "read again"])
@pytest.mark.parametrize("top", ["7%", "50", "1", 700])
def test_drivers_for_the_contact_list_only(fitted, tmp_path, monkeypatch, keep_cells, top):
    """``drivers_top=K``: drivers for exactly the rows ranked 1..K, equal to drivers for all; the rest null.

    Both ways of getting the contact list's features (held in memory from the first pass; read again in the
    second) give the same table. The calibrated probabilities tie in steps, so the cut at K falls inside ties.
    """
    import experiments.diagnosis.predict as predict

    model, new, path = fitted
    every = _ranked_drivers(model, path, tmp_path / "all.parquet")
    monkeypatch.setattr(predict, "KEEP_CELLS", keep_cells)
    got = _ranked_drivers(model, path, tmp_path / "top.parquet", drivers_top=top)
    k = {"7%": 49, "50": 50, "1": 1, 700: 700}[top]  # ceil(7% of 700) = 49
    listed = got["rank"] <= k
    assert every["probability"].duplicated().sum() > 100  # ties are there to be cut through
    assert got.loc[listed, "driver_1"].notna().all() and listed.sum() == k
    pd.testing.assert_frame_equal(got[listed], every[listed])
    assert got.loc[~listed, ["driver_1", "driver_2", "driver_3", "driver_1_shap"]].isna().all().all()
    np.testing.assert_array_equal(got["rank"], every["rank"])
    np.testing.assert_array_equal(got["probability"], every["probability"])


def test_drivers_for_the_contact_list_of_a_pipeline_model(tmp_path):
    """The same contract for a model behind a preprocessing pipeline (pandas frames, not LightGBM matrices)."""
    gen = np.random.default_rng(3)
    df = pd.DataFrame({"x": gen.normal(size=600).round(1), "plan": gen.choice(["a", "b"], 600)})
    df["churn"] = (gen.random(600) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
    _, model = predict_and_fit(df, "churn", models=("logit",), folds=3, rng=0)
    path = tmp_path / "in.parquet"
    df.drop(columns="churn").to_parquet(path, row_group_size=150)
    every = _ranked_drivers(model, path, tmp_path / "all.parquet")
    got = _ranked_drivers(model, path, tmp_path / "top.parquet", drivers_top="10%")
    listed = got["rank"] <= 60
    pd.testing.assert_frame_equal(got[listed], every[listed])
    assert got.loc[~listed, "driver_1"].isna().all()


def test_drivers_top_refuses_a_list_longer_than_the_file_and_a_second_choice(fitted, tmp_path):
    from experiments.errors import DataError, DesignError

    model, _, path = fitted
    with pytest.raises(DataError, match=r"--drivers-top: 701 subscribers is more than the 700 rows"):
        score_batches(model, path, tmp_path / "s.parquet", drivers_top=701)
    with pytest.raises(DesignError, match="--drivers-top and --driver-tiers"):
        score_batches(model, path, tmp_path / "s.parquet", drivers_top="1%", driver_tiers=("high",))
    assert not (tmp_path / "s.parquet").exists()


def test_progress_reports_each_pass_to_the_last_row(fitted, tmp_path):
    """``progress(stage, done, total)``: the first pass, then the second, each counting up to every row."""
    model, new, path = fitted
    calls: list[tuple[str, int, int | None]] = []
    score_batches(model, path, tmp_path / "s.parquet", batch_size=256, n_jobs=1,
                  progress=lambda *a: calls.append(a))
    stages = [c[0] for c in calls]
    assert stages == ["probabilities"] * stages.count("probabilities") + ["drivers"] * stages.count("drivers")
    for stage in ("probabilities", "drivers"):
        done = [c[1] for c in calls if c[0] == stage]
        assert done == sorted(done) and done[-1] == len(new) and len(done) >= 3  # 700 rows in batches of 256
        assert {c[2] for c in calls if c[0] == stage} == {len(new)}  # Parquet: the total from the footers
    csv = tmp_path / "new.csv"
    new.to_csv(csv, index=False)
    calls.clear()
    score_batches(model, csv, tmp_path / "c.parquet", n_jobs=1, progress=lambda *a: calls.append(a))
    assert calls[0][0] == "probabilities" and calls[0][2] is None and calls[-1] == ("drivers", len(new), len(new))

"""Benchmark: churn ``predict`` (LightGBM, 5 folds) and ``score`` with drivers vs the same LightGBM calls in plain scripts.

Each side runs as a whole, fresh Python process (imports, reading the Parquet file, the work, writing its output),
measured for wall time and peak resident memory of the process tree (benchmarks/_harness.py), in the same run.

predict, on ``--rows`` subscribers x 30 features (28 numbers, 2 text categories; churn from a known logistic truth):

- ours: ``experiments.diagnosis.predict.predict_and_fit(path, "churn", models=("lgbm",), folds=5)`` (the public
  API; the ``retention predict`` CLI is not on this branch): reading through DuckDB, target and leakage guard,
  feature typing, 5 stratified fold fits with out-of-fold predictions, isotonic calibration out of fold, the fold
  and pooled metrics, one final fit on all rows, the drivers (TreeSHAP on a 5,000-row sample), the model file;
- plain: pandas ``read_parquet``, the two text columns as pandas categories, the same ``StratifiedKFold`` (same
  seed), the same ``LGBMClassifier(class_weight="balanced", **lgbm_params(...))`` fitted on the same 5 training folds
  with ``predict_proba`` on each test fold, the ROC AUC of the out-of-fold scores, one final fit on all rows and
  the model file (joblib). The script checks that both give the same out-of-fold ROC AUC.

score, on ``--score-rows`` subscribers written in chunks of 1M rows, with the model of ours' predict run:

- ours: ``score_batches(model, path, out, id_column="subscriber_id", drivers=3)``: calibrated probability, rank,
  tier, the top-3 drivers (LightGBM's TreeSHAP) and the action, batch by batch into Parquet; drivers for every row
  (``--drivers all``), for the high tier only (``--drivers high``) or for the contact list only (``--drivers
  top=1%``: the 1% highest-ranked);
- plain: a loop over the file's record batches calling the LightGBM booster's ``predict`` and writing
  ``subscriber_id, probability`` with a ``ParquetWriter`` (no calibration, rank, tiers, drivers).

Usage::

    .venv/bin/python benchmarks/bench_predict.py [--rows 1000000] [--score-rows 10000000] [--jobs 2]

Data are generated once under ``benchmarks/data/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SEED = 20261207
N_NUM, CATS = 28, {"plan": ["basic", "plus", "max", "family"], "region": [f"r{i}" for i in range(8)]}
CHUNK = 1_000_000
AUC_TOL = 1e-6  # same LightGBM calls on the same rows and folds: float noise only

OURS_PREDICT = r'''
import json, sys, time
t0 = time.perf_counter()
from experiments.diagnosis.predict import predict_and_fit
src, out, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
res, model = predict_and_fit(src, "churn", models=("lgbm",), folds=5, rng=0, n_jobs=jobs)
open(out, "wb").write(model.to_bytes())
print(json.dumps({"oof_auc": res.scores[0].pooled["roc_auc"], "seconds": time.perf_counter() - t0,
                  "cv_seconds": res.scores[0].seconds}))
'''

PLAIN_PREDICT = r'''
import json, sys, time
t0 = time.perf_counter()
import joblib
import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
src, out, seed, params = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
df = pd.read_parquet(src)
y = df.pop("churn").to_numpy()
for c in ("plan", "region"):
    df[c] = df[c].astype("category")
score = np.empty(y.size)
for train, test in StratifiedKFold(n_splits=5, shuffle=True, random_state=seed).split(np.zeros(y.size), y):
    m = LGBMClassifier(class_weight="balanced", **params).fit(df.iloc[train], y[train])
    score[test] = m.predict_proba(df.iloc[test])[:, 1]
final = LGBMClassifier(class_weight="balanced", **params).fit(df, y)
joblib.dump(final, out)
print(json.dumps({"oof_auc": float(roc_auc_score(y, score)), "seconds": time.perf_counter() - t0}))
'''

OURS_SCORE = r'''
import json, sys, time
t0 = time.perf_counter()
from experiments.diagnosis.predict import load_model, score_batches
model_path, src, out, jobs, who = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
model = load_model(model_path)
top = who.removeprefix("top=") if who.startswith("top=") else None
summary = score_batches(model, src, out, id_column="subscriber_id", drivers=3, n_jobs=jobs, drivers_top=top,
                        driver_tiers=None if who == "all" or top else tuple(who.split("+")))
summary["seconds"] = time.perf_counter() - t0
print(json.dumps(summary))
'''

PLAIN_SCORE = r'''
import json, sys, time
t0 = time.perf_counter()
import joblib
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
model_path, src, out, jobs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
booster = joblib.load(model_path).booster_
feats = booster.feature_name()
cats = booster.pandas_categorical
writer, n = None, 0
for batch in ds.dataset(src).to_batches(columns=["subscriber_id", *feats], batch_size=250_000):
    df = batch.to_pandas()
    for c, levels in zip(("plan", "region"), cats):
        df[c] = pd.Categorical(df[c], categories=levels)
    p = booster.predict(df[feats], num_threads=jobs)
    t = pa.table({"subscriber_id": df["subscriber_id"].to_numpy(), "probability": p})
    writer = writer or pq.ParquetWriter(out, t.schema)
    writer.write_table(t)
    n += len(df)
writer.close()
print(json.dumps({"rows": n, "seconds": time.perf_counter() - t0}))
'''.replace("import joblib", "import joblib\nimport pandas as pd")


def _columns(gen, n: int, with_target: bool):
    """One chunk: 28 numbers (8 informative, correlated pairs, 2% missing in two), 2 categories, churn."""
    import numpy as np

    z = gen.normal(size=(n, N_NUM))
    z[:, 1] = 0.6 * z[:, 0] + 0.8 * z[:, 1]
    plan = gen.integers(0, 4, n)
    region = gen.integers(0, 8, n)
    cols = {f"x{j:02d}": z[:, j] for j in range(N_NUM)}
    for j in (5, 6):
        cols[f"x{j:02d}"] = np.where(gen.random(n) < 0.02, np.nan, z[:, j])
    cols["plan"] = np.asarray(CATS["plan"], dtype=object)[plan]
    cols["region"] = np.asarray(CATS["region"], dtype=object)[region]
    if with_target:
        beta = np.array([0.9, -0.7, 0.6, 0.5, -0.4, 0.35, 0.3, 0.25])
        eta = -2.3 + z[:, :8] @ beta + 0.4 * (plan == 0) - 0.3 * (plan == 3) + 0.1 * (region - 3.5) / 3.5
        cols["churn"] = (gen.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int64)
    return cols


def generate(path: Path, rows: int, *, with_target: bool, seed: int) -> None:
    """Write ``rows`` subscribers in chunks of 1M with a ParquetWriter (seeded; bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_name(path.name + ".tmp")
    writer = None
    for i, gen in enumerate(np.random.default_rng(seed).spawn(-(-rows // CHUNK))):
        n = min(CHUNK, rows - i * CHUNK)
        cols = _columns(gen, n, with_target)
        if not with_target:
            cols = {"subscriber_id": np.arange(i * CHUNK, i * CHUNK + n, dtype=np.int64), **cols}
        table = pa.table(cols)
        writer = writer or pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table, row_group_size=250_000)
    assert writer is not None
    writer.close()
    tmp.replace(path)


def _load() -> str:
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))
    from _harness import measure, table

    from experiments.diagnosis.predict import _seed, lgbm_params

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="training rows of predict")
    ap.add_argument("--score-rows", type=int, default=10_000_000, help="rows scored (0: skip score)")
    ap.add_argument("--jobs", type=int, default=2, help="LightGBM threads on both sides")
    ap.add_argument("--skip-predict", action="store_true", help="score only (needs a model from an earlier run)")
    ap.add_argument("--drivers", "--driver-tiers", default="top=1%,high",
                    help="comma-separated runs of ours' score, each naming who gets drivers: 'all' (every row), "
                         "a tier list joined by '+' ('high', 'high+medium'), or 'top=K' (the K highest-ranked, "
                         "the contact list: top=1%%, top=100000)")
    a = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    train = DATA / f"churn_train_{a.rows}.parquet"
    if not train.exists():
        generate(train, a.rows, with_target=True, seed=SEED)
    ours_model, plain_model = DATA / f"predict_model_{a.rows}.joblib", DATA / f"plain_model_{a.rows}.joblib"
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {}
        for name, text in (("ours_predict", OURS_PREDICT), ("plain_predict", PLAIN_PREDICT),
                           ("ours_score", OURS_SCORE), ("plain_score", PLAIN_SCORE)):
            scripts[name] = Path(tmp) / f"{name}.py"
            scripts[name].write_text(text)
        env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
        if not a.skip_predict:
            params = json.dumps(lgbm_params(_seed(0), a.jobs))
            print(f"predict {a.rows:,} rows x 30 features, {a.jobs} threads; before: {_load()}", flush=True)
            ours = measure([py, str(scripts["ours_predict"]), str(train), str(ours_model), str(a.jobs)], env=env)
            print(f"  ours done ({_load()})", flush=True)
            plain = measure([py, str(scripts["plain_predict"]), str(train), str(plain_model), str(_seed(0)), params],
                            env=env)
            print(f"  plain done ({_load()})", flush=True)
            o, p = json.loads(ours.stdout.strip().splitlines()[-1]), json.loads(plain.stdout.strip().splitlines()[-1])
            if abs(o["oof_auc"] - p["oof_auc"]) > AUC_TOL:
                raise SystemExit(f"out-of-fold ROC AUC differs: ours {o['oof_auc']:.8f}, plain {p['oof_auc']:.8f}")
            print(f"\n## predict, LightGBM, 5 folds + final fit, {a.rows:,} rows x 30 features "
                  f"(out-of-fold ROC AUC {o['oof_auc']:.6f} on both sides)\n")
            print(table([("ours: predict_and_fit", ours), ("plain LightGBM script", plain)],
                        reference="plain LightGBM script"))
            print(f"\nours in-process {o['seconds']:.1f} s (cross-validation {o['cv_seconds']:.1f} s); "
                  f"plain in-process {p['seconds']:.1f} s; {_load()}\n", flush=True)
        if a.score_rows:
            src = DATA / f"churn_score_{a.score_rows}.parquet"
            if not src.exists():
                generate(src, a.score_rows, with_target=False, seed=SEED + 1)
            rows = []
            for tiers in a.drivers.split(","):
                out = Path(tmp) / f"scores_{tiers.replace('%', 'pct')}.parquet"
                print(f"score {a.score_rows:,} rows, drivers for {tiers}; before: {_load()}", flush=True)
                r = measure([py, str(scripts["ours_score"]), str(ours_model), str(src), str(out), str(a.jobs),
                             tiers], env=env)
                rows.append((f"ours: score_batches, drivers for {tiers}", r))
                out.unlink()
            print(f"plain predict loop; before: {_load()}", flush=True)
            out = Path(tmp) / "plain_scores.parquet"
            rows.append(("plain LightGBM predict loop", measure(
                [py, str(scripts["plain_score"]), str(plain_model), str(src), str(out),
                 str(a.jobs)], env=env)))
            print(f"\n## score {a.score_rows:,} rows, top-3 drivers, {a.jobs} threads\n")
            print(table(rows, reference="plain LightGBM predict loop"))
            print(f"\n{_load()}")


if __name__ == "__main__":
    main()

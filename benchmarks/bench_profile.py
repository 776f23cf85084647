"""Benchmark: ``retention profile`` on a 10M-row Parquet table against the pandas ``groupby`` script an analyst
would write for the same figures.

Whole processes on the same file, in the same run (wall time, peak RSS of the process tree):

(a) pandas: read the table, then per column churn and a Wilson interval per level (``groupby``), deciles of the
    numeric columns (``qcut``), the best threshold of each count/numeric column (cumulative sums, χ²), point-biserial
    r and Cramér's V, and the two-way tables of the five strongest columns.
(b) ``retention profile --data FILE --target churn --json OUT``: the same figures from DuckDB (three scans and a
    ``GROUPING SETS`` query for the cross tables), plus the report sentences and the JSON.

Usage: ``python benchmarks/bench_profile.py [--rows 10000000] [--repeat 3]``. Data goes to ``benchmarks/data/``
(git-ignored). Targets (issue 16): (b) at least 3× faster than (a) and at most a third of its peak memory.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import measure, table  # noqa: E402

HERE = Path(__file__).parent

PANDAS_SCRIPT = r"""
import sys, json, itertools
import numpy as np, pandas as pd
from scipy import stats
from scipy.stats.contingency import association
from statsmodels.stats.proportion import proportion_confint
df = pd.read_parquet(sys.argv[1])
y = (df["churn"] == "yes").astype(int)
out = {"overall": {"n": len(df), "rate": y.mean()}, "features": {}, "thresholds": {}, "associations": {}}
labels = {}
for col in df.columns.drop("churn"):
    x = df[col]
    if x.dtype == object or x.nunique() <= 20:
        lab = x.astype(str)
    else:
        lab = pd.qcut(x, 10, duplicates="drop").astype(str)
    labels[col] = lab
    g = y.groupby(lab).agg(["size", "sum"])
    lo, hi = proportion_confint(g["sum"], g["size"], method="wilson")
    out["features"][col] = {str(k): {"n": int(r["size"]), "rate": r["sum"] / r["size"], "ci": [l, h]}
                            for (k, r), l, h in zip(g.iterrows(), lo, hi)}
    if x.dtype == object:
        out["associations"][col] = float(association(pd.crosstab(x, y).to_numpy(), method="cramer"))
        continue
    out["associations"][col] = float(stats.pointbiserialr(y, x).statistic)
    key = x if x.nunique() <= 20 else pd.qcut(x, 10, labels=False, duplicates="drop")
    gg = y.groupby(key).agg(["size", "sum"]).sort_index()
    cn, ck = gg["size"].cumsum().to_numpy(), gg["sum"].cumsum().to_numpy()
    best = None
    for i in range(len(gg) - 1):
        t = [[ck[i], cn[i] - ck[i]], [ck[-1] - ck[i], cn[-1] - cn[i] - ck[-1] + ck[i]]]
        chi2, p = stats.chi2_contingency(t, correction=False)[:2]
        if best is None or chi2 > best[0]:
            best = (chi2, p, i)
    out["thresholds"][col] = {"cut": int(best[2]), "p": best[1] * (len(gg) - 1)}
top = sorted(out["associations"], key=lambda c: -abs(out["associations"][c]))[:5]
out["crosstabs"] = [{"columns": [a, b], "cells": y.groupby([labels[a], labels[b]]).agg(["size", "mean"]).shape[0]}
                    for a, b in itertools.combinations(top, 2)]
print(json.dumps({"n": out["overall"]["n"], "rate": out["overall"]["rate"]}))
"""


def generate(path: Path, rows: int, seed: int = 16) -> None:
    """Write ``rows`` synthetic subscribers in chunks (bounded memory): plans, regions, calls, tenure, charges."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    chunk = 1_000_000
    plans = np.array(["prepaid", "postpaid_s", "postpaid_m", "postpaid_l"])
    regions = np.array([f"region_{i}" for i in range(8)])
    writer = None
    for start in range(0, rows, chunk):
        m = min(chunk, rows - start)
        plan = rng.choice(4, m, p=[0.4, 0.3, 0.2, 0.1])
        intl = rng.random(m) < 0.1
        calls = rng.poisson(1.5, m)
        tenure = rng.integers(0, 73, m)
        charges = np.round(rng.gamma(4.0, 15.0, m), 2)
        minutes = np.round(rng.normal(180, 50, m).clip(0), 1)
        logit = -2.2 + 0.9 * intl + 1.6 * (calls >= 4) - 0.02 * tenure + 0.004 * (minutes - 180) + 0.1 * plan
        churn = rng.random(m) < 1 / (1 + np.exp(-logit))
        batch = pa.table({"plan": plans[plan], "region": regions[rng.integers(0, 8, m)],
                          "international_plan": np.where(intl, "yes", "no"), "customer_service_calls": calls,
                          "tenure": tenure, "monthly_charges": charges, "day_minutes": minutes,
                          "churn": np.where(churn, "yes", "no")})
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema)
        writer.write_table(batch)
    writer.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each process, interleaved; the median is shown")
    args = ap.parse_args()
    data = HERE / "data" / f"profile_{args.rows}.parquet"
    data.parent.mkdir(parents=True, exist_ok=True)
    if not data.exists():
        print(f"generating {args.rows:,} rows → {data}", flush=True)
        generate(data, args.rows)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "retention profile": [py, "-m", "experiments", "profile", "--data", str(data), "--target", "churn",
                                  "--json", f"{tmp}/profile.json", "--force"],
            "(a) pandas groupby script": [py, "-c", PANDAS_SCRIPT, str(data)],
        }
        measured: dict[str, list] = {name: [] for name in commands}
        for _ in range(args.repeat):  # interleaved, so that a burst of load hits every process alike
            for name, cmd in commands.items():
                measured[name].append(measure(cmd))
    runs = [(name, sorted(rs, key=lambda r: r.seconds)[len(rs) // 2]) for name, rs in measured.items()]
    print(f"\n{args.rows:,} rows × 8 columns; median of {args.repeat} interleaved runs; "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print(table(runs, reference="(a) pandas groupby script"))
    (_, ours), (_, ref) = runs
    speed, memory = ref.seconds / ours.seconds, ours.peak_mb / ref.peak_mb
    print(f"\nretention profile: {speed:.2f}× faster than pandas (target ≥ 3×: {'met' if speed >= 3 else 'NOT met'}), "
          f"peak memory {memory:.2f} of pandas' (target ≤ 1/3: {'met' if memory <= 1 / 3 else 'NOT met'})")


if __name__ == "__main__":
    main()

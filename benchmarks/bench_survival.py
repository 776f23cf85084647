"""Benchmark: Kaplan–Meier + k-group log-rank on 10M subscribers, ours (risk table in DuckDB) vs lifelines.

Each side runs as a whole, fresh Python process (imports, reading the Parquet file, computing, writing its numbers),
measured for wall time and peak resident memory (``os.wait4`` rusage of that child). The numbers both sides write
are compared: survival at fixed days, medians and the log-rank statistic.

Usage::

    /tmp/venv/bin/python benchmarks/bench_survival.py [--rows 10000000] [--arms 3] [--skip-lifelines]
    /tmp/venv/bin/python benchmarks/bench_survival.py --concordance 1000000   # Harrell's C, ours vs lifelines

Data are generated once under ``benchmarks/data/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
TIMES = [30, 90, 180, 365, 540]
ATOL_CURVE = 1e-10
RTOL_TEST = 1e-8


def generate(path: Path, rows: int, arms: int, seed: int = 20261122) -> None:
    """Write ``rows`` subscribers in ``arms`` arms: integer days to churn (Weibull), censored at 0–730 days."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    arm = rng.integers(0, arms, rows)
    scale = np.array([400.0, 440.0, 470.0, 500.0, 520.0])[arm]
    t = scale * rng.weibull(1.3, rows)
    c = rng.uniform(0, 730, rows)
    days = np.ceil(np.minimum(t, c)).astype(np.int32)
    event = (t <= c).astype(np.int8)
    labels = np.array(["control", "flow_pack", "discount", "arm3", "arm4"][:arms])
    table = pa.table({"arm": pa.DictionaryArray.from_arrays(pa.array(arm.astype(np.int32)), pa.array(labels)),
                      "days": days, "churned": event})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def run_ours(path: Path, out: Path) -> None:
    started = time.perf_counter()
    import ibis

    from survival.kaplan_meier import kaplan_meier_groups, median_survival, survival_at
    from survival.logrank import logrank_test
    from survival.risk_table import risk_table

    imported = time.perf_counter()
    con = ibis.duckdb.connect()
    con.raw_sql("SET threads = 2")
    table = con.read_parquet(str(path))
    rt = risk_table(table, "days", "churned", group="arm")
    curves = kaplan_meier_groups(rt)
    lr = logrank_test(rt)
    res = {"groups": {str(g): {"s_at": survival_at(c, TIMES, allow_beyond=True).tolist(),
                               "median": median_survival(c).time, "n": c.n} for g, c in curves.items()},
           "logrank": lr.statistic, "import_s": imported - started, "work_s": time.perf_counter() - imported}
    out.write_text(json.dumps(res))


def run_lifelines(path: Path, out: Path) -> None:
    started = time.perf_counter()
    import pandas as pd
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    imported = time.perf_counter()
    df = pd.read_parquet(path)
    res: dict = {"groups": {}}
    for g, sub in df.groupby("arm", observed=True):
        kmf = KaplanMeierFitter().fit(sub["days"], sub["churned"])
        res["groups"][str(g)] = {"s_at": kmf.survival_function_at_times(TIMES).tolist(),
                                 "median": float(kmf.median_survival_time_), "n": int(len(sub))}
    res["logrank"] = float(multivariate_logrank_test(df["days"], df["arm"].astype(str), df["churned"]).test_statistic)
    res.update(import_s=imported - started, work_s=time.perf_counter() - imported)
    out.write_text(json.dumps(res))


def _concordance_data(path: Path) -> tuple:
    import pandas as pd

    df = pd.read_parquet(path)
    return df["days"].to_numpy(float), df["churned"].to_numpy(int), df["risk"].to_numpy(float)


def generate_concordance(path: Path, rows: int, seed: int = 7) -> None:
    """Weibull PH durations in days with a continuous risk score, 30% censoring."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    risk = rng.normal(size=rows)
    t = 300 * (-np.log(rng.uniform(size=rows)) / np.exp(0.7 * risk)) ** (1 / 1.3)
    c = rng.uniform(0, 900, rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"days": np.ceil(np.minimum(t, c)), "churned": (t <= c).astype(int),
                  "risk": risk + rng.normal(scale=0.5, size=rows)}).to_parquet(path)


def run_concordance_ours(path: Path, out: Path) -> None:
    from survival.risk import concordance

    t, e, r = _concordance_data(path)
    c = concordance(t, e, r)
    out.write_text(json.dumps({"harrell": c.harrell, "uno": c.uno}))


def run_concordance_lifelines(path: Path, out: Path) -> None:
    from lifelines.utils import concordance_index

    t, e, r = _concordance_data(path)
    out.write_text(json.dumps({"harrell": float(concordance_index(t, -r, e))}))


CHILDREN = {"ours": run_ours, "lifelines": run_lifelines, "c_ours": run_concordance_ours,
            "c_lifelines": run_concordance_lifelines}


def measure(mode: str, path: Path, out: Path) -> tuple[float, float, float]:
    """Run one side as a fresh process; return (wall seconds, peak RSS in MiB, CPU seconds user + system)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--_child", mode, "--data", str(path), "--_out", str(out)])
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{mode} run failed with status {status}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # Linux reports KiB


def compare(a: dict, b: dict) -> float:
    """Largest absolute difference between the two result sets; raises if they disagree beyond tolerance."""
    worst = 0.0
    for g in a["groups"]:
        for x, y in zip(a["groups"][g]["s_at"], b["groups"][g]["s_at"], strict=False):
            worst = max(worst, abs(x - y))
            if abs(x - y) > ATOL_CURVE:
                raise SystemExit(f"survival differs in {g}: {x} vs {y}")
        if a["groups"][g]["median"] != b["groups"][g]["median"] or a["groups"][g]["n"] != b["groups"][g]["n"]:
            raise SystemExit(f"median or n differs in {g}")
    rel = abs(a["logrank"] - b["logrank"]) / abs(b["logrank"])
    if rel > RTOL_TEST:
        raise SystemExit(f"log-rank differs: {a['logrank']} vs {b['logrank']}")
    return max(worst, rel)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--arms", type=int, default=3)
    ap.add_argument("--skip-lifelines", action="store_true")
    ap.add_argument("--data", type=Path)
    ap.add_argument("--concordance", type=int, metavar="ROWS", help="Benchmark Harrell's C at ROWS instead.")
    ap.add_argument("--_child", choices=sorted(CHILDREN))
    ap.add_argument("--_out", type=Path)
    args = ap.parse_args()
    if args._child:
        CHILDREN[args._child](args.data, args._out)
        return
    if args.concordance:
        cpath = DATA / f"concordance_{args.concordance}.parquet"
        if not cpath.exists():
            generate_concordance(cpath, args.concordance)
        load = os.getloadavg()
        t1, r1, _ = measure("c_ours", cpath, DATA / "c_ours.json")
        t2, r2, _ = measure("c_lifelines", cpath, DATA / "c_lifelines.json")
        a = json.loads((DATA / "c_ours.json").read_text())["harrell"]
        b = json.loads((DATA / "c_lifelines.json").read_text())["harrell"]
        if abs(a - b) > 1e-12:
            raise SystemExit(f"Harrell's C differs: {a} vs {b}")
        print(f"rows={args.concordance:,} load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print("| Harrell's C | wall time (s) | peak RSS (MiB) |\n|---|---:|---:|")
        print(f"| ours (vectorised dyadic counting) | {t1:.1f} | {r1:.0f} |")
        print(f"| lifelines 0.30 concordance_index | {t2:.1f} | {r2:.0f} |")
        print(f"speed-up {t2 / t1:.1f}x; C = {a:.12f} in both (|diff| {abs(a - b):.1e})")
        return
    path = args.data or DATA / f"survival_{args.rows}_{args.arms}.parquet"
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, args.rows, args.arms)
        print(f"generated {path} in {time.perf_counter() - t0:.1f}s")
    load = os.getloadavg()
    rows = []
    ours_out = DATA / "survival_ours.json"
    t, rss, cpu = measure("ours", path, ours_out)
    rows.append(("ours (DuckDB risk table + NumPy)", t, rss, cpu, json.loads(ours_out.read_text())))
    if not args.skip_lifelines:
        ll_out = DATA / "survival_lifelines.json"
        t2, rss2, cpu2 = measure("lifelines", path, ll_out)
        rows.append(("lifelines 0.30 (pandas)", t2, rss2, cpu2, json.loads(ll_out.read_text())))
        diff = compare(rows[0][4], rows[1][4])
    print(f"rows={args.rows:,} arms={args.arms} load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("| implementation | wall time (s) | CPU time (s) | imports (s) | work after imports (s) | peak RSS (MiB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, t_, r_, c_, res in rows:
        print(f"| {name} | {t_:.1f} | {c_:.1f} | {res['import_s']:.1f} | {res['work_s']:.1f} | {r_:.0f} |")
    if not args.skip_lifelines:
        work = rows[1][4]["work_s"] / rows[0][4]["work_s"]
        print(f"speed-up: wall {rows[1][1] / rows[0][1]:.1f}x, CPU {rows[1][3] / rows[0][3]:.1f}x, work after "
              f"imports {work:.1f}x; memory ratio {rows[1][2] / rows[0][2]:.1f}x;"
              f" numbers identical (largest difference {diff:.2e}, S(t) atol {ATOL_CURVE}, log-rank rtol {RTOL_TEST})")

if __name__ == "__main__":
    main()

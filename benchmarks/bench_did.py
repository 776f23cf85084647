"""Benchmark: TWFE with CRV1 on subscriber-month rows, aggregated in DuckDB, against row-level pyfixest.

Generates ``benchmarks/data/did_<rows>.parquet`` (300 regions × 36 months by default, one row per subscriber-month:
region, month, promo, churned) and a smaller subset file for pyfixest, then measures whole processes (wall time and
peak RSS of the process tree, psutil polling):

* ours on the full file (``causal.did.DiD(se="cluster")``, cells aggregated by DuckDB from the Parquet file),
* ours on the subset, and pyfixest ``feols("churned ~ promo | region + month", vcov={"CRV1": "region"})`` on the
  subset loaded into pandas (the largest that fits comfortably next to other work); pyfixest's time is scaled
  linearly to the full size for the ratio, and the two estimates on the subset must agree to 1e-8.

Run: ``python benchmarks/bench_did.py --rows 50000000 --pyfixest-rows 5000000`` (sizes are flags; see
benchmarks/README.md for the figures and the machine load they were measured under).
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


def generate(path: Path, rows: int, regions: int, months: int, seed: int) -> None:
    """Write ``rows`` subscriber-month rows region by region (bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    per_cell = rows / (regions * months)
    start = np.where(rng.random(regions) < 0.3, rng.choice([13, 19, 25], regions), 0)
    region_fe = rng.normal(0, 0.01, regions)
    month_fe = rng.normal(0, 0.005, months)
    tmp = path.with_suffix(".tmp")
    schema = pa.schema([("region", pa.int16()), ("month", pa.int8()), ("promo", pa.int8()), ("churned", pa.int8())])
    with pq.ParquetWriter(tmp, schema) as writer:
        for r in range(regions):
            sizes = rng.poisson(per_cell, months)
            month = np.repeat(np.arange(1, months + 1, dtype=np.int8), sizes)
            promo = ((start[r] > 0) & (month >= start[r])).astype(np.int8)
            p = 0.03 + region_fe[r] + month_fe[month - 1] + 0.004 * promo
            churned = (rng.random(len(month)) < p).astype(np.int8)
            writer.write_table(pa.table({"region": np.full(len(month), r, np.int16), "month": month,
                                         "promo": promo, "churned": churned}, schema=schema))
    os.replace(tmp, path)


def worker_ours(path: str) -> None:
    import ibis

    from causal.did import DiD

    t0 = time.perf_counter()
    con = ibis.duckdb.connect()
    table = con.read_parquet(path)
    res = DiD(unit="region", time="month", outcome="churned", treat="promo", se="cluster", refute=False,
              n_perm=0).fit(table).result_
    crv1 = res.twfe.query("se_type == 'crv1'").iloc[0]
    print(json.dumps({"att": float(crv1.coef), "se": float(crv1.se), "n_obs": res.n_obs,
                      "seconds_inside": time.perf_counter() - t0}))


def worker_pyfixest(path: str) -> None:
    import warnings

    import pandas as pd
    import pyfixest as pf

    t0 = time.perf_counter()
    df = pd.read_parquet(path)
    df["churned"] = df["churned"].astype("float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        m = pf.feols("churned ~ promo | region + month", data=df, vcov={"CRV1": "region"}, fixef_tol=1e-12,
                     fixef_maxiter=100_000)
    print(json.dumps({"att": float(m.coef()["promo"]), "se": float(m.se()["promo"]), "n_obs": int(m._N),
                      "seconds_inside": time.perf_counter() - t0}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000_000)
    ap.add_argument("--pyfixest-rows", type=int, default=5_000_000)
    ap.add_argument("--regions", type=int, default=300)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--worker", choices=["ours", "pyfixest"])
    ap.add_argument("--path")
    args = ap.parse_args()
    if args.worker == "ours":
        return worker_ours(args.path)
    if args.worker == "pyfixest":
        return worker_pyfixest(args.path)

    sys.path.insert(0, str(HERE))
    from _harness import measure, table

    DATA.mkdir(parents=True, exist_ok=True)
    full = DATA / f"did_{args.rows}_{args.regions}x{args.months}.parquet"
    sub = DATA / f"did_{args.pyfixest_rows}_{args.regions}x{args.months}.parquet"
    for path, n in ((full, args.rows), (sub, args.pyfixest_rows)):
        if not path.exists():
            t0 = time.perf_counter()
            generate(path, n, args.regions, args.months, args.seed)
            print(f"generated {path.name} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    load = os.getloadavg()
    py = sys.executable
    me = str(Path(__file__).resolve())
    runs = [
        (f"ours, {args.rows:,} rows (DuckDB cells)", measure([py, me, "--worker", "ours", "--path", str(full)])),
        (f"ours, {args.pyfixest_rows:,} rows", measure([py, me, "--worker", "ours", "--path", str(sub)])),
        (f"pyfixest, {args.pyfixest_rows:,} rows", measure([py, me, "--worker", "pyfixest", "--path", str(sub)])),
    ]
    res = {name: json.loads(r.stdout.strip().splitlines()[-1]) for name, r in runs}
    ours_sub, pf_sub = res[runs[1][0]], res[runs[2][0]]
    agree = abs(ours_sub["att"] - pf_sub["att"]) <= 1e-8 * abs(pf_sub["att"]) and abs(
        ours_sub["se"] - pf_sub["se"]) <= 1e-8 * pf_sub["se"]
    scale = args.rows / args.pyfixest_rows
    pf_scaled = runs[2][1].seconds * scale
    print(table(runs, reference=runs[0][0]))
    print()
    print(f"- pyfixest scaled linearly to {args.rows:,} rows: {pf_scaled:.1f} s → ours is "
          f"{pf_scaled / runs[0][1].seconds:.1f}× faster; at {args.pyfixest_rows:,} rows ours is "
          f"{runs[2][1].seconds / runs[1][1].seconds:.1f}× faster")
    inside_scaled = pf_sub["seconds_inside"] * scale
    print(f"- conservative: only pyfixest's work after imports ({pf_sub['seconds_inside']:.1f} s: read + fit) scaled, "
          f"{inside_scaled:.1f} s, against our whole process: {inside_scaled / runs[0][1].seconds:.1f}× faster; "
          f"our work after imports at full size: {res[runs[0][0]]['seconds_inside']:.1f} s")
    print(f"- estimates on the subset agree to 1e-8 (coef and CRV1 SE): {agree} "
          f"(ours {ours_sub['att']:.10g} ± {ours_sub['se']:.6g}, pyfixest {pf_sub['att']:.10g} ± {pf_sub['se']:.6g})")
    print(f"- full size: ATT {res[runs[0][0]]['att']:.6g} (CRV1 SE {res[runs[0][0]]['se']:.3g}), "
          f"{res[runs[0][0]]['n_obs']:,} rows")
    print(f"- load average before the runs: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    subprocess.run(["uptime"], check=False)


if __name__ == "__main__":
    main()

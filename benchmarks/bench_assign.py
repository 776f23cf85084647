"""Benchmark: `experiments.assign.assign` on N subscribers with 3 strata columns against a bare DuckDB
hash-and-rank query on the same Parquet file.

Both sides run in a fresh subprocess (wall time and peak RSS of the process tree from ``_harness.measure``), the same
number of DuckDB threads, alternating, and write a Parquet file of the assignment:

* reference: one ``COPY (SELECT ... sha256(salt || id) ... row_number() OVER (PARTITION BY strata ORDER BY hash)
  ... count(*) OVER (PARTITION BY strata) ...) TO out.parquet`` giving arms by position (floor quotas, no
  remainder rule, no checks);
* ours: ``assign(design, out=..., population=file)``: the column, id and strata checks, the eligibility filter, the
  same hash-and-rank plus largest-remainder quotas, the registry insert, the balance table (one numeric covariate),
  the atomic write.

Usage: ``python benchmarks/bench_assign.py --n 10000000 [--reps 2]``; data goes to ``benchmarks/data/`` (git-ignored).
Prints a JSON line with the timings, the ratio and the peak memory, plus ``uptime``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import measure  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

REFERENCE = r"""
import sys, time, duckdb
src, out, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute(f'''
COPY (
  SELECT subscriber_id, region, plan, tenure_band,
         CASE WHEN pos < floor(0.34 * n) THEN 'control'
              WHEN pos < floor(0.67 * n) THEN 'flow_pack' ELSE 'contract_discount' END AS arm
  FROM (
    SELECT *, row_number() OVER w - 1 AS pos, count(*) OVER (PARTITION BY region, plan, tenure_band) AS n
    FROM (SELECT subscriber_id, region, plan, tenure_band,
                 CAST('0x' || substr(sha256('bench|' || CAST(subscriber_id AS VARCHAR)), 1, 16) AS UBIGINT) AS h
          FROM read_parquet('{src}'))
    WINDOW w AS (PARTITION BY region, plan, tenure_band ORDER BY h, CAST(subscriber_id AS VARCHAR))
  )
) TO '{out}' (FORMAT parquet)''')
print(time.perf_counter() - t)
"""

OURS = r"""
import sys, time
from datetime import date
from experiments.spec.models import parse_design
from experiments.planning.assignment import assign
src, out, threads, memory = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
design = parse_design({
    "name": "bench", "data": {"source": "x.parquet"}, "control": "control",
    "arms": {"control": {"weight": 0.34}, "flow_pack": {"weight": 0.33}, "contract_discount": {"weight": 0.33}},
    "metrics": [{"name": "churn", "column": "churned_90d", "kind": "binary"}],
    "population": {"source": src, "unit": "subscriber_id", "covariates": ["arpu"]},
    "strata": ["region", "plan", "tenure_band"], "assignment": {"salt": "bench"}})
t = time.perf_counter()
r = assign(design, out=out, population=src, assigned_at=date(2026, 1, 5), force=True,
           registry=out + ".registry.duckdb", memory_limit=memory)
print(time.perf_counter() - t, r.units, r.max_stratum_deviation, r.srm_p_value)
"""


def make_data(n: int) -> Path:
    """A subscriber table with 3 strata columns (24 regions × 3 plans × 4 tenure bands) and a covariate."""
    import duckdb

    path = DATA / f"subscribers_{n}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT 10000000 + i AS subscriber_id,
                     'R' || lpad(CAST(hash(i, 1) % 24 + 1 AS VARCHAR), 2, '0') AS region,
                     ['prepaid', 'postpaid_standard', 'postpaid_premium'][CAST(hash(i, 2) % 3 + 1 AS INTEGER)] AS plan,
                     CAST(hash(i, 3) % 4 AS INTEGER) AS tenure_band,
                     round(10 + (hash(i, 4) % 10000) / 100.0, 2) AS arpu
              FROM range({n}) t(i)) TO '{path}' (FORMAT parquet)""")
    return path


def run(code: str, *args: str) -> tuple[list[str], float, float]:
    """Run ``code`` in a fresh interpreter; return its last stdout line's fields, wall seconds and peak RSS (MiB)."""
    r = measure([sys.executable, "-c", code, *args])
    return r.stdout.strip().splitlines()[-1].split(), r.seconds, r.peak_mb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="700MB")
    args = ap.parse_args()
    src = make_data(args.n)
    work = DATA / "assign_out"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    results: dict[str, list[float]] = {"reference": [], "ours": []}
    walls: dict[str, list[float]] = {"reference": [], "ours": []}
    peaks: dict[str, float] = {"reference": 0.0, "ours": 0.0}
    for rep in range(args.reps):  # alternate, so that a change in machine load hits both sides
        for name, code, extra in (("reference", REFERENCE, []), ("ours", OURS, [args.memory_limit])):
            out = str(work / f"{name}_{rep}.parquet")
            fields, wall, peak = run(code, str(src), out, str(args.threads), *extra)
            results[name].append(float(fields[0]))
            walls[name].append(wall)
            peaks[name] = max(peaks[name], peak)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    best = {k: min(v) for k, v in results.items()}
    print(json.dumps({
        "n": args.n, "threads": args.threads, "memory_limit": args.memory_limit, "reps": args.reps,
        "reference_s": results["reference"], "ours_s": results["ours"],
        "reference_process_wall_s": walls["reference"], "ours_process_wall_s": walls["ours"],
        "ratio_best": best["ours"] / best["reference"],
        "peak_rss_mib_reference": round(peaks["reference"], 1), "peak_rss_mib_ours": round(peaks["ours"], 1),
        "cpu_count": os.cpu_count(), "uptime": uptime,
    }))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Benchmark: ``retention analyze`` on a large Parquet file against what an analyst would otherwise run.

Whole processes on the same file, in the same run:

(a) pandas + scipy: read the columns, group by arm, run χ², two-proportion z tests and Welch t-tests, CUPED.
(b) bare DuckDB: one ``GROUP BY arm`` computing the same sums (the floor: no statistics, no checks).
(c) the start-up floor of the stack the house rules prescribe: a process that only imports Typer, Rich, pydantic,
    PyYAML, DuckDB and ``scipy.special`` (what ``retention analyze`` needs at the least) and reads no data.
(d) ``retention analyze DESIGN --out DIR``: validation (schema, labels, 0/1, NaN), per-arm sums in one DuckDB scan,
    all statistics, results.json; once with ``data.unit`` (the exact duplicate-id check, a second scan of the id
    column) and once without (exactly the sums of (b)).

Then the cost split of issue 19 (``--split 10000000 50000000``): per size, (e) in one process, ``analyze(design)``
(no unit column: exactly the sums of (b), plus validation and all statistics) against the bare DuckDB query of (b)
on a fresh connection, interleaved, medians (target ≤ 1.15×); and (f) the whole ``retention analyze --timings``
process against the bare DuckDB process (target ≤ 1.3× at 50M rows), with the start-up / design / work / output
split that ``--timings`` reports.

Usage: ``python benchmarks/bench_analyze.py [--rows 10000000] [--repeat 3] [--split ROWS ...] [--json OUT]``.
Data goes to ``benchmarks/data/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import measure, table  # noqa: E402

HERE = Path(__file__).parent

PANDAS_SCRIPT = r"""
import sys, json
import numpy as np, pandas as pd
from scipy import stats
df = pd.read_parquet(sys.argv[1], columns=["subscriber_id", "arm", "churned_90d", "revenue_90d", "revenue_pre_90d"])
assert df["subscriber_id"].is_unique
g = df.groupby("arm")
n = g.size(); k = g["churned_90d"].sum()
chi2 = stats.chi2_contingency(np.column_stack([k, n - k]), correction=False)
out = {"chi2_p": chi2.pvalue}
ctrl = df[df.arm == "control"]
theta = np.cov(df.revenue_pre_90d, df.revenue_90d)[0, 1] / df.revenue_pre_90d.var()
xbar = df.revenue_pre_90d.mean()
for arm in ["flow_pack", "contract_discount"]:
    t = df[df.arm == arm]
    p1, p0 = t.churned_90d.mean(), ctrl.churned_90d.mean()
    pool = (t.churned_90d.sum() + ctrl.churned_90d.sum()) / (len(t) + len(ctrl))
    z = (p1 - p0) / np.sqrt(pool * (1 - pool) * (1 / len(t) + 1 / len(ctrl)))
    w = stats.ttest_ind(t.revenue_90d, ctrl.revenue_90d, equal_var=False)
    ya = t.revenue_90d - theta * (t.revenue_pre_90d - xbar)
    yc = ctrl.revenue_90d - theta * (ctrl.revenue_pre_90d - xbar)
    c = stats.ttest_ind(ya, yc, equal_var=False)
    out[arm] = {"diff": p1 - p0, "z_p": 2 * stats.norm.sf(abs(z)), "welch_p": w.pvalue, "cuped_p": c.pvalue}
print(json.dumps(out))
"""

DUCKDB_SCRIPT = r"""
import sys, duckdb
con = duckdb.connect()
print(con.execute(f'''SELECT arm, count(*) n, sum(churned_90d) s, sum(churned_90d*churned_90d) ss,
  sum(revenue_90d) r, sum(revenue_90d*revenue_90d) rr, sum(revenue_pre_90d) x, sum(revenue_pre_90d*revenue_pre_90d) xx,
  sum(revenue_pre_90d*revenue_90d) xy FROM read_parquet('{sys.argv[1]}') GROUP BY arm''').fetchall())
"""

IMPORTS_SCRIPT = "import typer, rich.console, pydantic, yaml, duckdb; from scipy import special"

DESIGN = """
name: bench
data: {source: SOURCE, UNITarm: arm}
arms: {control: {weight: 0.34}, flow_pack: {weight: 0.33}, contract_discount: {weight: 0.33}}
control: control
metrics:
  - {name: churn_90d, column: churned_90d, kind: binary, direction: decrease, role: primary}
  - {name: revenue_90d, column: revenue_90d, kind: continuous, role: guardrail, covariate: revenue_pre_90d,
     non_inferiority: {margin: -0.02, relative: true}}
"""


def generate(path: Path, rows: int, seed: int = 1) -> None:
    """Write ``rows`` synthetic outcome rows in chunks (bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    chunk = 1_000_000
    arms = np.array(["control", "flow_pack", "contract_discount"])
    writer = None
    for start in range(0, rows, chunk):
        m = min(chunk, rows - start)
        arm_idx = rng.choice(3, m, p=[0.34, 0.33, 0.33])
        pre = rng.gamma(5.0, 20.0, m)
        p = np.array([0.16, 0.14, 0.13])[arm_idx]
        batch = pa.table({"subscriber_id": np.arange(start, start + m, dtype=np.int64),
                          "arm": pa.array(arms[arm_idx]).dictionary_encode().cast(pa.string()),
                          "churned_90d": (rng.random(m) < p).astype(np.int8),
                          "revenue_90d": 0.9 * pre + rng.normal(0, 12, m), "revenue_pre_90d": pre})
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema)
        writer.write_table(batch)
    writer.close()


SUMS_SQL = DUCKDB_SCRIPT.split('print(con.execute(f\'\'\'', 1)[1].split("\'\'\').fetchall())")[0]


def in_process(data: Path, design_path: Path, repeat: int) -> dict:
    """(e): ``analyze`` and the bare DuckDB query alternately in this process; medians and their ratio."""
    import time

    import duckdb

    from experiments.analysis.experiment import analyze
    from experiments.spec.models import load_design

    design = load_design(design_path)
    sql = SUMS_SQL.replace("{sys.argv[1]}", str(data))
    ours, bare = [], []
    analyze(design)  # warm: the OS file cache and the lazy imports of the first call
    for _ in range(repeat):
        t = time.perf_counter()
        duckdb.connect().execute(sql).fetchall()
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        analyze(design)
        ours.append(time.perf_counter() - t)
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    return {"analyze_s": med(ours), "duckdb_s": med(bare), "ratio": med(ours) / med(bare)}


def split(rows: int, repeat: int) -> dict:
    """(e) and (f) at ``rows`` rows; returns the figures (also printed)."""
    data = ensure(rows)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        design = Path(tmp) / "design.yaml"
        design.write_text(DESIGN.replace("SOURCE", str(data)).replace("UNIT", ""))
        e = json.loads(measure([py, __file__, "--_inprocess", str(data), str(design), "--repeat",
                                str(max(repeat, 5))]).stdout)
        whole = {"ours": [], "duckdb": []}
        for _ in range(repeat):
            whole["duckdb"].append(measure([py, "-c", DUCKDB_SCRIPT, str(data)]))
            whole["ours"].append(measure([py, "-m", "experiments", "analyze", str(design), "--out", f"{tmp}/o",
                                          "--force", "--timings"]))
        med = {k: sorted(v, key=lambda r: r.seconds)[len(v) // 2] for k, v in whole.items()}
        timings = json.loads((Path(tmp) / "o" / "results.json").read_text())["timings"]
    out = {"rows": rows, "in_process": e, "process_s": med["ours"].seconds, "duckdb_process_s": med["duckdb"].seconds,
           "process_ratio": med["ours"].seconds / med["duckdb"].seconds, "peak_mb": med["ours"].peak_mb,
           "duckdb_peak_mb": med["duckdb"].peak_mb, "timings_last_run": timings,
           "load_average": os.getloadavg()[0]}
    print(f"\n{rows:,} rows, cost split (load average {out['load_average']:.1f}):")
    print(f"  (e) in process: analyze {e['analyze_s']:.3f} s vs bare DuckDB query {e['duckdb_s']:.3f} s = "
          f"{e['ratio']:.2f}× (target ≤ 1.15×)")
    print(f"  (f) whole process: retention analyze {out['process_s']:.2f} s vs bare DuckDB process "
          f"{out['duckdb_process_s']:.2f} s = {out['process_ratio']:.2f}× (target ≤ 1.3× at 50M)")
    print("      --timings of the last run: " + ", ".join(f"{k} {v:.3f} s" for k, v in timings.items()))
    return out


def ensure(rows: int) -> Path:
    data = HERE / "data" / f"analyze_{rows}.parquet"
    data.parent.mkdir(parents=True, exist_ok=True)
    if not data.exists():
        print(f"generating {rows:,} rows → {data}", flush=True)
        generate(data, rows)
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each process, interleaved; the median is shown")
    ap.add_argument("--split", type=int, nargs="*", default=[], metavar="ROWS",
                    help="only the cost split (e, f) at these sizes")
    ap.add_argument("--json", type=Path, help="write the split's figures here")
    ap.add_argument("--_inprocess", nargs=2, metavar=("DATA", "DESIGN"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._inprocess:
        print(json.dumps(in_process(Path(args._inprocess[0]), Path(args._inprocess[1]), args.repeat)))
        return
    if args.split:
        figures = [split(n, args.repeat) for n in args.split]
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1))
        return
    data = ensure(args.rows)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        with_unit, no_unit = Path(tmp) / "design.yaml", Path(tmp) / "design_no_unit.yaml"
        with_unit.write_text(DESIGN.replace("SOURCE", str(data)).replace("UNIT", "unit: subscriber_id, "))
        no_unit.write_text(DESIGN.replace("SOURCE", str(data)).replace("UNIT", ""))
        commands = {
            "retention analyze (with the duplicate-id check)":
                [py, "-m", "experiments", "analyze", str(with_unit), "--out", f"{tmp}/a", "--force"],
            "retention analyze, no unit column (the same sums as (b))":
                [py, "-m", "experiments", "analyze", str(no_unit), "--out", f"{tmp}/b", "--force"],
            "(a) pandas + scipy": [py, "-c", PANDAS_SCRIPT, str(data)],
            "(b) bare DuckDB GROUP BY": [py, "-c", DUCKDB_SCRIPT, str(data)],
            "(c) importing the prescribed libraries only, no data": [py, "-c", IMPORTS_SCRIPT],
        }
        measured: dict[str, list] = {name: [] for name in commands}
        for _ in range(args.repeat):  # interleaved, so that a burst of load hits every process alike
            for name, cmd in commands.items():
                measured[name].append(measure(cmd))
    runs = [(name, sorted(rs, key=lambda r: r.seconds)[len(rs) // 2]) for name, rs in measured.items()]
    print(f"\n{args.rows:,} rows, 3 arms, binary + continuous metric with a CUPED covariate; "
          f"median of {args.repeat} interleaved runs; load average {os.getloadavg()[0]:.1f}\n")
    print(table(runs, reference="(b) bare DuckDB GROUP BY"))
    (_, ours), (_, lean), (_, pandas_), (_, duck), (_, floor) = runs
    print(f"\nwith the duplicate-id check: {pandas_.seconds / ours.seconds:.2f}× faster than pandas+scipy, "
          f"{ours.seconds / duck.seconds:.2f}× the bare DuckDB query, peak {ours.peak_mb:,.0f} MB")
    print(f"without a unit column:       {pandas_.seconds / lean.seconds:.2f}× faster than pandas+scipy, "
          f"{lean.seconds / duck.seconds:.2f}× the bare DuckDB query, peak {lean.peak_mb:,.0f} MB")
    print(f"importing the prescribed libraries alone takes {floor.seconds:.2f} s = "
          f"{floor.seconds / duck.seconds:.2f}× the whole bare DuckDB query; within 2× of it leaves "
          f"{2 * duck.seconds - floor.seconds:+.2f} s for the scan, the checks, the statistics and the output")


if __name__ == "__main__":
    main()

"""Scaling series (issue 19): analyze, assign, DiD and Kaplan–Meier at growing row counts, each against the bare
engine query that computes the same aggregate, as whole processes (wall time, peak RSS of the process tree).

One subscriber-month Parquet file per size, generated here by DuckDB from ``range()`` and hashes (no NumPy in the
generator, so it writes 100M rows in about a minute): ``subscriber_id, arm, churned, revenue, revenue_pre, region,
month, promo, plan, tenure_band, arpu, days``.

- analyze: ``retention analyze DESIGN`` (no unit column) vs ``SELECT arm, count, sums ... GROUP BY arm``;
- assign: ``experiments.planning.assign`` (the script of ``bench_assign.py``) vs the bare hash-and-rank ``COPY``;
- did: ``causal.did.DiD(se="cluster")`` on the DuckDB table (``bench_did.py --worker ours``) vs the cell collapse
  ``GROUP BY region, month``;
- km: ``retention survival --data F --duration days --event churned --group arm`` (KM, log-rank, RMST, Cox on a
  sample) vs the risk-table ``GROUP BY arm, days``;
- spark-analyze / spark-did (``--spark-sizes``): ours on a local[2] Spark session (Ibis PySpark backend over the
  same Parquet file) vs the bare PySpark ``groupBy().agg()`` in its own local[2] process.

Usage: ``python benchmarks/bench_scaling.py [--sizes 1000000 10000000 ...] [--spark-sizes 1000000 ...]
[--only analyze,did] [--json OUT]``. Data goes to ``benchmarks/data/`` (git-ignored) and is deleted after each size
unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import measure  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
COMMANDS = ("analyze", "assign", "did", "km")

GENERATE = """
COPY (SELECT 10000000 + i AS subscriber_id,
             ['control', 'flow_pack', 'contract_discount'][CAST(hash(i, 1) % 3 + 1 AS INTEGER)] AS arm,
             CAST(hash(i, 2) % 1000 < 150 AS TINYINT) AS churned,
             (hash(i, 3) % 10000) / 50.0 AS revenue_pre,
             0.9 * (hash(i, 3) % 10000) / 50.0 + (hash(i, 4) % 2400) / 100.0 AS revenue,
             CAST(hash(i, 5) % 300 AS SMALLINT) AS region,
             CAST(hash(i, 6) % 36 + 1 AS TINYINT) AS month,
             CAST(hash(i, 5) % 300 < 100 AND hash(i, 6) % 36 + 1 >= 10 + hash(i, 5) % 300 % 20 AS TINYINT) AS promo,
             ['prepaid', 'postpaid_standard', 'postpaid_premium'][CAST(hash(i, 7) % 3 + 1 AS INTEGER)] AS plan,
             CAST(hash(i, 8) % 4 AS INTEGER) AS tenure_band,
             round(10 + (hash(i, 9) % 10000) / 100.0, 2) AS arpu,
             CAST(hash(i, 10) % 730 + 1 AS INTEGER) AS days
      FROM range({rows}) t(i)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
"""

DESIGN = """
name: scaling
data: {source: SOURCE, arm: arm}
arms: {control: {weight: 0.34}, flow_pack: {weight: 0.33}, contract_discount: {weight: 0.33}}
control: control
metrics:
  - {name: churn, column: churned, kind: binary, direction: decrease, role: primary}
  - {name: revenue, column: revenue, kind: continuous, role: guardrail, covariate: revenue_pre,
     non_inferiority: {margin: -0.02, relative: true}}
"""

BARE = {
    "analyze": """SELECT arm, count(*) n, sum(churned) s, sum(revenue) r, sum(revenue*revenue) rr, sum(revenue_pre) x,
                  sum(revenue_pre*revenue_pre) xx, sum(revenue_pre*revenue) xy FROM read_parquet('{p}') GROUP BY arm""",
    "did": """SELECT region, month, count(*) n, sum(churned) s, max(promo) d FROM read_parquet('{p}')
              GROUP BY region, month""",
    "km": """SELECT arm, days, count(*) removed, sum(churned) events FROM read_parquet('{p}') GROUP BY arm, days""",
}
BARE_SCRIPT = "import sys, duckdb; print(len(duckdb.connect().execute(sys.argv[1]).fetchall()))"

SPARK_WORKER = r"""
import sys, time, json
from pyspark.sql import SparkSession, functions as F
what, path, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
spark = (SparkSession.builder.master("local[2]").config("spark.sql.shuffle.partitions", "2")
         .config("spark.ui.enabled", "false").config("spark.driver.memory", "2g").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
t = time.perf_counter()
if what == "bare-analyze":
    df = spark.read.parquet(path)
    out = len(df.groupBy("arm").agg(F.count("*"), F.sum("churned"), F.sum("revenue"),
          F.sum(F.col("revenue") * F.col("revenue")), F.sum("revenue_pre"),
          F.sum(F.col("revenue_pre") * F.col("revenue_pre")), F.sum(F.col("revenue_pre") * F.col("revenue"))).collect())
elif what == "bare-did":
    df = spark.read.parquet(path)
    out = len(df.groupBy("region", "month").agg(F.count("*"), F.sum("churned"), F.max("promo")).collect())
else:
    import ibis
    table = ibis.pyspark.connect(spark).read_parquet(path)
    if what == "analyze":
        from experiments.analysis.experiment import analyze
        from experiments.spec.models import load_design
        out = json.dumps(analyze(load_design(tmp), data=table).to_dict(), default=str)
    else:
        from causal.did import DiD
        res = DiD(unit="region", time="month", outcome="churned", treat="promo", se="cluster", refute=False,
                  n_perm=0).fit(table).result_
        out = float(res.twfe.query("se_type == 'crv1'").iloc[0].coef)
print(json.dumps({"inside_s": time.perf_counter() - t, "out": str(out)[:80]}))
spark.stop()
"""


def make(rows: int) -> Path:
    import duckdb

    path = DATA / f"scaling_{rows}.parquet"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        con = duckdb.connect()
        con.execute("SET preserve_insertion_order = false")
        con.execute(GENERATE.format(rows=rows, path=tmp))
        os.replace(tmp, path)
    return path


def ours_cmd(what: str, path: Path, tmp: Path) -> list[str]:
    py = sys.executable
    if what == "analyze":
        design = tmp / "design.yaml"
        design.write_text(DESIGN.replace("SOURCE", str(path)))
        return [py, "-m", "experiments", "analyze", str(design), "--out", str(tmp / "analyze"), "--force"]
    if what == "did":
        return [py, str(HERE / "bench_did.py"), "--worker", "ours", "--path", str(path)]
    if what == "km":
        return [py, "-m", "experiments", "survival", "--data", str(path), "--duration", "days", "--event", "churned",
                "--group", "arm", "--control", "control", "--time-unit", "days", "--json", str(tmp / "km.json"),
                "--force"]
    from bench_assign import OURS

    return [py, "-c", OURS, str(path), str(tmp / "ours.parquet"), "2", "1GB"]


def bare_cmd(what: str, path: Path, tmp: Path) -> list[str]:
    if what == "assign":
        from bench_assign import REFERENCE

        return [sys.executable, "-c", REFERENCE, str(path), str(tmp / "ref.parquet"), "2"]
    return [sys.executable, "-c", BARE_SCRIPT, BARE[what].format(p=path)]


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def series(sizes: list[int], spark_sizes: list[int], only: list[str], keep: bool) -> list[dict]:
    rows_out: list[dict] = []
    for rows in sorted(set(sizes) | set(spark_sizes)):
        t = time.perf_counter()
        path = make(rows)
        print(f"-- {rows:,} rows: data {time.perf_counter() - t:.0f} s, {path.stat().st_size / 2**20:,.0f} MB, "
              f"load {load()}", flush=True)
        with tempfile.TemporaryDirectory() as tmpd:
            tmp = Path(tmpd)
            todo = [w for w in only if w in COMMANDS and rows in sizes]
            todo += [f"spark-{w}" for w in ("analyze", "did") if f"spark-{w}" in only and rows in spark_sizes]
            for what in todo:
                try:
                    if what.startswith("spark-"):
                        base = what[6:]
                        design = tmp / "design.yaml"
                        design.write_text(DESIGN.replace("SOURCE", str(path)))
                        bare = measure([sys.executable, "-c", SPARK_WORKER, f"bare-{base}", str(path), str(design)])
                        ours = measure([sys.executable, "-c", SPARK_WORKER, base, str(path), str(design)])
                    else:
                        bare = measure(bare_cmd(what, path, tmp))
                        ours = measure(ours_cmd(what, path, tmp))
                except RuntimeError as exc:
                    print(f"   {what}: FAILED {str(exc).splitlines()[0]}", flush=True)
                    rows_out.append({"what": what, "rows": rows, "error": str(exc)[-400:], "load": load()})
                    continue
                rec = {"what": what, "rows": rows, "ours_s": ours.seconds, "ours_mb": ours.peak_mb,
                       "bare_s": bare.seconds, "bare_mb": bare.peak_mb, "ratio": ours.seconds / bare.seconds,
                       "load": load()}
                rows_out.append(rec)
                print(f"   {what:14s} ours {ours.seconds:7.2f} s {ours.peak_mb:7,.0f} MB | bare {bare.seconds:7.2f} s "
                      f"{bare.peak_mb:7,.0f} MB | {rec['ratio']:.2f}x | load {rec['load']}", flush=True)
        if not keep:
            path.unlink(missing_ok=True)
    return rows_out


def markdown(recs: list[dict]) -> str:
    lines = ["| command | rows | ours s | ours peak MB | bare engine s | bare peak MB | ours / bare | ours ns/row | "
             "load avg (1/5/15 min) |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in recs:
        if "error" in r:
            lines.append(f"| {r['what']} | {r['rows']:,} | failed: {r['error'].splitlines()[-1][:60]} | | | | | | "
                         f"{r['load']} |")
            continue
        lines.append(f"| {r['what']} | {r['rows']:,} | {r['ours_s']:.2f} | {r['ours_mb']:,.0f} | {r['bare_s']:.2f} | "
                     f"{r['bare_mb']:,.0f} | {r['ratio']:.2f}× | {1e9 * r['ours_s'] / r['rows']:.0f} | {r['load']} |")
    return "\n".join(lines)


def plot(recs: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for what in dict.fromkeys(r["what"] for r in recs):
        pts = [r for r in recs if r["what"] == what and "error" not in r]
        if not pts:
            continue
        x = [r["rows"] for r in pts]
        line, = a1.plot(x, [r["ours_s"] for r in pts], "o-", label=f"{what} (ours)")
        a1.plot(x, [r["bare_s"] for r in pts], "x--", color=line.get_color(), alpha=0.6, label=f"{what} (bare)")
        a2.plot(x, [r["ours_mb"] for r in pts], "o-", color=line.get_color(), label=f"{what} (ours)")
        a2.plot(x, [r["bare_mb"] for r in pts], "x--", color=line.get_color(), alpha=0.6)
    for ax, lab in ((a1, "wall seconds (whole process)"), (a2, "peak RSS, MB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows")
        ax.set_ylabel(lab)
        ax.grid(True, which="both", alpha=0.3)
    a1.legend(fontsize=7, ncol=2)
    a1.set_title("time against rows (dashed: bare engine query)")
    a2.set_title("peak memory against rows")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000, 50_000_000])
    ap.add_argument("--spark-sizes", type=int, nargs="*", default=[1_000_000, 5_000_000])
    ap.add_argument("--only", default=",".join([*COMMANDS, "spark-analyze", "spark-did"]))
    ap.add_argument("--json", type=Path, help="write the records here")
    ap.add_argument("--plot", type=Path, help="write the time/memory plot here (PNG)")
    ap.add_argument("--keep", action="store_true", help="keep the generated Parquet files")
    args = ap.parse_args()
    free = shutil.disk_usage(HERE).free
    sizes = [s for s in args.sizes if s * 60 < free / 2]  # ~40 bytes/row on disk; keep half the disk free
    if len(sizes) < len(args.sizes):
        print(f"skipped sizes {sorted(set(args.sizes) - set(sizes))}: not enough free disk", flush=True)
    only = [w.strip() for w in args.only.split(",") if w.strip()]
    if any(w.startswith("spark") for w in only) and shutil.which("java") is None:
        print("skipped Spark: no java on PATH", flush=True)
        only = [w for w in only if not w.startswith("spark")]
    recs = series(sizes, args.spark_sizes, only, args.keep)
    print(markdown(recs))
    if args.json:
        args.json.write_text(json.dumps(recs, indent=1))
    if args.plot:
        plot(recs, args.plot)


if __name__ == "__main__":
    main()

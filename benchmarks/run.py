"""Run every benchmark side by side with its reference tool, as whole processes, and write ``benchmarks/RESULTS.md``.

Usage::

    python benchmarks/run.py all            # every benchmark at the suite sizes (fits ~25 min on 2 cores)
    python -m benchmarks all                # the same
    python benchmarks/run.py all --full     # the sizes the issues name (about an hour on 2 cores)
    python benchmarks/run.py analyze did    # a subset; --quick: a smoke run at a tenth of the suite sizes

Each benchmark measures whole processes (wall time, peak RSS of the process tree) on the same data in the same run
and prints its table with the ratios against its reference; this script runs them one after another, records the
load average (``os.getloadavg``) before and after each, and writes ``RESULTS.md`` (machine, date, versions, every
table) and ``scaling.png`` (time and memory against rows, from ``bench_scaling.py``) next to itself, unless
``--no-write``. Benchmarks that another branch adds (``bench_predict.py``) run only when their script exists.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: name -> (script, suite arguments, --full arguments, --quick arguments, reference tool)
BENCHMARKS: dict[str, tuple[str, list[str], list[str], list[str], str]] = {
    "analyze": ("bench_analyze.py", ["--rows", "10000000", "--repeat", "3"], ["--rows", "10000000", "--repeat", "7"],
                ["--rows", "1000000", "--repeat", "1"], "pandas + scipy; bare DuckDB GROUP BY"),
    "analyze-split": ("bench_analyze.py", ["--split", "10000000", "50000000", "--repeat", "3"],
                      ["--split", "10000000", "50000000", "--repeat", "5"], ["--split", "1000000", "--repeat", "1"],
                      "bare DuckDB query (in process) and bare DuckDB process"),
    "assign": ("bench_assign.py", ["--n", "2000000", "--reps", "1"], ["--n", "10000000"],
               ["--n", "200000", "--reps", "1"], "bare DuckDB hash-and-rank COPY"),
    "survival": ("bench_survival.py", ["--rows", "2000000"], ["--rows", "10000000"], ["--rows", "200000"],
                 "lifelines KaplanMeierFitter + multivariate_logrank_test"),
    "did": ("bench_did.py", ["--rows", "20000000", "--pyfixest-rows", "2000000"],
            ["--rows", "50000000", "--pyfixest-rows", "10000000"], ["--rows", "2000000", "--pyfixest-rows", "200000"],
            "pyfixest feols CRV1"),
    "uplift": ("bench_uplift.py", ["--n", "100000", "--cf-n", "10000", "--bootstrap", "50"], ["--n", "1000000"],
               ["--n", "20000", "--cf-n", "5000", "--bootstrap", "20"], "EconML CausalForestDML / DRLearner"),
    "simulate": ("bench_simulate.py", ["--sizes", "200000", "1000000"], ["--sizes", "200000", "1000000"],
                 ["--sizes", "200000"], "none (generation time and memory only)"),
    "profile": ("bench_profile.py", ["--rows", "2000000", "--repeat", "1"], ["--rows", "10000000"],
                ["--rows", "200000", "--repeat", "1"], "the pandas groupby script for the same figures"),
    "labels": ("bench_labels.py", ["--subscribers", "50000"], ["--subscribers", "200000"],
               ["--subscribers", "5000"], "the same label columns in pandas"),
    "calibrate": ("bench_calibrate.py", ["--rows", "1000000", "--runs", "500"], ["--rows", "1000000", "--runs", "500"],
                  ["--rows", "100000", "--runs", "100"], "one retention analyze on the same file"),
    "predict": ("bench_predict.py", ["--rows", "100000", "--score-rows", "200000", "--drivers", "high,top=1%"],
                ["--rows", "1000000", "--score-rows", "10000000", "--drivers", "top=1%,high"], ["--rows", "20000", "--score-rows", "20000"],
                "the same LightGBM calls in a plain script"),
    "scaling": ("bench_scaling.py", ["--sizes", "1000000", "10000000", "50000000", "--spark-sizes", "1000000",
                                     "5000000"],
                ["--sizes", "1000000", "10000000", "50000000", "100000000", "--spark-sizes", "1000000", "5000000",
                 "10000000"],
                ["--sizes", "1000000", "--spark-sizes", "1000000"], "bare DuckDB / bare PySpark GROUP BY"),
}

VERSIONS = ("telecom-retention", "duckdb", "ibis-framework", "pyspark", "numpy", "pandas", "scipy", "statsmodels",
            "lifelines", "pyfixest", "econml", "scikit-learn", "lightgbm", "pyarrow", "polars")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines()
                      if ln.startswith("MemTotal")).split()[1])
        mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    java = "none"
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    except (OSError, IndexError):
        pass
    return [f"- CPU: {cpu}, {os.cpu_count()} logical cores; memory {mem}; {platform.platform()}",
            f"- Python {platform.python_version()}; Java: {java}",
            "- versions: " + ", ".join(f"{n} {_version(n)}" for n in VERSIONS)]


def _tables(stdout: str) -> str:
    """The part of a benchmark's output worth keeping: its Markdown tables and summary lines (no progress)."""
    keep = [ln.rstrip() for ln in stdout.splitlines() if ln.strip() and "\r" not in ln]
    return "\n".join(keep[-80:])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run ('all' or nothing: every one)")
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a smoke run at about a tenth of the suite sizes")
    size.add_argument("--full", action="store_true", help="the sizes the issues name (about an hour on 2 cores)")
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    ap.add_argument("--no-write", action="store_true", help="do not write RESULTS.md and scaling.png")
    ap.add_argument("--results", type=Path, default=HERE / "RESULTS.md", help="where to write the results")
    args = ap.parse_args()
    chosen = [b for b in args.names if b != "all"] + [b.strip() for b in args.only.split(",") if b.strip()]
    chosen = chosen or list(BENCHMARKS)
    unknown = [b for b in chosen if b not in BENCHMARKS]
    if unknown:
        ap.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    mode = "quick" if args.quick else "full" if args.full else "suite"
    started, t0 = dt.datetime.now(dt.timezone.utc), time.perf_counter()
    sections, summary, failed = [], [], []
    scaling_json = Path(tempfile.mkdtemp()) / "scaling.json"
    for name in chosen:
        script, suite, full, quick, reference = BENCHMARKS[name]
        if not (HERE / script).exists():
            print(f"\n=== {name}: skipped, {script} does not exist on this branch", flush=True)
            summary.append(f"| {name} | `{script}` not present on this branch: skipped | | | |")
            continue
        extra = {"quick": quick, "full": full, "suite": suite}[mode]
        if name == "scaling":
            extra = [*extra, "--json", str(scaling_json)]
        cmd = [sys.executable, str(HERE / script), *extra]
        shown = "python benchmarks/" + " ".join([script, *extra]).replace(str(scaling_json), "…")
        before = _load()
        print(f"\n=== {name}: {shown}  (load {before})", flush=True)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            lines.append(line)
        rc = proc.wait()
        secs = time.perf_counter() - start
        after = _load()
        status = "ok" if rc == 0 else f"FAILED (exit {rc})"
        if rc:
            failed.append(name)
        print(f"=== {name} took {secs:.0f} s, {status}", flush=True)
        summary.append(f"| {name} | `{shown}` | {reference} | {secs:.0f} s, {status} | {before} → {after} |")
        sections.append(f"### {name}\n\n`{shown}` — {secs:.0f} s, {status}; load average before {before}, after "
                        f"{after}\n\n{_tables(''.join(lines))}\n")
    total = time.perf_counter() - t0
    print(f"\nsuite took {total / 60:.1f} min", flush=True)
    if not args.no_write:
        plot_note = ""
        if scaling_json.exists():
            sys.path.insert(0, str(HERE))
            from bench_scaling import markdown, plot

            recs = json.loads(scaling_json.read_text())
            try:
                plot(recs, HERE / "scaling.png")
                plot_note = "\n![time and memory against rows](scaling.png)\n"
            except ImportError as exc:  # matplotlib is not a dependency of the package
                plot_note = f"\n(no plot: {exc})\n"
            plot_note = f"\n## Scaling series\n\n{markdown(recs)}\n{plot_note}"
        text = "\n".join([
            "# Benchmark results", "",
            f"Written by `python benchmarks/run.py {' '.join(args.names) or 'all'}"
            f"{' --' + mode if mode != 'suite' else ''}` on {started:%Y-%m-%d %H:%M} UTC; the whole run took "
            f"{total / 60:.1f} min. Every figure is a whole process (wall time, peak RSS of the process tree) "
            "measured in the same run as its reference; the load average (1/5/15 min, `os.getloadavg`) is shown "
            "with each, as the machine may be shared.", "",
            "## Machine", "", *_machine(), "",
            "## Summary", "", "| benchmark | command | reference | duration | load average before → after |",
            "|---|---|---|---|---|", *summary, plot_note, "## Each benchmark's output", "", *sections])
        args.results.write_text(text)
        print(f"wrote {args.results}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

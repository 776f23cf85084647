"""Run every benchmark at the sizes the issues name, one after another, and print each one's table.

Usage: ``python benchmarks/run.py [NAME ...|all] [--quick] [--only analyze,survival]``. ``--quick`` runs each at a
tenth of the size (a smoke run, not the figures to report). Every benchmark measures whole processes on the same
data in the same run and prints ratios against its reference tools; see ``benchmarks/README.md`` for the figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent

#: name -> (script, full-size arguments, quick arguments)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "analyze": ("bench_analyze.py", ["--rows", "10000000"], ["--rows", "1000000"]),
    "calibrate": ("bench_calibrate.py", ["--rows", "1000000", "--runs", "500"], ["--rows", "100000", "--runs", "100"]),
    "assign": ("bench_assign.py", ["--n", "10000000"], ["--n", "1000000", "--reps", "1"]),
    "survival": ("bench_survival.py", ["--rows", "10000000"], ["--rows", "1000000"]),
    "did": ("bench_did.py", ["--rows", "50000000", "--pyfixest-rows", "10000000"],
            ["--rows", "5000000", "--pyfixest-rows", "1000000"]),
    "uplift": ("bench_uplift.py", ["--n", "1000000"], ["--n", "100000", "--cf-n", "20000"]),
    "simulate": ("bench_simulate.py", ["--sizes", "200000", "1000000"], ["--sizes", "200000"]),
    "profile": ("bench_profile.py", ["--rows", "10000000"], ["--rows", "1000000", "--repeat", "1"]),
    "labels": ("bench_labels.py", ["--subscribers", "200000"], ["--subscribers", "20000"]),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a tenth of the size: a smoke run")
    ap.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default, or 'all': every one)")
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    args = ap.parse_args()
    chosen = [b for b in args.names if b != "all"] + [b.strip() for b in args.only.split(",") if b.strip()]
    chosen = chosen or list(BENCHMARKS)
    unknown = [b for b in chosen if b not in BENCHMARKS]
    if unknown:
        ap.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    failed = []
    for name in chosen:
        script, full, quick = BENCHMARKS[name]
        cmd = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        if subprocess.run(cmd).returncode != 0:
            failed.append(name)
        print(f"=== {name} took {time.perf_counter() - start:.0f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: the operator simulator at 1M (and more) subscribers — generation, writing, peak memory.

Each size runs in a fresh Python process, measured for wall time, CPU time (less disturbed by the machine's load)
and peak resident memory (``os.wait4`` rusage of that child); the child reports its own split between generation
(``simulate_operator``) and writing (``write_simulation``). There is no reference tool to compare with: the figure
that matters is the contract's "1M subscribers in a few seconds".

Usage::

    /tmp/venv/bin/python benchmarks/bench_simulate.py [--sizes 1000000 5000000]

Files are written under ``benchmarks/data/simulate_<n>/`` (git-ignored) and overwritten.
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

CHILD = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from experiments.simulate.operator import simulate_operator
from experiments.simulate.output import write_simulation
t1 = time.perf_counter()
sim = simulate_operator(n_subscribers=int(sys.argv[1]), rng=20260701)
t2 = time.perf_counter()
write_simulation(sim, Path(sys.argv[2]), force=True)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "simulate_s": t2 - t1, "write_s": t3 - t2,
                  "control_churn_90d": sim.truth["control"]["churn_90d"]}))
"""


def run(n: int) -> dict[str, float]:
    out = DATA / f"simulate_{n}"
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(n), str(out)], stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"child failed for n={n} (status {status})")
    inner = json.loads(proc.stdout.read() if proc.stdout else "{}")
    size_mb = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    return {"n": n, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "files_mb": size_mb, **inner}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    args = parser.parse_args()
    print(f"load: {os.getloadavg()}")
    for n in args.sizes:
        r = run(n)
        print(f"n={r['n']:>10,}  wall {r['wall_s']:6.2f} s  cpu {r['cpu_s']:6.2f} s  (import {r['import_s']:.2f}, "
              f"simulate {r['simulate_s']:.2f}, write {r['write_s']:.2f})  peak RSS {r['peak_rss_mb']:,.0f} MB  "
              f"files {r['files_mb']:.0f} MB  control churn90 {r['control_churn_90d']:.4f}")
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()

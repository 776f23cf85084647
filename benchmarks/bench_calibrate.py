"""``retention calibrate`` at scale: wall time of the A/A reshuffles against one ``retention analyze`` on the same data.

Usage: ``python benchmarks/bench_calibrate.py [--rows 1000000] [--runs 500] [--dir DIR]``. Simulates the experiment
with ``retention simulate`` (3 arms, 72 region × plan strata, two binary metrics and a continuous one with a CUPED
covariate), then runs both commands as whole processes and prints seconds, seconds per reshuffle and the ratio to
one analysis. The calibration's own split (the DuckDB pull into NumPy, the reshuffles) comes from its JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(args: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "experiments", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--dir", type=Path, default=None, help="reuse a simulation folder (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = args.dir or Path(tmp) / "sim"
        if not (d / "design.yaml").exists():
            _run(["simulate", "--out", str(d), "--subscribers", str(args.rows), "--seed", "20261207"])
        design = str(d / "design.yaml")
        t_an = _run(["analyze", design, "--out", str(Path(tmp) / "an"), "--force"])
        out = Path(tmp) / "cal.json"
        t_cal = _run(["calibrate", design, "--runs", str(args.runs), "--seed", "1", "--json", str(out), "--force"])
        got = json.loads(out.read_text())
    print(f"rows {got['units']:,}, strata {got['n_strata']}, runs {args.runs}, metrics 3 (2 binary, 1 continuous "
          f"with CUPED and the winsorised remedy)")
    print(f"retention analyze   {t_an:8.2f} s")
    print(f"retention calibrate {t_cal:8.2f} s  (pull {got['seconds']['pull']:.2f} s, reshuffles "
          f"{got['seconds']['runs']:.2f} s = {1000 * got['seconds']['runs'] / args.runs:.1f} ms per run)")
    print(f"ratio calibrate / analyze {t_cal / t_an:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

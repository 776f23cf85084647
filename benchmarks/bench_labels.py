"""Benchmark: churn labels from an event log, ``retention label`` (DuckDB) vs the same columns in pandas.

Each side runs as a whole, fresh Python process (imports, reading the Parquet file, computing, writing its
output), measured for wall time and peak resident memory of the process tree (benchmarks/_harness.py). Both sides
compute, per subscriber, frequency, monetary value, recency and the median gap between active days, and the own-gap
label (3 x gap, at least 7 days, 30 days without a gap); the outputs are compared row by row.

Usage::

    .venv/bin/python benchmarks/bench_labels.py [--subscribers 200000]

The event log (simulated daily, weekly and monthly users, experiments/diagnosis/simulate_events.py) is generated
once under ``benchmarks/data/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RTOL = 1e-9  # same arithmetic, float noise only

PANDAS = r'''
import sys
import numpy as np
import pandas as pd

src, out, as_of = sys.argv[1], sys.argv[2], pd.Timestamp(sys.argv[3])
ev = pd.read_parquet(src, columns=["subscriber_id", "ts", "value"])
ev = ev[ev["ts"] <= as_of]
g = ev.groupby("subscriber_id")
res = pd.DataFrame({"frequency": g.size(), "monetary": g["value"].sum(), "last": g["ts"].max()})
days = ev.assign(day=ev["ts"].dt.floor("D"))[["subscriber_id", "day"]].drop_duplicates()
days = days.sort_values(["subscriber_id", "day"])
gap = days.groupby("subscriber_id")["day"].diff().dt.days
res["typical_gap_days"] = gap.groupby(days["subscriber_id"]).median()
res["recency_days"] = (as_of - res.pop("last")).dt.total_seconds() / 86400
thr = np.where(res["typical_gap_days"].isna(), 30.0, np.maximum(3 * res["typical_gap_days"], 7.0))
res["churned"] = (res["recency_days"] > thr).astype(int)
res.reset_index().to_parquet(out, index=False)
'''


def generate(path: Path, subscribers: int, seed: int = 20261207) -> tuple[int, str]:
    """Write the event log in chunks of 20,000 subscribers; return the number of events and the snapshot."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(HERE.parent))
    from experiments.diagnosis.simulate_events import simulate_events

    streams = np.random.default_rng(seed).spawn(max(1, -(-subscribers // 20_000)))
    n, as_of, writer = 0, None, None
    for i, gen in enumerate(streams):
        size = min(20_000, subscribers - i * 20_000)
        sim = simulate_events(n_subscribers=size, rng=gen)
        ev = sim.events
        ids = ev["subscriber_id"].str[1:].astype("int64") + i * 20_000
        table = pa.table({"subscriber_id": ids.to_numpy(), "ts": ev["ts"].to_numpy(), "value": ev["value"].to_numpy()})
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
        n, as_of = n + len(ev), sim.as_of
    assert writer is not None
    writer.close()
    return n, as_of.date().isoformat()


def main() -> None:
    sys.path.insert(0, str(HERE))
    from _harness import measure, table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscribers", type=int, default=200_000)
    a = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    src = DATA / f"events_{a.subscribers}.parquet"
    import pyarrow.parquet as pq

    if not src.exists():
        n, as_of = generate(src, a.subscribers)
    else:
        n, as_of = pq.ParquetFile(src).metadata.num_rows, "2027-01-01"
    with tempfile.TemporaryDirectory() as tmp:
        ours_out, ref_out = Path(tmp) / "labels.parquet", Path(tmp) / "ref.parquet"
        script = Path(tmp) / "ref.py"
        script.write_text(PANDAS)
        retention = str(Path(sys.executable).with_name("retention"))
        ours = measure([retention, "label", "--events", str(src), "--value", "value", "--as-of", as_of,
                        "--split-at", "none", "--out", str(ours_out)])
        ref = measure([sys.executable, str(script), str(src), str(ref_out), as_of])
        import numpy as np
        import pandas as pd

        got = pd.read_parquet(ours_out).set_index("subscriber_id").sort_index()
        want = pd.read_parquet(ref_out).set_index("subscriber_id").sort_index()
        for col in ("frequency", "monetary", "recency_days", "typical_gap_days", "churned"):
            np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=RTOL,
                                       equal_nan=True, err_msg=col)
    print(f"## retention label on {n:,} events of {a.subscribers:,} subscribers (same columns, checked equal)\n")
    print(table([("retention label (DuckDB)", ours), ("pandas script", ref)], reference="pandas script"))


if __name__ == "__main__":
    main()

"""Benchmark of the uplift pipeline (issue 6): 1M subscribers x 20 features x 3 arms.

``python benchmarks/bench_uplift.py --n 1000000 --cf-n 200000`` writes the simulator's experiment plus 12 pure-noise
numeric columns (to reach 20 raw features) to ``benchmarks/data/uplift_<n>.parquet`` and times whole processes
(wall time, peak RSS of the process tree, ``_harness.measure``):

* ``ours``: :func:`experiments.uplift.analyze_uplift` without refutations (cross-fitted DR learner, evaluation with
  bootstrap intervals, policy, its DR evaluation and the policy tree), reading the columns it needs from the
  Parquet file itself, as ``retention uplift`` does;
* ``ours@cf-n``: the same on the first ``cf-n`` rows, for a like-for-like comparison;
* ``econml-dr``: the issue's yardstick, EconML's ``DRLearner`` with histogram-GBM nuisance models alone (propensity
  and outcome ``HistGradientBoostingClassifier`` with scikit-learn's defaults, ``discrete_outcome=True``, its default
  linear final stage and 2 folds) fitted on all rows, plus ``effect`` per arm: the issue quotes about 20 s for it on
  its machine, so it tells how fast the machine of the run is;
* ``econml-cf@cf-n``: EconML's ``CausalForestDML`` with its defaults (``discrete_treatment=True``,
  ``discrete_outcome=True``; nuisance models ``'auto'``) fitted once on the first ``cf-n`` rows, plus ``effect``;
  killed and reported as unfinished after ``--cf-timeout`` seconds (default 1200).

Each stage prints one JSON line with its inner timings and (for ours) the policy's true value against the oracle,
computed from the simulator's individual effects.
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
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # uplift_helpers
DATA = HERE / "data"
NOISE = 12
FEATURES = ["region", "tenure_months", "plan", "arpu", "data_usage_ratio", "cs_calls_90d", "days_to_contract_end",
            "price_sensitivity", *[f"noise_{i}" for i in range(NOISE)]]


def make_data(n: int, seed: int) -> tuple[Path, Path]:
    import numpy as np

    from experiments.simulate.operator import simulate_operator

    exp_path, truth_path = DATA / f"uplift_{n}.parquet", DATA / f"uplift_{n}_truth.parquet"
    if exp_path.exists() and truth_path.exists():
        return exp_path, truth_path
    DATA.mkdir(parents=True, exist_ok=True)
    sim = simulate_operator(n_subscribers=n, rng=seed)
    g = np.random.default_rng(seed + 1)
    exp = sim.experiment.assign(**{f"noise_{i}": g.normal(size=n) for i in range(NOISE)})
    exp.to_parquet(exp_path)
    sim.truth_effects.to_parquet(truth_path)
    return exp_path, truth_path


def design(path: Path, n_bootstrap: int):
    import yaml

    from experiments.simulate.operator import simulate_operator
    from experiments.simulate.output import design_yaml
    from experiments.spec.models import parse_design

    raw = yaml.safe_load(design_yaml(simulate_operator(n_subscribers=1_000, rng=0), source=str(path)))
    raw["uplift"] = {"features": FEATURES, "metric": "churn_90d", "n_bootstrap": n_bootstrap}
    return parse_design(raw)


def stage_ours(path: Path, truth: Path, rows: int | None, threads: int, n_bootstrap: int) -> dict:
    import numpy as np
    import pandas as pd
    from uplift_helpers import oracle_value, true_net_values, true_value, would_stay_anyway

    from experiments.uplift.analyze import analyze_uplift
    from experiments.uplift.policy import PolicyCosts
    from experiments.uplift.prepare import retention_value

    t0 = time.perf_counter()
    d = design(path, n_bootstrap)
    if rows is None:
        # the whole file: the pipeline reads it itself, only the columns it needs (as `retention uplift` does)
        data = None
        t_read = time.perf_counter() - t0
        res = analyze_uplift(d, rng=0, refute=False, n_threads=threads)
        total = time.perf_counter() - t0
        data = pd.read_parquet(path, columns=["subscriber_id", "monthly_margin"])
    else:
        data = pd.read_parquet(path).head(rows)
        t_read = time.perf_counter() - t0
        res = analyze_uplift(d, data, rng=0, refute=False, n_threads=threads)
        total = time.perf_counter() - t0
    te = pd.read_parquet(truth).set_index("subscriber_id").loc[data["subscriber_id"]]
    v = retention_value(d, data)
    n = len(data)
    true_net = true_net_values(te, res.crossfit.arms, v, PolicyCosts.from_design(d, res.crossfit.arms))
    learned, oracle = true_value(true_net, res.policy.choice), oracle_value(true_net)
    corr = {a: float(np.corrcoef(res.crossfit.cate[:, j], te[f"tau_{a}"])[0, 1])
            for j, a in enumerate(res.crossfit.arms[1:], start=1)}
    stay, disc = would_stay_anyway(te), res.crossfit.arms.index("contract_discount")
    return {"stage": "ours", "rows": n, "threads": threads, "seconds_inside": total, "read": t_read,
            **{f"s_{k}": v for k, v in res.seconds.items()},
            "policy_true_value": learned, "oracle_true_value": oracle, "ratio_to_oracle": learned / oracle,
            "baselines_true": {a: float(true_net[:, j].mean()) for j, a in enumerate(res.crossfit.arms)},
            "cate_truth_corr": corr, "policy_dr_value": res.policy.value.value,
            "policy_dr_ci": list(res.policy.value.ci), "share": res.policy.share,
            "discount_share_among_stayers": float(np.mean(res.policy.choice[stay] == disc)),
            "blp_slope": {a: ev.blp.beta2 for a, ev in res.arms.items()},
            "rules": res.policy.rules}


def stage_cf(path: Path, rows: int, threads: int) -> dict:
    import numpy as np
    import pandas as pd
    from econml.dml import CausalForestDML
    from threadpoolctl import threadpool_limits

    from experiments.uplift.prepare import prepare_uplift_data

    t0 = time.perf_counter()
    d = design(path, 20)
    data = pd.read_parquet(path).head(rows)
    ud = prepare_uplift_data(d, data)
    arms = [d.control, *d.treatments]
    t = np.array([arms.index(a) for a in ud.arm])
    with threadpool_limits(limits=threads, user_api="openmp"):
        est = CausalForestDML(discrete_treatment=True, discrete_outcome=True, random_state=0)
        est.fit(ud.y, t, X=ud.X)
        eff = [est.effect(ud.X, T0=0, T1=j) for j in (1, 2)]
    return {"stage": "econml_causal_forest_defaults", "rows": rows, "seconds_inside": time.perf_counter() - t0,
            "effect_mean": [float(np.mean(e)) for e in eff]}


def stage_dr(path: Path, threads: int) -> dict:
    import numpy as np
    import pandas as pd
    from econml.dr import DRLearner
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    from experiments.uplift.prepare import prepare_uplift_data

    t0 = time.perf_counter()
    d = design(path, 20)
    ud = prepare_uplift_data(d, pd.read_parquet(path))
    arms = [d.control, *d.treatments]
    t = np.array([arms.index(a) for a in ud.arm])
    t_fit = time.perf_counter()
    with threadpool_limits(limits=threads, user_api="openmp"):
        est = DRLearner(model_propensity=HistGradientBoostingClassifier(random_state=0),
                        model_regression=HistGradientBoostingClassifier(random_state=0), discrete_outcome=True,
                        random_state=0)
        est.fit(ud.y, t, X=ud.X)
        eff = [est.effect(ud.X, T0=0, T1=j) for j in (1, 2)]
    return {"stage": "econml_dr_hgb_alone", "rows": int(ud.y.size), "seconds_inside": time.perf_counter() - t0,
            "fit_and_effect": time.perf_counter() - t_fit, "effect_mean": [float(np.mean(e)) for e in eff]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--cf-n", type=int, default=200_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-cf", action="store_true")
    ap.add_argument("--skip-dr", action="store_true", help="skip EconML's DR learner with GBM nuisances alone")
    ap.add_argument("--skip-ours-cf-n", action="store_true", help="skip ours on the first --cf-n rows")
    ap.add_argument("--cf-timeout", type=float, default=1200.0,
                    help="seconds after which the causal-forest reference is killed and reported as unfinished")
    ap.add_argument("--stage", choices=["ours", "cf", "dr"], help=argparse.SUPPRESS)
    ap.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--truth", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage in ("ours", "cf", "dr"):
        import resource

        if args.stage == "ours":
            out = stage_ours(Path(args.path), Path(args.truth), args.rows, args.threads, args.bootstrap)
        elif args.stage == "cf":
            out = stage_cf(Path(args.path), args.rows, args.threads)
        else:
            out = stage_dr(Path(args.path), args.threads)
        ru = resource.getrusage(resource.RUSAGE_SELF)
        print(json.dumps({**out, "cpu_s": ru.ru_utime + ru.ru_stime}))  # CPU time: what an idle core would need
        return

    sys.path.insert(0, str(HERE))
    from _harness import measure

    exp_path, truth_path = make_data(args.n, args.seed)
    me = [sys.executable, str(Path(__file__).resolve()), "--path", str(exp_path), "--truth", str(truth_path),
          "--threads", str(args.threads), "--bootstrap", str(args.bootstrap)]
    runs = [("ours", me + ["--stage", "ours"])]
    if not args.skip_dr:
        runs.append(("econml-dr-hgb-alone", me + ["--stage", "dr"]))
    if not args.skip_ours_cf_n:
        runs.append((f"ours@{args.cf_n}", me + ["--stage", "ours", "--rows", str(args.cf_n)]))
    if not args.skip_cf:
        runs.append((f"econml-cf@{args.cf_n}", me + ["--stage", "cf", "--rows", str(args.cf_n)]))
    load = os.getloadavg()
    print(f"uptime before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    for name, cmd in runs:
        limit = args.cf_timeout if name.startswith("econml-cf") else 7200
        try:
            r = measure(cmd, timeout=limit)
        except RuntimeError as err:
            if "timed out" not in str(err):
                raise
            up = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
            print(json.dumps({"run": name, "did_not_finish": True, "killed_after_s": limit, "uptime_after": up}))
            continue
        inner = json.loads(r.stdout.strip().splitlines()[-1])
        up = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        print(json.dumps({"run": name, "wall_s": round(r.seconds, 2), "peak_mb": round(r.peak_mb), **inner,
                          "uptime_after": up}))
    print(f"load average at start: {load}")


if __name__ == "__main__":
    main()

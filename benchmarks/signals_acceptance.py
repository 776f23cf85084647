"""Acceptance figures of the churn signals (issue 17, items 1, 5 and 6) on the seeded simulators.

    python benchmarks/signals_acceptance.py [--seeds 20] [--quick]

Prints, as Markdown tables:

1. labels from activity against the event simulator's truth, per usage rhythm, for the fixed window (30 days),
   the per-tier windows (7/14/30) and the own-gap rule (3 x typical gap, at least 7 days), over several seeds;
2. reason tagging accuracy against the complaint simulator's true reasons, per language, for the sentences the
   catalogue was written beside ("seen"), the held-out sentences written after it was frozen, the default mix of
   the two, and the "fresh" sentences written by a session blind to the catalogue and to the other banks;
3. one round of the topic -> catalogue loop: topics of the untagged texts of one sample, a simulated analyst
   adding their top words to the reason most of their texts have, accuracy on fresh samples;
4. coverage of the DoWhy driver-effect interval over seeds (propensity weighting and linear regression), the mean
   estimate against the true effect, the naive difference, and how often each refuter passed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def labels_table(seeds: list[int], n: int) -> pd.DataFrame:
    from experiments.diagnosis.labels import LabelRuleSpec, agreement, label_activity
    from experiments.diagnosis.simulate_events import simulate_events

    rows = []
    for seed in seeds:
        sim = simulate_events(n_subscribers=n, rng=seed)
        for rule in ("fixed", "tier", "own_gap"):
            res = label_activity(sim.events, subscriber="subscriber_id", timestamp="ts", value="value",
                                 as_of=sim.as_of, rule=LabelRuleSpec(rule=rule))
            f = res.frame.merge(sim.truth, on="subscriber_id", suffixes=("", "_true"))
            t = agreement(f["churned"], f["churned_true"], by=f["rhythm"]).table
            rows += [{"seed": seed, "rule": rule, **r} for r in t.to_dict("records")]
            # decidable: never churned, or churned more than 90 days before the snapshot (no rule here waits longer
            # for a monthly user, so a later churner cannot yet be told from one between two bills)
            old = f[f["churn_time"].isna() | (f["churn_time"] < sim.as_of - pd.Timedelta(days=90))]
            t = agreement(old["churned"], old["churned_true"], by=old["rhythm"]).table
            rows += [{"seed": seed, "rule": rule, **r, "group": f"{r['group']} (decidable)"}
                     for r in t.to_dict("records") if r["group"] in ("monthly", "all")]
    out = pd.DataFrame(rows).groupby(["group", "rule"], sort=False)[["accuracy", "kappa", "precision", "recall"]]
    return out.mean().round(3).reset_index()


def reasons_table(seeds: list[int], n: int) -> pd.DataFrame:
    from experiments.diagnosis.reasons import tag_reasons
    from experiments.diagnosis.simulate_text import simulate_complaints

    rows = []
    for lang in ("en", "zh"):
        for seed in seeds:
            # the simulator's default mix (half seen, half held-out), and texts from the fresh bank alone
            for mix, shares in (("default mix", {}), ("fresh", {"heldout_share": 0.0, "fresh_share": 1.0})):
                sim = simulate_complaints(n, lang=lang, rng=seed, **shares)
                res = tag_reasons(sim, text="complaint", lang=lang, topics=0)
                ok = res.tagged["reason"].to_numpy() == sim["true_reason"].to_numpy()
                two = sim["second_reason"].notna().to_numpy()
                for bank in (("seen", "heldout", "all") if mix == "default mix" else ("fresh",)):
                    m = np.ones(len(sim), bool) if bank == "all" else (sim["bank"] == bank).to_numpy()
                    rows.append({"lang": lang, "seed": seed, "bank": bank if bank != "all" else "all (default mix)",
                                 "accuracy": ok[m].mean(), "accuracy_two_topics": ok[m & two].mean(),
                                 "n": int(m.sum())})
    return (pd.DataFrame(rows).groupby(["lang", "bank"], sort=False)[["accuracy", "accuracy_two_topics", "n"]]
            .mean().round(3).reset_index())


def extension_table(seeds: list[int], n: int) -> pd.DataFrame:
    """Topics on one sample, a simulated analyst extends the catalogue, accuracy on fresh samples."""
    from experiments.diagnosis.reasons import Catalogue, load_catalogue, tag_reasons
    from experiments.diagnosis.simulate_text import analyst_extension, simulate_complaints

    rows = []
    for lang in ("en", "zh"):
        a = simulate_complaints(2000, lang=lang, rng=101)
        ext = analyst_extension(tag_reasons(a, text="complaint", lang=lang, topics=10), a["true_reason"],
                                a["complaint"])
        cat = load_catalogue().merged(Catalogue.model_validate(ext))
        added = sum(len(v[lang]) for v in ext["reasons"].values())
        for seed in seeds:
            b = simulate_complaints(n, lang=lang, rng=seed)
            for name, c in (("built-in", None), ("extended", cat)):
                ok = tag_reasons(b, text="complaint", lang=lang, topics=0, catalogue=c).tagged["reason"].to_numpy() \
                    == b["true_reason"].to_numpy()
                held = (b["bank"] == "heldout").to_numpy()
                rows.append({"lang": lang, "catalogue": name, "words_added": added if c else 0,
                             "accuracy": ok.mean(), "accuracy_seen": ok[~held].mean(),
                             "accuracy_heldout": ok[held].mean()})
    return (pd.DataFrame(rows).groupby(["lang", "catalogue"], sort=False).mean(numeric_only=True).round(3)
            .reset_index())


def driver_table(seeds: list[int], n: int, sims: int) -> pd.DataFrame:
    import yaml

    from experiments.diagnosis.driver_effect import driver_effect, parse_driver_spec
    from experiments.diagnosis.simulate_driver import GRAPH_YAML, simulate_driver_data

    rows = []
    for method in ("propensity_score_weighting", "linear_regression"):
        spec = parse_driver_spec({**yaml.safe_load(GRAPH_YAML), "method": method})
        for seed in seeds:
            sim = simulate_driver_data(n, rng=seed)
            res = driver_effect(sim.frame, spec, n_simulations=sims, n_bootstrap=100, rng=seed)
            rows.append({"method": method, "seed": seed, "truth": sim.true_ate, "estimate": res.estimate,
                         "covered": res.ci[0] <= sim.true_ate <= res.ci[1], "ci_width": res.ci[1] - res.ci[0],
                         "naive": res.naive_difference,
                         **{f"{r.name}_passed": r.passed for r in res.refuters}})
    df = pd.DataFrame(rows)
    return df.groupby("method", sort=False).agg(
        seeds=("seed", "size"), truth=("truth", "mean"), estimate=("estimate", "mean"),
        estimate_sd=("estimate", "std"), coverage=("covered", "mean"), ci_width=("ci_width", "mean"),
        naive=("naive", "mean"), placebo_passed=("placebo_treatment_passed", "mean"),
        subset_passed=("data_subset_passed", "mean"), random_cause_passed=("random_common_cause_passed", "mean"),
    ).round(4).reset_index()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20, help="seeds of the driver-effect coverage")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--only", choices=["labels", "reasons", "driver"], help="one table only")
    a = ap.parse_args()
    t0 = time.perf_counter()
    n_ev, n_txt, n_drv = (800, 400, 2000) if a.quick else (3000, 2000, 5000)
    if a.only in (None, "labels"):
        print("## Labels from activity vs the simulated truth (mean over seeds 1-5)\n")
        print(labels_table(list(range(1, 6)), n_ev).to_markdown(index=False), "\n")
    if a.only in (None, "reasons"):
        print("## Reason tagging vs the simulated true reason (mean over seeds 1-5)\n")
        print(reasons_table(list(range(1, 6)), n_txt).to_markdown(index=False), "\n")
        print("## One round of catalogue extension from topics (sample seed 101, scored on seeds 1-5)\n")
        print(extension_table(list(range(1, 6)), n_txt).to_markdown(index=False), "\n")
    if a.only in (None, "driver"):
        print(f"## DoWhy driver effect over {a.seeds} seeds (n = {n_drv:,}, 95% intervals)\n")
        print(driver_table(list(range(a.seeds)), n_drv, sims=10).to_markdown(index=False), "\n")
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

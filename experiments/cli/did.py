"""`retention did`: the competitor-promotion difference-in-differences study.

Two forms: ``retention did DESIGN.yaml --json OUT`` (a design of ``kind: did``) or the ad-hoc
``retention did --data PATH --unit COL --time COL --outcome COL --treat COL [--weight COL] [--cluster COL]
[--se iid|hc1|cluster|wild] [--staggered] --json OUT``. Flags override the design.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from experiments.cli._common import console, domain_errors, register_domain_error
from experiments.cli.app import app
from experiments.data.io import to_json, write_outputs
from experiments.errors import DesignError


def _register() -> None:
    from causal.errors import CausalError

    register_domain_error(CausalError)


@app.command("did")
@domain_errors
def did_command(
    design: Path | None = typer.Argument(None, help="Design file of kind 'did' (optional with --data)."),
    data: str | None = typer.Option(None, "--data", help="Panel or subscriber-month rows (.parquet/.csv/duckdb://)."),
    unit: str | None = typer.Option(None, "--unit", help="Unit (region) column."),
    time: str | None = typer.Option(None, "--time", help="Period column (integer index or date)."),
    outcome: str | None = typer.Option(None, "--outcome", help="Outcome column (churn indicator or rate)."),
    treat: str | None = typer.Option(None, "--treat", help="0/1 promotion column (absorbing)."),
    weight: str | None = typer.Option(None, "--weight", help="Weight column, e.g. subscribers per cell."),
    cluster: str | None = typer.Option(None, "--cluster", help="Cluster column (default: the unit)."),
    covariate: list[str] = typer.Option([], "--covariate", help="Cell-level covariate (repeatable)."),
    se: str | None = typer.Option(None, "--se", help="auto|iid|hc1|cluster|wild (auto: wild below 50 clusters)."),
    staggered: bool | None = typer.Option(None, "--staggered/--no-staggered", help="Callaway–Sant'Anna headline."),
    control: str | None = typer.Option(None, "--control", help="Staggered controls: never|notyet."),
    alpha: float | None = typer.Option(None, "--alpha", help="Significance level."),
    n_boot: int | None = typer.Option(None, "--n-boot", help="Wild-bootstrap draws."),
    n_perm: int | None = typer.Option(None, "--n-perm", help="Randomization-inference permutations (0 skips)."),
    pretest: str | None = typer.Option(None, "--pretest",
                                       help="Staggered pre-trend test: bootstrap (default; calibrated with few "
                                            "units) or wald (R did's χ² test)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the bootstrap and permutations."),
    value_per_subscriber: float | None = typer.Option(None, "--value-per-subscriber", help="Value per churner."),
    json_out: Path = typer.Option(..., "--json", help="Write the result as JSON here."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
) -> None:
    """Estimate a competitor promotion's effect on churn by difference-in-differences."""
    _register()
    from causal.did import DiD, check_choice

    settings: dict[str, Any] = {"weight": weight, "cluster": cluster, "covariates": tuple(covariate)}
    cols = {"unit": unit, "time": time, "outcome": outcome, "treat": treat}
    opts: dict[str, Any] = {"se": "auto", "staggered": False, "control": "never", "alpha": 0.05, "n_boot": 9999,
                            "n_perm": 999, "n_placebo": 200, "rng": 20261122, "value": value_per_subscriber,
                            "pretest": "bootstrap"}
    source: Any = data
    if design is not None:
        from experiments.spec.models import load_design

        d = load_design(design)
        if getattr(d, "kind", None) != "did":
            raise DesignError(f"{design}: kind is {getattr(d, 'kind', None)!r}; `retention did` needs a design with "
                              "kind: did (see designs/competitor_promo_did.yaml)")
        source = data if data is not None else d.resolve(d.data.source)
        for key in cols:
            cols[key] = cols[key] or getattr(d.data, key)
        settings["weight"] = weight or d.data.weight
        settings["cluster"] = cluster or d.data.cluster
        settings["covariates"] = tuple(covariate) or tuple(d.data.covariates)
        a = d.analysis
        opts.update(se=a.se, staggered=a.staggered, control=a.control, alpha=a.alpha, n_boot=a.n_boot,
                    n_perm=a.n_perm, n_placebo=a.n_placebo, rng=a.seed, event_window=a.event_window,
                    pretest=a.pretest)
        if value_per_subscriber is None:
            opts["value"] = d.data.value or d.value_per_subscriber
    missing = [f"--{k}" for k, v in cols.items() if v is None]
    if source is None:
        raise DesignError("no data: pass a design file of kind 'did' or --data PATH with --unit, --time, --outcome "
                          "and --treat")
    if missing:
        raise DesignError(f"missing {', '.join(missing)}: name the columns with these flags (or in the design's data "
                          "section)")
    for key, val in (("se", se), ("staggered", staggered), ("control", control), ("alpha", alpha),
                     ("n_boot", n_boot), ("n_perm", n_perm), ("rng", seed), ("pretest", pretest)):
        if val is not None:
            opts[key] = val
    check_choice(opts["se"], ("auto", "iid", "hc1", "cluster", "wild"), "--se")
    check_choice(opts["control"], ("never", "notyet"), "--control")
    check_choice(opts["pretest"], ("bootstrap", "wald"), "--pretest")
    from experiments.data.engine import open_table

    table = open_table(source)
    model = DiD(**cols, **settings, **opts)  # type: ignore[arg-type]
    res = model.fit(table).result_
    payload = res.to_dict()
    write_outputs({json_out: to_json(payload)}, force=force)
    lvl = int(round((1 - res.alpha) * 100))
    if "Warning" in res.se_reason:
        console.print("WARN " + res.se_reason)
    console.print(f"ATT {res.att:.6g} (SE {res.se:.3g}, {lvl}% CI {res.ci[0]:.6g} to {res.ci[1]:.6g}, "
                  f"p = {res.p_value:.3g}; {res.se_type}; {res.n_clusters} clusters, {res.n_obs:,} rows)")
    console.print(res.inference_headline)
    if res.business is not None:
        console.print(f"excess churners {res.business.excess:,.0f} "
                      f"(CI {res.business.ci[0]:,.0f} to {res.business.ci[1]:,.0f})")
    else:
        console.print(f"effect in the units of {cols['outcome']!r} (not a churn indicator or rate, so no excess "
                      "churners or value lost)")
    for ref in res.refutations.values():
        console.print({"passed": "ok   ", "failed": "WARN ", "not applicable": "n/a  "}[ref.status] + ref.message)
    console.print(f"wrote {json_out}")

"""`retention simulate`: write a simulated operator (subscribers, experiment, panel, truth) to a folder."""

from __future__ import annotations

from pathlib import Path

import typer

from experiments.cli._common import console, domain_errors, is_interactive
from experiments.cli.app import app

DEFAULT_SEED = 20260701


@app.command("simulate")
@domain_errors
def simulate(
    out: Path = typer.Option(..., "--out", help="Folder to write the files into (created if missing)."),
    subscribers: int = typer.Option(200_000, "--subscribers",
                                    help="Number of eligible subscribers (1,000 to 20,000,000)."),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Seed of the random streams; same seed, same files."),
    force: bool = typer.Option(False, "--force", help="Overwrite files that already exist in --out."),
) -> None:
    """Simulate an operator's subscribers, a 3-arm retention experiment, a region x month panel and the truth.

    Writes subscribers.parquet, experiment.parquet, panel.parquet, truth_effects.parquet, truth.json and
    design.yaml. The true effects (truth*.parquet/json) are for tests; analyses read experiment.parquet through
    design.yaml. The data-generating process is documented in docs/simulator.md.
    """
    from experiments.data.io import check_writable
    from experiments.simulate.config import MAX_SUBSCRIBERS, MIN_SUBSCRIBERS, OUTPUT_FILES, SimulationConfigError
    from experiments.simulate.operator import simulate_operator
    from experiments.simulate.output import write_simulation

    if subscribers < MIN_SUBSCRIBERS:
        raise SimulationConfigError(
            f"--subscribers: found {subscribers}; the simulator needs at least {MIN_SUBSCRIBERS} so that every "
            f"arm and region is populated; pass --subscribers {MIN_SUBSCRIBERS} or more"
        )
    if subscribers > MAX_SUBSCRIBERS:
        raise SimulationConfigError(
            f"--subscribers: found {subscribers:,}; the simulator holds everything in memory (about 1.3 GB per "
            f"million subscribers); pass --subscribers {MAX_SUBSCRIBERS:,} or fewer"
        )
    if seed < 0:
        raise SimulationConfigError(f"--seed: found {seed}; pass a non-negative integer")
    if out.exists() and not out.is_dir():
        raise SimulationConfigError(f"--out: {str(out)!r} is a file, not a folder; choose a folder for the output")
    # Refuse before spending time on the simulation (write_simulation checks again before writing).
    check_writable([out / name for name in OUTPUT_FILES], force)

    if is_interactive():
        with console.status(f"Simulating {subscribers:,} subscribers ..."):
            sim = simulate_operator(n_subscribers=subscribers, rng=seed)
            paths = write_simulation(sim, out, force=force)
    else:
        sim = simulate_operator(n_subscribers=subscribers, rng=seed)
        paths = write_simulation(sim, out, force=force)

    from rich.table import Table

    rows = {
        "subscribers": len(sim.subscribers), "experiment": len(sim.experiment), "panel": len(sim.panel),
        "truth_effects": len(sim.truth_effects),
    }
    files = Table(title=f"Simulation written to {out}", show_header=True, header_style="bold")
    files.add_column("file")
    files.add_column("rows", justify="right")
    for key, path in paths.items():
        files.add_row(path.name, f"{rows[key]:,}" if key in rows else "")
    console.print(files)

    t = sim.truth
    effects = Table(title="True effects (analytic; for tests)", show_header=True, header_style="bold")
    effects.add_column("arm")
    for col in ("churn 30d", "churn 90d", "revenue 90d", "acceptance"):
        effects.add_column(col, justify="right")
    effects.add_row("control (level)", f"{t['control']['churn_30d']:.2%}", f"{t['control']['churn_90d']:.2%}",
                    f"{t['control']['revenue_90d']:.2f}", "")
    for arm, ate in t["ate"].items():
        effects.add_row(f"{arm} (vs control)", f"{ate['churn_30d'] * 100:+.2f} pp", f"{ate['churn_90d'] * 100:+.2f} pp",
                        f"{ate['revenue_90d']:+.2f}", f"{t['acceptance_rate'][arm]:.1%}")
    console.print(effects)
    promo = t["promo"]
    console.print(f"Competitor promotion: true ATT on the monthly churn rate {promo['att_overall'] * 100:+.3f} pp "
                  f"(cohorts starting at months {', '.join(map(str, promo['att_by_cohort']))}).")

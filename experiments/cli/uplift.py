"""``retention uplift``: per-arm uplift, the value-aware offer policy and its evaluation."""

from __future__ import annotations

from pathlib import Path

import typer

from experiments.cli._common import console, domain_errors
from experiments.cli.app import app
from experiments.data.io import check_writable, to_json, write_outputs


@app.command()
@domain_errors
def uplift(
    design_path: Path = typer.Argument(..., metavar="DESIGN", help="Design YAML file with an uplift section."),
    out: Path = typer.Option(..., "--out", help="Folder for uplift.json and the plots (created if needed)."),
    data: str | None = typer.Option(None, "--data", help="Data source overriding data.source."),
    seed: int = typer.Option(0, "--seed", help="Seed of folds, models, bootstraps and refuters."),
    no_refute: bool = typer.Option(False, "--no-refute", help="Skip DoWhy's refuters (faster)."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Per-subscriber uplift of every arm, the offer policy that maximises net value, and its held-out value."""
    from experiments.cli.analyze import _load_experiment
    from experiments.uplift.analyze import analyze_uplift

    design = _load_experiment(design_path)
    targets = {"json": out / "uplift.json", "qini": out / "uplift_qini.html",
               "calibration": out / "uplift_calibration.html", "rules": out / "policy_rules.txt"}
    check_writable(list(targets.values()), force)  # fail before the work, and again (atomically) when writing
    result = analyze_uplift(design, data, rng=seed, refute=not no_refute)
    summary = result.summary()
    console.print(summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    console.print(result.policy.summary().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for rule in result.policy.rules:
        console.print(f"  {rule}")
    files = {
        targets["json"]: to_json(result.to_dict()),
        targets["qini"]: result.plot().to_html(include_plotlyjs=True, full_html=True),
        targets["calibration"]: result.plot_calibration().to_html(include_plotlyjs=True, full_html=True),
        targets["rules"]: "\n".join(result.policy.rules) + "\n",
    }
    write_outputs(files, force)
    console.print(f"wrote {targets['json']}")

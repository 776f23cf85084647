"""``retention calibrate``: A/A checks of the analysis's tests on the user's own data (docs/calibration.md)."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from experiments.cli._common import console, domain_errors, is_interactive
from experiments.cli.app import app
from experiments.data.io import to_json, write_outputs
from experiments.errors import DesignError


def _pct(rate: float) -> str:
    return "n/a" if math.isnan(rate) else f"{100 * rate:.1f}%"


def parse_runs(value: str) -> int:
    """``--runs`` as a whole number of at least 1; a one-line domain error otherwise."""
    try:
        runs = int(value)
    except ValueError:
        raise DesignError(f"--runs: {value!r} is not a whole number; give the number of reshuffles, e.g. "
                          "--runs 500") from None
    if runs < 1:
        raise DesignError(f"--runs: {runs} reshuffles cannot calibrate anything; give at least 1 (e.g. --runs 500)")
    return runs


@app.command("calibrate")
@domain_errors
def calibrate_command(
    design_path: Path = typer.Argument(..., metavar="DESIGN", help="Design YAML file of an experiment."),
    runs: str = typer.Option("500", "--runs", help="Reshuffles of the arm labels (default 500)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the calibration as JSON here."),
    data: str | None = typer.Option(None, "--data", help="Data source overriding data.source."),
    stratum: str | None = typer.Option(None, "--stratum",
                                       help="Column to reshuffle within (default: data.stratum, else the design's "
                                            "strata columns present in the data)."),
    winsorize: float = typer.Option(0.99, "--winsorize", help="Quantile of the heavy-tail remedy (0.5 to 1)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the reshuffles (same seed, same result)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --json file."),
) -> None:
    """A/A calibration: reshuffle arm labels within strata, rerun every test, report false positives and coverage."""
    from experiments.analysis.calibrate import calibrate
    from experiments.cli.analyze import _load_experiment
    from experiments.data.io import check_writable

    n_runs = parse_runs(runs)
    design = _load_experiment(design_path)
    if json_out is not None:
        check_writable([json_out], force)  # fail before the work, and again (atomically) when writing
    if is_interactive():
        from rich.progress import Progress

        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("reshuffling", total=n_runs)
            result = calibrate(design, data, runs=n_runs, seed=seed, winsor_quantile=winsorize, stratum=stratum,
                               progress=lambda k: bar.advance(task, k))
    else:
        result = calibrate(design, data, runs=n_runs, seed=seed, winsor_quantile=winsorize, stratum=stratum)
    print_calibration(result)
    if json_out is not None:
        write_outputs({json_out: to_json(result.to_dict())}, force)
        console.print(f"wrote {json_out}")


def print_calibration(result) -> None:
    """The calibration as rich tables on the console."""
    from rich.table import Table

    console.print(f"[bold]A/A calibration[/bold] of {result.design!r}: {result.runs} reshuffles of {result.units:,} "
                  f"units, alpha {result.alpha}; rates with Clopper–Pearson 95% intervals")
    for note in result.notes:
        console.print(f"  {note}")
    t = Table("metric", "test", "arm", "false positives", "95% interval", "coverage", "95% interval", "verdict")
    for c in result.tests:
        r, cov = c.rejections, c.coverage
        t.add_row(c.metric, c.test, c.arm or "all", _pct(r.rate), f"{_pct(r.ci[0])}–{_pct(r.ci[1])}",
                  _pct(cov.rate) if cov else "", f"{_pct(cov.ci[0])}–{_pct(cov.ci[1])}" if cov else "",
                  c.verdict if c.verdict == "ok" else f"[bold red]{c.verdict}[/bold red]")
    console.print(t)
    s = result.srm
    console.print(f"sample-ratio check fails in {_pct(s.rate)} of runs ({_pct(s.ci[0])}–{_pct(s.ci[1])}); nominal "
                  f"{_pct(result.srm_alpha)}")
    if result.tails:
        tt = Table("metric", "arm", "excess kurtosis", "heavy-tailed", "Welch coverage", "relative-lift coverage",
                   "under-covers", "remedy coverage", "remedy relative")
        for h in result.tails:
            tt.add_row(h.metric, h.arm, f"{h.excess_kurtosis:.1f}", "yes" if h.heavy_tailed else "no",
                       _pct(h.welch_coverage.rate), _pct(h.relative_coverage.rate),
                       "[bold red]yes[/bold red]" if h.under_covers else "no", _pct(h.remedy_coverage.rate),
                       _pct(h.remedy_relative_coverage.rate))
        console.print(tt)
        console.print(f"remedy: {result.tails[0].remedy} (caps from the pooled data); nominal coverage "
                      f"{_pct(1 - result.alpha)}")

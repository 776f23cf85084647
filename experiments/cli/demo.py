"""``retention demo``: the whole loop on a simulated operator."""

from __future__ import annotations

from pathlib import Path

import typer

from experiments.cli._common import console, domain_errors
from experiments.cli.app import app


@app.command()
@domain_errors
def demo(
    out: Path = typer.Option(Path("demo"), "--out", help="Folder for the simulated data and the report."),
    subscribers: int = typer.Option(200_000, "--subscribers", help="Size of the simulated population."),
    seed: int = typer.Option(20260701, "--seed", help="Seed: the same seed gives the same data and numbers."),
    force: bool = typer.Option(False, "--force", help="Overwrite files from an earlier demo in --out."),
    lang: str = typer.Option("en", "--lang", help="Report language: en (English) or zh (Simplified Chinese); tags "
                                                  "such as en-US, zh-CN, zh_Hans work too."),
) -> None:
    """Simulate a mobile operator, run the whole loop on the embedded DuckDB engine, and write a report."""
    import time

    from experiments.demo import run_demo
    from experiments.report.i18n import parse_lang

    lang = parse_lang(lang)

    started = time.perf_counter()
    state = {"t": started, "n": 0}

    def step(msg: str) -> None:
        now = time.perf_counter()
        if state["n"]:
            console.print(f"  [dim]done in {now - state['t']:.1f} s[/dim]")
        state.update(t=now, n=state["n"] + 1)
        console.print(f"[bold]{state['n']}.[/bold] {msg} ...")

    res = run_demo(out, subscribers=subscribers, seed=seed, force=force, lang=lang, step=step)  # type: ignore[arg-type]
    console.print(f"  [dim]done in {time.perf_counter() - state['t']:.1f} s[/dim]\n")
    for s in res.sections:
        console.rule(s.title)
        for c in s.checks:
            if c.status != "ok":
                colour = "red" if c.status == "fail" else "yellow"
                console.print(f"[{colour}]{c.status.upper()}[/] {c.name}: {c.message}")
        for line in s.conclusions:
            console.print(f"• {line}")
    console.print(f"\nReport: [bold]{res.files['report']}[/bold]  (open it in a browser)")
    console.print(f"Data and results: {res.out}/ — results.json, results.xlsx, experiment.parquet, panel.parquet ...")
    console.print(f"[dim]Finished in {time.perf_counter() - started:.1f} s.[/dim]")

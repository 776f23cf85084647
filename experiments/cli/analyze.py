"""``retention analyze`` and ``retention validate``."""

from __future__ import annotations

from pathlib import Path

import typer

from experiments.cli._common import console, domain_errors, err_console, parse_date_option
from experiments.cli.app import app
from experiments.data.io import to_json, write_outputs


def _load_experiment(design_path: Path):
    from experiments.errors import DesignError
    from experiments.spec.models import ExperimentDesign, load_design

    design = load_design(design_path)
    if not isinstance(design, ExperimentDesign):
        raise DesignError(f"{design_path}: kind {design.kind!r} is not an experiment; "
                          f"use the command for that kind (e.g. retention {design.kind})")
    return design


def _process_age() -> float | None:
    """Seconds since this process started (Linux ``/proc``; None elsewhere): interpreter start-up plus imports."""
    import os

    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


@app.command()
@domain_errors
def validate(
    design_path: Path = typer.Argument(..., metavar="DESIGN", help="Design YAML file."),
    data: str | None = typer.Option(None, "--data", help="Data source overriding data.source."),
) -> None:
    """Check a design file and the columns it names, reading only the schema and the arm counts."""
    from experiments.analysis.experiment import _check_schema
    from experiments.data.sources import open_source
    from experiments.errors import DataError
    from experiments.spec.models import ExperimentDesign, load_design

    design = load_design(design_path)
    if isinstance(design, ExperimentDesign):
        source = open_source(data if data else design.resolve(design.data.source))
        _check_schema(source, design, design.data.stratum)
        counts = {r["arm"]: r["units"] for r in source.aggregate(arm=design.data.arm, metrics=[])}
        unknown = sorted(set(counts) - set(design.arms))
        missing = sorted(set(design.arms) - set(counts))
        if unknown or missing:
            raise DataError(f"arm labels do not match: in the data but not the design {unknown}, in the design but "
                            f"not the data {missing}")
        console.print(f"[green]ok[/green] {design_path}: design {design.name!r}, {len(source.columns)} columns, "
                      f"{sum(counts.values())} rows, arms {counts}")
    else:
        console.print(f"[green]ok[/green] {design_path}: design {design.name!r} of kind {design.kind!r}")


@app.command()
@domain_errors
def analyze(
    design_path: Path = typer.Argument(..., metavar="DESIGN", help="Design YAML file."),
    out: Path = typer.Option(..., "--out", help="Folder for results.json (created if needed)."),
    data: str | None = typer.Option(None, "--data", help="Data source overriding data.source."),
    as_of: str | None = typer.Option(None, "--as-of", help="Observation date YYYY-MM-DD (overrides data.as_of)."),
    segments: Path | None = typer.Option(None, "--segments", help="Rule file: also analyze per segment."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
    lang: str = typer.Option("en", "--lang", help="Language of the printed summary: en or zh (tags such as en-US, "
                                                  "zh-CN, zh_Hans work too)."),
    timings: bool = typer.Option(False, "--timings",
                                 help="Print start-up (interpreter, imports), design, work and output seconds "
                                      "and add them to results.json."),
) -> None:
    """Analyze a randomised experiment: SRM, per-arm rates, χ², comparisons with corrections, guardrails, CUPED."""
    import time

    started = _process_age() if timings else None
    t0 = time.perf_counter()
    from experiments.analysis.experiment import analyze as run
    from experiments.analysis.section import print_experiment
    from experiments.report.i18n import parse_lang

    t1 = time.perf_counter()
    use_lang = parse_lang(lang)
    design = _load_experiment(design_path)
    when = parse_date_option(as_of, "--as-of")
    t2 = time.perf_counter()
    target = out / "results.json"
    from experiments.data.io import check_writable

    check_writable([target], force)  # fail before the work, and again (atomically) when writing
    if segments is not None:  # one engine pass per arm x segment; docs/diagnosis.md
        from experiments.diagnosis.strata import print_breakdown, segment_breakdown

        breakdown = segment_breakdown(design, segments, data, as_of=when)
        result = breakdown.overall
    else:
        breakdown, result = None, run(design, data, as_of=when)
    t3 = time.perf_counter()
    print_experiment(result, console, use_lang)
    payload = result.to_dict()
    if breakdown is not None:
        print_breakdown(breakdown, console)
        payload["segments"] = breakdown.to_dict()
    if timings:
        split = {"startup": (started or 0.0) + (t1 - t0), "design": t2 - t1, "work": t3 - t2,
                 "output": time.perf_counter() - t3}
        payload["timings"] = {k: round(v, 4) for k, v in split.items()}
    write_outputs({target: to_json(payload)}, force)
    console.print(f"wrote {target}")
    if timings:
        err_console.print("timings: start-up {startup:.3f} s (interpreter and imports), design {design:.3f} s "
                          "(read and validate), work {work:.3f} s (engine and statistics), output {output:.3f} s"
                          .format(**split))

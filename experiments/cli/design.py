"""`retention design`, `retention assign` and `retention monitor`: size, assign and watch an experiment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from experiments.cli._common import console, domain_errors, parse_date_option
from experiments.cli.app import app
from experiments.data.io import check_writable, to_json, write_outputs
from experiments.errors import DesignError


def _fmt(x: float | None, spec: str = ",") -> str:
    if x is None or x != x:
        return "–"
    return format(x, spec)


#: more subscribers than there are people: surely a typo
MAX_POPULATION = 10_000_000_000


@app.command("design")
@domain_errors
def design_cmd(
    design: Path = typer.Argument(None, help="Design YAML; omit it to size ad hoc from the flags."),
    baseline: float = typer.Option(None, "--baseline", help="Control rate (binary) or mean (continuous)."),
    mde: float = typer.Option(None, "--mde", help="Minimum detectable effect, positive (absolute unless --relative)."),
    relative: bool = typer.Option(None, "--relative/--absolute", help="Whether --mde is a fraction of the baseline."),
    alpha: float = typer.Option(None, "--alpha", help="Family-wise alpha (default 0.05, or the design's)."),
    power: float = typer.Option(None, "--power", help="Target power of each comparison (default 0.8)."),
    arms: int = typer.Option(None, "--arms", help="Ad hoc: number of arms including control (default 2)."),
    allocation: str = typer.Option("equal", "--allocation",
                                   help="Ad hoc: 'equal' or 'optimal' (√k rule: control share √k/(k+√k))."),
    sides: int = typer.Option(None, "--sides", help="1 or 2 (default 2)."),
    method: str = typer.Option(None, "--method", help="evan_miller (default), pooled or cohen_h."),
    kind: str = typer.Option("binary", "--kind", help="Ad hoc: binary or continuous."),
    sd: float = typer.Option(None, "--sd", help="Standard deviation of a continuous metric."),
    direction: str = typer.Option("increase", "--direction", help="Ad hoc: increase or decrease."),
    correction: str = typer.Option(None, "--correction", help="holm, bonferroni, bh or none (ad hoc default none)."),
    daily_inflow: float = typer.Option(None, "--daily-inflow", help="Eligible subscribers per day (runtime)."),
    population_size: int = typer.Option(None, "--population-size",
                                        help="Eligible population (default: counted from the design's population)."),
    json_out: Path = typer.Option(None, "--json", help="Write the size table as JSON."),
    plot: Path = typer.Option(None, "--plot", help="Write the power curve as HTML."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Size an experiment: units per arm, total, runtime and the MDE the eligible population allows."""
    from experiments.planning import power as pw

    outputs = [p for p in (json_out, plot) if p is not None]
    check_writable(outputs, force)
    if population_size is not None and not 0 < population_size <= MAX_POPULATION:
        raise DesignError(f"--population-size: {population_size:,} is not an eligible population; give the number "
                          f"of eligible subscribers, between 1 and {MAX_POPULATION:,}")
    population_note = ""
    if design is not None:
        from experiments.spec.models import load_design

        d = load_design(design)
        if alpha is not None or correction is not None:
            analysis = d.analysis.model_copy(update={k: v for k, v in {"alpha": alpha, "correction": correction}
                                                     .items() if v is not None})
            d = d.model_copy(update={"analysis": analysis})
        if arms is not None:
            raise DesignError("--arms: the design's arms and weights are used; edit the design or omit the design "
                              "file to size ad hoc")
        if population_size is None and d.population is not None:
            population_size = count_eligible(d)
            population_note = f" (eligible rows of {d.population.source})"
        result = pw.from_design(d, population=population_size, overrides={
            "baseline": baseline, "mde": mde, "relative": relative, "power": power, "sides": sides,
            "method": method, "sd": sd, "daily_inflow": daily_inflow})
    else:
        if baseline is None or mde is None:
            raise DesignError("pass a design file, or --baseline and --mde to size ad hoc "
                              "(e.g. retention design --baseline 0.20 --mde 0.05)")
        k = 2 if arms is None else arms
        if allocation not in ("equal", "optimal"):
            raise DesignError(f"--allocation: {allocation!r} is not allowed; use 'equal' or 'optimal'")
        alloc = pw.optimal_allocation(k) if allocation == "optimal" else pw.equal_allocation(k)
        result = pw.sample_size(
            baseline, mde, kind=kind, relative=bool(relative), direction=direction, sd=sd,  # type: ignore[arg-type]
            alpha=0.05 if alpha is None else alpha, power=0.8 if power is None else power,
            sides=2 if sides is None else sides, method=method or "evan_miller",  # type: ignore[arg-type]
            allocation=alloc, correction=correction or "none",  # type: ignore[arg-type]
            daily_inflow=daily_inflow, population=population_size)

    files: dict[Path, str] = {}
    if json_out is not None:
        files[json_out] = to_json(result.to_dict())
    if plot is not None:
        files[plot] = result.plot().to_html(include_plotlyjs=True, full_html=True)  # self-contained, opens offline
    write_outputs(files, force)
    _print_size(result, population_note)


def _print_size(r: Any, population_note: str) -> None:
    from rich.table import Table

    p = r.problem
    t = Table(title="Sample size", header_style="bold")
    for col in ("arm", "role", "share", "units", "power"):
        t.add_column(col, justify="left" if col in ("arm", "role") else "right")
    for row in r.summary().itertuples():
        t.add_row(row.arm, row.role, f"{row.share:.3f}", f"{row.n:,}",
                  "" if row.power != row.power else f"{row.power:.3f}")
    console.print(t)
    effect = f"{p.mde:g} relative ({p.delta:+.4g} absolute)" if p.relative else f"{p.delta:+.4g}"
    lines = [
        f"total: {r.total:,} units (exact N* = {r.n_exact:,.1f})",
        f"metric: {p.kind}, baseline {p.baseline:g} → {p.treated:.4g} (effect {effect})",
        f"method: {r.method}; {p.sides}-sided; alpha {p.alpha:g}, per comparison {r.alpha_per_comparison:.4g} "
        f"({p.correction}, {len(p.treatments)} comparison{'s' * (len(p.treatments) > 1)}); power {p.power:g}",
        f"rounding: {r.rounding}",
    ]
    if r.days is not None:
        lines.append(f"runtime: {r.days:,} days at {r.daily_inflow:,.0f} eligible subscribers per day")
    if r.population is not None:
        sign = 1.0 if p.direction == "increase" else -1.0
        enough = "enough" if r.population >= r.total else f"NOT enough (short by {r.total - r.population:,})"
        reach = None if r.mde_at_population is None else sign * r.mde_at_population
        lines.append(f"eligible population: {r.population:,}{population_note}: {enough}; smallest detectable effect "
                     f"with all of it: {_fmt(reach, '+.4g')}")
    for line in lines:
        console.print(line, markup=False)


def count_eligible(design: Any) -> int:
    """Eligible rows of the design's population, counted by the engine."""
    from experiments.data.engine import open_table, require_columns
    from experiments.planning.assignment import eligibility_filter

    spec = design.population
    t = open_table(spec.source, base_dir=design.path.parent if design.path else None)
    require_columns(t, {"population.unit": spec.unit}, f"population {spec.source!r}")
    if spec.eligibility:
        t = t.filter(eligibility_filter(t, spec.eligibility, f"population {spec.source!r}"))
    return int(t.count().execute())


@app.command("assign")
@domain_errors
def assign_cmd(
    design: Path = typer.Argument(..., help="Design YAML with population, arms and strata."),
    population: str = typer.Option(None, "--population", help="Population file (default: population.source)."),
    out: Path = typer.Option(..., "--out", help="Assignment list to write (.parquet or .csv)."),
    salt: str = typer.Option(None, "--salt", help="Hash salt (default: assignment.salt, else the design name)."),
    registry: Path = typer.Option(None, "--registry", help="Assignment registry (DuckDB file)."),
    keep_existing: bool = typer.Option(None, "--keep-existing/--reassign",
                                       help="Keep earlier arms of units already assigned by this design."),
    assigned_at: str = typer.Option(None, "--assigned-at", help="Assignment date YYYY-MM-DD (default: today, UTC)."),
    json_out: Path = typer.Option(None, "--json", help="Write the run summary and balance table as JSON."),
    segments: Path = typer.Option(None, "--segments", help="Rule file: adds a 'segment' column strata can name."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Assign the eligible population to arms (salted SHA-256, stratified), record it and print the balance."""
    from experiments.planning.assignment import assign
    from experiments.spec.models import load_design

    d = load_design(design)
    check_writable([out, *([json_out] if json_out else [])], force)
    day = parse_date_option(assigned_at, "--assigned-at")
    pop_source = str(Path(population).resolve()) if population and "://" not in population else population
    if segments is not None:  # the rule segments as a column of the population (docs/diagnosis.md)
        from experiments.diagnosis.strata import with_segments

        if pop_source is None and d.population is None:
            raise DesignError(f"{design}: no population section; add population: {{source: ...}} or pass --population")
        pop_source = with_segments(pop_source or d.population.source, segments,
                                   base_dir=d.path.parent if d.path else None)
    r = assign(d, out=out, population=pop_source, salt=salt, registry=registry, keep_existing=keep_existing,
               assigned_at=day, force=force)
    if json_out is not None:
        write_outputs({json_out: to_json(r.to_dict())}, force)
    _print_assignment(r)


def _print_assignment(r: Any) -> None:
    from rich.table import Table

    from experiments.planning.assignment import SMD_FLAG

    counts = Table(title=f"Assignment of {r.units:,} units to {r.output}", header_style="bold")
    counts.add_column("arm")
    counts.add_column("units", justify="right")
    for arm, n in r.counts.items():
        counts.add_row(arm, f"{n:,}")
    console.print(counts)
    b = Table(title=f"Balance: standardized mean difference vs {r.control} (flag |SMD| > {SMD_FLAG})",
              header_style="bold")
    for col in ("covariate", "arm", "mean arm", "mean control", "SMD", "flag"):
        b.add_column(col, justify="left" if col in ("covariate", "arm", "flag") else "right")
    for row in r.balance.itertuples():
        name = row.covariate if row.level is None else f"{row.covariate}={row.level}"
        b.add_row(name, row.arm, f"{row.mean_arm:.4g}", f"{row.mean_control:.4g}", f"{row.smd:+.3f}",
                  "IMBALANCED" if row.flag else "")
    if len(r.balance):
        console.print(b)
    lines = [
        f"SRM p-value of the assignment: {r.srm_p_value:.4g}"
        + (" (stratified quotas: ≈ 1 by construction)" if r.method == "stratified" else ""),
        f"largest deviation from weight × stratum size: {r.max_stratum_deviation:.3g} units over "
        f"{r.strata['stratum'].nunique():,} strata",
        f"salt: {r.salt!r}; design hash: {r.design_hash}",
        f"registry: {r.registry} (run {r.run_id})",
    ]
    if r.excluded:
        lines.append(f"excluded: {r.excluded:,} units already in an exclusive design")
    if r.kept:
        lines.append(f"kept: {r.kept:,} units keep their earlier arm")
    if r.balance["flag"].any() if len(r.balance) else False:
        lines.append("warning: some covariates have |SMD| > 0.1; with small strata this can happen by chance, "
                     "consider adding the covariate to strata")
    for line in lines:
        console.print(line, markup=False)


@app.command("monitor")
@domain_errors
def monitor_cmd(
    design: Path = typer.Argument(..., help="Design YAML."),
    data: str = typer.Option(None, "--data", help="Outcome data so far (default: data.source)."),
    tuning: float = typer.Option(None, "--tuning",
                                 help="Sample size at which the sequence is tightest (default: planned total, "
                                      "else 5000)."),
    json_out: Path = typer.Option(None, "--json", help="Write the sequences and decision as JSON."),
    plot: Path = typer.Option(None, "--plot", help="Write the confidence-sequence plot as HTML."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Always-valid confidence sequences of the primary metric, and whether the experiment may stop."""
    from rich.table import Table

    from experiments.planning.monitoring import monitor
    from experiments.spec.models import load_design

    d = load_design(design)
    outputs = [p for p in (json_out, plot) if p is not None]
    check_writable(outputs, force)
    src = str(Path(data).resolve()) if data and "://" not in data else data
    r = monitor(d, src, tuning=tuning)
    files: dict[Path, str] = {}
    if json_out is not None:
        files[json_out] = to_json(r.to_dict())
    if plot is not None:
        files[plot] = r.plot().to_html(include_plotlyjs=True, full_html=True)  # self-contained, opens offline
    write_outputs(files, force)
    t = Table(title=f"{r.metric}: treatment − control, always-valid at alpha {r.alpha_per_comparison:.3g} "
                    f"(tuning N = {r.tuning:,.0f})", header_style="bold")
    for col in ("arm", "n", "n control", "estimate", "lower", "upper"):
        t.add_column(col, justify="left" if col == "arm" else "right")
    for s in r.latest:
        t.add_row(s.arm, f"{s.n_treatment:,}", f"{s.n_control:,}", f"{s.estimate:+.4g}", f"{s.lower_running:.4g}",
                  f"{s.upper_running:.4g}")
    console.print(t)
    console.print(f"SRM p-value: {r.srm_p_value:.4g}", markup=False)
    console.print(r.message, markup=False)

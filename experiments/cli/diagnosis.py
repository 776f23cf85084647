"""``retention profile``, ``retention segment`` and ``retention cockpit``: the churn diagnosis."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

from experiments.cli._common import check_writable, console, domain_errors, to_json, write_outputs
from experiments.cli.app import app

if TYPE_CHECKING:
    from experiments.report.i18n import Lang

_LANG = typer.Option("en", "--lang", help="Language of the report: en or zh (tags such as en-US, zh-CN, zh_Hans "
                                          "work too).")


def _working(text: str):
    """A spinner on stderr while the engine works (terminals only; CI logs and pipes stay clean)."""
    from contextlib import nullcontext

    from experiments.cli._common import err_console, is_interactive

    return err_console.status(text) if is_interactive() else nullcontext()


def _columns(text: str | None) -> list[str] | None:
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


@app.command()
@domain_errors
def profile(
    data: str = typer.Option(..., "--data", help="Parquet/CSV path, glob or folder, or duckdb:///db?table=name."),
    target: str = typer.Option(..., "--target", help="The churn column."),
    positive: str | None = typer.Option(None, "--positive", help="The target's value that means churned."),
    revenue: str | None = typer.Option(None, "--revenue",
                                       help="Revenue column: revenue at risk, overall and per level."),
    exclude: str | None = typer.Option(None, "--exclude", help="Comma-separated columns not to profile."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the profile as JSON to this file."),
    out: Path | None = typer.Option(None, "--out", help="Folder for profile.json and profile.html."),
    lang: str = _LANG,
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Churn overall and by every column, thresholds, the strongest cross tables and ranked associations."""
    from experiments.diagnosis.profiling import profile as run
    from experiments.diagnosis.section import profile_conclusions
    from experiments.report.i18n import parse_lang

    lang = parse_lang(lang)
    targets = _targets(json_out, out)
    check_writable(targets, force)
    with _working(f"profiling {data} in the engine ..."):
        result = run(data, target, positive=positive, revenue=revenue, exclude=_columns(exclude) or ())
    files: dict[Path, bytes | str] = {}
    text = to_json(result.to_dict())
    if json_out is not None:
        files[json_out] = text
    if out is not None:
        from experiments.diagnosis.section import profile_section
        from experiments.report.render import render_html

        files[out / "profile.json"] = text
        page_lang = cast("Lang", lang)
        files[out / "profile.html"] = render_html([profile_section(result, page_lang)], msg_title(lang), data,
                                                  page_lang)
    for line in profile_conclusions(result, lang):  # type: ignore[arg-type]
        console.print(f"• {line}")
    write_outputs(files, force)
    for path in files:
        console.print(f"wrote {path}")


def msg_title(lang: str) -> str:
    from experiments.report.i18n import msg

    return msg("title.diagnosis", lang)  # type: ignore[arg-type]


def _targets(*paths: Path | None) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p is None:
            continue
        out += [p / "profile.json", p / "profile.html"] if p.suffix == "" else [p]
    return out


def _rfm_option(text: str | None, higher: bool) -> dict | None:
    from experiments.errors import RetentionError

    if text is None:
        return None
    parts = _columns(text) or []
    if len(parts) != 3:
        raise RetentionError(f"--rfm {text!r}: name three columns, recency,frequency,monetary (e.g. "
                             "--rfm days_since_last_topup,topups_90d,revenue_90d)")
    return {"recency": parts[0], "frequency": parts[1], "monetary": parts[2], "recency_higher_is_better": higher}


@app.command()
@domain_errors
def segment(
    data: str = typer.Option(..., "--data", help="Parquet/CSV path, glob or folder, or duckdb:///db?table=name."),
    target: str = typer.Option(..., "--target", help="The churn column."),
    rules: Path | None = typer.Option(None, "--rules", help="Rule file (YAML) of risk segments."),
    rfm: str | None = typer.Option(None, "--rfm", help="recency,frequency,monetary columns for RFM tiers."),
    recency_higher: bool = typer.Option(False, "--recency-higher-is-better",
                                        help="The recency column grows with recency (default: days since)."),
    kmeans: str | None = typer.Option(None, "--kmeans", help="Comma-separated numeric columns for k-means."),
    k_max: int = typer.Option(8, "--k-max", min=2, max=20, help="Largest k tried (from 2)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the k-means sample and starts."),
    positive: str | None = typer.Option(None, "--positive", help="The target's value that means churned."),
    revenue: str | None = typer.Option(None, "--revenue", help="Revenue column: revenue at risk per segment."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the segments as JSON to this file."),
    export: Path | None = typer.Option(None, "--export", help="Per-subscriber table with segments (.parquet/.csv)."),
    lang: str = _LANG,
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Rule-based risk segments, RFM value tiers and k-means clusters, with churn and revenue at risk of each."""
    from experiments.diagnosis.profiling import open_diagnosis_source
    from experiments.diagnosis.segments import fit_kmeans, kmeans_segments, load_rules, rfm_segments, rule_segments
    from experiments.errors import RetentionError
    from experiments.report.i18n import parse_lang

    lang = parse_lang(lang)
    if rules is None and rfm is None and kmeans is None:
        raise RetentionError("nothing to segment: pass --rules FILE, --rfm R,F,M and/or --kmeans COLUMNS")
    if export is not None:
        from experiments.diagnosis.export import export_formats

        export_formats(export)
    check_writable([p for p in (json_out, export) if p is not None], force)
    rule_file = load_rules(rules) if rules is not None else None  # a bad rule file fails before any data is read
    src = open_diagnosis_source(data)
    rfm_opts = _rfm_option(rfm, recency_higher)
    results, fit = [], None
    with _working("segmenting in the engine ..."):
        if rule_file is not None:
            results.append(rule_segments(src, rule_file, target, positive=positive, revenue=revenue))
        if rfm_opts is not None:
            results.append(rfm_segments(src, target, positive=positive, revenue=revenue, **rfm_opts))
        if kmeans is not None:
            fit = fit_kmeans(src, _columns(kmeans) or [], ks=range(2, k_max + 1), rng=seed)
            results.append(kmeans_segments(src, target, list(fit.features), positive=positive, revenue=revenue,
                                           fit=fit))
    files: dict[Path, bytes | str] = {}
    if json_out is not None:
        files[json_out] = to_json({r.kind: r.to_dict() for r in results})
    if export is not None:
        from experiments.diagnosis.export import export_bytes, export_columns

        files[export] = export_bytes(src, export, export_columns(src, rules=rule_file, rfm=rfm_opts, fit=fit))
    for r in results:
        _print_segments(r, rule_file, lang)
    write_outputs(files, force)
    for path in files:
        console.print(f"wrote {path}")


def _print_segments(result, rules, lang: str) -> None:
    from rich.table import Table

    from experiments.diagnosis.section import fmt_pct

    t = Table(title=f"{result.kind}: {result.column}", title_justify="left")
    for col in ("segment", "subscribers", "churn rate", "95% CI", "share", "risk", "action / description"):
        t.add_column(col, justify="left" if col in ("segment", "risk", "action / description") else "right")
    for s in result.segments:
        action = rules.action_of(s.name, lang) if rules is not None and result.kind == "rules" else s.description
        ci = f"{fmt_pct(s.churn.ci[0])} – {fmt_pct(s.churn.ci[1])}"
        t.add_row(s.name, f"{s.churn.n:,}", fmt_pct(s.churn.rate), ci,
                  fmt_pct(s.share), s.risk or "", action or "")
    console.print(t)
    if result.kind == "kmeans":
        console.print(f"k = {result.details['k']} by silhouette " + ", ".join(
            f"{k}: {v:.3f}" for k, v in result.details["silhouette"].items())
            + f"; fitted on a seeded sample of {result.details['sample']:,} complete rows, every subscriber then "
              "assigned to its nearest centroid by the engine")


@app.command()
@domain_errors
def cockpit(
    data: str = typer.Option(..., "--data", help="Parquet/CSV path, glob or folder, or duckdb:///db?table=name."),
    target: str = typer.Option(..., "--target", help="The churn column."),
    out: Path = typer.Option(..., "--out", help="The cockpit HTML file to write."),
    rules: Path | None = typer.Option(None, "--rules", help="Rule file (YAML) of risk segments."),
    filters: str | None = typer.Option(None, "--filter", help="Comma-separated columns to filter by."),
    positive: str | None = typer.Option(None, "--positive", help="The target's value that means churned."),
    revenue: str | None = typer.Option(None, "--revenue", help="Revenue column: the revenue-at-risk tile."),
    max_levels: int = typer.Option(30, "--max-levels", min=2, help="Cap: levels per filter column."),
    max_cells: int = typer.Option(20_000, "--max-cells", min=1, help="Cap: non-empty cells of the cube."),
    min_cell: int = typer.Option(5, "--min-cell", min=1, help="Cells with fewer subscribers are suppressed."),
    export: Path | None = typer.Option(None, "--export", help="Per-subscriber table with segments (.parquet/.csv)."),
    lang: str = _LANG,
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """One self-contained HTML cockpit: KPI tiles, churn by segment and driver, thresholds, cross-filtering."""
    from experiments.diagnosis.cockpit import build_cockpit
    from experiments.diagnosis.profiling import open_diagnosis_source
    from experiments.diagnosis.segments import load_rules
    from experiments.report.i18n import parse_lang

    lang = parse_lang(lang)

    if export is not None:
        from experiments.diagnosis.export import export_formats

        export_formats(export)
    check_writable([p for p in (out, export) if p is not None], force)
    rule_file = load_rules(rules) if rules is not None else None
    src = open_diagnosis_source(data)
    with _working("profiling and counting the cockpit's cube ..."):
        built = build_cockpit(src, target, positive=positive, rules=rule_file, revenue=revenue,
                              filters=_columns(filters) or (), lang=lang,  # type: ignore[arg-type]
                              max_levels=max_levels,
                              max_cells=max_cells, min_cell=min_cell)
    files: dict[Path, bytes | str] = {out: built.html}
    if export is not None:
        from experiments.diagnosis.export import export_bytes, export_columns

        files[export] = export_bytes(src, export, export_columns(src, rules=rule_file))
    c = built.cube
    console.print(f"cube: {len(c.cells):,} cells over {[d.name for d in c.dims]}; {c.coarsened_n:,} subscriber(s) in "
                  f"coarsened small cells, {c.suppressed_n:,} suppressed (min cell {c.min_cell})")
    write_outputs(files, force)
    for path in files:
        console.print(f"wrote {path}")

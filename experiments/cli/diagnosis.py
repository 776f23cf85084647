"""``retention profile``, ``retention segment`` and ``retention cockpit``: the churn diagnosis."""

from __future__ import annotations

from pathlib import Path

import typer

from experiments.cli import app
from experiments.cli._common import check_writable, console, domain_errors, to_json, write_outputs

_LANG = typer.Option("en", "--lang", help="Language of the report: en or zh.")


def _columns(text: str | None) -> list[str] | None:
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


@app.command()
@domain_errors
def profile(
    data: str = typer.Option(..., "--data", help="Parquet/CSV path, glob or folder, or duckdb:///db?table=name."),
    target: str = typer.Option(..., "--target", help="The churn column."),
    positive: str | None = typer.Option(None, "--positive", help="The target's value that means churned."),
    revenue: str | None = typer.Option(None, "--revenue", help="Revenue column: revenue at risk overall and per level."),
    exclude: str | None = typer.Option(None, "--exclude", help="Comma-separated columns not to profile."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the profile as JSON to this file."),
    out: Path | None = typer.Option(None, "--out", help="Folder for profile.json and profile.html."),
    export: Path | None = typer.Option(None, "--export", help="Per-subscriber feature table (.parquet or .csv)."),
    lang: str = _LANG,
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Churn overall and by every column, thresholds, the strongest cross tables and ranked associations."""
    from experiments.diagnosis.profile import profile as run
    from experiments.diagnosis.section import profile_conclusions
    from experiments.literals import check_literal

    from experiments.i18n import Lang

    check_literal(lang, Lang, "--lang")
    targets = _targets(json_out, out, export)
    check_writable(targets, force)
    result = run(data, target, positive=positive, revenue=revenue, exclude=_columns(exclude) or ())
    files: dict[Path, bytes | str] = {}
    text = to_json(result.to_dict())
    if json_out is not None:
        files[json_out] = text
    if out is not None:
        from experiments.diagnosis.section import profile_section
        from experiments.report import render_html

        files[out / "profile.json"] = text
        files[out / "profile.html"] = render_html([profile_section(result, lang)], msg_title(lang), data, lang)
    if export is not None:
        from experiments.diagnosis.export import export_bytes

        files[export] = export_bytes(data, export, target=target, positive=result.positive)
    for line in profile_conclusions(result, lang):  # type: ignore[arg-type]
        console.print(f"• {line}")
    write_outputs(files, force)
    for path in files:
        console.print(f"wrote {path}")


def msg_title(lang: str) -> str:
    from experiments.i18n import msg

    return msg("title.diagnosis", lang)  # type: ignore[arg-type]


def _targets(*paths: Path | None) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p is None:
            continue
        out += [p / "profile.json", p / "profile.html"] if p.suffix == "" else [p]
    return out

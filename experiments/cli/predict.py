"""``retention predict`` (cross-validated churn classifiers, a saved model, the early-warning report) and
``retention score`` (scores current subscribers with the saved model, batch by batch)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import typer

from experiments.cli._common import check_writable, console, domain_errors, err_console, is_interactive, write_outputs
from experiments.cli.app import app

MODEL_FILE = "model.joblib"


def _list(text: str | None) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()] if text else []


def _working(text: str):
    from experiments.cli.diagnosis import _working as working

    return working(text)


def _register_survival() -> None:
    from experiments.cli._common import register_domain_error
    from survival.errors import SurvivalError

    register_domain_error(SurvivalError)


@app.command("predict")
@domain_errors
def predict_command(
    data: str = typer.Option(..., "--data", help="One row per subscriber: Parquet/CSV path or duckdb:// URL."),
    target: str | None = typer.Option(None, "--target", help="The churn column (default: a label file's target)."),
    positive: str | None = typer.Option(None, "--positive", help="The target's value that means churned."),
    models: str = typer.Option("logit,rf,lgbm", "--models", help="Comma-separated: logit, rf, lgbm."),
    k: str = typer.Option("10%", "--k", help="Campaign size: a share (10%) or a count (500)."),
    folds: int = typer.Option(5, "--folds", help="Stratified cross-validation folds (the same for every model)."),
    smote: bool = typer.Option(False, "--smote", help="Also cross-validate every model with SMOTE in the training "
                                                      "folds, and compare it with class weights."),
    threshold: float = typer.Option(0.5, "--threshold", help="Probability threshold of precision/recall/F1."),
    drop: str | None = typer.Option(None, "--drop", help="Comma-separated columns not to use as features."),
    keep: str | None = typer.Option(None, "--keep", help="Suspect columns (single-feature AUC > 0.99) to keep."),
    label_columns: str | None = typer.Option(None, "--label-columns",
                                             help="Comma-separated columns that define the label (dropped)."),
    risk_duration: list[str] = typer.Option([], "--risk-duration",
                                            help="Tenure column: compare the survival risk score (Cox) with the "
                                                 "classifier on Recall@K for the same subscribers (repeatable)."),
    jobs: int = typer.Option(1, "--jobs", min=1, help="Threads of the forest and LightGBM."),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds, the models and SMOTE."),
    out: Path = typer.Option(..., "--out", help="Folder for predict.json, model.joblib, its schema and report.html."),
    lang: str = typer.Option("en", "--lang", help="Language of the report: en or zh (en-US, zh-CN, zh-Hans ...)."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Cross-validate churn classifiers on the same folds, rank them by Recall@K, save the best, explain it."""

    from experiments.diagnosis.predict import load_frame_for_predict, predict_and_fit, result_json, schema_text
    from experiments.diagnosis.ranking import parse_k
    from experiments.report.i18n import parse_lang

    page_lang = parse_lang(lang)
    parse_k(k)
    files_out = [out / "predict.json", out / MODEL_FILE, out / f"{MODEL_FILE}.schema.json", out / "report.html"]
    check_writable(files_out, force)
    with _working(f"cross-validating {models} on {folds} folds ..."):
        result, model = predict_and_fit(data, target, positive=positive, models=_list(models), k=k, folds=folds,
                                        smote=smote, threshold=threshold, drop=_list(drop), keep=_list(keep),
                                        label_columns=_list(label_columns), rng=seed, n_jobs=jobs)
    if risk_duration:
        _register_survival()
        import pandas as pd

        from experiments.diagnosis.predict_risk import risk_comparison, with_comparison

        frame = load_frame_for_predict(data)
        with _working("fitting the survival risk score on the same folds ..."):
            result = with_comparison(result, pd.concat([risk_comparison(frame, result, d) for d in risk_duration],
                                                       ignore_index=True).drop_duplicates("method"))
    from experiments.diagnosis.predict_section import predict_section
    from experiments.report.i18n import msg
    from experiments.report.render import render_html

    files: dict[Path, bytes | str] = {
        out / "predict.json": result_json(result, model),
        out / MODEL_FILE: model.to_bytes(),
        out / f"{MODEL_FILE}.schema.json": schema_text(model),
        out / "report.html": render_html([predict_section(result, page_lang)], msg("title.predict", page_lang),
                                         str(data), page_lang),
    }
    _print_summary(result)
    write_outputs(files, force)
    for path in files:
        console.print(f"wrote {path}")


def _print_summary(result) -> None:
    from rich.table import Table

    kk = f"Recall@{result.k_label}"
    t = Table(title=f"{result.target} = {result.positive}: {result.n_positive:,} of {result.n:,} "
                    f"({result.n_positive / result.n:.1%}); {result.folds}-fold CV", title_justify="left")
    for col in ("model", "ROC AUC [CI]", "PR AUC", kk, "precision@K", "lift@K", "ECE", "seconds"):
        t.add_column(col, justify="left" if col == "model" else "right")
    for s in result.scores:
        m = s.metrics
        t.add_row(s.name + (" *" if s.name == result.best else ""),
                  f"{m['roc_auc'].mean:.3f} [{m['roc_auc'].lo:.3f}, {m['roc_auc'].hi:.3f}]",
                  f"{m['pr_auc'].mean:.3f}", f"{m['recall_at_k'].mean:.1%} [{m['recall_at_k'].lo:.1%}, "
                                            f"{m['recall_at_k'].hi:.1%}]",
                  f"{m['precision_at_k'].mean:.1%}", f"{m['lift_at_k'].mean:.2f}", f"{m['ece'].mean:.3f}",
                  f"{s.seconds:.1f}")
    console.print(t)
    from experiments.diagnosis.ranking import k_count

    kn = k_count(result.k, result.n)
    console.print(f"max possible {kk}: {min(1.0, kn / max(result.n_positive, 1)):.1%} (K = {kn:,}); saved: "
                  f"{result.best} (* highest mean {kk}); drivers are predictive, not causal")
    dropped = {c: w for c, w in result.features.dropped.items() if w != "target"}
    if dropped:
        console.print("not features: " + "; ".join(f"{c} ({w})" for c, w in dropped.items()))
    if result.features.coerced:
        console.print("blank values made missing: " + ", ".join(f"{c} ({n:,})"
                                                                 for c, n in result.features.coerced.items()))
    if result.comparison is not None:
        for row in result.comparison.to_dict("records"):
            console.print(f"{row['method']}: {kk} {row['recall_at_k']:.1%}, ROC AUC {row['roc_auc']:.3f} "
                          f"(n = {row['n']:,})")


@app.command("score")
@domain_errors
def score_command(
    model_file: Path = typer.Option(..., "--model", help="model.joblib written by retention predict."),
    data: str = typer.Option(..., "--data", help="Current subscribers (.parquet or .csv)."),
    out: Path = typer.Option(..., "--out", help="Scores (.parquet)."),
    id_column: str | None = typer.Option(None, "--id", help="Subscriber id column to carry into the output."),
    rules: Path | None = typer.Option(None, "--rules", help="Segment rule file (YAML): segment and its action."),
    batch_size: int = typer.Option(250_000, "--batch-size", min=1, help="Rows per batch (bounds the memory)."),
    lang: str = typer.Option("en", "--lang", help="Language of the segment actions: en or zh (en-US, zh-CN ...)."),
    driver_tiers: str = typer.Option("all", "--driver-tiers",
                                     help="Tiers whose subscribers get drivers: all, or a comma list of high, medium, "
                                          "low (TreeSHAP costs tens of predictions a row: 'high' for large files)."),
    drivers_top: str | None = typer.Option(None, "--drivers-top", metavar="K",
                                           help="Drivers only for the K highest-ranked subscribers, the contact "
                                                "list: a count (100000) or a share (1%). Not with --driver-tiers."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
) -> None:
    """Probability, rank, tier, top three drivers (predictive, not causal), segment and action per subscriber."""
    from experiments.diagnosis.predict import load_model, score_batches
    from experiments.errors import DesignError
    from experiments.report.i18n import parse_lang

    lang = parse_lang(lang)
    if out.suffix.lower() != ".parquet":
        raise DesignError(f"--out: {out.name!r} must end in .parquet")
    wanted = tuple(t.strip().lower() for t in driver_tiers.split(",") if t.strip())
    drivers_for = None if wanted == ("all",) else wanted  # score_batches refuses bad tiers and a bad --drivers-top
    check_writable([out], force)
    model = load_model(model_file)
    segs = None
    if rules is not None:
        from experiments.diagnosis.segments import load_rules

        segs = load_rules(rules)
    run = functools.partial(score_batches, model, data, out, id_column=id_column, segments=segs,
                            batch_size=batch_size, lang=lang, driver_tiers=drivers_for, drivers_top=drivers_top)
    if is_interactive():  # a bar per pass on stderr; CI logs and pipes stay clean
        from rich.progress import Progress

        with Progress(console=err_console, transient=True) as bar:
            tasks: dict[str, Any] = {}

            def advance(stage: str, done: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            summary = run(progress=advance)
    else:
        summary = run()
    tiers = ", ".join(f"{t} {n:,}" for t, n in summary["tiers"].items())
    console.print(f"scored {summary['rows']:,} subscribers with {summary['model']} (tiers: {tiers}); "
                  f"wrote {out}")

"""Churn signals before any offer: ``retention label``, ``retention reasons`` and ``retention driver-effect``.

* ``retention label --events PATH --subscriber COL --timestamp COL [--value COL] [--rule own_gap|fixed|tier]
  --out labels.parquet``: churn labels from activity (computed in DuckDB), with a time-based train/test split and
  the columns that define the label named in the output and in the Parquet metadata.
* ``retention reasons --data PATH --text COL [--lang zh|en] [--churn COL] --out DIR``: reasons from complaint
  texts (keyword catalogue, extendable in YAML, plus topics the catalogue misses).
* ``retention driver-effect --data PATH --graph GRAPH.yaml --json OUT``: DoWhy estimate of one driver's causal
  effect on churn on the stated graph, with refuters.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from experiments.cli._common import console, domain_errors, to_json, write_outputs
from experiments.cli.app import app
from experiments.errors import DesignError

if TYPE_CHECKING:
    from experiments.report.i18n import Lang


def _lang(lang: str) -> Lang:
    from experiments.report.i18n import parse_lang

    return parse_lang(lang)


def _pct(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{100 * x:.1f}%"


@app.command("label")
@domain_errors
def label_command(
    events: str = typer.Option(..., "--events", help="Event log (.parquet/.csv/duckdb://): one row per event."),
    subscriber: str = typer.Option("subscriber_id", "--subscriber", help="Subscriber id column."),
    timestamp: str = typer.Option("ts", "--timestamp", help="Event time column (timestamp, or text that parses)."),
    value: str | None = typer.Option(None, "--value", help="Spend of each event (monetary value; optional)."),
    rule: str = typer.Option("own_gap", "--rule", help="own_gap | fixed | tier."),
    window: float = typer.Option(30.0, "--window", help="Days of inactivity of the fixed rule (own_gap fallback)."),
    q: float = typer.Option(3.0, "--q", help="own_gap: churned after q times the subscriber's typical gap."),
    min_days: float = typer.Option(7.0, "--min-days", help="own_gap: smallest threshold in days."),
    tier_windows: str | None = typer.Option(None, "--tier-windows", help="tier rule: high=7,medium=14,low=30."),
    as_of: str | None = typer.Option(None, "--as-of", help="Snapshot date YYYY-MM-DD (default: latest event)."),
    split_at: str | None = typer.Option(None, "--split-at", help="Train snapshot YYYY-MM-DD (time split); 'none' "
                                                                  "for one snapshot (default: 3/4 of the span)."),
    target: str = typer.Option("churned", "--target", help="Name of the label column."),
    features: str | None = typer.Option(None, "--features", help="Subscriber table joined on --subscriber."),
    out: Path = typer.Option(..., "--out", help="Labels (.parquet; the label contract is in its metadata)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the summary as JSON."),
    lang: str = typer.Option("en", "--lang", help="en | zh for the printed summary."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
) -> None:
    """Churn labels from activity: recency, frequency, monetary, typical gap; fixed, per-tier or own-gap rule."""
    from experiments.diagnosis.labels import LabelRuleSpec, label_activity, parse_tier_windows
    from experiments.report.i18n import msg

    use = _lang(lang)
    if out.suffix.lower() != ".parquet":
        raise DesignError(f"--out: {out.name!r} must end in .parquet (the label contract lives in its metadata)")
    spec = LabelRuleSpec(rule=rule, window=window, tier_windows=parse_tier_windows(tier_windows),  # type: ignore[arg-type]
                         q=q, min_days=min_days)
    split = "auto" if split_at is None else None if split_at.lower() == "none" else split_at
    result = label_activity(events, subscriber=subscriber, timestamp=timestamp, value=value, as_of=as_of,
                            rule=spec, split_at=split, target=target, features=features)
    files: dict[Path, bytes | str] = {out: result.to_parquet_bytes()}
    if json_out is not None:
        files[json_out] = to_json(result.to_dict())
    write_outputs(files, force)
    for name, c in result.to_dict()["splits"].items():
        console.print(f"{name}: " + msg("labels.written", use, n=f"{c['subscribers']:,}", rule=spec.rule,
                                        churned=f"{c['churned']:,}", rate=_pct(c["churn_rate"])))
    console.print(msg("labels.leak", use, columns=", ".join(result.label_columns)))
    console.print(f"wrote {out}" + (f" and {json_out}" if json_out else ""))


@app.command("reasons")
@domain_errors
def reasons_command(
    data: str = typer.Option(..., "--data", help="Complaints or survey answers (.parquet/.csv/duckdb://)."),
    text: str = typer.Option(..., "--text", help="Text column."),
    lang: str | None = typer.Option(None, "--lang", help="zh | en, or a tag such as zh-CN, zh_Hans, en-US "
                                                         "(default: detected from the texts)."),
    churn: str | None = typer.Option(None, "--churn", help="Churn column for churn rate by reason."),
    churn_value: str | None = typer.Option(None, "--churn-value", help="Value of --churn that means churned."),
    id_column: str | None = typer.Option(None, "--id", help="Id column carried into reasons.parquet."),
    catalogue: Path | None = typer.Option(None, "--catalogue", help="YAML file extending the keyword catalogue."),
    topics: int = typer.Option(3, "--topics", help="Topics of the texts the catalogue misses (0: none)."),
    topic_method: str = typer.Option("nmf", "--topic-method", help="nmf | lda."),
    out: Path = typer.Option(..., "--out", help="Folder for reasons.json and reasons.parquet."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
) -> None:
    """Reasons from complaint text: keyword catalogue (YAML), NMF/LDA topics it misses, churn by reason."""
    import io

    from experiments.diagnosis.reasons import tag_reasons
    from experiments.report.i18n import msg

    if lang is not None:
        lang = _lang(lang)
    result = tag_reasons(data, text=text, lang=lang, catalogue=catalogue, churn=churn,  # type: ignore[arg-type]
                         churn_value=churn_value, id_column=id_column, topics=topics,
                         topic_method=topic_method)  # type: ignore[arg-type]
    buf = io.BytesIO()
    result.tagged.to_parquet(buf, index=False)
    write_outputs({out / "reasons.json": to_json(result.to_dict()), out / "reasons.parquet": buf.getvalue()}, force)
    use = _lang(result.lang)
    for r in result.by_reason.to_dict("records"):
        extra = msg("reasons.churn", use, rate=_pct(r["churn_rate"]), share=_pct(r["share_of_churners"])) \
            if churn else ""
        console.print(msg("reasons.line", use, reason=r["reason"], texts=f"{r['texts']:,}", share=_pct(r["share"]),
                          churn=extra), markup=False)
    for t in result.topics:
        console.print(msg("reasons.topic", use, n=t.n_texts, words=", ".join(t.top_words)), markup=False)
    console.print(f"wrote {out / 'reasons.json'} and {out / 'reasons.parquet'}")


@app.command("driver-effect")
@domain_errors
def driver_effect_command(
    data: str = typer.Option(..., "--data", help="Subscribers (.parquet/.csv/duckdb://)."),
    graph: Path = typer.Option(..., "--graph", help="YAML: treatment condition, outcome, confounders, edges."),
    json_out: Path = typer.Option(..., "--json", help="Write estimate, interval and refuters here."),
    simulations: int | None = typer.Option(None, "--simulations", help="Simulations per refuter (default: YAML)."),
    bootstrap: int = typer.Option(100, "--bootstrap", help="Bootstrap samples of the interval (weighting)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample, bootstrap and refuters."),
    lang: str = typer.Option("en", "--lang", help="en | zh for the printed explanation."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
) -> None:
    """Causal check of one churn driver with DoWhy: backdoor estimate on the stated graph, then refuters."""
    from experiments.cli._common import check_writable
    from experiments.diagnosis.driver_effect import driver_effect, load_driver_spec

    use = _lang(lang)
    spec = load_driver_spec(graph)
    check_writable([json_out], force)  # before minutes of refutation
    result = driver_effect(data, spec, n_simulations=simulations, n_bootstrap=bootstrap, rng=seed)
    write_outputs({json_out: to_json(result.to_dict())}, force)
    for line in result.explanation(use):
        console.print(line, markup=False)
    console.print(f"wrote {json_out}")

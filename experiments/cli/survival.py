"""``retention survival`` (curves, log-rank, RMST, Cox, lifetime value) and ``retention risk`` (churn-risk scores).

Two forms of ``retention survival``: ``retention survival DESIGN --json OUT`` for an experiment's arms, or ad hoc
``retention survival --data PATH --duration COL --event COL [--event-value V] [--group COL] [--covariates A,B]
[--times 12,24] [--horizon H] --json OUT``. Flags override the design.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from experiments.cli._common import console, domain_errors, register_domain_error
from experiments.cli.app import app
from experiments.data.io import to_json, write_outputs
from experiments.errors import DesignError


def _register() -> None:
    from survival.errors import SurvivalError

    register_domain_error(SurvivalError)


def _split(text: str | None) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()] if text else []


def _numbers(text: str | None, flag: str) -> list[float]:
    out = []
    for x in _split(text):
        try:
            out.append(float(x))
        except ValueError:
            raise DesignError(f"{flag}: {x!r} is not a number; give comma-separated numbers like 12,24") from None
    return out


def _event_value(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


@app.command("survival")
@domain_errors
def survival_command(
    design: Path | None = typer.Argument(None, metavar="[DESIGN]", help="Experiment design (optional with --data)."),
    data: str | None = typer.Option(None, "--data", help="Subscribers file or duckdb:// URL; overrides the design."),
    duration: str | None = typer.Option(None, "--duration", help="Time to churn or censoring column."),
    event: str | None = typer.Option(None, "--event", help="Churn indicator column (0/1, or see --event-value)."),
    event_value: str | None = typer.Option(None, "--event-value", help="Value of --event that means churn."),
    group: str | None = typer.Option(None, "--group", help="Group column (default with a design: data.arm)."),
    control: str | None = typer.Option(None, "--control", help="Control group for tenure gained and ΔLTV."),
    covariates: str | None = typer.Option(None, "--covariates", help="Comma-separated Cox covariates."),
    times: str | None = typer.Option(None, "--times", help="Comma-separated times for S(t), e.g. 12,24."),
    horizon: float | None = typer.Option(None, "--horizon", help="RMST horizon (default: shortest follow-up)."),
    time_unit: str | None = typer.Option(None, "--time-unit", help="days|months (design default days)."),
    drop_missing: bool = typer.Option(False, "--drop-missing", help="Drop rows with blank covariates (reported)."),
    json_out: Path = typer.Option(..., "--json", help="Write the result as JSON here."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
) -> None:
    """Survival curves per group, log-rank, RMST (tenure gained), Cox with a PH check, and lifetime value."""
    _register()
    from experiments.value.tenure import analyze_survival

    if design is None and data is None:
        raise DesignError("no data: pass an experiment design or --data PATH with --duration and --event")
    kwargs: dict[str, Any] = dict(duration=duration, event=event, event_value=_event_value(event_value),
                                  group=group, control=control, covariates=_split(covariates),
                                  times=_numbers(times, "--times"), horizon=horizon, time_unit=time_unit,
                                  drop_missing=drop_missing)
    if design is not None:
        from experiments.cli.analyze import _load_experiment

        d = _load_experiment(design)
        result = analyze_survival(d, data=data, **kwargs)
    else:
        if duration is None or event is None:
            raise DesignError("ad hoc survival needs --duration COL and --event COL")
        result = analyze_survival(data, **kwargs)
    write_outputs({json_out: to_json(result.to_dict())}, force)
    for g, v in result.groups.items():
        console.print(f"{g}: n={v['n']:,} churned={v['events']:,} median={v['median']:g} "
                      f"RMST({result.horizon:g})={v['rmst']:.3f} [{v['rmst_ci'][0]:.3f}, {v['rmst_ci'][1]:.3f}]")
    if result.logrank:
        console.print(f"log-rank χ²={result.logrank['statistic']:.3f} on {result.logrank['dof']} df, "
                      f"p={result.logrank['p_value']:.3g}")
    if result.ph_test and not result.ph_test["ok"]:
        console.print("[yellow]warning[/]: proportional hazards rejected for "
                      + ", ".join(k for k, v in result.ph_test["covariates"].items()
                                  if v["p_value"] < result.ph_test["alpha"]))
    console.print(f"wrote {json_out}")


@app.command("risk")
@domain_errors
def risk_command(
    data: str = typer.Option(..., "--data", help="Subscribers (.parquet/.csv/duckdb://)."),
    duration: str = typer.Option(..., "--duration", help="Tenure so far (or at churn) column."),
    event: str = typer.Option(..., "--event", help="Churn indicator column."),
    event_value: str | None = typer.Option(None, "--event-value", help="Value of --event that means churn."),
    covariates: str = typer.Option(..., "--covariates", help="Comma-separated model covariates."),
    horizon: float = typer.Option(..., "--horizon", help="h: probability of churning within h (duration unit)."),
    id_column: str | None = typer.Option(None, "--id", help="Subscriber id column to carry into the output."),
    thresholds: str | None = typer.Option(None, "--thresholds", help="low,high probability cut points of tiers "
                                                                      "(default: tertiles)."),
    all_rows: bool = typer.Option(False, "--all", help="Score churned subscribers too (default: active only)."),
    out: Path = typer.Option(..., "--out", help="Scores (.csv or .parquet)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write model quality (C, AUC, Brier) as JSON."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
) -> None:
    """Score current subscribers: P(churn within h | tenure so far), risk score and low/medium/high tier."""
    _register()
    import io

    import pandas as pd

    from experiments.data.engine import open_table
    from survival.risk import ChurnRiskModel

    cuts = _numbers(thresholds, "--thresholds")
    if thresholds is not None and len(cuts) != 2:
        raise DesignError(f"--thresholds: expected two numbers low,high; found {thresholds!r}")
    if out.suffix.lower() not in {".csv", ".parquet"}:
        raise DesignError(f"--out: {out.name!r} must end in .csv or .parquet")
    cov = _split(covariates)
    table = open_table(data)
    cols = list(dict.fromkeys([duration, event, *cov, *([id_column] if id_column else [])]))
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise DesignError(f"column {missing[0]!r} is not in {data}; columns are {list(table.columns)}")
    frame = table.select(cols).to_pandas()
    model = ChurnRiskModel(horizon=horizon, covariates=cov, allow_extrapolation=False).fit(
        frame, duration, event, event_value=_event_value(event_value))
    ev = model._frame(frame)["_event"].to_numpy()
    current = frame if all_rows else frame[ev == 0].reset_index(drop=True)
    if len(current) == 0:
        raise DesignError(f"column {event!r}: every one of the {len(frame):,} subscribers has churned, so no active "
                          "subscriber is left to score; pass --all to score them anyway, or check --event/--event-value")
    scores = model.score(current, id_column=id_column, thresholds=(cuts[0], cuts[1]) if cuts else None)
    scores.insert(1 if id_column else 0, "tenure", current[duration].to_numpy())
    if out.suffix.lower() == ".csv":
        payload: bytes | str = scores.to_csv(index=False)
    else:
        buf = io.BytesIO()
        scores.assign(tier=scores["tier"].astype(str)).to_parquet(buf, index=False)
        payload = buf.getvalue()
    files: dict[Path, bytes | str] = {out: payload}
    if json_out is not None:
        quality = model.evaluate(frame).to_dict()
        quality.update(tier_cuts=list(scores.attrs["tier_cuts"]), scored=len(scores),
                       tiers=pd.Series(scores["tier"]).value_counts().reindex(["low", "medium", "high"]).tolist(),
                       cox=model.cox_.to_dict())
        files[json_out] = to_json(quality)
    write_outputs(files, force)
    console.print(f"scored {len(scores):,} subscribers (tier cuts {scores.attrs['tier_cuts'][0]:.3f}, "
                  f"{scores.attrs['tier_cuts'][1]:.3f}); wrote {out}")

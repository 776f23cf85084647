"""Competitor promotions: run the difference-in-differences study and turn it into a report section.

:func:`analyze_promo` runs :class:`causal.did.DiD` on a region × month panel (the simulator's ``panel.parquet`` by
default columns) or on subscriber-month rows; :func:`promo_section` turns the result into a
:class:`experiments.sections.ReportSection` with plain-language conclusions, tables, the event-study figure and the
trust checks (pre-trends, few clusters → wild bootstrap, refutations).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments.report.i18n import MESSAGES, Lang, msg
from experiments.report.sections import ReportSection, TrustCheck

if TYPE_CHECKING:
    from causal.results import DidResult

#: Columns of the simulator's panel (``experiments/simulate.py`` → ``panel.parquet``).
PANEL_COLUMNS = {"unit": "region", "time": "month", "outcome": "churn_rate", "treat": "promo",
                 "weight": "subscribers"}


def analyze_promo(
    panel: Any,
    *,
    unit: str = PANEL_COLUMNS["unit"],
    time: str = PANEL_COLUMNS["time"],
    outcome: str = PANEL_COLUMNS["outcome"],
    treat: str = PANEL_COLUMNS["treat"],
    weight: str | None = PANEL_COLUMNS["weight"],
    cluster: str | None = None,
    covariates: tuple[str, ...] = (),
    se: str = "auto",
    alpha: float = 0.05,
    staggered: bool | None = None,
    control: str = "never",
    event_window: tuple[int, int] | None = None,
    n_boot: int = 9999,
    n_perm: int = 999,
    n_placebo: int = 200,
    value: float | str | None = None,
    rng: Any = 20261122,
    pretest: str = "bootstrap",
) -> DidResult:
    """Estimate the competitor promotion's effect on churn from a panel (path, DataFrame or Ibis table).

    Parameters
    ----------
    panel : str, Path, pandas.DataFrame or ibis Table
        The panel or subscriber-month rows; a path is opened with :func:`experiments.data.open_table` (rows are
        aggregated in DuckDB, never loaded into pandas).
    staggered : bool, optional
        Callaway–Sant'Anna as the headline. ``None`` (default): on when units start on different dates.
    Other parameters
        As :class:`causal.did.DiD` (``pretest``: which staggered pre-trend test decides, ``"bootstrap"`` or R
        ``did``'s ``"wald"``).

    Returns
    -------
    causal.results.DidResult

    Examples
    --------
    >>> from causal.simulate import simulate_panel
    >>> panel, truth = simulate_panel(30, 12, starts=(7,), rng=0)
    >>> res = analyze_promo(panel, n_perm=0, n_placebo=0, n_boot=999)
    >>> res.se_type
    'wild'
    """
    from causal.did import DiD

    table = panel
    if isinstance(panel, (str, Path)):
        from experiments.data.engine import open_table

        table = open_table(panel)
    if staggered is None:
        staggered = _has_several_starts(table, unit, time, treat)
    model = DiD(unit=unit, time=time, outcome=outcome, treat=treat, weight=weight, cluster=cluster,
                covariates=covariates, se=se, alpha=alpha, staggered=staggered, control=control,  # type: ignore[arg-type]
                event_window=event_window, n_boot=n_boot, n_perm=n_perm, n_placebo=n_placebo, value=value, rng=rng,
                pretest=pretest)  # type: ignore[arg-type]
    return model.fit(table).result_


def _has_several_starts(table: Any, unit: str, time: str, treat: str) -> bool:
    """Whether treated units start in more than one period (checked in the engine)."""
    import ibis
    import ibis.expr.types as ir
    import pandas as pd

    t = table if isinstance(table, ir.Table) else ibis.memtable(table) if isinstance(table, pd.DataFrame) else None
    if t is None or unit not in t.columns or treat not in t.columns or time not in t.columns:
        return False
    starts = t.filter(t[treat] == 1).group_by(unit).aggregate(start=t[time].min())
    return int(starts.start.nunique().to_pyarrow().as_py()) > 1


def _fmt(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:,.0f}"


def _pp(x: float) -> str:
    """A churn-rate difference in percentage points (the number only; the message adds the unit)."""
    return f"{100 * x:+.3f}"


def _p(p: float, r: DidResult) -> str:
    if p == 0 and r.wild is not None and r.se_type == "wild":
        return f"p < {1 / r.wild.n_draws:.1g}"
    return f"p = {p:.3g}"


def promo_section(result: DidResult, value_per_subscriber: float | None = None,
                  lang: Lang = "en") -> ReportSection:
    """Report section of the competitor-promotion study.

    Parameters
    ----------
    result : causal.results.DidResult
        From :func:`analyze_promo` (outcome on the churn-rate scale: churners per subscriber-month).
    value_per_subscriber : float, optional
        Value lost per extra churner (e.g. the survival area's lifetime value) when the result has none.
    lang : {"en", "zh"}
        Language of the conclusions, trust-check names and the title (tables and method notes stay English).

    Examples
    --------
    >>> from causal.simulate import simulate_panel
    >>> panel, _ = simulate_panel(30, 12, starts=(7,), rng=0)
    >>> sec = promo_section(analyze_promo(panel, n_perm=0, n_placebo=0, n_boot=999), value_per_subscriber=400.0)
    >>> sec.key, len(sec.figures) >= 1
    ('promo', True)
    """
    import pandas as pd

    from causal.did import excess_churn
    from causal.errors import SpecError

    r = result
    lvl = int(round((1 - r.alpha) * 100))
    biz = r.business
    if biz is None:  # not a churn outcome: the section speaks of churn rates, so it refuses clearly
        raise SpecError(f"the promotion section needs a churn indicator or rate as the outcome; this one is "
                              f"{r.outcome_kind!r} (values outside [0, 1]), use the DiD result directly")
    if value_per_subscriber is not None and biz.value_lost is None:
        biz = excess_churn(r.att, r.ci, biz.exposure, biz.exposure * value_per_subscriber, "constant")
    sig = r.ci[0] > 0 or r.ci[1] < 0
    method = msg("promo.cs" if r.staggered is not None else "promo.twfe", lang)
    conclusions = [
        msg("promo.effect", lang, dir=msg("promo.raised" if r.att > 0 else "promo.lowered", lang), att=_pp(r.att),
            lvl=lvl, lo=_pp(r.ci[0]), hi=_pp(r.ci[1]), p=_p(r.p_value, r), method=method)
        + msg("promo.sig" if sig else "promo.nosig", lang),
        msg("promo.excess", lang, excess=f"{biz.excess:,.0f}", exposure=f"{biz.exposure:,.0f}", lvl=lvl,
            lo=f"{biz.ci[0]:,.0f}", hi=f"{biz.ci[1]:,.0f}"),
    ]
    if biz.value_lost is not None and biz.value_ci is not None:
        src = msg("promo.src_constant", lang) if biz.value_source == "constant" else biz.value_source
        conclusions.append(msg("promo.value", lang, v=f"{biz.value_lost:,.0f}", lvl=lvl, lo=f"{biz.value_ci[0]:,.0f}",
                               hi=f"{biz.value_ci[1]:,.0f}", src=src))
    checks = [_pretrend_check(r, lang), _cluster_check(r, lang)]
    for name, ref in r.refutations.items():
        if name in ("pretrend", "randomization"):
            continue
        label = (msg(f"check.{ref.name}", lang) if f"check.{ref.name}" in MESSAGES
                 else ref.name.replace("_", " ").capitalize())
        checks.append(TrustCheck(name=label, status="ok" if ref.passed else "warning", message=ref.message))
    if "randomization" in r.refutations:
        ri = r.refutations["randomization"]
        agrees = (ri.p_value < r.alpha) == (r.p_value < r.alpha)
        if not ri.applicable:
            checks.append(TrustCheck(name=msg("check.randomization", lang), status="warning", message=ri.message))
        else:
            checks.append(TrustCheck(name=msg("check.randomization", lang), status="ok" if agrees else "warning",
                                     message=ri.message + msg("ri.agrees" if agrees else "ri.disagrees", lang)))
    es = r.event_study.rename(columns={"rel_time": "months since start", "coef": "effect", "ci_lo": "CI low",
                                       "ci_hi": "CI high"})[["months since start", "effect", "se", "CI low",
                                                             "CI high"]]
    tables: list[tuple[str, pd.DataFrame]] = [
        ("Estimates (effect on the monthly churn rate)", r.summary().round(6)),
        ("Event study (TWFE, reference month −1)", es.round(6)),
    ]
    if r.staggered is not None:
        tables.append(("Group-time effects ATT(g, t) (Callaway–Sant'Anna)", r.staggered.att_gt.round(6)))
        tables.append(("Effect by start cohort", r.staggered.group.round(6)))
    refs = pd.DataFrame([{"check": k, "estimate": v.estimate, "p_value": v.p_value, "passed": v.passed}
                         for k, v in r.refutations.items()])
    tables.append(("Refutations", refs))
    notes = list(r.notes) + [
        "Difference-in-differences assumes the promotion regions would have followed the comparison regions' churn "
        "trend without it (parallel trends); the pre-trend test and placebo checks probe that assumption.",
        "References: Callaway and Sant'Anna (2021); MacKinnon, Nielsen and Webb (2023) on few clusters; "
        "Roodman, MacKinnon, Nielsen and Webb (2019) for the fast wild cluster bootstrap.",
    ]
    return ReportSection(key="promo", title=msg("title.promo", lang), conclusions=conclusions,
                         tables=tables, figures=[("Effect by month relative to the promotion start",
                                                  r.plot())], checks=checks, notes=notes, language=lang)


def _pretrend_check(r: DidResult, lang: Lang = "en") -> TrustCheck:
    ref = r.refutations["pretrend"]
    status = "warning" if not ref.applicable else ("ok" if ref.passed else "fail")
    return TrustCheck(name=msg("check.pretrend", lang), status=status, message=ref.message)


def _cluster_check(r: DidResult, lang: Lang = "en") -> TrustCheck:
    name = msg("check.clusters", lang)
    if r.se_type == "wild" or (r.n_clusters < 50 and r.wild is not None):
        return TrustCheck(name=name, status="ok", message=msg("clusters.wild", lang, n=r.n_clusters,
                                                              reason=r.se_reason))
    if r.n_clusters < 50 and r.se_type in ("cluster", "iid", "hc1"):
        return TrustCheck(name=name, status="warning", message=msg("clusters.few", lang, n=r.n_clusters, se=r.se_type))
    return TrustCheck(name=name, status="ok", message=r.se_reason)

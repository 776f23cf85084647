"""The churn profile as a report section and as figures, in English or Simplified Chinese."""

from __future__ import annotations

from typing import TYPE_CHECKING

from experiments.report.format import fmt_p
from experiments.report.format import fmt_pct as _fmt_pct
from experiments.report.i18n import Lang, msg
from experiments.report.sections import ReportSection, TrustCheck

if TYPE_CHECKING:
    from experiments.diagnosis.results import ProfileResult


def fmt_pct(x: float) -> str:
    """A rate as a percentage with two decimals (the published figures' precision: 14.07 %)."""
    return _fmt_pct(x, 2)


def _money(x: float) -> str:
    return f"{x:,.0f}"


def profile_conclusions(p: ProfileResult, lang: Lang = "en", top: int = 3) -> list[str]:
    """Plain-language sentences: overall churn, revenue at risk, strongest associations, thresholds, extremes."""
    o = p.overall
    out = [msg("diag.overall", lang, rate=fmt_pct(o.rate), n=f"{o.n:,}", k=f"{o.churned:,}", lo=fmt_pct(o.ci[0]),
               hi=fmt_pct(o.ci[1]))]
    if o.revenue is not None and o.revenue:
        out.append(msg("diag.revenue", lang, risk=_money(o.revenue_at_risk or 0.0), total=_money(o.revenue),
                       share=fmt_pct((o.revenue_at_risk or 0.0) / o.revenue)))
    if p.associations:
        items = ", ".join(f"{a.column} ({msg('diag.method.' + a.method, lang)} {a.value:+.3f})"
                          for a in p.associations[:top])
        out.append(msg("diag.assoc", lang, items=items))
    strong = sorted((t for t in p.thresholds.values() if t.p_value < 0.05), key=lambda t: -t.statistic)[:top]
    for t in strong:
        out.append(msg("diag.threshold", lang, col=t.column, below=fmt_pct(t.below.rate), above=fmt_pct(t.above.rate),
                       cut=t.between[1] if p.columns[t.column].role == "levels" else f"{t.cut:g}",
                       stat=f"{t.statistic:.1f}", p=fmt_p(t.p_value)))
    cats = [(c, lvl, r) for c, levels in p.features.items() if p.columns[c].role == "categorical"
            for lvl, r in levels.items() if r.n >= 30]
    if cats:
        c, lvl, r = max(cats, key=lambda t: t[2].rate)
        out.append(msg("diag.highest", lang, col=c, level=lvl, rate=fmt_pct(r.rate), k=f"{r.churned:,}",
                       n=f"{r.n:,}"))
    for c, info in p.columns.items():
        if info.blank:
            out.append(msg("diag.blank", lang, col=c, count=f"{info.blank:,}"))
    out.append(msg("diag.predictive", lang))
    return out


def profile_checks(p: ProfileResult, lang: Lang = "en") -> list[TrustCheck]:
    """One check: missing and blank values found in the profiled columns (a warning when there are any)."""
    found = [f"{c}: {i.missing + i.blank:,}" for c, i in p.columns.items() if i.missing or i.blank]
    name = msg("diag.check.quality", lang)
    if not found:
        return [TrustCheck(name, "ok", msg("diag.quality.ok", lang))]
    return [TrustCheck(name, "warning", msg("diag.quality.found", lang, items="; ".join(found)))]


def profile_tables(p: ProfileResult, lang: Lang = "en") -> list[tuple[str, object]]:
    """Captioned tidy tables: levels, thresholds, associations, the strongest cross tables (headers in ``lang``)."""
    import pandas as pd

    h = {k: msg(f"diag.col.{k}", lang) for k in ("column", "level", "subscribers", "churned", "rate", "ci",
                                                   "association", "method", "cut", "below", "above", "p")}
    levels = pd.DataFrame([{h["column"]: c, h["level"]: lvl, h["subscribers"]: r.n, h["churned"]: r.churned,
                            h["rate"]: fmt_pct(r.rate), h["ci"]: f"{fmt_pct(r.ci[0])} – {fmt_pct(r.ci[1])}"}
                           for c, lv in p.features.items() for lvl, r in lv.items()])
    thr = pd.DataFrame([{h["column"]: t.column, h["cut"]: f"{t.between[0]} | {t.between[1]}",
                         h["below"]: f"{fmt_pct(t.below.rate)} ({t.below.n:,})",
                         h["above"]: f"{fmt_pct(t.above.rate)} ({t.above.n:,})", "χ²": round(t.statistic, 2),
                         h["p"]: fmt_p(t.p_value)}
                        for t in sorted(p.thresholds.values(), key=lambda t: -t.statistic)])
    assoc = pd.DataFrame([{h["column"]: a.column, h["association"]: round(a.value, 4),
                           h["method"]: msg("diag.method." + a.method, lang)} for a in p.associations])
    tables: list[tuple[str, object]] = [(msg("diag.tab.assoc", lang), assoc), (msg("diag.tab.thresholds", lang), thr)]
    for x in p.crosstabs[:3]:
        a, b = x.columns
        df = pd.DataFrame([{a: la, b: lb, h["subscribers"]: r.n, h["rate"]: fmt_pct(r.rate)} for la, lb, r in x.cells])
        tables.append((msg("diag.tab.cross", lang, a=a, b=b, g2=f"{x.g2:.1f}", p=fmt_p(x.p_value)), df))
    tables.append((msg("diag.tab.levels", lang), levels))
    return tables


def profile_section(p: ProfileResult, lang: Lang = "en") -> ReportSection:
    """The profile as a report section: conclusions, the data-quality check, figures, tables, method notes."""
    from experiments.diagnosis.plots import rate_figure

    figs = []
    try:
        shown = [a.column for a in p.associations[:2]]
        shown += [c for c in sorted(p.thresholds, key=lambda c: -p.thresholds[c].statistic)[:2] if c not in shown]
        figs = [(msg("diag.fig.rate", lang, col=c), rate_figure(p.features[c], p.overall.rate, c, lang)) for c in shown]
    except ImportError:  # plotly missing: the section still has its tables
        pass
    notes = [
        "Every count was computed by the engine (DuckDB GROUP BY GROUPING SETS); intervals are Wilson score "
        f"intervals at {1 - p.alpha:.0%}.",
        "Thresholds: the cut of an ordered column with the largest Pearson χ² of the two-group table (maximally "
        "selected χ²); its p-value is Bonferroni-adjusted over the candidate cuts.",
        "Associations: point-biserial r (Pearson's r with the 0/1 outcome) for numeric columns, Cramér's V for "
        "categorical ones; they are on different scales, ranked by absolute value.",
        "Cross tables: the G² likelihood-ratio statistic of the additive logit model churn ~ A + B (fitted by "
        "iterative proportional fitting); a large G² means the two columns' effects combine non-additively.",
        *p.notes,
    ]
    return ReportSection("diagnosis", msg("title.diagnosis", lang), profile_conclusions(p, lang),
                         profile_tables(p, lang), figs, profile_checks(p, lang), notes, language=lang)

"""The experiment's report section and its terminal summary (plain-language conclusions first, then numbers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from experiments.analysis.tables import arm_table, comparison_table
from experiments.report.format import fmt_p, fmt_pct
from experiments.report.i18n import Lang, msg
from experiments.report.sections import ReportSection, TrustCheck

if TYPE_CHECKING:
    from rich.console import Console

    from experiments.analysis.results import ExperimentResult, MetricResult


def _effect_sentence(m: MetricResult, c, correction: str, lang: Lang = "en") -> str:
    ctrl = m.arms[c.control].mean
    arm = m.arms[c.arm].mean
    adjusted = c.p_adjusted == c.p_adjusted
    p = msg("p.adjusted", lang, method=correction, p=fmt_p(c.p_adjusted)) if adjusted else \
        msg("p.raw", lang, p=fmt_p(c.p_value))
    significant = (c.p_adjusted if adjusted else c.p_value) < 0.05
    good = (c.diff < 0) == (m.direction == "decrease")
    key = "effect.none" if not significant else "effect.improved" if good else "effect.worse"
    verdict = msg(key, lang, arm=c.arm, metric=m.name)
    if m.kind == "binary":
        return msg("effect.binary", lang, verdict=verdict, ctrl=fmt_pct(ctrl), arm=fmt_pct(arm),
                   diff=f"{100 * c.diff:+.2f}", lo=f"{100 * c.ci[0]:+.2f}", hi=f"{100 * c.ci[1]:+.2f}", p=p)
    return msg("effect.continuous", lang, verdict=verdict, ctrl=f"{ctrl:,.2f}", arm=f"{arm:,.2f}",
               diff=f"{c.diff:+,.2f}", lo=f"{c.ci[0]:+,.2f}", hi=f"{c.ci[1]:+,.2f}", rel=fmt_pct(c.rel_lift), p=p)


def experiment_checks(result: ExperimentResult, lang: Lang = "en") -> list[TrustCheck]:
    """SRM, guardrail and maturity checks of an experiment result."""
    s = result.srm
    name = msg("check.srm", lang)
    if s.zero_arms:
        srm = TrustCheck(name, "fail", msg("srm.empty", lang, arms=list(s.zero_arms)))
    elif not s.ok:
        srm = TrustCheck(name, "fail", msg("srm.fail", lang, stat=f"{s.statistic:.1f}", p=f"{s.p_value:.2g}",
                                           alpha=s.alpha))
    else:
        srm = TrustCheck(name, "ok", msg("srm.ok", lang, p=f"{s.p_value:.3f}"))
    checks = [srm]
    for m in result.metrics.values():
        for r in m.non_inferiority:
            if not r.passed:
                bound = fmt_pct(r.bound) if r.relative else f"{r.bound:+.3g}"
                margin = fmt_pct(r.margin) if r.relative else r.margin
                checks.append(TrustCheck(msg("check.guardrail", lang, metric=m.name), "warning",
                                         msg("guardrail.check", lang, arm=r.arm, bound=bound, margin=margin)))
        if m.excluded_immature:
            total = sum(result.units.values())
            share = m.excluded_immature / total
            checks.append(TrustCheck(msg("check.maturity", lang, metric=m.name), "warning" if share > 0.05 else "ok",
                                     msg("maturity", lang, n=f"{m.excluded_immature:,}", total=f"{total:,}",
                                         share=fmt_pct(share), cutoff=m.maturity_cutoff)))
    return checks


def experiment_conclusions(result: ExperimentResult, lang: Lang = "en") -> list[str]:
    """Plain-language sentences: each offer's effect on each metric, and each guardrail's verdict."""
    conclusions: list[str] = []
    for m in result.metrics.values():
        if m.role == "guardrail":
            for r in m.non_inferiority:
                conclusions.append(msg(
                    "guardrail.held" if r.passed else "guardrail.failed", lang, metric=m.name, arm=r.arm,
                    bound=fmt_pct(r.bound) if r.relative else f"{r.bound:+.3g}",
                    kind=msg("kind.relative" if r.relative else "kind.absolute", lang),
                    margin=fmt_pct(r.margin) if r.relative else r.margin, p=fmt_p(r.p_value)))
        else:
            conclusions.extend(_effect_sentence(m, c, result.correction, lang) for c in m.comparisons)
    return conclusions


def experiment_section(result: ExperimentResult, lang: Lang = "en") -> ReportSection:
    """The experiment analysis as a report section (conclusions and checks in ``lang``; notes in English)."""
    conclusions = experiment_conclusions(result, lang)
    figs = []
    try:
        figs.append(("Effect of each offer against control", result.plot()))
    except ImportError:  # plotly missing: the report still has the tables
        pass
    notes = [
        "Per-arm sums (n, Σy, Σy², and Σx, Σx², Σxy for CUPED) were computed by the engine; every test below runs on "
        "them.",
        "Binary metrics: difference of proportions with an unpooled Wald 95% interval; p-value of the pooled "
        "two-proportion z test (= Pearson χ² without continuity correction); Wilson intervals per arm.",
        "Continuous metrics: Welch's t with Welch–Satterthwaite degrees of freedom; relative lifts by the delta "
        "method.",
        f"Multiplicity: {result.correction} over the offer comparisons of each primary and secondary metric; "
        "guardrails are outside the family and use one-sided non-inferiority tests against their margin.",
        "CUPED: y − θ(x − x̄) with θ pooled over arms (Deng et al. 2013).",
        *result.notes,
    ]
    cup_rows = []
    for m in result.metrics.values():
        if m.cuped:
            cup_rows.append({"metric": m.name, "theta": m.cuped.theta,
                             "variance_reduction": m.cuped.variance_reduction})
    import pandas as pd

    tables = [("Per-arm means with 95% intervals", arm_table(result)),
              ("Each offer against control", comparison_table(result))]
    if cup_rows:
        tables.append(("CUPED variance reduction", pd.DataFrame(cup_rows)))
    return ReportSection("experiment", msg("title.experiment", lang, name=result.design), conclusions, tables, figs,
                         experiment_checks(result, lang), notes, language=lang)


def print_experiment(result: ExperimentResult, console: Console, lang: Lang = "en") -> None:
    """Print the experiment summary to a Rich console (checks and conclusions in ``lang``)."""
    from rich.table import Table

    for chk in experiment_checks(result, lang):
        colour = {"ok": "green", "warning": "yellow", "fail": "red"}[chk.status]
        console.print(f"[{colour}]{chk.status.upper():7}[/{colour}] {chk.name}: {chk.message}")
    console.print()
    for line in experiment_conclusions(result, lang):
        console.print(f"• {line}")
    console.print()
    for name, m in result.metrics.items():
        t = Table(title=f"{name} ({m.kind}, {m.role})", title_justify="left")
        for col in ("arm", "n", "mean", "95% CI", "diff vs control", "95% CI ", "p", "p adj", "rel. lift"):
            t.add_column(col, justify="right" if col != "arm" else "left")
        comps = {c.arm: c for c in m.comparisons}
        pct = m.kind == "binary"
        for arm, e in m.arms.items():
            c = comps.get(arm)
            f = (lambda v: fmt_pct(v, 2)) if pct else (lambda v: f"{v:,.3f}")
            g = (lambda v: f"{100 * v:+.2f} pp") if pct else (lambda v: f"{v:+,.3f}")
            row = [arm, f"{e.n:,}", f(e.mean), f"{f(e.ci[0])} – {f(e.ci[1])}"]
            if c is None:
                row += ["(control)", "", "", "", ""]
            else:
                row += [g(c.diff), f"{g(c.ci[0])} – {g(c.ci[1])}", fmt_p(c.p_value), fmt_p(c.p_adjusted),
                        fmt_pct(c.rel_lift)]
            t.add_row(*row)
        console.print(t)
        if m.omnibus:
            console.print(f"  χ² over all arms: {m.omnibus.statistic:.2f} on {m.omnibus.dof} df, "
                          f"p {fmt_p(m.omnibus.p_value)}")
        if m.cuped:
            console.print(f"  CUPED: θ = {m.cuped.theta:.3f}, variance reduced by "
                          f"{fmt_pct(m.cuped.variance_reduction)}")
    for n in result.notes:
        console.print(f"[dim]note: {n}[/dim]")

"""Reports: the experiment's report section, the terminal summary and the HTML page.

Conclusions come first in plain language, numbers with intervals second, method notes last. A failed trust check
(sample-ratio mismatch, immature cohorts, pre-trends, proportional hazards ...) is shown at the top of the page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from experiments.sections import ReportSection, TrustCheck
from experiments.tables import arm_table, comparison_table, fmt_p, fmt_pct

if TYPE_CHECKING:
    from rich.console import Console

    from experiments.analyze import ExperimentResult, MetricResult


def _effect_sentence(m: MetricResult, c, correction: str) -> str:
    ctrl = m.arms[c.control].mean
    arm = m.arms[c.arm].mean
    adj = f"{correction}-adjusted p {fmt_p(c.p_adjusted)}" if c.p_adjusted == c.p_adjusted else f"p {fmt_p(c.p_value)}"
    if m.kind == "binary":
        change = (f"{fmt_pct(ctrl)} → {fmt_pct(arm)} ({100 * c.diff:+.2f} points, 95% CI "
                  f"{100 * c.ci[0]:+.2f} to {100 * c.ci[1]:+.2f}; {adj})")
    else:
        change = (f"{ctrl:,.2f} → {arm:,.2f} ({c.diff:+,.2f}, 95% CI {c.ci[0]:+,.2f} to {c.ci[1]:+,.2f}; "
                  f"{fmt_pct(c.rel_lift)} relative; {adj})")
    significant = (c.p_adjusted if c.p_adjusted == c.p_adjusted else c.p_value) < 0.05
    good = (c.diff < 0) == (m.direction == "decrease")
    if not significant:
        verdict = f"{c.arm}: no clear effect on {m.name}"
    elif good:
        verdict = f"{c.arm} improved {m.name}"
    else:
        verdict = f"{c.arm} made {m.name} worse"
    return f"{verdict}: {change}."


def experiment_checks(result: ExperimentResult) -> list[TrustCheck]:
    """SRM and maturity checks of an experiment result."""
    s = result.srm
    if s.zero_arms:
        srm = TrustCheck("Sample-ratio mismatch", "fail", f"arm(s) {list(s.zero_arms)} have no units.")
    elif not s.ok:
        srm = TrustCheck("Sample-ratio mismatch", "fail",
                         f"arm sizes do not match the design weights (χ² = {s.statistic:.1f}, p = {s.p_value:.2g} "
                         f"< {s.alpha}); the assignment or the data pipeline lost units — do not trust the effects "
                         "until this is explained.")
    else:
        srm = TrustCheck("Sample-ratio mismatch", "ok",
                         f"arm sizes match the design weights (χ² p = {s.p_value:.3f}).")
    checks = [srm]
    for m in result.metrics.values():
        for r in m.non_inferiority:
            if not r.passed:
                bound = fmt_pct(r.bound) if r.relative else f"{r.bound:+.3g}"
                checks.append(TrustCheck(f"Guardrail {m.name}", "warning",
                                         f"{r.arm}: not shown to stay within the margin "
                                         f"({bound} worst plausible change vs margin "
                                         f"{fmt_pct(r.margin) if r.relative else r.margin})."))
        if m.excluded_immature:
            total = sum(result.units.values())
            share = m.excluded_immature / total
            checks.append(TrustCheck(f"Maturity of {m.name}", "warning" if share > 0.05 else "ok",
                                     f"{m.excluded_immature:,} of {total:,} units ({fmt_pct(share)}) assigned after "
                                     f"{m.maturity_cutoff} are not yet observable and were left out."))
    return checks


def experiment_section(result: ExperimentResult) -> ReportSection:
    """The experiment analysis as a report section."""
    conclusions: list[str] = []
    for m in result.metrics.values():
        if m.role == "guardrail":
            for r in m.non_inferiority:
                kind = "relative" if r.relative else "absolute"
                bound = fmt_pct(r.bound) if r.relative else f"{r.bound:+.3g}"
                verdict = "held" if r.passed else "was NOT shown to hold"
                conclusions.append(f"Guardrail {m.name} {verdict} for {r.arm}: worst plausible change {bound} "
                                   f"against a {kind} margin of {fmt_pct(r.margin) if r.relative else r.margin} "
                                   f"(one-sided p {fmt_p(r.p_value)}).")
        else:
            conclusions.extend(_effect_sentence(m, c, result.correction) for c in m.comparisons)
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
    return ReportSection("experiment", f"Experiment {result.design}", conclusions, tables, figs,
                         experiment_checks(result), notes)


def print_experiment(result: ExperimentResult, console: Console) -> None:
    """Print the experiment summary to a Rich console."""
    from rich.table import Table

    section = experiment_section(result)
    for chk in section.checks:
        colour = {"ok": "green", "warning": "yellow", "fail": "red"}[chk.status]
        console.print(f"[{colour}]{chk.status.upper():7}[/{colour}] {chk.name}: {chk.message}")
    console.print()
    for line in section.conclusions:
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


# ------------------------------------------------------------------------------------------------ HTML


def render_html(sections: Sequence[ReportSection], title: str, subtitle: str = "") -> str:
    """Render report sections to one self-contained HTML page (Plotly's JavaScript inlined: works offline).

    Failed trust checks of every section are listed first, then each section: conclusions, figures and tables,
    then method notes.
    """
    import jinja2
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(loader=jinja2.PackageLoader("experiments", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    rendered = []
    for s in sections:
        figs = [(cap, pio.to_html(fig, include_plotlyjs=False, full_html=False, config={"displaylogo": False}))
                for cap, fig in s.figures]
        tables = [(cap, _table_html(df)) for cap, df in s.tables]
        rendered.append({"s": s, "figs": figs, "tables": tables})
    alerts = [(s.title, c) for s in sections for c in s.checks if c.status != "ok"]
    summary = [(s.key, s.title, s.conclusions[0]) for s in sections if s.conclusions]
    return env.get_template("report.html.j2").render(
        title=title, subtitle=subtitle, sections=rendered, alerts=alerts, summary=summary, plotlyjs=get_plotlyjs(),
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def _table_html(df) -> str:
    """A tidy table as HTML: p-values as people read them, other numbers to 4 significant digits."""

    def fmt(col: str, v) -> str:
        if isinstance(v, float):
            if v != v:
                return ""
            if "p_value" in col or col.startswith("p_") or col.endswith("_p"):
                return fmt_p(v)
            return f"{v:,.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
        return html.escape(str(v))

    cols = [str(c) for c in df.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{fmt(c, v)}</td>" for c, v in zip(cols, row, strict=True)) + "</tr>"
                   for row in df.itertuples(index=False))
    return f'<div class="scroll"><table class="tidy"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'

"""The report page: sections rendered to one self-contained HTML file.

Conclusions come first in plain language, numbers with intervals second, method notes last. A failed trust check
(sample-ratio mismatch, immature cohorts, pre-trends, proportional hazards ...) is shown at the top of the page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timezone

from experiments.report.format import fmt_p
from experiments.report.i18n import MESSAGES, Lang, msg
from experiments.report.sections import ReportSection


def render_html(sections: Sequence[ReportSection], title: str, subtitle: str = "", lang: Lang = "en") -> str:
    """Render report sections to one self-contained HTML page (Plotly's JavaScript inlined: works offline).

    Failed trust checks of every section are listed first, then each section: conclusions, figures and tables,
    then method notes. ``lang`` sets the page's own words; sections bring their text in the language they were
    built with (build them with the same ``lang``).
    """
    import jinja2
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(loader=jinja2.PackageLoader("experiments.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    rendered = []
    sections = [localize(s, lang) for s in sections]
    for s in sections:
        figs = [(cap, pio.to_html(fig, include_plotlyjs=False, full_html=False, config={"displaylogo": False}))
                for cap, fig in s.figures]
        tables = [(cap, _table_html(df)) for cap, df in s.tables]
        rendered.append({"s": s, "figs": figs, "tables": tables})
    alerts = [(s.title, c) for s in sections for c in s.checks if c.status != "ok"]
    summary = [(s.key, s.title, s.conclusions[0]) for s in sections if s.conclusions]
    return env.get_template("report.html.j2").render(
        title=title, subtitle=subtitle, sections=rendered, alerts=alerts, summary=summary, plotlyjs=get_plotlyjs(),
        lang=lang, t={k: v[lang] for k, v in MESSAGES.items() if not k.startswith(("title.", "effect."))},
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def localize(section: ReportSection, lang: Lang) -> ReportSection:
    """Give a section built in another language the page's title for its key (its text stays as built)."""
    import dataclasses

    key = f"title.{section.key}"
    if section.language == lang or key not in MESSAGES or "{" in MESSAGES[key]["en"]:
        return section
    return dataclasses.replace(section, title=msg(key, lang))


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

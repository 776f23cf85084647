"""Segments in the next experiment: a stratum of the assignment, a breakdown of the analysis.

:func:`with_segments` adds a ``segment`` column (from a rule file) to a population or outcome table, in the engine,
as an Ibis table on DuckDB: ``assign`` can then name ``segment`` in the design's ``strata``, and
:func:`segment_breakdown` analyzes the experiment per segment from one engine pass (the per-arm × segment sums of
``analyze(..., stratum="segment")``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments.diagnosis.segments import RuleFile, load_rules, segment_sql
from experiments.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from experiments.analysis.results import ExperimentResult, MetricResult
    from experiments.report.i18n import Lang


def with_segments(source: Any, rules: RuleFile | str | Path, *, column: str = "segment",
                  base_dir: str | Path | None = None):
    """``source`` as an Ibis table (DuckDB backend) with the rule segment of every row in ``column``.

    Parameters
    ----------
    source : str, Path or DataFrame
        A Parquet/CSV path (relative to ``base_dir``), ``duckdb:///db?table=name`` or a DataFrame (not modified).
    rules : RuleFile or path
    column : str
        Name of the added column; the source must not have one already.

    Examples
    --------
    >>> import pandas as pd
    >>> from experiments.diagnosis.segments import parse_rules
    >>> r = parse_rules({"segments": [{"name": "calls", "risk": "high", "action": "call back",
    ...                                "when": {"column": "calls", "op": ">=", "value": 4}}]})
    >>> t = with_segments(pd.DataFrame({"id": [1, 2], "calls": [0, 5]}), r)
    >>> t.execute()["segment"].tolist()
    ['other', 'calls']
    """
    import ibis

    from experiments.data.engine import locate
    from experiments.data.sources import DuckDBSource, _ident, _literal

    rules = rules if isinstance(rules, RuleFile) else load_rules(rules)
    con = ibis.duckdb.connect()
    con.raw_sql("SET enable_progress_bar = false")
    raw = con.con
    if type(source).__name__ == "DataFrame":
        name = ibis.util.gen_name("frame")
        raw.register(name, source)
        relation, label = _ident(name), "the DataFrame"
    else:
        where = locate(source, base_dir=base_dir)
        if where.format == "duckdb":
            raw.execute(f"ATTACH {_literal(str(where.path))} AS src (READ_ONLY)")
            relation, label = f"src.{_ident(where.table or '')}", f"table {where.table!r} of {str(where.path)!r}"
        else:
            reader = "read_parquet" if where.format == "parquet" else "read_csv"
            relation, label = f"{reader}({_literal(str(where.path))})", repr(str(where.path))
    src = DuckDBSource(raw, relation, label)
    if column in src.columns:
        raise DataError(f"{label} already has a column {column!r}; the segments would replace it: rename it")
    return con.sql(f"SELECT *, {segment_sql(src, rules)} AS {_ident(column)} FROM {relation}")


@dataclass(frozen=True, slots=True)
class SegmentBreakdown:
    """The experiment analyzed per segment.

    Attributes
    ----------
    overall : ExperimentResult
        The whole experiment (the same as ``analyze`` without segments; its aggregates are per arm × segment).
    column : str
        The segment column.
    segments : dict[str, dict[str, MetricResult]]
        Per segment, per metric: arm estimates and comparisons with control from that segment's units only.
    p_holm : dict[str, dict[tuple[str, str], float]]
        Per metric, Holm-adjusted p-values over every (segment, arm) comparison: a breakdown tests many
        hypotheses, the adjusted p says which differences survive that.
    """

    overall: ExperimentResult
    column: str
    segments: dict[str, dict[str, MetricResult]]
    p_holm: dict[str, dict[tuple[str, str], float]]

    def summary(self) -> pd.DataFrame:
        """One row per (metric, segment, arm): units, control and arm means, difference, its CI, p and Holm p."""
        import pandas as pd

        rows = []
        for seg, metrics in self.segments.items():
            for name, m in metrics.items():
                for c in m.comparisons:
                    rows.append({"metric": name, "segment": seg, "arm": c.arm, "n_arm": m.arms[c.arm].n,
                                 "n_control": m.arms[c.control].n, "control_mean": m.arms[c.control].mean,
                                 "arm_mean": m.arms[c.arm].mean, "diff": c.diff, "ci_low": c.ci[0],
                                 "ci_high": c.ci[1], "p_value": c.p_value,
                                 "p_holm": self.p_holm[name].get((seg, c.arm), math.nan)})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column,
                "segments": {seg: {name: m.to_dict() for name, m in ms.items()} for seg, ms in self.segments.items()},
                "p_holm": {name: [{"segment": s, "arm": a, "p": p} for (s, a), p in d.items()]
                           for name, d in self.p_holm.items()}}

    def _repr_html_(self) -> str:
        from experiments.report.render import _table_html

        return f"<h4>{self.overall.design} by {self.column}</h4>" + _table_html(self.summary())

    def plot(self, metric: str | None = None):
        """Plotly forest plot: each arm's difference against control per segment, with its interval."""
        import plotly.graph_objects as go

        df = self.summary()
        metric = metric or str(df["metric"].iloc[0])
        df = df[df["metric"] == metric]
        fig = go.Figure()
        for arm, g in df.groupby("arm", sort=False):
            fig.add_trace(go.Scatter(x=g["diff"], y=g["segment"], mode="markers", name=str(arm),
                                     error_x={"type": "data", "symmetric": False, "array": g["ci_high"] - g["diff"],
                                              "arrayminus": g["diff"] - g["ci_low"]}))
        fig.add_vline(x=0, line_dash="dot")
        fig.update_layout(template="plotly_white", title=f"{metric}: effect against control by {self.column}")
        return fig


def segment_breakdown(design: Any, rules: RuleFile | str | Path, data: Any = None, *, column: str = "segment",
                      as_of: Any = None) -> SegmentBreakdown:
    """Analyze ``design`` per rule segment: one engine pass, then the same statistics on each segment's sums.

    Raises
    ------
    DataError
        As :func:`experiments.analysis.analyze`; or a rule names a column the outcome table lacks.
    """
    from experiments.analysis.experiment import analyze, analyze_metric, pool
    from experiments.analysis.stats import adjust_pvalues

    rules = rules if isinstance(rules, RuleFile) else load_rules(rules)
    base = design.path.parent if getattr(design, "path", None) else None
    table = with_segments(data if data is not None else design.data.source, rules, column=column, base_dir=base)
    overall = analyze(design, table, as_of=as_of, stratum=column)
    arms = list(design.arms)
    names = [s.name for s in rules.segments] + [rules.other]
    per: dict[str, dict[str, MetricResult]] = {}
    for seg in names:
        rows = [r for r in overall.aggregates if r[column] == seg]
        if not rows:
            continue
        s = {m.name: pool(rows, m.name, arms) for m in design.metrics}
        if any(s[m.name][design.control].n == 0 for m in design.metrics):
            continue  # no control units in this segment: nothing to compare with
        per[seg] = {m.name: analyze_metric(m, s[m.name], design.control, overall.alpha) for m in design.metrics}
    holm: dict[str, dict[tuple[str, str], float]] = {}
    for m in design.metrics:
        keys = [(seg, c.arm) for seg, ms in per.items() for c in ms[m.name].comparisons]
        ps = [c.p_value for ms in per.values() for c in ms[m.name].comparisons]
        holm[m.name] = dict(zip(keys, adjust_pvalues(ps, "holm").tolist(), strict=True)) if ps else {}
    return SegmentBreakdown(overall, column, per, holm)


def breakdown_section(b: SegmentBreakdown, lang: Lang = "en"):
    """The breakdown as a report section: one sentence per segment and arm of the primary metric, and the table."""
    from experiments.report.format import fmt_p, fmt_pct
    from experiments.report.i18n import msg
    from experiments.report.sections import ReportSection

    df = b.summary()
    primary = next((m.name for m in b.overall.metrics.values() if m.role == "primary" and m.kind == "binary"), None)
    lines = []
    for r in df[df["metric"] == primary].itertuples():
        lines.append(msg("breakdown.line", lang, segment=r.segment, arm=r.arm, ctrl=fmt_pct(r.control_mean, 2),
                         mean=fmt_pct(r.arm_mean, 2), diff=f"{100 * r.diff:+.2f}", lo=f"{100 * r.ci_low:+.2f}",
                         hi=f"{100 * r.ci_high:+.2f}", p=fmt_p(r.p_holm)))
    lines.append(msg("breakdown.caution", lang))
    notes = ["Per-segment sums come from one engine pass (per arm × segment); each segment's comparisons use the "
             "same tests as the whole experiment. Holm's correction runs over every (segment, arm) comparison of a "
             "metric."]
    return ReportSection("breakdown", msg("title.breakdown", lang, column=b.column), lines,
                         [(msg("breakdown.table", lang), df)], [], [], notes, language=lang)


def print_breakdown(b: SegmentBreakdown, console: Any) -> None:
    """Print the per-segment comparisons to a Rich console."""
    from rich.table import Table

    from experiments.report.format import fmt_p

    t = Table(title=f"{b.overall.design} by {b.column} (Holm over every segment × arm)", title_justify="left")
    for col in ("metric", "segment", "arm", "n arm", "n control", "control", "arm mean", "diff", "95% CI", "p",
                "Holm p"):
        t.add_column(col, justify="left" if col in ("metric", "segment", "arm") else "right")
    for r in b.summary().itertuples():
        t.add_row(r.metric, r.segment, r.arm, f"{r.n_arm:,}", f"{r.n_control:,}", f"{r.control_mean:.4g}",
                  f"{r.arm_mean:.4g}", f"{r.diff:+.4g}", f"{r.ci_low:+.4g} – {r.ci_high:+.4g}", fmt_p(r.p_value),
                  fmt_p(r.p_holm))
    console.print(t)

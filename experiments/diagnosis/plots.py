"""Figures of the diagnosis; they take a result's parts (levels, rates), so results' ``.plot()`` can call them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from experiments.report.i18n import Lang, msg


def rate_figure(levels: Mapping[str, Any], overall_rate: float, column: str, lang: Lang = "en"):
    """Plotly bars of churn per level (each a :class:`~experiments.diagnosis.results.Rate`) with Wilson intervals,
    and the overall rate as a dotted line."""
    import plotly.graph_objects as go

    rates = list(levels.values())
    fig = go.Figure(go.Bar(x=list(levels), y=[r.rate for r in rates],
                           error_y={"type": "data", "symmetric": False, "array": [r.ci[1] - r.rate for r in rates],
                                    "arrayminus": [r.rate - r.ci[0] for r in rates]},
                           customdata=[r.n for r in rates],
                           hovertemplate="%{x}: %{y:.1%} (n=%{customdata:,})<extra></extra>"))
    fig.add_hline(y=overall_rate, line_dash="dot")
    fig.update_layout(title=msg("diag.fig.rate", lang, col=column), yaxis_tickformat=".0%", template="plotly_white",
                      xaxis_type="category", height=340, margin={"t": 50, "b": 40, "l": 50, "r": 20})
    return fig

"""Plotly figures over tidy tables; a result's ``.plot`` is a thin wrapper that passes its ``summary()``."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def forest_plot(comparisons: pd.DataFrame, *, binary: Collection[str] = (), metric: str | None = None):
    """Effect of each offer against control with its interval, one panel row per comparison.

    Parameters
    ----------
    comparisons : DataFrame
        One row per metric × offer with columns ``metric, role, arm, diff, ci_low, ci_high`` (the
        :meth:`~experiments.analysis.results.ExperimentResult.summary` of an analysis).
    binary : collection of str
        Metrics shown in percentage points (their differences are proportions).
    metric : str, optional
        Only this metric; by default every metric that is not a guardrail.

    Returns a ``plotly.graph_objects.Figure``.
    """
    import plotly.graph_objects as go

    if metric:
        rows = comparisons[comparisons["metric"] == metric]
    else:
        rows = comparisons[comparisons["role"] != "guardrail"]
    fig = go.Figure()
    for name, m in rows.groupby("metric", sort=False):
        scale = 100.0 if name in binary else 1.0
        fig.add_trace(go.Scatter(
            x=list(m["diff"] * scale), y=[f"{name}: {a}" for a in m["arm"]], mode="markers", name=name,
            marker={"size": 10},
            error_x={"type": "data", "symmetric": False, "array": list((m["ci_high"] - m["diff"]) * scale),
                     "arrayminus": list((m["diff"] - m["ci_low"]) * scale)},
            hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.add_vline(x=0, line_dash="dash", line_color="grey")
    fig.update_layout(title="Effect against control (95% CI; binary metrics in percentage points)",
                      xaxis_title="difference vs control", height=160 + 60 * len(rows), margin={"l": 200})
    return fig

"""Plotly figures over results; a result's ``.plot`` is a thin wrapper over these."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from experiments.analyze import ExperimentResult


def forest_plot(result: ExperimentResult, metric: str | None = None):
    """Effect of each offer against control with its interval, one panel row per comparison.

    Binary metrics are shown in percentage points. Returns a ``plotly.graph_objects.Figure``.
    """
    import plotly.graph_objects as go

    names = [metric] if metric else [n for n, m in result.metrics.items() if m.role != "guardrail"]
    fig = go.Figure()
    for name in names:
        m = result.metrics[name]
        scale = 100.0 if m.kind == "binary" else 1.0
        ys = [f"{name}: {c.arm}" for c in m.comparisons]
        xs = [c.diff * scale for c in m.comparisons]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers", name=name, marker={"size": 10},
            error_x={"type": "data", "symmetric": False,
                     "array": [(c.ci[1] - c.diff) * scale for c in m.comparisons],
                     "arrayminus": [(c.diff - c.ci[0]) * scale for c in m.comparisons]},
            hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.add_vline(x=0, line_dash="dash", line_color="grey")
    fig.update_layout(title="Effect against control (95% CI; binary metrics in percentage points)",
                      xaxis_title="difference vs control", height=160 + 60 * sum(
                          len(result.metrics[n].comparisons) for n in names), margin={"l": 200})
    return fig

"""Figures of difference-in-differences results, over their tables (results wrap them: ``DidResult.plot``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def event_study_figure(event_study: pd.DataFrame, staggered: pd.DataFrame | None = None, *, alpha: float = 0.05,
                       title: str | None = None) -> Any:
    """Plotly figure: event-study coefficients with intervals (TWFE, and Callaway–Sant'Anna when run).

    Parameters
    ----------
    event_study : DataFrame
        ``rel_time, coef, ci_lo, ci_hi`` (:attr:`causal.results.DidResult.event_study`).
    staggered : DataFrame, optional
        Callaway–Sant'Anna dynamic effects ``rel_time, att, ci_lo, ci_hi``.
    alpha : float
        The intervals' level, for the title.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    es = event_study
    fig.add_trace(go.Scatter(
        x=es["rel_time"], y=es["coef"], mode="markers+lines", name="TWFE event study",
        error_y={"type": "data", "symmetric": False, "array": es["ci_hi"] - es["coef"],
                 "arrayminus": es["coef"] - es["ci_lo"]},
    ))
    if staggered is not None:
        d = staggered
        fig.add_trace(go.Scatter(
            x=d["rel_time"] + 0.15, y=d["att"], mode="markers", name="Callaway–Sant'Anna",
            error_y={"type": "data", "symmetric": False, "array": d["ci_hi"] - d["att"],
                     "arrayminus": d["att"] - d["ci_lo"]},
        ))
    fig.add_hline(y=0, line_dash="dot", line_color="grey")
    fig.add_vline(x=-0.5, line_dash="dash", line_color="grey")
    fig.update_layout(
        title=title or f"Effect by period relative to the promotion start ({int((1 - alpha) * 100)}% intervals)",
        xaxis_title="periods since start (−1 = reference)", yaxis_title="effect on outcome", template="plotly_white",
    )
    return fig

"""Plotly figures of an uplift analysis, over its parts (curves and calibration tables), not the result object.

:meth:`~experiments.uplift.results.UpliftResult.plot` passes its per-arm curves to :func:`qini_figure`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from experiments.uplift.metrics import UpliftCurves


def qini_figure(curves: Mapping[str, UpliftCurves]) -> Any:
    """Plotly figure: the Qini curve of every arm against control, with its random-targeting line.

    ``curves`` maps each treatment arm to its held-out :class:`~experiments.uplift.metrics.UpliftCurves`.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    for arm, c in curves.items():
        x = c.x / c.n
        fig.add_trace(go.Scatter(x=x, y=c.qini / c.n, mode="lines", name=f"{arm} (model)"))
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, c.qini[-1] / c.n], mode="lines", name=f"{arm} (random)",
                                 line={"dash": "dash"}))
    fig.update_layout(title="Qini curves on held-out subscribers", xaxis_title="fraction of subscribers targeted",
                      yaxis_title="incremental retained subscribers per subscriber", template="plotly_white")
    return fig


def calibration_figure(calibration: Mapping[str, pd.DataFrame]) -> Any:
    """Plotly figure: observed versus predicted benefit by predicted-benefit decile, per arm.

    ``calibration`` maps each treatment arm to its calibration table (columns ``predicted, observed, se``).
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    for arm, cal in calibration.items():
        fig.add_trace(go.Scatter(x=cal["predicted"], y=cal["observed"], mode="markers+lines", name=arm,
                                 error_y={"type": "data", "array": 1.96 * cal["se"]}))
    lo = min(float(np.nanmin(cal["predicted"])) for cal in calibration.values())
    hi = max(float(np.nanmax(cal["predicted"])) for cal in calibration.values())
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="perfect calibration",
                             line={"dash": "dot", "color": "grey"}))
    fig.update_layout(title="Calibration by predicted-benefit decile (held out)", xaxis_title="predicted benefit",
                      yaxis_title="observed benefit (arm minus control)", template="plotly_white")
    return fig

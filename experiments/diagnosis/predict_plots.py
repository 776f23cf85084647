"""Figures of ``retention predict``: gains and lift, calibration, drivers (global and beeswarm); Plotly.

They take a :class:`~experiments.diagnosis.predict_results.PredictResult` (its out-of-fold scores and SHAP sample),
so ``PredictResult.plot()`` can call them. Driver figures say in their title that they are **predictive, not
causal**.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from experiments.report.i18n import Lang, msg

#: A :class:`~experiments.diagnosis.predict_results.PredictResult` (not imported here: its ``.plot()`` imports this
#: module, and the layout test forbids import circles, type-only ones included).
PredictResult = Any

_LAYOUT = {"template": "plotly_white", "height": 380, "margin": {"t": 50, "b": 45, "l": 55, "r": 20}}


def gains_curve(y: np.ndarray, score: np.ndarray, points: int = 101) -> pd.DataFrame:
    """Cumulative gains of a ranking: ``share`` contacted (top scores first), ``captured`` share of churners, ``lift``.

    Ties are broken by row order (a stable sort), as in :func:`~experiments.diagnosis.ranking.recall_at_k`.
    """
    y = np.asarray(y, dtype=float)
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(y[order])])
    share = np.linspace(0, 1, points)
    idx = np.round(share * y.size).astype(int)
    captured = cum[idx] / max(y.sum(), 1.0)
    lift = np.divide(captured, share, out=np.full(points, np.nan), where=share > 0)
    return pd.DataFrame({"share": share, "captured": captured, "lift": lift})


def _k_share(result: PredictResult) -> float:
    kind, v = result.k
    return float(v) if kind == "share" else float(v) / result.n


def gains_figure(result: PredictResult, lang: Lang = "en"):
    """Cumulative gains of every model's out-of-fold scores, the random and perfect rankings, and K marked."""
    import plotly.graph_objects as go

    fig = go.Figure()
    rate = result.n_positive / result.n
    share = np.linspace(0, 1, 101)
    fig.add_trace(go.Scatter(x=share, y=np.minimum(share / rate, 1.0), name=msg("diag.predict.perfect", lang),
                             line={"dash": "dot", "color": "#999"}))
    fig.add_trace(go.Scatter(x=share, y=share, name=msg("diag.predict.random", lang),
                             line={"dash": "dash", "color": "#bbb"}))
    for s in result.scores:
        g = gains_curve(result.y, s.oof_score)
        fig.add_trace(go.Scatter(x=g["share"], y=g["captured"], name=s.name, customdata=g["lift"],
                                 hovertemplate="%{x:.0%}: %{y:.1%} (lift %{customdata:.2f})<extra>" + s.name
                                               + "</extra>"))
    fig.add_vline(x=_k_share(result), line_dash="dot", annotation_text=f"K = {result.k_label}")
    fig.update_layout(title=msg("diag.predict.fig.gains", lang), xaxis_title=msg("diag.predict.contacted", lang),
                      yaxis_title=msg("diag.predict.captured", lang), xaxis_tickformat=".0%",
                      yaxis_tickformat=".0%", **_LAYOUT)
    return fig


def lift_figure(result: PredictResult, lang: Lang = "en"):
    """Lift (captured share / contacted share) of every model from 5 % of the subscribers contacted."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for s in result.scores:
        g = gains_curve(result.y, s.oof_score)
        g = g[g["share"] >= 0.05]
        fig.add_trace(go.Scatter(x=g["share"], y=g["lift"], name=s.name))
    fig.add_hline(y=1.0, line_dash="dash", line_color="#bbb")
    fig.add_vline(x=_k_share(result), line_dash="dot", annotation_text=f"K = {result.k_label}")
    fig.update_layout(title=msg("diag.predict.fig.lift", lang), xaxis_title=msg("diag.predict.contacted", lang),
                      yaxis_title="lift", xaxis_tickformat=".0%", **_LAYOUT)
    return fig


def calibration_bins(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Equal-count bins of the predicted probability: ``predicted`` mean, ``observed`` churn rate, ``n``."""
    order = np.argsort(np.asarray(prob, dtype=float), kind="stable")
    parts = np.array_split(order, bins)
    return pd.DataFrame([{"predicted": float(np.mean(prob[p])), "observed": float(np.mean(y[p])), "n": int(p.size)}
                         for p in parts if p.size])


def calibration_figure(result: PredictResult, lang: Lang = "en"):
    """Calibrated out-of-fold probability against the observed churn rate (10 equal-count bins) per model."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], name=msg("diag.predict.ideal", lang),
                               line={"dash": "dash", "color": "#bbb"}))
    for s in result.scores:
        b = calibration_bins(result.y, s.oof_prob)
        fig.add_trace(go.Scatter(x=b["predicted"], y=b["observed"], mode="lines+markers", name=s.name,
                                 customdata=b["n"], hovertemplate="%{x:.1%} → %{y:.1%} (n=%{customdata:,})"))
    fig.update_layout(title=msg("diag.predict.fig.calibration", lang),
                      xaxis_title=msg("diag.predict.predicted", lang), yaxis_title=msg("diag.predict.observed", lang),
                      xaxis_tickformat=".0%", yaxis_tickformat=".0%", **_LAYOUT)
    return fig


def importance_figure(result: PredictResult, lang: Lang = "en", top: int = 15):
    """Mean |SHAP| per feature of the saved model (predictive, not causal)."""
    import plotly.graph_objects as go

    t = result.drivers.head(top).iloc[::-1]
    fig = go.Figure(go.Bar(x=t["mean_abs_shap"], y=t["feature"], orientation="h",
                           customdata=t["share"], hovertemplate="%{y}: %{x:.3f} (%{customdata:.0%})<extra></extra>"))
    fig.update_layout(title=msg("diag.predict.fig.importance", lang, model=result.best),
                      xaxis_title="mean |SHAP|", **{**_LAYOUT, "height": max(300, 24 * len(t) + 100)})
    return fig


def beeswarm_figure(result: PredictResult, lang: Lang = "en", top: int = 12, per_feature: int = 600,
                    seed: int = 0):
    """Beeswarm-style plot: each dot a subscriber's SHAP value of a feature, coloured by the feature's value rank
    (low blue, high red), jittered vertically; the top features by mean |SHAP| (predictive, not causal)."""
    import plotly.graph_objects as go

    gen = np.random.default_rng(seed)
    feats = list(result.drivers["feature"].head(top))
    xs, ys, cs, names = [], [], [], []
    for i, f in enumerate(reversed(feats)):
        part = result.shap_sample[result.shap_sample["feature"] == f]
        if len(part) > per_feature:
            part = part.iloc[np.sort(gen.choice(len(part), per_feature, replace=False))]
        xs.append(part["shap"].to_numpy())
        ys.append(i + gen.uniform(-0.3, 0.3, len(part)))
        cs.append(part["value_rank"].fillna(0.5).to_numpy())
        names += [f] * len(part)
    fig = go.Figure(go.Scattergl(
        x=np.concatenate(xs) if xs else [], y=np.concatenate(ys) if ys else [], mode="markers", text=names,
        marker={"size": 4, "color": np.concatenate(cs) if cs else [], "colorscale": "RdBu_r", "cmin": 0, "cmax": 1,
                "colorbar": {"title": msg("diag.predict.value_rank", lang)}, "opacity": 0.7},
        hovertemplate="%{text}: SHAP %{x:.3f}<extra></extra>"))
    fig.add_vline(x=0, line_color="#999")
    fig.update_layout(title=msg("diag.predict.fig.beeswarm", lang, model=result.best), xaxis_title="SHAP",
                      yaxis={"tickvals": list(range(len(feats))), "ticktext": list(reversed(feats))},
                      showlegend=False, **{**_LAYOUT, "height": max(320, 30 * len(feats) + 110)})
    return fig


def risk_comparison_figure(comparison: pd.DataFrame, k_label: str, lang: Lang = "en"):
    """Recall@K of the survival risk score and the classifier on the same subscribers, with the maximum possible."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=comparison["method"], y=comparison["recall_at_k"],
                           hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
    fig.add_hline(y=float(comparison["max_recall_at_k"].iloc[0]), line_dash="dot",
                  annotation_text=msg("diag.predict.max_recall", lang))
    fig.update_layout(title=msg("diag.predict.fig.risk", lang, k=k_label), yaxis_tickformat=".0%",
                      yaxis_range=[0, 1], **_LAYOUT)
    return fig

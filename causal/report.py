"""Tables, dictionaries and figures over difference-in-differences results (free functions; results wrap them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from causal.did import DidResult


def summary_table(res: DidResult) -> pd.DataFrame:
    """One row per estimate: TWFE with each SE type and, when run, the Callaway–Sant'Anna aggregations.

    Examples
    --------
    >>> summary_table  # doctest: +ELLIPSIS
    <function summary_table at ...>
    """
    rows = [
        {"estimator": "TWFE", "se_type": r.se_type, "att": r.coef, "se": r.se, "ci_lo": r.ci_lo, "ci_hi": r.ci_hi,
         "p_value": r.p_value}
        for r in res.twfe.itertuples() if r.term == res.twfe["term"].iloc[0]
    ]
    if res.staggered is not None:
        s = res.staggered
        for name, a in (("CS simple", s.simple), ("CS dynamic", s.dynamic_overall), ("CS group", s.group_overall)):
            rows.append({"estimator": name, "se_type": "cs-influence", "att": a.att, "se": a.se, "ci_lo": a.ci[0],
                         "ci_hi": a.ci[1], "p_value": float("nan")})
    return pd.DataFrame(rows)


def _num(x: Any) -> Any:
    if isinstance(x, (np.floating, float)):
        return float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def result_dict(res: DidResult) -> dict[str, Any]:
    """JSON-able dictionary with the keys the CLI promises (``att``, ``se``, ``ci``, ``p_value`` ...)."""
    out: dict[str, Any] = {
        "att": res.att,
        "se": res.se,
        "ci": [res.ci[0], res.ci[1]],
        "p_value": res.p_value,
        "alpha": res.alpha,
        "n_obs": res.n_obs,
        "n_cells": res.n_cells,
        "n_units": res.n_units,
        "n_periods": res.n_periods,
        "n_clusters": res.n_clusters,
        "n_treated_units": res.n_treated_units,
        "se_type": res.se_type,
        "se_reason": res.se_reason,
        "pretrend_stat": res.pretrend_stat,
        "pretrend_p": res.pretrend_p,
        "event_study": [
            {"rel_time": int(r.rel_time), "coef": r.coef, "se": r.se, "ci": [r.ci_lo, r.ci_hi]}
            for r in res.event_study.itertuples()
        ],
        "twfe": [{k: _num(v) for k, v in row.items()} for row in res.twfe.to_dict(orient="records")],
        "refutations": {k: v.to_dict() for k, v in res.refutations.items()},
        "business": {
            "exposed_subscriber_months": res.business.exposure,
            "excess_churners": res.business.excess,
            "excess_churners_ci": list(res.business.ci),
            "value_lost": res.business.value_lost,
            "value_lost_ci": list(res.business.value_ci) if res.business.value_ci else None,
            "value_source": res.business.value_source,
        },
        "notes": list(res.notes),
    }
    if res.wild is not None:
        out["wild_bootstrap"] = {"t_stat": res.wild.t_stat, "p_value": res.wild.p_value, "ci": list(res.wild.ci),
                                 "weights": res.wild.weights, "draws": res.wild.n_draws,
                                 "enumerated": res.wild.enumerated}
    if res.staggered is not None:
        s = res.staggered
        out["staggered"] = {
            "control": s.control,
            "simple": {"att": s.simple.att, "se": s.simple.se, "ci": list(s.simple.ci)},
            "dynamic": {"att": s.dynamic_overall.att, "se": s.dynamic_overall.se, "ci": list(s.dynamic_overall.ci)},
            "group": {"att": s.group_overall.att, "se": s.group_overall.se, "ci": list(s.group_overall.ci)},
            "pretest_w": s.pretest_w, "pretest_p": s.pretest_p, "pretest_df": s.pretest_df,
            "event_study": [{"rel_time": int(r.rel_time), "coef": r.att, "se": r.se, "ci": [r.ci_lo, r.ci_hi]}
                            for r in s.dynamic.itertuples()],
            "att_gt": [{k: _num(v) for k, v in row.items()} for row in s.att_gt.to_dict(orient="records")],
        }
        pb = res.pretrend_bootstrap
        if pb is not None:
            out["staggered"]["pretrend_bootstrap"] = {
                "statistic": pb.statistic, "stat": pb.stat, "p_value": pb.p_value, "n_draws": pb.n_draws,
                "weights": pb.weights, "chi2_df": pb.df, "chi2_p": pb.asymptotic_p,
                "event_times": [int(e) for e in pb.event_times], "att": [float(a) for a in pb.att],
                "se": [float(x) for x in pb.se],
            }
    return out


def event_study_figure(res: DidResult, title: str | None = None) -> Any:
    """Plotly figure: event-study coefficients with intervals (TWFE, and Callaway–Sant'Anna when run)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    es = res.event_study
    fig.add_trace(go.Scatter(
        x=es["rel_time"], y=es["coef"], mode="markers+lines", name="TWFE event study",
        error_y={"type": "data", "symmetric": False, "array": es["ci_hi"] - es["coef"],
                 "arrayminus": es["coef"] - es["ci_lo"]},
    ))
    if res.staggered is not None:
        d = res.staggered.dynamic
        fig.add_trace(go.Scatter(
            x=d["rel_time"] + 0.15, y=d["att"], mode="markers", name="Callaway–Sant'Anna",
            error_y={"type": "data", "symmetric": False, "array": d["ci_hi"] - d["att"],
                     "arrayminus": d["att"] - d["ci_lo"]},
        ))
    fig.add_hline(y=0, line_dash="dot", line_color="grey")
    fig.add_vline(x=-0.5, line_dash="dash", line_color="grey")
    fig.update_layout(
        title=title or f"Effect by period relative to the promotion start ({int((1 - res.alpha) * 100)}% intervals)",
        xaxis_title="periods since start (−1 = reference)", yaxis_title="effect on outcome", template="plotly_white",
    )
    return fig

"""Tables, figures and the report section of an uplift analysis (free functions over :class:`UpliftResult`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from experiments.sections import ReportSection, TrustCheck

if TYPE_CHECKING:
    from experiments.uplift import UpliftResult


def _fmt_ci(v: float, lo: float, hi: float, digits: int = 2) -> str:
    return f"{v:,.{digits}f} (95% CI {lo:,.{digits}f} to {hi:,.{digits}f})"


def qini_figure(result: UpliftResult) -> Any:
    """Plotly figure: the Qini curve of every arm against control, with its random-targeting line."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for arm, ev in result.arms.items():
        c = ev.metrics.curves
        x = c.x / c.n
        fig.add_trace(go.Scatter(x=x, y=c.qini / c.n, mode="lines", name=f"{arm} (model)"))
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, c.qini[-1] / c.n], mode="lines", name=f"{arm} (random)",
                                 line={"dash": "dash"}))
    fig.update_layout(title="Qini curves on held-out subscribers", xaxis_title="fraction of subscribers targeted",
                      yaxis_title="incremental retained subscribers per subscriber", template="plotly_white")
    return fig


def calibration_figure(result: UpliftResult) -> Any:
    """Plotly figure: observed versus predicted benefit by predicted-benefit decile, per arm."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for arm, ev in result.arms.items():
        cal = ev.calibration
        fig.add_trace(go.Scatter(x=cal["predicted"], y=cal["observed"], mode="markers+lines", name=arm,
                                 error_y={"type": "data", "array": 1.96 * cal["se"]}))
    lo = min(float(np.nanmin(ev.calibration["predicted"])) for ev in result.arms.values())
    hi = max(float(np.nanmax(ev.calibration["predicted"])) for ev in result.arms.values())
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="perfect calibration",
                             line={"dash": "dot", "color": "grey"}))
    fig.update_layout(title="Calibration by predicted-benefit decile (held out)", xaxis_title="predicted benefit",
                      yaxis_title="observed benefit (arm minus control)", template="plotly_white")
    return fig


def effects_table(result: UpliftResult) -> pd.DataFrame:
    """Per arm: ATE with interval, Qini, AUUC, uplift@k and the heterogeneity test, rounded for display."""
    return result.summary().round(4)


def policy_table(result: UpliftResult) -> pd.DataFrame:
    """The learned policy, its tree and the baselines with intervals."""
    return result.policy.summary().round(3)


def uplift_section(result: UpliftResult) -> ReportSection:
    """The uplift part of the report: who should get which offer, what that is worth, and the trust checks."""
    pol = result.policy
    unit = result.value_unit
    conclusions = []
    offered = {a: s for a, s in pol.share.items() if a != pol.arms[0] and s > 0}
    if offered:
        parts = ", ".join(f"{a} to {s:.0%}" for a, s in offered.items())
        conclusions.append(f"Target the offers: give {parts} of subscribers, no offer to the other "
                           f"{pol.share[pol.arms[0]]:.0%}.")
    else:
        conclusions.append("No offer is worth its cost for any subscriber at the given value of retention.")
    conclusions.append(f"The targeted policy is worth {_fmt_ci(pol.value.value, *pol.value.ci)} per subscriber "
                       f"against no offer ({unit}).")
    best_name, best = max(((k, v) for k, v in pol.baselines.items() if k != "random"), key=lambda kv: kv[1].value)
    label = "no one" if best_name == pol.arms[0] else f"everyone gets {best_name}"
    rnd = pol.baselines["random"]
    conclusions.append(f"The best single choice for everyone is '{label}' at {_fmt_ci(best.value, *best.ci)}; "
                       f"random assignment gives {_fmt_ci(rnd.value, *rnd.ci)}.")
    tv = pol.tree_value
    conclusions.append(f"A {len(pol.rules)}-rule policy tree keeps {_fmt_ci(tv.value, *tv.ci)} per subscriber and "
                       f"agrees with the full policy for {pol.tree_agreement:.0%} of subscribers.")
    for arm, ev in result.arms.items():
        e = ev.effect
        het = ("the model finds real differences between subscribers" if ev.blp.pvalue_heterogeneity < 0.05
               else "no reliable difference between subscribers was found")
        b = ev.blp
        conclusions.append(f"{arm}: average effect on {result.metric} {_fmt_ci(e.ate, *e.ci, digits=4)}; {het} "
                           f"(BLP slope {b.beta2:.2f} ± {b.beta2_se:.2f}, p = {b.pvalue_heterogeneity:.3g}).")
    checks = []
    prop = result.crossfit.propensity
    checks.append(TrustCheck("Overlap / propensities", "ok" if prop.min() >= 0.05 else "warning",
                             f"Propensities are the design's arm weights (known by randomisation), smallest "
                             f"{prop.min():.2f}; no subscriber lacks comparable units in another arm."))
    for arm, ev in result.arms.items():
        if ev.refutation is None:
            continue
        ref = ev.refutation
        failed = [o.name for o in ref.outcomes if not o.passed]
        detail = "; ".join(f"{o.name}: new effect {o.new_effect:.4f} (p = {o.p_value:.2f})" for o in ref.outcomes)
        checks.append(TrustCheck(f"Refutations ({arm})", "ok" if not failed else "fail",
                                 (f"All refuters passed on {ref.n_rows:,} rows: " if not failed else
                                  f"Failed: {', '.join(failed)}. ") + detail))
    tables = [("Average effects and held-out uplift metrics per arm", effects_table(result)),
              ("Policy value against no offer, per subscriber", policy_table(result)),
              ("Policy tree rules", pd.DataFrame({"rule": pol.rules}))]
    if not result.segments.empty:
        tables.append(("Average effect per segment (Cochran's Q heterogeneity test per arm)",
                       result.segments.round(4)))
    return ReportSection(key="uplift", title="Who should get which offer", conclusions=conclusions, tables=tables,
                         figures=[("Qini curves", qini_figure(result)), ("Calibration", calibration_figure(result))],
                         checks=checks, notes=list(result.notes))

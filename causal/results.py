"""The typed results of a difference-in-differences run and their tidy views (table and JSON-able dictionary).

Figures over these results live in :mod:`causal.report`; they take the results' tables, so nothing imports in a
circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from causal.refute import Refutation
    from causal.staggered import PretrendBootstrap, StaggeredResult
    from causal.twfe import WildBootstrap


@dataclass(frozen=True, slots=True)
class ExcessChurn:
    """The promotion's cost in churners and value.

    Attributes
    ----------
    exposure : float
        Subscriber-months exposed: total weight (rows, or the weight column) of treated cells.
    excess : float
        ATT × exposure: churners caused by the promotion (negative if it reduced churn).
    ci : tuple[float, float]
        The ATT's interval times the exposure.
    value_lost : float or None
        Excess churners × value per subscriber (constant, or the weighted cell mean of a value column).
    value_ci : tuple[float, float] or None
        Its interval.
    value_source : str or None
        ``"constant"`` or ``"column <name>"``.
    """

    exposure: float
    excess: float
    ci: tuple[float, float]
    value_lost: float | None = None
    value_ci: tuple[float, float] | None = None
    value_source: str | None = None


@dataclass(frozen=True, slots=True)
class DidResult:
    """Everything a difference-in-differences run found.

    Attributes
    ----------
    att, se : float
        Headline effect and its standard error (TWFE with the chosen SE; Callaway–Sant'Anna simple ATT when
        ``staggered``). With the wild bootstrap, ``se`` is the CRV1 SE and the p-value and interval are bootstrap.
    ci : tuple[float, float]
        ``1 - alpha`` interval.
    p_value : float
        Two-sided p-value of "no effect".
    se_type : str
        ``"iid"``, ``"hc1"``, ``"cluster"`` (CRV1), ``"wild"`` or ``"cs-influence"`` (staggered).
    se_reason : str
        Why this inference was used (e.g. few clusters → wild bootstrap).
    n_obs, n_cells, n_units, n_periods, n_clusters, n_treated_units : int
        Sizes.
    twfe : pandas.DataFrame
        TWFE coefficients with iid, HC1 and CRV1 SEs (and the wild p-value/CI of the treatment when computed).
    wild : WildBootstrap or None
        The wild cluster bootstrap of the treatment coefficient.
    event_study : pandas.DataFrame
        ``rel_time``, ``coef``, ``se``, ``ci_lo``, ``ci_hi`` (reference period −1 with coef 0).
    pretrend_stat, pretrend_p : float
        Joint Wald test (F) of the event-study leads; with ``staggered``, the pre-test that decided: the wild
        bootstrap of the Wald statistic on the Callaway–Sant'Anna pre-period event-time effects (``pretest=
        "bootstrap"``, the default) or R ``did``'s χ² Wald test on every pre-period ATT(g, t) (``pretest="wald"``).
    staggered : StaggeredResult or None
        Callaway–Sant'Anna results.
    refutations : dict[str, Refutation]
        Typed refutation results by name.
    business : ExcessChurn or None
        Excess churners and value lost; None when the outcome is not a churn indicator or rate
        (``outcome_kind == "other"``), whose effect is reported in its own units only.
    alpha : float
        Significance level.
    notes : list[str]
        Method notes.
    pretrend_bootstrap : PretrendBootstrap or None
        With ``staggered`` and ``pretest="bootstrap"``: the bootstrap pre-test of the event-time effects.
    outcome_kind : str
        ``"indicator"`` (every row 0/1), ``"rate"`` (every row in [0, 1]) or ``"other"`` (e.g. a price).
    inference : dict[str, str]
        Per standard-error type (``iid``, ``hc1``, ``cluster``, ``wild``): ``""`` when the data allow it, else why
        it is not applicable (e.g. 2 clusters).
    inference_headline : str
        One sentence: which inference the data allow, which was reported, and which refutations could not run.
    """

    att: float
    se: float
    ci: tuple[float, float]
    p_value: float
    se_type: str
    se_reason: str
    n_obs: int
    n_cells: int
    n_units: int
    n_periods: int
    n_clusters: int
    n_treated_units: int
    twfe: pd.DataFrame
    wild: WildBootstrap | None
    event_study: pd.DataFrame
    pretrend_stat: float
    pretrend_p: float
    staggered: StaggeredResult | None
    refutations: dict[str, Refutation]
    business: ExcessChurn | None
    alpha: float
    notes: list[str] = field(default_factory=list)
    pretrend_bootstrap: PretrendBootstrap | None = None
    outcome_kind: str = "rate"
    inference: dict[str, str] = field(default_factory=dict)
    inference_headline: str = ""

    def summary(self) -> pd.DataFrame:
        """Tidy one-row-per-estimate table: TWFE (each SE type) and, if run, the staggered aggregations."""
        return summary_table(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dictionary (the CLI's ``--json`` output)."""
        return result_dict(self)

    def plot(self, ax: Any = None) -> Any:
        """Event-study Plotly figure with intervals (``ax`` is ignored; kept for the common interface)."""
        from causal.report import event_study_figure

        dynamic = self.staggered.dynamic if self.staggered is not None else None
        return event_study_figure(self.event_study, dynamic, alpha=self.alpha)

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()  # type: ignore[no-any-return]


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
        "business": None if res.business is None else {
            "exposed_subscriber_months": res.business.exposure,
            "excess_churners": res.business.excess,
            "excess_churners_ci": list(res.business.ci),
            "value_lost": res.business.value_lost,
            "value_lost_ci": list(res.business.value_ci) if res.business.value_ci else None,
            "value_source": res.business.value_source,
        },
        "outcome_kind": res.outcome_kind,
        "inference": {k: ("allowed" if not v else v) for k, v in res.inference.items()},
        "inference_headline": res.inference_headline,
        "not_applicable": {k: v.reason for k, v in res.refutations.items() if not v.applicable},
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

"""Finance's view: what each offer costs and what it saves, per subscriber offered, with uncertainty.

For an arm against control, per subscriber offered:

* value gained ``V`` — the difference in discounted lifetime value (ΔLTV from :mod:`survival`), or, when no
  survival analysis is available, the retained-subscriber difference × a value per retained subscriber;
* cost ``C = per_offer + per_acceptance × a`` with ``a`` the arm's acceptance rate. Acceptance costs are paid for
  every acceptor, including those who would have stayed anyway;
* net value ``V − C`` and ``ROI = (V − C) / C``.

``V`` and ``a`` are estimated independently (``V`` from arm-vs-control outcomes, ``a`` from the arm's acceptance);
their covariance within the arm is ignored, and the ROI interval is a delta-method interval of the ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scipy import special

from experiments.report.i18n import Lang, msg
from experiments.spec.models import Cost, ExperimentDesign

if TYPE_CHECKING:
    from experiments.analysis.results import ExperimentResult
    from experiments.report.sections import ReportSection


@dataclass(frozen=True, slots=True)
class ArmROI:
    """Net value and ROI of one arm against control, per subscriber offered.

    Attributes
    ----------
    arm : str
    retained_per_1000 : float
        Fewer churners per 1,000 subscribers offered (control churn − arm churn, × 1,000).
    retained_ci : tuple[float, float]
    value_gained : float
        Value gained per subscriber offered (ΔLTV or retained × value per retained), before costs.
    value_se : float
    acceptance_rate : float
        Share of offered subscribers who accepted (0 when the design has no acceptance column).
    cost : float
        Expected cost per subscriber offered.
    cost_se : float
    net_value : float
        ``value_gained − cost``.
    net_se : float
    net_ci : tuple[float, float]
    roi : float
        ``net_value / cost`` (NaN for a free offer).
    roi_ci : tuple[float, float]
    prob_positive : float
        Normal-approximation probability that the net value is above zero.
    value_source : str
        Where ``value_gained`` came from.
    """

    arm: str
    retained_per_1000: float
    retained_ci: tuple[float, float]
    value_gained: float
    value_se: float
    acceptance_rate: float
    cost: float
    cost_se: float
    net_value: float
    net_se: float
    net_ci: tuple[float, float]
    roi: float
    roi_ci: tuple[float, float]
    prob_positive: float
    value_source: str

    def to_dict(self) -> dict:
        return {"arm": self.arm, "retained_per_1000": self.retained_per_1000, "retained_ci": list(self.retained_ci),
                "value_gained": self.value_gained, "value_se": self.value_se,
                "acceptance_rate": self.acceptance_rate, "cost": self.cost, "cost_se": self.cost_se,
                "net_value": self.net_value, "net_se": self.net_se, "net_ci": list(self.net_ci), "roi": self.roi,
                "roi_ci": list(self.roi_ci), "prob_positive": self.prob_positive, "value_source": self.value_source}


def arm_roi(arm: str, *, churn_diff: tuple[float, float], value_gained: tuple[float, float], cost: Cost,
            acceptance: tuple[float, float] = (0.0, 0.0), value_source: str = "", alpha: float = 0.05) -> ArmROI:
    """Net value and ROI of one arm per subscriber offered.

    Parameters
    ----------
    arm : str
    churn_diff : (estimate, se)
        Arm churn − control churn (negative when the offer retains).
    value_gained : (estimate, se)
        Value gained per subscriber offered, before costs.
    cost : Cost
        The arm's cost settings from the design.
    acceptance : (rate, se)
        Acceptance rate in the arm and its standard error.
    alpha : float

    Examples
    --------
    >>> r = arm_roi("discount", churn_diff=(-0.03, 0.002), value_gained=(40.0, 4.0),
    ...             cost=Cost(per_acceptance=96.0), acceptance=(0.25, 0.005))
    >>> r.cost, r.net_value, round(r.roi, 3)
    (24.0, 16.0, 0.667)
    """
    z = float(special.ndtri(1 - alpha / 2))
    d, d_se = churn_diff
    v, v_se = value_gained
    a, a_se = acceptance
    c = cost.per_offer + cost.per_acceptance * a
    c_se = cost.per_acceptance * a_se
    net = v - c
    net_se = math.hypot(v_se, c_se)
    if c > 0:
        roi = net / c
        roi_se = math.sqrt(v_se**2 / c**2 + v**2 * c_se**2 / c**4)  # ROI = V/C − 1
        roi_ci = (roi - z * roi_se, roi + z * roi_se)
    else:
        roi, roi_ci = math.nan, (math.nan, math.nan)
    prob = float(special.ndtr(net / net_se)) if net_se > 0 else float(net > 0)
    return ArmROI(arm, -1000 * d, (-1000 * (d + z * d_se), -1000 * (d - z * d_se)), v, v_se, a, c, c_se, net,
                  net_se, (net - z * net_se, net + z * net_se), roi, roi_ci, prob, value_source)


def value_per_retained(rows: list[ArmROI]) -> float | None:
    """Value gained per churner prevented within the metric's window, pooled over arms.

    ``Σ value_gained / Σ (retained per subscriber)`` over the arms that retain anyone: the ΔLTV of an average offer
    expressed per retained subscriber. Giving the uplift policy this value of retention makes its policy values
    agree with this section's (everyone-gets-ARM net value ≈ this section's net value). None when no arm retains.

    Examples
    --------
    >>> a = arm_roi("a", churn_diff=(-0.02, 0.002), value_gained=(16.0, 1.0), cost=Cost())
    >>> b = arm_roi("b", churn_diff=(-0.03, 0.002), value_gained=(21.0, 1.0), cost=Cost())
    >>> round(value_per_retained([a, b]), 2)
    740.0
    """
    keep = [r for r in rows if r.retained_per_1000 > 0]
    retained = sum(r.retained_per_1000 for r in keep) / 1000
    return sum(r.value_gained for r in keep) / retained if retained > 0 else None


def roi_table(rows: list[ArmROI]) -> Any:
    """Tidy table of :class:`ArmROI` rows."""
    import pandas as pd

    return pd.DataFrame([{"arm": r.arm, "retained_per_1000": r.retained_per_1000,
                          "retained_ci_low": r.retained_ci[0], "retained_ci_high": r.retained_ci[1],
                          "value_gained": r.value_gained, "acceptance_rate": r.acceptance_rate, "cost": r.cost,
                          "net_value": r.net_value, "net_ci_low": r.net_ci[0], "net_ci_high": r.net_ci[1],
                          "roi": r.roi, "roi_ci_low": r.roi_ci[0], "roi_ci_high": r.roi_ci[1],
                          "prob_net_positive": r.prob_positive} for r in rows])


def experiment_roi(design: ExperimentDesign, experiment: ExperimentResult, *, ltv_delta: dict | None = None,
                   value_per_retained: float | None = None, metric: str | None = None) -> list[ArmROI]:
    """ROI of every offer from an experiment result.

    Parameters
    ----------
    design : ExperimentDesign
        Costs per arm come from ``arms.<arm>.cost``.
    experiment : ExperimentResult
        Supplies the churn difference (``metric``, default the first primary binary metric) and acceptance rates.
    ltv_delta : dict, optional
        ``{arm: {"estimate", "se"}}``: ΔLTV per subscriber offered (the survival analysis's ``ltv["delta"]``). Used
        as the value gained when given.
    value_per_retained : float, optional
        Otherwise, value gained = subscribers retained × this value (e.g. ``design.value.retention_value``).
    """
    from experiments.errors import DesignError

    if metric is None:
        metric = next((m.name for m in design.metrics if m.role == "primary" and m.kind == "binary"), None)
    if metric is None:
        raise DesignError("ROI needs a binary churn metric with role primary; none in the design")
    m = experiment.metrics[metric]
    rows = []
    for comp in m.comparisons:
        acc = experiment.acceptance.get(comp.arm)
        acceptance = (acc.mean, acc.se) if acc is not None else (0.0, 0.0)
        if ltv_delta is not None and comp.arm in ltv_delta:
            v = (float(ltv_delta[comp.arm]["estimate"]), float(ltv_delta[comp.arm]["se"]))
            source = "ΔLTV per subscriber offered (survival analysis)"
        elif value_per_retained is not None:
            sign = -1.0 if m.direction == "decrease" else 1.0
            v = (sign * comp.diff * value_per_retained, comp.se * value_per_retained)
            source = f"retained subscribers × {value_per_retained:,.2f} per retained subscriber"
        else:
            raise DesignError("ROI needs a value: run the survival analysis (ΔLTV) or set value.retention_value")
        rows.append(arm_roi(comp.arm, churn_diff=(comp.diff, comp.se), value_gained=v,
                            cost=design.arms[comp.arm].cost, acceptance=acceptance, value_source=source,
                            alpha=experiment.alpha))
    return rows


def roi_section(rows: list[ArmROI], *, currency: str = "", lang: Lang = "en") -> ReportSection:
    """Finance's section: net value and ROI per arm, per subscriber offered (conclusions in ``lang``)."""
    from experiments.report.sections import ReportSection, TrustCheck

    cur = f"{currency} " if currency else ""
    conclusions = []
    for r in sorted(rows, key=lambda r: -r.net_value):
        verdict = msg("roi.pays" if r.net_ci[0] > 0 else "roi.loses" if r.net_ci[1] < 0 else "roi.unclear", lang)
        roi = "" if r.roi != r.roi else msg("roi.roi", lang, roi=f"{100 * r.roi:+.0f}%",
                                             lo=f"{100 * r.roi_ci[0]:+.0f}%", hi=f"{100 * r.roi_ci[1]:+.0f}%")
        conclusions.append(msg("roi.line", lang, arm=r.arm, verdict=verdict, value=f"{cur}{r.value_gained:,.2f}",
                               cost=f"{cur}{r.cost:,.2f}", acc=f"{100 * r.acceptance_rate:.1f}%",
                               net=f"{cur}{r.net_value:+,.2f}", lo=f"{r.net_ci[0]:+,.2f}", hi=f"{r.net_ci[1]:+,.2f}",
                               roi=roi, retained=f"{r.retained_per_1000:.1f}"))
    if rows:
        best = max(rows, key=lambda r: r.net_value)
        conclusions.insert(0, msg("roi.none_pays", lang) if best.net_value <= 0 else
                           msg("roi.best", lang, arm=best.arm, net=f"{cur}{best.net_value:+,.2f}"))
    checks = [TrustCheck(msg("check.value", lang), "ok", rows[0].value_source)] if rows else []
    notes = [
        "Per subscriber offered: net value = value gained − (cost per offer + cost per acceptance × acceptance "
        "rate). Acceptance costs are paid for every acceptor, including those who would have stayed anyway.",
        "Intervals: normal, combining the value's and the acceptance rate's standard errors as independent; the "
        "ROI interval is a delta-method interval of value / cost − 1.",
    ]
    v = value_per_retained(rows)
    if v is not None:
        notes.append(f"Value gained per churner prevented, pooled over arms: {cur}{v:,.2f}. Used as "
                     "value.retention_value, it values the uplift policy consistently with this section "
                     "(retention demo does so).")
    return ReportSection("roi", msg("title.roi", lang), conclusions,
                         [("Net value and ROI per subscriber offered", roi_table(rows))], [], checks, notes,
                         language=lang)

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

from scipy import special

from experiments.design import Cost


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

"""The typed results of an experiment analysis (what :func:`experiments.analysis.experiment` returns).

Their tidy views (``summary()``, ``to_dict()``) live here; tables, figures and the report section are free functions
in :mod:`~experiments.analysis.tables`, :mod:`~experiments.analysis.plots` and :mod:`~experiments.analysis.section`.
Figures take tidy frames, not results, so that this module imports no renderer and nothing imports in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from experiments.analysis import stats

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class MetricResult:
    """Everything computed for one metric.

    Attributes
    ----------
    name, kind, role, direction : str
        As in the design.
    arms : dict[str, ArmEstimate]
        Mean and interval per arm, in design order.
    omnibus : Chi2Result or None
        Pearson χ² over all arms (binary metrics only).
    comparisons : list[Comparison]
        Each offer against control; ``p_adjusted`` carries the design's correction over this metric's family
        (primary and secondary metrics), and is NaN for guardrails, which are outside the family.
    non_inferiority : list[NonInferiorityResult]
        One-sided tests against the guardrail margin (guardrails only).
    cuped : CupedResult or None
        Covariate-adjusted comparisons when the metric names a covariate.
    excluded_immature : int
        Units left out because they were assigned less than ``maturity_days`` before the as-of date.
    maturity_cutoff : date or None
        Last assignment date counted.
    """

    name: str
    kind: str
    role: str
    direction: str
    arms: dict[str, stats.ArmEstimate]
    omnibus: stats.Chi2Result | None
    comparisons: list[stats.Comparison]
    non_inferiority: list[stats.NonInferiorityResult] = field(default_factory=list)
    cuped: stats.CupedResult | None = None
    excluded_immature: int = 0
    maturity_cutoff: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "role": self.role, "direction": self.direction,
            "arms": {a: e.to_dict() for a, e in self.arms.items()},
            "omnibus": self.omnibus.to_dict() if self.omnibus else None,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "non_inferiority": [r.to_dict() for r in self.non_inferiority],
            "cuped": self.cuped.to_dict() if self.cuped else None,
            "maturity": {"excluded_immature": self.excluded_immature,
                         "cutoff": self.maturity_cutoff.isoformat() if self.maturity_cutoff else None},
        }


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    """Result of :func:`analyze`.

    Attributes
    ----------
    design : str
        Design name.
    control : str
    arms : list[str]
        Arm labels in design order.
    units : dict[str, int]
        Units per arm (before maturity filtering).
    srm : SRMResult
    metrics : dict[str, MetricResult]
    as_of : date or None
        The date outcomes were observed at (maturity is measured against it).
    alpha : float
    correction : str
    aggregates : tuple of dict
        The engine's answer, one row per arm (× stratum), for audit and pooling (:attr:`strata` as a DataFrame).
    notes : list[str]
        Plain statements of what was left out or assumed.
    acceptance : dict[str, ArmEstimate]
        Share of units per arm who accepted the offer (``data.acceptance``); empty when the design has none.
    """

    design: str
    control: str
    arms: list[str]
    units: dict[str, int]
    srm: stats.SRMResult
    metrics: dict[str, MetricResult]
    as_of: date | None
    alpha: float
    correction: str
    aggregates: tuple[dict[str, Any], ...]
    notes: list[str]
    acceptance: dict[str, stats.ArmEstimate] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (the ``results.json`` schema)."""
        return {
            "design": self.design, "control": self.control, "arms": list(self.arms), "units": dict(self.units),
            "as_of": self.as_of.isoformat() if self.as_of else None, "alpha": self.alpha,
            "correction": self.correction, "srm": self.srm.to_dict(),
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()}, "notes": list(self.notes),
            "acceptance": {a: e.to_dict() for a, e in self.acceptance.items()},
        }

    @property
    def strata(self) -> pd.DataFrame:
        """The engine's aggregates as a DataFrame: one row per arm (× stratum), the sums of every metric."""
        import pandas as pd

        return pd.DataFrame(list(self.aggregates))

    def summary(self) -> pd.DataFrame:
        """Tidy table: one row per metric × offer: effect, interval, raw and adjusted p, relative lift, CUPED and
        guardrail."""
        rows = []
        for name, m in self.metrics.items():
            ni = {r.arm: r for r in m.non_inferiority}
            cup = {c.arm: c for c in m.cuped.comparisons} if m.cuped else {}
            for c in m.comparisons:
                row = {"metric": name, "role": m.role, "arm": c.arm, "control": c.control, "diff": c.diff,
                       "ci_low": c.ci[0], "ci_high": c.ci[1], "p_value": c.p_value, "p_adjusted": c.p_adjusted,
                       "rel_lift": c.rel_lift, "rel_ci_low": c.rel_ci[0], "rel_ci_high": c.rel_ci[1]}
                if c.arm in cup:
                    row.update({"cuped_diff": cup[c.arm].diff, "cuped_ci_low": cup[c.arm].ci[0],
                                "cuped_ci_high": cup[c.arm].ci[1], "cuped_p_value": cup[c.arm].p_value})
                if c.arm in ni:
                    row.update({"non_inferior": ni[c.arm].passed, "ni_p_value": ni[c.arm].p_value})
                rows.append(row)
        import pandas as pd

        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        return self.summary().to_html(index=False, float_format=lambda v: f"{v:.4g}")

    def plot(self, metric: str | None = None):
        """Forest plot of the comparisons (Plotly figure)."""
        from experiments.analysis.plots import forest_plot

        binary = {n for n, m in self.metrics.items() if m.kind == "binary"}
        return forest_plot(self.summary(), binary=binary, metric=metric)

"""Monitoring a running experiment without peeking bias: asymptotic confidence sequences.

A confidence sequence (CS) is a sequence of intervals that contains the true effect at *every* sample size at once
with probability ``1 − α``, so it may be looked at after every day and the experiment stopped as soon as it excludes
zero. We use the asymptotic CS of Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas (2023), "Time-uniform central limit
theory and asymptotic confidence sequences" (arXiv:2103.06476, eq. 9 / Theorem 2.2), the one GrowthBook's sequential
testing uses (``gbstats/frequentist/tests.py``, ``SequentialTwoSidedTTest``). For the difference of the treatment
and control means, with ``N = n_t + n_c`` units and ``V`` the unpooled variance of the difference
(``p_t q_t / n_t + p_c q_c / n_c`` for proportions, ``s²_t / n_t + s²_c / n_c`` for means), the interval is

    estimate ± √(N V) · √( 2 (N ρ² + 1) / (N² ρ²) · log( √(N ρ² + 1) / α ) ).

The tuning parameter ``ρ`` sets where the sequence is tightest. Following the paper's eq. (161) and GrowthBook, it
is chosen from the sample size ``N_tune`` at which one expects to decide:

    ρ = √( (−2 log α + log(−2 log α + 1)) / N_tune ).

``N_tune`` is the ``tuning`` argument: by default the planned total of the design's ``power`` section (the size the
experiment is expected to reach), else 5,000 (GrowthBook's default). A smaller value gives narrower intervals early
and wider ones late; any value keeps the coverage guarantee. With ``m`` treatments and a correction other than
``none``, each CS is built at ``α / m`` (Bonferroni), which keeps the family-wise error at every look.

The guarantee is asymptotic (it holds as the sample grows, like the z-test's), so the first looks, with a few dozen
units per arm, are not covered exactly; the simulations in the tests start at 100 units per arm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from experiments.analysis.stats import SuffStats
from experiments.errors import DataError, DesignError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_TUNING = 5000  # GrowthBook's default sequential tuning parameter (expected total sample size)
Decision = Literal["stop_effect", "stop_harm", "continue", "planned_size_reached", "srm"]


def rho(alpha: float, tuning: float) -> float:
    """Mixture parameter ρ that makes the CS tightest at ``tuning`` units (Waudby-Smith et al. 2023, eq. 161).

    Examples
    --------
    >>> round(rho(0.05, 5000), 6)
    0.03984
    """
    if not 0 < alpha < 1:
        raise DesignError(f"alpha: {alpha!r} is outside (0, 1)")
    if not tuning > 0:
        raise DesignError(f"tuning: {tuning!r} must be a positive sample size (the total you expect to reach)")
    la = -2.0 * math.log(alpha)
    return math.sqrt((la + math.log(la + 1.0)) / tuning)


def cs_halfwidth(variance: float | np.ndarray, n: float | np.ndarray, alpha: float,
                 tuning: float) -> float | np.ndarray:
    """Half-width of the two-sided asymptotic CS at ``n`` total units for an estimate of variance ``variance``.

    Vectorised over ``variance`` and ``n``.

    Examples
    --------
    >>> round(float(cs_halfwidth(0.0004, 2000, 0.05, 2000)), 4)
    0.0607
    """
    r2 = rho(alpha, tuning) ** 2
    n = np.asarray(n, dtype=float)
    s2 = np.asarray(variance, dtype=float) * n
    out = np.sqrt(s2) * np.sqrt(2.0 * (n * r2 + 1.0) / (n * n * r2) * np.log(np.sqrt(n * r2 + 1.0) / alpha))
    return float(out) if out.ndim == 0 else out


def difference_variance(treat: SuffStats, control: SuffStats, binary: bool) -> float:
    """Unpooled variance of the difference of means (plug-in ``p q / n`` for proportions, ``s² / n`` for means)."""
    if binary:
        pt, pc = treat.mean, control.mean
        return pt * (1 - pt) / treat.n + pc * (1 - pc) / control.n
    return treat.var / treat.n + control.var / control.n


@dataclass(frozen=True, slots=True)
class SequenceLook:
    """The confidence sequence of one treatment against control at one look.

    Attributes
    ----------
    arm, control : str
    n_treatment, n_control : int
        Units counted so far.
    mean_treatment, mean_control : float
    estimate : float
        Difference of means, treatment − control.
    lower, upper : float
        The CS at this look.
    lower_running, upper_running : float
        Running intersection of the CS over all looks so far (also valid, never wider).
    alpha : float
        Level of this CS (α/m under a correction).
    tuning : float
        ``N_tune`` of ρ.
    """

    arm: str
    control: str
    n_treatment: int
    n_control: int
    mean_treatment: float
    mean_control: float
    estimate: float
    lower: float
    upper: float
    lower_running: float
    upper_running: float
    alpha: float
    tuning: float

    @property
    def excludes_zero(self) -> bool:
        return self.lower_running > 0 or self.upper_running < 0

    def to_dict(self) -> dict[str, Any]:
        return {"arm": self.arm, "control": self.control, "n_treatment": self.n_treatment,
                "n_control": self.n_control, "mean_treatment": self.mean_treatment,
                "mean_control": self.mean_control, "estimate": self.estimate, "lower": self.lower,
                "upper": self.upper, "lower_running": self.lower_running, "upper_running": self.upper_running,
                "alpha": self.alpha, "tuning": self.tuning, "excludes_zero": self.excludes_zero}


def confidence_sequence(treat: SuffStats, control: SuffStats, *, binary: bool, alpha: float = 0.05,
                        tuning: float = DEFAULT_TUNING, arm: str = "treatment",
                        control_name: str = "control") -> SequenceLook:
    """Asymptotic CS of ``treat.mean − control.mean`` at one look (no running intersection).

    Examples
    --------
    >>> t = SuffStats(n=2000, sum=460, sum_sq=460)
    >>> c = SuffStats(n=2000, sum=400, sum_sq=400)
    >>> s = confidence_sequence(t, c, binary=True, tuning=4000)
    >>> round(s.estimate, 3), round(s.lower, 4), round(s.upper, 4)
    (0.03, -0.0094, 0.0694)
    """
    if treat.n < 2 or control.n < 2:
        raise DataError(f"arm {arm!r} or {control_name!r} has fewer than 2 units; wait for data before monitoring")
    est = treat.mean - control.mean
    v = difference_variance(treat, control, binary)
    hw = float(cs_halfwidth(v, treat.n + control.n, alpha, tuning))
    return SequenceLook(arm, control_name, int(treat.n), int(control.n), treat.mean, control.mean, est, est - hw,
                        est + hw, est - hw, est + hw, alpha, float(tuning))


def sequence_path(looks: Sequence[tuple[SuffStats, SuffStats]], *, binary: bool, alpha: float, tuning: float,
                  arm: str = "treatment", control_name: str = "control") -> list[SequenceLook]:
    """CS at each cumulative look, with the running intersection."""
    out: list[SequenceLook] = []
    lo, hi = -math.inf, math.inf
    for t, c in looks:
        if t.n < 2 or c.n < 2:
            continue
        s = confidence_sequence(t, c, binary=binary, alpha=alpha, tuning=tuning, arm=arm, control_name=control_name)
        lo, hi = max(lo, s.lower), min(hi, s.upper)
        out.append(SequenceLook(s.arm, s.control, s.n_treatment, s.n_control, s.mean_treatment, s.mean_control,
                                s.estimate, s.lower, s.upper, lo, hi, s.alpha, s.tuning))
    return out


@dataclass(frozen=True, slots=True)
class MonitorResult:
    """Where a running experiment stands.

    Attributes
    ----------
    design : str
    metric : str
        The primary metric monitored.
    direction : {"increase", "decrease"}
        The direction that counts as a benefit.
    decision : {"stop_effect", "stop_harm", "continue", "planned_size_reached", "srm"}
        ``stop_effect``: some treatment's CS excludes zero on the beneficial side; ``stop_harm``: only on the harmful
        side; ``planned_size_reached``: no CS excludes zero and the planned total is reached; ``srm``: arm counts do
        not match the weights (p < ``analysis.srm_alpha``), do not trust the numbers; ``continue`` otherwise.
    message : str
        The decision in one plain sentence.
    latest : list[SequenceLook]
        The CS of each treatment at the latest look (all data).
    path : pandas.DataFrame
        One row per look (day) and treatment: ``look, arm, n_treatment, n_control, estimate, lower, upper,
        lower_running, upper_running`` (empty without an assignment-date column).
    srm_p_value : float
    planned_total : int or None
    tuning : float
    alpha_per_comparison : float
    """

    design: str
    metric: str
    direction: str
    decision: Decision
    message: str
    latest: list[SequenceLook]
    path: pd.DataFrame
    srm_p_value: float
    planned_total: int | None
    tuning: float
    alpha_per_comparison: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def may_stop(self) -> bool:
        return self.decision in ("stop_effect", "stop_harm", "planned_size_reached")

    def summary(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([s.to_dict() for s in self.latest])

    def to_dict(self) -> dict[str, Any]:
        return {"design": self.design, "metric": self.metric, "direction": self.direction,
                "decision": self.decision, "may_stop": self.may_stop, "message": self.message,
                "srm_p_value": self.srm_p_value, "planned_total": self.planned_total, "tuning": self.tuning,
                "alpha_per_comparison": self.alpha_per_comparison,
                "sequences": [s.to_dict() for s in self.latest],
                "path": [{**row, "look": None if row.get("look") is None else str(pd_date(row["look"]))}
                         for row in self.path.to_dict(orient="records")]}

    def _repr_html_(self) -> str:
        return f"<p>{self.message}</p>" + self.summary().to_html(index=False)

    def plot(self, ax: Any = None) -> Any:
        """Plotly figure of the running CS per treatment over the looks."""
        import plotly.graph_objects as go

        fig = go.Figure()
        for arm, g in self.path.groupby("arm", sort=False):
            x = g["n_treatment"] + g["n_control"]
            fig.add_trace(go.Scatter(x=x, y=g["estimate"], mode="lines+markers", name=f"{arm}: estimate"))
            fig.add_trace(go.Scatter(x=list(x) + list(x)[::-1],
                                     y=list(g["upper_running"]) + list(g["lower_running"])[::-1], fill="toself",
                                     opacity=0.25, line={"width": 0}, name=f"{arm}: confidence sequence"))
        fig.add_hline(y=0, line_dash="dash")
        fig.update_layout(xaxis_title="units so far", yaxis_title=f"{self.metric}: treatment − control",
                          title="Always-valid confidence sequence")
        return fig


def pd_date(x: Any) -> Any:
    """A look's date as ``datetime.date`` (pandas Timestamps included)."""
    return x.date() if hasattr(x, "date") and callable(x.date) else x


def monitor(design: Any, data: Any = None, *, tuning: float | None = None,
            planned_total: int | None = None) -> MonitorResult:
    """Confidence sequences of the primary metric for every treatment, and whether the experiment may stop.

    Parameters
    ----------
    design : ExperimentDesign
    data : source, optional
        Overrides ``data.source``: rows with the arm, the primary metric and (optionally) ``data.assigned_at``.
    tuning : float, optional
        ``N_tune`` (module docstring); default: the planned total, else 5,000.
    planned_total : int, optional
        Planned total; default: from the design's ``power`` section.

    Returns
    -------
    MonitorResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from experiments.spec.models import parse_design
    >>> d = parse_design({"name": "x", "data": {"source": "o.parquet"}, "control": "c",
    ...                   "arms": {"c": {"weight": 0.5}, "t": {"weight": 0.5}},
    ...                   "metrics": [{"name": "churn", "column": "y", "kind": "binary", "direction": "decrease"}]})
    >>> rng = np.random.default_rng(0)
    >>> arm = np.repeat(["c", "t"], 5000)
    >>> df = pd.DataFrame({"arm": arm, "y": (rng.random(10000) < np.where(arm == "c", 0.20, 0.15)).astype(int)})
    >>> r = monitor(d, df, tuning=10000)
    >>> r.decision, r.may_stop
    ('stop_effect', True)
    """
    import pandas as pd

    from experiments.analysis.stats import srm_test
    from experiments.data.engine import MetricColumns, aggregate_stats, open_table, require_columns

    primary = next(m for m in design.metrics if m.role == "primary")
    binary = primary.kind == "binary"
    if planned_total is None and design.power is not None:
        from experiments.planning.power import from_design

        planned_total = from_design(design).total
    n_tune = float(tuning if tuning is not None else (planned_total or DEFAULT_TUNING))
    m = len(design.treatments)
    alpha = design.analysis.alpha / m if design.analysis.correction != "none" else design.analysis.alpha
    source = data if data is not None else design.data.source
    table = open_table(source, base_dir=design.path.parent if design.path else None)
    label = f"data {source!r}" if isinstance(source, (str, Path)) else "data"
    at = design.data.assigned_at if design.data.assigned_at in table.columns else None
    require_columns(table, {"data.arm": design.data.arm, f"metrics[{primary.name}].column": primary.column}, label)
    ptype = table.schema()[primary.column]
    if not (ptype.is_numeric() or ptype.is_boolean()):
        raise DataError(f"{label}: column {primary.column!r} (metrics[{primary.name}].column) holds {ptype} values; "
                        f"the metric needs {'0/1 values' if binary else 'numbers'}; recode it before monitoring")
    by: list[str] = []
    if at is not None:
        table = table.mutate(monitor_look_day=table[at].cast("date"))
        by = ["monitor_look_day"]
    agg = aggregate_stats(table, arm=design.data.arm, metrics=[MetricColumns(primary.name, primary.column,
                                                                            binary=binary)], by=by)
    p = f"{primary.name}__"
    if binary and int(agg[p + "bad"].sum()):
        raise DataError(f"{label}: column {primary.column!r} of binary metric {primary.name!r} has "
                        f"{int(agg[p + 'bad'].sum())} values other than 0/1; recode it as 0/1")
    unknown = sorted(set(agg["arm"]) - set(design.arms))
    if unknown:
        raise DataError(f"{label}: column {design.data.arm!r} has arm labels {unknown} that the design does not "
                        f"have (arms {list(design.arms)}); fix the labels or the design's arms")
    looks = sorted(agg["monitor_look_day"].dropna().unique()) if by else [None]

    def stats_upto(arm: str, look: Any) -> SuffStats:
        g = agg[agg["arm"] == arm]
        if look is not None:
            g = g[g["monitor_look_day"] <= look]
        return SuffStats(float(g[p + "n"].sum()), float(g[p + "sum"].sum()), float(g[p + "sum_sq"].sum()))

    latest: list[SequenceLook] = []
    rows = []
    for t in design.treatments:
        pairs = [(stats_upto(t, lk), stats_upto(design.control, lk)) for lk in looks]
        path = sequence_path(pairs, binary=binary, alpha=alpha, tuning=n_tune, arm=t, control_name=design.control)
        if not path:
            raise DataError(f"{label}: arm {t!r} or control {design.control!r} has fewer than 2 units with a "
                            f"{primary.column!r} value; wait for data before monitoring")
        latest.append(path[-1])
        kept_looks = [lk for lk, (a, b) in zip(looks, pairs, strict=True) if a.n >= 2 and b.n >= 2]
        for lk, s in zip(kept_looks, path, strict=True):
            rows.append({"look": lk, **s.to_dict()})
    path_df = pd.DataFrame(rows) if by else pd.DataFrame(columns=["look", "arm"])
    counts = agg.groupby("arm")["units"].sum().to_dict()
    srm = srm_test(counts, {a: s.weight for a, s in design.arms.items()}, alpha=design.analysis.srm_alpha)
    decision, message = _decide(latest, primary.direction, srm, planned_total, design.analysis.srm_alpha)
    return MonitorResult(design.name, primary.name, primary.direction, decision, message, latest, path_df,
                         srm.p_value, planned_total, n_tune, alpha)


def _decide(latest: Sequence[SequenceLook], direction: str, srm: Any, planned_total: int | None,
            srm_alpha: float) -> tuple[Decision, str]:
    if not srm.ok:
        return "srm", (f"Do not decide: the arm counts do not match the weights (SRM p = {srm.p_value:.2g} < "
                       f"{srm_alpha}); find the assignment or logging problem first.")
    good = [s for s in latest if (s.lower_running > 0 if direction == "increase" else s.upper_running < 0)]
    bad = [s for s in latest if (s.upper_running < 0 if direction == "increase" else s.lower_running > 0)]

    def fmt(s: SequenceLook) -> str:
        return f"{s.arm} ({s.estimate:+.4g}, always-valid interval [{s.lower_running:.4g}, {s.upper_running:.4g}])"

    if good:
        return "stop_effect", ("May stop: " + "; ".join(fmt(s) for s in good) + " beats control on the primary "
                               "metric; the interval stays valid however often you looked.")
    if bad:
        return "stop_harm", ("May stop: " + "; ".join(fmt(s) for s in bad) + " is worse than control on the primary "
                             "metric.")
    n = sum(s.n_treatment for s in latest) + (latest[0].n_control if latest else 0)
    if planned_total is not None and n >= planned_total:
        return "planned_size_reached", (f"May stop: the planned {planned_total:,} units are reached ({n:,}) and no "
                                        "interval excludes zero: no effect of the planned size was found.")
    more = f" of the planned {planned_total:,}" if planned_total else ""
    return "continue", f"Continue: {n:,} units so far{more}; every always-valid interval still includes zero."


def naive_rejections(looks_t: np.ndarray, looks_c: np.ndarray, n_t: np.ndarray, n_c: np.ndarray,
                     alpha: float = 0.05) -> np.ndarray:
    """Unpooled two-proportion z-test at each look (what repeated peeking does); True where |z| > z_{1−α/2}.

    Arrays are cumulative successes and counts, shape ``(..., looks)``; used to show the cost of peeking.
    """
    from scipy import stats as sps

    pt, pc = looks_t / n_t, looks_c / n_c
    se = np.sqrt(pt * (1 - pt) / n_t + pc * (1 - pc) / n_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (pt - pc) / se, 0.0)
    return np.abs(z) > sps.norm.ppf(1 - alpha / 2)


def cs_rejections(looks_t: np.ndarray, looks_c: np.ndarray, n_t: np.ndarray, n_c: np.ndarray, alpha: float,
                  tuning: float) -> np.ndarray:
    """Whether the CS excludes zero at each look (vectorised twin of :func:`confidence_sequence` for proportions)."""
    pt, pc = looks_t / n_t, looks_c / n_c
    v = pt * (1 - pt) / n_t + pc * (1 - pc) / n_c
    hw = cs_halfwidth(v, n_t + n_c, alpha, tuning)
    return np.abs(pt - pc) > hw


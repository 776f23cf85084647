"""Log-rank test for 2 or k groups, computed on a risk table (per-time at-risk and event counts per group).

The statistic is ``Z' V^- Z`` over the first k-1 groups, with Z the observed minus expected events and V the
hypergeometric covariance, exactly as lifelines' ``multivariate_logrank_test`` and R's ``survdiff`` compute it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from survival.errors import ModelError
from survival.risk_table import RiskTable


@dataclass(frozen=True, slots=True)
class LogRankResult:
    """Result of a log-rank test.

    Attributes
    ----------
    groups : tuple
        Group labels, in the order of ``observed`` and ``expected``.
    statistic : float
        Chi-squared statistic.
    dof : int
        Degrees of freedom (groups - 1).
    p_value : float
        Upper-tail chi-squared probability.
    observed, expected : ndarray, shape (k,)
        Observed and expected (under no difference) churn events per group.
    """

    groups: tuple
    statistic: float
    dof: int
    p_value: float
    observed: np.ndarray
    expected: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"statistic": float(self.statistic), "dof": int(self.dof), "p_value": float(self.p_value),
                "observed": {str(g): float(o) for g, o in zip(self.groups, self.observed, strict=False)},
                "expected": {str(g): float(e) for g, e in zip(self.groups, self.expected, strict=False)}}

    def summary(self) -> pd.DataFrame:
        """Observed and expected events per group."""
        return pd.DataFrame({"group": list(self.groups), "observed": self.observed, "expected": self.expected})


def aligned_counts(table: RiskTable, groups: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At-risk and event counts of each group on the union of the groups' times.

    Returns
    -------
    times : ndarray, shape (m,)
    at_risk : ndarray, shape (m, k)
    events : ndarray, shape (m, k)
    """
    groups = table.groups if groups is None else tuple(groups)
    times = np.unique(np.concatenate([table.times[g] for g in groups]))
    at_risk = np.zeros((times.size, len(groups)), dtype=np.int64)
    events = np.zeros((times.size, len(groups)), dtype=np.int64)
    for k, g in enumerate(groups):
        t_g = table.times[g]
        cum_removed = np.concatenate(([0], np.cumsum(table.removed[g])))
        before = np.searchsorted(t_g, times, side="left")  # number of the group's times strictly before
        at_risk[:, k] = table.n[g] - cum_removed[before]
        pos = np.searchsorted(times, t_g)
        events[pos, k] = table.events[g]
    return times, at_risk, events


def logrank_test(table: RiskTable, groups: Any = None) -> LogRankResult:
    """Log-rank test of equal survival across the groups of a risk table.

    Parameters
    ----------
    table : RiskTable
        From :func:`survival.risk_table.risk_table`; must hold at least two groups.
    groups : sequence, optional
        Subset and order of groups to compare (default: all).

    Raises
    ------
    ModelError
        Fewer than two groups, or no churn event in any group.

    Examples
    --------
    >>> from survival.risk_table import risk_table_from_arrays
    >>> rt = risk_table_from_arrays([5, 3, 9, 8, 7, 4, 4, 3, 2, 5, 6, 7], [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0],
    ...                             [0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2])
    >>> round(logrank_test(rt).statistic, 4)  # lifelines' multivariate_logrank_test docstring example
    1.08
    """
    groups = table.groups if groups is None else tuple(groups)
    if len(groups) < 2:
        raise ModelError(f"the log-rank test compares groups but found only {list(groups)}; "
                         "give a group column with at least two values")
    _, n_gj, d_gj = aligned_counts(table, groups)
    n_j = n_gj.sum(1).astype(float)
    d_j = d_gj.sum(1).astype(float)
    if d_j.sum() == 0:
        raise ModelError("no churn event in any group; the log-rank test needs events")
    with np.errstate(divide="ignore", invalid="ignore"):
        expected_gj = n_gj * (d_j / n_j)[:, None]
        ratio = (n_j - d_j) / (n_j - 1)
    ratio[~np.isfinite(ratio)] = 1.0
    factor = ratio * d_j / n_j**2
    observed = d_gj.sum(0).astype(float)
    expected = expected_gj.sum(0)
    z = observed - expected
    weighted = n_gj * np.sqrt(factor)[:, None]
    v = -(weighted.T @ weighted)
    v[np.diag_indices_from(v)] += (n_gj * (factor * n_j)[:, None]).sum(0)
    k = len(groups)
    v_red = v[: k - 1, : k - 1]
    stat = float(z[: k - 1] @ np.linalg.pinv(v_red) @ z[: k - 1])
    return LogRankResult(groups=groups, statistic=stat, dof=k - 1, p_value=float(special.chdtrc(k - 1, stat)),
                         observed=observed, expected=expected)

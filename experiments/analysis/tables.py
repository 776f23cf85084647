"""Tables over results: tidy DataFrames, rendered to text only at the edge (CLI, report)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from experiments.analysis.results import ExperimentResult


def arm_table(result: ExperimentResult) -> pd.DataFrame:
    """One row per metric × arm: n, mean and interval."""
    rows = []
    for name, m in result.metrics.items():
        for arm, e in m.arms.items():
            rows.append({"metric": name, "arm": arm, "n": e.n, "mean": e.mean, "ci_low": e.ci[0], "ci_high": e.ci[1]})
    import pandas as pd

    return pd.DataFrame(rows)


def comparison_table(result: ExperimentResult) -> pd.DataFrame:
    """One row per metric × offer: effect, interval, raw and adjusted p, relative lift, CUPED and guardrail.

    The result's own tidy view, :meth:`ExperimentResult.summary`.
    """
    return result.summary()

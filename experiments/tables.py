"""Tables over results: tidy DataFrames, rendered to text only at the edge (CLI, report)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from experiments.analyze import ExperimentResult


def arm_table(result: ExperimentResult) -> pd.DataFrame:
    """One row per metric × arm: n, mean and interval."""
    rows = []
    for name, m in result.metrics.items():
        for arm, e in m.arms.items():
            rows.append({"metric": name, "arm": arm, "n": e.n, "mean": e.mean, "ci_low": e.ci[0], "ci_high": e.ci[1]})
    import pandas as pd

    return pd.DataFrame(rows)


def comparison_table(result: ExperimentResult) -> pd.DataFrame:
    """One row per metric × offer: effect, interval, raw and adjusted p, relative lift, CUPED and guardrail."""
    rows = []
    for name, m in result.metrics.items():
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


def fmt_pct(x: float, digits: int = 1) -> str:
    """``0.1234 -> '12.3%'``."""
    return f"{100 * x:.{digits}f}%" if x == x else "n/a"


def fmt_p(p: float) -> str:
    """p-values as people read them: ``< 0.001`` below a thousandth."""
    if p != p:
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"

"""Typed results of the churn diagnosis: the profile, its parts, and their tidy/JSON/HTML/Plotly views."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

#: How a column is profiled: its own values as levels (strings, booleans, counts with few values), or numeric bins.
ColumnRole = Literal["categorical", "levels", "binned"]


@dataclass(frozen=True, slots=True)
class Rate:
    """Churn among a group of subscribers.

    Attributes
    ----------
    n : int
        Subscribers.
    churned : int
        Of whom churned (target equal to the positive value).
    rate : float
        ``churned / n`` (nan when ``n`` is 0).
    ci : tuple[float, float]
        Wilson score interval of ``rate`` (95 % unless the profile's ``alpha`` says otherwise).
    revenue : float or None
        Sum of the revenue column over the group (None when no revenue column is named).
    revenue_at_risk : float or None
        Sum of the revenue column over the group's churners.
    """

    n: int
    churned: int
    rate: float
    ci: tuple[float, float]
    revenue: float | None = None
    revenue_at_risk: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n, "churned": self.churned, "rate": self.rate, "ci": list(self.ci)}
        if self.revenue is not None:
            out |= {"revenue": self.revenue, "revenue_at_risk": self.revenue_at_risk}
        return out


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """How one column was read and profiled.

    Attributes
    ----------
    name : str
    role : {"categorical", "levels", "binned"}
    dtype : str
        The engine's type (``varchar``, ``bigint``, ``double`` ...).
    missing : int
        Null values (profiled as the level ``"(missing)"``).
    blank : int
        Blank text values of a numeric column stored as text (also profiled as ``"(missing)"``).
    numeric_text : bool
        Whether the column holds numbers stored as text (read with ``TRY_CAST``).
    edges : tuple[float, ...]
        Bin edges of a binned column (empty otherwise).
    """

    name: str
    role: ColumnRole
    dtype: str
    missing: int = 0
    blank: int = 0
    numeric_text: bool = False
    edges: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "dtype": self.dtype, "missing": self.missing, "blank": self.blank}
        if self.numeric_text:
            out["numeric_text"] = True
        if self.edges:
            out["edges"] = list(self.edges)
        return out


@dataclass(frozen=True, slots=True)
class Threshold:
    """The cut of an ordered column where churn changes most (see :func:`experiments.diagnosis.stats.best_cut`).

    Attributes
    ----------
    column : str
    cut : float
        Subscribers with a value below ``cut`` are "below", the others "above" (missing values are in neither).
    between : tuple[str, str]
        The last level below and the first level above, as written in the data (``("3", "4")``).
    below, above : Rate
    statistic : float
        Pearson χ² (1 df) of the split.
    p_raw : float
        Its p-value as if the cut had been chosen in advance.
    p_value : float
        Bonferroni-adjusted over the ``candidates`` cuts compared.
    candidates : int
    """

    column: str
    cut: float
    between: tuple[str, str]
    below: Rate
    above: Rate
    statistic: float
    p_raw: float
    p_value: float
    candidates: int

    def to_dict(self) -> dict[str, Any]:
        return {"cut": self.cut, "between": list(self.between), "below": self.below.to_dict(),
                "above": self.above.to_dict(), "statistic": self.statistic, "p": self.p_value, "p_raw": self.p_raw,
                "candidates": self.candidates}


@dataclass(frozen=True, slots=True)
class Association:
    """Strength of one column's association with churn.

    Attributes
    ----------
    column : str
    value : float
        Point-biserial correlation (signed, numeric columns, missing values left out) or Cramér's V (0 to 1,
        categorical columns).
    method : {"point_biserial", "cramers_v"}
    """

    column: str
    value: float
    method: Literal["point_biserial", "cramers_v"]


@dataclass(frozen=True, slots=True)
class Crosstab:
    """Churn in the cells of two columns, with the test that their effects are not additive.

    Attributes
    ----------
    columns : tuple[str, str]
    cells : tuple[tuple[str, str, Rate], ...]
        One ``(level of the first, level of the second, churn)`` per non-empty cell.
    g2, dof, p_value : float, int, float
        :class:`experiments.diagnosis.stats.Interaction` of the table.
    """

    columns: tuple[str, str]
    cells: tuple[tuple[str, str, Rate], ...]
    g2: float
    dof: int
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        a, b = self.columns
        return {"columns": list(self.columns), "g2": self.g2, "dof": self.dof, "p": self.p_value,
                "cells": [{a: la, b: lb, **r.to_dict()} for la, lb, r in self.cells]}


@dataclass(frozen=True, slots=True)
class ProfileResult:
    """The descriptive churn profile of a table.

    Attributes
    ----------
    source : str
        How the data source was named.
    target, positive : str
        The churn column and the value that means "churned".
    revenue : str or None
        The revenue column, when one was named.
    overall : Rate
    features : dict[str, dict[str, Rate]]
        Per profiled column, churn per level in the column's natural order (numbers ascending, then
        ``"(missing)"``; text levels by size).
    columns : dict[str, ColumnInfo]
    thresholds : dict[str, Threshold]
        For every numeric column with a cut leaving enough subscribers on both sides.
    associations : tuple[Association, ...]
        Every profiled column, strongest (largest absolute value) first.
    crosstabs : tuple[Crosstab, ...]
        The strongest two-way tables among the top columns, largest interaction G² first.
    skipped : dict[str, str]
        Columns not profiled, with the reason.
    notes : tuple[str, ...]
        What was handled on the way (blank numbers, missing values, skipped columns), in English.
    alpha : float
        1 − confidence level of the intervals.
    """

    source: str
    target: str
    positive: str
    revenue: str | None
    overall: Rate
    features: dict[str, dict[str, Rate]]
    columns: dict[str, ColumnInfo]
    thresholds: dict[str, Threshold]
    associations: tuple[Association, ...]
    crosstabs: tuple[Crosstab, ...]
    skipped: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    alpha: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``overall``, ``features``, ``thresholds``, ``associations``, ``crosstabs`` and the rest."""
        return {
            "source": self.source, "target": self.target, "positive": self.positive, "revenue": self.revenue,
            "alpha": self.alpha,
            "overall": self.overall.to_dict(),
            "features": {c: {lvl: r.to_dict() for lvl, r in levels.items()} for c, levels in self.features.items()},
            "thresholds": {c: t.to_dict() for c, t in self.thresholds.items()},
            "associations": {a.column: a.value for a in self.associations},
            "association_methods": {a.column: a.method for a in self.associations},
            "crosstabs": [x.to_dict() for x in self.crosstabs],
            "columns": {c: info.to_dict() for c, info in self.columns.items()},
            "missing": {c: {"null": i.missing, "blank": i.blank} for c, i in self.columns.items()
                        if i.missing or i.blank},
            "skipped": dict(self.skipped),
            "notes": list(self.notes),
        }

    def summary(self) -> pd.DataFrame:
        """One row per (column, level): n, churned, rate, ci_low, ci_high, and the column's association."""
        import pandas as pd

        assoc = {a.column: a.value for a in self.associations}
        rows = [{"column": c, "level": lvl, "n": r.n, "churned": r.churned, "rate": r.rate, "ci_low": r.ci[0],
                 "ci_high": r.ci[1], "association": assoc.get(c, math.nan)}
                for c, levels in self.features.items() for lvl, r in levels.items()]
        return pd.DataFrame(rows, columns=["column", "level", "n", "churned", "rate", "ci_low", "ci_high",
                                           "association"])

    def _repr_html_(self) -> str:
        from experiments.report.render import _table_html

        o = self.overall
        head = (f"<h4>Churn profile of {self.target} = {self.positive!r}: {o.churned:,} of {o.n:,} "
                f"({100 * o.rate:.2f}%)</h4>")
        return head + _table_html(self.summary())

    def plot(self, column: str | None = None, lang: str = "en"):
        """Plotly bar chart of churn by level of ``column`` (default: the strongest association), with intervals."""
        from experiments.diagnosis.plots import rate_figure

        column = column or (self.associations[0].column if self.associations else next(iter(self.features)))
        return rate_figure(self.features[column], self.overall.rate, column, lang)  # type: ignore[arg-type]

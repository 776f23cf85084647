"""The unit of a report: one section per analysis, filled by each area, rendered by :mod:`experiments.report`.

Areas (experiment analysis, uplift, survival, competitor promotion, ROI) each provide a function
``<area>_section(result, ...) -> ReportSection``. The report renders sections in order: plain-language conclusions
first, numbers with intervals second, method notes last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

Severity = Literal["ok", "warning", "fail"]


@dataclass(frozen=True, slots=True)
class TrustCheck:
    """One trust check (SRM, maturity, pre-trends, proportional hazards, overlap, placebo ...).

    Attributes
    ----------
    name : str
        Short name, e.g. ``"Sample-ratio mismatch"``.
    status : {"ok", "warning", "fail"}
        A ``fail`` is shown at the top of the report.
    message : str
        One plain-language sentence with the figure that decided it.
    """

    name: str
    status: Severity
    message: str


@dataclass(frozen=True, slots=True)
class ReportSection:
    """One section of the report.

    Attributes
    ----------
    key : str
        Stable identifier (``"experiment"``, ``"uplift"``, ``"survival"``, ``"promo"``, ``"roi"``).
    title : str
        Heading shown to the reader.
    conclusions : list[str]
        Plain-language sentences, most important first; each carries its number and interval.
    tables : list[tuple[str, pandas.DataFrame]]
        Captioned tidy tables (already rounded for display).
    figures : list[tuple[str, Any]]
        Captioned Plotly figures.
    checks : list[TrustCheck]
        Trust checks of this analysis.
    notes : list[str]
        Method notes: estimator, references, assumptions, what was sampled or left out.
    language : str
        Language of the conclusions and checks (``"en"`` or ``"zh"``); the page says when it differs from its own.
    """

    key: str
    title: str
    conclusions: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[tuple[str, Any]] = field(default_factory=list)
    checks: list[TrustCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    language: str = "en"

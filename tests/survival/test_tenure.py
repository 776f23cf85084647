"""The experiment-side survival analysis and its report section (experiments.tenure)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from experiments.report.sections import ReportSection
from experiments.value.tenure import analyze_survival, survival_section
from survival.errors import HorizonError


def _arms(seed: int, n: int = 3000) -> pd.DataFrame:
    """Exponential churn per arm (monthly rates control 0.05, offer 0.035), follow-up 18 months."""
    rng = np.random.default_rng(seed)
    arm = rng.choice(["control", "offer"], n)
    rate = np.where(arm == "offer", 0.035, 0.05)
    t = rng.exponential(1 / rate)
    return pd.DataFrame({"months": np.minimum(t, 18.0), "churned": (t <= 18.0).astype(int), "arm": arm,
                         "margin": 30.0})


def test_section_reports_tenure_gained_and_ltv_with_intervals():
    df = _arms(1)
    res = analyze_survival(df, duration="months", event="churned", group="arm", control="control", times=[6, 12],
                           horizon=12, value={"margin": "margin", "horizon_months": 12, "annual_discount_rate": 0.08})
    truth = (1 - np.exp(-0.035 * 12)) / 0.035 - (1 - np.exp(-0.05 * 12)) / 0.05
    g = res.tenure_gained["offer"]
    assert g["months_ci"][0] <= truth <= g["months_ci"][1]
    assert res.ltv["arms"]["control"]["method"] == "kaplan-meier"
    section = survival_section(res)
    assert isinstance(section, ReportSection) and section.key == "survival"
    assert section.conclusions[0].startswith("offer gains tenure against control")
    assert f"{g['months']:+.2f} months" in section.conclusions[0]
    assert "95% CI" in section.conclusions[1] and "Lifetime value over 12 months" in section.conclusions[1]
    fig = section.figures[0][1]
    assert isinstance(fig, go.Figure) and len(fig.data) == 3 * 2  # band (2 traces) + curve per arm
    names = {c.name for c in section.checks}
    assert names == {"Proportional hazards", "Extrapolation beyond follow-up"}
    assert all(c.status == "ok" for c in section.checks)


def test_extrapolated_ltv_is_flagged():
    df = _arms(2)
    res = analyze_survival(df, duration="months", event="churned", group="arm", control="control",
                           value={"margin": 30.0, "horizon_months": 36, "annual_discount_rate": 0.08})
    assert res.ltv["arms"]["offer"]["method"].startswith("parametric:")
    check = next(c for c in survival_section(res).checks if c.name == "Extrapolation beyond follow-up")
    assert check.status == "warning" and "18.0 months beyond" in check.message


def test_horizon_beyond_follow_up_names_the_group():
    df = _arms(3)
    with pytest.raises(HorizonError, match=r"horizon 24 is beyond the last observed time 18"):
        analyze_survival(df, duration="months", event="churned", group="arm", horizon=24)


def test_result_objects_follow_the_common_interface():
    df = _arms(4, 500)
    res = analyze_survival(df, duration="months", event="churned", group="arm", control="control", horizon=12)
    assert list(res.summary()["group"]) == ["control", "offer"]
    assert "<table" in res._repr_html_()
    assert isinstance(res.plot(), go.Figure)
    from survival.kaplan_meier import kaplan_meier_groups
    from survival.risk_table import risk_table

    curve = kaplan_meier_groups(risk_table(df, "months", "churned"))["all"]
    d = curve.to_dict()
    assert d["n"] == 500 and len(d["survival"]) == len(curve.time)
    assert len(curve.plot().data) == 3

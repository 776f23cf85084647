"""Simplified Chinese report sections (DESIGN.md principle 5): survival, uplift, competitor promotion and design.

Each section is built twice from one result, in English and in Chinese. The Chinese conclusions and trust checks
must be Chinese (CJK characters, none of the English templates' words) and must show exactly the same figures as the
English ones: the numbers are formatted once by the caller, so the multiset of numbers of each sentence must agree.
The English text itself is pinned by the sections' own tests (tests/survival/test_tenure.py,
tests/causal/test_promo_section.py, tests/experiments/test_uplift.py, tests/experiments/test_monitor.py).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from uplift_helpers import toy_design, toy_frame

from experiments.report.sections import ReportSection

NUMBER = re.compile(r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?%?")
CJK = re.compile(r"[\u4e00-\u9fff]")
#: Words of the English templates that must not survive in a Chinese sentence (identifiers such as arm names,
#: metric names and method names like "log-rank" or "BLP" legitimately stay as they are).
ENGLISH = re.compile(r"\b(?:the|and|with|per|than|against|worth|interval|CI|subscribers?|months|churners?|"
                     r"no clear|passed|failed)\b", re.IGNORECASE)


def _numbers(text: str) -> Counter[str]:
    return Counter(n.replace("−", "-") for n in NUMBER.findall(text))


def _assert_chinese_twin(en: str, zh: str) -> None:
    assert CJK.search(zh), f"not Chinese: {zh!r}"
    assert not ENGLISH.search(zh), f"English template words left in: {zh!r}"
    assert _numbers(zh) == _numbers(en), f"figures differ:\n  en: {en}\n  zh: {zh}"


def _assert_twins(en: ReportSection, zh: ReportSection, *, check_messages: bool = True) -> None:
    """Same key, Chinese title, same number of conclusions and checks, same figures sentence by sentence."""
    assert (en.language, zh.language) == ("en", "zh") and en.key == zh.key
    assert CJK.search(zh.title) and not CJK.search(en.title)
    assert len(en.conclusions) == len(zh.conclusions) > 0
    for e, z in zip(en.conclusions, zh.conclusions, strict=True):
        _assert_chinese_twin(e, z)
    assert [c.status for c in en.checks] == [c.status for c in zh.checks]
    for e, z in zip(en.checks, zh.checks, strict=True):
        assert CJK.search(z.name) and not CJK.search(e.name), (e.name, z.name)
        if check_messages:
            _assert_chinese_twin(e.message, z.message)
    assert [t[0] for t in en.tables] == [t[0] for t in zh.tables]  # table captions and columns stay English
    assert en.notes == zh.notes


def test_number_extraction_sees_every_figure() -> None:
    """The comparison is only as good as the regex: signs, thousands separators, percentages, exponents."""
    got = _numbers("与 control 相比 +0.97 个月（95% 置信区间 -1,016 至 3,255；p = 8.81e-12）")
    assert got == Counter(["+0.97", "95%", "-1,016", "3,255", "8.81e-12"])
    assert _numbers("(control: 1,031, a: 2,062)") == Counter(["1,031", "2,062"])
    assert _numbers("+0.97 months") != _numbers("+0.98 个月")


# ------------------------------------------------------------------------------------------------ survival


def _arms(seed: int, n: int = 3000) -> pd.DataFrame:
    """Exponential churn per arm (monthly rates control 0.05, offer 0.035), follow-up 18 months."""
    rng = np.random.default_rng(seed)
    arm = rng.choice(["control", "offer"], n)
    t = rng.exponential(1 / np.where(arm == "offer", 0.035, 0.05))
    return pd.DataFrame({"months": np.minimum(t, 18.0), "churned": (t <= 18.0).astype(int), "arm": arm})


@pytest.mark.parametrize("ltv_horizon", [12, 36], ids=["observed", "extrapolated"])
def test_survival_section_in_chinese(ltv_horizon: int) -> None:
    from experiments.value.tenure import analyze_survival, survival_section

    res = analyze_survival(_arms(1), duration="months", event="churned", group="arm", control="control", horizon=12,
                           value={"margin": 30.0, "horizon_months": ltv_horizon, "annual_discount_rate": 0.08})
    en, zh = survival_section(res), survival_section(res, lang="zh")
    _assert_twins(en, zh)
    assert zh.title == "流失时间：在网时长增益与客户终身价值"
    assert "延长了在网时长" in zh.conclusions[0] and "客户终身价值" in zh.conclusions[1]
    assert {c.name for c in zh.checks} == {"比例风险假定", "超出观察期的外推"}


# ------------------------------------------------------------------------------------------------ promotion


@pytest.fixture(scope="module")
def promo_result():
    from causal.simulate import simulate_panel
    from experiments.analysis.promo import analyze_promo

    panel, _ = simulate_panel(30, 12, starts=(7,), effect=0.005, rng=0)
    return analyze_promo(panel, n_perm=99, n_placebo=20, n_boot=999, rng=1)


def test_promo_section_in_chinese(promo_result) -> None:
    """Conclusions and check names are Chinese; the refutation messages come from `causal` and stay English."""
    from experiments.analysis.promo import promo_section

    en = promo_section(promo_result, value_per_subscriber=300.0)
    zh = promo_section(promo_result, value_per_subscriber=300.0, lang="zh")
    _assert_twins(en, zh, check_messages=False)
    assert len(zh.conclusions) == 3 and "个百分点" in zh.conclusions[0] and "双重差分" in zh.conclusions[0]
    assert [c.name for c in zh.checks][:2] == ["平行趋势（事前趋势检验）", "聚类数量"]
    assert "随机化推断" in {c.name for c in zh.checks}
    assert zh.checks[1].message.startswith(f"{promo_result.n_clusters} 个聚类")


# ------------------------------------------------------------------------------------------------ uplift


@pytest.fixture(scope="module")
def uplift_result():
    from experiments.uplift.analyze import analyze_uplift

    frame, _ = toy_frame(3000, 8)
    return analyze_uplift(toy_design(), frame, rng=0, refute=True)


def test_uplift_section_in_chinese(uplift_result) -> None:
    from experiments.uplift.section import uplift_section

    en, zh = uplift_section(uplift_result), uplift_section(uplift_result, lang="zh")
    _assert_twins(en, zh)
    assert zh.title == "谁应获得哪项优惠" and any("策略树" in c for c in zh.conclusions)
    assert any(c.name.startswith("反驳检验") for c in zh.checks)


# ------------------------------------------------------------------------------------------------ design


def _monitor_design():
    from experiments.spec.models import parse_design

    return parse_design({
        "name": "flowpack_vs_discount", "control": "control",
        "data": {"source": "outcomes.parquet", "unit": "subscriber_id", "assigned_at": "assigned_at"},
        "arms": {"control": {"weight": 0.5}, "flow_pack": {"weight": 0.25}, "discount": {"weight": 0.25}},
        "metrics": [{"name": "churn", "column": "churned", "kind": "binary", "direction": "decrease"}],
        "analysis": {"alpha": 0.05, "correction": "holm"}})


def _monitor_frame(seed: int, n: int, rates: tuple[float, float, float]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arms = np.array(["control", "flow_pack", "discount"])
    arm = rng.choice(arms, n, p=[0.5, 0.25, 0.25])
    p = np.select([arm == a for a in arms], rates)
    return pd.DataFrame({"subscriber_id": np.arange(n), "arm": arm,
                         "assigned_at": [date(2026, 3, 1) + timedelta(days=int(d)) for d in rng.integers(0, 20, n)],
                         "churned": (rng.random(n) < p).astype(int)})


@pytest.mark.parametrize(("rates", "decision"), [((0.20, 0.14, 0.19), "stop_effect"),
                                                 ((0.14, 0.20, 0.19), "stop_harm"),
                                                 ((0.20, 0.20, 0.20), "continue")])
def test_monitoring_decision_in_both_languages(rates, decision) -> None:
    """English is rebuilt from the catalogue and must equal experiments.monitor's own sentence; Chinese its twin."""
    from experiments.planning.monitoring import monitor
    from experiments.planning.section import design_section

    r = monitor(_monitor_design(), _monitor_frame(1, 12000, rates), tuning=12000)
    assert r.decision == decision
    en, zh = design_section(monitoring=r), design_section(monitoring=r, lang="zh")
    assert en.conclusions == [r.message]
    _assert_twins(en, zh)


def test_design_section_in_chinese(tmp_path) -> None:
    """Sample size (with a too-small population) and a real assignment with its balance and ratio checks."""
    from experiments.planning.assignment import assign
    from experiments.planning.power import sample_size
    from experiments.planning.section import design_section
    from experiments.spec.models import parse_design

    rng = np.random.default_rng(4)
    n = 3000
    pop = pd.DataFrame({"subscriber_id": np.arange(n, dtype=np.int64),
                        "region": rng.choice(["north", "south"], n), "arpu": rng.gamma(2.0, 20.0, n)})
    design = parse_design({
        "name": "retention_q1", "data": {"source": "outcomes.parquet"}, "control": "control",
        "arms": {"control": {"weight": 0.5}, "flow_pack": {"weight": 0.5}},
        "metrics": [{"name": "churn", "column": "churned_90d", "kind": "binary", "direction": "decrease"}],
        "population": {"source": "subscribers.parquet", "unit": "subscriber_id", "covariates": ["arpu"]},
        "strata": ["region"]})
    a = assign(design, out=tmp_path / "a.parquet", population=pop, salt="s-1", assigned_at=date(2026, 1, 5))
    size = sample_size(0.2, 0.05, population=1000)
    en, zh = design_section(size, a), design_section(size, a, lang="zh")
    _assert_twins(en, zh)
    assert zh.title == "实验设计与分组"
    assert [c.name for c in zh.checks] == ["符合条件的用户数", "协变量平衡", "分组比例"]
    assert "'s-1'" in zh.conclusions[1] and a.design_hash[:12] in zh.conclusions[1]

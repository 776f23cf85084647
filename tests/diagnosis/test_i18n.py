"""Every label and sentence of the profile section and the cockpit exists in English and Simplified Chinese."""

from __future__ import annotations

import re

import pytest

from experiments.diagnosis.section import profile_section
from experiments.report.i18n import MESSAGES

KEYS = [k for k in MESSAGES if k.startswith(("diag.", "cockpit.")) or k in ("title.diagnosis", "title.predict")]
CJK = re.compile(r"[\u4e00-\u9fff]")
SAME_IN_BOTH = {"diag.method.cramers_v"}  # a proper name


@pytest.mark.parametrize("key", KEYS)
def test_key_has_chinese(key):
    en, zh = MESSAGES[key]["en"], MESSAGES[key]["zh"]
    assert en and zh
    if key not in SAME_IN_BOTH:
        assert CJK.search(zh) and zh != en
    assert set(re.findall(r"{(\w+)}", en)) == set(re.findall(r"{(\w+)}", zh))  # the same figures in both


def test_chinese_profile_section(telco_profile):
    zh, en = profile_section(telco_profile, "zh"), profile_section(telco_profile, "en")
    assert zh.title == "流失诊断" and zh.language == "zh"
    assert len(zh.conclusions) == len(en.conclusions)
    assert all(CJK.search(c) for c in zh.conclusions)
    assert "26.54%" in zh.conclusions[0] and "26.54%" in en.conclusions[0]
    assert all(CJK.search(cap) for cap, _ in zh.tables)
    assert CJK.search(zh.checks[0].name) and zh.checks[0].status == "warning"  # the 11 blank TotalCharges


def test_chinese_cockpit_page(telco):
    from experiments.diagnosis.cockpit import build_cockpit

    html = build_cockpit(telco, "Churn", revenue="MonthlyCharges", lang="zh").html
    for key in ("cockpit.subscribers", "cockpit.churn_rate", "cockpit.revenue_at_risk", "cockpit.filters",
                "cockpit.reset", "cockpit.drivers", "cockpit.no_rows"):
        assert MESSAGES[key]["zh"] in html
    body = html[html.index("<body>"):]
    body = body[: body.index('<script type="application/json"')]
    for key in ("cockpit.subscribers", "cockpit.filters", "cockpit.drivers"):
        assert MESSAGES[key]["en"] not in body

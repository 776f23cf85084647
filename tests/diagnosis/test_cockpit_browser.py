"""The cockpit in real headless Chromium: offline, no console errors, and filters change the tiles to the numbers
that :meth:`Cube.slice` (and pandas on the rows) give for that slice."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from cdp_page import FLAGS, Page

from experiments.diagnosis.cockpit import build_cockpit

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "designs" / "segments" / "churn2020.yaml"


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if path is None:
        pytest.fail("Chromium is not installed; scripts/test.sh installs it (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def churn_cockpit(churn2020, tmp_path_factory):
    built = build_cockpit(churn2020, "churn", rules=RULES)
    path = tmp_path_factory.mktemp("cockpit") / "cockpit.html"
    path.write_text(built.html, encoding="utf-8")
    return built, path


@pytest.fixture(scope="module")
def telco_cockpit(telco, tmp_path_factory):
    built = build_cockpit(telco, "Churn", revenue="MonthlyCharges", filters=["Contract", "tenure"], lang="zh")
    path = tmp_path_factory.mktemp("cockpit_zh") / "cockpit.html"
    path.write_text(built.html, encoding="utf-8")
    return built, path


def _dom(path: Path, fragment: str, profile: Path) -> str:
    url = path.as_uri() + (f"#{fragment}" if fragment else "")
    proc = subprocess.run([_chromium(), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=15000",
                           "--dump-dom", url], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _tile(dom: str, name: str) -> str:
    m = re.search(rf'id="tile-{name}" data-value="([^"]*)"', dom)
    assert m, f"tile {name} not rendered"
    return m.group(1)


def _fragment(filters: dict[str, list[str]]) -> str:
    from urllib.parse import quote

    return "&".join(f"{quote(k)}={'|'.join(quote(v) for v in vs)}" for k, vs in filters.items())


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("filters", [
    {},
    {"international_plan": ["yes"]},
    {"segment": ["many_service_calls"]},
    {"number_customer_service_calls": ["4"], "international_plan": ["no"]},
])
def test_hash_filters_set_the_tiles(churn_cockpit, tmp_path, filters):
    built, path = churn_cockpit
    dom = _dom(path, _fragment(filters), tmp_path / "p")
    want = built.cube.slice(filters)
    assert int(_tile(dom, "subscribers")) == want.n
    assert int(_tile(dom, "churned")) == want.churned
    assert float(_tile(dom, "rate")) == pytest.approx(want.rate, rel=1e-12)
    assert 'data-errors=""' in dom
    assert len(re.findall(r'class="main-svg"', dom)) >= len(built.cube.dims)  # Plotly drew every chart


def test_slices_equal_the_rows_without_suppression(churn2020):
    """With no small-cell suppression (min_cell=1) every slice of the cube equals pandas on the rows."""
    built = build_cockpit(churn2020, "churn", rules=RULES, min_cell=1)
    rows = pd.read_csv(churn2020)
    churned = rows["churn"] == "yes"
    assert built.cube.slice().n == len(rows) and built.cube.coarsened_n == 0
    for col in ("international_plan", "number_customer_service_calls"):
        for level in next(d for d in built.cube.dims if d.name == col).levels:
            keep = rows[col].astype(str) == level
            got = built.cube.slice({col: [level]})
            assert (got.n, got.churned) == (int(keep.sum()), int((keep & churned).sum()))
    keep = (rows["number_customer_service_calls"] >= 4) & (rows["international_plan"] == "no")
    got = built.cube.slice({"number_customer_service_calls": ["4", "5", "6", "7", "8", "9"],
                            "international_plan": ["no"]})
    assert (got.n, got.churned) == (int(keep.sum()), int((keep & churned).sum()))


def test_coarsened_cells_keep_totals(churn_cockpit, churn2020):
    """With suppression: per dimension, the levels' slices plus the cells hiding that dimension add up to all rows,
    and no slice exceeds the rows' count."""
    built, _ = churn_cockpit
    rows = pd.read_csv(churn2020)
    assert built.cube.slice().n == len(rows) and built.cube.suppressed_n == 0 and built.cube.coarsened_n > 0
    for d, dim in enumerate(built.cube.dims):
        hidden = sum(c[1] for c in built.cube.cells if c[0][d] == -1)
        assert sum(built.cube.slice({dim.name: [lv]}).n for lv in dim.levels) + hidden == len(rows)
    for level in ("yes", "no"):
        assert built.cube.slice({"international_plan": [level]}).n <= int((rows["international_plan"] == level).sum())


@pytest.mark.browser
@pytest.mark.slow
def test_real_clicks_cross_filter(churn_cockpit, tmp_path):
    """Mouse clicks over the DevTools protocol: a segment row, then a bar of another chart; tiles follow the cube;
    a second click on the row clears its filter. No request leaves file://, no console error."""
    built, path = churn_cockpit
    with Page(_chromium(), path.as_uri(), tmp_path / "p") as page:
        page.wait_for("!!document.body && document.body.getAttribute('data-ready') === '1'")
        page.click("#segment-0")
        want = built.cube.slice({"segment": ["many_service_calls"]})
        assert page.js("+document.getElementById('tile-subscribers').dataset.value") == want.n
        assert page.js("location.hash") == "#segment=many_service_calls"
        d = [x.name for x in built.cube.dims].index("international_plan")
        page.click(f"#chart-{d} .point:nth-child(2) path")  # the "yes" bar
        want = built.cube.slice({"segment": ["many_service_calls"], "international_plan": ["yes"]})
        assert page.js("+document.getElementById('tile-churned').dataset.value") == want.churned
        assert page.js("+document.getElementById('tile-subscribers').dataset.value") == want.n
        page.click("#segment-0")
        want = built.cube.slice({"international_plan": ["yes"]})
        assert page.js("+document.getElementById('tile-subscribers').dataset.value") == want.n
        assert page.errors == [] and page.js("window.__errors.length") == 0
        assert all(u.startswith(("file:", "data:", "blob:", "about:")) for u in page.requests), page.requests


@pytest.mark.browser
@pytest.mark.slow
def test_chinese_cockpit_with_revenue(telco_cockpit, telco, tmp_path):
    built, path = telco_cockpit
    dom = _dom(path, _fragment({"Contract": ["Month-to-month"]}), tmp_path / "p")
    assert 'lang="zh-CN"' in dom and "流失管理驾驶舱" in dom and "风险收入" in dom
    want = built.cube.slice({"Contract": ["Month-to-month"]})
    assert int(_tile(dom, "subscribers")) == want.n
    assert float(_tile(dom, "risk")) == pytest.approx(want.revenue_at_risk, abs=0.01 * len(built.cube.cells))
    rows = pd.read_csv(telco)  # the rows agree up to the subscribers of coarsened small cells
    sub = rows[rows["Contract"] == "Month-to-month"]
    assert 0 <= len(sub) - want.n <= built.cube.coarsened_n
    risk = sub.loc[sub["Churn"] == "Yes", "MonthlyCharges"].sum()
    assert 0 <= risk - want.revenue_at_risk <= 120 * built.cube.coarsened_n  # MonthlyCharges is below 120
    assert 'data-errors=""' in dom


def test_page_embeds_only_aggregates(telco_cockpit, telco):
    """No subscriber id and no row-level value: the embedded JSON holds the cube only, its cells at least min_cell."""
    built, path = telco_cockpit
    html = path.read_text(encoding="utf-8")
    rows = pd.read_csv(telco)
    assert not any(cid in html for cid in rows["customerID"].head(200))
    payload = json.loads(re.search(r'<script type="application/json" id="cube">(.*?)</script>', html, re.S).group(1))
    nd = len(payload["cube"]["dims"])
    assert all(cell[nd] >= payload["cube"]["min_cell"] for cell in payload["cube"]["cells"])
    assert sum(cell[nd] for cell in payload["cube"]["cells"]) + payload["cube"]["suppressed_n"] == len(rows)
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?:', html)


@pytest.mark.browser
@pytest.mark.slow
def test_profile_report_renders(churn2020, tmp_path):
    """``retention profile --out``: the report page draws its Plotly figures offline in Chromium."""
    from typer.testing import CliRunner

    from experiments.cli.app import app

    res = CliRunner().invoke(app, ["profile", "--data", str(churn2020), "--target", "churn", "--out",
                                   str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    dom = _dom(tmp_path / "rep" / "profile.html", "", tmp_path / "p")
    assert len(re.findall(r'class="main-svg"', dom)) >= 2
    assert "number_customer_service_calls" in dom and "14.07%" in dom

"""The demo's report opened in a real headless Chromium: the page loads offline and Plotly draws its figures."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from experiments.demo import run_demo

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if path is None:
        pytest.fail("Chromium is not installed; scripts/test.sh installs it (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    run_demo(out, subscribers=20_000, seed=3, force=True)
    return out


def _dom(html: Path, profile: Path) -> str:
    proc = subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=15000",
                           "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.browser
@pytest.mark.slow
def test_report_renders_in_headless_chromium(demo_run, tmp_path):
    dom = _dom(demo_run / "report.html", tmp_path / "profile")
    # Plotly's JavaScript ran inside the browser: it replaces each figure's div with SVG layers.
    assert len(re.findall(r'class="main-svg"', dom)) >= 2
    assert 'id="alerts"' in dom
    assert "improved churn_90d" in dom  # the plain-language conclusion is on the page
    assert "Method notes" in dom


@pytest.mark.browser
@pytest.mark.slow
def test_report_screenshot_is_not_blank(demo_run, tmp_path):
    shot = tmp_path / "report.png"
    proc = subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p'}",
                           "--virtual-time-budget=15000", "--window-size=1200,1600", f"--screenshot={shot}",
                           (demo_run / "report.html").as_uri()], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from PIL import Image

    img = Image.open(shot).convert("L")
    colours = img.getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 20  # text, tables and figures, not an empty page


def test_demo_outputs(demo_run):
    import json

    import openpyxl

    res = json.loads((demo_run / "results.json").read_text())
    assert res["experiment"]["srm"]["ok"] in (True, False)
    assert "churn_90d" in res["experiment"]["metrics"]
    wb = openpyxl.load_workbook(demo_run / "results.xlsx")
    assert "contents" in wb.sheetnames and len(wb.sheetnames) >= 3


def test_demo_refuses_to_overwrite(demo_run):
    from experiments.errors import OutputExistsError

    with pytest.raises(OutputExistsError, match="--force"):
        run_demo(demo_run, subscribers=5_000, seed=3)


@pytest.mark.browser
@pytest.mark.slow
def test_chinese_report_renders(tmp_path):
    """``--lang zh``: the page's words and every section's title, conclusions and trust checks are Simplified Chinese
    (tests/experiments/test_report_zh.py checks each section's sentences against its English twin)."""
    from experiments.report.i18n import msg

    out = tmp_path / "zh"
    demo = run_demo(out, subscribers=20_000, seed=3, lang="zh")
    dom = _dom(out / "report.html", tmp_path / "profile")
    assert 'lang="zh-CN"' in dom
    assert "要点" in dom and "结论" in dom and "投资回报" in dom
    assert "改善了 churn_90d" in dom
    assert [s.language for s in demo.sections] == ["zh"] * len(demo.sections)
    for key in ("survival", "roi", "promo", "design", "uplift"):
        assert msg(f"title.{key}", "zh") in dom
    assert msg("english_only", "zh") not in dom  # no section fell back to English
    assert "延长了在网时长" in dom or "缩短了在网时长" in dom or "对在网时长没有明确影响" in dom
    assert "双重差分" in dom and "策略树" in dom and "协变量平衡" in dom
    assert len(re.findall(r'class="main-svg"', dom)) >= 2


def test_bad_language_is_a_clear_error(tmp_path):
    from typer.testing import CliRunner

    from experiments.cli import app

    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "x"), "--lang", "fr"])
    assert res.exit_code == 2 and "'en', 'zh'" in res.stderr
    assert not (tmp_path / "x").exists()

"""``--lang`` accepts language tags as users type them (BCP 47, ``_`` or ``-``, any case): one parser for every
command (:func:`experiments.report.i18n.parse_lang`), checked here as a table and through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from experiment_factories import make_frame
from typer.testing import CliRunner

from experiments.cli import app
from experiments.errors import DesignError
from experiments.report.i18n import parse_lang

runner = CliRunner()

ACCEPTED = [
    ("en", "en"), ("EN", "en"), ("en-US", "en"), ("en_US", "en"), ("en-gb", "en"), ("en-GB", "en"),
    ("en-Latn-US", "en"), (" en ", "en"), ("zh", "zh"), ("ZH", "zh"), ("zh-CN", "zh"), ("zh_CN", "zh"),
    ("zh-cn", "zh"), ("zh-Hans", "zh"), ("zh_hans", "zh"), ("zh-Hans-CN", "zh"), ("zh-SG", "zh"),
    ("zh-Hans-HK", "zh"),
]
REFUSED = [
    ("fr", "is not allowed"), ("de-DE", "is not allowed"),
    ("english", "is not allowed"), ("", "is not allowed"),
    ("zh--CN", "is not allowed"), ("中文", "is not allowed"),
    ("zh-TW", "traditional chinese"), ("zh_tw", "traditional chinese"), ("zh-Hant", "traditional chinese"),
    ("zh-Hant-TW", "traditional chinese"), ("zh-HK", "traditional chinese"),
]


@pytest.mark.parametrize(("tag", "lang"), ACCEPTED)
def test_accepted_tags(tag, lang):
    assert parse_lang(tag) == lang


@pytest.mark.parametrize(("tag", "words"), REFUSED)
def test_refused_tags_say_what_is_accepted(tag, words):
    with pytest.raises(DesignError) as err:
        parse_lang(tag)
    text = str(err.value)
    assert "--lang" in text and words in text.lower() and "zh" in text and "en" in text
    assert "\n" not in text


def test_every_lang_option_uses_the_parser():
    """No command checks --lang on its own: every module with a --lang option calls parse_lang."""
    cli = Path(__file__).resolve().parents[2] / "experiments" / "cli"
    with_lang = [p for p in cli.glob("*.py") if '"--lang"' in p.read_text(encoding="utf-8")]
    assert {p.name for p in with_lang} >= {"analyze.py", "demo.py", "diagnosis.py", "signals.py"}
    for p in with_lang:
        text = p.read_text(encoding="utf-8")
        assert "parse_lang" in text and "check_literal(lang" not in text, p.name


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("exp")
    make_frame(3000).to_parquet(d / "experiment.parquet")
    design = {"name": "lang", "data": {"source": "experiment.parquet", "unit": "subscriber_id", "arm": "arm"},
              "arms": {"control": {"weight": 0.34}, "flow_pack": {"weight": 0.33},
                       "contract_discount": {"weight": 0.33}},
              "control": "control",
              "metrics": [{"name": "churn_90d", "column": "churned_90d", "kind": "binary", "direction": "decrease"}]}
    (d / "design.yaml").write_text(yaml.safe_dump(design))
    return d / "design.yaml"


@pytest.mark.parametrize(("tag", "marker"), [("zh-CN", "改善"), ("zh_Hans", "改善"), ("en-GB", "improved"),
                                             ("EN-us", "improved")])
def test_analyze_lang_tags(experiment, tmp_path, tag, marker):
    res = runner.invoke(app, ["analyze", str(experiment), "--out", str(tmp_path / "o"), "--lang", tag])
    assert res.exit_code == 0, res.output
    assert marker in res.stdout


@pytest.mark.parametrize("tag", ["fr", "zh-TW"])
def test_analyze_refuses_other_languages(experiment, tmp_path, tag):
    res = runner.invoke(app, ["analyze", str(experiment), "--out", str(tmp_path / "o"), "--lang", tag])
    assert res.exit_code == 2
    (line,) = res.stderr.strip().splitlines()
    assert "--lang" in line and repr(tag) in line
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def complaints(tmp_path_factory) -> Path:
    from experiments.diagnosis.simulate_text import simulate_complaints

    d = tmp_path_factory.mktemp("txt")
    simulate_complaints(150, lang="zh", rng=4).to_csv(d / "complaints.csv", index=False)
    return d / "complaints.csv"


@pytest.mark.parametrize("tag", ["zh-CN", "zh_cn", "ZH-Hans"])
def test_reasons_lang_tags(complaints, tmp_path, tag):
    res = runner.invoke(app, ["reasons", "--data", str(complaints), "--text", "complaint", "--lang", tag,
                              "--topics", "0", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "o" / "reasons.json").read_text())["lang"] == "zh"


@pytest.mark.parametrize("tag", ["fr", "zh-Hant"])
def test_reasons_refuses_other_languages(complaints, tmp_path, tag):
    res = runner.invoke(app, ["reasons", "--data", str(complaints), "--text", "complaint", "--lang", tag,
                              "--topics", "0", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    (line,) = res.stderr.strip().splitlines()
    assert "--lang" in line and repr(tag) in line
    assert not (tmp_path / "o").exists()


def test_profile_lang_tag(tmp_path):
    data = tmp_path / "e.csv"
    make_frame(500).to_csv(data, index=False)
    res = runner.invoke(app, ["profile", "--data", str(data), "--target", "churned_90d", "--lang", "zh_CN",
                              "--json", str(tmp_path / "p.json")])
    assert res.exit_code == 0, res.output
    bad = runner.invoke(app, ["profile", "--data", str(data), "--target", "churned_90d", "--lang", "ja-JP",
                              "--json", str(tmp_path / "q.json")])
    assert bad.exit_code == 2 and "'ja-JP'" in bad.stderr and not (tmp_path / "q.json").exists()

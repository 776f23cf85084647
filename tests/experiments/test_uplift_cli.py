"""``retention uplift``: outputs, overwrite safety, one-line domain errors with exit code 2 and no partial files."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from experiments.cli import app
from experiments.simulate.operator import simulate_operator
from experiments.simulate.output import write_simulation


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    write_simulation(simulate_operator(n_subscribers=6_000, rng=2), out)
    return out


def _run(*args: str):
    return CliRunner().invoke(app, ["uplift", *args])


def test_writes_uplift_json_and_plots_and_refuses_to_overwrite(sim_dir, tmp_path):
    out = tmp_path / "u"
    r = _run(str(sim_dir / "design.yaml"), "--out", str(out), "--no-refute")
    assert r.exit_code == 0, r.output
    d = json.loads((out / "uplift.json").read_text())
    assert set(d["arms"]) == {"flow_pack", "contract_discount"}
    for arm in d["arms"].values():
        assert {"ate", "ate_ci", "qini", "auuc", "uplift_at"} <= set(arm)
        assert set(arm["uplift_at"]) == {"0.1", "0.2", "0.3"}
    assert {"value", "value_ci", "baselines", "share", "rules"} <= set(d["policy"])
    assert set(d["policy"]["baselines"]) == {"control", "flow_pack", "contract_discount", "random"}
    assert (out / "uplift_qini.html").stat().st_size > 0 and (out / "policy_rules.txt").read_text().strip()
    for name in ("uplift_qini.html", "uplift_calibration.html"):  # self-contained: they draw offline
        assert 'src="https://cdn.plot.ly' not in (out / name).read_text(encoding="utf-8")
    before = (out / "uplift.json").read_bytes()
    r2 = _run(str(sim_dir / "design.yaml"), "--out", str(out), "--no-refute")
    assert r2.exit_code == 2
    assert "already exists" in r2.output and "--force" in r2.output
    assert (out / "uplift.json").read_bytes() == before


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda raw: raw["uplift"].update(features=["tenure_month"]), "tenure_month"),
        (lambda raw: raw["uplift"].pop("features"), "uplift.features"),
        (lambda raw: raw.pop("uplift"), "no uplift section"),
    ],
)
def test_bad_design_is_one_line_exit_2_and_no_file(sim_dir, tmp_path, edit, match):
    raw = yaml.safe_load((sim_dir / "design.yaml").read_text())
    edit(raw)
    raw["data"]["source"] = str(sim_dir / "experiment.parquet")
    path = tmp_path / "design.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "u"
    r = _run(str(path), "--out", str(out), "--no-refute")
    assert r.exit_code == 2
    assert match in r.output
    assert r.output.strip().count("\n") == 0 and r.output.startswith("error:")
    assert not (out / "uplift.json").exists()

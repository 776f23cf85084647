"""Bad input raises a domain error naming the column, what was found and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal.did import DiD
from causal.errors import CausalError, PanelError, SpecError, TreatmentError
from causal.simulate import simulate_panel


@pytest.fixture()
def panel() -> pd.DataFrame:
    return simulate_panel(12, 8, starts=(5,), rng=3)[0]


def _fit(data: pd.DataFrame, **kw: object) -> DiD:
    args = {"unit": "region", "time": "month", "outcome": "churn_rate", "treat": "promo", "weight": "subscribers",
            "n_perm": 0, "refute": False, "n_boot": 199, "rng": 1}
    args.update(kw)
    return DiD(**args).fit(data)  # type: ignore[arg-type]


def test_treatment_switching_off_and_on(panel: pd.DataFrame) -> None:
    bad = panel.copy()
    r = bad.loc[bad.promo == 1, "region"].iloc[0]
    bad.loc[(bad.region == r) & (bad.month == 6), "promo"] = 0
    msg = r"'promo' column: unit .* treated from period 5 but untreated again in period 6.*absorbing"
    with pytest.raises(TreatmentError, match=msg):
        _fit(bad)


def test_single_cluster(panel: pd.DataFrame) -> None:
    with pytest.raises(SpecError, match="only one cluster in 'country'.*cluster by the unit"):
        _fit(panel.assign(country="CN"), cluster="country")


def test_no_untreated_units(panel: pd.DataFrame) -> None:
    everyone = panel.assign(promo=(panel.month >= 5).astype(int))
    with pytest.raises(TreatmentError, match="no untreated units.*'region'.*notyet"):
        _fit(everyone)


def test_never_treated(panel: pd.DataFrame) -> None:
    with pytest.raises(TreatmentError, match="'promo' is 0 everywhere"):
        _fit(panel.assign(promo=0))


def test_mixed_period_types(panel: pd.DataFrame) -> None:
    mixed = panel.assign(month=panel["month"].astype(object))
    mixed.loc[mixed.index[:5], "month"] = "2024-01"
    with pytest.raises(PanelError, match=r"time column 'month' mixes value types \['int', 'str'\].*one type"):
        _fit(mixed)


def test_string_periods(panel: pd.DataFrame) -> None:
    with pytest.raises(PanelError, match="time column 'month' holds str values.*integer period index"):
        _fit(panel.assign(month="m" + panel["month"].astype(str)))


def test_missing_outcome_cells(panel: pd.DataFrame) -> None:
    holes = panel.copy()
    holes.loc[holes.index[[3, 7]], "churn_rate"] = np.nan
    with pytest.raises(PanelError, match="outcome column 'churn_rate' is missing in 2 rows.*drop or impute"):
        _fit(holes)


def test_staggered_needs_balanced_panel(panel: pd.DataFrame) -> None:
    with pytest.raises(PanelError, match="1 missing unit × period outcome cells.*balanced"):
        _fit(panel.drop(index=panel.index[5]), staggered=True)


def test_unit_ids_with_nan(panel: pd.DataFrame) -> None:
    nan_ids = panel.assign(region=panel["region"].astype(float))
    nan_ids.loc[nan_ids.index[:3], "region"] = np.nan
    with pytest.raises(PanelError, match="unit column 'region' has 3 rows with a missing id.*drop those rows"):
        _fit(nan_ids)


def test_unknown_column_suggests(panel: pd.DataFrame) -> None:
    with pytest.raises(PanelError, match="outcome column 'churnrate' is not in the data.*did you mean 'churn_rate'"):
        _fit(panel, outcome="churnrate")


def test_bad_se_choice(panel: pd.DataFrame) -> None:
    with pytest.raises(SpecError, match="se: 'robust' is not allowed; use one of 'auto', 'iid', 'hc1'"):
        _fit(panel, se="robust")


def test_treatment_not_binary(panel: pd.DataFrame) -> None:
    with pytest.raises(TreatmentError, match=r"'promo' has values .*use 0 \(not treated\) or 1"):
        _fit(panel.assign(promo=panel["promo"] * 2))


def test_all_errors_are_value_errors() -> None:
    assert issubclass(CausalError, ValueError)
    for exc in (PanelError, SpecError, TreatmentError):
        assert issubclass(exc, CausalError)


def test_data_not_mutated(panel: pd.DataFrame) -> None:
    before = panel.copy()
    _fit(panel, staggered=True)
    pd.testing.assert_frame_equal(panel, before)

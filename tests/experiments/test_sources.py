"""The two engines behind the analysis give the same sums: DuckDB SQL written by hand and Ibis expressions.

Reference: :func:`experiments.data.aggregate_stats` (Ibis, itself checked against numpy on the rows in
``test_analyze.py``) and pandas on the rows. The hand-written DuckDB path takes shortcuts for speed (no cast of 0/1
integer columns, the 0/1 check by min/max, Σy² of a binary metric = Σy, ``n = units - nulls`` without a maturity
rule); these tests show the shortcuts change nothing where the analysis uses the numbers, and that every check still
fires with the exact count.
"""

from __future__ import annotations

import doctest
from datetime import date

import numpy as np
import pandas as pd
import pytest
from experiment_factories import make_design, make_frame

from experiments.analysis.experiment import analyze
from experiments.data.engine import MetricColumns, open_table
from experiments.data.sources import DuckDBSource, IbisSource, open_source
from experiments.errors import DataError

RTOL = 1e-12  # the same sums in a different order: float noise only
AS_OF = date(2026, 10, 20)


def _sources(frame: pd.DataFrame):
    return open_source(frame), IbisSource(open_table(frame))


def _metrics(mature: date | None = None) -> list[MetricColumns]:
    return [MetricColumns("churn", "churned_90d", binary=True, mature_before=mature),
            MetricColumns("churn_f", "churned_float", binary=True, mature_before=mature),
            MetricColumns("churn_b", "churned_bool", binary=True),
            MetricColumns("rev", "revenue_90d", "revenue_pre_90d", mature_before=mature),
            MetricColumns("calls", "calls_int8")]


def _frame(seed: int = 5) -> pd.DataFrame:
    f = make_frame(4000, seed=seed)
    rng = np.random.default_rng(seed)
    return f.assign(churned_float=f["churned_30d"].astype(float), churned_bool=f["churned_90d"].astype(bool),
                    calls_int8=rng.integers(0, 120, len(f)).astype("int8"))  # 120² overflows an int8


def _assert_rows_equal(fast, ref) -> None:
    assert len(fast) == len(ref)
    for a, b in zip(fast, ref, strict=True):
        assert a.keys() == b.keys()
        for key, value in a.items():
            if isinstance(value, float):
                assert value == pytest.approx(b[key], rel=RTOL, abs=1e-9), key
            else:
                assert value == b[key], key


@pytest.mark.parametrize("mature", [None, date(2026, 7, 14)], ids=["all", "maturity"])
@pytest.mark.parametrize("by", [(), ("region",)], ids=["arm", "arm×region"])
def test_duckdb_sql_equals_ibis_expressions(mature, by):
    duck, ib = _sources(_frame())
    kwargs = {"arm": "arm", "metrics": _metrics(mature), "assigned_at": "assigned_at", "by": list(by)}
    _assert_rows_equal(duck.aggregate(**kwargs), ib.aggregate(**kwargs))


def test_sums_equal_pandas_on_the_rows():
    frame = _frame()
    rows = open_source(frame).aggregate(arm="arm", metrics=_metrics(), assigned_at="assigned_at")
    for r in rows:
        g = frame[frame["arm"] == r["arm"]]
        assert r["units"] == r["churn__n"] == len(g)
        assert r["churn__sum"] == r["churn__sum_sq"] == g["churned_90d"].sum()
        assert r["calls__sum_sq"] == pytest.approx((g["calls_int8"].astype(float) ** 2).sum(), rel=RTOL)
        assert r["rev__xy_sum"] == pytest.approx((g["revenue_90d"] * g["revenue_pre_90d"]).sum(), rel=RTOL)


@pytest.mark.parametrize("column", ["churned_90d", "churned_float"])
def test_non_binary_values_are_counted_exactly(column):
    """Integer columns are checked by min/max, then counted exactly when out of range; floats by comparison."""
    frame = _frame()
    frame.loc[frame.index[:7], column] = 2
    frame.loc[frame.index[7:10], column] = -1
    for source in _sources(frame):
        rows = source.aggregate(arm="arm", metrics=[MetricColumns("m", column, binary=True)])
        assert sum(r["m__bad"] for r in rows) == 10, type(source).__name__


def test_a_fraction_in_a_float_binary_column_is_caught():
    frame = _frame().astype({"churned_float": float})
    frame.loc[frame.index[:4], "churned_float"] = 0.5  # inside [0, 1], so a min/max check would miss it
    rows = open_source(frame).aggregate(arm="arm", metrics=[MetricColumns("m", "churned_float", binary=True)])
    assert sum(r["m__bad"] for r in rows) == 4


def test_missing_values_are_counted_in_both_engines():
    frame = _frame()
    frame["revenue_pre_90d"] = frame["revenue_pre_90d"].where(frame.index % 97 != 0)
    frame["churned_float"] = frame["churned_float"].where(frame.index % 89 != 0)
    want = {"rev": int(frame["revenue_pre_90d"].isna().sum()), "churn_f": int(frame["churned_float"].isna().sum())}
    for source in _sources(frame):
        rows = source.aggregate(arm="arm", metrics=_metrics())
        for name, n in want.items():
            assert sum(r[f"{name}__nulls"] for r in rows) == n
            assert sum(r[f"{name}__n"] for r in rows) == len(frame) - n


def _bad_values(frame: pd.DataFrame, case: str) -> pd.DataFrame:
    f = frame.copy()
    i = f.index
    if case in ("y_null", "both_apart", "both_same"):
        f.loc[i[3:9], "revenue_90d"] = np.nan if case != "y_null" else None
    if case in ("x_null", "both_apart"):
        f.loc[i[20:25], "revenue_pre_90d"] = None
    if case == "both_same":
        f.loc[i[3:6], "revenue_pre_90d"] = None
    if case == "nan":
        f.loc[i[100:103], "revenue_90d"] = np.nan
    if case == "inf":
        f.loc[i[50], "revenue_pre_90d"] = np.inf
    if case == "inf_both_signs":  # +inf and -inf sum to NaN, still not finite
        f.loc[i[50], "revenue_90d"], f.loc[i[51], "revenue_90d"] = np.inf, -np.inf
    if case == "int_null":
        f["calls_int8"] = f["calls_int8"].astype("Int64").mask(f.index % 101 == 0)
    if case == "huge_finite":  # squares overflow to inf, yet no value is missing
        f.loc[i[:2], "revenue_90d"] = 1e300
    return f


@pytest.mark.parametrize("case", ["clean", "y_null", "x_null", "both_apart", "both_same", "nan", "inf",
                                  "inf_both_signs", "int_null", "huge_finite"])
def test_missing_and_non_finite_values_are_counted_exactly_per_arm(case, tmp_path):
    """The fast scan has no per-row filter (``count(col)``, non-finite sums); the exact count, when needed, is a
    second query. Either way each arm's ``nulls`` equals pandas' count of rows with a null, NaN or ±inf, on a
    DataFrame (DuckDB reads its NaN as NULL), through Ibis, and on Parquet written with real NaN (pyarrow's
    ``from_pandas=False``: pandas' own writer would turn them into nulls)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = _bad_values(_frame(), case)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for c in ("revenue_90d", "revenue_pre_90d"):
        table = table.set_column(table.schema.get_field_index(c), c, pa.array(frame[c].to_numpy(), from_pandas=False))
    pq.write_table(table, tmp_path / "f.parquet")
    rev = frame[["revenue_90d", "revenue_pre_90d"]].astype(float)
    frame_missing = {"rev": ~np.isfinite(rev).all(axis=1), "rev_y": ~np.isfinite(rev["revenue_90d"]),
                     "calls": frame["calls_int8"].isna()}
    metrics = [MetricColumns("rev", "revenue_90d", "revenue_pre_90d"), MetricColumns("rev_y", "revenue_90d"),
               MetricColumns("calls", "calls_int8")]
    for source in (*_sources(frame), open_source(tmp_path / "f.parquet")):
        rows = source.aggregate(arm="arm", metrics=metrics)
        for r in rows:
            in_arm = (frame["arm"] == r["arm"]).to_numpy()
            for name, miss in frame_missing.items():
                want = int(miss.to_numpy()[in_arm].sum())
                assert (r[f"{name}__nulls"], r[f"{name}__n"]) == (want, in_arm.sum() - want), (case, name)


@pytest.mark.parametrize("ids", ["int_unique", "int_dupes", "int_nulls", "str_dupes", "sparse_ints", "all_null"])
def test_unit_check_matches_pandas(ids):
    """Bitmap (integer ids in range) and COUNT(DISTINCT) paths of both engines agree with pandas."""
    base = np.random.default_rng(4).permutation(5000).astype("int64")
    values = {
        "int_unique": pd.Series(base),
        "int_dupes": pd.Series(np.concatenate([base, base[:7]])),
        "int_nulls": pd.Series(np.concatenate([base, base[:3]]), dtype="Int64").where(lambda s: s.index % 500 != 0),
        "str_dupes": pd.Series([f"S{i}" for i in np.concatenate([base, base[:5]])]),
        "sparse_ints": pd.Series(np.concatenate([base * 10**12, [0, 0]])),  # range too wide for the bitmap
        "all_null": pd.Series([None] * 10, dtype="Int64"),
    }[ids]
    want = (len(values), values.dropna().nunique(), int(values.isna().sum()))
    for source in _sources(pd.DataFrame({"u": values, "arm": "a"})):
        check = source.unit_check("u")
        assert (check.rows, check.distinct, check.nulls) == want, type(source).__name__


def test_file_sources_are_read_by_duckdb_directly(tmp_path):
    frame = _frame()
    frame.to_parquet(tmp_path / "x.parquet")
    frame.to_csv(tmp_path / "x.csv", index=False)
    (tmp_path / "part").mkdir()
    frame.iloc[:2000].to_parquet(tmp_path / "part" / "a.parquet")
    frame.iloc[2000:].to_parquet(tmp_path / "part" / "b.parquet")
    ref = open_source(frame).aggregate(arm="arm", metrics=_metrics()[:2])
    for src in ("x.parquet", "x.csv", "part", "part/*.parquet"):
        source = open_source(src, base_dir=tmp_path)
        assert isinstance(source, DuckDBSource)
        _assert_rows_equal(source.aggregate(arm="arm", metrics=_metrics()[:2]), ref)


def test_column_kinds_and_types_for_messages():
    frame = _frame().assign(when=pd.Timestamp("2026-01-01"), day=date(2026, 1, 1), label="x")
    duck, ib = _sources(frame)
    for col, kind in {"churned_90d": "numeric", "churned_bool": "boolean", "when": "temporal", "day": "temporal",
                      "label": "string", "revenue_90d": "numeric"}.items():
        assert duck.kind(col) == ib.kind(col) == kind, col
    assert duck.dtype("label") == ib.dtype("label") == "string"
    assert duck.max_date("assigned_at") == ib.max_date("assigned_at") == frame["assigned_at"].max().date()


def test_unreadable_and_unknown_sources_are_clear_errors(tmp_path):
    (tmp_path / "broken.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="broken.parquet. is named .parquet but is text"):
        open_source(tmp_path / "broken.parquet")
    with pytest.raises(DataError, match="unsupported file type '.xlsx'"):
        (tmp_path / "x.xlsx").write_text("")
        open_source(tmp_path / "x.xlsx")
    with pytest.raises(DataError, match="has no table 'outcome'.*outcomes"):
        import duckdb

        con = duckdb.connect(str(tmp_path / "w.db"))
        con.execute("CREATE TABLE outcomes AS SELECT 1 AS x")
        con.close()
        open_source(f"duckdb://{tmp_path / 'w.db'}?table=outcome")


def test_analysis_is_the_same_through_either_engine():
    frame = make_frame()
    d = make_design()
    a = analyze(d, frame, as_of=AS_OF)
    b = analyze(d, open_table(frame), as_of=AS_OF)
    assert _same_json(a.to_dict(), b.to_dict())
    assert len(a.strata) == len(b.strata) == 3 and list(a.strata["arm"]) == sorted(d.arms)


def _same_json(x, y) -> bool:
    if isinstance(x, dict):
        assert x.keys() == y.keys()
        return all(_same_json(x[k], y[k]) for k in x)
    if isinstance(x, list):
        assert len(x) == len(y)
        return all(_same_json(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, float):
        assert x == pytest.approx(y, rel=1e-9, abs=1e-12, nan_ok=True)
        return True
    assert x == y
    return True


def test_the_caller_frame_is_scanned_not_changed():
    frame = _frame()
    before = frame.copy(deep=True)
    open_source(frame).aggregate(arm="arm", metrics=_metrics(), assigned_at="assigned_at", by=["region"])
    pd.testing.assert_frame_equal(frame, before)


def test_docstring_examples_run():
    import experiments.data.engine
    import experiments.data.sources

    for module in (experiments.data.sources, experiments.data.engine):
        result = doctest.testmod(module)
        assert result.attempted >= 2 and result.failed == 0, module.__name__

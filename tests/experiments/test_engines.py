"""Every data-reading command on a Spark catalogue table (and SQLite), from the design file and the CLI.

The same rows are saved as a Parquet file and as a table of the shared local Spark session's warehouse
(tests/conftest.py, ``local[2]``, one session per test process); each command runs through the CLI (in-process,
so the session is reused) once on the file and once on the table, and the outputs are compared: counts exactly,
floating-point sums to :data:`RTOL` (another engine adds in another order).
"""

from __future__ import annotations

import json
import math
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from experiment_factories import make_frame
from typer.testing import CliRunner

from causal.simulate import simulate_subscriber_rows
from experiments.cli import app
from experiments.data.engines import parse_engine_url
from experiments.errors import DataError

runner = CliRunner()
RTOL = 1e-12  # the same sums in another engine; only the order of floating-point additions differs
VOLATILE = {"timings", "output", "registry", "run_id", "source", "path", "created_at"}  # paths, clocks, ids
AS_OF = "2026-12-01"
DB = "retention_it"

EXPERIMENT = {
    "name": "engine_check",
    "data": {"source": "outcomes.parquet", "unit": "subscriber_id", "arm": "arm", "assigned_at": "assigned_at"},
    "arms": {"control": {"weight": 0.34}, "flow_pack": {"weight": 0.33}, "contract_discount": {"weight": 0.33}},
    "control": "control",
    "metrics": [
        {"name": "churn_90d", "column": "churned_90d", "kind": "binary", "direction": "decrease", "role": "primary",
         "maturity_days": 90},
        {"name": "churn_30d", "column": "churned_30d", "kind": "binary", "direction": "decrease"},
        {"name": "revenue_90d", "column": "revenue_90d", "kind": "continuous", "direction": "increase",
         "role": "guardrail", "non_inferiority": {"margin": -0.02, "relative": True},
         "covariate": "revenue_pre_90d"},
    ],
    "analysis": {"alpha": 0.05, "correction": "holm"},
}


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Equal JSON trees: the same keys, strings and integers exactly, floats to RTOL; volatile keys skipped."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) - VOLATILE == set(b) - VOLATILE, where
        for k in set(a) - VOLATILE:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            assert a is b, where
        elif math.isnan(a):
            assert math.isnan(b), where
        else:
            assert b == pytest.approx(a, rel=RTOL, abs=1e-300), where
    else:
        assert a == b, where


@pytest.fixture(scope="module")
def warehouse(spark_session, tmp_path_factory):
    """Parquet files and the same rows as tables of database ``retention_it`` in the Spark warehouse."""
    folder = tmp_path_factory.mktemp("engines")
    spark_session.sql(f"CREATE DATABASE IF NOT EXISTS {DB}")
    rng = np.random.default_rng(5)
    frames = {
        "outcomes": make_frame(4000, seed=21),
        "panel": simulate_subscriber_rows(24, 10, mean_subscribers=8, starts=(5, 7), rng=4),
        "population": pd.DataFrame({"subscriber_id": np.arange(50_000, 53_000, dtype=np.int64),
                                    "region": rng.choice(["R01", "R02", "R03"], 3000),
                                    "plan": rng.choice(["prepaid", "postpaid"], 3000),
                                    "arpu": rng.gamma(2.0, 20.0, 3000)}),
    }
    t = rng.exponential(20.0, 3000)
    frames["tenure"] = pd.DataFrame({"months": np.minimum(np.ceil(t), 36).astype(np.int64),
                                     "churned": (t < 36).astype(np.int64),
                                     "plan": rng.choice(["prepaid", "postpaid"], 3000)})
    for name, frame in frames.items():
        path = folder / f"{name}.parquet"
        frame.to_parquet(path, index=False, coerce_timestamps="us")  # Spark reads micro-, not nanoseconds
        spark_session.read.parquet(str(path)).write.mode("overwrite").saveAsTable(f"{DB}.{name}")
    return folder


def _write(folder: Path, name: str, raw: dict) -> Path:
    path = folder / f"{name}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _ok(args: list[str]) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, (res.output, res.stderr if res.stderr_bytes is not None else "", res.exception)


def _engine(table: str | None = None) -> dict:
    out: dict[str, Any] = {"kind": "spark", "master": "local[2]", "conf": {"spark.sql.shuffle.partitions": 2}}
    if table:
        out["table"] = table
    return out


@pytest.mark.spark
def test_analyze_on_a_spark_table_writes_the_same_results_json(warehouse, tmp_path):
    """`retention analyze` on a design whose engine block names the Spark table: the same results.json as on the
    Parquet file (timings and paths aside). Also `retention validate` on both."""
    on_file = _write(warehouse, "file", EXPERIMENT)
    raw = {**EXPERIMENT, "data": {k: v for k, v in EXPERIMENT["data"].items() if k != "source"},
           "engine": _engine(f"{DB}.outcomes")}
    on_spark = _write(warehouse, "spark", raw)
    for design, out in ((on_file, tmp_path / "file"), (on_spark, tmp_path / "spark")):
        _ok(["validate", str(design)])
        _ok(["analyze", str(design), "--out", str(out), "--as-of", AS_OF])
    a = json.loads((tmp_path / "file" / "results.json").read_text())
    b = json.loads((tmp_path / "spark" / "results.json").read_text())
    assert_same(a, b)


@pytest.mark.spark
def test_analyze_with_a_spark_url_on_the_command_line(warehouse, tmp_path):
    """`--data spark://local[2]/db.table` overrides a file design's source; same results."""
    design = _write(warehouse, "file", EXPERIMENT)
    _ok(["analyze", str(design), "--out", str(tmp_path / "a"), "--as-of", AS_OF])
    _ok(["analyze", str(design), "--out", str(tmp_path / "b"), "--as-of", AS_OF,
         "--data", f"spark://local[2]/{DB}.outcomes"])
    assert_same(json.loads((tmp_path / "a" / "results.json").read_text()),
                json.loads((tmp_path / "b" / "results.json").read_text()))


@pytest.mark.spark
def test_did_on_a_spark_table_equals_the_file(warehouse, tmp_path):
    """`retention did` on subscriber-month rows: the cells are aggregated in Spark; every estimate equals DuckDB's."""
    base = {"kind": "did", "name": "promo_check",
            "data": {"source": "panel.parquet", "unit": "region", "time": "month", "outcome": "churned",
                     "treat": "promo"},
            "analysis": {"se": "cluster", "staggered": True, "n_boot": 199, "n_perm": 49, "n_placebo": 20,
                         "seed": 3}}
    on_file = _write(warehouse, "did-file", base)
    on_spark = _write(warehouse, "did-spark", {**base, "engine": _engine(),
                                               "data": {**base["data"], "source": f"{DB}.panel"}})
    _ok(["did", str(on_file), "--json", str(tmp_path / "a.json")])
    _ok(["did", str(on_spark), "--json", str(tmp_path / "b.json")])
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json"))
    assert a["n_obs"] == b["n_obs"] > 0
    assert any("aggregated by pyspark" in n for n in b["notes"])  # the cells were summed in Spark
    b["notes"] = [n.replace("aggregated by pyspark", "aggregated by duckdb") for n in b["notes"]]
    assert_same(a, b)


@pytest.mark.spark
def test_survival_on_a_spark_table_equals_the_file(warehouse, tmp_path):
    """`retention survival --data spark://...`: the risk table is counted in Spark; curves, log-rank, RMST equal."""
    flags = ["--duration", "months", "--event", "churned", "--group", "plan", "--times", "12,24"]
    _ok(["survival", "--data", str(warehouse / "tenure.parquet"), *flags, "--json", str(tmp_path / "a.json")])
    _ok(["survival", "--data", f"spark://local[2]/{DB}.tenure", *flags, "--json", str(tmp_path / "b.json")])
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json"))
    assert {g: v["n"] for g, v in a["groups"].items()} == {g: v["n"] for g, v in b["groups"].items()}
    assert_same(a, b)


@pytest.mark.spark
def test_assign_on_a_spark_population_is_the_same_and_is_written_back(warehouse, tmp_path, spark_session):
    """`retention assign` with the population in Spark: eligibility runs there, the arms equal the file run's for
    the same salt, and the assignment is saved as a Spark table (refused again without --force)."""
    raw = {**EXPERIMENT, "name": "assign_check",
           "population": {"source": "population.parquet", "unit": "subscriber_id",
                          "eligibility": [{"column": "plan", "op": "==", "value": "postpaid"}],
                          "covariates": ["arpu"]},
           "strata": ["region"], "assignment": {"salt": "s1"}}
    on_file = _write(warehouse, "assign-file", raw)
    on_spark = _write(warehouse, "assign-spark", {**raw, "engine": _engine(f"{DB}.outcomes"),
                                                  "population": {**raw["population"], "source": f"{DB}.population"}})
    day = ["--assigned-at", "2026-11-02"]
    _ok(["assign", str(on_file), "--out", str(tmp_path / "a.parquet"), "--registry", str(tmp_path / "ra.duckdb"),
         "--json", str(tmp_path / "a.json"), *day])
    spark_session.sql(f"DROP TABLE IF EXISTS {DB}.assign_check_assignment")
    _ok(["assign", str(on_spark), "--out", str(tmp_path / "b.parquet"), "--registry", str(tmp_path / "rb.duckdb"),
         "--json", str(tmp_path / "b.json"), *day])
    a = pd.read_parquet(tmp_path / "a.parquet")
    b = pd.read_parquet(tmp_path / "b.parquet")
    cols = ["subscriber_id", "arm", "stratum", "assigned_at", "salt"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert len(a) == int((pd.read_parquet(warehouse / "population.parquet")["plan"] == "postpaid").sum())
    ja, jb = (json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json"))
    assert ja["counts"] == jb["counts"] and ja["engine_table"] is None
    assert jb["engine_table"] == f"{DB}.assign_check_assignment"
    back = spark_session.table(jb["engine_table"]).toPandas().sort_values("subscriber_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(back[["subscriber_id", "arm", "stratum"]], a[["subscriber_id", "arm", "stratum"]])
    res = runner.invoke(app, ["assign", str(on_spark), "--out", str(tmp_path / "c.parquet"), "--registry",
                              str(tmp_path / "rb.duckdb"), *day])
    assert res.exit_code == 2 and "already exists" in res.stderr and "--force" in res.stderr
    assert not (tmp_path / "c.parquet").exists()


def _refusal(args: list[str]) -> str:
    """The one stderr line of a command that must exit with 2, for the test to check its words."""
    res = runner.invoke(app, args)
    assert res.exit_code == 2, (res.output, res.exception)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    return lines[0]


@pytest.mark.spark
def test_a_missing_spark_table_names_the_catalogue_and_close_matches(warehouse, tmp_path):
    design = _write(warehouse, "file", EXPERIMENT)
    line = _refusal(["analyze", str(design), "--out", str(tmp_path / "x"), "--data", f"spark://local[2]/{DB}.outcome"])
    assert all(w in line for w in ("Spark catalogue 'spark_catalog'", "'retention_it.outcome'",
                                   "did you mean 'retention_it.outcomes'")), line
    assert not (tmp_path / "x").exists(), line
    line = _refusal(["validate", str(design), "--data", "spark://local[2]/retention_itt.outcomes"])
    assert all(w in line for w in ("no database 'retention_itt'", "did you mean 'retention_it'")), line


def test_without_the_spark_extra_the_error_names_it(tmp_path, monkeypatch):
    """An import hook makes ``pyspark`` unimportable, as on an install without the extra."""
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    design = _write(tmp_path, "file", EXPERIMENT)
    line = _refusal(["analyze", str(design), "--out", str(tmp_path / "x"), "--data", "spark://local[2]/db.t"])
    assert all(w in line for w in ("Spark extra", "telecom-retention[spark]")), line


def test_without_java_the_error_names_the_version_needed(tmp_path, monkeypatch):
    """No java on PATH and no JAVA_HOME: the error says Spark needs Java 17+ before any JVM is tried."""
    pytest.importorskip("pyspark")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    design = _write(tmp_path, "file", EXPERIMENT)
    line = _refusal(["analyze", str(design), "--out", str(tmp_path / "x"), "--data", "spark://local[2]/db.t"])
    assert all(w in line for w in ("Java 17 or newer", "JAVA_HOME")), line


def test_an_unsupported_scheme_lists_the_supported_ones(tmp_path):
    design = _write(tmp_path, "file", EXPERIMENT)
    line = _refusal(["analyze", str(design), "--out", str(tmp_path / "x"), "--data", "postgres://h/db"])
    assert all(w in line for w in ("'postgres://' is not supported", "duckdb://", "spark://", "sqlite://")), line
    line = _refusal(["did", "--data", "mysql://h/db", "--unit", "u", "--time", "t", "--outcome", "y", "--treat", "d",
                     "--json", str(tmp_path / "d.json")])
    assert "spark://" in line


def test_sqlite_source_gives_the_same_results_as_parquet(tmp_path):
    """``sqlite:///path.db?table=t`` (Ibis's SQLite backend, no service): the same results.json as the Parquet."""
    import sqlite3

    frame = make_frame(1500, seed=4)
    frame.to_parquet(tmp_path / "outcomes.parquet", index=False)
    with sqlite3.connect(tmp_path / "o.db") as con:
        frame.assign(assigned_at=frame["assigned_at"].dt.strftime("%Y-%m-%d")).to_sql("outcomes", con, index=False)
    design = _write(tmp_path, "file", EXPERIMENT)
    _ok(["analyze", str(design), "--out", str(tmp_path / "a"), "--as-of", AS_OF])
    _ok(["analyze", str(design), "--out", str(tmp_path / "b"), "--as-of", AS_OF,
         "--data", f"sqlite:///{tmp_path / 'o.db'}?table=outcomes"])
    assert_same(json.loads((tmp_path / "a" / "results.json").read_text()),
                json.loads((tmp_path / "b" / "results.json").read_text()))
    line = _refusal(["validate", str(design), "--data", f"sqlite:///{tmp_path / 'o.db'}?table=outcome"])
    assert all(w in line for w in ("has no table 'outcome'", "did you mean 'outcomes'")), line


@pytest.mark.parametrize("url, master, table, conf", [
    ("spark://local[2]/db.t", "local[2]", "db.t", {}),
    ("spark:///t", None, "t", {}),
    ("spark://yarn/db.t?spark.executor.memory=4g", "yarn", "db.t", {"spark.executor.memory": "4g"}),
    ("spark://10.1.2.3:7077/db.t", "spark://10.1.2.3:7077", "db.t", {}),
])
def test_spark_urls_parse(url, master, table, conf):
    where = parse_engine_url(url)
    assert (where.master, where.table, where.conf) == (master, table, conf)


def test_a_spark_url_without_a_table_or_with_an_unknown_parameter_is_refused():
    with pytest.raises(DataError, match="name the catalogue table"):
        parse_engine_url("spark://local[2]/")
    with pytest.raises(DataError, match="unknown parameter 'table'"):
        parse_engine_url("spark://local[2]/db.t?table=x")


@pytest.fixture(scope="module")
def simulated(spark_session, tmp_path_factory):
    """A simulated operator's experiment (design.yaml + experiment.parquet) and the same rows as a Spark table."""
    from experiments.simulate.operator import simulate_operator
    from experiments.simulate.output import write_simulation

    out = tmp_path_factory.mktemp("sim")
    write_simulation(simulate_operator(n_subscribers=6_000, rng=2), out)
    spark_session.sql(f"CREATE DATABASE IF NOT EXISTS {DB}")
    frame = pd.read_parquet(out / "experiment.parquet")
    path = out / "experiment_us.parquet"
    frame.to_parquet(path, index=False, coerce_timestamps="us")
    spark_session.read.parquet(str(path)).write.mode("overwrite").saveAsTable(f"{DB}.experiment")
    raw = yaml.safe_load((out / "design.yaml").read_text())
    raw["data"]["source"] = str(out / "experiment.parquet")
    return out, raw


@pytest.mark.spark
def test_monitor_on_a_spark_table_equals_the_file(simulated, tmp_path):
    """`retention monitor`: the per-arm sums of the primary metric come from Spark; the sequences are the same."""
    out, raw = simulated
    on_file = _write(tmp_path, "mon-file", raw)
    on_spark = _write(tmp_path, "mon-spark", {**raw, "engine": _engine(),
                                              "data": {**raw["data"], "source": f"{DB}.experiment"}})
    _ok(["monitor", str(on_file), "--json", str(tmp_path / "a.json")])
    _ok(["monitor", str(on_spark), "--json", str(tmp_path / "b.json")])
    assert_same(json.loads((tmp_path / "a.json").read_text()), json.loads((tmp_path / "b.json").read_text()))


@pytest.mark.spark
def test_uplift_on_a_spark_table_thins_rows_in_the_engine(simulated, tmp_path):
    """`retention uplift` with uplift.max_rows on a Spark table: rows are thinned in Spark (hash of the unit) to
    about twice max_rows before they reach Python, where exactly max_rows are drawn."""
    out, raw = simulated
    raw = {**raw, "engine": _engine(), "data": {**raw["data"], "source": f"{DB}.experiment"},
           "uplift": {**raw["uplift"], "max_rows": 1500}}
    design = _write(tmp_path, "uplift-spark", raw)
    _ok(["uplift", str(design), "--out", str(tmp_path / "u"), "--no-refute"])
    d = json.loads((tmp_path / "u" / "uplift.json").read_text())
    assert d["n"] == 1500
    assert 1500 < d["n_input"] < 6000 * 0.75  # ~3000 of 6000 came over, not all


def test_an_old_java_is_refused_with_the_version_found(tmp_path, monkeypatch):
    """A java 11 first on PATH (a script printing what Java 11 prints): Spark 4 needs 17, the message says both."""
    from experiments.data.engines import check_java

    fake = tmp_path / "java"
    fake.write_text('#!/bin/sh\necho \'openjdk version "11.0.21" 2023-10-17\' >&2\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(DataError, match=r"Java 17 or newer; .*java is Java 11"):
        check_java()

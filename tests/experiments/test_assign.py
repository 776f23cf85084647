"""Assignment: an independent pure-Python implementation as the reference, determinism, exact within-stratum
balance, the keep-existing option, exclusivity, atomic and non-overwriting writes, randomization validity on seeded
repetitions (KS tests), and bad input."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import experiments.planning.assignment as assign_mod
from experiments.errors import DataError, DesignError, OutputExistsError
from experiments.planning.allocation import fill_quotas, hash_sql, largest_remainder, unit_hash
from experiments.planning.assignment import assign, smd_table
from experiments.spec.models import parse_design

DAY = date(2026, 1, 5)
RTOL_SMD = 1e-10  # same formula from sums vs from rows, float noise only
KS_ALPHA = 0.001  # a uniformity test that fails by chance once in a thousand seeds


def population(n: int, rng: np.random.Generator | int, start: int = 0) -> pd.DataFrame:
    """A small subscriber table shaped like the simulator's subscribers.parquet."""
    rng = np.random.default_rng(rng)
    return pd.DataFrame({
        "subscriber_id": np.arange(start, start + n, dtype=np.int64),
        "region": rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "plan": rng.choice(["prepaid", "postpaid_standard", "postpaid_premium"], n),
        "tenure_band": rng.integers(0, 3, n),
        "arpu": rng.gamma(2.0, 20.0, n),
        "tenure_months": rng.integers(0, 72, n),
    })


def make(name: str = "retention_q1", weights=None, **extra) -> object:
    weights = weights or {"control": 0.4, "flow_pack": 0.3, "discount": 0.3}
    raw = {
        "name": name, "data": {"source": "outcomes.parquet"}, "control": "control",
        "arms": {a: {"weight": w} for a, w in weights.items()},
        "metrics": [{"name": "churn", "column": "churned_90d", "kind": "binary", "direction": "decrease"}],
        "population": {"source": "subscribers.parquet", "unit": "subscriber_id",
                       "covariates": ["arpu", "tenure_months", "plan"]},
        "strata": ["region", "plan", "tenure_band"],
    }
    raw.update(extra)
    return parse_design(raw)


def reference_assignment(pop: pd.DataFrame, design, salt: str) -> pd.Series:
    """Independent pure-Python implementation of the documented rule: sort each stratum by the first 64 bits of
    SHA-256(salt|id) (hashlib, then id), give each arm floor(w n) plus the largest remainders, in design order."""
    weights = {a: s.weight for a, s in design.arms.items()}
    out = {}
    key = pop[design.strata].astype(str).apply(lambda r: "|".join(f"{c}={r[c]}" for c in design.strata), axis=1)
    for stratum, g in pop.groupby(key):
        ids = sorted(g["subscriber_id"], key=lambda u: (int(hashlib.sha256(f"{salt}|{u}".encode()).hexdigest()[:16],
                                                            16), u))
        quotas = largest_remainder(len(ids), weights, f"{salt}|{stratum}")
        pos = 0
        for arm in weights:
            for u in ids[pos:pos + quotas[arm]]:
                out[u] = arm
            pos += quotas[arm]
    return pd.Series(out).sort_index()


@pytest.fixture
def pop():
    return population(3000, 1)


def read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


# ----------------------------------------------------------------------------------------------- reference


def test_engine_matches_pure_python_reference(pop, tmp_path):
    """The DuckDB query (sha256 in SQL, window rank, quota join) equals the pure-Python rule unit by unit."""
    d = make()
    r = assign(d, out=tmp_path / "a.parquet", population=pop, salt="s-1", assigned_at=DAY)
    got = read(tmp_path / "a.parquet").set_index("subscriber_id")["arm"].sort_index()
    ref = reference_assignment(pop, d, "s-1")
    pd.testing.assert_series_equal(got, ref, check_names=False)
    assert r.units == len(pop)


def test_unit_hash_matches_engine():
    import duckdb

    con = duckdb.connect()
    sql = hash_sql("salt", "u")
    got = con.execute(f"SELECT {sql} FROM (SELECT 12345 AS u)").fetchone()[0]
    assert got == unit_hash("salt", 12345)


def test_smd_matches_row_level_computation(pop, tmp_path):
    """SMD from engine sums equals (mean_t − mean_c)/sqrt((var_t + var_c)/2) computed on the joined rows."""
    r = assign(make(), out=tmp_path / "a.parquet", population=pop, assigned_at=DAY)
    rows = read(tmp_path / "a.parquet").merge(pop, on="subscriber_id")
    for cov in ("arpu", "tenure_months"):
        for arm in ("flow_pack", "discount"):
            t, c = rows.loc[rows.arm == arm, cov], rows.loc[rows.arm == "control", cov]
            expected = (t.mean() - c.mean()) / np.sqrt((t.var() + c.var()) / 2)
            got = r.balance.query("covariate == @cov and arm == @arm")["smd"].item()
            assert got == pytest.approx(expected, rel=RTOL_SMD)
    level = r.balance.query("covariate == 'plan' and level == 'prepaid' and arm == 'discount'")["smd"].item()
    t = (rows.loc[rows.arm == "discount", "plan"] == "prepaid").astype(float)
    c = (rows.loc[rows.arm == "control", "plan"] == "prepaid").astype(float)
    assert level == pytest.approx((t.mean() - c.mean()) / np.sqrt((t.var() + c.var()) / 2), rel=RTOL_SMD, abs=1e-12)


def test_smd_flag_threshold():
    stats = pd.DataFrame({"covariate": ["x", "x"], "level": [None, None], "arm": ["c", "t"], "n": [100, 100],
                          "sum": [0.0, 15.0], "sum_sq": [99.0, 99.0 + 15.0**2 / 100]})
    out = smd_table(stats, "c")
    assert out["smd"].item() == pytest.approx(0.15, rel=1e-12) and bool(out["flag"].item())


# ----------------------------------------------------------------------------------------------- properties


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_deterministic(pop, tmp_path, suffix):
    d = make()
    a = assign(d, out=tmp_path / f"a{suffix}", population=pop, salt="same", assigned_at=DAY)
    b = assign(d, out=tmp_path / f"b{suffix}", population=pop.sample(frac=1, random_state=3), salt="same",
               assigned_at=DAY)
    assert (tmp_path / f"a{suffix}").read_bytes() == (tmp_path / f"b{suffix}").read_bytes()
    assert a.design_hash == b.design_hash and a.salt == "same"
    c = assign(d, out=tmp_path / f"c{suffix}", population=pop, salt="other", assigned_at=DAY)
    assert (read(tmp_path / f"c{suffix}")["arm"] != read(tmp_path / f"a{suffix}")["arm"]).mean() > 0.3
    assert c.design_hash == a.design_hash


def test_output_columns_and_one_arm_per_unit(pop, tmp_path):
    d = make()
    r = assign(d, out=tmp_path / "a.parquet", population=pop, assigned_at=DAY)
    out = read(tmp_path / "a.parquet")
    assert list(out.columns) == ["subscriber_id", "arm", "stratum", "assigned_at", "design_hash", "salt"]
    assert out["subscriber_id"].is_unique and set(out["subscriber_id"]) == set(pop["subscriber_id"])
    assert set(out["arm"]) == set(d.arms)
    assert (out["design_hash"] == r.design_hash).all()
    assert pd.to_datetime(out["assigned_at"]).dt.date.eq(DAY).all()


@pytest.mark.parametrize("weights", [
    {"control": 0.4, "flow_pack": 0.3, "discount": 0.3},
    {"control": 0.5, "flow_pack": 0.5},
    {"control": 1 / 3, "flow_pack": 1 / 3, "discount": 1 / 3},
    {"control": 0.7, "flow_pack": 0.1, "discount": 0.2},
])
def test_exact_within_stratum_balance(pop, tmp_path, weights):
    """Every stratum × arm count is within one unit of weight × stratum size (recomputed from the file)."""
    d = make(weights=weights)
    r = assign(d, out=tmp_path / "a.parquet", population=pop, assigned_at=DAY)
    out = read(tmp_path / "a.parquet")
    sizes = out.groupby("stratum").size()
    cells = out.groupby(["stratum", "arm"]).size().unstack(fill_value=0)
    for arm, w in weights.items():
        assert ((cells.get(arm, 0) - w * sizes).abs() < 1 + 1e-9).all()
    assert r.max_stratum_deviation < 1
    assert len(sizes) == 4 * 3 * 3


def test_odd_units_are_not_given_to_one_arm(tmp_path):
    """With 50/50 weights and many odd-sized strata, the extra units split between the arms (hash tie-break)."""
    rng = np.random.default_rng(5)
    n = 4000
    pop = pd.DataFrame({"subscriber_id": np.arange(n), "cell": rng.integers(0, 400, n), "arpu": rng.normal(size=n)})
    d = make(weights={"control": 0.5, "flow_pack": 0.5}, strata=["cell"],
             population={"source": "x", "covariates": ["arpu"]})
    r = assign(d, out=tmp_path / "a.parquet", population=pop, assigned_at=DAY)
    odd = int((pop.groupby("cell").size() % 2).sum())
    extra = r.counts["control"] - r.counts["flow_pack"]
    assert abs(extra) < odd / 2  # all odd units to one arm would give extra == odd


def test_keep_existing_when_new_subscribers_join(tmp_path):
    old = population(2000, 2)
    d = make(assignment={"keep_existing": True, "salt": "wave"})
    assign(d, out=tmp_path / "w1.parquet", population=old, assigned_at=DAY)
    grown = pd.concat([old, population(700, 3, start=10_000)], ignore_index=True)
    r = assign(d, out=tmp_path / "w2.parquet", population=grown, assigned_at=date(2026, 2, 1))
    w1 = read(tmp_path / "w1.parquet").set_index("subscriber_id")
    w2 = read(tmp_path / "w2.parquet").set_index("subscriber_id")
    assert (w2.loc[w1.index, "arm"] == w1["arm"]).all()
    assert (pd.to_datetime(w2.loc[w1.index, "assigned_at"]) == pd.to_datetime(w1["assigned_at"])).all()
    assert r.kept == len(old) and r.units == len(grown)
    assert r.max_stratum_deviation < 1 + 1e-9
    # without the option the old units are reshuffled (strata sizes change, so positions move)
    fresh = assign(make(assignment={"salt": "wave"}), out=tmp_path / "w3.parquet", population=grown,
                   registry=tmp_path / "other.duckdb", assigned_at=DAY)
    w3 = read(tmp_path / "w3.parquet").set_index("subscriber_id")
    assert (w3.loc[w1.index, "arm"] != w1["arm"]).any() and fresh.kept == 0


def test_fill_quotas_rebalances():
    assert fill_quotas(11, {"c": 3, "t": 3}, {"c": 0.5, "t": 0.5}, "k") in ({"c": 3, "t": 2}, {"c": 2, "t": 3})
    assert fill_quotas(6, {"c": 4, "t": 0}, {"c": 0.5, "t": 0.5}) == {"c": 0, "t": 2}


def test_hash_method_is_stable_under_growth(tmp_path):
    d = make(strata=[], assignment={"method": "hash"})
    small = population(1500, 4)
    big = pd.concat([small, population(1500, 5, start=50_000)], ignore_index=True)
    assign(d, out=tmp_path / "a.parquet", population=small, assigned_at=DAY, registry=tmp_path / "r1.duckdb")
    assign(d, out=tmp_path / "b.parquet", population=big, assigned_at=DAY, registry=tmp_path / "r2.duckdb")
    a = read(tmp_path / "a.parquet").set_index("subscriber_id")["arm"]
    b = read(tmp_path / "b.parquet").set_index("subscriber_id")["arm"]
    assert (b.loc[a.index] == a).all()


def test_exclusivity_across_designs(tmp_path):
    pop = population(3000, 6)
    reg = tmp_path / "registry.duckdb"
    first = make("flowpack_q1")
    r1 = assign(first, out=tmp_path / "a.parquet", population=pop.iloc[:2000], registry=reg, assigned_at=DAY)
    second = make("discount_q1", exclusive_with=["flowpack_q1"])
    r2 = assign(second, out=tmp_path / "b.parquet", population=pop, registry=reg, assigned_at=DAY)
    a, b = read(tmp_path / "a.parquet"), read(tmp_path / "b.parquet")
    assert set(a.subscriber_id).isdisjoint(b.subscriber_id)
    assert r2.excluded == r1.units == 2000 and r2.units == 1000
    # symmetric: a third design named by the second in its exclusive_with ... and one naming nobody is not excluded
    third = make("unrelated_q1")
    r3 = assign(third, out=tmp_path / "c.parquet", population=pop, registry=reg, assigned_at=DAY)
    assert r3.excluded == 0
    back = make("later_q1")
    fourth_excl = make("guard_q1", exclusive_with=["later_q1"])
    assign(fourth_excl, out=tmp_path / "d.parquet", population=pop.iloc[:500], registry=reg, assigned_at=DAY)
    r5 = assign(back, out=tmp_path / "e.parquet", population=pop, registry=reg, assigned_at=DAY)
    assert r5.excluded == 500  # guard_q1 named later_q1, so later_q1 keeps out of guard_q1's units


def test_string_ids_keep_existing_and_exclusivity(tmp_path):
    """Text ids (e.g. MSISDNs) go through the registry as text; integer ids of another design still match them."""
    pop = population(1500, 12)
    text = pop.assign(subscriber_id="86" + pop.subscriber_id.astype(str).str.zfill(9))
    reg = tmp_path / "registry.duckdb"
    d = make("msisdn_wave", assignment={"keep_existing": True})
    assign(d, out=tmp_path / "w1.parquet", population=text.iloc[:1000], registry=reg, assigned_at=DAY)
    r = assign(d, out=tmp_path / "w2.parquet", population=text, registry=reg, assigned_at=DAY)
    w1 = read(tmp_path / "w1.parquet").set_index("subscriber_id")["arm"]
    w2 = read(tmp_path / "w2.parquet").set_index("subscriber_id")["arm"]
    assert r.kept == 1000 and (w2.loc[w1.index] == w1).all()
    ints = pop.assign(subscriber_id=("86" + pop.subscriber_id.astype(str).str.zfill(9)).astype("int64"))
    other = make("int_ids", exclusive_with=["msisdn_wave"])
    with pytest.raises(DataError, match="1500 units held by exclusive designs"):
        assign(other, out=tmp_path / "o.parquet", population=ints, registry=reg, assigned_at=DAY)
    assert not (tmp_path / "o.parquet").exists()
    more = pd.concat([ints, population(300, 13, start=90_000_000_000)], ignore_index=True)
    r2 = assign(other, out=tmp_path / "o.parquet", population=more, registry=reg, assigned_at=DAY)
    assert r2.excluded == 1500 and r2.units == 300


def test_registry_records_runs(pop, tmp_path):
    from experiments.planning.registry import registered_designs, registry_assignments

    d = make()
    r = assign(d, out=tmp_path / "a.parquet", population=pop, salt="abc", assigned_at=DAY)
    runs = registered_designs(tmp_path / "assignment_registry.duckdb")
    row = runs.set_index("design").loc["retention_q1"]
    assert row["salt"] == "abc" and row["design_hash"] == r.design_hash and row["units"] == len(pop)
    held = registry_assignments(tmp_path / "assignment_registry.duckdb", "retention_q1")
    out = read(tmp_path / "a.parquet")
    assert list(held["arm"]) == list(out.sort_values("subscriber_id", key=lambda c: c.astype(str))["arm"])
    assert out["subscriber_id"].is_monotonic_increasing  # the list is written sorted by unit


def test_refuses_to_overwrite(pop, tmp_path):
    out = tmp_path / "a.parquet"
    assign(make(), out=out, population=pop, assigned_at=DAY)
    before = out.read_bytes()
    with pytest.raises(OutputExistsError, match="--force"):
        assign(make(), out=out, population=pop, salt="new", assigned_at=DAY)
    assert out.read_bytes() == before
    assign(make(), out=out, population=pop, salt="new", assigned_at=DAY, force=True)
    assert out.read_bytes() != before


@pytest.mark.parametrize("where", ["rename", "balance"])
def test_interrupted_run_leaves_nothing(pop, tmp_path, monkeypatch, where):
    """An interruption after the temporary list is written (while computing the balance, or at the final rename)
    leaves no output, no temporary file, and the registry unchanged."""
    out = tmp_path / "a.parquet"

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    if where == "rename":
        monkeypatch.setattr(assign_mod.os, "replace", boom)
    else:
        monkeypatch.setattr(assign_mod, "_covariate_stats", boom)
    with pytest.raises(KeyboardInterrupt):
        assign(make(), out=out, population=pop, assigned_at=DAY)
    monkeypatch.undo()
    assert not out.exists()
    left = sorted(p.name for p in tmp_path.iterdir())
    if where == "balance":  # interrupted before the registry was opened for writing: it was never created
        assert left == []
        return
    assert left == ["assignment_registry.duckdb"]
    import duckdb

    con = duckdb.connect(str(tmp_path / "assignment_registry.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM assignments").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    con.close()


def test_caller_data_not_mutated(pop, tmp_path):
    copy = pop.copy(deep=True)
    assign(make(), out=tmp_path / "a.parquet", population=pop, assigned_at=DAY)
    pd.testing.assert_frame_equal(pop, copy)


def test_eligibility_filters(pop, tmp_path):
    d = make(population={"source": "x", "eligibility": [
        {"column": "plan", "op": "in", "value": ["postpaid_standard", "postpaid_premium"]},
        {"column": "tenure_months", "op": ">=", "value": 6},
        {"column": "arpu", "op": "between", "value": [10, 80]}]})
    r = assign(d, out=tmp_path / "a.parquet", population=pop, assigned_at=DAY)
    want = pop[pop.plan.isin(["postpaid_standard", "postpaid_premium"]) & (pop.tenure_months >= 6)
               & pop.arpu.between(10, 80)]
    assert set(read(tmp_path / "a.parquet").subscriber_id) == set(want.subscriber_id) and r.units == len(want)


# ----------------------------------------------------------------------------------------------- randomization

SALTS = 60


@pytest.fixture(scope="module")
def repeated(tmp_path_factory):
    """SRM p-values (hash method) and covariate t-test p-values (stratified) over SALTS new salts."""
    tmp = tmp_path_factory.mktemp("salts")
    pop = population(1200, 9)
    p_srm, p_cov = [], []
    for i in range(SALTS):
        r = assign(make(strata=[], assignment={"method": "hash"}, population={"source": "x", "covariates": []}),
                   out=tmp / f"h{i}.parquet", population=pop, salt=f"salt-{i}", registry=tmp / f"rh{i}.duckdb",
                   assigned_at=DAY)
        p_srm.append(r.srm_p_value)
        assign(make(weights={"control": 0.5, "flow_pack": 0.5}, population={"source": "x", "covariates": []}),
               out=tmp / f"s{i}.parquet", population=pop, salt=f"salt-{i}", registry=tmp / f"rs{i}.duckdb",
               assigned_at=DAY)
        rows = read(tmp / f"s{i}.parquet").merge(pop, on="subscriber_id")
        p_cov.append(sps.ttest_ind(rows.loc[rows.arm == "flow_pack", "arpu"],
                                   rows.loc[rows.arm == "control", "arpu"]).pvalue)
    return np.array(p_srm), np.array(p_cov)


@pytest.mark.slow
def test_srm_p_values_uniform_over_salts(repeated):
    """Hash assignment (no strata): the SRM χ² p-value over new salts is Uniform(0, 1) (KS). With stratified
    assignment the counts are fixed by the quotas and the SRM p-value is ≈ 1 by construction."""
    p_srm, _ = repeated
    assert sps.kstest(p_srm, "uniform").pvalue > KS_ALPHA


@pytest.mark.slow
def test_stratified_covariate_p_values_uniform_over_salts(repeated):
    """Stratified assignment randomizes within strata: a covariate t-test between arms has uniform p-values."""
    _, p_cov = repeated
    assert sps.kstest(p_cov, "uniform").pvalue > KS_ALPHA


# ----------------------------------------------------------------------------------------------- bad input


def _nothing_written(tmp_path):
    return list(tmp_path.iterdir()) == []


def test_missing_unit_column(pop, tmp_path):
    with pytest.raises(DataError, match=r"no column 'subscriber_id' \(named by population.unit\)"):
        assign(make(), out=tmp_path / "a.parquet", population=pop.rename(columns={"subscriber_id": "msisdn"}))
    assert _nothing_written(tmp_path)


def test_duplicate_ids(pop, tmp_path):
    dup = pd.concat([pop, pop.iloc[:3]], ignore_index=True)
    with pytest.raises(DataError, match="3 duplicated ids"):
        assign(make(), out=tmp_path / "a.parquet", population=dup)
    assert _nothing_written(tmp_path)


def test_strata_with_missing_values(pop, tmp_path):
    bad = pop.copy()
    bad.loc[:6, "region"] = None
    with pytest.raises(DataError, match=r"strata column 'region' has missing values in 7 of 3000 rows.*'unknown'"):
        assign(make(), out=tmp_path / "a.parquet", population=bad)
    assert _nothing_written(tmp_path)


def test_unknown_eligibility_column(pop, tmp_path):
    d = make(population={"source": "x", "eligibility": [{"column": "plann", "op": "==", "value": "prepaid"}]})
    with pytest.raises(DataError, match=r"eligibility\[0\] names column 'plann'.*did you mean 'plan'"):
        assign(d, out=tmp_path / "a.parquet", population=pop)
    assert _nothing_written(tmp_path)


def test_eligibility_value_of_the_wrong_type(pop, tmp_path):
    d = make(population={"source": "x", "eligibility": [{"column": "tenure_months", "op": ">=", "value": "six"}]})
    with pytest.raises(DataError, match=r"eligibility\[0\]: value 'six' does not fit column 'tenure_months'"):
        assign(d, out=tmp_path / "a.parquet", population=pop)
    assert _nothing_written(tmp_path)


def test_weights_not_summing_to_one():
    with pytest.raises(DesignError, match="sum to 0.9"):
        make(weights={"control": 0.5, "flow_pack": 0.2, "discount": 0.2})


def test_condition_value_must_fit_op():
    with pytest.raises(DesignError, match="needs a non-empty list"):
        make(population={"source": "x", "eligibility": [{"column": "plan", "op": "in", "value": "prepaid"}]})


def test_reference_design_on_simulated_subscribers(tmp_path):
    """The repository's design file (its population, strata and assignment sections) on the simulator's
    subscribers: eligibility applied, every region × plan stratum within one unit of the weights."""
    from experiments.simulate.operator import simulate_operator
    from experiments.spec.models import load_design

    design = load_design(Path(__file__).resolve().parents[2] / "designs" / "flowpack_vs_discount.yaml")
    subs = simulate_operator(n_subscribers=5000, rng=20260701).subscribers
    r = assign(design, out=tmp_path / "a.parquet", population=subs, assigned_at=DAY)
    want = subs[subs.plan.isin(["postpaid_standard", "postpaid_premium"]) & (subs.days_to_contract_end <= 365)]
    out = read(tmp_path / "a.parquet")
    assert set(out.subscriber_id) == set(want.subscriber_id)
    assert r.max_stratum_deviation < 1 and r.strata["stratum"].str.startswith("region=").all()
    assert set(r.balance["covariate"]) == {"arpu", "tenure_months", "data_usage_ratio", "cs_calls_90d", "plan"}


def test_registry_that_is_not_duckdb(pop, tmp_path):
    bad = tmp_path / "registry.duckdb"
    bad.write_text("not a database")
    with pytest.raises(DataError, match="cannot be opened"):
        assign(make(), out=tmp_path / "a.parquet", population=pop, registry=bad)
    assert not (tmp_path / "a.parquet").exists()

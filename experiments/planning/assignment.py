"""Reproducible, stratified assignment of subscribers to arms, computed in the engine, with a registry.

How a unit gets its arm (``assignment.method: stratified``, the default)
    1. ``h = first 64 bits of SHA-256(salt || "|" || unit id as text)``; the salt and a SHA-256 of the design are
       recorded in the output and the registry.
    2. Units are grouped by the design's ``strata`` columns; within each stratum they are ordered by ``h`` (then by
       id, a tie that never happens in practice).
    3. Each stratum of size ``n`` gives arm ``a`` ``floor(w_a n)`` units plus one for the arms with the largest
       remainders ``w_a n − floor(w_a n)`` (largest-remainder rule; ties between remainders are broken by a hash of
       salt, stratum and arm, so that no arm is favoured across strata). Every stratum therefore matches the weights
       to within one unit.
    4. Arms take consecutive runs of the hash order, in design order.
    Steps 1–4 run as one DuckDB SQL query (hash, window rank, join to a small table of quotas); only per-stratum counts
    come back to Python. Same salt and same population give an identical file.

``assignment.method: hash`` assigns each unit from its hash alone (``h / 2⁶⁴`` against the cumulative weights): no
stratification and no exact balance, but a unit's arm never depends on who else is in the population.

New subscribers (``assignment.keep_existing: true``)
    Units this design assigned before (the latest run in the registry) keep their arm and ``assigned_at``; units not
    seen before are ranked by hash within their stratum and fill each arm up to its largest-remainder quota for the
    stratum's new size. The combined stratum is within one unit of the weights whenever the kept units allow it (they
    always do when the earlier run was balanced and nobody left); if units left so that an arm is over its quota,
    no kept unit is moved and the arm stays over. Units that left the population are not written.

Registry
    A DuckDB file (``assignment.registry`` in the design, else ``assignment_registry.duckdb`` beside the output) with
    tables ``runs`` and ``assignments`` (integer ids kept as BIGINT, others as text). A new run of a design replaces
    its rows. ``exclusive_with: [other]`` removes from the eligible population every unit that ``other`` holds;
    exclusivity is symmetric (a design that names this one in its own ``exclusive_with`` excludes its units too).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments.errors import DataError, DesignError, OutputExistsError, close_matches
from experiments.planning.allocation import HASH_BITS, design_hash, fill_quotas, hash_sql, sql_ident, sql_str
from experiments.planning.registry import RegistryLock, open_registry, resolve_registry

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

SMD_FLAG = 0.1  # |standardized mean difference| above which a covariate is flagged (Austin 2009)
ALL_STRATA = "all"


# ----------------------------------------------------------------------------------------------- pure pieces


def smd_table(stats: pd.DataFrame, control: str) -> pd.DataFrame:
    """Standardized mean differences against the control from per-arm sums.

    Parameters
    ----------
    stats : DataFrame
        Columns ``covariate``, ``level`` (None for numeric covariates), ``arm``, ``n``, ``sum``, ``sum_sq``.
    control : str

    Returns
    -------
    DataFrame
        ``covariate, level, arm, mean_arm, mean_control, smd, flag`` with
        ``smd = (m_t − m_c) / √((s²_t + s²_c) / 2)`` (sample variances) and ``flag = |smd| > 0.1``.
    """
    import pandas as pd

    rows = []
    for (cov, level), g in stats.groupby(["covariate", "level"], dropna=False, sort=False):
        by_arm = {r.arm: r for r in g.itertuples()}
        if control not in by_arm:
            continue
        c = by_arm[control]
        mc, vc = _mean_var(c.n, c.sum, c.sum_sq)
        for arm, r in by_arm.items():
            if arm == control:
                continue
            mt, vt = _mean_var(r.n, r.sum, r.sum_sq)
            pooled = math.sqrt((vt + vc) / 2) if (vt + vc) > 0 else math.nan
            smd = (mt - mc) / pooled if pooled and not math.isnan(pooled) else 0.0 if mt == mc else math.inf
            rows.append({"covariate": cov, "level": None if pd.isna(level) else level, "arm": arm,
                         "mean_arm": mt, "mean_control": mc, "smd": smd, "flag": bool(abs(smd) > SMD_FLAG)})
    return pd.DataFrame(rows, columns=["covariate", "level", "arm", "mean_arm", "mean_control", "smd", "flag"])


def _mean_var(n: float, s: float, ss: float) -> tuple[float, float]:
    if n < 2:
        return (s / n if n else math.nan), math.nan
    return s / n, max(ss - s * s / n, 0.0) / (n - 1)


# ----------------------------------------------------------------------------------------------- result


@dataclass(frozen=True, slots=True)
class AssignmentResult:
    """What an assignment run produced.

    Attributes
    ----------
    design : str
        Design name.
    design_hash : str
        SHA-256 of the design (see :func:`design_hash`).
    salt : str
        Salt of the unit hash.
    method : {"stratified", "hash"}
    units : int
        Units written.
    counts : dict[str, int]
        Units per arm.
    strata : pandas.DataFrame
        One row per stratum and arm: ``stratum, arm, n, target`` (target = weight × stratum size).
    balance : pandas.DataFrame
        Standardized mean differences per covariate (and level) and arm against control (:func:`smd_table`).
    srm_p_value : float
        χ² sample-ratio p-value of the assignment's arm counts against the weights.
    excluded : int
        Eligible units left out because another design holds them (``exclusive_with``).
    kept : int
        Units whose earlier arm was kept (``keep_existing``).
    output : Path or None
        File written.
    registry : Path or None
        Registry file updated.
    run_id : str
        Identifier of the run in the registry.
    """

    design: str
    design_hash: str
    salt: str
    method: str
    units: int
    counts: dict[str, int]
    strata: pd.DataFrame
    balance: pd.DataFrame
    srm_p_value: float
    excluded: int = 0
    kept: int = 0
    output: Path | None = None
    registry: Path | None = None
    run_id: str = ""
    control: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    engine_table: str | None = None

    @property
    def max_stratum_deviation(self) -> float:
        """Largest |n − weight × stratum size| over strata and arms (≤ 1 for a stratified run)."""
        if self.strata.empty:
            return 0.0
        return float((self.strata["n"] - self.strata["target"]).abs().max())

    def summary(self) -> pd.DataFrame:
        """The balance table (SMD per covariate and arm, flagged when |SMD| > 0.1)."""
        return self.balance

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dictionary."""
        return {
            "design": self.design, "design_hash": self.design_hash, "salt": self.salt, "method": self.method,
            "units": self.units, "counts": dict(self.counts), "srm_p_value": self.srm_p_value,
            "excluded": self.excluded, "kept": self.kept, "output": str(self.output) if self.output else None,
            "registry": str(self.registry) if self.registry else None, "run_id": self.run_id,
            "engine_table": self.engine_table,
            "max_stratum_deviation": self.max_stratum_deviation,
            "balance": self.balance.to_dict(orient="records"),
        }

    def _repr_html_(self) -> str:
        return self.balance.to_html(index=False)

    def plot(self, ax: Any = None) -> Any:
        """Love plot (Plotly): SMD of each covariate per arm, with the ±0.1 band."""
        import plotly.graph_objects as go

        fig = go.Figure()
        b = self.balance
        labels = [c if lv is None else f"{c}={lv}" for c, lv in zip(b["covariate"], b["level"], strict=True)]
        for arm in b["arm"].unique() if not b.empty else []:
            m = b["arm"] == arm
            fig.add_trace(go.Scatter(x=b.loc[m, "smd"], y=[lab for lab, k in zip(labels, m, strict=True) if k],
                                     mode="markers", name=f"{arm} vs {self.control}"))
        for x in (-SMD_FLAG, SMD_FLAG):
            fig.add_vline(x=x, line_dash="dash")
        fig.update_layout(xaxis_title="standardized mean difference", title="Covariate balance")
        return fig


# ----------------------------------------------------------------------------------------------- validation


def eligibility_filter(table: ir.Table, conditions: Sequence[Any], source: str = "population") -> ir.BooleanValue:
    """The Ibis predicate of the design's eligibility conditions (all must hold; nulls never pass a comparison).

    Raises
    ------
    DataError
        A condition names an unknown column, or its value does not fit the column's type.

    Examples
    --------
    >>> import pandas as pd
    >>> from experiments.data.engine import open_table
    >>> from experiments.spec.models import Condition
    >>> t = open_table(pd.DataFrame({"plan": ["prepaid", "postpaid", None], "arpu": [10.0, 40.0, 25.0]}))
    >>> keep = eligibility_filter(t, [Condition(column="plan", op="in", value=["postpaid"]),
    ...                               Condition(column="arpu", op=">=", value=20)])
    >>> int(t.filter(keep).count().execute())
    1
    """
    import ibis

    pred = ibis.literal(True)
    for i, c in enumerate(conditions):
        key = f"population.eligibility[{i}]"
        if c.column not in table.columns:
            raise DataError(f"{key} names column {c.column!r}, which {source} does not have"
                            f"{close_matches(c.column, table.columns)}; columns are: {', '.join(table.columns[:30])}")
        col = table[c.column]
        try:
            def lit(v: Any, col: Any = col) -> Any:
                if isinstance(v, str) and col.type().is_numeric():
                    float(v)  # raises ValueError for a word compared with a numeric column
                return ibis.literal(v).cast(col.type()) if isinstance(v, str) and not col.type().is_string() \
                    else ibis.literal(v, type=col.type())

            if c.op == "is_null":
                p = col.isnull()
            elif c.op == "not_null":
                p = col.notnull()
            elif c.op == "in":
                p = col.isin([lit(v) for v in c.value])
            elif c.op == "not_in":
                p = col.notnull() & ~col.isin([lit(v) for v in c.value])
            elif c.op == "between":
                p = col.between(lit(c.value[0]), lit(c.value[1]))
            else:
                v = lit(c.value)
                p = {"==": col == v, "!=": col != v, "<": col < v, "<=": col <= v, ">": col > v, ">=": col >= v}[c.op]
        except (TypeError, ValueError, ibis.common.exceptions.IbisError) as exc:
            raise DataError(f"{key}: value {c.value!r} does not fit column {c.column!r} of type {col.type()} "
                            f"({str(exc).splitlines()[0]}); write the value in the column's type") from None
        pred = pred & p.fill_null(False)
    return pred


def _check_columns(table: ir.Table, design: Any, unit: str, source: str) -> None:
    cols = list(table.columns)
    wanted = {"population.unit": unit, **{f"strata[{i}]": s for i, s in enumerate(design.strata)}}
    if design.population is not None:
        wanted.update({f"population.covariates[{i}]": c for i, c in enumerate(design.population.covariates)})
    for key, col in wanted.items():
        if col not in cols:
            hint = "; pass --unit or set population.unit" if key == "population.unit" else ""
            raise DataError(f"{source} has no column {col!r} (named by {key}){close_matches(col, cols)}; "
                            f"columns are: {', '.join(cols[:30])}{' ...' if len(cols) > 30 else ''}{hint}")


def _check_rows(table: ir.Table, unit: str, strata: Sequence[str], source: str) -> int:
    """Count rows; raise on missing or duplicate ids and missing strata values.

    Distinct ids are counted by :func:`experiments.data.engine.count_duplicates` (a bitmap for integer ids, so the
    check's memory does not grow with the population; ``COUNT(DISTINCT)`` under the run's memory limit otherwise).
    """
    from experiments.data.engine import check_id_type, count_duplicates

    check_id_type(str(table.schema()[unit]), unit, f"unit column of {source}")
    import duckdb

    try:
        rows, distinct, null_units = count_duplicates(table, unit)
        row = (table.aggregate(**{f"null_{i}": table[s].isnull().sum() for i, s in enumerate(strata)})
               .execute().iloc[0] if strata else {})
    except duckdb.Error as exc:  # e.g. an eligibility value the engine cannot convert to the column's type
        raise DataError(f"{source}: the eligibility conditions cannot be evaluated: {str(exc).splitlines()[0]}; "
                        "check each condition's value against its column's type") from None
    if null_units:
        raise DataError(f"{source}: unit column {unit!r} has {null_units} missing ids; "
                        "drop those rows or fill the ids before assigning")
    if distinct != rows:
        dup = table.group_by(unit).aggregate(k=table.count()).filter(lambda t: t.k > 1)
        n_dup, example = dup.count().execute(), dup.limit(3)[unit].execute().tolist()
        raise DataError(f"{source}: unit column {unit!r} has {int(n_dup)} duplicated ids (e.g. {example}) among "
                        f"{rows} rows; keep one row per unit (deduplicate the population) before assigning")
    for i, s in enumerate(strata):
        k = int(row[f"null_{i}"] or 0)
        if k:
            dtype = table[s].type()
            fill = "'unknown'" if dtype.is_string() else "-1 (or a separate band such as the median)" \
                if dtype.is_numeric() else "an explicit 'unknown' level"
            raise DataError(f"{source}: strata column {s!r} has missing values in {k} of {rows} rows; fill them "
                            f"with a level of their own, e.g. {fill}, or drop those rows before assigning")
    return rows


# ----------------------------------------------------------------------------------------------- engine


def assign(
    design: Any,
    *,
    out: str | Path,
    population: Any = None,
    salt: str | None = None,
    registry: str | Path | None = None,
    keep_existing: bool | None = None,
    assigned_at: date | None = None,
    force: bool = False,
    memory_limit: str | None = "700MB",
) -> AssignmentResult:
    """Assign the design's eligible population to arms, write the list atomically and record it in the registry.

    Parameters
    ----------
    design : ExperimentDesign
        Needs ``population`` (unless ``population`` is given here), ``arms`` and optionally ``strata``,
        ``exclusive_with`` and ``assignment``.
    out : str or Path
        Output file, ``.parquet`` or ``.csv``: ``unit, arm, stratum, assigned_at, design_hash`` (the unit column keeps
        its name), sorted by unit.
    population : source, optional
        Overrides ``population.source`` (a path, DuckDB URL, DataFrame or Ibis DuckDB table).
    salt : str, optional
        Overrides ``assignment.salt``; the default salt is the design name.
    registry : str or Path, optional
        Overrides the registry location (see :func:`resolve_registry`).
    keep_existing : bool, optional
        Overrides ``assignment.keep_existing``.
    assigned_at : date, optional
        Date written for newly assigned units (default: today, UTC).
    force : bool
        Overwrite an existing output.
    memory_limit : str or None
        DuckDB memory limit for the run (it spills to a temporary folder beyond it).

    Returns
    -------
    AssignmentResult

    Raises
    ------
    DesignError, DataError, OutputExistsError
        Bad design, bad population, or an existing output without ``force``; nothing is written then.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from experiments.spec.models import parse_design
    >>> d = parse_design({"name": "demo", "data": {"source": "o.parquet"}, "control": "c",
    ...                   "arms": {"c": {"weight": 0.5}, "t": {"weight": 0.5}},
    ...                   "metrics": [{"name": "m", "column": "y", "kind": "binary"}],
    ...                   "population": {"source": "p.parquet", "unit": "id"}, "strata": ["region"]})
    >>> pop = pd.DataFrame({"id": range(10), "region": ["n"] * 6 + ["s"] * 4})
    >>> r = assign(d, out=Path(tempfile.mkdtemp()) / "a.parquet", population=pop)
    >>> r.counts, r.max_stratum_deviation
    ({'c': 5, 't': 5}, 0.0)
    """
    out = Path(out)
    # one assignment at a time per registry: from the first read of it (exclusions, kept units) to the commit
    with RegistryLock(resolve_registry(design, out, registry)):
        return _assign(design, out=out, population=population, salt=salt, registry=registry,
                       keep_existing=keep_existing, assigned_at=assigned_at, force=force, memory_limit=memory_limit)


def _assign(design: Any, *, out: Path, population: Any, salt: str | None, registry: str | Path | None,
            keep_existing: bool | None, assigned_at: date | None, force: bool,
            memory_limit: str | None) -> AssignmentResult:
    """:func:`assign` under the registry's lock."""
    import pandas as pd

    from experiments.analysis.stats import srm_test
    from experiments.data.engine import open_table

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise DesignError(f"--out {str(out)!r}: use a .parquet or .csv file name")
    if out.exists() and not force:
        raise OutputExistsError(f"output {str(out)!r} already exists; pass --force to overwrite it or choose "
                                "another --out")
    spec = design.population
    if population is None and spec is None:
        raise DesignError(f"{design.path or 'design'}: no population section; add population: {{source: ..., "
                          "unit: subscriber_id}} or pass --population")
    source = population if population is not None else spec.source
    base = design.path.parent if design.path else None
    unit = spec.unit if spec is not None else "subscriber_id"
    label = f"population {source!r}" if isinstance(source, (str, Path)) else "population"
    table = open_table(source, base_dir=base)
    conditions = spec.eligibility if spec is not None else []
    engine_source = None
    if getattr(table.get_backend(), "name", "") != "duckdb":  # Spark, SQLite: filter there, hash in DuckDB
        _check_columns(table, design, unit, label)
        engine_source = table
        table = _engine_to_duckdb(table, design, unit, conditions, label)
        conditions = []
        target = engine_assignment_table(design, source)
        _refuse_existing_engine_table(engine_source, target, force)
    con = table.get_backend().con
    _check_columns(table, design, unit, label)
    eligible = table.filter(eligibility_filter(table, conditions, label)) if conditions else table
    strata = list(design.strata)
    covariates = list(spec.covariates) if spec is not None else []

    weights = {a: s.weight for a, s in design.arms.items()}
    salt = salt if salt is not None else (design.assignment.salt or design.name)
    keep = design.assignment.keep_existing if keep_existing is None else keep_existing
    method = design.assignment.method
    dhash = design_hash(design)
    reg_path = resolve_registry(design, out, registry)
    day = assigned_at or datetime.now(timezone.utc).date()
    run_id = uuid.uuid4().hex
    import ibis

    pop_sql = ibis.to_sql(eligible.select(list(dict.fromkeys([unit, *strata, *covariates]))), dialect="duckdb")

    settings_before = {k: con.execute(f"SELECT current_setting('{k}')").fetchone()[0]
                       for k in ("memory_limit", "temp_directory", "enable_progress_bar", "preserve_insertion_order")}
    if memory_limit:
        con.execute(f"SET memory_limit = {sql_str(memory_limit)}")
    check_spill = Path(tempfile.mkdtemp(prefix="retention-check-"))  # not beside the output: a refusal writes nothing
    con.execute(f"SET temp_directory = {sql_str(str(check_spill))}")
    try:
        _check_rows(eligible, unit, strata, label)
    except BaseException:
        _restore_settings(con, settings_before)
        raise
    finally:
        _rmtree(check_spill)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    con.execute(f"SET temp_directory = {sql_str(str(tmp_dir / 'spill'))}")
    con.execute("SET enable_progress_bar = false")  # the engine must not draw on the CLI's stdout
    con.execute("SET preserve_insertion_order = false")  # the output is sorted explicitly; saves memory
    tmp_out = tmp_dir / f"out{suffix}"
    stage = tmp_dir / "stage.duckdb"
    attached: list[str] = []
    try:
        have_reg = open_registry(con, reg_path, read_only=True)
        if have_reg:
            attached.append("reg")
        # ---------------------------------------------------------------- exclusions and kept units
        # the registry keeps integer ids as BIGINT (compact, fast) and any other id as text
        int_ids = table[unit].type().is_integer()
        unit_key = f"p.{sql_ident(unit)}" if int_ids else f"CAST(p.{sql_ident(unit)} AS VARCHAR)"
        reg_key = ("coalesce(unit_int, TRY_CAST(unit_str AS BIGINT))" if int_ids
                   else "coalesce(unit_str, CAST(unit_int AS VARCHAR))")
        reg_cols = "__unit, NULL" if int_ids else "NULL, CAST(__unit AS VARCHAR)"
        excl_sql = "FALSE"
        prev_join = ""
        prev_cols = "NULL::VARCHAR AS prev_arm, NULL::DATE AS prev_at"
        if have_reg:
            runs = con.execute("SELECT design_id, design, exclusive_with, arms FROM reg.runs "
                               "QUALIFY row_number() OVER (PARTITION BY design ORDER BY created_at DESC) = 1"
                               ).fetchall()
            ids = sorted({i for i, d, ex, _ in runs if d != design.name and (
                d in design.exclusive_with or design.name in json.loads(ex or "[]"))})
            if ids:
                excl_sql = (f"{unit_key} IN (SELECT {reg_key} FROM reg.assignments WHERE design_id IN "
                            f"({', '.join(str(i) for i in ids)}))")
            mine = [(i, json.loads(a)) for i, d, _, a in runs if d == design.name]
            if keep and mine:
                prev_arms = "[" + ", ".join(sql_str(a) for a in mine[0][1]) + "]"
                prev_join = (f"LEFT JOIN (SELECT {reg_key} AS k, {prev_arms}[arm] AS arm, assigned_at "
                             f"FROM reg.assignments WHERE design_id = {int(mine[0][0])}) prev ON prev.k = {unit_key}")
                prev_cols = "prev.arm AS prev_arm, prev.assigned_at AS prev_at"
        con.execute(f"ATTACH {sql_str(str(stage))} AS stage")
        attached.append("stage")
        cov_cols = [c for c in dict.fromkeys(covariates) if c != unit]
        covs = "".join(f", p.{sql_ident(c)}" for c in cov_cols)
        covs_r = "".join(f", r.{sql_ident(c)}" for c in cov_cols)
        # strata are keyed inside the run by DuckDB's 64-bit hash() of their values (cheaper to partition and join
        # than text labels); the labels are built once per stratum in Python and joined back for the output
        sk = "hash(" + ", ".join(f"p.{sql_ident(c)}" for c in strata) + ")" if strata else "0::UBIGINT"
        raw = "".join(f", CAST(p.{sql_ident(c)} AS VARCHAR) AS __s{i}" for i, c in enumerate(strata))
        def base(extra: str) -> str:
            return (f"SELECT p.{sql_ident(unit)} AS __unit, {sk} AS __sk, {prev_cols}, "
                    f"({excl_sql}) AS __excluded {covs} {extra} FROM ({pop_sql}) p {prev_join}")

        # counts per stratum (and kept arm) first: no hashing, one cheap aggregate
        raw_cols = "".join(f", __s{i}" for i in range(len(strata)))
        counted = con.execute(f"SELECT __sk, prev_arm, __excluded, count(*) {raw_cols} "
                              f"FROM ({base(raw)}) GROUP BY ALL").fetchall()
        base_sql = base("")
        labels: dict[int, str] = {}
        for row in counted:
            lab = "|".join(f"{c}={v}" for c, v in zip(strata, row[4:], strict=True)) if strata else ALL_STRATA
            if labels.setdefault(int(row[0]), lab) != lab:
                raise RuntimeError(f"strata {labels[int(row[0])]!r} and {lab!r} share a 64-bit key; rename a level")
        excluded = sum(int(r[3]) for r in counted if r[2])
        counts = [(labels[int(r[0])], r[1], r[3]) for r in counted if not r[2]]
        sk_of = {lab: k for k, lab in labels.items()}
        hashed = (f"(SELECT *, {hash_sql(salt, '__unit')} AS __h FROM ({base_sql}) WHERE NOT __excluded)")
        if not counts:
            raise DataError(f"{label}: no eligible units left (after {len(conditions)} eligibility conditions and "
                            f"{excluded} units held by exclusive designs); check population.eligibility")
        arms = list(weights)
        sizes: dict[str, int] = {}
        kept_by: dict[str, dict[str, int]] = {}
        for s, prev, k in counts:
            sizes[s] = sizes.get(s, 0) + int(k)
            if prev is not None:
                if prev not in weights:
                    raise DataError(f"registry {str(reg_path)!r}: unit(s) of stratum {s!r} kept arm {prev!r}, which "
                                    f"the design no longer has (arms {arms}); rerun without keep_existing")
                kept_by.setdefault(s, {})[prev] = int(k)
        kept = sum(sum(v.values()) for v in kept_by.values())
        # ---------------------------------------------------------------- arm by position
        # inside the run, strata are small integers (1-based positions in `order`) and arms too (positions in
        # `arms`): compact rows to sort and store; the labels come back as list lookups when writing
        order = sorted(sizes)
        sid = {lab: i + 1 for i, lab in enumerate(order)}
        rows = []
        for s in order:
            q = fill_quotas(sizes[s], kept_by.get(s, {}), weights, f"{salt}|{s}") if method == "stratified" else \
                {a: 0 for a in arms}
            cum = np.cumsum([q[a] for a in arms])
            rows.append({"__sk": sk_of[s], "__sid": sid[s], **{f"__b{i}": int(c) for i, c in enumerate(cum)}})
        con.register("__bounds", pd.DataFrame(rows).astype({"__sk": "uint64", "__sid": "int32"}))
        prev_idx = "CASE r.prev_arm " + " ".join(f"WHEN {sql_str(a)} THEN {i + 1}" for i, a in enumerate(arms)) + \
            " END"
        if method == "stratified":
            case = "CASE " + " ".join(f"WHEN __pos < b.__b{i} THEN {i + 1}" for i in range(len(arms) - 1))
            ranked = ("(SELECT *, row_number() OVER (PARTITION BY __sk, prev_arm IS NULL ORDER BY __h, __unit) - 1 "
                      f"AS __pos FROM {hashed}) r JOIN __bounds b USING (__sk)")
        else:
            cum = np.cumsum([weights[a] for a in arms]) / sum(weights.values())
            cuts = [int(min(c, 1.0) * 2.0**HASH_BITS) for c in cum[:-1]]
            case = "CASE " + " ".join(f"WHEN r.__h < {c}::UBIGINT THEN {i + 1}" for i, c in enumerate(cuts))
            ranked = f"{hashed} r JOIN __bounds b USING (__sk)"
        case += f" ELSE {len(arms)} END"
        con.execute(f"""
            CREATE TABLE stage.assigned AS
            SELECT r.__unit, b.__sid, CAST(coalesce({prev_idx}, {case}) AS UTINYINT) AS __arm,
                   coalesce(r.prev_at, DATE {sql_str(day.isoformat())}) AS __at {covs_r}
            FROM {ranked}
        """)
        arm_list = "[" + ", ".join(sql_str(a) for a in arms) + "]"
        label_list = "[" + ", ".join(sql_str(lab) for lab in order) + "]"
        # ---------------------------------------------------------------- output (temporary file)
        fmt = "(FORMAT parquet)" if suffix == ".parquet" else "(FORMAT csv, HEADER true)"
        # sort the compact rows first, then turn codes into text (sorting text payloads is several times slower);
        # insertion order is preserved for this statement so that the file comes out sorted by unit
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"""
            COPY (SELECT __unit AS {sql_ident(unit)}, {arm_list}[__arm] AS arm, {label_list}[__sid] AS stratum,
                         __at AS assigned_at, {sql_str(dhash)} AS design_hash, {sql_str(salt)} AS salt
                  FROM (SELECT __unit, __arm, __sid, __at FROM stage.assigned ORDER BY __unit))
            TO {sql_str(str(tmp_out))} {fmt}
        """)
        con.execute("SET preserve_insertion_order = false")
        # ---------------------------------------------------------------- balance
        cells = con.execute("SELECT __sid, __arm, count(*) FROM stage.assigned GROUP BY ALL").fetchall()
        strata_df = pd.DataFrame([(order[k - 1], arms[a - 1], n) for k, a, n in cells],
                                 columns=["stratum", "arm", "n"])
        full = pd.MultiIndex.from_product([list(sizes), arms], names=["stratum", "arm"])
        strata_df = strata_df.set_index(["stratum", "arm"]).reindex(full, fill_value=0).reset_index()
        tot_w = sum(weights.values())
        strata_df["target"] = [sizes[s] * weights[a] / tot_w for s, a in zip(strata_df["stratum"], strata_df["arm"],
                                                                             strict=True)]
        arm_counts = strata_df.groupby("arm", sort=False)["n"].sum().astype(int).to_dict()
        srm = srm_test(arm_counts, weights)
        balance = smd_table(_covariate_stats(con, covariates, table, arms), design.control)
        # ---------------------------------------------------------------- registry, then rename
        if "reg" in attached:
            con.execute("DETACH reg")
            attached.remove("reg")
        open_registry(con, reg_path, read_only=False)
        attached.append("reg")
        con.execute("BEGIN TRANSACTION")
        try:
            found = con.execute("SELECT design_id FROM reg.designs WHERE design = ?", [design.name]).fetchone()
            if found is None:
                found = con.execute("SELECT coalesce(max(design_id), 0) + 1 FROM reg.designs").fetchone()
                con.execute("INSERT INTO reg.designs VALUES (?, ?)", [found[0], design.name])
            design_id = int(found[0])
            con.execute("DELETE FROM reg.assignments WHERE design_id = ?", [design_id])
            con.execute(f"INSERT INTO reg.assignments SELECT {design_id}, {reg_cols}, __arm, __at FROM stage.assigned")
            units = int(sum(arm_counts.values()))
            con.execute("INSERT INTO reg.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [run_id, design_id, design.name, dhash, salt, method, str(out.resolve()), units,
                         json.dumps(arms), json.dumps(list(design.exclusive_with)), bool(keep),
                         datetime.now(timezone.utc).replace(tzinfo=None)])
            if out.exists() and not force:  # someone else wrote it meanwhile
                raise OutputExistsError(f"output {str(out)!r} already exists; pass --force to overwrite it")
            out.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_out, out)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        for db in attached:
            with contextlib.suppress(Exception):
                con.execute(f"DETACH {db}")
        for view in ("__bounds",):
            with contextlib.suppress(Exception):
                con.unregister(view)
        _restore_settings(con, settings_before)
        _rmtree(tmp_dir)
    written = None
    if engine_source is not None:  # the population lives in an engine: the assignment goes back there as a table
        from experiments.data.engines import write_engine_table

        written = write_engine_table(engine_source, _read_output(out), target, force=force)
    return AssignmentResult(design.name, dhash, salt, method, units, {a: int(arm_counts.get(a, 0)) for a in arms},
                            strata_df, balance, srm.p_value, excluded, kept, out, reg_path, run_id, design.control,
                            engine_table=written)


def engine_assignment_table(design: Any, source: Any) -> str:
    """Name of the engine table an assignment is written to: ``assignment.table``, else ``<db>.<name>_assignment``.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> engine_assignment_table(NS(name="flow-pack", assignment=NS(table=None)), "spark://local[2]/crm.population")
    'crm.flow_pack_assignment'
    """
    chosen = getattr(design.assignment, "table", None)
    if chosen:
        return chosen
    text = str(source)
    table = text.split("?", 1)[0].rsplit("/", 1)[-1] if "://" in text else ""
    db = table.rpartition(".")[0] if table else ""
    name = re.sub(r"\W", "_", design.name).strip("_") + "_assignment"
    return f"{db}.{name}" if db else name


def _refuse_existing_engine_table(table: Any, name: str, force: bool) -> None:
    from experiments.data.engines import split_table

    backend = table.get_backend()
    db, short = split_table(name)
    if getattr(backend, "name", "") == "pyspark":
        exists = backend._session.catalog.tableExists(name)
    else:
        exists = short in (backend.list_tables(database=db) if db else backend.list_tables())
    if exists and not force:
        raise OutputExistsError(f"engine table {name!r} already exists; pass --force to replace it or set "
                                "assignment.table to another name")


def _engine_to_duckdb(table: ir.Table, design: Any, unit: str, conditions: Sequence[Any], label: str) -> ir.Table:
    """The eligible units of an engine table, with only the columns assignment needs, streamed into DuckDB.

    Eligibility runs in the engine; the ids, strata and covariates come over as Arrow batches (one pass, bounded
    memory on the Python side) into an in-memory DuckDB table, where they are hashed exactly as a file is.
    """
    import ibis

    eligible = table.filter(eligibility_filter(table, conditions, label)) if conditions else table
    covs = list(design.population.covariates) if design.population is not None else []
    cols = list(dict.fromkeys([unit, *design.strata, *covs]))
    reader = eligible.select(cols).to_pyarrow_batches()
    duck = ibis.duckdb.connect()
    duck.raw_sql("SET enable_progress_bar = false")
    duck.con.register("__population_stream", reader)
    duck.con.execute("CREATE TABLE __population AS SELECT * FROM __population_stream")
    duck.con.unregister("__population_stream")
    return duck.table("__population")


def _read_output(out: Path) -> Any:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    return pq.read_table(out) if out.suffix.lower() == ".parquet" else pcsv.read_csv(out)


def _covariate_stats(con: Any, covariates: Sequence[str], table: ir.Table, arms: Sequence[str]) -> pd.DataFrame:
    """Per arm n, Σx, Σx² of each numeric covariate and each level of each categorical one (one query each)."""
    import pandas as pd

    frames = []
    for c in covariates:
        dtype = table[c].type()
        q = sql_ident(c)
        if dtype.is_numeric() or dtype.is_boolean():
            df = con.execute(f"SELECT __arm AS arm, count({q}) AS n, sum(CAST({q} AS DOUBLE)) AS sum, "
                             f"sum(CAST({q} AS DOUBLE) ^ 2) AS sum_sq FROM stage.assigned GROUP BY __arm").df()
            df.insert(0, "level", None)
        else:
            df = con.execute(f"""
                SELECT l.level, a.__arm AS arm, a.n, coalesce(k.k, 0) AS sum, coalesce(k.k, 0) AS sum_sq
                FROM (SELECT DISTINCT CAST({q} AS VARCHAR) AS level FROM stage.assigned) l
                CROSS JOIN (SELECT __arm, count(*) AS n FROM stage.assigned GROUP BY __arm) a
                LEFT JOIN (SELECT CAST({q} AS VARCHAR) AS level, __arm, count(*) AS k FROM stage.assigned
                           GROUP BY ALL) k ON k.level IS NOT DISTINCT FROM l.level AND k.__arm = a.__arm
                ORDER BY l.level
            """).df()
        df["arm"] = [arms[int(a) - 1] for a in df["arm"]]
        df.insert(0, "covariate", c)
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=["covariate", "level", "arm", "n", "sum", "sum_sq"])
    return pd.concat(frames, ignore_index=True)


def _restore_settings(con: Any, settings: dict[str, Any]) -> None:
    """Leave the caller's connection as it was."""
    for k, v in settings.items():
        with contextlib.suppress(Exception):
            con.execute(f"SET {k} = {sql_str(str(v).lower()) if isinstance(v, bool) else sql_str(str(v))}")


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)

"""The assignment registry: a DuckDB file of every design's runs and the arm each unit holds.

Tables ``designs``, ``runs`` and ``assignments`` (integer ids kept as BIGINT, others as text); a new run of a design
replaces its rows. :func:`experiments.planning.assignment.assign` writes it; the functions here read it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments.errors import DataError, close_matches
from experiments.planning.allocation import sql_str

if TYPE_CHECKING:
    import pandas as pd

REGISTRY_NAME = "assignment_registry.duckdb"


def resolve_registry(design: Any, out: Path, registry: str | Path | None = None) -> Path:
    """The registry file: explicit argument, else ``assignment.registry`` of the design, else beside the output."""
    if registry is not None:
        return Path(registry)
    if design.assignment.registry:
        return Path(design.resolve(design.assignment.registry))
    return out.parent / REGISTRY_NAME


# Rows of `assignments` are compact (10M rows insert in about a second): the design as an integer id (`designs`), the
# unit as BIGINT when ids are integers (text otherwise), the arm as its 1-based position in the run's `arms` list.
_REGISTRY_DDL = """
CREATE TABLE IF NOT EXISTS {db}.designs (design_id INTEGER, design VARCHAR);
CREATE TABLE IF NOT EXISTS {db}.runs (
    run_id VARCHAR, design_id INTEGER, design VARCHAR, design_hash VARCHAR, salt VARCHAR, method VARCHAR,
    output VARCHAR, units BIGINT, arms VARCHAR, exclusive_with VARCHAR, keep_existing BOOLEAN, created_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS {db}.assignments (
    design_id INTEGER, unit_int BIGINT, unit_str VARCHAR, arm UTINYINT, assigned_at DATE);
"""


def open_registry(con: Any, path: Path, read_only: bool) -> bool:
    """Attach the registry as ``reg``; return False when it does not exist and ``read_only``."""
    if read_only and not path.exists():
        return False
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    mode = " (READ_ONLY)" if read_only else ""
    try:
        con.execute(f"ATTACH {sql_str(str(path))} AS reg{mode}")
    except duckdb.Error as exc:  # locked by another writer, or not a DuckDB file
        raise DataError(f"assignment registry {str(path)!r} cannot be opened ({str(exc).splitlines()[0]}); if "
                        "another assignment is running, wait for it and retry, else pass --registry with a DuckDB "
                        "file") from None
    if not read_only:
        con.execute(_REGISTRY_DDL.format(db="reg"))
    return True


def registered_designs(registry: str | Path) -> pd.DataFrame:
    """Latest run of each design in a registry: ``design, run_id, design_hash, salt, units, created_at``."""
    import duckdb

    con = duckdb.connect()
    try:
        if not open_registry(con, Path(registry), read_only=True):
            raise DataError(f"assignment registry {str(registry)!r} does not exist; run `retention assign` first")
        return con.execute("SELECT design, run_id, design_hash, salt, units, created_at FROM reg.runs "
                           "QUALIFY row_number() OVER (PARTITION BY design ORDER BY created_at DESC) = 1 "
                           "ORDER BY design").df()
    finally:
        con.close()


def registry_assignments(registry: str | Path, design: str) -> pd.DataFrame:
    """The units a design holds in a registry, as text: ``unit, arm, assigned_at``."""
    import duckdb

    con = duckdb.connect()
    try:
        if not open_registry(con, Path(registry), read_only=True):
            raise DataError(f"assignment registry {str(registry)!r} does not exist; run `retention assign` first")
        run = con.execute("SELECT design_id, arms FROM reg.runs WHERE design = ? ORDER BY created_at DESC LIMIT 1",
                          [design]).fetchone()
        if run is None:
            names = [r[0] for r in con.execute("SELECT DISTINCT design FROM reg.runs").fetchall()]
            raise DataError(f"registry {str(registry)!r} has no design {design!r}{close_matches(design, names)}")
        arms = "[" + ", ".join(sql_str(a) for a in json.loads(run[1])) + "]"
        return con.execute(f"SELECT coalesce(unit_str, CAST(unit_int AS VARCHAR)) AS unit, {arms}[arm] AS arm, "
                           f"assigned_at FROM reg.assignments WHERE design_id = {int(run[0])} ORDER BY unit").df()
    finally:
        con.close()

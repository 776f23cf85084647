"""The assignment registry: a DuckDB file of every design's runs and the arm each unit holds.

Tables ``designs``, ``runs`` and ``assignments`` (integer ids kept as BIGINT, others as text); a new run of a design
replaces its rows. :func:`experiments.planning.assignment.assign` writes it; the functions here read it.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
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


class RegistryLock:
    """An exclusive OS lock (``flock``) on ``<registry>.lock``, held by one ``assign`` run from its first read of the
    registry to its commit.

    A second run against the same registry fails at once with :class:`DataError` naming the holder's pid, instead of
    computing exclusions from a registry that is about to change. The lock file is removed on release; the kernel
    drops the lock itself when a process dies (even by SIGKILL), so a leftover file never blocks the next run.
    """

    def __init__(self, registry: Path) -> None:
        self.path = registry.with_name(registry.name + ".lock")
        self._fd: int | None = None
        self._made: list[Path] = []

    def acquire(self) -> RegistryLock:
        import fcntl

        p = self.path.parent
        while not p.exists() and p != p.parent:  # folders made for the lock go again on release, if still empty
            self._made.append(p)
            p = p.parent
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                os.close(fd)
                registry = str(self.path)[: -len(".lock")]
                raise DataError(f"assignment registry {registry!r} is in use by another `retention assign` "
                                f"({holder}); wait for it to finish and run this assignment again") from None
            try:  # the holder may have removed the file between our open and our lock: lock the current file
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.pwrite(fd, f"pid {os.getpid()}, since {stamp}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still holding the lock: nobody can have locked this file
        finally:
            os.close(self._fd)
            self._fd = None
            for folder in self._made:
                try:
                    folder.rmdir()
                except OSError:  # the run wrote its outputs there
                    break

    def __enter__(self) -> RegistryLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


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

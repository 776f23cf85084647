"""Engines beyond DuckDB: a Spark catalogue table or an SQLite table, named by a URL or a design's ``engine:`` block.

Sources a design file or ``--data`` can name, besides files and ``duckdb:///path.db?table=name``:

- ``spark://MASTER/db.table`` — a table of the Spark catalogue. ``MASTER`` is ``local``, ``local[N]``, ``yarn``,
  ``k8s`` or a standalone master ``host:port`` (read as ``spark://host:port``); ``spark:///db.table`` (empty master)
  leaves the master to the environment, as ``spark-submit`` would: ``SPARK_REMOTE`` (Spark Connect),
  ``PYSPARK_SUBMIT_ARGS`` (``--master ...``), ``$SPARK_HOME/conf/spark-defaults.conf``, else ``local[*]``.
  Query parameters starting with ``spark.`` are session settings (``?spark.sql.shuffle.partitions=8``).
- ``sqlite:///path/to.db?table=name`` — a table of an SQLite file (Ibis's SQLite backend, no service needed).
- A design's ``engine:`` block (:class:`experiments.spec.models.EngineSpec`): ``kind: spark``, ``master``,
  ``conf: {...}``, ``table: db.name``; the design's sources then name tables of that engine.

Only aggregates come back from these engines; the rows stay where they are (``assign`` streams the eligible units'
ids and strata to DuckDB to hash them, see :func:`experiments.planning.assign`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from experiments.errors import DataError, close_matches

#: URL schemes a source may use (``duckdb`` is read by DuckDB directly, the others through Ibis).
SUPPORTED_SCHEMES = ("duckdb", "spark", "sqlite")
#: Spark 4 runs on Java 17 or newer.
JAVA_MIN = 17
SPARK_EXTRA = "pip install 'telecom-retention[spark]'"


@dataclass(frozen=True, slots=True)
class EngineTable:
    """A table of an engine other than DuckDB files, once its URL or ``engine:`` block is parsed.

    Attributes
    ----------
    kind : {"spark", "sqlite"}
        The engine.
    table : str
        ``db.name`` (Spark catalogue; ``name`` alone means the current database) or an SQLite table.
    master : str or None
        Spark master (``local[2]``, ``yarn``, ``spark://host:7077``); None leaves it to the environment.
    conf : dict
        Spark session settings.
    path : Path or None
        The SQLite database file.
    """

    kind: str
    table: str
    master: str | None = None
    conf: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    def __str__(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite://{self.path}?table={self.table}"
        master = self.master or ""
        return f"spark://{master.removeprefix('spark://')}/{self.table}"


def unsupported_scheme(text: str) -> DataError:
    """The error of a ``scheme://`` source whose scheme is not one of :data:`SUPPORTED_SCHEMES`."""
    scheme = text.split("://", 1)[0]
    return DataError(f"source {text!r}: URL scheme {scheme + '://'!r} is not supported; supported schemes are "
                     + ", ".join(f"{s}://" for s in SUPPORTED_SCHEMES)
                     + " (e.g. spark://local[2]/db.table, sqlite:///path.db?table=t, duckdb:///path.db?table=t), "
                     "or a .parquet/.csv path")


def parse_engine_url(text: str, *, base_dir: str | Path | None = None) -> EngineTable:
    """Parse a ``spark://`` or ``sqlite://`` source.

    Examples
    --------
    >>> parse_engine_url("spark://local[2]/sales.outcomes")
    EngineTable(kind='spark', table='sales.outcomes', master='local[2]', conf={}, path=None)
    >>> parse_engine_url("spark://10.0.0.5:7077/outcomes?spark.sql.shuffle.partitions=8").master
    'spark://10.0.0.5:7077'
    >>> parse_engine_url("spark:///outcomes").master is None
    True
    """
    scheme, _, rest = text.partition("://")
    rest, _, query = rest.partition("?")
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if scheme == "sqlite":
        table = params.get("table")
        if not table:
            raise DataError(f"source {text!r}: name the table, e.g. sqlite:///path/to.db?table=outcomes")
        path = Path(unquote(rest)).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.is_file():
            raise DataError(f"SQLite database {str(path)!r} does not exist; check the source URL")
        return EngineTable("sqlite", table, path=path)
    if scheme != "spark":
        raise unsupported_scheme(text)
    master, _, table = rest.partition("/")
    table = unquote(table).strip("/")
    if not table:
        raise DataError(f"source {text!r}: name the catalogue table, e.g. spark://local[2]/db.outcomes "
                        "or spark:///db.outcomes (master from the environment)")
    if master and not re.fullmatch(r"local(\[[0-9*]+(,[0-9]+)?\])?|yarn|k8s://.*", master):
        master = master if master.startswith("spark://") else f"spark://{master}"
    conf = {k: v for k, v in params.items() if k.startswith("spark.")}
    unknown = sorted(set(params) - set(conf))
    if unknown:
        raise DataError(f"source {text!r}: unknown parameter {unknown[0]!r}; only spark.* session settings are "
                        "allowed in a spark:// URL")
    return EngineTable("spark", table, master=master or None, conf=conf)


def java_major(java: str) -> int | None:
    """The major version ``java -version`` reports (``1.8`` is 8), or None when it cannot be run."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if m is None:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def check_java() -> None:
    """Raise :class:`DataError` unless a Java ``JAVA_MIN``+ is on ``JAVA_HOME`` or ``PATH`` (Spark's JVM needs it)."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home and (Path(home) / "bin" / "java").exists() else shutil.which("java")
    fix = "install it (e.g. apt-get install default-jre-headless) and put it on PATH or set JAVA_HOME"
    if java is None:
        raise DataError(f"Spark needs Java {JAVA_MIN} or newer and no java was found on JAVA_HOME or PATH; {fix}")
    major = java_major(java)
    if major is None or major < JAVA_MIN:
        raise DataError(f"Spark needs Java {JAVA_MIN} or newer; {java} is "
                        f"{'not runnable' if major is None else f'Java {major}'}; {fix}")


def _import_pyspark() -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise DataError(f"a spark source needs the Spark extra, which is not installed ({exc.name or 'pyspark'} is "
                        f"missing); install it with {SPARK_EXTRA}") from None
    try:
        import ibis.backends.pyspark  # noqa: F401
    except ImportError as exc:
        raise DataError(f"a spark source needs the Spark extra, which is not installed ({exc.name} is missing); "
                        f"install it with {SPARK_EXTRA}") from None
    return SparkSession


def spark_session(master: str | None = None, conf: dict[str, str] | None = None) -> Any:
    """The Spark session a source runs on: the active one if there is one, else one built as users expect.

    With ``SPARK_REMOTE`` set and no master given, a Spark Connect session (``SparkSession.builder.remote``; no
    local Java). Otherwise the classic builder: ``master`` if given, else what ``PYSPARK_SUBMIT_ARGS`` and
    ``$SPARK_HOME/conf/spark-defaults.conf`` say (pyspark's launcher reads both), else ``local[*]``. The UI is off
    and the progress bar too (the CLI owns the terminal) unless ``conf`` says otherwise.
    """
    SparkSession = _import_pyspark()
    conf = dict(conf or {})
    active = SparkSession.getActiveSession()
    remote = os.environ.get("SPARK_REMOTE")
    if not (remote and master is None and active is None):
        check_java()  # also with a session running: the message must not depend on what ran before
    builder = SparkSession.builder
    if active is None and remote and master is None:
        builder = builder.remote(remote)
    else:
        if master is not None:
            builder = builder.master(master)
        elif active is None and "--master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", "") \
                and not _defaults_set_master():
            builder = builder.master("local[*]")
        conf.setdefault("spark.ui.enabled", "false")
        conf.setdefault("spark.ui.showConsoleProgress", "false")
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        spark = builder.appName("retention").getOrCreate()
    except Exception as exc:  # the JVM's own first line says why (bad master, no memory ...)
        raise DataError(f"cannot start Spark (master {master or 'from the environment'}): "
                        f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from None
    if active is None and remote is None:
        spark.sparkContext.setLogLevel("ERROR")
    return spark


def _defaults_set_master() -> bool:
    home = os.environ.get("SPARK_HOME")
    defaults = Path(home) / "conf" / "spark-defaults.conf" if home else None
    if defaults is None or not defaults.is_file():
        return False
    return any(line.split()[:1] == ["spark.master"] for line in defaults.read_text(encoding="utf-8").splitlines())


def split_table(name: str) -> tuple[str | None, str]:
    """``db.table`` → ``("db", "table")``; ``table`` → ``(None, "table")``."""
    db, _, table = name.rpartition(".")
    return (db or None), table


def open_spark_table(where: EngineTable) -> Any:
    """The Spark catalogue table ``where.table`` as an Ibis table; a missing table names the close matches."""
    import ibis

    spark = spark_session(where.master, where.conf)
    con = ibis.pyspark.connect(spark)
    db, name = split_table(where.table)
    catalog = spark.catalog
    catalogue = f"Spark catalogue {catalog.currentCatalog()!r}"
    if db is not None and not catalog.databaseExists(db):
        dbs = [d.name for d in catalog.listDatabases()]
        raise DataError(f"{catalogue} has no database {db!r} (source {where}){close_matches(db, dbs)}; "
                        f"databases are: {', '.join(dbs)}")
    if not catalog.tableExists(where.table):
        tables = [t.name if db is None or t.isTemporary else f"{db}.{t.name}" for t in catalog.listTables(db)]
        raise DataError(f"{catalogue} has no table {where.table!r} in database "
                        f"{db or catalog.currentDatabase()!r}{close_matches(where.table, tables)}; "
                        f"tables are: {', '.join(tables[:20]) or 'none'}")
    return con.table(name, database=db) if db is not None else con.table(name)


def open_sqlite_table(where: EngineTable) -> Any:
    """The table of an SQLite file as an Ibis table; a missing table names the close matches."""
    import ibis

    con = ibis.sqlite.connect(str(where.path))
    tables = con.list_tables()
    if where.table not in tables:
        raise DataError(f"SQLite database {str(where.path)!r} has no table {where.table!r}"
                        f"{close_matches(where.table, tables)}; tables are: {', '.join(tables[:20]) or 'none'}")
    return con.table(where.table)


def open_engine_table(where: EngineTable) -> Any:
    """Open an :class:`EngineTable` as an Ibis table on its engine."""
    return open_sqlite_table(where) if where.kind == "sqlite" else open_spark_table(where)


def write_engine_table(table: Any, frame: Any, name: str, *, force: bool = False) -> str:
    """Write ``frame`` (a pyarrow Table or pandas DataFrame) as table ``name`` of ``table``'s backend.

    Refuses to replace an existing table unless ``force``. Returns the name written. On Spark the table is saved
    in the catalogue (``saveAsTable``, Parquet in the warehouse).
    """
    from experiments.errors import OutputExistsError

    backend = table.get_backend()
    db, short = split_table(name)
    if getattr(backend, "name", "") == "pyspark":
        spark = backend._session
        if spark.catalog.tableExists(name) and not force:
            raise OutputExistsError(f"Spark table {name!r} already exists; pass --force to replace it or set "
                                    "assignment.table to another name")
        pdf = frame.to_pandas() if hasattr(frame, "to_pandas") else frame
        spark.createDataFrame(pdf).write.mode("overwrite").format("parquet").saveAsTable(name)
        return name
    if short in backend.list_tables(database=db) if db else short in backend.list_tables():
        if not force:
            raise OutputExistsError(f"table {name!r} already exists; pass --force to replace it")
    backend.create_table(short, frame, database=db, overwrite=True) if db else \
        backend.create_table(short, frame, overwrite=True)
    return name

"""Design files: typed, validated on load, before any data is read.

A design is YAML read with a safe loader into pydantic models that forbid unknown keys. Paths inside a design are
relative to the design file. :func:`load_design` dispatches on the top-level ``kind`` through :data:`DESIGN_KINDS`,
a registry of model classes (``experiment`` by default).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from experiments.errors import DesignError
from experiments.spec.literals import (
    AssignMethod,
    ConditionOp,
    Correction,
    Direction,
    MetricKind,
    MetricRole,
    PowerMethod,
    UpliftLearner,
)

WEIGHT_TOLERANCE = 1e-6  # weights written with a few decimals must still sum to 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cost(_Model):
    """What an offer costs: paid for every subscriber offered, and/or for every acceptance."""

    per_offer: float = Field(0.0, ge=0)
    per_acceptance: float = Field(0.0, ge=0)


class ArmSpec(_Model):
    """One arm of the experiment: its share of the assignment and its cost."""

    weight: float = Field(gt=0, le=1)
    cost: Cost = Cost()


class EngineSpec(_Model):
    """The engine a design's tables live in (``engine:``): today a Spark session and catalogue.

    With an ``engine`` block every source of the design that is not a URL (``data.source``,
    ``population.source``) names a table of that engine, and ``data.source`` defaults to ``table``. Each is turned
    into a ``spark://MASTER/db.table?spark.key=value`` URL when the design is read (:func:`engine_url`); an empty
    ``master`` leaves it to the environment (``SPARK_REMOTE``, ``PYSPARK_SUBMIT_ARGS``, ``$SPARK_HOME``'s
    ``spark-defaults.conf``).
    """

    kind: Literal["spark"] = "spark"
    master: str | None = None
    conf: dict[str, str | int | float | bool] = {}
    table: str | None = None

    @field_validator("conf")
    @classmethod
    def _spark_keys(cls, conf: dict[str, Any]) -> dict[str, Any]:
        bad = [k for k in conf if not k.startswith("spark.")]
        if bad:
            raise ValueError(f"conf key {bad[0]!r} is not a Spark setting; keys start with 'spark.' "
                             "(e.g. spark.sql.shuffle.partitions)")
        return conf


def engine_url(engine: dict[str, Any] | EngineSpec, table: str) -> str:
    """The ``spark://`` URL of ``table`` in ``engine``.

    Examples
    --------
    >>> engine_url({"kind": "spark", "master": "local[2]", "conf": {"spark.sql.shuffle.partitions": 4}}, "db.t")
    'spark://local[2]/db.t?spark.sql.shuffle.partitions=4'
    >>> engine_url({"kind": "spark"}, "t")
    'spark:///t'
    """
    from urllib.parse import quote, urlencode

    spec = engine if isinstance(engine, EngineSpec) else EngineSpec.model_validate(engine)
    master = (spec.master or "").removeprefix("spark://")
    conf = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in spec.conf.items()}
    return f"spark://{master}/{quote(table, safe='.')}" + (f"?{urlencode(conf)}" if conf else "")


def _engine_sources(raw: Any) -> Any:
    """Before validation: with an ``engine`` block, sources that are not URLs become that engine's table URLs."""
    if not isinstance(raw, dict) or not isinstance(raw.get("engine"), dict):
        return raw
    try:
        engine = EngineSpec.model_validate(raw["engine"])
    except ValidationError:
        return raw  # the model's own validation reports it as engine.<key>
    raw = dict(raw)
    for section in ("data", "population"):
        part = raw.get(section)
        if not isinstance(part, dict):
            continue
        part = dict(part)
        src = part.get("source", engine.table if section == "data" else None)
        if src is None and section == "data":
            raise ValueError("data.source is missing and engine.table is not given; name the table in "
                             "engine.table (e.g. table: db.outcomes)")
        if isinstance(src, str) and "://" not in src:
            part["source"] = engine_url(engine, src)
        raw[section] = part
    return raw


class DataSpec(_Model):
    """Where the outcomes are and which columns play which part."""

    source: str
    unit: str | None = None
    arm: str = "arm"
    assigned_at: str | None = None
    as_of: date | None = None
    acceptance: str | None = None
    stratum: str | None = None
    duration: str | None = None
    event: str | None = None
    time_unit: Literal["days", "months"] = "days"


class NonInferiority(_Model):
    """A guardrail's margin: the worst change still acceptable (negative for an ``increase`` metric)."""

    margin: float
    relative: bool = False


class Metric(_Model):
    """One outcome metric and its role in the decision."""

    name: str
    column: str
    kind: MetricKind
    direction: Direction = "increase"
    role: MetricRole = "primary"
    maturity_days: int | None = Field(None, ge=0)
    covariate: str | None = None
    non_inferiority: NonInferiority | None = None

    @model_validator(mode="after")
    def _guardrail_needs_margin(self) -> Metric:
        if self.role == "guardrail" and self.non_inferiority is None:
            raise ValueError(
                f"metric {self.name!r} is a guardrail but has no non_inferiority margin; "
                "add non_inferiority: {margin: -0.02, relative: true} or make it a secondary metric"
            )
        if self.role != "guardrail" and self.non_inferiority is not None:
            raise ValueError(f"metric {self.name!r} has a non_inferiority margin but role {self.role!r}; "
                             "margins apply to guardrails only")
        return self


class Analysis(_Model):
    """Error rates and the multiple-comparison correction."""

    alpha: float = Field(0.05, gt=0, lt=0.5)
    correction: Correction = "holm"
    srm_alpha: float = Field(0.001, gt=0, lt=0.5)


class ValueSpec(_Model):
    """What a retained subscriber is worth: a margin per month (number or column), a horizon and a discount rate."""

    margin: float | str
    horizon_months: int = Field(24, gt=0, le=240)
    annual_discount_rate: float = Field(0.08, ge=0, lt=1)
    retention_value: float | str | None = None


class Condition(_Model):
    """One eligibility filter, structured (never a string of code): ``{column: plan, op: in, value: [a, b]}``."""

    column: str
    op: ConditionOp
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        where = f"eligibility condition on {self.column!r} with op {self.op!r}"
        if self.op in ("is_null", "not_null"):
            if self.value is not None:
                raise ValueError(f"{where} takes no value; found {self.value!r}; remove value")
        elif self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"{where} needs a non-empty list as value; found {self.value!r}")
        elif self.op == "between":
            if not isinstance(self.value, list) or len(self.value) != 2:
                raise ValueError(f"{where} needs value: [low, high] (both inclusive); found {self.value!r}")
        elif self.value is None or isinstance(self.value, (list, dict)):
            raise ValueError(f"{where} needs a single value; found {self.value!r}")
        return self


class PopulationSpec(_Model):
    """Who can be assigned: the source, its unit id column, eligibility filters and covariates for balance."""

    source: str
    unit: str = "subscriber_id"
    eligibility: list[Condition] = []
    covariates: list[str] = []


class AssignmentSpec(_Model):
    """How units are assigned (see docs/design-and-assignment.md)."""

    salt: str | None = None
    method: AssignMethod = "stratified"
    registry: str | None = None
    keep_existing: bool = False
    table: str | None = None  # engine table the assignment is written to when the population lives in an engine


class PowerSpec(_Model):
    """Sizing inputs for the primary metric; alpha and correction come from ``analysis``."""

    baseline: float
    mde: float = Field(gt=0)
    relative: bool = False
    sd: float | None = Field(None, gt=0)
    power: float = Field(0.8, gt=0, lt=1)
    sides: Literal[1, 2] = 2
    method: PowerMethod = "evan_miller"
    daily_inflow: float | None = Field(None, gt=0)


class UpliftBudget(_Model):
    """A cap on the policy: at most ``offers`` subscribers offered and/or at most ``spend`` expected cost."""

    offers: int | None = Field(None, gt=0)
    spend: float | None = Field(None, gt=0)


class UpliftSpec(_Model):
    """Per-subscriber uplift and the offer policy (issue 6): features, learner, folds, budget, segments."""

    features: list[str] = Field(min_length=1)
    metric: str | None = None
    learner: UpliftLearner = "dr"
    n_folds: int = Field(2, ge=2, le=10)
    budget: UpliftBudget | None = None
    segments: list[str] = []
    policy_tree_depth: int = Field(2, ge=1, le=3)
    n_bootstrap: int = Field(200, ge=20, le=5000)
    max_rows: int | None = Field(None, gt=0)
    refute_rows: int = Field(20000, ge=500)


class ExperimentDesign(_Model):
    """A randomised retention experiment: arms, metrics and analysis settings.

    Attributes
    ----------
    name : str
        Identifier of the experiment, used in reports and the assignment registry.
    data : DataSpec
        Source and column roles; ``source`` is resolved relative to the design file.
    arms : dict[str, ArmSpec]
        Arm label as it appears in the data, mapped to its weight and cost. Weights sum to 1.
    control : str
        Label of the control arm, one of ``arms``.
    metrics : list[Metric]
        Outcome metrics; at least one has role ``primary``.
    analysis : Analysis
        Alpha, correction and SRM threshold.
    value : ValueSpec or None
        Lifetime-value settings used by the survival, uplift and ROI parts.
    population, strata, exclusive_with, assignment, power
        Eligible population, stratification columns, designs to stay exclusive of, assignment settings and sizing
        inputs (docs/design-and-assignment.md; used by ``retention design``, ``assign`` and ``monitor``).
    path : Path or None
        The file the design was read from (set by :func:`load_design`, not part of the YAML).
    """

    kind: Literal["experiment"] = "experiment"
    name: str
    description: str | None = None
    data: DataSpec
    arms: dict[str, ArmSpec]
    control: str
    metrics: list[Metric] = Field(min_length=1)
    analysis: Analysis = Analysis()
    value: ValueSpec | None = None
    population: PopulationSpec | None = None
    strata: list[str] = []
    exclusive_with: list[str] = []
    assignment: AssignmentSpec = AssignmentSpec()
    power: PowerSpec | None = None
    uplift: UpliftSpec | None = None
    engine: EngineSpec | None = None
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _engine(cls, raw: Any) -> Any:
        return _engine_sources(raw)

    @field_validator("arms")
    @classmethod
    def _arms_ok(cls, arms: dict[str, ArmSpec]) -> dict[str, ArmSpec]:
        if len(arms) < 2:
            raise ValueError(f"needs at least two arms (a control and one offer); found {list(arms)}")
        total = sum(a.weight for a in arms.values())
        if not math.isclose(total, 1.0, abs_tol=WEIGHT_TOLERANCE):
            raise ValueError(
                f"arm weights sum to {total:.6g}, not 1 ({', '.join(f'{k}: {v.weight}' for k, v in arms.items())}); "
                "rescale them so that they sum to 1"
            )
        return arms

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentDesign:
        if self.control not in self.arms:
            raise ValueError(f"control {self.control!r} is not one of the arms {list(self.arms)}")
        names = [m.name for m in self.metrics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"metric names must be unique; repeated: {dupes}")
        if not any(m.role == "primary" for m in self.metrics):
            raise ValueError("no metric has role 'primary'; mark the decision metric with role: primary")
        if any(m.maturity_days is not None for m in self.metrics) and self.data.assigned_at is None:
            raise ValueError("a metric sets maturity_days but data.assigned_at is not given; "
                             "name the assignment-date column in data.assigned_at")
        return self

    @property
    def treatments(self) -> list[str]:
        """Arm labels other than control, in design order."""
        return [a for a in self.arms if a != self.control]

    def metric(self, name: str) -> Metric:
        """The metric called ``name``."""
        for m in self.metrics:
            if m.name == name:
                return m
        raise DesignError(f"metric {name!r} is not in the design; metrics are {[m.name for m in self.metrics]}")

    def resolve(self, location: str) -> str:
        """Resolve a source location relative to the design file's folder (URLs are returned unchanged)."""
        return resolve_location(location, self.path.parent if self.path else Path.cwd())


class DidData(_Model):
    """Where the competitor-promotion panel is and which columns play which part (issue 4)."""

    source: str
    unit: str
    time: str
    outcome: str
    treat: str
    weight: str | None = None
    cluster: str | None = None
    covariates: list[str] = []
    start: str | None = None
    value: str | None = None


class DidAnalysis(_Model):
    """Inference settings of a difference-in-differences study (choices mirror ``causal.did``)."""

    se: Literal["auto", "iid", "hc1", "cluster", "wild"] = "auto"
    alpha: float = Field(0.05, gt=0, lt=0.5)
    staggered: bool = False
    control: Literal["never", "notyet"] = "never"
    event_window: tuple[int, int] | None = None
    n_boot: int = Field(9999, ge=99)
    n_perm: int = Field(999, ge=0)
    n_placebo: int = Field(200, ge=0)
    pretest: Literal["bootstrap", "wald"] = "bootstrap"
    seed: int | None = 20261122


class DidDesign(_Model):
    """A competitor-promotion difference-in-differences study, run by ``retention did DESIGN``."""

    kind: Literal["did"]
    name: str
    description: str | None = None
    data: DidData
    analysis: DidAnalysis = DidAnalysis()
    value_per_subscriber: float | None = Field(None, ge=0)
    engine: EngineSpec | None = None
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _engine(cls, raw: Any) -> Any:
        return _engine_sources(raw)

    def resolve(self, location: str) -> str:
        """Resolve a source location relative to the design file's folder."""
        return resolve_location(location, self.path.parent if self.path else Path.cwd())


#: Registry of design kinds: the value of ``kind:`` in the YAML mapped to its model class.
DESIGN_KINDS: dict[str, type[_Model]] = {"experiment": ExperimentDesign}
DESIGN_KINDS["did"] = DidDesign


def resolve_location(location: str, base: Path) -> str:
    """Resolve ``location`` against ``base`` unless it is absolute or a URL-like ``scheme://`` source.

    Examples
    --------
    >>> resolve_location("../demo/x.parquet", Path("/a/designs"))
    '/a/demo/x.parquet'
    >>> resolve_location("duckdb:///tmp/x.db?table=t", Path("/a"))
    'duckdb:///tmp/x.db?table=t'
    """
    if "://" in location:
        scheme, rest = location.split("://", 1)
        if scheme in ("duckdb", "sqlite") and rest and not rest.startswith("/"):
            path, _, query = rest.partition("?")
            resolved = (base / path).resolve()
            return f"{scheme}://{resolved}" + (f"?{query}" if query else "")
        return location
    p = Path(location).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


def _format_validation_error(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    loc = ".".join(str(x) for x in first["loc"]) or "(top level)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key; remove it or check its spelling against docs/design-file.md"
    elif first["type"] == "literal_error":
        msg = f"{first.get('input')!r} is not allowed; {msg.lower()}"
    elif first["type"] == "missing":
        msg = "required key is missing"
    msg = msg.removeprefix("Value error, ")
    more = len(err.errors()) - 1
    return f"{source}: {loc}: {msg}" + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")


def parse_design(raw: Any, source: str = "design", path: Path | None = None) -> Any:
    """Validate a parsed YAML mapping into the model registered for its ``kind``."""
    if not isinstance(raw, dict):
        raise DesignError(f"{source}: expected a mapping of keys at the top level, found {type(raw).__name__}")
    kind = raw.get("kind", "experiment")
    model = DESIGN_KINDS.get(kind)
    if model is None:
        raise DesignError(f"{source}: kind: {kind!r} is not known; use one of {sorted(DESIGN_KINDS)}")
    try:
        return model.model_validate({**raw, "path": path} if path is not None else raw)
    except ValidationError as err:
        raise DesignError(_format_validation_error(err, source)) from None


def load_design(path: str | Path) -> Any:
    """Read and validate a design file.

    Parameters
    ----------
    path : str or Path
        A YAML file. It is read with ``yaml.safe_load``: tags that construct Python objects are refused.

    Returns
    -------
    ExperimentDesign
        Or the model registered in :data:`DESIGN_KINDS` for the file's ``kind``.

    Raises
    ------
    DesignError
        The file is missing, is not YAML, or does not validate; the message names the key.

    Examples
    --------
    >>> d = load_design("designs/flowpack_vs_discount.yaml")  # doctest: +SKIP
    >>> d.control  # doctest: +SKIP
    'control'
    """
    p = Path(path)
    if p.is_dir():
        raise DesignError(f"design file {str(p)!r} is a folder, not a file; pass the path of a .yaml design")
    if not p.is_file():
        raise DesignError(f"design file {str(p)!r} does not exist; pass the path of a .yaml design")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise DesignError(f"{p}: not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start}); "
                          "re-save the design file as UTF-8") from None
    except yaml.constructor.ConstructorError as err:
        raise DesignError(
            f"{p}: line {err.problem_mark.line + 1 if err.problem_mark else '?'}: tag not allowed "
            f"({err.problem}); design files are plain YAML and cannot construct Python objects"
        ) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise DesignError(f"{p}: not valid YAML at {where}: {getattr(err, 'problem', err)}") from None
    return parse_design(raw, source=str(p), path=p.resolve())

"""Segments: rule-based risk segments from YAML, RFM value tiers and k-means clusters, all assigned in the engine.

A rule file declares segments with structured conditions (never code strings), combined with ``all``/``any``::

    segments:
      - name: many_service_calls
        when: {column: number_customer_service_calls, op: ">=", value: 4}
        risk: high
        action: {en: "Call back within 24 h with a senior agent", zh: "24 小时内由资深客服回访"}
      - name: international_heavy
        when:
          all:
            - {column: international_plan, op: "==", value: "yes"}
            - {column: total_intl_minutes, op: ">", value: 13}
        risk: medium
        action: Offer an international bundle

A subscriber belongs to the first segment whose rule holds (file order is priority); the others to ``other``.
Every segment is a SQL ``CASE`` evaluated by DuckDB, so the same definition gives the per-segment counts, the
cockpit's cube, the ``--export`` table and a stratum for the next experiment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

from experiments.data.sources import DuckDBSource, _ident, _literal
from experiments.diagnosis.profiling import (
    _fetch,
    _rate,
    open_diagnosis_source,
    require,
    require_finite,
    resolve_positive,
)
from experiments.diagnosis.results import Rate
from experiments.errors import DataError, DesignError
from experiments.spec.models import Condition

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Risk = Literal["high", "medium", "low"]
RISK_ORDER = {"high": 0, "medium": 1, "low": 2}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _rule_kind(value: Any) -> str:
    if isinstance(value, BaseModel):
        return "condition" if isinstance(value, Condition) else "group"
    return "group" if isinstance(value, dict) and ({"all", "any"} & set(value)) else "condition"


class Group(_Model):
    """``all`` (every rule holds) or ``any`` (at least one holds) of a list of rules; exactly one of the two."""

    all: list[Rule] | None = None
    any: list[Rule] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Group:
        if (self.all is None) == (self.any is None):
            raise ValueError("a group has exactly one of 'all' or 'any', each a non-empty list of rules")
        if not (self.all or self.any):
            raise ValueError("'all'/'any' needs at least one rule")
        return self


Rule = Annotated[Annotated[Condition, Tag("condition")] | Annotated[Group, Tag("group")], Discriminator(_rule_kind)]
Group.model_rebuild()


class Text(_Model):
    """Text shown to readers in English and (optionally) Simplified Chinese; a plain string is English."""

    en: str
    zh: str | None = None

    def get(self, lang: str) -> str:
        return (self.zh or self.en) if lang == "zh" else self.en


class SegmentRule(_Model):
    """One segment: its name, the rule, its risk level and the recommended action."""

    name: str = Field(min_length=1)
    when: Rule
    risk: Risk
    action: Text
    label: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, raw: Any) -> Any:
        if isinstance(raw, dict):
            raw = dict(raw)
            for key in ("action", "label"):
                if isinstance(raw.get(key), str):
                    raw[key] = {"en": raw[key]}
        return raw


class RuleFile(_Model):
    """A rule file: the segments in priority order and the name of the rest."""

    segments: list[SegmentRule] = Field(min_length=1)
    other: str = "other"
    other_action: Text = Text(en="Keep the standard care programme", zh="保持标准客户关怀")

    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and isinstance(raw.get("other_action"), str):
            raw = {**raw, "other_action": {"en": raw["other_action"]}}
        return raw

    @model_validator(mode="after")
    def _unique(self) -> RuleFile:
        names = [s.name for s in self.segments] + [self.other]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"segment names must be unique (and differ from other={self.other!r}); repeated: {dup}")
        return self

    def risk_of(self, name: str) -> str:
        return next((s.risk for s in self.segments if s.name == name), "low")

    def action_of(self, name: str, lang: str = "en") -> str:
        seg = next((s for s in self.segments if s.name == name), None)
        return (seg.action if seg else self.other_action).get(lang)


def parse_rules(raw: Any, source: str = "rules") -> RuleFile:
    """Validate a parsed YAML mapping as a :class:`RuleFile`; the message of a bad file names the key.

    Examples
    --------
    >>> r = parse_rules({"segments": [{"name": "calls", "risk": "high", "action": "call back",
    ...                                "when": {"column": "calls", "op": ">=", "value": 4}}]})
    >>> r.segments[0].when.op
    '>='
    """
    from experiments.spec.models import _format_validation_error

    if not isinstance(raw, dict):
        raise DesignError(f"{source}: expected a mapping with a 'segments' list, found {type(raw).__name__}")
    try:
        return RuleFile.model_validate(raw)
    except ValidationError as err:
        text = _format_validation_error(err, source).replace(".condition.", ".").replace(".group.", ".")
        raise DesignError(text.replace("eligibility condition", "condition")) from None


def load_rules(path: str | Path) -> RuleFile:
    """Read a rule file with YAML's safe loader and validate it (see :func:`parse_rules`)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise DesignError(f"rule file {str(p)!r} does not exist; pass the path of a .yaml rule file with --rules")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise DesignError(f"{p}: not valid YAML at line {mark.line + 1 if mark else '?'}: "
                          f"{getattr(err, 'problem', err)}") from None
    return parse_rules(raw, source=str(p))


# ------------------------------------------------------------------------------------------------ rules -> SQL


def _value_sql(src: DuckDBSource, column: str, value: Any, where: str) -> tuple[str, str]:
    """The column expression and the literal to compare it with, in the column's type."""
    col, kind = _ident(column), src.kind(column)
    if isinstance(value, bool):
        return f"CAST({col} AS VARCHAR)", _literal(str(value).lower() if kind == "boolean" else str(value))
    if isinstance(value, (int, float)):
        if kind == "numeric":
            return f"CAST({col} AS DOUBLE)", f"CAST({_literal(repr(float(value)))} AS DOUBLE)"
        if kind == "string":  # numbers stored as text: compared as numbers, blanks never match
            return f"TRY_CAST(trim({col}) AS DOUBLE)", f"CAST({_literal(repr(float(value)))} AS DOUBLE)"
        raise DataError(f"{where}: value {value!r} does not fit column {column!r} of type {src.dtype(column)}")
    if isinstance(value, str):
        if kind == "numeric":
            try:
                float(value)
            except ValueError:
                raise DataError(f"{where}: value {value!r} is not a number but column {column!r} is numeric; write "
                                "the value as a number") from None
            return f"CAST({col} AS DOUBLE)", f"CAST({_literal(value)} AS DOUBLE)"
        return f"CAST({col} AS VARCHAR)", _literal(value)
    raise DataError(f"{where}: value {value!r} must be a number or text")


def rule_sql(src: DuckDBSource, rule: Condition | Group, where: str = "rule") -> str:
    """The SQL predicate of a rule (nulls never satisfy a comparison: the predicate is never null).

    Raises
    ------
    DataError
        The rule names a column the source lacks, or a value that does not fit the column's type.
    """
    if isinstance(rule, Group):
        parts = rule.all if rule.all is not None else rule.any or []
        kw = "all" if rule.all is not None else "any"
        joined = (" AND " if kw == "all" else " OR ").join(
            f"({rule_sql(src, r, f'{where}.{kw}[{i}]')})" for i, r in enumerate(parts))
        return joined
    require(src, [rule.column], where)
    col = _ident(rule.column)
    if rule.op == "is_null":
        return f"({col} IS NULL OR trim(CAST({col} AS VARCHAR)) = '')"
    if rule.op == "not_null":
        return f"coalesce({col} IS NOT NULL AND trim(CAST({col} AS VARCHAR)) <> '', false)"
    if rule.op in ("in", "not_in"):
        exprs = [_value_sql(src, rule.column, v, where) for v in rule.value]
        lhs = exprs[0][0]
        inside = f"{lhs} IN ({', '.join(v for _, v in exprs)})"
        return f"coalesce({inside}, false)" if rule.op == "in" else f"coalesce(NOT ({inside}), false)"
    if rule.op == "between":
        lhs, lo = _value_sql(src, rule.column, rule.value[0], where)
        _, hi = _value_sql(src, rule.column, rule.value[1], where)
        return f"coalesce({lhs} BETWEEN {lo} AND {hi}, false)"
    lhs, v = _value_sql(src, rule.column, rule.value, where)
    op = "=" if rule.op == "==" else "<>" if rule.op == "!=" else rule.op
    return f"coalesce({lhs} {op} {v}, false)"


def segment_sql(src: DuckDBSource, rules: RuleFile) -> str:
    """``CASE`` expression naming each subscriber's segment (the first rule that holds; else ``rules.other``)."""
    whens = " ".join(f"WHEN {rule_sql(src, s.when, f'segments[{i}] {s.name!r}.when')} THEN {_literal(s.name)}"
                     for i, s in enumerate(rules.segments))
    return f"CASE {whens} ELSE {_literal(rules.other)} END"


# ------------------------------------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class SegmentStat:
    """Churn in one segment (or tier, or cluster).

    Attributes
    ----------
    name : str
    churn : Rate
    share : float
        Share of all subscribers.
    risk : str or None
        ``high``/``medium``/``low`` for rule segments.
    action : str or None
        The recommended action (English; see :meth:`SegmentResult.actions` for other languages).
    description : str or None
        What sets the group apart (clusters: the most distinctive features; tiers: the scores).
    """

    name: str
    churn: Rate
    share: float
    risk: str | None = None
    action: str | None = None
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, **self.churn.to_dict(), "share": self.share}
        for key in ("risk", "action", "description"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True, slots=True)
class SegmentResult:
    """Segments of one kind with their churn.

    Attributes
    ----------
    kind : {"rules", "rfm", "kmeans"}
    column : str
        Name of the segment column in the export and the cockpit (``segment``, ``rfm_tier``, ``cluster``).
    segments : tuple[SegmentStat, ...]
    overall : Rate
    details : dict
        Kind-specific: the rule file, the RFM quintile edges, k-means' silhouette per k and centroids.
    """

    kind: str
    column: str
    segments: tuple[SegmentStat, ...]
    overall: Rate
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "overall": self.overall.to_dict(),
                "segments": [s.to_dict() for s in self.segments], "details": self.details}

    def summary(self) -> pd.DataFrame:
        """One row per segment: name, n, churned, rate, ci_low, ci_high, share, risk, action, description."""
        import pandas as pd

        return pd.DataFrame([{"name": s.name, "n": s.churn.n, "churned": s.churn.churned, "rate": s.churn.rate,
                              "ci_low": s.churn.ci[0], "ci_high": s.churn.ci[1], "share": s.share, "risk": s.risk,
                              "action": s.action, "description": s.description} for s in self.segments])

    def _repr_html_(self) -> str:
        from experiments.report.render import _table_html

        return f"<h4>{self.kind} segments ({self.column})</h4>" + _table_html(self.summary())

    def plot(self, ax=None):
        """Plotly bars of churn per segment with Wilson intervals."""
        import plotly.graph_objects as go

        s = self.segments
        fig = go.Figure(go.Bar(x=[x.name for x in s], y=[x.churn.rate for x in s],
                               error_y={"type": "data", "symmetric": False,
                                        "array": [x.churn.ci[1] - x.churn.rate for x in s],
                                        "arrayminus": [x.churn.rate - x.churn.ci[0] for x in s]}))
        fig.update_layout(yaxis_tickformat=".0%", template="plotly_white", title=f"Churn by {self.column}")
        return fig


def _stats_by(src: DuckDBSource, expr: str, y: str, revenue: str | None, alpha: float) -> tuple[dict[str, Rate], Rate]:
    rev = f", sum(coalesce({revenue}, 0)), sum(coalesce({revenue}, 0) * {y})" if revenue else ""
    _, rows = _fetch(src, f"SELECT {expr} AS g, count(*), sum({y}){rev} FROM {src.relation} GROUP BY ROLLUP (1)")
    out = {str(r[0]): _rate(r[1], r[2] or 0, alpha, *(r[3:5] if revenue else ())) for r in rows if r[0] is not None}
    total = next(r for r in rows if r[0] is None)
    return out, _rate(total[1], total[2] or 0, alpha, *(total[3:5] if revenue else ()))


def _target(src: DuckDBSource, target: str, positive: str | None) -> str:
    positive = resolve_positive(src, target, positive)
    return f"(CAST({_ident(target)} AS VARCHAR) = {_literal(positive)})::INTEGER"


def _revenue(src: DuckDBSource, revenue: str | None) -> str | None:
    if revenue is None:
        return None
    from experiments.diagnosis.profiling import _numeric_sql

    require(src, [revenue], "--revenue")
    require_finite(src, [revenue], "--revenue")
    return _numeric_sql(src, revenue)


def rule_segments(data: Any, rules: RuleFile | str | Path, target: str, *, positive: str | None = None,
                  revenue: str | None = None, alpha: float = 0.05) -> SegmentResult:
    """Churn, revenue at risk, risk level and action of every rule segment (counts from one engine GROUP BY).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"calls": [0, 5, 6, 1], "churn": ["no", "yes", "no", "no"]})
    >>> r = parse_rules({"segments": [{"name": "calls", "risk": "high", "action": "call back",
    ...                                "when": {"column": "calls", "op": ">=", "value": 4}}]})
    >>> [(s.name, s.churn.n, s.churn.rate) for s in rule_segments(df, r, "churn").segments]
    [('calls', 2, 0.5), ('other', 2, 0.0)]
    """
    src = data if isinstance(data, DuckDBSource) else open_diagnosis_source(data)
    rules = rules if isinstance(rules, RuleFile) else load_rules(rules)
    y = _target(src, target, positive)
    by, overall = _stats_by(src, segment_sql(src, rules), y, _revenue(src, revenue), alpha)
    names = [s.name for s in rules.segments] + [rules.other]
    segs = tuple(SegmentStat(n, by[n], by[n].n / overall.n, rules.risk_of(n) if n != rules.other else None,
                             rules.action_of(n)) for n in names if n in by)
    return SegmentResult("rules", "segment", segs, overall, {"rules": rules.model_dump(mode="json", exclude_none=True)})


# ------------------------------------------------------------------------------------------------ RFM

#: The usual RFM tiers, tested in this order on the 1–5 quintile scores (5 = most recent / most frequent / most spent).
RFM_TIERS: tuple[tuple[str, str], ...] = (
    ("champions", "{r} >= 4 AND {f} >= 4 AND {m} >= 4"),
    ("loyal", "{f} >= 4"),
    ("at_risk", "{r} <= 2 AND ({f} >= 3 OR {m} >= 3)"),
    ("hibernating", "{r} <= 2"),
    ("new_or_promising", "{r} >= 4"),
    ("need_attention", "true"),
)


def _score_sql(x: str, edges: list[float], higher_is_better: bool) -> str:
    """1–5 quintile score: 1 + the number of quintile edges below the value (reversed when lower is better)."""
    raw = " + ".join(f"({x} > CAST({_literal(repr(float(e)))} AS DOUBLE))::INTEGER" for e in edges)
    score = f"(1 + {raw})" if edges else "3"
    return score if higher_is_better else f"(6 - {score})"


def rfm_sql(src: DuckDBSource, *, recency: str, frequency: str, monetary: str,
            recency_higher_is_better: bool = False) -> tuple[dict[str, str], dict[str, list[float]]]:
    """SQL of the R, F and M scores and the tier; quintile edges from the engine's exact quantiles.

    Recency is "days since the last activity" by default (lower is better, so the most recent fifth scores 5).
    """
    from experiments.diagnosis.profiling import _numeric_sql

    cols = {"r": recency, "f": frequency, "m": monetary}
    require(src, list(cols.values()), "--rfm")
    xs = {k: _numeric_sql(src, c) for k, c in cols.items()}
    q = ", ".join(f"quantile_cont({x}, [0.2, 0.4, 0.6, 0.8])" for x in xs.values())
    _, rows = _fetch(src, f"SELECT {q} FROM {src.relation}")
    edges = {k: [float(e) for e in (rows[0][i] or [])] for i, k in enumerate(xs)}
    scores = {k: _score_sql(xs[k], edges[k], k != "r" or recency_higher_is_better) for k in xs}
    whens = " ".join(f"WHEN {cond.format(**scores)} THEN {_literal(name)}" for name, cond in RFM_TIERS)
    tier = f"CASE {whens} END"
    return {"rfm_r": scores["r"], "rfm_f": scores["f"], "rfm_m": scores["m"], "rfm_tier": tier}, edges


def rfm_segments(data: Any, target: str, *, recency: str, frequency: str, monetary: str, positive: str | None = None,
                 revenue: str | None = None, recency_higher_is_better: bool = False,
                 alpha: float = 0.05) -> SegmentResult:
    """RFM quintile scores and the usual tiers, with churn per tier (engine quantiles and GROUP BY).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"days": range(10), "n": range(10), "spend": range(10), "churn": ["no", "yes"] * 5})
    >>> [s.name for s in rfm_segments(df, "churn", recency="days", frequency="n", monetary="spend").segments]
    ['loyal', 'new_or_promising', 'need_attention']
    """
    src = data if isinstance(data, DuckDBSource) else open_diagnosis_source(data)
    y = _target(src, target, positive)
    exprs, edges = rfm_sql(src, recency=recency, frequency=frequency, monetary=monetary,
                           recency_higher_is_better=recency_higher_is_better)
    by, overall = _stats_by(src, exprs["rfm_tier"], y, _revenue(src, revenue), alpha)
    order = [name for name, _ in RFM_TIERS]
    segs = tuple(SegmentStat(n, by[n], by[n].n / overall.n) for n in order if n in by)
    return SegmentResult("rfm", "rfm_tier", segs, overall,
                         {"columns": {"recency": recency, "frequency": frequency, "monetary": monetary},
                          "quintile_edges": edges, "tiers": dict(RFM_TIERS)})


# ------------------------------------------------------------------------------------------------ k-means


@dataclass(frozen=True, slots=True)
class KMeansFit:
    """k-means on standardised features, k chosen by silhouette.

    Attributes
    ----------
    features : tuple[str, ...]
    mean, scale : np.ndarray
        Standardisation (engine mean and population standard deviation over all rows).
    centroids : np.ndarray of shape (k, features)
        In standardised units.
    silhouette : dict[int, float]
        Mean silhouette of each k tried (on a seeded sample).
    k : int
        The k with the largest silhouette.
    sample : int
        Rows the clustering was fitted on (a seeded engine sample when the table is larger).
    """

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    centroids: np.ndarray
    silhouette: dict[int, float]
    k: int
    sample: int


def fit_kmeans(src: DuckDBSource, features: list[str], *, ks: range = range(2, 9), sample: int = 50_000,
               silhouette_sample: int = 5_000, rng: Any = None) -> KMeansFit:
    """Fit k-means for each k on a seeded sample of complete rows and keep the k of the best silhouette."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    from experiments.diagnosis.profiling import _numeric_sql

    require(src, features, "--kmeans")
    require_finite(src, features, "--kmeans")
    gen = np.random.default_rng(rng)
    xs = [_numeric_sql(src, c) for c in features]
    complete = " AND ".join(f"{x} IS NOT NULL" for x in xs)
    moments = ", ".join(f"avg({x}) FILTER (WHERE {complete}), stddev_pop({x}) FILTER (WHERE {complete})" for x in xs)
    _, rows = _fetch(src, f"SELECT count(*) FILTER (WHERE {complete}), {moments} FROM {src.relation}")
    n_complete, stats = int(rows[0][0]), rows[0][1:]
    if n_complete < max(ks.stop, 10):
        raise DataError(f"k-means needs at least {max(ks.stop, 10)} rows with all of {features}; found {n_complete}")
    mean = np.array(stats[0::2], dtype=float)
    scale = np.array([s if s and s > 0 else 1.0 for s in stats[1::2]], dtype=float)
    seed = int(gen.integers(0, 2**31 - 1))
    cols = ", ".join(f"{x} AS x{i}" for i, x in enumerate(xs))
    take = f" USING SAMPLE reservoir({sample} ROWS) REPEATABLE ({seed})" if n_complete > sample else ""
    data = src.con.execute(f"SELECT * FROM (SELECT {cols} FROM {src.relation} WHERE {complete}){take}").fetchnumpy()
    z = (np.column_stack([np.asarray(data[k], dtype=float) for k in data]) - mean) / scale
    sil: dict[int, float] = {}
    fits = {}
    for k in ks:
        km = KMeans(n_clusters=k, n_init=4, random_state=int(gen.integers(0, 2**31 - 1))).fit(z)
        fits[k] = km
        sil[k] = float(silhouette_score(z, km.labels_, sample_size=min(silhouette_sample, len(z)),
                                        random_state=int(gen.integers(0, 2**31 - 1))))
    best = max(sil, key=lambda k: sil[k])
    return KMeansFit(tuple(features), mean, scale, fits[best].cluster_centers_, sil, best, len(z))


def cluster_sql(src: DuckDBSource, fit: KMeansFit) -> str:
    """SQL naming each subscriber's nearest centroid (``cluster_1`` ...; ``(missing)`` when a feature is missing)."""
    from experiments.diagnosis.profiling import _numeric_sql

    zs = [f"(({_numeric_sql(src, c)} - {float(m)!r}) / {float(s)!r})"
          for c, m, s in zip(fit.features, fit.mean, fit.scale, strict=True)]
    dists = ["(" + " + ".join(f"pow({z} - {float(c)!r}, 2)" for z, c in zip(zs, cen, strict=True)) + ")"
             for cen in fit.centroids]
    best = f"list_position([{', '.join(dists)}], least({', '.join(dists)}))"
    missing = " OR ".join(f"{z} IS NULL" for z in zs)
    return f"CASE WHEN {missing} THEN '(missing)' ELSE 'cluster_' || CAST({best} AS VARCHAR) END"


def describe_cluster(centroid: Any, features: tuple[str, ...], top: int = 3, min_sd: float = 0.25) -> str:
    """The most distinctive features of a centroid, in words: ``"high tenure (+1.4 sd), low charges (-0.9 sd)"``.

    The ``top`` features farthest from the overall mean, those at least ``min_sd`` standard deviations away (at
    least one).

    Examples
    --------
    >>> describe_cluster([1.4, -0.2, -0.9], ("tenure", "calls", "charges"), top=2)
    'high tenure (+1.4 sd), low charges (-0.9 sd)'
    """
    order = sorted(range(len(features)), key=lambda i: -abs(centroid[i]))[:top]
    order = [i for i in order if abs(centroid[i]) >= min_sd] or order[:1]
    return ", ".join(f"{'high' if centroid[i] > 0 else 'low'} {features[i]} ({centroid[i]:+.1f} sd)" for i in order)


def kmeans_segments(data: Any, target: str, features: list[str], *, positive: str | None = None,
                    revenue: str | None = None, ks: range = range(2, 9), sample: int = 50_000, rng: Any = None,
                    alpha: float = 0.05, fit: KMeansFit | None = None) -> SegmentResult:
    """k-means clusters on standardised ``features`` (k by silhouette), described in words, with churn per cluster.

    The fit runs on a seeded sample (or pass ``fit``); every subscriber is then assigned to the nearest centroid by
    the engine.
    """
    src = data if isinstance(data, DuckDBSource) else open_diagnosis_source(data)
    y = _target(src, target, positive)
    fit = fit if fit is not None else fit_kmeans(src, features, ks=ks, sample=sample, rng=rng)
    by, overall = _stats_by(src, cluster_sql(src, fit), y, _revenue(src, revenue), alpha)
    names = [f"cluster_{i + 1}" for i in range(fit.k)] + ["(missing)"]
    desc = {f"cluster_{i + 1}": describe_cluster(c, fit.features) for i, c in enumerate(fit.centroids)}
    segs = tuple(SegmentStat(n, by[n], by[n].n / overall.n, description=desc.get(n)) for n in names if n in by)
    return SegmentResult("kmeans", "cluster", segs, overall,
                         {"features": list(fit.features), "k": fit.k, "silhouette": fit.silhouette,
                          "sample": fit.sample, "centroids_sd": fit.centroids.tolist(),
                          "mean": fit.mean.tolist(), "scale": fit.scale.tolist()})


def rate_ok(r: Rate) -> bool:
    return r.n > 0 and not math.isnan(r.rate)

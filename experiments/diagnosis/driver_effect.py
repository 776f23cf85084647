"""A causal check of one churn driver with DoWhy, on a graph of confounders the user states in YAML.

A churn model's drivers are predictive: subscribers who call customer service four times churn more, but the
calls and the churn may both come from bad network coverage. This module estimates what the driver itself does:

1. **state** the graph (YAML, validated by pydantic; no code strings): the driver as a condition on a column
   (``customer_service_calls >= 4``), the outcome, the confounders (common causes of driver and churn) and any other
   edges among them;
2. **identify** the effect by the backdoor criterion on that graph (DoWhy ``identify_effect``);
3. **estimate** it (``backdoor.propensity_score_weighting``: self-normalised inverse-propensity weights from a
   logistic model on standardised confounders, scores clipped to ``[propensity_clip, 1 - propensity_clip]``
   (0.01; DoWhy's default 0.05 biased the estimate on the simulator), with a percentile bootstrap interval; or
   ``backdoor.linear_regression``, a linear probability model with its OLS interval) as
   the average change in the churn probability, in points;
4. **refute** it: a placebo treatment (the driver permuted: the effect must vanish), a random common cause (an
   independent covariate added: the estimate must not move) and data subsets (80%: the estimate must stay within
   the spread of the re-estimates). A refuter passes when DoWhy's test is not significant at ``alpha / 3``.

The estimate is only as good as the graph: a common cause that is not in it biases the estimate and no refuter can
detect that. The output says so in English and Chinese.

Examples
--------
>>> import yaml
>>> from experiments.diagnosis.simulate_driver import GRAPH_YAML, simulate_driver_data
>>> sim = simulate_driver_data(3_000, rng=2)
>>> spec = parse_driver_spec(yaml.safe_load(GRAPH_YAML))
>>> res = driver_effect(sim.frame, spec, n_simulations=5, n_bootstrap=30, rng=0)  # doctest: +SKIP
>>> res.ci[0] < sim.true_ate < res.ci[1]  # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from experiments.errors import DataError, DesignError, close_matches
from experiments.spec.literals import ConditionOp

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from experiments.report.i18n import Lang

DriverMethod = Literal["propensity_score_weighting", "linear_regression"]
TREATED = "_driver"
OUTCOME = "_churn"
#: DoWhy refuter and its settings, by the name the output uses.
REFUTER_METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "placebo_treatment": ("placebo_treatment_refuter", {"placebo_type": "permute"}),
    "random_common_cause": ("random_common_cause", {}),
    "data_subset": ("data_subset_refuter", {}),
}


@dataclass(frozen=True, slots=True)
class Refutation:
    """One refuter's verdict on the estimate.

    Attributes
    ----------
    name : str
        ``placebo_treatment``, ``random_common_cause`` or ``data_subset``.
    estimated_effect : float
        The estimate being refuted.
    new_effect : float
        Mean effect over the refuter's simulations (near 0 for the placebo, near the estimate otherwise).
    p_value : float
        DoWhy's p-value (placebo: of zero among the placebo effects; others: of the estimate among re-estimates).
    passed : bool
        ``p_value >= alpha / 3`` (Bonferroni over the three refuters).
    """

    name: str
    estimated_effect: float
    new_effect: float
    p_value: float
    passed: bool


def _first(x: Any) -> float:
    import numpy as np

    return float(np.ravel(np.asarray(x, dtype=float))[0])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TreatmentSpec(_Model):
    """The driver: ``column`` compared with ``value`` by ``op`` (or a 0/1 column without ``op``)."""

    column: str
    op: ConditionOp | None = None
    value: Any = None
    name: str | None = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> TreatmentSpec:
        from experiments.spec.models import Condition

        if self.op is None:
            if self.value is not None:
                raise ValueError(f"treatment on {self.column!r}: value {self.value!r} needs an op, e.g. op: '>='")
            return self
        try:  # the same rules as an eligibility condition of a design
            Condition(column=self.column, op=self.op, value=self.value)
        except ValidationError as err:
            text = str(err.errors()[0]["msg"]).removeprefix("Value error, ")
            raise ValueError(text.replace("eligibility condition", "treatment condition")) from None
        return self

    @property
    def label(self) -> str:
        """How reports name the driver."""
        if self.name:
            return self.name
        if self.op is None:
            return self.column
        return f"{self.column} {self.op} {self.value}"


class OutcomeSpec(_Model):
    """The churn column and the value meaning churned (default: 1 / yes / true)."""

    column: str
    positive: Any = None


class RefuterSettings(_Model):
    """Simulations per refuter and the subset fraction of the data-subset refuter."""

    simulations: int = Field(20, ge=2, le=1000)
    subset_fraction: float = Field(0.8, gt=0, lt=1)


class DriverSpec(_Model):
    """The stated graph and the estimation settings (the YAML of ``retention driver-effect --graph``)."""

    treatment: TreatmentSpec
    outcome: OutcomeSpec
    confounders: list[str] = Field(min_length=1)
    edges: list[tuple[str, str]] = []
    method: DriverMethod = "propensity_score_weighting"
    refuters: RefuterSettings = RefuterSettings()
    alpha: float = Field(0.05, gt=0, lt=1)
    confidence_level: float = Field(0.95, gt=0.5, lt=1)
    max_rows: int = Field(200_000, ge=100)
    propensity_clip: float = Field(0.01, ge=0, lt=0.5)

    @model_validator(mode="after")
    def _graph_is_sane(self) -> DriverSpec:
        roles = {self.treatment.column: "treatment", self.outcome.column: "outcome"}
        for c in self.confounders:
            if c in roles:
                raise ValueError(f"confounder {c!r} is also the {roles[c]}; a confounder is a third variable")
        if len(set(self.confounders)) != len(self.confounders):
            raise ValueError("confounders lists a column twice; list each once")
        nodes = set(self.confounders)
        for a, b in self.edges:
            for node in (a, b):
                if node not in nodes:
                    raise ValueError(f"edge [{a}, {b}] names {node!r}, which is not a confounder; edges connect "
                                     "confounders (their edges to the driver and churn are implied)")
        return self

    def graph_edges(self) -> list[tuple[str, str]]:
        """Every edge of the stated graph (by column name)."""
        t, y = self.treatment.column, self.outcome.column
        return [*[(c, t) for c in self.confounders], *[(c, y) for c in self.confounders], (t, y),
                *[(a, b) for a, b in self.edges]]


def parse_driver_spec(raw: Any, source: str = "graph") -> DriverSpec:
    """Validate a parsed YAML mapping as a :class:`DriverSpec` (errors name the key)."""
    from experiments.diagnosis.inputs import validate_mapping

    return validate_mapping(DriverSpec, raw, source, "treatment, outcome and confounders")


def load_driver_spec(path: str | Path) -> DriverSpec:
    """Read and validate a graph YAML file (safe loader)."""
    from experiments.diagnosis.inputs import read_yaml

    return parse_driver_spec(read_yaml(path, "--graph", "the stated graph"), source=str(path))


@dataclass(frozen=True, slots=True)
class DriverEffect:
    """The estimated effect of one driver on churn, and its refutations.

    Attributes
    ----------
    spec : DriverSpec
        The stated graph and settings.
    estimate : float
        Average change in the churn probability caused by the driver (risk difference, 0-1 scale).
    ci : tuple[float, float]
        Confidence interval of ``estimate`` at ``spec.confidence_level``.
    naive_difference : float
        Churn rate with the driver minus without, unadjusted.
    adjustment_set : list[str]
        Backdoor variables DoWhy identified on the graph (encoded names: ``contract__two_year``).
    n_rows : int
        Rows used (a seeded sample of ``spec.max_rows`` when the data are larger).
    n_total : int
        Rows of the data after dropping none (missing values are an error).
    n_treated : int
        Rows with the driver.
    refuters : list[Refutation]
        Placebo treatment, random common cause and data subset.
    """

    spec: DriverSpec
    estimate: float
    ci: tuple[float, float]
    naive_difference: float
    adjustment_set: list[str]
    n_rows: int
    n_total: int
    n_treated: int
    refuters: list[Refutation]

    @property
    def passed(self) -> bool:
        """Whether every refuter passed."""
        return all(r.passed for r in self.refuters)

    def explanation(self, lang: Lang = "en") -> list[str]:
        """Plain-language sentences: the effect, what it rests on, each refuter and what a failure means."""
        from experiments.report.i18n import msg

        s = self.spec
        pts = lambda x: f"{100 * x:+.1f}"  # noqa: E731 - points of churn probability
        lines = [msg("driver.effect", lang, driver=s.treatment.label, effect=pts(self.estimate),
                     lo=pts(self.ci[0]), hi=pts(self.ci[1]), level=f"{100 * s.confidence_level:g}",
                     confounders=", ".join(s.confounders), naive=pts(self.naive_difference)),
                 msg("driver.rests_on_graph", lang, driver=s.treatment.label, confounders=", ".join(s.confounders))]
        for r in self.refuters:
            key = f"driver.{r.name}.{'pass' if r.passed else 'fail'}"
            lines.append(msg(key, lang, new=pts(r.new_effect), p=f"{r.p_value:.3g}"))
        lines.append(msg("driver.refuters_meaning", lang))
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-able result: the graph, estimate and interval, every refuter, and the plain words in en and zh."""
        s = self.spec
        return {
            "treatment": {**s.treatment.model_dump(), "label": s.treatment.label, "n_treated": self.n_treated,
                          "share_treated": self.n_treated / self.n_rows},
            "outcome": s.outcome.model_dump(),
            "graph": {"confounders": s.confounders, "edges": [list(e) for e in s.graph_edges()]},
            "adjustment_set": self.adjustment_set,
            "method": f"backdoor.{s.method}",
            "estimate": self.estimate, "ci": list(self.ci), "confidence_level": s.confidence_level,
            "scale": "risk difference (change in churn probability, 0-1)",
            "naive_difference": self.naive_difference,
            "n_rows": self.n_rows, "n_total": self.n_total, "sampled": self.n_rows < self.n_total,
            "refuters": {r.name: {"estimated_effect": r.estimated_effect, "new_effect": r.new_effect,
                                  "p_value": r.p_value, "passed": r.passed} for r in self.refuters},
            "refuter_alpha": s.alpha / max(len(self.refuters), 1),
            "refuter_simulations": s.refuters.simulations,
            "passed": self.passed,
            "explanation": {"en": self.explanation("en"), "zh": self.explanation("zh")},
        }

    def summary(self) -> pd.DataFrame:
        """One row for the estimate and one per refuter."""
        import pandas as pd

        rows = [{"step": "estimate", "effect": self.estimate, "ci_low": self.ci[0], "ci_high": self.ci[1],
                 "p_value": None, "passed": None},
                {"step": "naive difference", "effect": self.naive_difference, "ci_low": None, "ci_high": None,
                 "p_value": None, "passed": None}]
        rows += [{"step": r.name, "effect": r.new_effect, "ci_low": None, "ci_high": None, "p_value": r.p_value,
                  "passed": r.passed} for r in self.refuters]
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        return self.summary().to_html(index=False)

    def plot(self, ax: Any = None) -> Any:
        """Plotly chart: the estimate with its interval, the naive difference and each refuter's new effect."""
        import plotly.graph_objects as go

        fig = go.Figure()
        fig.add_trace(go.Scatter(x=[self.estimate], y=["estimate"], mode="markers", name="estimate",
                                 error_x={"type": "data", "symmetric": False, "array": [self.ci[1] - self.estimate],
                                          "arrayminus": [self.estimate - self.ci[0]]}))
        fig.add_trace(go.Scatter(x=[self.naive_difference, *[r.new_effect for r in self.refuters]],
                                 y=["naive difference", *[r.name for r in self.refuters]], mode="markers",
                                 name="comparison"))
        fig.update_layout(xaxis_title="change in churn probability", title=self.spec.treatment.label)
        return fig


def _check_columns(columns: list[str], spec: DriverSpec, label: str) -> None:
    named = {"treatment.column": spec.treatment.column, "outcome.column": spec.outcome.column,
             **{f"confounders[{i}]": c for i, c in enumerate(spec.confounders)}}
    for key, col in named.items():
        if col not in columns:
            raise DataError(f"graph {key} names column {col!r}, which {label} does not have"
                            f"{close_matches(col, columns)}; columns are: {', '.join(columns[:30])}")


def _driver_flags(values: pd.Series, t: TreatmentSpec) -> np.ndarray:
    """0/1 driver indicator of the treatment condition."""
    import numpy as np
    import pandas as pd

    col = t.column
    if t.op is None:
        uniq = set(pd.unique(values.dropna()).tolist())
        if not uniq <= {0, 1}:
            raise DataError(f"treatment column {col!r} has values {sorted(map(str, uniq))[:5]}, not 0/1; state the "
                            "driver as a condition, e.g. op: '>=' and value: 4")
        return values.astype(int).to_numpy()
    numeric = pd.api.types.is_numeric_dtype(values)
    for v in t.value if isinstance(t.value, list) else [t.value]:
        if v is not None and numeric and isinstance(v, str):
            raise DataError(f"treatment value {v!r} does not fit numeric column {col!r}; write a number")
    ops = {"==": lambda v: values == v, "!=": lambda v: values != v, "<": lambda v: values < v,
           "<=": lambda v: values <= v, ">": lambda v: values > v, ">=": lambda v: values >= v,
           "in": lambda v: values.isin(v), "not_in": lambda v: ~values.isin(v),
           "between": lambda v: values.between(v[0], v[1]), "is_null": lambda v: values.isna(),
           "not_null": lambda v: values.notna()}
    try:
        return np.asarray(ops[t.op](t.value), dtype=int)
    except TypeError:
        raise DataError(f"treatment value {t.value!r} cannot be compared with column {col!r} "
                        f"({values.dtype}); write it in the column's type") from None


def _outcome_flags(values: pd.Series, o: OutcomeSpec) -> np.ndarray:
    import numpy as np
    import pandas as pd

    if o.positive is not None:
        return (values.astype(str) == str(o.positive)).astype(int).to_numpy()
    uniq = set(pd.unique(values).tolist())
    if uniq <= {0, 1}:
        return values.astype(int).to_numpy()
    if {str(u).lower() for u in uniq} <= {"yes", "no", "true", "false"}:
        return np.isin(values.astype(str).str.lower(), ["yes", "true"]).astype(int)
    raise DataError(f"outcome column {o.column!r} has values {sorted(map(str, uniq))[:5]}; give outcome.positive, "
                    "the value that means churned")


def _encode(frame: pd.DataFrame, spec: DriverSpec) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Numeric confounders as they are, categorical ones as 0/1 columns (first level dropped)."""
    import re

    import pandas as pd

    out: dict[str, Any] = {}
    names: dict[str, list[str]] = {}
    for c in spec.confounders:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            key = re.sub(r"\W", "_", c)
            out[key] = s.astype(float).to_numpy()
            names[c] = [key]
        else:
            levels = sorted(pd.unique(s.astype(str)).tolist())
            if len(levels) > 50:
                raise DataError(f"confounder {c!r} is text with {len(levels)} distinct values; group it into fewer "
                                "categories or give a numeric column")
            keys = []
            for lev in levels[1:]:
                key = re.sub(r"\W", "_", f"{c}__{lev}")
                out[key] = (s.astype(str) == lev).astype(float).to_numpy()
                keys.append(key)
            names[c] = keys
    return pd.DataFrame(out), names


def _graph(spec: DriverSpec, names: dict[str, list[str]]) -> Any:
    import networkx as nx

    g = nx.DiGraph()
    g.add_edge(TREATED, OUTCOME)
    for c in spec.confounders:
        for k in names[c]:
            g.add_edge(k, TREATED)
            g.add_edge(k, OUTCOME)
    for a, b in spec.edges:
        for ka in names[a]:
            for kb in names[b]:
                g.add_edge(ka, kb)
    if not nx.is_directed_acyclic_graph(g):
        raise DesignError("graph: the stated edges form a cycle; a causal graph must be acyclic")
    return g


def driver_effect(
    data: Any,
    spec: DriverSpec,
    *,
    n_simulations: int | None = None,
    n_bootstrap: int = 100,
    rng: np.random.Generator | int | None = None,
) -> DriverEffect:
    """Estimate and refute the effect of the driver on churn on the stated graph (DoWhy).

    Parameters
    ----------
    data : str, Path or DataFrame
        Subscribers (``.parquet``, ``.csv``, ``duckdb:///db?table=``, a DataFrame; not modified).
    spec : DriverSpec
        The graph and settings (:func:`load_driver_spec`).
    n_simulations : int, optional
        Simulations per refuter (default: ``spec.refuters.simulations``).
    n_bootstrap : int
        Bootstrap samples of the propensity-weighting interval.
    rng : Generator, int or None
        Seeds the sample, the bootstrap and the refuters (nothing is seeded globally).

    Returns
    -------
    DriverEffect

    Raises
    ------
    DataError
        A column the graph names is missing, has missing values, or the driver is constant.
    """
    import numpy as np

    from experiments.data.sources import _ident
    from experiments.diagnosis.profiling import open_diagnosis_source

    gen = np.random.default_rng(rng)
    src = open_diagnosis_source(data)
    _check_columns(src.columns, spec, src.label)
    cols = list(dict.fromkeys([spec.treatment.column, spec.outcome.column, *spec.confounders]))
    sel = ", ".join(_ident(c) for c in cols)
    n_total = int(src._one(f"SELECT count(*) FROM {src.relation}")[0])
    if n_total > spec.max_rows:
        seed = int(gen.integers(2**31 - 1))
        sql = f"SELECT {sel} FROM {src.relation} USING SAMPLE reservoir({spec.max_rows} ROWS) REPEATABLE ({seed})"
    else:
        sql = f"SELECT {sel} FROM {src.relation}"
    frame = src.con.execute(sql).df()
    for c in cols:
        n_miss = int(frame[c].isna().sum())
        if n_miss and not (c == spec.treatment.column and spec.treatment.op in ("is_null", "not_null")):
            raise DataError(f"column {c!r} has {n_miss:,} missing value(s); fill or drop them before the causal check")
    t = _driver_flags(frame[spec.treatment.column], spec.treatment)
    y = _outcome_flags(frame[spec.outcome.column], spec.outcome)
    if t.min() == t.max():
        raise DataError(f"the driver {spec.treatment.label!r} is {'true' if t[0] else 'false'} for every row; "
                        "choose a condition that splits the subscribers")
    x, names = _encode(frame, spec)
    df = x.assign(**{TREATED: t.astype(bool), OUTCOME: y.astype(float)})
    sims = n_simulations or spec.refuters.simulations
    method = f"backdoor.{spec.method}"
    dowhy_logger = logging.getLogger("dowhy")
    level = dowhy_logger.level
    dowhy_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from dowhy import CausalModel

            graph = _graph(spec, names)
            # DoWhy's propensity estimators add a propensity_score column to the data they are given and reuse it
            # on later fits (refuters would keep the real treatment's scores); every model gets its own copy.
            model = CausalModel(data=df.copy(), treatment=TREATED, outcome=OUTCOME, graph=graph)
            estimand = model.identify_effect(proceed_when_unidentifiable=False)
            psw = spec.method == "propensity_score_weighting"
            estimate = model.estimate_effect(estimand, method_name=method, control_value=False,
                                             treatment_value=True, confidence_intervals=not psw,
                                             method_params={"propensity_score_model": _propensity_model(),
                                                            "min_ps_score": spec.propensity_clip,
                                                            "max_ps_score": 1 - spec.propensity_clip}
                                             if psw else None)
            if psw:  # DoWhy's bootstrap draws from numpy's global stream: resample with ``gen`` instead
                ci = _bootstrap_ci(estimate.estimator, df, n_bootstrap, spec.confidence_level, gen)
            else:
                ci = tuple(np.ravel(estimate.get_confidence_intervals(confidence_level=spec.confidence_level)))
            clean = CausalModel(data=df.copy(), treatment=TREATED, outcome=OUTCOME, graph=graph)
            outcomes = []
            for name, (dowhy_name, kwargs) in REFUTER_METHODS.items():
                extra = {"subset_fraction": spec.refuters.subset_fraction} if name == "data_subset" else {}
                ref = clean.refute_estimate(estimand, estimate, method_name=dowhy_name, num_simulations=sims,
                                            random_state=np.random.RandomState(int(gen.integers(2**31 - 1))),
                                            **kwargs, **extra)
                pv = _first((ref.refutation_result or {}).get("p_value", float("nan")))
                outcomes.append(Refutation(name=name, estimated_effect=_first(ref.estimated_effect),
                                           new_effect=_first(ref.new_effect), p_value=pv,
                                           passed=bool(pv >= spec.alpha / len(REFUTER_METHODS))))
    finally:
        dowhy_logger.setLevel(level)
    backdoor = estimand.get_backdoor_variables() if hasattr(estimand, "get_backdoor_variables") else []
    naive = float(y[t == 1].mean() - y[t == 0].mean())
    return DriverEffect(spec=spec, estimate=_first(estimate.value), ci=(float(ci[0]), float(ci[1])),
                        naive_difference=naive, adjustment_set=sorted(backdoor), n_rows=int(len(df)),
                        n_total=n_total, n_treated=int(t.sum()), refuters=outcomes)


def _propensity_model() -> Any:
    """Logistic propensity model on standardised confounders (Newton steps: a few milliseconds per fit)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(solver="newton-cholesky", max_iter=200))


def _bootstrap_ci(estimator: Any, df: pd.DataFrame, n_boot: int, level: float,
                  gen: np.random.Generator) -> tuple[float, float]:
    """Percentile bootstrap interval: DoWhy's estimator refitted on rows resampled with ``gen``."""
    import numpy as np

    n = len(df)
    values = np.empty(n_boot)
    for i in range(n_boot):
        boot = df.iloc[gen.integers(0, n, n)].reset_index(drop=True)
        new = estimator.get_new_estimator_object(estimator._target_estimand, test_significance=False,
                                                 evaluate_effect_strength=False, confidence_intervals=False)
        new.fit(boot)
        est = new.estimate_effect(boot, treatment_value=True, control_value=False, target_units="ate")
        values[i] = float(np.ravel(est.value)[0])
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)

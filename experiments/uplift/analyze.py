"""Per-arm, per-subscriber uplift (conditional average treatment effects) with EconML, cross-fitted.

Flow: :func:`~experiments.uplift.prepare.prepare_uplift_data` validates and encodes the rows a design names;
:class:`~experiments.uplift.model.UpliftModel` cross-fits the effect, outcome and acceptance models; the metrics,
the policy and the refuters run on the out-of-fold predictions. :func:`analyze_uplift` is the one call the CLI and
the demo make; it returns an :class:`~experiments.uplift.results.UpliftResult` whose ``to_dict()`` is
``uplift.json``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from experiments.errors import DataError, DesignError, close_matches
from experiments.uplift.model import ACCEPT_MAX_ROWS, UpliftModel, average_effects
from experiments.uplift.prepare import VALUE_COLUMN, UpliftData, prepare_uplift_data
from experiments.uplift.results import ArmEvaluation, UpliftResult

if TYPE_CHECKING:
    from experiments.spec.models import ExperimentDesign, UpliftSpec

def _benefit(data: UpliftData) -> np.ndarray:
    return data.benefit_sign * data.y


def analyze_uplift(
    design: ExperimentDesign,
    data: Any = None,
    *,
    rng: np.random.Generator | int | None = None,
    value: Sequence[float] | np.ndarray | str | None = None,
    refute: bool = True,
    refute_simulations: int = 10,
    spec: UpliftSpec | None = None,
    n_threads: int | None = 1,
) -> UpliftResult:
    """Cross-fitted per-arm uplift, its held-out evaluation, the value-aware policy and refutations.

    Parameters
    ----------
    design : ExperimentDesign
        With an ``uplift`` section (or pass ``spec``).
    data : DataFrame, path, Ibis table or None
        Rows of the experiment; defaults to ``design.data.source``. Only the needed columns are read.
    rng : Generator, int or None
        Seeds folds, models, bootstraps and refuters.
    value : array, column or None
        Value of retention per subscriber (e.g. lifetime values); overrides the design's ``value`` section.
    refute : bool
        Run DoWhy's refuters on each arm's average effect (on a sample of ``uplift.refute_rows``).
    refute_simulations : int
        Simulations per DoWhy refuter (each refits the nuisance models).
    spec : UpliftSpec, optional
        Overrides ``design.uplift``.
    n_threads : int or None
        OpenMP threads for the model fits (see :class:`UpliftModel`).

    Returns
    -------
    UpliftResult

    Examples
    --------
    >>> from experiments.simulate.operator import simulate_operator  # doctest: +SKIP
    >>> res = analyze_uplift(design, sim.experiment, rng=0)  # doctest: +SKIP
    >>> res.to_dict()["policy"]["value"]  # doctest: +SKIP
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_threads, user_api="openmp"):
        return _analyze_uplift(design, data, rng=rng, value=value, refute=refute,
                               refute_simulations=refute_simulations, spec=spec, n_threads=n_threads)


def _analyze_uplift(design: ExperimentDesign, data: Any, *, rng: np.random.Generator | int | None,
                    value: Sequence[float] | np.ndarray | str | None, refute: bool, refute_simulations: int,
                    spec: UpliftSpec | None, n_threads: int | None) -> UpliftResult:
    from experiments.uplift.metrics import blp_test, calibration_table, evaluate_uplift, segment_table
    from experiments.uplift.policy import PolicyCosts, evaluate_policy

    spec = spec or design.uplift
    if spec is None:
        raise DesignError("the design has no uplift section; add uplift: {features: [tenure_months, arpu, ...]}")
    gen = np.random.default_rng(rng)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    frame = _load_frame(design, data, spec, value)
    seconds["load"] = time.perf_counter() - t0
    if value is not None and not isinstance(value, str):
        value = VALUE_COLUMN
    ud = prepare_uplift_data(design, frame, spec, value=value, rng=gen)
    del frame
    arms = [design.control, *design.treatments]
    weights = [design.arms[a].weight for a in arms]
    model = UpliftModel(arms, weights, learner=spec.learner, n_folds=spec.n_folds, rng=gen, n_threads=n_threads).fit(ud)
    cf = model.crossfit_
    seconds["fit"] = cf.seconds
    t1 = time.perf_counter()
    effects = average_effects(ud, cf, alpha=design.analysis.alpha)
    benefit = _benefit(ud)
    code = {a: i for i, a in enumerate(arms)}
    t_codes = np.array([code[a] for a in ud.arm])
    evals: dict[str, ArmEvaluation] = {}
    for j, a in enumerate(arms[1:], start=1):
        m = (t_codes == j) | (t_codes == 0)
        treated = (t_codes[m] == j).astype(int)
        score = ud.benefit_sign * cf.cate[m, j]
        metrics = evaluate_uplift(benefit[m], score, treated, n_bootstrap=spec.n_bootstrap,
                                  alpha=design.analysis.alpha, rng=gen)
        e = cf.propensity[j] / (cf.propensity[j] + cf.propensity[0])
        calib = calibration_table(benefit[m], score, treated, n_bins=10, alpha=design.analysis.alpha)
        baseline = ud.benefit_sign * cf.mu[m, 0]
        blp = blp_test(benefit[m], score, treated, e, baseline=baseline)
        evals[a] = ArmEvaluation(effect=effects[j - 1], metrics=metrics, calibration=calib, blp=blp)
    seconds["evaluate"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    costs = PolicyCosts.from_design(design, arms)
    policy = evaluate_policy(ud, cf, costs, budget=spec.budget, tree_depth=spec.policy_tree_depth,
                             alpha=design.analysis.alpha, rng=gen)
    seconds["policy"] = time.perf_counter() - t2
    if spec.learner == "dr":
        cate_text = (f"CATE: the arm contrasts mu_a(x) - mu_0(x) of the outcome model of EconML's doubly-robust "
                     f"learner (LinearDRLearner, one histogram GBM on the features and the arm, the design's arm "
                     f"weights as known propensities), each subscriber predicted by the model of the "
                     f"{spec.n_folds}-fold cross-fitting that did not see them, so every evaluation number is "
                     "computed on subscribers the models did not see.")
    else:
        cate_text = (f"CATE: EconML CausalForestDML with the design's arm weights as known propensities; "
                     f"{spec.n_folds}-fold cross-fitting, so every evaluation number is computed on subscribers "
                     "the models did not see.")
    notes = [
        cate_text,
        "Uplift metrics use the benefit scale (reduction in the metric when it should decrease); the random "
        "baseline is subtracted from the Qini coefficient and AUUC.",
        policy.value_note,
    ]
    if cf.nuisance_rows is not None:
        notes.append(f"Each outcome model was fitted on a stratified sample of at most {cf.nuisance_rows:,} rows of "
                     f"its training folds (acceptance models: at most {ACCEPT_MAX_ROWS:,}); its predictions cover "
                     "every held-out row.")
    if ud.n_input > ud.y.size:
        notes.append(f"Sampled {ud.y.size:,} of {ud.n_input:,} rows (uplift.max_rows) for the row-level models.")
    segs = pd.DataFrame()
    if ud.segments:
        segs = pd.concat([segment_table(ud.y, ud.arm, v, design.control, arms[1:], alpha=design.analysis.alpha,
                                        segment_name="level").assign(segment=k)
                          for k, v in ud.segments.items()], ignore_index=True)
        segs = segs[["segment", *[c for c in segs.columns if c != "segment"]]]
    if refute:
        from experiments.uplift.refute import refute_average_effect

        t3 = time.perf_counter()
        for j, a in enumerate(arms[1:], start=1):
            m = (t_codes == j) | (t_codes == 0)
            e = cf.propensity[j] / (cf.propensity[j] + cf.propensity[0])
            ref = refute_average_effect(ud.X[m], (t_codes[m] == j).astype(int), ud.y[m], ud.feature_names,
                                        propensity=e, max_rows=spec.refute_rows, binary=ud.binary,
                                        n_simulations=refute_simulations, alpha=design.analysis.alpha, rng=gen)
            evals[a] = ArmEvaluation(effect=evals[a].effect, metrics=evals[a].metrics,
                                     calibration=evals[a].calibration, blp=evals[a].blp, refutation=ref)
        seconds["refute"] = time.perf_counter() - t3
    return UpliftResult(design_name=design.name, metric=ud.metric, arms=evals, policy=policy, segments=segs,
                        crossfit=cf, n=int(ud.y.size), n_input=ud.n_input, value_unit=policy.value_unit,
                        notes=notes, seconds=seconds)


#: On an engine other than DuckDB, rows are thinned in the engine to about this many times ``uplift.max_rows``
#: before they come to Python (where exactly ``max_rows`` are then drawn): Python never holds the whole table.
ENGINE_OVERSAMPLE = 2


def _engine_sample(table: Any, unit: str | None, max_rows: int | None, value: Any) -> Any:
    """``table``, or on Spark/another engine a hash-of-unit Bernoulli thinning of it to ~2 × ``max_rows`` rows.

    The thinning is deterministic (the engine's hash of the unit id) and runs in the engine; DuckDB tables and
    designs without ``uplift.max_rows`` or ``data.unit`` are returned unchanged (all rows come over).
    """
    backend = getattr(table.get_backend(), "name", "duckdb")
    if backend == "duckdb" or max_rows is None or unit is None or unit not in table.columns or \
            (value is not None and not isinstance(value, str)):
        return table
    n = int(table.count().execute())
    if n <= ENGINE_OVERSAMPLE * max_rows:
        return table
    scale = 1 << 20
    keep = int(scale * ENGINE_OVERSAMPLE * max_rows / n) + 1
    return table.filter((table[unit].hash() % scale).abs() < keep)


def _load_frame(design: ExperimentDesign, data: Any, spec: UpliftSpec, value: Any) -> pd.DataFrame:
    """The needed columns as a pandas frame (a DataFrame passed in is not copied wholesale or modified)."""
    cols = [design.data.arm, *spec.features, *spec.segments]
    metric = design.metric(spec.metric) if spec.metric else next(m for m in design.metrics if m.role == "primary")
    cols.append(metric.column)
    if design.data.acceptance:
        cols.append(design.data.acceptance)
    if design.value is not None:
        for v in (design.value.margin, design.value.retention_value):
            if isinstance(v, str):
                cols.append(v)
    if isinstance(value, str):
        cols.append(value)
    if design.data.assigned_at and metric.maturity_days is not None and design.data.as_of is not None:
        cols.append(design.data.assigned_at)
    if value is not None and not isinstance(value, str):
        cols = [c for c in cols if c != VALUE_COLUMN]
    cols = list(dict.fromkeys(cols))
    if isinstance(data, pd.DataFrame):
        frame = data
    else:
        from experiments.data.engine import open_table, require_columns

        source = data if data is not None else design.data.source
        base = design.path.parent if design.path and data is None else None
        table = open_table(source, base_dir=base)
        require_columns(table, {f"uplift column {c}": c for c in cols})
        frame = _engine_sample(table, design.data.unit, spec.max_rows, value).select(*cols).to_pandas()
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        c = missing[0]
        raise DataError(f"data has no column {c!r}{close_matches(c, frame.columns)}; it is named by the design's "
                        "uplift, data or value section; fix the name or add the column")
    frame = frame[cols]  # a new frame: adding a column below does not touch the caller's
    if value is not None and not isinstance(value, str):
        arr = np.asarray(value, dtype=float)
        if arr.shape != (len(frame),):
            raise DataError(f"value has shape {arr.shape}; give one value of retention per row ({len(frame)})")
        frame = frame.assign(**{VALUE_COLUMN: arr})
    if design.data.assigned_at in cols and metric.maturity_days is not None and design.data.as_of is not None:
        cutoff = pd.Timestamp(design.data.as_of) - pd.Timedelta(days=metric.maturity_days)
        frame = frame[pd.to_datetime(frame[design.data.assigned_at]) <= cutoff]
        if frame.empty:
            raise DataError(f"no subscriber was assigned by {cutoff.date()} ({metric.maturity_days} days before "
                            f"data.as_of {design.data.as_of}); the metric {metric.name!r} is not mature yet")
    return frame


#: Settings of the demo's uplift step: sampled and lighter so that it stays near a minute on 200k subscribers.
DEMO_SETTINGS: dict[str, Any] = {"max_rows": 100_000, "n_bootstrap": 100, "refute_rows": 10_000}
DEMO_REFUTE_SIMULATIONS = 5


def demo_uplift(design: ExperimentDesign, data: Any = None, *,
                rng: np.random.Generator | int | None = None) -> UpliftResult:
    """The uplift step of ``retention demo``: :func:`analyze_uplift` on at most 100k sampled rows, 100 bootstrap
    replicates and 5 simulations per refuter on 10k rows (the report's notes say that it sampled).

    Examples
    --------
    >>> res = demo_uplift(load_design("demo/design.yaml"), rng=0)  # doctest: +SKIP
    >>> section = uplift_section(res)  # doctest: +SKIP
    """
    if design.uplift is None:
        raise DesignError("the design has no uplift section; add uplift: {features: [tenure_months, arpu, ...]}")
    spec = design.uplift.model_copy(update=DEMO_SETTINGS)
    return analyze_uplift(design, data, rng=rng, spec=spec, refute_simulations=DEMO_REFUTE_SIMULATIONS)

"""A/A calibration on the user's own data: reshuffle the arm labels within strata and rerun the analysis's tests.

Under a reshuffle the offers cannot have any effect, so every test of :func:`experiments.analysis.analyze` should
reject at its nominal rate (the design's ``alpha``) and every interval should cover the true difference, zero, in
``1 − alpha`` of the runs. :func:`calibrate` measures both on the data the analysis would read:

1. :func:`~experiments.analysis.analyze` runs once on the data, so the design and the data pass every check the
   analysis makes (missing values, arm labels, maturity) before anything is reshuffled.
2. One DuckDB query pulls only what the reshuffles need, as NumPy arrays (never a pandas frame): the arm code, the
   stratum code (rows ordered by stratum), and per metric the outcome, the covariate and whether the unit is mature.
3. Each run permutes the arm labels within every stratum (``np.random.default_rng(seed)``; each stratum keeps its
   observed arm counts, which is the randomisation distribution of a stratified assignment), sums the per-arm
   sufficient statistics with ``np.bincount``, and hands them to the analysis's own functions
   (:func:`~experiments.analysis.experiment.analyze_metric`, :func:`~experiments.analysis.stats.adjust_pvalues`):
   the same χ², two-proportion z, Welch t, relative-lift and CUPED code ``retention analyze`` runs.
4. A permutation keeps the arm counts, so the sample-ratio check is calibrated separately: each run also draws the
   arm counts of every stratum from the multinomial distribution at the design's weights (what an assignment at
   those weights produces) and runs :func:`~experiments.analysis.stats.srm_test` on them.
5. For continuous metrics the tail of the outcome is measured (sample skewness and excess kurtosis); Welch's
   interval is checked for under-coverage, and the remedy, Welch's test on the outcome winsorised at a stated
   quantile (caps fixed once on the pooled data, so they do not depend on the labels), gets its own coverage.

Rates come with exact Clopper–Pearson intervals. Cost: the query is one scan; each run is one permutation of the
labels and a handful of ``bincount`` passes over the rows (docs/calibration.md has measured times).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from experiments.analysis import stats
from experiments.analysis.experiment import analyze, analyze_metric
from experiments.data import engine as data_mod
from experiments.data.sources import DuckDBSource, _ident, open_source
from experiments.errors import DataError, DesignError
from experiments.spec.models import ExperimentDesign

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Level of the Clopper–Pearson intervals around every rate.
RATE_LEVEL = 0.95
#: Default winsorisation quantile of the heavy-tail remedy (values above it, and below 1 − it, are capped).
WINSOR_QUANTILE = 0.99
#: A continuous metric is called heavy-tailed when the sample excess kurtosis of its outcome exceeds this
#: (an exponential distribution has 6, Student's t with 5 degrees of freedom 6, a lognormal with σ = 1 about 111).
HEAVY_KURTOSIS = 10.0
#: Default number of reshuffles.
DEFAULT_RUNS = 500


def clopper_pearson(hits: int, runs: int, level: float = RATE_LEVEL) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of a binomial rate.

    Equal to ``statsmodels.stats.proportion.proportion_confint(hits, runs, 1 - level, method="beta")``.

    Examples
    --------
    >>> tuple(round(v, 4) for v in clopper_pearson(50, 1000))
    (0.0373, 0.0654)
    """
    from scipy.special import betaincinv

    a = 1 - level
    lo = 0.0 if hits == 0 else float(betaincinv(hits, runs - hits + 1, a / 2))
    hi = 1.0 if hits == runs else float(betaincinv(hits + 1, runs - hits, 1 - a / 2))
    return lo, hi


@dataclass(frozen=True, slots=True)
class Rate:
    """How often something happened over the reshuffles.

    Attributes
    ----------
    hits : int
        Runs in which it happened (a rejection, or an interval covering zero).
    runs : int
        Runs counted (runs where the statistic is undefined, e.g. no events at all, are left out).
    rate : float
        ``hits / runs`` (NaN without runs).
    ci : tuple[float, float]
        Clopper–Pearson interval at :data:`RATE_LEVEL`.
    """

    hits: int
    runs: int
    rate: float
    ci: tuple[float, float]

    @classmethod
    def of(cls, flags: Sequence[float]) -> Rate:
        """Rate of the true values among ``flags`` (NaN entries are not counted)."""
        kept = [bool(f) for f in flags if not (isinstance(f, float) and math.isnan(f))]
        hits, runs = sum(kept), len(kept)
        if runs == 0:
            return cls(0, 0, math.nan, (math.nan, math.nan))
        return cls(hits, runs, hits / runs, clopper_pearson(hits, runs))

    def to_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "runs": self.runs, "rate": self.rate, "ci": list(self.ci)}


@dataclass(frozen=True, slots=True)
class TestCalibration:
    """One test of one metric over the reshuffles.

    Attributes
    ----------
    metric : str
    test : str
        ``pearson_chi2`` (omnibus, all arms), ``two_proportion_z``, ``welch_t``, ``relative_lift`` (delta method),
        ``cuped_welch``, ``family_<correction>`` (any comparison of the metric significant after the design's
        correction: the family-wise error rate) or ``winsorized_welch`` (the heavy-tail remedy).
    arm : str or None
        The arm compared with control (None for tests over all arms).
    alpha : float
        Nominal false-positive rate (the design's alpha).
    rejections : Rate
        Share of runs with p < alpha: the false-positive rate.
    coverage : Rate or None
        Share of runs whose ``1 − alpha`` interval contains 0 (None for tests without an interval).
    verdict : str
        ``ok``; ``over-rejects`` / ``under-rejects`` when alpha is outside the interval of the rejection rate;
        ``under-covers`` / ``over-covers`` when ``1 − alpha`` is outside the interval of the coverage.
    """

    metric: str
    test: str
    arm: str | None
    alpha: float
    rejections: Rate
    coverage: Rate | None
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "test": self.test, "arm": self.arm, "alpha": self.alpha,
                "false_positive_rate": self.rejections.to_dict(),
                "coverage": None if self.coverage is None else self.coverage.to_dict(), "verdict": self.verdict}


@dataclass(frozen=True, slots=True)
class TailCheck:
    """Heavy tails of a continuous metric: does Welch's interval under-cover, and does the remedy help?

    Attributes
    ----------
    metric : str
    arm : str
        The arm compared with control.
    skewness, excess_kurtosis : float
        Sample moments of the pooled outcome (all mature units).
    heavy_tailed : bool
        ``excess_kurtosis > HEAVY_KURTOSIS``.
    welch_coverage : Rate
        Coverage of zero by Welch's ``1 − alpha`` interval of the difference in means.
    relative_coverage : Rate
        Coverage of zero by the analysis's interval of the relative lift (delta method on Welch's degrees of
        freedom), which a single large value in the control arm can shrink towards zero.
    under_covers : bool
        The upper end of the interval of either coverage is below ``1 − alpha``.
    remedy : str
        What the remedy is, in words (``Welch on values winsorised at the 0.01 and 0.99 quantiles``).
    quantile : float
        Winsorisation quantile (values above it and below ``1 − quantile`` are capped).
    caps : tuple[float, float]
        The caps (lower, upper), from the pooled data.
    remedy_coverage, remedy_relative_coverage : Rate
        The same two coverages for the winsorised outcome (the true difference of winsorised means is 0 too).
    remedy_closer : bool
        The remedy's worse coverage is closer to ``1 − alpha`` than Welch's worse one.
    """

    metric: str
    arm: str
    skewness: float
    excess_kurtosis: float
    heavy_tailed: bool
    welch_coverage: Rate
    relative_coverage: Rate
    under_covers: bool
    remedy: str
    quantile: float
    caps: tuple[float, float]
    remedy_coverage: Rate
    remedy_relative_coverage: Rate
    remedy_closer: bool

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "arm": self.arm, "skewness": self.skewness,
                "excess_kurtosis": self.excess_kurtosis, "heavy_tailed": self.heavy_tailed,
                "welch_coverage": self.welch_coverage.to_dict(),
                "relative_coverage": self.relative_coverage.to_dict(), "under_covers": self.under_covers,
                "remedy": self.remedy, "quantile": self.quantile, "caps": list(self.caps),
                "remedy_coverage": self.remedy_coverage.to_dict(),
                "remedy_relative_coverage": self.remedy_relative_coverage.to_dict(),
                "remedy_closer": self.remedy_closer}


@dataclass(frozen=True, slots=True)
class CalibrationResult:
    """What :func:`calibrate` found.

    Attributes
    ----------
    design : str
        The design's name.
    runs : int
        Reshuffles.
    seed : int or None
        Seed of ``np.random.default_rng``.
    alpha, srm_alpha : float
        The design's thresholds.
    strata : tuple[str, ...]
        Columns the labels were reshuffled within (empty: one stratum).
    n_strata : int
    units : int
        Rows reshuffled.
    srm : Rate
        Share of runs in which the sample-ratio check fails (nominal: ``srm_alpha``), with multinomial arm counts.
    tests : tuple[TestCalibration, ...]
        Every test of every metric.
    tails : tuple[TailCheck, ...]
        Continuous metrics, per arm compared with control.
    seconds : dict[str, float]
        ``pull`` (the query) and ``runs`` (the reshuffles) wall time.
    notes : tuple[str, ...]
        What the user should know (which strata, which tests are not calibrated here).
    """

    design: str
    runs: int
    seed: int | None
    alpha: float
    srm_alpha: float
    strata: tuple[str, ...]
    n_strata: int
    units: int
    srm: Rate
    tests: tuple[TestCalibration, ...]
    tails: tuple[TailCheck, ...]
    seconds: dict[str, float]
    notes: tuple[str, ...]

    def summary(self) -> pd.DataFrame:
        """One row per test: metric, test, arm, false-positive rate with its interval, coverage, verdict."""
        import pandas as pd

        rows = []
        for t in self.tests:
            c = t.coverage
            rows.append({"metric": t.metric, "test": t.test, "arm": t.arm, "alpha": t.alpha,
                         "runs": t.rejections.runs, "fpr": t.rejections.rate, "fpr_lo": t.rejections.ci[0],
                         "fpr_hi": t.rejections.ci[1], "coverage": c.rate if c else math.nan,
                         "coverage_lo": c.ci[0] if c else math.nan, "coverage_hi": c.ci[1] if c else math.nan,
                         "verdict": t.verdict})
        return pd.DataFrame(rows)

    def tails_summary(self) -> pd.DataFrame:
        """One row per continuous metric and arm: tail moments, Welch's coverage and the remedy's."""
        import pandas as pd

        return pd.DataFrame([{"metric": t.metric, "arm": t.arm, "skewness": t.skewness,
                              "excess_kurtosis": t.excess_kurtosis, "heavy_tailed": t.heavy_tailed,
                              "welch_coverage": t.welch_coverage.rate,
                              "relative_coverage": t.relative_coverage.rate, "under_covers": t.under_covers,
                              "remedy": t.remedy, "remedy_coverage": t.remedy_coverage.rate,
                              "remedy_relative_coverage": t.remedy_relative_coverage.rate,
                              "remedy_closer": t.remedy_closer} for t in self.tails])

    def to_dict(self) -> dict[str, Any]:
        return {"design": self.design, "runs": self.runs, "seed": self.seed, "alpha": self.alpha,
                "srm_alpha": self.srm_alpha, "strata": list(self.strata), "n_strata": self.n_strata,
                "units": self.units, "rate_interval": f"Clopper-Pearson {RATE_LEVEL:.0%}",
                "srm": self.srm.to_dict(), "tests": [t.to_dict() for t in self.tests],
                "tails": [t.to_dict() for t in self.tails], "seconds": dict(self.seconds),
                "notes": list(self.notes)}

    def _repr_html_(self) -> str:
        return self.summary().to_html(index=False)


def verdict(alpha: float, rejections: Rate, coverage: Rate | None) -> str:
    """``ok`` unless alpha lies outside the rejection rate's interval or ``1 − alpha`` outside the coverage's."""
    lo, hi = rejections.ci
    if rejections.runs and lo > alpha:
        return "over-rejects"
    if coverage is not None and coverage.runs and coverage.ci[1] < 1 - alpha:
        return "under-covers"
    if rejections.runs and hi < alpha:
        return "under-rejects"
    if coverage is not None and coverage.runs and coverage.ci[0] > 1 - alpha:
        return "over-covers"
    return "ok"


# ----------------------------------------------------------------------------------------------- the data


@dataclass(frozen=True, slots=True)
class _Arrays:
    """What the reshuffles need, one entry per row, rows ordered by stratum."""

    arm: np.ndarray  # int8 arm code (design order)
    bounds: np.ndarray  # start of each stratum block, plus len(arm)
    y: dict[str, np.ndarray]  # metric -> outcome (0 where not used)
    x: dict[str, np.ndarray]  # metric -> covariate (0 where not used), only metrics with a covariate
    used: dict[str, np.ndarray]  # metric -> float 0/1: mature, counted for the metric


def _strata_columns(design: ExperimentDesign, columns: Sequence[str], stratum: str | None) -> tuple[str, ...]:
    if stratum is not None:
        if stratum not in columns:
            raise DataError(f"stratum column {stratum!r} is not in the data; the data has {list(columns)}")
        return (stratum,)
    if design.data.stratum is not None:
        return (design.data.stratum,)
    return tuple(c for c in design.strata if c in columns)


def _pull(source: DuckDBSource, design: ExperimentDesign, strata: tuple[str, ...], as_of: Any) -> _Arrays:
    import numpy as np

    arms = list(design.arms)
    d = design.data
    case = " ".join(f"WHEN CAST({_ident(d.arm)} AS VARCHAR) = '{a.replace(chr(39), chr(39) * 2)}' THEN {i}"
                    for i, a in enumerate(arms))
    cols = [f"CAST(CASE {case} END AS TINYINT) AS _arm"]
    if strata:  # a 64-bit hash of the stratum per row (no join, no sort in the engine: rows keep scan order)
        cols.append(f"hash({', '.join(_ident(c) for c in strata)}) AS _s")
    else:
        cols.append("CAST(0 AS UBIGINT) AS _s")
    for i, m in enumerate(design.metrics):
        cutoff = data_mod.maturity_cutoff(as_of, m.maturity_days) if (as_of and m.maturity_days is not None) else None
        use = (f"CAST({_ident(d.assigned_at or '')} AS DATE) <= DATE '{cutoff.isoformat()}'"
               if cutoff is not None else "TRUE")
        cols.append(f"CAST({use} AS DOUBLE) AS _u{i}")
        cols.append(f"CASE WHEN {use} THEN CAST({_ident(m.column)} AS DOUBLE) ELSE 0 END AS _y{i}")
        if m.covariate is not None:
            cols.append(f"CASE WHEN {use} THEN CAST({_ident(m.covariate)} AS DOUBLE) ELSE 0 END AS _x{i}")
    got = source.con.execute(f"SELECT {', '.join(cols)} FROM {source.relation}").fetchnumpy()
    _, codes = np.unique(np.asarray(got["_s"]), return_inverse=True)
    codes = codes.ravel().astype(np.int16 if codes.size and codes.max() < 2**15 else np.int64)
    order = np.argsort(codes, kind="stable")
    s = codes[order]
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(s)) + 1, [s.size]]).astype(np.int64)

    def col(name: str) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(got[name], dtype=float)[order])

    y = {m.name: col(f"_y{i}") for i, m in enumerate(design.metrics)}
    x = {m.name: col(f"_x{i}") for i, m in enumerate(design.metrics) if m.covariate is not None}
    used = {m.name: col(f"_u{i}") for i, m in enumerate(design.metrics)}
    return _Arrays(np.asarray(got["_arm"], dtype=np.int8)[order], bounds, y, x, used)


class _Sums:
    """Every per-row quantity the reshuffles sum, as the rows of one matrix: a run's per-arm sums are one
    matrix-vector product (BLAS) per arm but one with the arm's 0/1 indicator, instead of a ``bincount`` per
    quantity; the last arm's sums are the totals minus the others'."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.rows: list[np.ndarray] = []
        self.index: dict[str, list[int]] = {}

    def add(self, key: str, *columns: np.ndarray) -> None:
        self.index[key] = list(range(len(self.rows), len(self.rows) + len(columns)))
        self.rows.extend(columns)

    def freeze(self) -> None:
        import numpy as np

        self.matrix = np.vstack(self.rows) if self.rows else np.zeros((0, 0))
        self.totals = self.matrix.sum(axis=1)
        del self.rows

    def per_arm(self, labels: np.ndarray) -> np.ndarray:
        """(quantities × arms) sums for ``labels``; the last arm's column is the total minus the others'."""
        import numpy as np

        part = np.column_stack([self.matrix @ (labels == a).astype(float) for a in range(self.k - 1)])
        return np.column_stack([part, self.totals - part.sum(axis=1)])

    def stats(self, sums: np.ndarray, key: str) -> list[stats.SuffStats]:
        rows = sums[self.index[key]]
        return [stats.SuffStats(*(float(v) for v in rows[:, a])) for a in range(self.k)]


def _moments(y: np.ndarray) -> tuple[float, float]:
    """Sample skewness and excess kurtosis (biased moment estimators, as ``scipy.stats.skew``/``kurtosis``)."""
    import numpy as np

    c = y - y.mean()
    m2 = float(np.mean(c * c))
    if m2 <= 0:
        return 0.0, 0.0
    return float(np.mean(c**3) / m2**1.5), float(np.mean(c**4) / m2**2 - 3.0)


# ----------------------------------------------------------------------------------------------- the runs


def permute_within(arm: np.ndarray, bounds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``arm`` with its labels permuted within every block ``bounds[i]:bounds[i+1]``.

    Examples
    --------
    >>> import numpy as np
    >>> out = permute_within(np.array([0, 0, 1, 1, 1]), np.array([0, 2, 5]), np.random.default_rng(1))
    >>> out[:2].tolist(), sorted(out[2:].tolist())
    ([0, 0], [1, 1, 1])
    """
    out = arm.copy()
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if hi - lo > 1:
            rng.shuffle(out[lo:hi])  # in place on the copy's block (a view)
    return out


def arm_stats(labels: np.ndarray, k: int, y: np.ndarray, used: np.ndarray, x: np.ndarray | None = None,
              binary: bool = False) -> list[stats.SuffStats]:
    """Per-arm :class:`~experiments.analysis.stats.SuffStats` of ``y`` (rows with ``used`` = 1) by ``np.bincount``.

    ``y`` and ``x`` must be 0 where ``used`` is 0.
    """
    import numpy as np

    def b(w: np.ndarray) -> np.ndarray:
        return np.bincount(labels, weights=w, minlength=k)

    n, s = b(used), b(y)
    sq = s if binary else b(y * y)
    if x is None:
        return [stats.SuffStats(float(n[a]), float(s[a]), float(sq[a])) for a in range(k)]
    xs, xsq, xy = b(x), b(x * x), b(x * y)
    return [stats.SuffStats(float(n[a]), float(s[a]), float(sq[a]), float(xs[a]), float(xsq[a]), float(xy[a]))
            for a in range(k)]


def _covers(ci: tuple[float, float]) -> float:
    lo, hi = ci
    if math.isnan(lo) or math.isnan(hi):
        return math.nan
    return float(lo <= 0.0 <= hi)


def _rejects(p: float, alpha: float) -> float:
    return math.nan if math.isnan(p) else float(p < alpha)


def calibrate(design: ExperimentDesign, data: Any = None, *, runs: int = DEFAULT_RUNS, seed: int | None = None,
              winsor_quantile: float = WINSOR_QUANTILE, stratum: str | None = None,
              progress: Callable[[int], None] | None = None) -> CalibrationResult:
    """A/A calibration of every test of the analysis on the user's own data.

    Parameters
    ----------
    design : ExperimentDesign
        A validated experiment design.
    data : str, Path or DataFrame, optional
        Overrides ``design.data.source`` (files, ``duckdb://`` tables and DataFrames: DuckDB sources).
    runs : int, default 500
        Reshuffles.
    seed : int, optional
        Seed of ``np.random.default_rng``; the same seed gives the same result.
    winsor_quantile : float, default 0.99
        Quantile of the heavy-tail remedy (0.5 < q < 1).
    stratum : str, optional
        Column to reshuffle within; default ``design.data.stratum``, else the design's ``strata`` columns present
        in the data, else none.
    progress : callable, optional
        Called with the number of runs just finished (for a progress bar).

    Returns
    -------
    CalibrationResult

    Raises
    ------
    DesignError
        ``runs`` below 1 or the quantile outside (0.5, 1).
    DataError
        Anything :func:`~experiments.analysis.analyze` refuses, or a source that is not read by DuckDB.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from experiments.spec.models import parse_design
    >>> d = parse_design({"name": "t", "data": {"source": "x.parquet", "arm": "arm"},
    ...                   "arms": {"control": {"weight": 0.5}, "offer": {"weight": 0.5}}, "control": "control",
    ...                   "metrics": [{"name": "churn", "column": "churned", "kind": "binary",
    ...                                "direction": "decrease"}]})
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"arm": rng.choice(["control", "offer"], 2000), "churned": rng.binomial(1, 0.2, 2000)})
    >>> r = calibrate(d, df, runs=200, seed=1)
    >>> r.tests[0].test, r.tests[0].verdict
    ('pearson_chi2', 'ok')
    """
    import numpy as np

    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise DesignError(f"runs must be a whole number of reshuffles of at least 1; got {runs!r} "
                          f"(e.g. {DEFAULT_RUNS})")
    if not 0.5 < winsor_quantile < 1:
        raise DesignError(f"winsor_quantile must lie between 0.5 and 1 (e.g. {WINSOR_QUANTILE}); "
                          f"got {winsor_quantile!r}")
    observed = analyze(design, data)  # every check of the analysis, on the same data
    source = open_source(data if data is not None else design.resolve(design.data.source))
    if not isinstance(source, DuckDBSource):
        raise DataError(f"calibrate reads its rows through DuckDB (files, duckdb:// tables, DataFrames); "
                        f"{source.label} is on another engine: export the needed columns to Parquet first")
    strata = _strata_columns(design, source.columns, stratum)
    t0 = time.perf_counter()
    arr = _pull(source, design, strata, observed.as_of)
    t1 = time.perf_counter()
    rng = np.random.default_rng(seed)
    arms = list(design.arms)
    k = len(arms)
    control = design.control
    alpha = design.analysis.alpha
    correction = design.analysis.correction
    weights = np.array([design.arms[a].weight for a in arms], dtype=float)
    weights = weights / weights.sum()

    # winsorised twins of the continuous metrics (caps from the pooled mature values: label-free)
    winsor: dict[str, tuple[np.ndarray, tuple[float, float]]] = {}
    moments: dict[str, tuple[float, float]] = {}
    for m in design.metrics:
        if m.kind != "continuous":
            continue
        mask = arr.used[m.name] > 0
        vals = arr.y[m.name][mask]
        lo, hi = (float(v) for v in np.quantile(vals, [1 - winsor_quantile, winsor_quantile]))
        winsor[m.name] = (np.where(mask, np.clip(arr.y[m.name], lo, hi), 0.0), (lo, hi))
        moments[m.name] = _moments(vals)

    sums = _Sums(k)
    for m in design.metrics:
        u, y = arr.used[m.name], arr.y[m.name]
        if m.kind == "binary":
            sums.add(m.name, u, y, y)  # y² = y for 0/1 values
        elif m.covariate is not None:
            x = arr.x[m.name]
            sums.add(m.name, u, y, y * y, x, x * x, x * y)
        else:
            sums.add(m.name, u, y, y * y)
        if m.name in winsor:
            wy = winsor[m.name][0]
            sums.add(m.name + "/winsorized", u, wy, wy * wy)
    sums.freeze()
    caps = {name: c for name, (_, c) in winsor.items()}
    arm_codes, bounds, n_units = arr.arm, arr.bounds, int(arr.arm.size)
    del arr, winsor  # the matrix holds what the runs need; free the columns (memory: one copy, not two)
    flags: dict[tuple[str, str, str | None, str], list[float]] = {}

    def add(metric: str, test: str, arm: str | None, what: str, value: float) -> None:
        flags.setdefault((metric, test, arm, what), []).append(value)

    srm_flags: list[float] = []
    sizes = np.diff(bounds)
    for _ in range(runs):
        labels = permute_within(arm_codes, bounds, rng)
        run_sums = sums.per_arm(labels)
        for m in design.metrics:
            per_arm = sums.stats(run_sums, m.name)
            res = analyze_metric(m, dict(zip(arms, per_arm, strict=True)), control, alpha)
            if res.omnibus is not None:
                add(m.name, res.omnibus.test, None, "reject", _rejects(res.omnibus.p_value, alpha))
            for c in res.comparisons:
                add(m.name, c.test, c.arm, "reject", _rejects(c.p_value, alpha))
                add(m.name, c.test, c.arm, "cover", _covers(c.ci))
                add(m.name, "relative_lift", c.arm, "reject", _rejects(c.rel_p_value, alpha))
                add(m.name, "relative_lift", c.arm, "cover", _covers(c.rel_ci))
            if m.role != "guardrail" and len(res.comparisons) > 0:
                adj = stats.adjust_pvalues([c.p_value for c in res.comparisons], correction)
                ok = ~np.isnan(adj)
                add(m.name, f"family_{correction}", None, "reject",
                    float((adj[ok] < alpha).any()) if ok.any() else math.nan)
            if res.cuped is not None:
                for c in res.cuped.comparisons:
                    add(m.name, "cuped_welch", c.arm, "reject", _rejects(c.p_value, alpha))
                    add(m.name, "cuped_welch", c.arm, "cover", _covers(c.ci))
            if m.name in caps:
                w_stats = sums.stats(run_sums, m.name + "/winsorized")
                ctrl = w_stats[arms.index(control)]
                for a, s in zip(arms, w_stats, strict=True):
                    if a == control:
                        continue
                    c = stats.compare_means(s, ctrl, arm=a, control_name=control, alpha=alpha)
                    add(m.name, "winsorized_welch", a, "reject", _rejects(c.p_value, alpha))
                    add(m.name, "winsorized_welch", a, "cover", _covers(c.ci))
                    add(m.name, "winsorized_relative_lift", a, "reject", _rejects(c.rel_p_value, alpha))
                    add(m.name, "winsorized_relative_lift", a, "cover", _covers(c.rel_ci))
        counts = sum(rng.multinomial(int(n), weights) for n in sizes)
        srm = stats.srm_test(dict(zip(arms, counts.tolist(), strict=True)), dict(zip(arms, weights, strict=True)),
                             design.analysis.srm_alpha)
        srm_flags.append(float(not srm.ok))
        if progress is not None:
            progress(1)
    t2 = time.perf_counter()

    tests = []
    for (metric, test, arm, what), values in flags.items():
        if what != "reject":
            continue
        rej = Rate.of(values)
        cov_values = flags.get((metric, test, arm, "cover"))
        cov = Rate.of(cov_values) if cov_values is not None else None
        tests.append(TestCalibration(metric, test, arm, alpha, rej, cov, verdict(alpha, rej, cov)))
    tails = []
    for m in design.metrics:
        if m.name not in caps:
            continue
        skew, kurt = moments[m.name]
        for a in arms:
            if a == control:
                continue
            welch = Rate.of(flags[(m.name, "welch_t", a, "cover")])
            rel = Rate.of(flags[(m.name, "relative_lift", a, "cover")])
            w_abs = Rate.of(flags[(m.name, "winsorized_welch", a, "cover")])
            w_rel = Rate.of(flags[(m.name, "winsorized_relative_lift", a, "cover")])
            target = 1 - alpha

            def worst(*rates: Rate, target: float = target) -> float:
                return max((abs(r.rate - target) for r in rates if r.runs), default=math.nan)

            tails.append(TailCheck(
                m.name, a, skew, kurt, kurt > HEAVY_KURTOSIS, welch, rel,
                any(r.runs and r.ci[1] < target for r in (welch, rel)),
                f"Welch on values winsorised at the {1 - winsor_quantile:.3g} and {winsor_quantile:.3g} quantiles",
                winsor_quantile, caps[m.name], w_abs, w_rel, bool(worst(w_abs, w_rel) < worst(welch, rel))))
    notes = [f"labels reshuffled within {len(sizes)} strata of {', '.join(strata)}" if strata else
             "labels reshuffled over all units (no stratum column: set data.stratum or strata in the design)",
             "the sample-ratio check is calibrated with multinomial arm counts at the design's weights (a "
             "permutation keeps the observed counts)"]
    if any(m.non_inferiority is not None for m in design.metrics):
        notes.append("non-inferiority tests are not calibrated: under a reshuffle their null (harm at the margin) "
                     "is false")
    return CalibrationResult(design.name, runs, seed, alpha, design.analysis.srm_alpha, strata, len(sizes),
                             n_units, Rate.of(srm_flags), tuple(tests), tuple(tails),
                             {"pull": t1 - t0, "runs": t2 - t1}, tuple(notes))

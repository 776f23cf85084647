"""Difference-in-differences for competitor promotions: the 2×2 design, two-way fixed effects, event studies,
staggered adoption, refutations and the business translation, all from per-cell sufficient statistics.

:class:`DiD` orchestrates: it asks the engine for unit × period sums (:func:`causal.panel.cell_stats`), fits two-way
fixed effects exactly (:mod:`causal.twfe`), chooses the inference (with fewer than 50 clusters the wild cluster
bootstrap, since cluster-robust t tests over-reject with few clusters, badly so with few treated ones), runs the
event study and its pre-trend test, optionally Callaway–Sant'Anna (:mod:`causal.staggered`), the refutations
(:mod:`causal.refute`) and turns the effect into excess churners and value lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from causal.errors import SpecError, TreatmentError
from causal.panel import CellStats, cell_stats, treatment_start
from causal.refute import (
    Refutation,
    leave_one_unit_out,
    not_applicable,
    placebo_start,
    placebo_units,
    pretrend_refutation,
    randomization_test,
)
from causal.results import DidResult, ExcessChurn
from causal.staggered import (
    ControlGroup,
    PretrendBootstrap,
    StaggeredResult,
    callaway_santanna,
    pretrend_bootstrap,
)
from causal.twfe import (
    TwfeFit,
    TwoWayDemeaner,
    WildBootstrap,
    fit_twfe,
    t_inference,
    wald_test,
    wild_cluster_bootstrap,
    wild_wald_test,
)

SeType = Literal["auto", "iid", "hc1", "cluster", "wild"]
SE_TYPES: tuple[str, ...] = ("auto", "iid", "hc1", "cluster", "wild")
PretestType = Literal["bootstrap", "wald"]
PRETESTS: tuple[str, ...] = ("bootstrap", "wald")
FEW_CLUSTERS = 50  # below this many clusters CRV1 t tests over-reject; the wild bootstrap is the default
WEBB_BELOW = 12  # below this many clusters Rademacher has too few distinct draws; Webb's six-point weights instead
SUMS = ("n", "sw", "swy", "swyy", "sww", "swwy", "swwyy")


def check_choice(value: object, allowed: tuple[str, ...], key: str) -> str:
    """Return ``value`` if allowed, else raise :class:`SpecError` listing the allowed values.

    Examples
    --------
    >>> check_choice("hc1", SE_TYPES, "se")
    'hc1'
    """
    if value not in allowed:
        raise SpecError(f"{key}: {value!r} is not allowed; use one of {', '.join(map(repr, allowed))}")
    return str(value)


def excess_churn(att: float, ci: tuple[float, float], exposure: float, value_weight: float | None = None,
                 value_source: str | None = None) -> ExcessChurn:
    """Excess churners ``att × exposure`` and, when ``value_weight = Σ exposure × value`` is given, value lost.

    Examples
    --------
    >>> ec = excess_churn(0.01, (0.005, 0.015), 20000.0, value_weight=20000.0 * 300.0, value_source="constant")
    >>> round(ec.excess, 6), round(ec.value_lost, 2)
    (200.0, 60000.0)
    """
    val = None if value_weight is None else att * value_weight
    vci = None if value_weight is None else (ci[0] * value_weight, ci[1] * value_weight)
    return ExcessChurn(exposure=float(exposure), excess=float(att * exposure),
                       ci=(float(ci[0] * exposure), float(ci[1] * exposure)), value_lost=val, value_ci=vci,
                       value_source=value_source)


class DiD:
    """Difference-in-differences with two-way fixed effects, event study, staggered adoption and refutations.

    Parameters
    ----------
    unit, time, outcome, treat : str
        Columns: unit id (region), period (integer index or date), outcome (churn indicator or churn rate),
        treatment (0/1, absorbing: once a unit starts it stays treated).
    weight : str, optional
        Analytic weights, e.g. ``subscribers`` of each region-month row.
    cluster : str, optional
        Cluster column (constant within cells); defaults to ``unit``.
    covariates : sequence of str
        Cell-level covariates.
    se : {"auto", "iid", "hc1", "cluster", "wild"}
        Inference. ``"auto"``: wild cluster bootstrap with fewer than 50 clusters, else CRV1.
    alpha : float
        Significance level.
    staggered : bool
        Also estimate Callaway–Sant'Anna and report its simple ATT as the headline.
    control : {"never", "notyet"}
        Control group of the staggered estimator.
    event_window : tuple[int, int], optional
        Bin event times below/above this window into its end points.
    n_boot, n_perm, n_placebo : int
        Wild-bootstrap draws, randomization permutations (0 to skip), placebo-unit draws (0 to skip).
    boot_weights : {"auto", "rademacher", "webb"}
        Wild-bootstrap weights; ``"auto"`` is Webb below 12 clusters, else Rademacher.
    refute : bool
        Run the refutations.
    pretest : {"bootstrap", "wald"}
        Pre-trend test that decides with ``staggered``. ``"bootstrap"`` (default): the Wald statistic on the
        pre-period event-time effects (one per lead instead of one per (group, time) cell) with a wild bootstrap
        p-value that recomputes their covariance in every draw (:func:`causal.staggered.pretrend_bootstrap`); it
        keeps its level with few units. ``"wald"``: R ``did``'s χ² Wald test on all pre-period ATT(g, t), which is
        badly over-sized when those are many relative to the units (it is always reported).
    pretest_draws : int
        Bootstrap draws of the pre-trend test.
    value : float or str, optional
        Value per subscriber (a number, or a column averaged per cell) for the value lost.
    rng : numpy.random.Generator, int or None
        Randomness for the bootstrap, permutations and placebo draws.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> panel = pd.DataFrame([(r, m) for r in range(20) for m in range(1, 9)], columns=["region", "month"])
    >>> panel["promo"] = ((panel.region < 8) & (panel.month >= 5)).astype(int)
    >>> panel["churn"] = 0.02 + 0.01 * panel.promo + rng.normal(0, 0.002, len(panel))
    >>> res = DiD(unit="region", time="month", outcome="churn", treat="promo", n_perm=0, rng=1).fit(panel).result_
    >>> round(res.att, 2), res.se_type
    (0.01, 'wild')
    """

    def __init__(
        self, *, unit: str, time: str, outcome: str, treat: str, weight: str | None = None,
        cluster: str | None = None, covariates: tuple[str, ...] | list[str] = (), se: SeType = "auto",
        alpha: float = 0.05, staggered: bool = False, control: ControlGroup = "never",
        event_window: tuple[int, int] | None = None, n_boot: int = 9999, n_perm: int = 999, n_placebo: int = 200,
        boot_weights: Literal["auto", "rademacher", "webb"] = "auto", refute: bool = True,
        value: float | str | None = None, rng: np.random.Generator | int | None = None,
        pretest: PretestType = "bootstrap", pretest_draws: int = 999,
    ) -> None:
        self.unit = unit
        self.time = time
        self.outcome = outcome
        self.treat = treat
        self.weight = weight
        self.cluster = cluster
        self.covariates = covariates
        self.se = se
        self.alpha = alpha
        self.staggered = staggered
        self.control = control
        self.event_window = event_window
        self.n_boot = n_boot
        self.n_perm = n_perm
        self.n_placebo = n_placebo
        self.boot_weights = boot_weights
        self.refute = refute
        self.value = value
        self.rng = rng
        self.pretest = pretest
        self.pretest_draws = pretest_draws

    def fit(self, data: Any) -> DiD:
        """Aggregate ``data`` (DataFrame or Ibis table) in the engine and estimate; sets ``cells_`` and ``result_``."""
        check_choice(self.se, SE_TYPES, "se")
        check_choice(self.control, ("never", "notyet"), "control")
        check_choice(self.boot_weights, ("auto", "rademacher", "webb"), "boot_weights")
        check_choice(self.pretest, PRETESTS, "pretest")
        if self.staggered and self.pretest == "bootstrap" and self.pretest_draws < 99:
            raise SpecError(f"pretest_draws={self.pretest_draws} is too few bootstrap draws for the pre-trend "
                            "test; use at least 99 (999 is the default)")
        if not 0 < self.alpha < 0.5:
            raise SpecError(f"alpha={self.alpha} is not allowed; use a level between 0 and 0.5, e.g. 0.05")
        value_col = self.value if isinstance(self.value, str) else None
        cells = cell_stats(data, unit=self.unit, time=self.time, outcome=self.outcome, treat=self.treat,
                           weight=self.weight, cluster=self.cluster, covariates=tuple(self.covariates),
                           value=value_col)
        self.cells_ = cells
        with _single_threaded_blas():
            self.result_ = estimate(cells, self)
        return self


def _single_threaded_blas() -> Any:
    """Small-matrix statistics run fastest on one BLAS thread; threads only add synchronisation (badly so on a
    loaded machine: 20× slower measured with 2 threads at load 10 on 2 cores)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


# --------------------------------------------------------------------------------------------------------------------
# Estimation on cells (pure functions of the cell statistics and the settings)


@dataclass(frozen=True, slots=True)
class _Layout:
    """Integer layout of the cells: unit index, period position, cluster codes, start position per unit."""

    unit_idx: np.ndarray
    unit_labels: np.ndarray
    pos: np.ndarray
    periods: np.ndarray
    cluster: np.ndarray
    start: np.ndarray  # per unit, -1 never treated


def _layout(cells: CellStats, treat: str = "treatment") -> _Layout:
    tab = cells.table
    unit_labels, unit_idx = np.unique(tab["unit"].to_numpy(), return_inverse=True)
    periods, pos = np.unique(tab["time"].to_numpy(), return_inverse=True)
    _, cl = np.unique(tab["cluster"].astype(str).to_numpy() if tab["cluster"].dtype == object
                      else tab["cluster"].to_numpy(), return_inverse=True)
    starts = treatment_start(cells, treat)
    period_pos = {p: i for i, p in enumerate(periods)}
    start = np.array([-1 if pd.isna(starts.get(u)) else period_pos[starts.get(u)] for u in unit_labels])
    return _Layout(unit_idx=unit_idx, unit_labels=unit_labels, pos=pos, periods=periods, cluster=cl, start=start)


def _sums(tab: pd.DataFrame, keep: np.ndarray | None = None) -> dict[str, np.ndarray]:
    return {s: (tab[s].to_numpy(float) if keep is None else tab[s].to_numpy(float)[keep]) for s in SUMS}


def event_time_design(lay: _Layout, window: tuple[int, int] | None) -> tuple[np.ndarray, list[int]]:
    """Event-time dummies per cell (reference −1; never-treated rows all zero), with optional end-point bins.

    Without never-treated units the earliest lead is also dropped (otherwise the dummies are collinear with the
    period effects).
    """
    s = lay.start[lay.unit_idx]
    treated = s >= 0
    rel = np.where(treated, lay.pos - s, 0)
    if window is not None:
        lo, hi = window
        if not lo < -1 < hi + 1 or lo >= 0:
            raise SpecError(f"event_window {window} must contain -1 and 0 with a negative lower end, e.g. (-6, 6)")
        rel = np.clip(rel, lo, hi)
    values = sorted(set(rel[treated].tolist()) - {-1})
    if not (lay.start < 0).any() and values and values[0] < -1:
        values = values[1:]
    X = np.stack([(treated & (rel == r)).astype(float) for r in values], axis=1) if values else np.zeros((len(s), 0))
    return X, values


MIN_CLUSTERS = 3  # with 2 clusters (one treated, one comparison) cluster-robust inference has nothing to work with


def allowed_inference(G: int, n_treated_clusters: int) -> dict[str, str]:
    """Which standard errors the data allow: ``{"iid": "", "hc1": "", "cluster": reason, ...}``; an empty string
    means allowed, otherwise the reason it is not applicable.

    Examples
    --------
    >>> allowed_inference(2, 1)["cluster"][:40]
    'not applicable: there are only 2 cluster'
    """
    out = {"iid": "", "hc1": "", "cluster": "", "wild": ""}
    if G < MIN_CLUSTERS:
        why = (f"not applicable: there are only {G} clusters ({n_treated_clusters} treated); the cluster-robust "
               "variance has G - 1 = 1 degree of freedom and the wild cluster bootstrap only 2^G sign draws, so "
               "neither can assess correlation within the groups. With the treated and the comparison group given "
               "as the unit, inference rests on the rows being independent (iid or HC1), as in a textbook 2×2 "
               "repeated cross-section")
        out["cluster"] = out["wild"] = why
    return out


def _choose_se(se: str, G: int, n_treated_clusters: int,
               allowed: dict[str, str] | None = None) -> tuple[str, str]:
    allowed = allowed or {}
    if se in ("cluster", "wild") and allowed.get(se):
        return "hc1", (f"{'cluster-robust (CRV1)' if se == 'cluster' else 'wild cluster bootstrap'} inference was "
                       f"requested but is {allowed[se]}. Warning: reporting HC1 heteroskedasticity-robust standard "
                       "errors instead.")
    if se == "auto" and allowed.get("cluster"):
        return "hc1", (f"HC1 heteroskedasticity-robust standard errors: cluster-robust inference is "
                       f"{allowed['cluster']}.")
    if se != "auto":
        reason = {"iid": "iid standard errors as requested (they ignore correlation within units over time).",
                  "hc1": "HC1 heteroskedasticity-robust standard errors as requested (they ignore correlation "
                         "within units over time).",
                  "cluster": f"cluster-robust (CRV1) standard errors by cluster, as requested ({G} clusters).",
                  "wild": f"wild cluster bootstrap as requested ({G} clusters)."}[se]
        if se == "cluster" and G < FEW_CLUSTERS:
            reason += (f" Warning: with {G} < {FEW_CLUSTERS} clusters CRV1 tests over-reject; "
                       "use --se wild.")
        return se, reason
    if G < FEW_CLUSTERS:
        return "wild", (f"wild cluster bootstrap because there are only {G} clusters (< {FEW_CLUSTERS}) and "
                        f"{n_treated_clusters} treated: cluster-robust standard errors are too small with few "
                        "clusters (with a single treated cluster by a factor of up to six), so CRV1 tests "
                        "over-reject.")
    return "cluster", f"cluster-robust (CRV1) standard errors with {G} clusters (≥ {FEW_CLUSTERS})."


def estimate(cells: CellStats, cfg: DiD) -> DidResult:
    """Run the full analysis on cell statistics with the settings of ``cfg`` (a :class:`DiD`)."""
    tab = cells.table
    lay = _layout(cells, repr(cfg.treat))
    n_units = len(lay.unit_labels)
    G = int(lay.cluster.max()) + 1
    if G < 2:
        raise SpecError(
            f"only one cluster in {cells.cluster_name!r}: standard errors cannot be estimated from a single cluster; "
            "cluster by the unit (region) or pass data with more clusters"
        )
    n_treated = int((lay.start >= 0).sum())
    if n_treated == 0:
        raise TreatmentError(f"treatment column {cfg.treat!r} is 0 everywhere: no unit is ever treated, so there is "
                             "no effect to estimate; check the column or the data filter")
    if (lay.start < 0).sum() == 0 and not (cfg.staggered and cfg.control == "notyet"):
        raise TreatmentError(
            f"no untreated units: every unit in {cfg.unit!r} is treated at some point, so there is no never-treated "
            "comparison; pass --staggered with control 'notyet' (not-yet-treated units as controls) if start "
            "dates differ, or add untreated regions"
        )
    if (lay.start == 0).all():
        raise TreatmentError("every treated unit is treated from the first period: there is no pre-period")
    rng = np.random.default_rng(cfg.rng)
    covs = [f"cov__{c}" for c in cells.covariates]
    Xd = np.column_stack([tab["treat"].to_numpy(float), *(tab[c].to_numpy(float) for c in covs)])
    names = (cfg.treat, *cells.covariates)
    sums = _sums(tab)
    fit = fit_twfe(Xd, names, lay.unit_idx, lay.pos, lay.cluster, sums)
    treated_clusters = int(len(np.unique(lay.cluster[tab["treat"].to_numpy() > 0])))
    allowed = allowed_inference(G, treated_clusters)
    se_type, se_reason = _choose_se(cfg.se, G, treated_clusters, allowed)
    wild = None
    if se_type == "wild":
        bw = cfg.boot_weights if cfg.boot_weights != "auto" else ("webb" if G < WEBB_BELOW else "rademacher")
        wild = wild_cluster_bootstrap(Xd, 0, lay.unit_idx, lay.pos, lay.cluster, sums, fit, n_draws=cfg.n_boot,
                                      weights=bw, alpha=cfg.alpha, rng=rng)  # type: ignore[arg-type]
        se_reason += f" {wild.n_draws} {bw} draws" + (" (all sign vectors, exact)." if wild.enumerated else ".")
    vkey = {"iid": "iid", "hc1": "hc1", "cluster": "crv1", "wild": "crv1"}[se_type]
    att = float(fit.coef[0])
    se = float(fit.se(vkey)[0])
    p, ci = t_inference(att, se, fit.df[vkey], cfg.alpha)
    if wild is not None:
        p, ci = wild.p_value, wild.ci
    twfe_tab = _twfe_table(fit, cfg.alpha, wild, crv1_ok=not allowed["cluster"])

    es, pre_stat, pre_p, pre_q, pre_note = _event_study(cells, lay, cfg, vkey, sums,
                                                        wild.weights if wild is not None else None, rng)
    notes = [
        "Two-way fixed effects (unit and period effects) computed exactly from per unit × period sums "
        f"({len(tab)} cells from {cells.n_obs} rows, aggregated by {cells.source}); equal to the row-level "
        "regression with pyfixest's small-sample corrections.",
        f"Inference: {se_reason}",
    ]
    stag = None
    headline = (att, se, ci, p, se_type)
    if cfg.staggered:
        stag = _staggered(cells, lay, cfg)
        headline = (stag.simple.att, stag.simple.se, stag.simple.ci,
                    float(2 * _norm_sf(abs(stag.simple.att / stag.simple.se))), "cs-influence")
        notes.append(
            f"Staggered adoption: Callaway–Sant'Anna group-time effects with {cfg.control}-treated controls; the "
            "headline is their group-size weighted average over post-treatment periods (R did's 'simple'); TWFE "
            f"for comparison: {att:.4g}."
        )
    refs: dict[str, Refutation] = {"pretrend": pretrend_refutation(pre_stat, pre_p, pre_q, cfg.alpha, pre_note)}
    if cfg.refute:
        refs.update(_refutations(cells, lay, cfg, Xd, att, ci, rng))
    if cfg.n_perm:
        fc = _coef_fitter(cells, lay, Xd[:, 1:])
        refs["randomization"] = randomization_test(lay.pos, lay.unit_idx, lay.start, att, fc, n_perm=cfg.n_perm,
                                                   alpha=cfg.alpha, rng=rng)
    pboot = None
    if stag is not None:
        # With staggered starts and effects that differ by cohort, TWFE event-study leads are contaminated by other
        # cohorts' lags (Sun and Abraham 2021); the Callaway–Sant'Anna pre-test compares clean 2×2 cells instead.
        # (Drawn after the refutations so that their random streams do not depend on the pre-test setting.)
        if cfg.pretest == "bootstrap" and not stag.att_gt["post"].all():
            Y, w = _staggered_panel(cells, lay)
            pboot = pretrend_bootstrap(Y, lay.start, weights=w, control=cfg.control, n_draws=cfg.pretest_draws,
                                       rng=rng)
        refs["pretrend"] = staggered_pretrend(stag, pboot, refs["pretrend"], pre_q, cfg.alpha)
        pre_stat, pre_p = refs["pretrend"].estimate, refs["pretrend"].p_value
    treated_cells = tab["treat"].to_numpy() > 0
    exposure = float(tab.loc[treated_cells, "sw"].sum())
    if isinstance(cfg.value, str):
        vw: float | None = float((tab.loc[treated_cells, "sw"] * tab.loc[treated_cells, "value"]).sum())
        vsrc: str | None = f"column {cfg.value}"
    elif cfg.value is not None:
        vw, vsrc = exposure * float(cfg.value), "constant"
    else:
        vw, vsrc = None, None
    kind = cells.outcome_kind
    business = excess_churn(headline[0], headline[2], exposure, vw, vsrc) if kind != "other" else None
    if business is None:
        lo, hi = cells.outcome_range
        notes.append(f"The outcome {cfg.outcome!r} ranges {lo:.6g} to {hi:.6g}, so it is not a churn indicator (0/1) "
                     "or churn rate (in [0, 1]): the effect is reported in the outcome's own units, without excess "
                     "churners or value lost.")
    headline_inference = _inference_headline(se_type, allowed, refs)
    return DidResult(
        att=float(headline[0]), se=float(headline[1]), ci=(float(headline[2][0]), float(headline[2][1])),
        p_value=float(headline[3]), se_type=headline[4], se_reason=se_reason, n_obs=cells.n_obs, n_cells=len(tab),
        n_units=n_units, n_periods=len(lay.periods), n_clusters=G, n_treated_units=n_treated, twfe=twfe_tab,
        wild=wild, event_study=es, pretrend_stat=pre_stat, pretrend_p=pre_p, staggered=stag, refutations=refs,
        business=business, alpha=cfg.alpha, notes=notes, pretrend_bootstrap=pboot, outcome_kind=kind,
        inference=allowed, inference_headline=headline_inference,
    )


def _inference_headline(se_type: str, allowed: dict[str, str], refs: dict[str, Refutation]) -> str:
    """One sentence: which inference the data allow and which checks could not run."""
    ok = [k for k, v in allowed.items() if not v]
    label = {"iid": "iid", "hc1": "HC1", "cluster": "cluster-robust", "wild": "wild cluster bootstrap"}
    text = f"The data allow {', '.join(label[k] for k in ok)} inference (reported: {label.get(se_type, se_type)})"
    no = [label[k] for k, v in allowed.items() if v]
    if no:
        text += f"; not {', '.join(no)} (too few clusters)"
    na = [r.name.replace("_", " ") for r in refs.values() if not r.applicable]
    if na:
        text += f"; not applicable here: {', '.join(na)}"
    return text + "."


def _norm_sf(x: float) -> float:
    from scipy import stats

    return float(stats.norm.sf(x))


def _twfe_table(fit: TwfeFit, alpha: float, wild: WildBootstrap | None, crv1_ok: bool = True) -> pd.DataFrame:
    """TWFE coefficients with each SE type; the CRV1 row holds NaN when too few clusters make it meaningless."""
    rows = []
    nan = float("nan")
    for i, name in enumerate(fit.names):
        for kind in ("iid", "hc1", "crv1"):
            if kind == "crv1" and not crv1_ok:
                rows.append({"term": name, "se_type": kind, "coef": float(fit.coef[i]), "se": nan, "p_value": nan,
                             "ci_lo": nan, "ci_hi": nan, "df": fit.df[kind]})
                continue
            se = float(fit.se(kind)[i])
            p, ci = t_inference(float(fit.coef[i]), se, fit.df[kind], alpha)
            rows.append({"term": name, "se_type": kind, "coef": float(fit.coef[i]), "se": se, "p_value": p,
                         "ci_lo": ci[0], "ci_hi": ci[1], "df": fit.df[kind]})
        if i == 0 and wild is not None:
            rows.append({"term": name, "se_type": "wild", "coef": float(fit.coef[i]),
                         "se": float(fit.se("crv1")[i]), "p_value": wild.p_value, "ci_lo": wild.ci[0],
                         "ci_hi": wild.ci[1], "df": fit.df["crv1"]})
    return pd.DataFrame(rows)


def _event_study(cells: CellStats, lay: _Layout, cfg: DiD, vkey: str, sums: dict[str, np.ndarray],
                 wild_weights: str | None, rng: np.random.Generator) -> tuple[pd.DataFrame, float, float, int, str]:
    tab = cells.table
    E, rels = event_time_design(lay, cfg.event_window)
    covs = [tab[f"cov__{c}"].to_numpy(float) for c in cells.covariates]
    X = np.column_stack([E, *covs]) if covs else E
    names = tuple(f"rel_{r}" for r in rels) + tuple(cells.covariates)
    fit = fit_twfe(X, names, lay.unit_idx, lay.pos, lay.cluster, sums)
    rows = [{"rel_time": -1, "coef": 0.0, "se": 0.0, "ci_lo": 0.0, "ci_hi": 0.0, "p_value": float("nan")}]
    se = fit.se(vkey)
    for i, r in enumerate(rels):
        p, ci = t_inference(float(fit.coef[i]), float(se[i]), fit.df[vkey], cfg.alpha)
        rows.append({"rel_time": int(r), "coef": float(fit.coef[i]), "se": float(se[i]), "ci_lo": ci[0],
                     "ci_hi": ci[1], "p_value": p})
    es = pd.DataFrame(rows).sort_values("rel_time").reset_index(drop=True)
    leads = [i for i, r in enumerate(rels) if r < -1]
    note = ""
    if leads:
        stat, p, q = wald_test(fit.coef[leads], fit.vcov[vkey][np.ix_(leads, leads)], fit.df[vkey])
        if wild_weights is not None:
            # few clusters: the CRV1 Wald F over-rejects (more so the more leads); bootstrap it with the null imposed
            ww = wild_wald_test(X, leads, lay.unit_idx, lay.pos, lay.cluster, sums, fit, n_draws=cfg.n_boot,
                                weights=wild_weights, rng=rng)  # type: ignore[arg-type]
            note = f" (wild cluster bootstrap p; the CRV1 F test alone gives p = {p:.3f})"
            p = ww.p_value
    else:
        stat, p, q = float("nan"), float("nan"), 0
    return es, stat, p, q, note


def _staggered_panel(cells: CellStats, lay: _Layout) -> tuple[np.ndarray, np.ndarray | None]:
    """Unit × period outcome matrix (NaN where a cell is missing) and unit weights (mean cell weight) or None."""
    tab = cells.table
    n_u, T = len(lay.unit_labels), len(lay.periods)
    Y = np.full((n_u, T), np.nan)
    Y[lay.unit_idx, lay.pos] = cells.mean
    w = None
    if cells.weighted:
        sw = np.zeros(n_u)
        np.add.at(sw, lay.unit_idx, tab["sw"].to_numpy(float))
        w = sw / np.bincount(lay.unit_idx, minlength=n_u)
    return Y, w


def _staggered(cells: CellStats, lay: _Layout, cfg: DiD) -> StaggeredResult:
    Y, w = _staggered_panel(cells, lay)
    return callaway_santanna(Y, lay.start, lay.periods, weights=w, control=cfg.control, alpha=cfg.alpha)


def staggered_pretrend(stag: StaggeredResult, boot: PretrendBootstrap | None, twfe_pre: Refutation, twfe_leads: int,
                       alpha: float) -> Refutation:
    """The staggered design's pre-trend refutation, saying which test decided and why.

    With ``boot`` (the default) the wild bootstrap of the event-time Wald statistic decides and R ``did``'s χ²
    pre-test on every pre-period ATT(g, t) is quoted next to it; without it that χ² test decides. The TWFE leads
    test (``twfe_pre``) is quoted for comparison only.
    """
    n_pre = int((~stag.att_gt["post"]).sum())
    if n_pre == 0:
        return not_applicable("pretrend", "there are no pre-treatment group-time effects to test (every cohort "
                              "starts in the second period, so there is no earlier change to compare)",
                              {"n_leads": 0, "test": "none"})
    r_did = (f"R did's χ² Wald test of all {n_pre} pre-period group-time effects gives χ² = {stag.pretest_w:.3g} on "
             f"{stag.pretest_df} df (p = {stag.pretest_p:.3g})")
    twfe = (f" The TWFE event-study leads give F = {twfe_pre.estimate:.3g} (p = {twfe_pre.p_value:.3f}); with "
            "cohort-specific effects those leads can be contaminated by other cohorts' effects, so they do not "
            "decide.")
    details: dict[str, Any] = {"r_did_wald": stag.pretest_w, "r_did_df": stag.pretest_df,
                               "r_did_p": stag.pretest_p, "n_pre_att_gt": n_pre, "n_units": stag.n_units,
                               "twfe_leads_stat": twfe_pre.estimate, "twfe_leads_p": twfe_pre.p_value,
                               "twfe_leads_n": twfe_leads}
    if boot is None:
        ok = bool(not np.isfinite(stag.pretest_p) or stag.pretest_p >= alpha)
        msg = (f"Pre-trend test (R did's χ² Wald, as requested): the {n_pre} pre-period group-time effects "
               "(Callaway–Sant'Anna) are jointly " + ("indistinguishable from zero" if ok else "different from zero")
               + f" (Wald χ² = {stag.pretest_w:.3g}, {stag.pretest_df} df, p = {stag.pretest_p:.3f})"
               + ("." if ok else "; treated and comparison units were already diverging before the promotion.")
               + f" Its covariance of {n_pre} effects is estimated from {stag.n_units} units; with few units per "
               "effect this test is over-sized (pretest='bootstrap' keeps its level).")
        return Refutation("pretrend", stag.pretest_w, stag.pretest_p, ok, msg + twfe,
                          {"test": "r-did-chi2-wald", "n_leads": stag.pretest_df, **details})
    ok = bool(boot.p_value >= alpha)
    es = boot.event_times
    msg = (f"Pre-trend test: the {len(es)} pre-period event-time effects (Callaway–Sant'Anna, {int(es.min())} to "
           f"{int(es.max())} periods before the start) are jointly "
           + ("indistinguishable from zero" if ok else "different from zero")
           + f" (Wald χ² = {boot.stat:.3g}, wild bootstrap p = {boot.p_value:.3f} from {boot.n_draws} draws)"
           + ("." if ok else "; treated and comparison units were already diverging before the promotion.")
           + f" The bootstrap decides because the χ² references need many units per estimated covariance entry: "
           f"{r_did}, and the χ²({boot.df}) reference for the event-time statistic gives p = "
           f"{boot.asymptotic_p:.3g}; with {stag.n_units} units both can be badly over-sized, while the bootstrap "
           "recomputes the covariance in every draw under the null of parallel trends.")
    return Refutation("pretrend", boot.stat, boot.p_value, ok, msg + twfe,
                      {"test": "wild-bootstrap-event-time-wald", "n_leads": len(es), "n_draws": boot.n_draws,
                       "event_time_chi2_df": boot.df, "event_time_chi2_p": boot.asymptotic_p, **details})


def _coef_fitter(cells: CellStats, lay: _Layout, covs: np.ndarray) -> Any:
    """``f(keep, treat) -> coef`` of the treatment on a subset of cells (FWL; the projection is reused)."""
    tab = cells.table
    sw_all = tab["sw"].to_numpy(float)
    ybar_all = cells.mean
    cache: dict[bytes, tuple[TwoWayDemeaner, np.ndarray, np.ndarray]] = {}

    def f(keep: np.ndarray, treat: np.ndarray) -> float:
        key = np.packbits(keep).tobytes()
        if key not in cache:
            u = np.unique(lay.unit_idx[keep], return_inverse=True)[1]
            t = np.unique(lay.pos[keep], return_inverse=True)[1]
            M = TwoWayDemeaner(u, t, sw_all[keep])
            cache.clear()
            cache[key] = (M, M(ybar_all[keep]), M(covs[keep]) if covs.shape[1] else covs[keep])
        M, ydd, cdd = cache[key]
        w = sw_all[keep]
        xdd = np.column_stack([M(treat[keep]), cdd]) if cdd.shape[1] else M(treat[keep])[:, None]
        xtx = xdd.T @ (xdd * w[:, None])
        if xtx[0, 0] <= 1e-12 * max(1.0, float(np.sum(w * treat[keep] ** 2))):
            return float("nan")
        return float(np.linalg.solve(xtx, xdd.T @ (w * ydd))[0])

    return f


def _refutations(cells: CellStats, lay: _Layout, cfg: DiD, Xd: np.ndarray, att: float,
                 ci: tuple[float, float], rng: np.random.Generator) -> dict[str, Refutation]:
    tab = cells.table
    sums = _sums(tab)
    covs = Xd[:, 1:]
    fc = _coef_fitter(cells, lay, covs)
    vkey = "crv1"

    def fit_se(keep: np.ndarray, treat: np.ndarray) -> tuple[float, float, float]:
        X = np.column_stack([treat[keep], covs[keep]])
        s = {k: v[keep] for k, v in sums.items()}
        f = fit_twfe(X, ("placebo",) + tuple(cells.covariates), lay.unit_idx[keep], lay.pos[keep],
                     lay.cluster[keep], s)
        se = float(f.se(vkey)[0])
        p, _ = t_inference(float(f.coef[0]), se, f.df[vkey], cfg.alpha)
        return float(f.coef[0]), se, p

    out = {"placebo_start": placebo_start(lay.pos, lay.unit_idx, lay.start, fit_se, alpha=cfg.alpha)}
    if cfg.n_placebo:
        out["placebo_units"] = placebo_units(lay.pos, lay.unit_idx, lay.start, att, fc, n_draws=cfg.n_placebo,
                                             alpha=cfg.alpha, rng=rng)
    out["leave_one_unit_out"] = leave_one_unit_out(lay.unit_idx, lay.unit_labels, att, ci, fc,
                                                   tab["treat"].to_numpy(float))
    return out


def did_2x2(data: Any, *, outcome: str, group: str, post: str, weight: str | None = None,
            cluster: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """The classic 2×2 design: ``y ~ group + post + group×post`` (pooled cross-sections or a panel).

    The interaction coefficient equals TWFE with the group as the "unit" and ``post`` as the period, so it is
    computed from the four cells' sums. Returns the TWFE table (iid, HC1 and, with ``cluster``, CRV1 rows).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"g": [0, 0, 1, 1, 0, 1], "p": [0, 1, 0, 1, 1, 1], "y": [1., 2., 1., 4., 2.2, 3.8]})
    >>> round(did_2x2(d, outcome="y", group="g", post="p").query("se_type == 'iid'").coef.item(), 6)
    1.8
    """
    if isinstance(data, pd.DataFrame):
        for role, col in (("group", group), ("post", post)):
            vals = set(pd.unique(data[col].dropna())) if col in data.columns else set()
            if col in data.columns and not vals <= {0, 1}:
                raise SpecError(f"{role} column {col!r} has values {sorted(map(str, vals))[:5]}; use 0/1")
        frame = data.assign(__d=(data[group] * data[post]) if group in data.columns and post in data.columns else 0)
    else:
        frame = data.mutate(__d=data[group] * data[post])
    cells = cell_stats(frame, unit=group, time=post, outcome=outcome, treat="__d", weight=weight, cluster=cluster)
    tab = cells.table
    if len(tab) != 4:
        raise TreatmentError(f"the 2×2 design needs all four group × period cells; found {len(tab)}")
    X = tab["treat"].to_numpy(float)[:, None]
    fit = fit_twfe(X, (f"{group}:{post}",), tab["unit"].to_numpy(), tab["time"].to_numpy(),
                   tab["cluster"].to_numpy(), _sums(tab))
    out = _twfe_table(fit, alpha, None)
    return out if cluster is not None else out[out["se_type"] != "crv1"].reset_index(drop=True)

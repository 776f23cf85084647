"""``retention predict`` as the report's "early warning" section, in English or Simplified Chinese.

Model comparison with intervals across folds, Recall@K against the maximum possible, class weights vs SMOTE, the
gains, lift and calibration charts, the drivers (global importance and beeswarm), **predictive, not causal**, and,
where a duration exists, the survival risk score against the classifier on the same subscribers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from experiments.diagnosis.ranking import k_count
from experiments.report.format import fmt_pct
from experiments.report.i18n import Lang, msg
from experiments.report.sections import ReportSection, TrustCheck

if TYPE_CHECKING:
    from experiments.diagnosis.predict_results import PredictResult


def _p(x: float) -> str:
    return fmt_pct(x, 1)


def predict_conclusions(r: PredictResult, lang: Lang = "en") -> list[str]:
    """Plain sentences: the best model with its AUC interval, Recall@K, SMOTE, the guard, drivers, risk comparison."""
    b = r.score_of(r.best)
    m = b.metrics
    out = [msg("diag.predict.best", lang, k=r.k_label, model=r.best, auc=f"{m['roc_auc'].mean:.3f}",
               folds=r.folds, lo=f"{m['roc_auc'].lo:.3f}", hi=f"{m['roc_auc'].hi:.3f}", pr=f"{m['pr_auc'].mean:.3f}")]
    kk = k_count(r.k, r.n)
    out.append(msg("diag.predict.recall", lang, k=r.k_label, count=f"{kk:,}", recall=_p(b.pooled["recall_at_k"]),
                   precision=_p(b.pooled["precision_at_k"]), lift=f"{b.pooled['lift_at_k']:.2f}",
                   max=_p(min(1.0, kk / max(r.n_positive, 1)))))
    cmp = r.balance_comparison()
    if cmp is not None:
        for row in cmp.to_dict("records"):
            out.append(msg("diag.predict.smote", lang, model=row["model"], auc=f"{row['roc_auc_diff']:+.3f}",
                           recall=f"{100 * row['recall_at_k_diff']:+.1f} pp"))
    if r.comparison is not None and len(r.comparison):
        c = r.comparison
        out.append(msg("diag.predict.risk", lang, n=f"{int(c['n'].iloc[0]):,}", k=r.k_label,
                       risk=_p(float(c["recall_at_k"].iloc[0])), clf=_p(float(c["recall_at_k"].iloc[1])),
                       max=_p(float(c["max_recall_at_k"].iloc[0]))))
    if len(r.drivers):
        out.append(msg("diag.predict.drivers", lang, items=", ".join(
            f"{f} ({s:.0%})" for f, s in zip(r.drivers["feature"].head(5), r.drivers["share"].head(5), strict=True))))
    dropped = {c: why for c, why in r.features.dropped.items() if why != "target"}
    if dropped:
        out.append(msg("diag.predict.dropped", lang, items="; ".join(f"{c} ({why})" for c, why in dropped.items())))
    if r.features.coerced:
        out.append(msg("diag.predict.coerced", lang,
                       items=", ".join(f"{c} ({n:,})" for c, n in r.features.coerced.items())))
    out.append(msg("diag.predict.not_causal", lang))
    return out


def _ci(metric, pct: bool = False) -> str:
    """``mean [lo, hi]`` of a :class:`~experiments.diagnosis.predict_results.FoldMetric`."""
    f = _p if pct else (lambda v: f"{v:.3f}")
    return f"{f(metric.mean)} [{f(metric.lo)}, {f(metric.hi)}]"


def models_table(r: PredictResult) -> pd.DataFrame:
    """One row per model: mean [interval across folds] of ROC AUC, PR AUC, Recall@K, precision@K, lift, F1, ECE."""
    rows = []
    for s in r.scores:
        m = s.metrics
        rows.append({"model": s.name, "ROC AUC": _ci(m["roc_auc"]), "PR AUC": _ci(m["pr_auc"]),
                     f"Recall@{r.k_label}": _ci(m["recall_at_k"], True),
                     f"precision@{r.k_label}": _ci(m["precision_at_k"], True),
                     f"lift@{r.k_label}": f"{m['lift_at_k'].mean:.2f}",
                     f"precision@{r.threshold:g}": _p(m["precision"].mean),
                     f"recall@{r.threshold:g}": _p(m["recall"].mean),
                     "F1": f"{m['f1'].mean:.3f}", "ECE": f"{m['ece'].mean:.3f}", "s": f"{s.seconds:.1f}"})
    return pd.DataFrame(rows)


def predict_checks(r: PredictResult, lang: Lang = "en") -> list[TrustCheck]:
    """Calibration of the saved model's out-of-fold probabilities (a warning above an ECE of 0.05)."""
    b = r.score_of(r.best)
    ece = b.pooled["ece"]
    key = "ok" if ece <= 0.05 else "warn"
    return [TrustCheck(msg("diag.predict.check.calibration", lang), "ok" if key == "ok" else "warning",
                       msg(f"diag.predict.calibration.{key}", lang, model=r.best, ece=f"{ece:.3f}"))]


def predict_section(r: PredictResult, lang: Lang = "en") -> ReportSection:
    """The "early warning" section: conclusions, tables, figures, the calibration check and method notes."""
    from experiments.diagnosis.predict_results import PREDICTIVE_NOT_CAUSAL

    tables: list[tuple[str, object]] = [(msg("diag.predict.tab.models", lang), models_table(r))]
    drivers = r.drivers.head(20).assign(mean_abs_shap=lambda d: d["mean_abs_shap"].round(4),
                                        share=lambda d: d["share"].map(_p))
    tables.append((msg("diag.predict.tab.drivers", lang, model=r.best), drivers))
    if r.comparison is not None and len(r.comparison):
        c = r.comparison.copy()
        for col in ("recall_at_k", "precision_at_k", "max_recall_at_k"):
            c[col] = c[col].map(_p)
        c["roc_auc"] = c["roc_auc"].round(3)
        tables.append((msg("diag.predict.tab.risk", lang), c))
    dropped = pd.DataFrame([{"column": c, "why": why} for c, why in r.features.dropped.items()])
    tables.append((msg("diag.predict.tab.dropped", lang), dropped))
    figs = []
    try:
        from experiments.diagnosis import predict_plots as pp

        figs = [(msg("diag.predict.fig.gains", lang), pp.gains_figure(r, lang)),
                (msg("diag.predict.fig.lift", lang), pp.lift_figure(r, lang)),
                (msg("diag.predict.fig.calibration", lang), pp.calibration_figure(r, lang)),
                (msg("diag.predict.fig.importance", lang, model=r.best), pp.importance_figure(r, lang)),
                (msg("diag.predict.fig.beeswarm", lang, model=r.best), pp.beeswarm_figure(r, lang))]
        if r.comparison is not None and len(r.comparison):
            figs.append((msg("diag.predict.fig.risk", lang, k=r.k_label),
                         pp.risk_comparison_figure(r.comparison, r.k_label, lang)))
    except ImportError:  # plotly missing: the section still has its tables
        pass
    notes = [*r.notes, f"Drivers: {PREDICTIVE_NOT_CAUSAL}."]
    if r.comparison is not None:
        notes.append("Survival risk score: the Cox model of retention risk (ridge penalty 0.01), fitted on the same "
                     "training folds with the classifier's features except the duration as covariates; each test "
                     "fold ranked by its log partial hazard. Recall@K of both on the same subscribers.")
    return ReportSection("predict", msg("title.predict", lang), predict_conclusions(r, lang), tables, figs,
                         predict_checks(r, lang), notes, language=lang)

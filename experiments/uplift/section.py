"""Tables and the report section of an uplift analysis (free functions over :class:`UpliftResult`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from experiments.report.i18n import Lang, msg
from experiments.report.sections import ReportSection, TrustCheck

if TYPE_CHECKING:
    from experiments.uplift.results import UpliftResult


def _fmt_ci(v: float, lo: float, hi: float, digits: int = 2, lang: Lang = "en") -> str:
    return msg("ci", lang, v=f"{v:,.{digits}f}", lo=f"{lo:,.{digits}f}", hi=f"{hi:,.{digits}f}")


def effects_table(result: UpliftResult) -> pd.DataFrame:
    """Per arm: ATE with interval, Qini, AUUC, uplift@k and the heterogeneity test, rounded for display."""
    return result.summary().round(4)


def policy_table(result: UpliftResult) -> pd.DataFrame:
    """The learned policy, its tree and the baselines with intervals."""
    return result.policy.summary().round(3)


def _unit(unit: str, metric: str, lang: Lang) -> str:
    """The policy's value unit in ``lang`` (the two units ``experiments.policy`` writes; any other stays as given)."""
    for key, values in (("uplift.unit_value", {}), ("uplift.unit_metric", {"metric": metric})):
        if unit == msg(key, "en", **values):
            return msg(key, lang, **values)
    return unit


def uplift_section(result: UpliftResult, lang: Lang = "en") -> ReportSection:
    """The uplift part of the report: who should get which offer, what that is worth, and the trust checks.

    Conclusions, trust checks and the title are in ``lang``; tables and method notes stay English.
    """
    pol = result.policy
    unit = result.value_unit
    conclusions = []
    offered = {a: s for a, s in pol.share.items() if a != pol.arms[0] and s > 0}
    if offered:
        parts = msg("list.sep", lang).join(msg("uplift.part", lang, arm=a, share=f"{s:.0%}")
                                           for a, s in offered.items())
        conclusions.append(msg("uplift.target", lang, parts=parts, rest=f"{pol.share[pol.arms[0]]:.0%}"))
    else:
        conclusions.append(msg("uplift.none", lang))
    conclusions.append(msg("uplift.policy", lang, value=_fmt_ci(pol.value.value, *pol.value.ci, lang=lang),
                           unit=_unit(unit, result.metric, lang)))
    best_name, best = max(((k, v) for k, v in pol.baselines.items() if k != "random"), key=lambda kv: kv[1].value)
    label = msg("uplift.no_one", lang) if best_name == pol.arms[0] else msg("uplift.everyone", lang, arm=best_name)
    rnd = pol.baselines["random"]
    conclusions.append(msg("uplift.best", lang, label=label, value=_fmt_ci(best.value, *best.ci, lang=lang),
                           random=_fmt_ci(rnd.value, *rnd.ci, lang=lang)))
    tv = pol.tree_value
    conclusions.append(msg("uplift.tree", lang, n=len(pol.rules), value=_fmt_ci(tv.value, *tv.ci, lang=lang),
                           agree=f"{pol.tree_agreement:.0%}"))
    for arm, ev in result.arms.items():
        e = ev.effect
        het = msg("uplift.het_yes" if ev.blp.pvalue_heterogeneity < 0.05 else "uplift.het_no", lang)
        b = ev.blp
        conclusions.append(msg("uplift.arm", lang, arm=arm, metric=result.metric,
                               value=_fmt_ci(e.ate, *e.ci, digits=4, lang=lang), het=het, b=f"{b.beta2:.2f}",
                               se=f"{b.beta2_se:.2f}", p=f"{b.pvalue_heterogeneity:.3g}"))
    checks = []
    prop = result.crossfit.propensity
    checks.append(TrustCheck(msg("check.overlap", lang), "ok" if prop.min() >= 0.05 else "warning",
                             msg("overlap", lang, min=f"{prop.min():.2f}")))
    for arm, ev in result.arms.items():
        if ev.refutation is None:
            continue
        ref = ev.refutation
        failed = [o.name for o in ref.outcomes if not o.passed]
        detail = msg("refute.sep", lang).join(
            msg("refute.detail", lang, name=o.name, effect=f"{o.new_effect:.4f}", p=f"{o.p_value:.2f}")
            for o in ref.outcomes)
        checks.append(TrustCheck(msg("check.refutations", lang, arm=arm), "ok" if not failed else "fail",
                                 (msg("refute.passed", lang, n=f"{ref.n_rows:,}") if not failed else
                                  msg("refute.failed", lang, names=msg("list.sep", lang).join(failed))) + detail))
    tables = [("Average effects and held-out uplift metrics per arm", effects_table(result)),
              ("Policy value against no offer, per subscriber", policy_table(result)),
              ("Policy tree rules", pd.DataFrame({"rule": pol.rules}))]
    if not result.segments.empty:
        tables.append(("Average effect per segment (Cochran's Q heterogeneity test per arm)",
                       result.segments.round(4)))
    return ReportSection(key="uplift", title=msg("title.uplift", lang), conclusions=conclusions, tables=tables,
                         figures=[("Qini curves", result.plot()),
                                  ("Calibration", result.plot_calibration())],
                         checks=checks, notes=list(result.notes), language=lang)

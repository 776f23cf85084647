"""Report section of the design area: sample size, assignment balance and the monitoring decision."""

from __future__ import annotations

from typing import Any

from experiments.report.i18n import Lang, msg
from experiments.report.sections import ReportSection, TrustCheck


def _monitor_sentence(m: Any, lang: Lang) -> str:
    """The monitoring decision in ``lang``, rebuilt from the result's fields.

    The English templates repeat ``experiments.monitor``'s own sentences (tests check they agree); an SRM decision in
    English is the result's message as written, since it names ``analysis.srm_alpha``, which the result does not keep.
    """
    if m.decision == "srm":
        return str(m.message) if lang == "en" else msg("monitor.srm", lang, p=f"{m.srm_p_value:.2g}")

    def look(s: Any) -> str:
        return msg("monitor.look", lang, arm=s.arm, est=f"{s.estimate:+.4g}", lo=f"{s.lower_running:.4g}",
                   hi=f"{s.upper_running:.4g}")

    up = m.direction == "increase"
    if m.decision in ("stop_effect", "stop_harm"):
        good = m.decision == "stop_effect"
        hits = [s for s in m.latest if (s.lower_running > 0 if up == good else s.upper_running < 0)]
        return msg(f"monitor.{m.decision}", lang, arms=msg("refute.sep", lang).join(look(s) for s in hits))
    n = sum(s.n_treatment for s in m.latest) + (m.latest[0].n_control if m.latest else 0)
    if m.decision == "planned_size_reached":
        return msg("monitor.planned_size_reached", lang, planned=f"{m.planned_total:,}", n=f"{n:,}")
    more = msg("monitor.more", lang, planned=f"{m.planned_total:,}") if m.planned_total else ""
    return msg("monitor.continue", lang, n=f"{n:,}", more=more)


def design_section(size: Any = None, assignment: Any = None, monitoring: Any = None,
                   lang: Lang = "en") -> ReportSection:
    """One :class:`ReportSection` (key ``"design"``) from any of the three results.

    Parameters
    ----------
    size : SampleSizeResult, optional
    assignment : AssignmentResult, optional
    monitoring : MonitorResult, optional
    lang : {"en", "zh"}
        Language of the conclusions, trust checks and the title (tables and method notes stay English).

    Examples
    --------
    >>> from experiments.planning.power import sample_size
    >>> s = design_section(sample_size(0.20, 0.05))
    >>> s.conclusions[0].startswith("2,062 subscribers")
    True
    """
    conclusions: list[str] = []
    tables: list[tuple[str, Any]] = []
    figures: list[tuple[str, Any]] = []
    checks: list[TrustCheck] = []
    notes: list[str] = []
    sep = msg("list.sep", lang)
    if size is not None:
        p = size.problem
        arms = sep.join(msg("design.arm_n", lang, arm=a, n=f"{n:,}") for a, n in size.n_by_arm.items())
        days = "" if size.days is None else msg("design.days", lang, days=size.days)
        conclusions.append(msg("design.size", lang, total=f"{size.total:,}", arms=arms, delta=f"{p.delta:+.3g}",
                               base=f"{p.baseline:.3g}", power=f"{p.power:.0%}", days=days))
        if size.population is not None:
            ok = size.population >= size.total
            checks.append(TrustCheck(msg("check.population", lang), "ok" if ok else "fail",
                                     msg("population", lang, population=f"{size.population:,}",
                                         total=f"{size.total:,}")))
        tables.append(("Sample size per arm", size.summary().round(4)))
        figures.append(("Power curve", size.plot()))
        notes.append(f"Sample size: {size.method} formula, alpha {size.alpha_per_comparison:.3g} per comparison "
                     f"({p.correction}, {len(p.treatments)} comparisons); {size.rounding}.")
    if assignment is not None:
        a = assignment
        counts = sep.join(msg("design.arm_n", lang, arm=k, n=f"{v:,}") for k, v in a.counts.items())
        conclusions.append(msg("design.assigned", lang, units=f"{a.units:,}", counts=counts, salt=repr(a.salt),
                               hash=a.design_hash[:12]))
        flagged = a.balance[a.balance["flag"]] if len(a.balance) else a.balance
        checks.append(TrustCheck(msg("check.balance", lang), "ok" if flagged.empty else "warning",
                                 msg("balance.ok", lang) if flagged.empty else
                                 msg("balance.warn", lang, n=len(flagged), max=f"{flagged['smd'].abs().max():.2f}")))
        checks.append(TrustCheck(msg("check.assignment_ratio", lang), "ok" if a.srm_p_value >= 0.001 else "fail",
                                 msg("assignment_ratio", lang, p=f"{a.srm_p_value:.3g}",
                                     dev=f"{a.max_stratum_deviation:.2f}")))
        tables.append(("Covariate balance (SMD vs control)", a.balance.round(4)))
        figures.append(("Covariate balance", a.plot()))
        notes.append("Assignment: salted SHA-256 of the unit id, ordered within strata, largest-remainder quotas "
                     "(docs/design-and-assignment.md).")
    if monitoring is not None:
        m = monitoring
        conclusions.append(_monitor_sentence(m, lang))
        tables.append(("Always-valid confidence sequences", m.summary().round(5)))
        if len(m.path):
            figures.append(("Confidence sequences over time", m.plot()))
        notes.append(f"Monitoring: asymptotic confidence sequence (Waudby-Smith et al. 2023), tuning N = "
                     f"{m.tuning:,.0f}, alpha {m.alpha_per_comparison:.3g} per comparison.")
    return ReportSection("design", msg("title.design", lang), conclusions, tables, figures, checks, notes,
                         language=lang)

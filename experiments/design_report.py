"""Report section of the design area: sample size, assignment balance and the monitoring decision."""

from __future__ import annotations

from typing import Any

from experiments.sections import ReportSection, TrustCheck


def design_section(size: Any = None, assignment: Any = None, monitoring: Any = None) -> ReportSection:
    """One :class:`ReportSection` (key ``"design"``) from any of the three results.

    Parameters
    ----------
    size : SampleSizeResult, optional
    assignment : AssignmentResult, optional
    monitoring : MonitorResult, optional

    Examples
    --------
    >>> from experiments.power import sample_size
    >>> s = design_section(sample_size(0.20, 0.05))
    >>> s.conclusions[0].startswith("2,062 subscribers")
    True
    """
    conclusions: list[str] = []
    tables: list[tuple[str, Any]] = []
    figures: list[tuple[str, Any]] = []
    checks: list[TrustCheck] = []
    notes: list[str] = []
    if size is not None:
        p = size.problem
        line = (f"{size.total:,} subscribers ({', '.join(f'{a}: {n:,}' for a, n in size.n_by_arm.items())}) detect a "
                f"change of {p.delta:+.3g} from {p.baseline:.3g} with {p.power:.0%} power per comparison")
        if size.days is not None:
            line += f", in {size.days} days of eligible inflow"
        conclusions.append(line + ".")
        if size.population is not None:
            ok = size.population >= size.total
            checks.append(TrustCheck("Eligible population", "ok" if ok else "fail",
                                     f"{size.population:,} eligible for {size.total:,} needed."))
        tables.append(("Sample size per arm", size.summary().round(4)))
        figures.append(("Power curve", size.plot()))
        notes.append(f"Sample size: {size.method} formula, alpha {size.alpha_per_comparison:.3g} per comparison "
                     f"({p.correction}, {len(p.treatments)} comparisons); {size.rounding}.")
    if assignment is not None:
        a = assignment
        conclusions.append(f"{a.units:,} subscribers assigned ({', '.join(f'{k}: {v:,}' for k, v in a.counts.items())})"
                           f" with salt {a.salt!r}, design hash {a.design_hash[:12]}.")
        flagged = a.balance[a.balance["flag"]] if len(a.balance) else a.balance
        checks.append(TrustCheck("Covariate balance", "ok" if flagged.empty else "warning",
                                 "All |SMD| ≤ 0.1." if flagged.empty else
                                 f"{len(flagged)} covariate/arm pairs with |SMD| > 0.1 "
                                 f"(largest {flagged['smd'].abs().max():.2f})."))
        checks.append(TrustCheck("Assignment ratio", "ok" if a.srm_p_value >= 0.001 else "fail",
                                 f"SRM p-value of the assignment {a.srm_p_value:.3g}; largest stratum deviation "
                                 f"{a.max_stratum_deviation:.2f} units."))
        tables.append(("Covariate balance (SMD vs control)", a.balance.round(4)))
        figures.append(("Covariate balance", a.plot()))
        notes.append("Assignment: salted SHA-256 of the unit id, ordered within strata, largest-remainder quotas "
                     "(docs/design-and-assignment.md).")
    if monitoring is not None:
        m = monitoring
        conclusions.append(m.message)
        tables.append(("Always-valid confidence sequences", m.summary().round(5)))
        if len(m.path):
            figures.append(("Confidence sequences over time", m.plot()))
        notes.append(f"Monitoring: asymptotic confidence sequence (Waudby-Smith et al. 2023), tuning N = "
                     f"{m.tuning:,.0f}, alpha {m.alpha_per_comparison:.3g} per comparison.")
    return ReportSection("design", "Experiment design and assignment", conclusions, tables, figures, checks, notes)

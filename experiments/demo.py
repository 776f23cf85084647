"""The whole loop on a simulated operator: simulate, analyze, and write the report.

:func:`run_demo` is what ``retention demo`` runs. Each step is a plain function call on the public API, so the demo
doubles as an example of using the framework from Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.report.i18n import Lang
from experiments.report.sections import ReportSection

REPORT_FILES = ("report.html", "results.json", "results.xlsx")
EXTRA_FILES = ("assignment.parquet",)


@dataclass(frozen=True)
class DemoResult:
    """What the demo produced.

    Attributes
    ----------
    out : Path
        Output folder.
    files : dict[str, Path]
        Every file written, by name.
    sections : list[ReportSection]
        Report sections in order.
    results : dict
        The JSON written to ``results.json``.
    """

    out: Path
    files: dict[str, Path]
    sections: list[ReportSection]
    results: dict[str, Any] = field(default_factory=dict)


def excel_bytes(sections: list[ReportSection]) -> bytes:
    """All tables of the report as one workbook, one sheet per table (names cut to Excel's 31 characters)."""
    import io

    import pandas as pd

    buf = io.BytesIO()
    used: set[str] = set()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for s in sections:
            for i, (_caption, df) in enumerate(s.tables):
                name = f"{s.key}_{i + 1}"[:31]
                while name in used:
                    name = name[:28] + f"_{len(used)}"
                used.add(name)
                df.to_excel(xl, sheet_name=name, index=False)
                xl.sheets[name]["A1"].comment = None
        index = pd.DataFrame([{"section": s.title, "sheet": f"{s.key}_{i + 1}"[:31], "table": cap}
                              for s in sections for i, (cap, _) in enumerate(s.tables)])
        index.to_excel(xl, sheet_name="contents", index=False)
    return buf.getvalue()


def run_demo(out: Path, *, subscribers: int = 200_000, seed: int = 20260701, force: bool = False,
             lang: Lang = "en", step: Callable[[str], None] = lambda _msg: None) -> DemoResult:
    """Simulate an operator and run the whole loop on the embedded DuckDB engine.

    Parameters
    ----------
    out : Path
        Folder for the simulated data and the report (``report.html``, ``results.json``, ``results.xlsx``).
    subscribers : int
        Size of the simulated eligible population.
    seed : int
        Seed of the simulation; the same seed gives the same data and numbers.
    force : bool
        Overwrite existing files in ``out``.
    lang : {"en", "zh"}
        Language of the report (English or Simplified Chinese).
    step : callable
        Called with a short message as each step starts (the CLI draws progress with it).
    """
    from experiments.analysis.experiment import analyze
    from experiments.analysis.promo import analyze_promo, promo_section
    from experiments.analysis.section import experiment_section
    from experiments.data.io import check_writable, to_json, write_outputs
    from experiments.planning.assignment import assign
    from experiments.planning.monitoring import monitor
    from experiments.planning.power import from_design
    from experiments.planning.section import design_section
    from experiments.report.render import render_html
    from experiments.simulate.config import OUTPUT_FILES
    from experiments.simulate.operator import simulate_operator
    from experiments.simulate.output import write_simulation
    from experiments.spec.models import load_design
    from experiments.uplift.analyze import demo_uplift
    from experiments.uplift.section import uplift_section
    from experiments.value.roi import experiment_roi, roi_section, value_per_retained
    from experiments.value.tenure import analyze_survival, survival_section

    out = Path(out)
    check_writable([out / f for f in (*OUTPUT_FILES, *REPORT_FILES, *EXTRA_FILES)], force)
    step(f"Simulating {subscribers:,} subscribers, a 3-arm experiment and a region × month panel")
    sim = simulate_operator(n_subscribers=subscribers, rng=seed)
    files = write_simulation(sim, out, force=force)
    design = load_design(files["design"])

    step("Design: sample size for the primary metric and a stratified assignment of the population")
    size = from_design(design, population=len(sim.subscribers))
    assignment = assign(design, out=out / "assignment.parquet", force=force)
    files["assignment"] = out / "assignment.parquet"

    step("Experiment: SRM, χ², offers vs control with Holm, guardrails, CUPED (per-arm sums in DuckDB)")
    result = analyze(design)
    monitoring = monitor(design)

    step("Time to churn: Kaplan–Meier per arm, tenure gained, lifetime value")
    surv = analyze_survival(design, times=[30, 90, 180])

    step("Return on each offer: lifetime value gained against offer and acceptance costs")
    roi_rows = experiment_roi(design, result, ltv_delta=surv.ltv.get("delta"))

    step("Uplift: who should get which offer (cross-fitted DR learner), the value-aware policy and its refutations")
    v_retained = value_per_retained(roi_rows)
    uplift_design = design
    if v_retained is not None and design.value is not None:  # one value of retention for ROI and uplift
        uplift_design = design.model_copy(update={"value": design.value.model_copy(
            update={"retention_value": round(v_retained, 2)})})
    uplift = demo_uplift(uplift_design, rng=seed)

    step("Competitor promotion: difference-in-differences on the region × month panel")
    promo = analyze_promo(files["panel"], rng=seed)
    ltv_control = surv.ltv.get("arms", {}).get(design.control, {}).get("value")

    sections = [experiment_section(result, lang), survival_section(surv, lang=lang), roi_section(roi_rows, lang=lang),
                uplift_section(uplift, lang=lang), promo_section(promo, value_per_subscriber=ltv_control, lang=lang),
                design_section(size, assignment, monitoring, lang=lang)]
    results: dict[str, Any] = {
        "experiment": result.to_dict(), "survival": surv.to_dict(), "roi": [r.to_dict() for r in roi_rows],
        "uplift": uplift.to_dict(), "promo": promo.to_dict(),
        "design": {"sample_size": size.to_dict(), "monitor": monitoring.to_dict()},
    }

    step("Writing the report")
    title = "Retention offers: flow pack vs contract discount"
    if lang == "zh":
        title, subtitle = "留存优惠：流量包与合约续约折扣", f"模拟运营商，{subscribers:,} 位用户，随机种子 {seed}"
    else:
        subtitle = f"Simulated operator, {subscribers:,} subscribers, seed {seed}"
    html = render_html(sections, title, subtitle=subtitle, lang=lang)
    report_files: dict[Path, bytes | str] = {out / "report.html": html, out / "results.json": to_json(results),
                    out / "results.xlsx": excel_bytes(sections)}
    write_outputs(report_files, force=force)
    files.update({"report": out / "report.html", "results": out / "results.json", "xlsx": out / "results.xlsx"})
    return DemoResult(out, files, sections, results)

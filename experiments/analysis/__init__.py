"""Analysis of an experiment: sufficient statistics, χ² and pairwise tests with corrections, CUPED, guardrails.

:func:`analyze` has the engine compute per-arm (× stratum) sums and runs :mod:`~experiments.analysis.stats` on
them; :mod:`~experiments.analysis.results` holds what it returns; tables, figures and the report section render it.
:func:`analyze_promo` measures a competitor's promotion by difference-in-differences (:mod:`causal`).

May import: :mod:`experiments.errors`, :mod:`~experiments.spec`, :mod:`~experiments.data`,
:mod:`~experiments.report`, :mod:`causal`.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from experiments.analysis.experiment import analyze, analyze_metric, pool
    from experiments.analysis.plots import forest_plot
    from experiments.analysis.promo import analyze_promo, promo_section
    from experiments.analysis.results import ExperimentResult, MetricResult
    from experiments.analysis.section import experiment_section, print_experiment
    from experiments.analysis.stats import SuffStats, adjust_pvalues, chi2_independence, compare, cuped, srm_test
    from experiments.analysis.tables import arm_table, comparison_table

#: public name -> module; imported on first use (PEP 562), so that ``retention analyze`` does not pay for the
#: plots, tables, report section and promotion (DiD) modules it does not need
_LAZY = {
    'analyze': 'experiments.analysis.experiment',
    'analyze_metric': 'experiments.analysis.experiment',
    'pool': 'experiments.analysis.experiment',
    'forest_plot': 'experiments.analysis.plots',
    'analyze_promo': 'experiments.analysis.promo',
    'promo_section': 'experiments.analysis.promo',
    'ExperimentResult': 'experiments.analysis.results',
    'MetricResult': 'experiments.analysis.results',
    'experiment_section': 'experiments.analysis.section',
    'print_experiment': 'experiments.analysis.section',
    'SuffStats': 'experiments.analysis.stats',
    'adjust_pvalues': 'experiments.analysis.stats',
    'chi2_independence': 'experiments.analysis.stats',
    'compare': 'experiments.analysis.stats',
    'cuped': 'experiments.analysis.stats',
    'srm_test': 'experiments.analysis.stats',
    'arm_table': 'experiments.analysis.tables',
    'comparison_table': 'experiments.analysis.tables',
}

__all__ = [
    "ExperimentResult", "MetricResult", "SuffStats", "adjust_pvalues", "analyze", "analyze_metric",
    "analyze_promo", "arm_table", "chi2_independence", "compare", "comparison_table", "cuped", "experiment_section",
    "forest_plot", "pool", "print_experiment", "promo_section", "srm_test",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])

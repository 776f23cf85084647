"""Analysis of an experiment: sufficient statistics, χ² and pairwise tests with corrections, CUPED, guardrails.

:func:`analyze` has the engine compute per-arm (× stratum) sums and runs :mod:`~experiments.analysis.stats` on
them; :mod:`~experiments.analysis.results` holds what it returns; tables, figures and the report section render it.
:func:`analyze_promo` measures a competitor's promotion by difference-in-differences (:mod:`causal`).

May import: :mod:`experiments.errors`, :mod:`~experiments.spec`, :mod:`~experiments.data`,
:mod:`~experiments.report`, :mod:`causal`.
"""

from experiments.analysis.experiment import analyze, analyze_metric, pool
from experiments.analysis.plots import forest_plot
from experiments.analysis.promo import analyze_promo, promo_section
from experiments.analysis.results import ExperimentResult, MetricResult
from experiments.analysis.section import experiment_section, print_experiment
from experiments.analysis.stats import SuffStats, adjust_pvalues, chi2_independence, compare, cuped, srm_test
from experiments.analysis.tables import arm_table, comparison_table

__all__ = [
    "ExperimentResult", "MetricResult", "SuffStats", "adjust_pvalues", "analyze", "analyze_metric",
    "analyze_promo", "arm_table", "chi2_independence", "compare", "comparison_table", "cuped", "experiment_section",
    "forest_plot", "pool", "print_experiment", "promo_section", "srm_test",
]

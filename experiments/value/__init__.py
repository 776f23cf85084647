"""What retention is worth: ROI per arm, and tenure gained and lifetime value per arm (:mod:`survival`).

May import: :mod:`experiments.errors`, :mod:`~experiments.spec`, :mod:`~experiments.data`,
:mod:`~experiments.report`, :mod:`~experiments.analysis` (its results), :mod:`survival`.
"""

from experiments.value.roi import ArmROI, arm_roi, experiment_roi, roi_section, value_per_retained
from experiments.value.tenure import SurvivalAnalysis, analyze_survival, km_figure, survival_section

__all__ = [
    "ArmROI", "SurvivalAnalysis", "analyze_survival", "arm_roi", "experiment_roi", "km_figure", "roi_section",
    "survival_section", "value_per_retained",
]

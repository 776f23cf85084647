"""Planning an experiment: power and sample size, stratified assignment with a registry, sequential monitoring.

May import: :mod:`experiments.errors`, :mod:`~experiments.spec`, :mod:`~experiments.data`,
:mod:`~experiments.report`, :mod:`~experiments.analysis` (its statistics).
"""

from experiments.planning.allocation import fill_quotas, largest_remainder, unit_hash
from experiments.planning.assignment import AssignmentResult, assign, eligibility_filter, smd_table
from experiments.planning.monitoring import MonitorResult, confidence_sequence, monitor
from experiments.planning.power import SampleSizeResult, from_design, make_problem, power_curve, sample_size
from experiments.planning.registry import registered_designs, registry_assignments
from experiments.planning.section import design_section

__all__ = [
    "AssignmentResult", "MonitorResult", "SampleSizeResult", "assign", "confidence_sequence", "design_section",
    "eligibility_filter", "fill_quotas", "from_design", "largest_remainder", "make_problem", "monitor",
    "power_curve", "registered_designs", "registry_assignments", "sample_size", "smd_table", "unit_hash",
]

"""The design file: typed, validated models of an experiment or a promotion study, and their loader.

A design file is the contract of an analysis (sources, columns, arms, weights, costs, metrics, alpha, correction),
checked before any data is read. Closed choices live in :mod:`experiments.spec.literals`.

May import: :mod:`experiments.errors`.
"""

from experiments.spec.literals import check_literal
from experiments.spec.models import (
    DESIGN_KINDS,
    ArmSpec,
    AssignmentSpec,
    Condition,
    Cost,
    DataSpec,
    DidDesign,
    ExperimentDesign,
    Metric,
    PopulationSpec,
    PowerSpec,
    UpliftBudget,
    UpliftSpec,
    ValueSpec,
    load_design,
    parse_design,
)

__all__ = [
    "DESIGN_KINDS", "ArmSpec", "AssignmentSpec", "Condition", "Cost", "DataSpec", "DidDesign", "ExperimentDesign",
    "Metric", "PopulationSpec", "PowerSpec", "UpliftBudget", "UpliftSpec", "ValueSpec", "check_literal",
    "load_design", "parse_design",
]

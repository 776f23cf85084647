"""The simulated operator behind ``retention demo`` and the tests: subscribers, a 3-arm experiment, a promotion.

Settings in :mod:`~experiments.simulate.config`, the closed-form hazard arithmetic in
:mod:`~experiments.simulate.hazard`, the generator in :mod:`~experiments.simulate.operator`, files in
:mod:`~experiments.simulate.output` (``docs/simulator.md`` has the formulas).

May import: :mod:`experiments.errors`, :mod:`~experiments.data` (its output writer).
"""

from experiments.simulate.config import ARMS, FEATURES, OUTPUT_FILES, SimulationConfig, SimulationConfigError
from experiments.simulate.hazard import cumulative_hazard, restricted_mean, survival_probability
from experiments.simulate.operator import Simulation, simulate_operator
from experiments.simulate.output import design_yaml, write_simulation

__all__ = [
    "ARMS", "FEATURES", "OUTPUT_FILES", "Simulation", "SimulationConfig", "SimulationConfigError",
    "cumulative_hazard", "design_yaml", "restricted_mean", "simulate_operator", "survival_probability",
    "write_simulation",
]

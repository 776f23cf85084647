"""Churn diagnosis before any offer: the profile, thresholds, segments, RFM tiers, clusters and the cockpit.

How much churn, who churns, why, and what to do about whom. Every aggregate runs in the engine (DuckDB); only counts
come back to Python. See ``docs/diagnosis.md``.
"""

from __future__ import annotations

from experiments.diagnosis.profiling import open_diagnosis_source, profile
from experiments.diagnosis.results import ProfileResult, Rate

__all__ = ["ProfileResult", "Rate", "open_diagnosis_source", "profile"]

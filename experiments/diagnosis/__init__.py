"""Churn diagnosis before any offer: the profile, thresholds, segments, RFM tiers, clusters and the cockpit; labels
from activity, reasons from complaint text, and a causal check of one driver.

How much churn, who churns, why, and what to do about whom. Every aggregate runs in the engine (DuckDB); only counts
come back to Python. See ``docs/diagnosis.md`` and ``docs/early-warning.md``.
"""

from __future__ import annotations

from experiments.diagnosis.driver_effect import DriverEffect, driver_effect, load_driver_spec, parse_driver_spec
from experiments.diagnosis.labels import LabelResult, LabelRuleSpec, agreement, label_activity, read_label_contract
from experiments.diagnosis.profiling import open_diagnosis_source, profile
from experiments.diagnosis.reasons import ReasonsResult, load_catalogue, tag_reasons
from experiments.diagnosis.results import ProfileResult, Rate

__all__ = ["DriverEffect", "LabelResult", "LabelRuleSpec", "ProfileResult", "Rate", "ReasonsResult", "agreement",
           "driver_effect", "label_activity", "load_catalogue", "load_driver_spec", "open_diagnosis_source",
           "parse_driver_spec", "profile", "read_label_contract", "tag_reasons"]

"""Domain exceptions of the survival package.

The package stands alone (it never imports ``experiments``); its errors subclass :class:`ValueError` so that the CLI
can register them as user errors. Every message names the column or key, what was found, and how to fix it.
"""

from __future__ import annotations


class SurvivalError(ValueError):
    """Base class of every error caused by the caller's survival data or settings."""


class SurvivalDataError(SurvivalError):
    """Durations, events, groups or covariates do not fit what the estimator needs."""


class HorizonError(SurvivalError):
    """A horizon or evaluation time lies outside what the data can support without extrapolation."""


class ModelError(SurvivalError):
    """A model cannot be fitted as asked (no events in a group, a covariate with no variance, ...)."""

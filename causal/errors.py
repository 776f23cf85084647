"""Domain exceptions of :mod:`causal`.

Every error a user can cause with bad data or bad settings is one of these ``ValueError`` subclasses. The message
names the column or argument, what was found, and how to fix it. The ``retention`` CLI registers :class:`CausalError`
so that it becomes one line on stderr and exit code 2.
"""

from __future__ import annotations


class CausalError(ValueError):
    """Base class of every error caused by the caller's input to :mod:`causal`."""


class PanelError(CausalError):
    """The panel (columns, ids, periods, outcomes) cannot be used as given."""


class TreatmentError(CausalError):
    """The treatment pattern is not one the estimator supports (switching off, no controls, no treated)."""


class SpecError(CausalError):
    """A setting (standard-error type, reference period, number of draws ...) is not allowed or not possible."""

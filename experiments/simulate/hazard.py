"""The survival arithmetic of the simulator in closed form: cumulative hazard, survival, restricted mean, inverse.

The hazard is piecewise constant per subscriber (a baseline, a bump around the contract end, and a treatment that
multiplies it once the offer is taken), so every quantity here is exact, not a Monte Carlo estimate.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def cumulative_hazard(t: float | np.ndarray, rate: np.ndarray, bump: float, lo: np.ndarray,
                      hi: np.ndarray) -> np.ndarray:
    """Cumulative hazard at ``t`` of ``rate * (1 + (bump - 1) * 1[lo <= s < hi])``.

    Parameters
    ----------
    t : float or array
        Time (days since assignment).
    rate : array
        Hazard per day outside the window.
    bump : float
        Hazard multiplier inside the window ``[lo, hi)`` (``lo``, ``hi`` are already clipped at 0).

    Examples
    --------
    >>> round(float(cumulative_hazard(10.0, np.array([0.1]), 3.0, np.array([2.0]), np.array([4.0]))[0]), 12)
    1.4
    """
    overlap = np.clip(np.minimum(t, hi) - lo, 0.0, None)
    return rate * (t + (bump - 1.0) * overlap)


def survival_probability(t: float | np.ndarray, rate: np.ndarray, bump: float, lo: np.ndarray,
                         hi: np.ndarray) -> np.ndarray:
    """``S(t) = exp(-H(t))`` of the piecewise-constant hazard of :func:`cumulative_hazard`.

    Examples
    --------
    >>> import math
    >>> s = survival_probability(30.0, np.array([0.01]), 1.0, np.array([0.0]), np.array([0.0]))
    >>> bool(np.isclose(s[0], math.exp(-0.3)))
    True
    """
    return np.exp(-cumulative_hazard(t, rate, bump, lo, hi))


def restricted_mean(tau: float, rate: np.ndarray, bump: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Restricted mean survival time ``E[min(T, tau)] = int_0^tau S(s) ds``, exact for the piecewise hazard.

    Examples
    --------
    >>> import math
    >>> r = restricted_mean(90.0, np.array([0.01]), 1.0, np.array([0.0]), np.array([0.0]))
    >>> round(float(r[0]), 6) == round((1 - math.exp(-0.9)) / 0.01, 6)
    True
    """
    a = np.minimum(lo, tau)
    b = np.minimum(np.maximum(hi, lo), tau)
    # Segments [0, a) at rate, [a, b) at rate*bump, [b, tau) at rate; each contributes S(start) (1 - e^{-r len}) / r.
    h_a = rate * a
    h_b = h_a + rate * bump * (b - a)
    seg1 = -np.expm1(-rate * a) / rate
    seg2 = np.exp(-h_a) * -np.expm1(-rate * bump * (b - a)) / (rate * bump)
    seg3 = np.exp(-h_b) * -np.expm1(-rate * (tau - b)) / rate
    return seg1 + seg2 + seg3


def invert_cumulative_hazard(target: np.ndarray, rate: np.ndarray, bump: float, lo: np.ndarray,
                             hi: np.ndarray) -> np.ndarray:
    """The time ``t`` with ``H(t) = target``: draws ``T`` from ``target ~ Exp(1)`` (inverse-transform sampling).

    Examples
    --------
    >>> rate, lo, hi = np.array([0.1]), np.array([2.0]), np.array([4.0])
    >>> t = invert_cumulative_hazard(np.array([1.4]), rate, 3.0, lo, hi)
    >>> round(float(t[0]), 12)
    10.0
    """
    h_lo = rate * lo
    h_hi = h_lo + rate * bump * (hi - lo)
    return np.where(
        target <= h_lo,
        target / rate,
        np.where(target <= h_hi, lo + (target - h_lo) / (rate * bump), hi + (target - h_hi) / rate),
    )

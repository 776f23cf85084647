"""Refutations of a difference-in-differences estimate: each is a typed result that appears in the output.

* :func:`placebo_start` moves every treated unit's start earlier, inside its pre-period, using only cells before
  the real start: a credible design finds no "effect" there.
* :func:`placebo_units` gives never-treated units the real units' start dates (treated units removed) many times:
  the real estimate should stand out from that distribution.
* :func:`leave_one_unit_out` re-fits without each unit in turn: one region should not drive the result.
* The pre-trend test is the joint Wald test of the event-study leads (:mod:`causal.did`), wrapped as
  :class:`Refutation` by :func:`pretrend_refutation`.
* :func:`randomization_test` permutes the treatment paths across units (Fisher randomization inference).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from causal.errors import SpecError

FitFn = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True, slots=True)
class Refutation:
    """Outcome of one refutation.

    Attributes
    ----------
    name : str
        ``"placebo_start"``, ``"placebo_units"``, ``"leave_one_unit_out"``, ``"pretrend"`` or ``"randomization"``.
    estimate : float
        The placebo estimate (mean of placebo estimates for repeated ones; the smallest leave-one-out ATT for LOO).
    p_value : float
        Test of "no placebo effect" (or, for randomization/placebo units, of the real effect against the placebo
        distribution); NaN where no test applies.
    passed : bool
        True when the refutation does not cast doubt on the design at level ``alpha``.
    message : str
        One plain-language sentence with the figures that decided it.
    details : dict
        Extra numbers (JSON-able): draws, ranges, the unit whose removal moves the estimate most ...
    """

    name: str
    estimate: float
    p_value: float
    passed: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dictionary."""
        return {"name": self.name, "estimate": self.estimate, "p_value": self.p_value, "passed": self.passed,
                "message": self.message, **self.details}


def placebo_start(
    pos: np.ndarray, unit_idx: np.ndarray, start: np.ndarray, fit: Callable[[np.ndarray, np.ndarray], tuple],
    *, alpha: float = 0.05,
) -> Refutation:
    """Fake start dates half-way into each treated unit's pre-period, on pre-period cells only.

    Parameters
    ----------
    pos : numpy.ndarray
        Period position of every cell, ``(C,)``.
    unit_idx : numpy.ndarray
        Unit index of every cell, ``(C,)``.
    start : numpy.ndarray
        Start position per unit (``-1`` never treated).
    fit : callable
        ``fit(keep_mask, treat) -> (coef, se, p)`` on the kept cells with the given 0/1 treatment per cell.
    """
    usable = start >= 2  # treated units with at least two pre-periods can get a fake start inside them
    dropped = int(((start >= 0) & ~usable).sum())
    s = start[unit_idx]
    treated_unit = s >= 0
    keep = (start[unit_idx] < 0) | (usable[unit_idx] & (pos < s))
    if not usable.any():
        return Refutation("placebo_start", float("nan"), float("nan"), True,
                          "Placebo start dates: not possible, no treated unit has 2 or more pre-treatment periods.",
                          {"shift_periods": 0})
    shift = max(1, int(np.min(start[usable])) // 2)
    fake = np.where(treated_unit, s - shift, -1)
    treat = (treated_unit & (pos >= fake) & keep).astype(float)
    coef, se, p = fit(keep, treat)
    ok = bool(p >= alpha)
    msg = (f"Placebo start {shift} period(s) before the real one (pre-period only): estimate {coef:.4g} "
           f"(SE {se:.3g}, p = {p:.3f}); " + ("no spurious effect." if ok else "a spurious 'effect' appears before "
                                              "the promotion, so the comparison regions may not be comparable."))
    if dropped:
        msg += f" ({dropped} treated unit(s) with fewer than 2 pre-periods left out.)"
    return Refutation("placebo_start", float(coef), float(p), ok, msg,
                      {"shift_periods": shift, "se": float(se), "units_left_out": dropped})


def placebo_units(
    pos: np.ndarray, unit_idx: np.ndarray, start: np.ndarray, actual: float, fit_coef: FitFn,
    *, n_draws: int = 200, alpha: float = 0.05, rng: np.random.Generator | int | None = None,
) -> Refutation:
    """Give never-treated units the treated units' start dates (real treated units removed), ``n_draws`` times.

    The p-value is the share of placebo estimates at least as large in absolute value as the real one.
    """
    gen = np.random.default_rng(rng)
    never = np.flatnonzero(start < 0)
    starts_treated = start[start >= 0]
    m = len(starts_treated)
    if len(never) < 2 or len(never) <= m // 2 or m == 0:
        return Refutation("placebo_units", float("nan"), float("nan"), True,
                          f"Placebo treated units: not possible with {len(never)} never-treated units.",
                          {"n_draws": 0})
    k = min(m, len(never) - 1)
    keep = start[unit_idx] < 0
    draws = []
    for _ in range(n_draws):
        chosen = gen.choice(never, size=k, replace=False)
        fake = np.full(len(start), -1)
        fake[chosen] = gen.choice(starts_treated, size=k, replace=True)
        f = fake[unit_idx]
        treat = ((f >= 0) & (pos >= f)).astype(float)
        draws.append(fit_coef(keep, treat))
    arr = np.asarray(draws)
    arr = arr[np.isfinite(arr)]
    p = float((1 + np.sum(np.abs(arr) >= abs(actual))) / (1 + len(arr)))
    ok = bool(p < alpha) or not np.isfinite(actual)
    msg = (f"Placebo treated units ({len(arr)} draws of {k} never-treated regions given real start dates): "
           f"placebo estimates span {np.quantile(arr, 0.025):.4g} to {np.quantile(arr, 0.975):.4g}; the real "
           f"estimate {actual:.4g} is " + ("outside that range (p = " if ok else "not unusual among them (p = ")
           + f"{p:.3f}).")
    return Refutation("placebo_units", float(arr.mean()), p, ok, msg,
                      {"n_draws": int(len(arr)), "placebo_q025": float(np.quantile(arr, 0.025)),
                       "placebo_q975": float(np.quantile(arr, 0.975)), "n_placebo_units": int(k)})


def leave_one_unit_out(
    unit_idx: np.ndarray, labels: np.ndarray, actual: float, ci: tuple[float, float], fit_coef: FitFn,
    treat: np.ndarray,
) -> Refutation:
    """Re-fit without each unit in turn; passes when every estimate keeps the sign and stays inside the CI."""
    ests = np.full(len(labels), np.nan)
    for u in range(len(labels)):
        keep = unit_idx != u
        ests[u] = fit_coef(keep, treat)
    fin = np.isfinite(ests)
    lo, hi = float(np.nanmin(ests)), float(np.nanmax(ests))
    worst = int(np.nanargmax(np.abs(ests - actual)))
    worst_label = labels[worst].item() if hasattr(labels[worst], "item") else labels[worst]
    ok = bool(np.all((ests[fin] >= ci[0]) & (ests[fin] <= ci[1])))
    msg = (f"Leave one unit out ({int(fin.sum())} re-fits): the estimate ranges {lo:.4g} to {hi:.4g}; "
           f"dropping {worst_label!r} moves it most (to {ests[worst]:.4g}). "
           + ("No single unit drives the result." if ok else "Some re-fits leave the confidence interval: the "
              "result leans on few units."))
    return Refutation("leave_one_unit_out", lo, float("nan"), ok, msg,
                      {"min": lo, "max": hi, "most_influential_unit": worst_label,
                       "estimate_without_it": float(ests[worst])})


def pretrend_refutation(stat: float, p: float, q: int, alpha: float = 0.05, how: str = "") -> Refutation:
    """Wrap the joint pre-trend Wald test of the event-study leads as a refutation."""
    if q == 0 or not np.isfinite(p):
        return Refutation("pretrend", float("nan"), float("nan"), True,
                          "Pre-trend test: no lead periods before the start to test.", {"n_leads": 0})
    ok = bool(p >= alpha)
    msg = (f"Pre-trend test: the {q} pre-period event-study coefficients are jointly "
           + ("indistinguishable from zero" if ok else "different from zero")
           + f" (Wald F = {stat:.3g}, p = {p:.3f}{how})"
           + ("." if ok else "; treated and comparison units were already diverging before the promotion."))
    return Refutation("pretrend", float(stat), float(p), ok, msg, {"n_leads": int(q)})


def randomization_test(
    pos: np.ndarray, unit_idx: np.ndarray, start: np.ndarray, actual: float, fit_coef: FitFn,
    *, n_perm: int = 999, alpha: float = 0.05, rng: np.random.Generator | int | None = None,
) -> Refutation:
    """Fisher randomization inference: shuffle start dates across units and re-estimate ``n_perm`` times.

    ``p = (1 + #{|β*| ≥ |β|}) / (1 + n_perm)``; valid whatever the number of clusters under the sharp null of no
    effect for any unit, when units are exchangeable.
    """
    if n_perm < 19:
        raise SpecError(f"n_perm={n_perm} is too few permutations; use at least 19 (999 is the default)")
    gen = np.random.default_rng(rng)
    keep = np.ones(len(pos), bool)
    draws = np.empty(n_perm)
    for b in range(n_perm):
        s = gen.permutation(start)[unit_idx]
        draws[b] = fit_coef(keep, ((s >= 0) & (pos >= s)).astype(float))
    draws = draws[np.isfinite(draws)]
    p = float((1 + np.sum(np.abs(draws) >= abs(actual))) / (1 + len(draws)))
    msg = f"Randomization inference ({len(draws)} permutations of start dates across units): p = {p:.3f}."
    return Refutation("randomization", float(np.mean(draws)), p, True, msg, {"n_perm": int(len(draws))})

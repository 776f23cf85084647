"""Refutations of a difference-in-differences estimate: each is a typed result that appears in the output.

* :func:`placebo_start` moves every treated unit's start earlier, inside its pre-period, using only cells before
  the real start: a credible design finds no "effect" there.
* :func:`placebo_units` gives never-treated units the real units' start dates (treated units removed) many times:
  the real estimate should stand out from that distribution.
* :func:`leave_one_unit_out` re-fits without each unit in turn: one region should not drive the result.
* The pre-trend test is the joint Wald test of the event-study leads (:mod:`causal.did`), wrapped as
  :class:`Refutation` by :func:`pretrend_refutation`.
* :func:`randomization_test` permutes the treatment paths across units (Fisher randomization inference).

A refutation that the data cannot support (leave-one-unit-out with a single unit on one side, placebo start dates
with one pre-period, randomization inference whose smallest attainable p-value exceeds ``alpha``) is returned by
:func:`not_applicable`: ``applicable=False``, ``passed=None`` and the reason, never an exception.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
    passed : bool or None
        True when the refutation does not cast doubt on the design at level ``alpha``; None when it is not
        applicable to the data.
    message : str
        One plain-language sentence with the figures that decided it.
    details : dict
        Extra numbers (JSON-able): draws, ranges, the unit whose removal moves the estimate most ...
    applicable : bool
        False when the data cannot support this refutation (then ``estimate`` and ``p_value`` are NaN).
    reason : str
        Why it is not applicable (empty when it is).
    """

    name: str
    estimate: float
    p_value: float
    passed: bool | None
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    applicable: bool = True
    reason: str = ""

    @property
    def status(self) -> str:
        """``"passed"``, ``"failed"`` or ``"not applicable"``."""
        if not self.applicable:
            return "not applicable"
        return "passed" if self.passed else "failed"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dictionary."""
        out = {"name": self.name, "estimate": self.estimate, "p_value": self.p_value, "passed": self.passed,
               "status": self.status, "applicable": self.applicable, "message": self.message, **self.details}
        if not self.applicable:
            out["reason"] = self.reason
        return out


LABELS = {"placebo_start": "Placebo start dates", "placebo_units": "Placebo treated units",
          "leave_one_unit_out": "Leave one unit out", "pretrend": "Pre-trend test",
          "randomization": "Randomization inference"}


def not_applicable(name: str, reason: str, details: dict[str, Any] | None = None) -> Refutation:
    """A refutation the data cannot support: ``applicable=False``, ``passed=None``, NaN figures, and the reason.

    Examples
    --------
    >>> r = not_applicable("placebo_start", "there is only one pre-treatment period")
    >>> r.status, r.message
    ('not applicable', 'Placebo start dates: not applicable, there is only one pre-treatment period.')
    """
    msg = f"{LABELS.get(name, name)}: not applicable, {reason}."
    return Refutation(name, float("nan"), float("nan"), None, msg, dict(details or {}), applicable=False,
                      reason=reason)


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
        n_pre = int(np.min(start[start >= 0])) if (start >= 0).any() else 0
        return not_applicable("placebo_start", f"no treated unit has 2 or more pre-treatment periods (the earliest "
                              f"start leaves {n_pre}), so there is no earlier period to move the start to",
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
        return not_applicable("placebo_units", f"{len(never)} never-treated unit(s) for {m} treated; it needs at "
                              "least 2 and more than half as many as the treated units", {"n_draws": 0})
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
    """Re-fit without each unit in turn; passes when every estimate keeps the sign and stays inside the CI.

    A unit whose removal leaves no treated or no comparison unit cannot be dropped (its re-fit has no contrast);
    when no unit can be dropped, e.g. two units (the treated and the control group given as the unit), the
    refutation is not applicable.
    """
    n_u = len(labels)
    treated_unit = np.zeros(n_u, bool)
    np.logical_or.at(treated_unit, unit_idx, treat > 0)
    n_t, n_c = int(treated_unit.sum()), int(n_u - treated_unit.sum())
    droppable = np.where(treated_unit, n_t >= 2, n_c >= 2)
    ests = np.full(n_u, np.nan)
    for u in np.flatnonzero(droppable):
        ests[u] = fit_coef(unit_idx != u, treat)
    fin = np.isfinite(ests)
    if not fin.any():
        return not_applicable("leave_one_unit_out", f"there are {n_t} treated and {n_c} comparison unit(s); "
                              "dropping any unit leaves one side empty, so there is no re-fit to compare (it needs "
                              "2 or more units on at least one side)", {"n_treated_units": n_t,
                                                                        "n_comparison_units": n_c})
    lo, hi = float(np.nanmin(ests)), float(np.nanmax(ests))
    worst = int(np.nanargmax(np.abs(ests - actual)))
    worst_label = labels[worst].item() if hasattr(labels[worst], "item") else labels[worst]
    ok = bool(np.all((ests[fin] >= ci[0]) & (ests[fin] <= ci[1])))
    msg = (f"Leave one unit out ({int(fin.sum())} re-fits): the estimate ranges {lo:.4g} to {hi:.4g}; "
           f"dropping {worst_label!r} moves it most (to {ests[worst]:.4g}). "
           + ("No single unit drives the result." if ok else "Some re-fits leave the confidence interval: the "
              "result leans on few units."))
    skipped = int((~droppable).sum())
    if skipped:
        side = "treated" if n_t < 2 else "comparison"
        msg += f" (The {skipped} {side} unit(s) cannot be dropped: none would be left on that side.)"
    return Refutation("leave_one_unit_out", lo, float("nan"), ok, msg,
                      {"min": lo, "max": hi, "most_influential_unit": worst_label,
                       "estimate_without_it": float(ests[worst]), "n_refits": int(fin.sum()),
                       "units_not_droppable": skipped})


def pretrend_refutation(stat: float, p: float, q: int, alpha: float = 0.05, how: str = "") -> Refutation:
    """Wrap the joint pre-trend Wald test of the event-study leads as a refutation."""
    if q == 0 or not np.isfinite(p):
        return not_applicable("pretrend", "there is no lead period before the start to test (one pre-treatment "
                              "period is the reference of the comparison; a test of parallel pre-trends needs two "
                              "or more)", {"n_leads": 0})
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

    Not applicable when the smallest attainable p-value exceeds ``alpha``: with ``n_perm`` draws it is
    ``1 / (1 + n_perm)``; with ``D`` distinct assignments of the start dates to units (the multinomial coefficient,
    e.g. 2 for one treated and one comparison unit) it is ``1 / D``.
    """
    n_assign = distinct_assignments(start)
    if n_assign * alpha < 1:
        return not_applicable("randomization", f"the {len(start)} units admit only {n_assign:,} distinct "
                              f"assignments of the start dates, so the smallest possible p-value is 1/{n_assign:,} "
                              f"= {1 / n_assign:.3g} > alpha = {alpha:g}; it needs more units",
                              {"n_perm": 0, "distinct_assignments": n_assign})
    if (1 + n_perm) * alpha < 1:
        need = math.ceil(1 / alpha) - 1
        return not_applicable("randomization", f"n_perm={n_perm} permutations cannot give a p-value below "
                              f"1/{1 + n_perm} = {1 / (1 + n_perm):.3g} > alpha = {alpha:g}; use at least {need} "
                              "(999 is the default)", {"n_perm": 0, "distinct_assignments": n_assign})
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


def distinct_assignments(start: np.ndarray) -> int:
    """Number of distinct ways to give the units' start dates to the units: ``N! / Π n_s!`` over start values.

    Examples
    --------
    >>> distinct_assignments(np.array([-1, 1])), distinct_assignments(np.array([-1, -1, 3, 3, 5]))
    (2, 30)
    """
    counts = Counter(np.asarray(start).tolist()).values()
    return math.factorial(len(start)) // math.prod(math.factorial(c) for c in counts)

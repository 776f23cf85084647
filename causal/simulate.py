"""Seeded panels with a known truth for tests, examples and benchmarks of :mod:`causal`.

:func:`simulate_panel` draws a region × month churn panel (one row per cell, ``subscribers`` as weight);
:func:`simulate_subscriber_rows` draws subscriber-month rows (one 0/1 churn indicator per subscriber and month).
Both put region and month effects on churn and a promotion that starts in some regions (one date or staggered),
with an effect that may differ by start cohort and grow with exposure, and an optional pre-trend in treated regions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True, slots=True)
class PanelTruth:
    """The truth behind a simulated panel.

    Attributes
    ----------
    att : float
        Subscriber-month weighted average effect over treated cells (what TWFE/CS 'simple' target).
    starts : dict
        Start month per treated region.
    effect_by_cell : pandas.DataFrame
        ``region``, ``month``, ``effect`` for treated cells.
    """

    att: float
    starts: dict[int, int]
    effect_by_cell: pd.DataFrame


def _design(n_regions: int, n_months: int, treated_share: float, starts: tuple[int, ...],
            rng: np.random.Generator) -> np.ndarray:
    n_treated = max(1, int(round(treated_share * n_regions)))
    start = np.full(n_regions, -1)
    chosen = rng.choice(n_regions, size=n_treated, replace=False)
    start[chosen] = rng.choice(np.asarray(starts), size=n_treated, replace=True)
    return start


def simulate_panel(
    n_regions: int = 40,
    n_months: int = 24,
    *,
    treated_share: float = 0.3,
    starts: tuple[int, ...] = (13,),
    effect: float = 0.004,
    cohort_slope: float = 0.0,
    growth: float = 0.0,
    pretrend: float = 0.0,
    base_churn: float = 0.02,
    subscribers: tuple[int, int] = (2000, 20000),
    noise: float = 0.002,
    rng: np.random.Generator | int | None = None,
) -> tuple[pd.DataFrame, PanelTruth]:
    """Region × month churn panel with a promotion effect on churn.

    The effect in a treated cell is ``effect + cohort_slope · (start - min(starts)) + growth · (month - start)``;
    with ``pretrend`` treated regions' churn drifts by ``pretrend`` per month before the start.

    Returns
    -------
    (pandas.DataFrame, PanelTruth)
        Columns ``region, month, subscribers, churners, churn_rate, promo, promo_start`` and the truth.

    Examples
    --------
    >>> panel, truth = simulate_panel(10, 6, starts=(4,), rng=0)
    >>> panel.shape, sorted(panel.promo.unique().tolist())
    ((60, 7), [0, 1])
    """
    gen = np.random.default_rng(rng)
    start = _design(n_regions, n_months, treated_share, starts, gen)
    region_fe = gen.normal(0, 0.004, n_regions)
    month_fe = gen.normal(0, 0.002, n_months)
    subs = gen.integers(subscribers[0], subscribers[1], n_regions)
    reg = np.repeat(np.arange(n_regions), n_months)
    mon = np.tile(np.arange(1, n_months + 1), n_regions)
    s = start[reg]
    treated = (s > 0) & (mon >= s)
    eff = np.where(treated, effect + cohort_slope * (s - min(starts)) + growth * (mon - s), 0.0)
    drift = np.where((s > 0) & (mon < s), pretrend * (mon - s), 0.0)
    p = np.clip(base_churn + region_fe[reg] + month_fe[mon - 1] + eff + drift + gen.normal(0, noise, len(reg)),
                1e-4, 0.5)
    n = (subs[reg] * gen.uniform(0.95, 1.05, len(reg))).astype(int)
    churners = gen.binomial(n, p)
    panel = pd.DataFrame({
        "region": reg, "month": mon, "subscribers": n, "churners": churners, "churn_rate": churners / n,
        "promo": treated.astype(int), "promo_start": pd.array(np.where(s > 0, s, 0), dtype="Int64"),
    })
    panel.loc[s <= 0, "promo_start"] = pd.NA
    cells = panel.loc[treated, ["region", "month", "subscribers"]].assign(effect=eff[treated])
    att = float(np.average(cells["effect"], weights=cells["subscribers"])) if len(cells) else 0.0
    truth = PanelTruth(att=att, starts={int(r): int(start[r]) for r in np.flatnonzero(start > 0)},
                       effect_by_cell=cells[["region", "month", "effect"]].reset_index(drop=True))
    return panel, truth


def simulate_subscriber_rows(
    n_regions: int = 300,
    n_months: int = 24,
    *,
    mean_subscribers: int = 20,
    treated_share: float = 0.3,
    starts: tuple[int, ...] = (13,),
    effect: float = 0.01,
    base_churn: float = 0.03,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Subscriber-month rows (``region, month, promo, churned, tenure_band``) with a promotion effect on churn.

    Cell sizes vary (Poisson around ``mean_subscribers``) so that the cell weights differ, and a cell-level
    covariate ``price_index`` is included.

    Examples
    --------
    >>> rows = simulate_subscriber_rows(5, 4, mean_subscribers=3, starts=(3,), rng=0)
    >>> list(rows.columns)
    ['region', 'month', 'promo', 'price_index', 'churned']
    """
    gen = np.random.default_rng(rng)
    start = _design(n_regions, n_months, treated_share, starts, gen)
    region_fe = gen.normal(0, 0.01, n_regions)
    month_fe = gen.normal(0, 0.005, n_months)
    reg = np.repeat(np.arange(n_regions), n_months)
    mon = np.tile(np.arange(1, n_months + 1), n_regions)
    promo = ((start[reg] > 0) & (mon >= start[reg])).astype(np.int8)
    price = gen.normal(0, 1, len(reg))
    p = np.clip(base_churn + region_fe[reg] + month_fe[mon - 1] + effect * promo + 0.002 * price, 1e-4, 0.9)
    size = np.maximum(gen.poisson(mean_subscribers, len(reg)), 1)
    idx = np.repeat(np.arange(len(reg)), size)
    churned = (gen.random(len(idx)) < p[idx]).astype(np.float64)
    return pd.DataFrame({"region": reg[idx], "month": mon[idx], "promo": promo[idx], "price_index": price[idx],
                         "churned": churned})

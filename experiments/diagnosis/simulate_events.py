"""Simulated activity logs with a known churn truth: daily, weekly and monthly users.

Each subscriber has a usage rhythm (``daily``, ``weekly`` or ``monthly``: mean gap between events of 1, 7 or 30
days) and produces events as a renewal process with gamma-distributed gaps (shape ``k``: smaller is more
irregular). A subscriber joins at a uniform time in the first ``join_window`` days of the observation period; with
probability ``churn_share`` it churns at a uniform time between 30 days after joining and the end, and produces no
event after that. The truth (rhythm, churn time, churned by the end) is returned beside the events, so a labelling
rule can be scored against it: a rule that ignores each subscriber's rhythm mislabels the low-frequency users whose
ordinary gaps exceed a fixed window.

Examples
--------
>>> sim = simulate_events(n_subscribers=300, rng=1)
>>> sorted(sim.truth["rhythm"].unique())
['daily', 'monthly', 'weekly']
>>> bool((sim.events.groupby("subscriber_id")["ts"].max() <= sim.as_of).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

#: Mean gap in days and gamma shape of each usage rhythm.
RHYTHMS: dict[str, tuple[float, float]] = {"daily": (1.0, 1.5), "weekly": (7.0, 2.5), "monthly": (30.0, 4.0)}
#: Mean spend per event by rhythm (monthly users pay a bill, daily users top up small amounts).
SPEND: dict[str, float] = {"daily": 2.0, "weekly": 9.0, "monthly": 45.0}


@dataclass(frozen=True, slots=True)
class EventSimulation:
    """An activity log and the truth behind it.

    Attributes
    ----------
    events : DataFrame
        One row per event: ``subscriber_id`` (str), ``ts`` (datetime64), ``value`` (float, spend of the event).
    truth : DataFrame
        One row per subscriber: ``subscriber_id``, ``rhythm`` (daily/weekly/monthly), ``mean_gap_days``,
        ``joined`` and ``churn_time`` (datetime; NaT for subscribers who never churn) and ``churned`` (0/1: churned
        on or before ``as_of``).
    as_of : datetime
        End of the observation period (the snapshot date a label is computed at).
    start : datetime
        Start of the observation period.
    """

    events: pd.DataFrame
    truth: pd.DataFrame
    as_of: datetime
    start: datetime = field(default=datetime(2026, 1, 1))


def simulate_events(
    n_subscribers: int = 3_000,
    *,
    days: int = 365,
    join_window: int = 120,
    churn_share: float = 0.35,
    rhythm_shares: tuple[float, float, float] = (0.3, 0.35, 0.35),
    start: datetime = datetime(2026, 1, 1),
    rng: np.random.Generator | int | None = None,
) -> EventSimulation:
    """Simulate an activity log of daily, weekly and monthly users with a known churn time.

    Parameters
    ----------
    n_subscribers : int
        Subscribers.
    days : int
        Length of the observation period; ``as_of = start + days``.
    join_window : int
        Subscribers join uniformly in the first ``join_window`` days.
    churn_share : float
        Probability that a subscriber churns during the period.
    rhythm_shares : tuple of float
        Shares of daily, weekly and monthly users.
    start : datetime
        First day of the period.
    rng : Generator, int or None
        Random stream (``numpy.random.default_rng``).

    Returns
    -------
    EventSimulation
    """
    gen = np.random.default_rng(rng)
    names = list(RHYTHMS)
    rhythm = gen.choice(len(names), size=n_subscribers, p=np.asarray(rhythm_shares) / sum(rhythm_shares))
    mean_gap = np.array([RHYTHMS[names[r]][0] for r in rhythm])
    shape = np.array([RHYTHMS[names[r]][1] for r in rhythm])
    joined = gen.uniform(0, join_window, n_subscribers)
    churns = gen.random(n_subscribers) < churn_share
    churn_time = np.where(churns, gen.uniform(joined + 30, days), np.inf)
    end = np.minimum(churn_time, days)
    # Enough gaps to cover each subscriber's active span, drawn at once; events beyond the span are dropped.
    n_gaps = np.ceil((end - joined) / mean_gap * 1.6 + 12).astype(int)
    owner = np.repeat(np.arange(n_subscribers), n_gaps)
    gaps = gen.gamma(shape[owner], mean_gap[owner] / shape[owner])
    first = np.concatenate([[0], np.cumsum(n_gaps)[:-1]])
    gaps[first] = 0.0  # each subscriber's first event is at joining
    cum = np.cumsum(gaps)
    t = joined[owner] + cum - np.repeat(cum[first], n_gaps)
    keep = t < end[owner]
    owner, t = owner[keep], t[keep]
    spend = np.array([SPEND[names[r]] for r in rhythm])
    value = np.round(gen.gamma(2.0, spend[owner] / 2.0), 2)
    ids = np.array([f"S{i:06d}" for i in range(n_subscribers)])
    as_of = start + timedelta(days=days)
    ts = pd.Timestamp(start) + pd.to_timedelta(np.round(t * 86400).astype("int64"), unit="s")
    events = pd.DataFrame({"subscriber_id": ids[owner], "ts": ts, "value": value})
    events = events.sort_values(["ts", "subscriber_id"], kind="stable").reset_index(drop=True)
    churn_ts = pd.Series(pd.NaT, index=range(n_subscribers), dtype="datetime64[ns]")
    churn_ts[churns] = pd.Timestamp(start) + pd.to_timedelta(np.round(churn_time[churns] * 86400), unit="s")
    truth = pd.DataFrame({
        "subscriber_id": ids,
        "rhythm": np.array(names)[rhythm],
        "mean_gap_days": mean_gap,
        "joined": pd.Timestamp(start) + pd.to_timedelta(np.round(joined * 86400), unit="s"),
        "churn_time": churn_ts.to_numpy(),
        "churned": churns.astype(int),
    })
    return EventSimulation(events=events, truth=truth, as_of=as_of, start=start)

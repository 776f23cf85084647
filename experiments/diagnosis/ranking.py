"""Ranking metrics of a churn score for a campaign of K contacts: precision@K, Recall@K, lift, gains.

Pure functions on arrays: ``y`` is 0/1 (1 = churned), ``score`` any number where higher means more likely to churn.
The top K are the K highest scores; ties at the cut are broken by position (a stable sort of ``-score``), so the
count contacted is always exactly K.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from experiments.errors import DataError, DesignError


def parse_k(k: str | int | float, n: int | None = None, *, option: str = "--k") -> tuple[str, float]:
    """Read K as a share (``"10%"``, ``0.1``) or a count (``"500"``, ``500``).

    Returns ``("share", 0.1)`` or ``("count", 500)``. With ``n`` a count larger than ``n`` is an error. ``option``
    names the setting in the messages.

    Examples
    --------
    >>> parse_k("10%"), parse_k("250"), parse_k(0.05)
    (('share', 0.1), ('count', 250.0), ('share', 0.05))
    """
    text = str(k).strip()
    m = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*%", text)
    try:
        if m:
            kind, value = "share", float(m.group(1)) / 100
        else:
            value = float(text)
            kind = "share" if 0 < value < 1 else "count"
    except ValueError:
        raise DesignError(f"{option}: {k!r} is neither a share (10%) nor a count (500)") from None
    if kind == "share" and not 0 < value <= 1:
        raise DesignError(f"{option}: {k!r} must be a share in (0%, 100%]")
    if kind == "count":
        if value != int(value) or value < 1:
            raise DesignError(f"{option}: {k!r} must be a whole number of subscribers of at least 1, or a share "
                              "like 10%")
        if n is not None and value > n:
            raise DataError(f"{option}: {int(value):,} subscribers is more than the {n:,} rows of the data; use a "
                            f"smaller count or a share such as 10%")
    return kind, value


def k_count(k: tuple[str, float], n: int) -> int:
    """Number of subscribers contacted out of ``n``: ``ceil(share * n)`` (at least 1) or the count (at most n)."""
    kind, value = k
    if kind == "share":
        return max(1, min(n, math.ceil(value * n - 1e-9)))
    return int(min(value, n))


def _top(y: Any, score: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.int64)
    s = np.asarray(score, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise DataError("y and score must be 1-D arrays of the same length")
    if not 1 <= k <= y.size:
        raise DataError(f"K = {k} must be between 1 and the {y.size:,} scored subscribers")
    order = np.argsort(-s, kind="stable")
    return y, order[:k]


def precision_at_k(y: Any, score: Any, k: int) -> float:
    """Share of churners among the K highest scores.

    Examples
    --------
    >>> precision_at_k([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], 2)
    0.5
    """
    y, top = _top(y, score, k)
    return float(y[top].sum() / k)


def recall_at_k(y: Any, score: Any, k: int) -> float:
    """Share of all churners that are among the K highest scores (NaN without churners).

    Examples
    --------
    >>> recall_at_k([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], 2)
    0.5
    """
    y, top = _top(y, score, k)
    pos = y.sum()
    return float(y[top].sum() / pos) if pos else float("nan")


def lift_at_k(y: Any, score: Any, k: int) -> float:
    """Precision@K divided by the churn rate of everybody: how many times better than contacting at random.

    Examples
    --------
    >>> lift_at_k([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], 1)
    2.0
    """
    y, top = _top(y, score, k)
    rate = y.mean()
    return float(y[top].mean() / rate) if rate else float("nan")


def gains_curve(y: Any, score: Any, points: int = 100) -> dict[str, np.ndarray]:
    """Cumulative gains: for shares contacted 0..1 (``points`` + 1 steps), the share of churners captured and lift.

    Examples
    --------
    >>> g = gains_curve([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], points=4)
    >>> g["captured"].tolist()
    [0.0, 0.5, 0.5, 1.0, 1.0]
    """
    y = np.asarray(y, dtype=np.int64)
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    cum = np.concatenate([[0], np.cumsum(y[order])])
    share = np.linspace(0, 1, points + 1)
    ks = np.ceil(share * y.size - 1e-9).astype(int)
    captured = cum[ks] / max(int(y.sum()), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        lift = np.where(ks > 0, captured / np.where(share > 0, share, np.nan), np.nan)
    return {"share": share, "captured": captured, "lift": lift}


def calibration_bins(y: Any, prob: Any, bins: int = 10) -> dict[str, np.ndarray]:
    """Mean predicted probability and observed churn rate in ``bins`` equal-count bins of the probability.

    Also returns each bin's count; the expected calibration error is ``sum(n * |observed - predicted|) / N``.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(prob, dtype=float)
    order = np.argsort(p, kind="stable")
    parts = np.array_split(order, bins)
    parts = [b for b in parts if b.size]
    return {"predicted": np.array([p[b].mean() for b in parts]), "observed": np.array([y[b].mean() for b in parts]),
            "n": np.array([b.size for b in parts])}


def expected_calibration_error(y: Any, prob: Any, bins: int = 10) -> float:
    """Count-weighted mean |observed - predicted| over equal-count bins (:func:`calibration_bins`)."""
    c = calibration_bins(y, prob, bins)
    return float((c["n"] * np.abs(c["observed"] - c["predicted"])).sum() / c["n"].sum())


def t_interval(values: Any, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval across folds: ``mean ± t(level, k-1) · sd / sqrt(k)``.

    The folds share training rows, so the interval is a rough guide to fold-to-fold spread, not an exact
    confidence interval (Bengio & Grandvalet 2004). NaN values are left out.

    Examples
    --------
    >>> m, lo, hi = t_interval([0.8, 0.9, 1.0])
    >>> round(m, 3), round(lo, 3), round(hi, 3)
    (0.9, 0.652, 1.148)
    """
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(v.mean())
    if v.size < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return m, m - half, m + half

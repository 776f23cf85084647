"""Numbers as the report shows them (both languages use the same figures)."""

from __future__ import annotations


def fmt_pct(x: float, digits: int = 1) -> str:
    """``0.1234 -> '12.3%'``."""
    return f"{100 * x:.{digits}f}%" if x == x else "n/a"


def fmt_p(p: float) -> str:
    """p-values as people read them: ``< 0.001`` below a thousandth."""
    if p != p:
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"

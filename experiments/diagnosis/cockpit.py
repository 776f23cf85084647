"""The segment cockpit: one self-contained HTML page with KPI tiles, charts and cross-filtering, built on a cube.

The page embeds only a cube of counts over its dimensions (filter columns, segments, top drivers, threshold
columns): per non-empty combination of levels, subscribers, churners, revenue and revenue at risk. Combinations with
fewer than ``min_cell`` subscribers are suppressed (left out, and their total stated on the page); no subscriber row
or id is written. The cube is capped (``max_levels`` per dimension, ``max_cells`` in all). The page's JavaScript
sums the cube's cells for the current filters, as a BI cockpit does: every chart shows the other filters' slice
(a chart does not filter itself), and the tiles show the slice of all filters. :meth:`Cube.slice` is the same sum in
Python.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from experiments.data.sources import DuckDBSource, _ident, _literal
from experiments.diagnosis.profiling import (
    MISSING,
    _fetch,
    bin_labels,
    label_sql,
    open_diagnosis_source,
    profile,
    require,
)
from experiments.diagnosis.results import ProfileResult
from experiments.errors import DataError
from experiments.report.i18n import MESSAGES, Lang, msg
from experiments.spec.literals import check_literal


@dataclass(frozen=True, slots=True)
class Dim:
    """One dimension of the cube.

    Attributes
    ----------
    name : str
        Column name (``segment`` for the rule segments).
    levels : tuple[str, ...]
        Levels in display order.
    labels : tuple[str, ...]
        What the page shows for each level (segment labels in the page's language; otherwise the level).
    cut : int or None
        For a threshold column: the index of the first level at or above the cut.
    """

    name: str
    levels: tuple[str, ...]
    labels: tuple[str, ...]
    cut: int | None = None


@dataclass(frozen=True, slots=True)
class Slice:
    """Totals of the cells matching a set of filters."""

    n: int
    churned: int
    revenue: float
    revenue_at_risk: float

    @property
    def rate(self) -> float:
        return self.churned / self.n if self.n else math.nan


@dataclass(frozen=True, slots=True)
class Cube:
    """Counts per combination of dimension levels, small cells suppressed.

    Attributes
    ----------
    dims : tuple[Dim, ...]
    cells : tuple[tuple[tuple[int, ...], int, int, float, float], ...]
        ``(level index per dim, subscribers, churners, revenue, revenue at risk)`` of each kept cell.
    min_cell : int
    suppressed_cells, suppressed_n : int
        Cells (and their subscribers) left out because, even with every level hidden, they had fewer than
        ``min_cell`` subscribers (see :func:`suppress_small_cells`).
    total_n : int
        Subscribers in the table, before suppression.
    coarsened_n : int
        Subscribers in kept cells with a hidden level (``-1``): counted by every total that does not filter on it.
    """

    dims: tuple[Dim, ...]
    cells: tuple[tuple[tuple[int, ...], int, int, float, float], ...]
    min_cell: int
    suppressed_cells: int
    suppressed_n: int
    total_n: int
    coarsened_n: int = 0

    def slice(self, filters: Mapping[str, Sequence[str]] | None = None) -> Slice:
        """Totals over the cells whose level of each filtered dimension is among the chosen levels.

        A cell whose level of a filtered dimension is hidden (``-1``) does not match that filter.

        Examples
        --------
        >>> c = Cube((Dim("plan", ("a", "b"), ("a", "b")),), (((0,), 10, 2, 0.0, 0.0), ((1,), 20, 8, 0.0, 0.0)), 5,
        ...          0, 0, 30)
        >>> c.slice({"plan": ["b"]}).rate
        0.4
        """
        keep = []
        for name, levels in (filters or {}).items():
            i = next((j for j, d in enumerate(self.dims) if d.name == name), None)
            if i is None:
                raise DataError(f"filter {name!r} is not a dimension of the cube; dimensions are "
                                f"{[d.name for d in self.dims]}")
            keep.append((i, {self.dims[i].levels.index(v) for v in levels if v in self.dims[i].levels}))
        n = k = 0
        rev = risk = 0.0
        for idx, cn, ck, cr, crr in self.cells:
            if all(idx[i] in chosen for i, chosen in keep):
                n, k, rev, risk = n + cn, k + ck, rev + cr, risk + crr
        return Slice(n, k, rev, risk)

    def to_dict(self) -> dict[str, Any]:
        """What the page embeds: dimensions, cells as flat lists, the suppression counts."""
        return {"dims": [{"name": d.name, "levels": list(d.levels), "labels": list(d.labels), "cut": d.cut}
                         for d in self.dims],
                "cells": [[*idx, n, k, round(rev, 2), round(risk, 2)] for idx, n, k, rev, risk in self.cells],
                "min_cell": self.min_cell, "suppressed_cells": self.suppressed_cells,
                "suppressed_n": self.suppressed_n, "total_n": self.total_n, "coarsened_n": self.coarsened_n}


def build_cube(src: DuckDBSource, dims: Sequence[tuple[Dim, str]], y: str, revenue: str | None, *,
               max_cells: int = 20_000, min_cell: int = 5) -> Cube:
    """Count the cube in one engine ``GROUP BY`` over the dimensions' label expressions.

    Raises
    ------
    DataError
        The cube would have more than ``max_cells`` non-empty cells.
    """
    keys = [f"{expr} AS d{i}" for i, (_, expr) in enumerate(dims)]
    rev = f"coalesce({revenue}, 0)" if revenue else "0.0"
    group = ", ".join(f"d{i}" for i in range(len(dims)))
    sql = (f"SELECT {group}, count(*) AS n, sum(y__) AS k, sum(r__) AS r, sum(r__ * y__) AS rr FROM "
           f"(SELECT {', '.join(keys)}, {y} AS y__, {rev} AS r__ FROM {src.relation}) GROUP BY {group}")
    _, rows = _fetch(src, f"{sql} LIMIT {max_cells + 1}")
    if len(rows) > max_cells:
        raise DataError(f"the cockpit's cube over {[d.name for d, _ in dims]} has more than max_cells={max_cells:,} "
                        "cells; name fewer or coarser --filter columns or raise --max-cells")
    index = [{lvl: j for j, lvl in enumerate(d.levels)} for d, _ in dims]
    raw = {tuple(index[i][str(v)] for i, v in enumerate(r[: len(dims)])):
           (int(r[len(dims)]), int(r[len(dims) + 1] or 0), float(r[len(dims) + 2] or 0), float(r[len(dims) + 3] or 0))
           for r in rows}
    kept, suppressed, coarsened = suppress_small_cells(raw, min_cell)
    cells = tuple(sorted((idx, *v) for idx, v in kept.items()))
    return Cube(tuple(d for d, _ in dims), cells, min_cell, suppressed[0], suppressed[1],
                sum(v[0] for v in raw.values()), coarsened)


def suppress_small_cells(cells: Mapping[tuple[int, ...], tuple[int, int, float, float]], min_cell: int):
    """Hide every cell with fewer than ``min_cell`` subscribers by coarsening, not by deleting it.

    A small cell loses its level of the last dimension (index ``-1``: "any level") and is merged with the other
    small cells that then share its key; cells that reach ``min_cell`` are kept, the others lose the next dimension,
    and so on up to the first. What is still small with every level hidden is suppressed. Totals that do not filter
    on a hidden dimension stay exact.

    Returns
    -------
    kept : dict
        ``key -> (n, churned, revenue, revenue at risk)``, keys with ``-1`` for hidden levels.
    suppressed : tuple[int, int]
        Cells and subscribers left out entirely.
    coarsened : int
        Subscribers of the kept cells that have at least one hidden level.

    Examples
    --------
    >>> kept, sup, co = suppress_small_cells({(0, 0): (10, 1, 0, 0), (0, 1): (2, 1, 0, 0), (1, 1): (3, 0, 0, 0)}, 5)
    >>> kept, sup, co
    ({(0, 0): (10, 1, 0, 0), (-1, -1): (5, 1, 0, 0)}, (0, 0), 5)
    """
    kept = {k: v for k, v in cells.items() if v[0] >= min_cell}
    pending = {k: v for k, v in cells.items() if v[0] < min_cell}
    dims = len(next(iter(cells))) if cells else 0
    for j in reversed(range(dims)):
        merged: dict[tuple[int, ...], tuple] = {}
        for k, v in pending.items():
            key = k[:j] + (-1,) * (dims - j)
            old = merged.get(key, (0, 0, 0.0, 0.0))
            merged[key] = tuple(a + b for a, b in zip(old, v, strict=True))
        pending = {}
        for k, v in merged.items():
            if v[0] >= min_cell:
                kept[k] = v
            else:
                pending[k] = v
    coarsened = sum(v[0] for k, v in kept.items() if -1 in k)
    return kept, (len(pending), sum(v[0] for v in pending.values())), coarsened


def _bands(edges: Sequence[float], bands: int) -> list[float]:
    """Every other profile bin edge until at most ``bands`` bands are left (first and last edge kept)."""
    edges = list(edges)
    while len(edges) - 1 > bands:
        edges = edges[::2] + ([edges[-1]] if (len(edges) - 1) % 2 else [])
    return edges


def _dims(src: DuckDBSource, prof: ProfileResult, filters: Sequence[str], rules: Any, lang: Lang, *,
          max_levels: int, drivers: int, thresholds: int, bands: int) -> list[tuple[Dim, str]]:
    out: list[tuple[Dim, str]] = []
    if rules is not None:
        from experiments.diagnosis.segments import segment_sql

        names = [s.name for s in rules.segments] + [rules.other]
        labels = [(s.label.get(lang) if s.label else s.name) for s in rules.segments] + [rules.other]
        out.append((Dim("segment", tuple(names), tuple(labels)), segment_sql(src, rules)))
    from experiments.diagnosis.profiling import distinct_columns

    chosen = list(filters)
    ranked = [a.column for a in prof.associations
              if a.column not in chosen and len(prof.features[a.column]) <= max_levels]
    chosen += distinct_columns(prof.features, ranked, drivers, taken=chosen)
    strong = sorted((t for t in prof.thresholds.values() if t.p_value < 0.05), key=lambda t: -t.statistic)
    have = sum(t.column in chosen for t in strong)  # a chosen column with a threshold already draws its cut
    chosen += distinct_columns(prof.features, [t.column for t in strong if t.column not in chosen],
                               max(thresholds - have, 0), taken=chosen)
    for c in chosen:
        info = prof.columns.get(c)
        if info is None:
            raise DataError(f"filter column {c!r} is not profiled ({prof.skipped.get(c, 'not a column')}); "
                            "choose another --filter column")
        if info.role == "binned":
            edges = _bands(info.edges, bands)
            levels = bin_labels(edges) + ([MISSING] if MISSING in prof.features[c] else [])
            expr = label_sql(src, info, edges)
        else:
            levels, expr = list(prof.features[c]), label_sql(src, info)
        if len(levels) > max_levels:
            raise DataError(f"filter column {c!r} has {len(levels)} levels, more than the cube allows "
                            f"(max_levels={max_levels}); choose a column with fewer levels or raise --max-levels")
        cut = None
        t = prof.thresholds.get(c)
        if t is not None and info.role == "levels":
            cut = levels.index(t.between[1])
        elif t is not None and t.cut in edges[1:-1]:
            cut = list(edges).index(t.cut)
        out.append((Dim(c, tuple(levels), tuple(levels), cut), expr))
    return out


@dataclass(frozen=True, slots=True)
class Cockpit:
    """A built cockpit: the page, the cube it embeds and the profile it came from."""

    html: str
    cube: Cube
    profile: ProfileResult


def build_cockpit(data: Any, target: str, *, positive: str | None = None, rules: Any = None,
                  revenue: str | None = None, filters: Sequence[str] = (), lang: Lang = "en", max_levels: int = 30,
                  max_cells: int = 20_000, min_cell: int = 5, drivers: int = 3, thresholds: int = 1,
                  bands: int = 5, title: str | None = None) -> Cockpit:
    """Profile the table, count the cube and render the cockpit page (English or Simplified Chinese).

    Parameters
    ----------
    filters : sequence of str
        Columns to filter by; the segments (when ``rules`` is given), the ``drivers`` most associated columns and
        the ``thresholds`` strongest threshold columns are added. Numeric columns are cut into ``bands`` bands.
    max_levels, max_cells : int
        The cube's caps: levels per dimension and non-empty cells in all (a clear error names the cap).
    min_cell : int
        Cells with fewer subscribers are suppressed.

    Raises
    ------
    DataError
        A filter column is missing or has more levels than ``max_levels``; the cube exceeds ``max_cells``.
    """
    import jinja2
    from plotly.offline import get_plotlyjs

    from experiments.diagnosis.segments import load_rules

    check_literal(lang, Lang, "--lang")
    src = data if isinstance(data, DuckDBSource) else open_diagnosis_source(data)
    require(src, list(filters), "--filter")
    rules = load_rules(rules) if rules is not None and not hasattr(rules, "segments") else rules
    prof = profile(src, target, positive=positive, revenue=revenue, max_levels=max(max_levels, 100))
    from experiments.diagnosis.profiling import _numeric_sql

    y = f"(CAST({_ident(target)} AS VARCHAR) = {_literal(prof.positive)})::INTEGER"
    dims = _dims(src, prof, filters, rules, lang, max_levels=max_levels, drivers=drivers, thresholds=thresholds,
                 bands=bands)
    cube = build_cube(src, dims, y, _numeric_sql(src, revenue) if revenue else None, max_cells=max_cells,
                      min_cell=min_cell)
    seg = {}
    if rules is not None:
        for s in rules.segments:
            seg[s.name] = {"risk": s.risk, "action": s.action.get(lang)}
        seg[rules.other] = {"risk": "", "action": rules.other_action.get(lang)}
    payload = {"cube": cube.to_dict(), "segments": seg, "has_revenue": revenue is not None,
               "drivers": [{"column": a.column, "value": round(a.value, 4),
                            "method": msg("diag.method." + a.method, lang)} for a in prof.associations[:8]],
               "t": {k.removeprefix("cockpit."): v[lang] for k, v in MESSAGES.items() if k.startswith("cockpit.")},
               "lang": lang}
    env = jinja2.Environment(loader=jinja2.PackageLoader("experiments.diagnosis", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    heading = title or msg("cockpit.title", lang)
    hidden = cube.coarsened_n + cube.suppressed_n
    note = msg("cockpit.suppressed", lang, n=f"{hidden:,}", k=min_cell, gone=f"{cube.suppressed_n:,}") if hidden else ""
    data_json = json.dumps(payload, ensure_ascii=False).replace("</", "<\\/")  # no "</script>" inside the JSON
    html = env.get_template("cockpit.html.j2").render(
        title=heading, lang=lang, plotlyjs=get_plotlyjs(), data=data_json, t=payload["t"],
        has_revenue=revenue is not None, has_segments=rules is not None, suppressed=note, source=prof.source,
        target=target)
    return Cockpit(html, cube, prof)

"""How units get arms: hashes of salted ids, largest-remainder quotas, and the same hash as DuckDB SQL.

These are the pure pieces of :func:`experiments.planning.assignment.assign` (see its module docstring for the rules).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

HASH_BITS = 64


def design_hash(design: Any) -> str:
    """SHA-256 of the design's canonical JSON (sorted keys, the file path left out).

    Examples
    --------
    >>> from experiments.spec.models import parse_design
    >>> d = parse_design({"name": "x", "data": {"source": "o.parquet"}, "control": "c",
    ...                   "arms": {"c": {"weight": 0.5}, "t": {"weight": 0.5}},
    ...                   "metrics": [{"name": "m", "column": "y", "kind": "binary"}]})
    >>> len(design_hash(d))
    64
    """
    payload = json.dumps(design.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def unit_hash(salt: str, unit: object) -> int:
    """The 64-bit hash the engine computes for one unit (for tests and for explaining one assignment).

    Examples
    --------
    >>> unit_hash("s1", 42) == int(hashlib.sha256(b"s1|42").hexdigest()[:16], 16)
    True
    """
    return int(hashlib.sha256(f"{salt}|{unit}".encode()).hexdigest()[:16], 16)


def largest_remainder(n: int, weights: Mapping[str, float], tie_key: str = "") -> dict[str, int]:
    """Split ``n`` units over arms: ``floor(w n)`` each, one more for the largest remainders.

    Ties between equal remainders are broken by SHA-256 of ``tie_key|arm`` so that, over many strata, no arm gets the
    odd unit more often than another.

    Examples
    --------
    >>> largest_remainder(10, {"c": 0.5, "a": 0.25, "b": 0.25})
    {'c': 5, 'a': 3, 'b': 2}
    >>> sum(largest_remainder(7, {"c": 1 / 3, "a": 1 / 3, "b": 1 / 3}, "x").values())
    7
    """
    arms = list(weights)
    total_w = sum(weights.values())
    exact = {a: n * weights[a] / total_w for a in arms}
    base = {a: int(math.floor(exact[a] + 1e-9)) for a in arms}
    left = n - sum(base.values())
    order = sorted(arms, key=lambda a: (-(exact[a] - base[a]),
                                        hashlib.sha256(f"{tie_key}|{a}".encode()).hexdigest()))
    for a in order[:left]:
        base[a] += 1
    return base


def fill_quotas(n: int, existing: Mapping[str, int], weights: Mapping[str, float], tie_key: str = "") -> dict[str, int]:
    """How many new units each arm gets when ``existing`` units keep their arms and the stratum grows to ``n``.

    Each arm is filled up to its largest-remainder quota for ``n``; if kept units already exceed an arm's quota, the
    shortfall is taken from the arms with the most new units.

    Examples
    --------
    >>> fill_quotas(10, {"c": 2, "t": 2}, {"c": 0.5, "t": 0.5})
    {'c': 3, 't': 3}
    """
    target = largest_remainder(n, weights, tie_key)
    new = {a: max(target[a] - existing.get(a, 0), 0) for a in weights}
    m = n - sum(existing.get(a, 0) for a in weights)
    excess = sum(new.values()) - m
    while excess > 0:
        a = max(new, key=lambda k: (new[k], hashlib.sha256(f"{tie_key}|{k}".encode()).hexdigest()))
        new[a] -= 1
        excess -= 1
    return new


def sql_str(x: str) -> str:
    return "'" + x.replace("'", "''") + "'"


def sql_ident(x: str) -> str:
    return '"' + x.replace('"', '""') + '"'


def hash_sql(salt: str, unit: str, prefix: str = "") -> str:
    return (f"CAST('0x' || substr(sha256({sql_str(salt + '|')} || CAST({prefix}{sql_ident(unit)} AS VARCHAR)), 1, 16)"
            " AS UBIGINT)")

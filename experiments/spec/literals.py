"""Closed choices of the framework, in one place, with the one validator that checks them."""

from __future__ import annotations

from typing import Literal, get_args

from experiments.errors import DesignError

MetricKind = Literal["binary", "continuous"]
Direction = Literal["increase", "decrease"]
MetricRole = Literal["primary", "secondary", "guardrail"]
Correction = Literal["holm", "bonferroni", "bh", "none"]
ConditionOp = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "between", "is_null", "not_null"]
PowerMethod = Literal["evan_miller", "pooled", "cohen_h"]
AssignMethod = Literal["stratified", "hash"]
UpliftLearner = Literal["dr", "causal_forest"]


def check_literal(value: object, literal: object, key: str) -> str:
    """Return ``value`` if it is one of the ``Literal``'s values, else raise :class:`DesignError`.

    Examples
    --------
    >>> check_literal("holm", Correction, "analysis.correction")
    'holm'
    """
    allowed = get_args(literal)
    if value not in allowed:
        raise DesignError(f"{key}: {value!r} is not allowed; use one of {', '.join(map(repr, allowed))}")
    return value  # type: ignore[return-value]

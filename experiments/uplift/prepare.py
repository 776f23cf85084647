"""The rows an uplift analysis runs on: validated, encoded features, arms, outcome, acceptance and value.

:func:`prepare_uplift_data` checks and encodes the rows a design names; :class:`UpliftData` carries them (copies:
the caller's frame is never touched).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from experiments.errors import DataError, DesignError, close_matches

if TYPE_CHECKING:
    from experiments.spec.models import ExperimentDesign, UpliftSpec

#: Fewest subscribers an arm (and control) needs: each of the cross-fitting folds and EconML's inner folds must hold
#: both outcome classes of every arm; with 2 x 2 folds, 200 units leave 50 per inner fold.
MIN_UNITS_PER_FOLD = 100
#: Largest number of levels a text feature may have before it is refused (one-hot columns).
MAX_CATEGORY_LEVELS = 50
#: Internal column that carries per-subscriber values passed as an array through the row filters.
VALUE_COLUMN = "__value_of_retention__"


@dataclass(frozen=True, slots=True)
class UpliftData:
    """The validated, encoded rows an uplift analysis runs on (copies; the caller's frame is not touched).

    Attributes
    ----------
    X : ndarray of shape (n, p), float32
        Numeric features; text features are one-hot encoded (one column per level, ``name=level``).
    feature_names : list[str]
        Names of the columns of ``X``.
    arm : ndarray of shape (n,)
        Arm label per subscriber.
    y : ndarray of shape (n,)
        Outcome of the metric as recorded (e.g. churned 0/1).
    benefit_sign : float
        +1 if larger outcomes are better (``direction: increase``), -1 otherwise; ``benefit = sign * y``.
    accepted : ndarray of shape (n,) or None
        0/1 acceptance of the offer (``data.acceptance``), if the design names it.
    value : ndarray of shape (n,) or None
        Value of one unit of benefit per subscriber (value of retention), if the design has a ``value`` section
        or values were passed.
    segments : dict[str, ndarray]
        Raw segment columns (``uplift.segments``) for the segment tables.
    metric : str
        Name of the metric analysed.
    binary : bool
        Whether the metric is binary (0/1).
    n_input : int
        Rows before sampling down to ``uplift.max_rows``.
    """

    X: np.ndarray
    feature_names: list[str]
    arm: np.ndarray
    y: np.ndarray
    benefit_sign: float
    accepted: np.ndarray | None
    value: np.ndarray | None
    segments: dict[str, np.ndarray]
    metric: str
    binary: bool
    n_input: int


def retention_value(design: ExperimentDesign, frame: pd.DataFrame) -> np.ndarray | None:
    """Value of retaining each subscriber from the design's ``value`` section, or None without one.

    ``retention_value`` (a number or a column) is used as given. Otherwise the value is the margin per month
    (a number or a column) summed over ``horizon_months`` and discounted monthly at ``annual_discount_rate``:
    ``margin * sum_{m=1..H} (1 + r) ** (-m / 12)``. Lifetime values from the survival part can be passed to
    :func:`analyze_uplift` as ``value=`` instead.

    Examples
    --------
    >>> from experiments.spec.models import ValueSpec
    >>> class D: value = ValueSpec(margin=10.0, horizon_months=12, annual_discount_rate=0.0)
    >>> float(retention_value(D(), pd.DataFrame({"a": [1, 2]}))[0])
    120.0
    """
    spec = design.value
    if spec is None:
        return None

    def column_or_number(v: float | str, key: str) -> np.ndarray:
        if isinstance(v, str):
            if v not in frame.columns:
                raise DataError(f"value.{key} names column {v!r}, which the data does not have"
                                f"{close_matches(v, frame.columns)}; give a number or an existing column")
            arr = pd.to_numeric(frame[v], errors="coerce").to_numpy(dtype=float)
            if not np.isfinite(arr).all():
                raise DataError(f"value.{key} column {v!r} has {int((~np.isfinite(arr)).sum())} missing or "
                                "non-numeric values; fill them or give a number")
            return arr
        return np.full(len(frame), float(v))

    if spec.retention_value is not None:
        return column_or_number(spec.retention_value, "retention_value")
    months = np.arange(1, spec.horizon_months + 1)
    annuity = float(np.sum((1 + spec.annual_discount_rate) ** (-months / 12)))
    return column_or_number(spec.margin, "margin") * annuity


#: dtype of the feature matrix. The histogram GBMs bin every feature into at most 255 bins and scikit-learn's
#: decision trees (the policy tree) split in float32 anyway, so float64 would only double the memory (1M x 31
#: features: 124 MB instead of 248 MB, and the same again for every fold's copy).
FEATURE_DTYPE = np.float32


def _encode_features(frame: pd.DataFrame, features: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    plan: list[tuple[str, list[str] | None]] = []  # (column, text levels or None for a number)
    names: list[str] = []
    for f in features:
        if f not in frame.columns:
            raise DataError(f"uplift.features names column {f!r}, which the data does not have"
                            f"{close_matches(f, frame.columns)}; remove it from uplift.features or fix its name")
        s = frame[f]
        if s.isna().any():
            raise DataError(f"feature column {f!r} has {int(s.isna().sum())} missing values; fill them (or drop "
                            "the rows) before the uplift analysis, or remove it from uplift.features")
        if s.nunique(dropna=False) < 2:
            raise DataError(f"feature column {f!r} is constant ({s.iloc[0]!r} in every row) and cannot explain "
                            "who benefits; remove it from uplift.features")
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            inf = int(np.isinf(s.to_numpy(dtype=float)).sum())
            if inf:
                raise DataError(f"feature column {f!r} has {inf} infinite values (inf/-inf); replace them with "
                                "numbers or missing-value handling before the uplift analysis")
            plan.append((f, None))
            names.append(f)
        elif pd.api.types.is_datetime64_any_dtype(s):
            raise DataError(f"feature column {f!r} holds dates; turn it into a number (e.g. days since an event) "
                            "before using it as an uplift feature")
        else:
            levels = sorted(s.astype(str).unique())
            if len(levels) > MAX_CATEGORY_LEVELS:
                raise DataError(f"feature column {f!r} is text with {len(levels)} distinct values (more than "
                                f"{MAX_CATEGORY_LEVELS}); group rare values or drop it from uplift.features")
            plan.append((f, levels))
            names += [f"{f}={lvl}" for lvl in levels]  # one-hot with every level, readable in the policy-tree rules
    # filled column by column: no list of float64 columns and no stacked copy of them
    X = np.empty((len(frame), len(names)), dtype=FEATURE_DTYPE)
    j = 0
    for f, lv in plan:
        if lv is None:
            X[:, j] = frame[f].to_numpy(dtype=float)
            j += 1
        else:
            text = frame[f].astype(str).to_numpy()
            for lvl in lv:
                X[:, j] = text == lvl
                j += 1
    return X, names


def prepare_uplift_data(
    design: ExperimentDesign,
    frame: pd.DataFrame,
    spec: UpliftSpec | None = None,
    *,
    value: Sequence[float] | np.ndarray | str | None = None,
    rng: np.random.Generator | int | None = None,
) -> UpliftData:
    """Validate the rows of an experiment for uplift and encode them.

    Parameters
    ----------
    design : ExperimentDesign
        The design; its ``uplift`` section is used unless ``spec`` is given.
    frame : pandas.DataFrame
        One row per subscriber. Not modified.
    spec : UpliftSpec, optional
        Overrides ``design.uplift``.
    value : array, column name or None
        Value of retention per subscriber (e.g. lifetime values from ``survival.ltv``); overrides the design's
        ``value`` section.
    rng : Generator, int or None
        Used only to sample down to ``spec.max_rows``.

    Raises
    ------
    DataError
        Missing or constant feature, missing values, unknown arm label, an arm with too few units, an outcome that
        is not 0/1 for a binary metric.
    """
    spec = spec or design.uplift
    if spec is None:
        raise DesignError("the design has no uplift section; add uplift: {features: [tenure_months, arpu, ...]}")
    metric = design.metric(spec.metric) if spec.metric else next(m for m in design.metrics if m.role == "primary")
    arm_col = design.data.arm
    needed = {"data.arm": arm_col, f"metrics[{metric.name}].column": metric.column}
    if design.data.acceptance:
        needed["data.acceptance"] = design.data.acceptance
    for key, col in needed.items():
        if col not in frame.columns:
            raise DataError(f"data has no column {col!r} (named by {key}){close_matches(col, frame.columns)}; "
                            "fix the design or the data")
    n_input = len(frame)
    if spec.max_rows is not None and n_input > spec.max_rows:
        idx = np.sort(np.random.default_rng(rng).choice(n_input, spec.max_rows, replace=False))
        frame = frame.iloc[idx]
    arm = frame[arm_col].astype(str).to_numpy()
    unknown = sorted(set(np.unique(arm)) - set(design.arms))
    if unknown:
        raise DataError(f"column {arm_col!r} has arm labels {unknown[:5]} that are not in the design's arms "
                        f"{list(design.arms)}; fix the labels or the design")
    n_folds = spec.n_folds
    need = MIN_UNITS_PER_FOLD * n_folds
    for a in design.arms:
        k = int((arm == a).sum())
        if k < need:
            raise DataError(f"arm {a!r} has {k} subscribers; the uplift models need at least {need} per arm "
                            f"({MIN_UNITS_PER_FOLD} per cross-fitting fold x uplift.n_folds = {n_folds}); collect "
                            "more data, lower uplift.n_folds, or remove the arm from the design")
    y_raw = pd.to_numeric(frame[metric.column], errors="coerce")
    if y_raw.isna().any():
        raise DataError(f"outcome column {metric.column!r} (metric {metric.name!r}) has {int(y_raw.isna().sum())} "
                        "missing or non-numeric values; drop immature or unknown rows first")
    y = y_raw.to_numpy(dtype=float)
    if metric.kind == "binary":
        bad = ~np.isin(y, (0.0, 1.0))
        if bad.any():
            raise DataError(f"outcome column {metric.column!r} of binary metric {metric.name!r} has "
                            f"{int(bad.sum())} values other than 0/1 (e.g. {y[bad][0]!r}); recode it to 0/1 or "
                            "declare the metric kind: continuous")
        for a in design.arms:
            if np.unique(y[arm == a]).size < 2:
                raise DataError(f"outcome {metric.column!r} takes a single value in arm {a!r}; the uplift models "
                                "need both outcomes in every arm")
    X, names = _encode_features(frame, spec.features)
    accepted = None
    if design.data.acceptance:
        acc = pd.to_numeric(frame[design.data.acceptance], errors="coerce").to_numpy(dtype=float)
        if not np.isin(acc, (0.0, 1.0)).all():
            raise DataError(f"acceptance column {design.data.acceptance!r} must be 0/1; found other or missing "
                            "values; recode it")
        accepted = acc
    if value is None:
        val = retention_value(design, frame)
    elif isinstance(value, str):
        if value not in frame.columns:
            raise DataError(f"value column {value!r} is not in the data{close_matches(value, frame.columns)}")
        val = frame[value].to_numpy(dtype=float)
    else:
        val = np.asarray(value, dtype=float)
        if val.shape != (n_input,):
            raise DataError(f"value has shape {val.shape}; give one value of retention per row ({n_input})")
        if spec.max_rows is not None and n_input > spec.max_rows:
            val = val[idx]
    if val is not None and not np.isfinite(val).all():
        raise DataError("value of retention has missing or infinite entries; fill them")
    segments = {}
    for s in spec.segments:
        if s not in frame.columns:
            raise DataError(f"uplift.segments names column {s!r}, which the data does not have"
                            f"{close_matches(s, frame.columns)}")
        segments[s] = frame[s].to_numpy()
    return UpliftData(
        X=X, feature_names=names, arm=arm, y=y, benefit_sign=1.0 if metric.direction == "increase" else -1.0,
        accepted=accepted, value=val, segments=segments, metric=metric.name, binary=metric.kind == "binary",
        n_input=n_input,
    )

"""Domain exceptions.

Every error a user can cause by a bad design file, bad data or a bad flag is one of these. The message names the
key or column, what was found, and how to fix it; the CLI prints it as one line on stderr and exits with code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RetentionError(ValueError):
    """Base class of every error caused by the user's input (design, data, flags)."""


class DesignError(RetentionError):
    """The design file is missing, malformed, or inconsistent."""


class DataError(RetentionError):
    """The data source is missing, or its contents do not fit the design."""


class OutputExistsError(RetentionError):
    """An output file already exists and ``--force`` was not given."""


class OutputPathError(RetentionError):
    """An output cannot be written where it was asked for (a file in the way, a folder, no write permission)."""


def close_matches(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """Return ``" (did you mean 'a', 'b'?)"`` for the closest candidates, or an empty string.

    Examples
    --------
    >>> close_matches("churn_90", ["churned_90d", "arm", "revenue_90d"])
    " (did you mean 'churned_90d'?)"
    """
    candidates = list(candidates)
    matches = difflib.get_close_matches(name, candidates, n=n, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in candidates}
        matches = [lowered[name.lower()]] if name.lower() in lowered else []
    if not matches:
        return ""
    return " (did you mean " + ", ".join(repr(m) for m in matches) + "?)"

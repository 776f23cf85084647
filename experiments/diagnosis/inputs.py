"""Inputs of the diagnosis commands: their small YAML files (a catalogue, a graph) and tables DuckDB reads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from experiments.errors import DataError, DesignError

if TYPE_CHECKING:
    from experiments.data.sources import DuckDBSource

M = TypeVar("M", bound=BaseModel)


def validate_mapping(model: type[M], raw: Any, source: str, expected: str) -> M:
    """``raw`` (parsed YAML) validated as ``model``; a :class:`DesignError` naming the key otherwise.

    Examples
    --------
    >>> from pydantic import BaseModel
    >>> class Spec(BaseModel):
    ...     name: str
    >>> validate_mapping(Spec, {"name": "x"}, "spec.yaml", "name").name
    'x'
    """
    from experiments.spec.models import _format_validation_error

    if not isinstance(raw, dict):
        raise DesignError(f"{source}: expected a mapping with {expected}; found {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise DesignError(_format_validation_error(err, source)) from None


def read_yaml(path: str | Path, flag: str, what: str) -> Any:
    """The parsed contents of a YAML file (safe loader: no tags that construct Python objects).

    Raises
    ------
    DesignError
        The file does not exist or is not valid YAML.
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise DesignError(f"{flag} {str(p)!r} does not exist; pass the YAML file of {what}")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise DesignError(f"{p}: not valid YAML at line {mark.line + 1 if mark else '?'}; plain YAML only") from None


def open_duckdb(source: Any, what: str) -> DuckDBSource:
    """``source`` (a file, ``duckdb://`` URL or DataFrame) opened for DuckDB SQL; an Ibis table is refused.

    Raises
    ------
    DataError
        The source cannot be read, or it is an Ibis table of another engine.
    """
    from experiments.data.sources import DuckDBSource, open_source

    src = open_source(source)
    if not isinstance(src, DuckDBSource):
        raise DataError(f"{what} run on DuckDB: pass a .parquet/.csv file, a duckdb:// URL or a DataFrame")
    return src

"""The small YAML files of the diagnosis commands (a catalogue, a graph): safe loader, one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from experiments.errors import DesignError

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


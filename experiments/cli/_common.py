"""Shared pieces of the CLI: the error boundary, output safety and the console.

Every command is wrapped by :func:`domain_errors`: an error the user caused becomes one line on stderr and exit
code 2, with no traceback and no partial output. Outputs are written with :func:`write_outputs`, which refuses to
overwrite without ``--force`` and writes each file through a temporary file and a rename.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from experiments.errors import OutputExistsError, RetentionError

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

#: Exception types that mean "the user's input is wrong". Stand-alone packages (causal, survival) define their own
#: ValueError subclasses; their CLI modules add them here with :func:`register_domain_error`.
DOMAIN_ERRORS: list[type[BaseException]] = [RetentionError]

F = TypeVar("F", bound=Callable[..., Any])


def register_domain_error(exc_type: type[BaseException]) -> None:
    """Treat ``exc_type`` as a user error in every command (one line on stderr, exit 2)."""
    if exc_type not in DOMAIN_ERRORS:
        DOMAIN_ERRORS.append(exc_type)


def fail(message: str) -> typer.Exit:
    """Print ``message`` as one line on stderr and return the exit to raise (code 2)."""
    line = " ".join(str(message).split())
    err_console.print(f"error: {line}", markup=False, highlight=False)
    return typer.Exit(code=2)


def domain_errors(func: F) -> F:
    """Decorator: turn domain errors raised by a command into one stderr line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except tuple(DOMAIN_ERRORS) as exc:  # type: ignore[misc]
            raise fail(str(exc)) from None
        except FileNotFoundError as exc:
            raise fail(f"file not found: {exc.filename or exc}") from None
        except PermissionError as exc:
            raise fail(f"permission denied: {exc.filename or exc}") from None

    return wrapper  # type: ignore[return-value]


def check_writable(paths: list[Path], force: bool) -> None:
    """Raise :class:`OutputExistsError` if any path exists and ``force`` is false."""
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise OutputExistsError(
            f"output {existing[0]!r} already exists" + (f" (and {len(existing) - 1} more)" if len(existing) > 1 else "")
            + "; pass --force to overwrite it or choose another --out"
        )


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_outputs(files: Mapping[Path, bytes | str], force: bool) -> None:
    """Write several files only after all of them are ready; refuse to overwrite unless ``force``.

    The contents are produced before this is called, so a failure in the analysis never leaves a partial output.
    """
    check_writable(list(files), force)
    for path, content in files.items():
        atomic_write_bytes(path, content.encode("utf-8") if isinstance(content, str) else content)


def to_json(obj: Any) -> str:
    """JSON text with NaN/inf written as null (strict JSON readers reject NaN)."""

    def clean(x: Any) -> Any:
        if isinstance(x, float):
            return x if x == x and x not in (float("inf"), float("-inf")) else None
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        if hasattr(x, "item") and callable(x.item):  # numpy scalars
            return clean(x.item())
        return x

    return json.dumps(clean(obj), indent=2, ensure_ascii=False) + "\n"


def is_interactive() -> bool:
    """Whether progress bars are worth drawing (a terminal, and not CI)."""
    return sys.stderr.isatty() and not os.environ.get("CI")

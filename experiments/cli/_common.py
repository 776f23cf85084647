"""Shared pieces of the CLI: the error boundary, output safety and the console.

Every command is wrapped by :func:`domain_errors`: an error the user caused becomes one line on stderr and exit
code 2, with no traceback and no partial output. Outputs are written with :func:`write_outputs`, which refuses to
overwrite without ``--force`` and writes each file through a temporary file and a rename.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from experiments.data.io import atomic_write_bytes, check_writable, to_json, write_outputs
from experiments.errors import RetentionError

__all__ = ["atomic_write_bytes", "check_writable", "console", "domain_errors", "err_console", "fail",
           "is_interactive", "register_domain_error", "to_json", "write_outputs"]

def _width() -> int | None:
    """Terminal width, or 140 columns when output goes to a file or pipe (Rich would assume 80)."""
    return None if sys.stdout.isatty() else 140


console = Console(highlight=False, width=_width())
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
            raise fail(f"permission denied: {exc.filename or exc}; choose another location or fix its "
                       "permissions") from None
        except (IsADirectoryError, NotADirectoryError) as exc:
            raise fail(f"{exc.filename or exc}: {exc.strerror or exc}; pass a file inside an existing folder") from None
        except UnicodeDecodeError as exc:
            raise fail(f"an input file is not UTF-8 text ({exc.reason} at byte {exc.start}); re-save it as "
                       "UTF-8") from None
        except OSError as exc:  # disk full, read-only file system, ...: the system's words, one line
            raise fail(f"{exc.filename or 'file system'}: {exc.strerror or exc}; free the location or choose "
                       "another one") from None

    return wrapper  # type: ignore[return-value]


def parse_date_option(value: str | None, flag: str):
    """``YYYY-MM-DD`` from a CLI option as a ``date`` (None stays None); a clear error otherwise."""
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RetentionError(f"{flag}: {value!r} is not a date; write it as YYYY-MM-DD") from None


def is_interactive() -> bool:
    """Whether progress bars are worth drawing (a terminal, and not CI)."""
    return sys.stderr.isatty() and not os.environ.get("CI")

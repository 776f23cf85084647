"""The ``retention`` command line.

Each area registers its commands on :data:`experiments.cli.app.app` from its own module; heavy libraries are
imported inside the commands so that ``retention --help`` starts fast.
"""

# ruff: noqa: I001  (the import order below is the order of --help)
from __future__ import annotations

from experiments.cli.app import app

# Command modules register themselves on `app` when imported, in the order of the loop (the order of --help).
from experiments.cli import demo as _demo  # noqa: F401
from experiments.cli import simulate as _simulate  # noqa: F401
from experiments.cli import design as _design  # noqa: F401
from experiments.cli import analyze as _analyze  # noqa: F401
from experiments.cli import calibrate as _calibrate  # noqa: F401
from experiments.cli import uplift as _uplift  # noqa: F401
from experiments.cli import survival as _survival  # noqa: F401
from experiments.cli import did as _did  # noqa: F401
from experiments.cli import diagnosis as _diagnosis  # noqa: F401
from experiments.cli import signals as _signals  # noqa: F401
from experiments.cli import predict as _predict  # noqa: F401

__all__ = ["Interrupted", "app", "main"]


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwinds like KeyboardInterrupt, so every ``finally`` and cleanup handler runs
    (temporary outputs removed, registry transaction rolled back, its lock released)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


def _redeliver_swallowed(unraisable: object) -> None:
    """``sys.unraisablehook``: a signal that arrived while Python ran a weakref callback or a ``__del__`` (an import
    lock's cleanup, say) raised :class:`Interrupted` where exceptions are only printed and dropped. Send the
    signal again from a timer thread, 10 ms later, so that the main thread meets it in ordinary code and the run
    still stops (sent from here, it would run its handler inside this hook and be dropped again); everything else
    is printed as Python prints it."""
    import os
    import sys
    import threading

    exc = getattr(unraisable, "exc_value", None)
    if isinstance(exc, Interrupted):
        timer = threading.Timer(0.01, os.kill, (os.getpid(), exc.signum))
        timer.daemon = True
        timer.start()
        return
    sys.__unraisablehook__(unraisable)  # type: ignore[arg-type]


def main() -> None:
    """Entry point of the ``retention`` console script.

    SIGTERM (``kill``, a scheduler's timeout) and SIGINT (Ctrl-C) raise :class:`Interrupted` in the main thread, so the
    run stops with its cleanup done: no partial output, no temporary file, no lock left behind. The process then
    prints one line and exits with 128 + the signal number (130 for SIGINT, 143 for SIGTERM), as a shell expects.
    """
    import signal
    import sys

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _raise_interrupted)
    sys.unraisablehook = _redeliver_swallowed
    try:
        code = _run_app()
    except Interrupted as exc:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal during the exit is not an error to report
            signal.signal(sig, signal.SIG_IGN)
        name = signal.Signals(exc.signum).name
        sys.stderr.write(f"error: interrupted by {name}; the run stopped and wrote no partial output\n")
        sys.exit(128 + exc.signum)
    import gc

    # Every output is written and closed by now. Freezing the heap spares the interpreter's teardown a walk over
    # the objects of SciPy, pydantic and Rich (0.05-0.1 s of every run; benchmarks/README.md); objects are still
    # freed when the modules are cleared, and atexit handlers (Spark's, tempfile's) run as before.
    gc.freeze()
    sys.exit(code)


def _run_app() -> int:
    """Run the app with click's own error display turned off, so a usage error (a missing option, a bad value, an
    unknown command) is one line on stderr with exit code 2, like every other error of the CLI, instead of a box."""
    import sys

    try:  # Typer >= 0.22 vendors click as typer._click and raises its exceptions (Abort is typer's own)
        from typer import Abort
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older Typer on the real click
        from click import Abort, exceptions

    try:
        rv = app(standalone_mode=False)
    except exceptions.NoArgsIsHelpError as exc:  # bare `retention` or `retention GROUP`: the help, exit 2
        exc.show()
        return 2
    except exceptions.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "retention"
        message = " ".join(exc.format_message().split())
        sys.stderr.write(f"error: {message} (see '{where} --help')\n")
        return 2
    except exceptions.ClickException as exc:
        sys.stderr.write(f"error: {' '.join(exc.format_message().split())}\n")
        return exc.exit_code
    except Abort:
        sys.stderr.write("error: aborted\n")
        return 1
    return rv if isinstance(rv, int) else 0

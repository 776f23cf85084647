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
    try:
        app()
    except Interrupted as exc:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal during the exit is not an error to report
            signal.signal(sig, signal.SIG_IGN)
        name = signal.Signals(exc.signum).name
        sys.stderr.write(f"error: interrupted by {name}; the run stopped and wrote no partial output\n")
        sys.exit(128 + exc.signum)

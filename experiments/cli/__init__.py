"""The ``retention`` command line.

Each area registers its commands on :data:`experiments.cli.app.app` from its own module; heavy libraries are
imported inside the commands so that ``retention --help`` starts fast.
"""

from __future__ import annotations

from experiments.cli import analyze as _analyze  # noqa: E402,F401

# Command modules register themselves on `app` when imported, in the order of the loop (the order of --help).
from experiments.cli import demo as _demo  # noqa: E402,F401,I001
from experiments.cli import design as _design  # noqa: E402,F401
from experiments.cli import did as _did  # noqa: E402,F401
from experiments.cli import simulate as _simulate  # noqa: E402,F401
from experiments.cli import survival as _survival  # noqa: E402,F401
from experiments.cli import uplift as _uplift  # noqa: E402,F401
from experiments.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``retention`` console script."""
    app()

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

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``retention`` console script."""
    app()

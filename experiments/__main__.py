"""``python -m experiments`` runs the ``retention`` CLI."""

from experiments.cli import main

main()

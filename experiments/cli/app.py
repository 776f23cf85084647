"""The ``retention`` Typer application that every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="retention",
    help="Design, assign, analyze and value telecom retention experiments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

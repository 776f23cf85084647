"""Running a ``retention`` command that must refuse its input: one line on stderr, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from experiments.cli.app import app

runner = CliRunner()


def assert_refused(args: list[str], out: Path, match: str) -> str:
    """Invoke ``retention ARGS``; assert exit code 2, a single stderr line containing ``match``, no traceback, and
    that ``out`` (a file or folder) was not created. Returns the line."""
    res = runner.invoke(app, args)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == 2, res.output
    assert len(lines) == 1 and "Traceback" not in res.output, res.stderr
    assert match in lines[0], lines[0]
    assert not out.exists()
    return lines[0]

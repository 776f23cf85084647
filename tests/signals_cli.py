"""Running a ``retention`` command that must refuse its input: one line on stderr, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from experiments.cli.app import app

runner = CliRunner()


def refusal(args: list[str], out: Path, *, empty_dir_ok: bool = False) -> str:
    """Invoke ``retention ARGS`` that must refuse its input and return the one stderr line, for the test to check
    its words. Asserts what every refusal shares: exit code 2, a single stderr line, no traceback, that ``out`` (a
    file or folder) was not created (``empty_dir_ok``: or is an empty folder the test made) and that nothing beside
    it appeared or vanished."""
    def listing() -> list[str]:
        return sorted(p.name for p in out.parent.iterdir()) if out.parent.exists() else []

    before = listing()
    res = runner.invoke(app, args)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == 2, res.output
    assert len(lines) == 1 and "Traceback" not in res.output, res.stderr
    assert not out.exists() or (empty_dir_ok and out.is_dir() and not any(out.iterdir()))
    assert listing() == before
    return lines[0]

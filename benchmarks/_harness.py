"""Measure whole processes: wall time and peak resident memory of the process tree (psutil polling)."""

from __future__ import annotations

import compileall
import functools
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Run:
    """One measured process: seconds of wall time, peak RSS of the process and its children in MB, its stdout."""

    seconds: float
    peak_mb: float
    stdout: str


@functools.cache
def compile_bytecode() -> None:
    """Byte-compile the project's packages once, as ``pip install`` does for an installed package.

    An editable install compiles each module on first import and caches it in ``__pycache__``, unless
    ``PYTHONDONTWRITEBYTECODE`` is set (as on the development machines of this project): then every measured
    process would compile our ~150 modules from source again, a cost no installed copy pays (0.03-0.06 s a start).
    """
    root = Path(__file__).resolve().parent.parent
    for package in ("experiments", "causal", "survival"):
        compileall.compile_dir(root / package, quiet=1, workers=1)


def measure(cmd: list[str], *, poll: float = 0.02, timeout: float = 3600, env: dict | None = None) -> Run:
    """Run ``cmd`` to completion; raise ``RuntimeError`` with its stderr if it fails."""
    compile_bytecode()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        if time.perf_counter() - start > timeout:
            proc.kill()
            raise RuntimeError(f"{cmd[:3]} timed out after {timeout} s")
        time.sleep(poll)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed with exit {proc.returncode}:\n{err[-3000:]}")
    return Run(seconds, peak / 2**20, out)


def table(rows: list[tuple[str, Run]], reference: str | None = None) -> str:
    """A Markdown table of runs, with ratios against the row named ``reference``."""
    ref = dict(rows).get(reference) if reference else None
    lines = ["| what | seconds | peak MB |" + (f" time vs {reference} |" if ref else ""),
             "|---|---:|---:|" + ("---:|" if ref else "")]
    for name, r in rows:
        ratio = f" {r.seconds / ref.seconds:.2f}× |" if ref else ""
        lines.append(f"| {name} | {r.seconds:.2f} | {r.peak_mb:,.0f} |{ratio}")
    return "\n".join(lines)

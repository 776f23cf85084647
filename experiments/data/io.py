"""Output safety: never overwrite without ``force``, never leave a partial file.

Outputs are rendered in memory first; :func:`write_outputs` then checks every target and writes each one through a
temporary file in the same folder and an atomic rename.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from experiments.errors import OutputExistsError, OutputPathError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def check_writable(paths: list[Path], force: bool) -> None:
    """Refuse outputs that cannot or must not be written, before any work is done.

    Raises
    ------
    OutputExistsError
        A path exists and ``force`` is false.
    OutputPathError
        A path is a folder, a file stands where a parent folder must be created, or the folder is not writable.
    """
    for p in paths:
        check_location(Path(p))
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise OutputExistsError(
            f"output {existing[0]!r} already exists" + (f" (and {len(existing) - 1} more)" if len(existing) > 1 else "")
            + "; pass --force to overwrite it or choose another --out"
        )


def check_location(path: Path) -> None:
    """Raise :class:`OutputPathError` when ``path`` cannot be written as a file (see :func:`check_writable`)."""
    if path.is_dir():
        raise OutputPathError(f"output {str(path)!r} is a folder; name a file to write (or remove the folder)")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputPathError(f"output {str(path)!r} cannot be written: {str(parent)!r} is a file, not a folder; "
                              "choose an output location inside a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"output {str(path)!r} cannot be written: no write permission in folder "
                              f"{str(parent)!r}; choose another output location or fix the folder's permissions")


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back in this thread for the block (delivered right after it)."""
    import signal

    mask = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, mask)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _made_dirs(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created, deepest first."""
    missing = []
    p = folder
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _stage(path: Path, data: bytes) -> str:
    """Write ``data`` to a temporary file beside ``path``; return its name."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the permissions open() would
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename."""
    write_outputs({path: data}, force=True)


def write_outputs(files: Mapping[Path, bytes | str], force: bool) -> None:
    """Write several files only after all of them are ready; refuse to overwrite unless ``force``.

    The contents are produced before this is called, so a failure in the analysis never leaves a partial output.
    Every file is first written to a temporary file beside its target; only when all are written are they renamed
    into place. On any failure or interruption (Ctrl-C, SIGTERM through the CLI's handler) the temporary files and
    the folders this call created are removed.
    """
    check_writable(list(files), force)
    created: list[Path] = []
    staged: list[tuple[str, Path]] = []
    try:
        for path, content in files.items():
            path = Path(path)
            created += _made_dirs(path.parent)
            staged.append((_stage(path, content.encode("utf-8") if isinstance(content, str) else content), path))
        with _signals_deferred():  # all renames or none: a Ctrl-C/SIGTERM waits the microseconds they take
            for tmp, path in staged:
                os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        for folder in created:
            try:
                folder.rmdir()
            except OSError:  # not empty: another file landed there
                pass
        raise


def to_json(obj: Any) -> str:
    """JSON text with NaN/inf written as null (strict JSON readers reject NaN)."""

    def clean(x: Any) -> Any:
        if isinstance(x, float):
            return x if x == x and x not in (float("inf"), float("-inf")) else None
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        if hasattr(x, "item") and callable(x.item):  # numpy scalars
            return clean(x.item())
        return x

    return json.dumps(clean(obj), indent=2, ensure_ascii=False) + "\n"

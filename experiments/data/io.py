"""Output safety: never overwrite without ``force``, never leave a partial file.

Outputs are rendered in memory first; :func:`write_outputs` then checks every target and writes each one through a
temporary file in the same folder and an atomic rename.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from experiments.errors import OutputExistsError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def check_writable(paths: list[Path], force: bool) -> None:
    """Raise :class:`OutputExistsError` if any path exists and ``force`` is false."""
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise OutputExistsError(
            f"output {existing[0]!r} already exists" + (f" (and {len(existing) - 1} more)" if len(existing) > 1 else "")
            + "; pass --force to overwrite it or choose another --out"
        )


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the permissions open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_outputs(files: Mapping[Path, bytes | str], force: bool) -> None:
    """Write several files only after all of them are ready; refuse to overwrite unless ``force``.

    The contents are produced before this is called, so a failure in the analysis never leaves a partial output.
    """
    check_writable(list(files), force)
    for path, content in files.items():
        atomic_write_bytes(path, content.encode("utf-8") if isinstance(content, str) else content)


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

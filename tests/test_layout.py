"""The shape of the house, read from the source with ``ast`` (nothing is imported).

No import circles anywhere, counting lazy (function-level) and type-only imports; ``causal/`` and ``survival/``
never import ``experiments/``; each room of ``experiments/`` imports only the rooms the map in
``docs/contributing.md`` allows. The detector itself is tested on small trees with circles made on purpose.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from import_graph import circles, describe, import_graph

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("experiments", "causal", "survival")

#: Room of experiments/ -> the rooms it may import (docs/contributing.md, "Map of the package"). Every room may
#: import itself and experiments.errors; causal and survival are libraries any room may use.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "spec": set(),
    "report": {"spec"},
    "data": {"spec"},
    "analysis": {"spec", "data", "report"},
    "planning": {"spec", "data", "report", "analysis"},
    "uplift": {"spec", "data", "report"},
    "value": {"spec", "data", "report", "analysis"},
    "simulate": {"data"},
    "diagnosis": {"spec", "data", "report", "analysis", "planning", "simulate"},
    "demo": {"spec", "data", "report", "analysis", "planning", "uplift", "value", "simulate", "diagnosis"},
    "cli": {"spec", "data", "report", "analysis", "planning", "uplift", "value", "simulate", "diagnosis", "demo"},
    "__main__": {"cli"},
    "__init__": set(),
}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


@pytest.fixture(scope="module")
def graph():
    return import_graph(ROOT, PACKAGES)


def test_the_walk_sees_the_package(graph):
    assert "experiments.analysis.experiment" in graph and "causal.did" in graph and "survival.risk" in graph
    assert "experiments.analysis.results" in graph["experiments.analysis.experiment"]


@pytest.mark.parametrize("kinds", [("runtime",), ("runtime", "lazy"), ("runtime", "lazy", "type")],
                         ids=["runtime", "runtime+lazy", "all-with-type-only"])
def test_no_import_circles(graph, kinds):
    found = circles(graph, kinds)
    assert found == [], "import circles: " + " | ".join(describe(graph, c) for c in found)


@pytest.mark.parametrize("package", ["causal", "survival"])
def test_libraries_stand_alone(graph, package):
    bad = sorted(f"{a} -> {b}" for a, out in graph.items() if a.split(".")[0] == package
                 for b in out if b.split(".")[0] == "experiments")
    assert bad == [], f"{package}/ must not import experiments/: {bad}"


def test_rooms_import_only_what_the_map_allows(graph):
    rooms = {_room(m) for m in graph if m.startswith("experiments")}
    missing = rooms - set(ALLOWED)
    assert not missing, f"rooms missing from the map (docs/contributing.md and ALLOWED): {missing}"
    bad = []
    for a, out in graph.items():
        if not a.startswith("experiments"):
            continue
        for b in out:
            if not b.startswith("experiments."):
                continue
            ra, rb = _room(a), _room(b)
            if rb not in ({ra, "errors"} | ALLOWED[ra]):
                bad.append(f"{a} -> {b}")
    assert bad == [], f"imports the map does not allow: {sorted(bad)}"


# ---------------------------------------------------------------------------------------------- the detector


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_detector_finds_a_runtime_circle(tmp_path):
    root = _tree(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "from pkg.b import f\n", "pkg/b.py": "import pkg.c\n",
                            "pkg/c.py": "from pkg import a\n", "pkg/d.py": "import pkg.a\n"})
    g = import_graph(root, ["pkg"])
    assert circles(g, ["runtime"]) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_detector_labels_type_only_and_lazy_imports(tmp_path):
    root = _tree(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/results.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.render import draw\n",
        "pkg/render.py": "from pkg.results import R\n",
        "pkg/model.py": "def fit():\n    from .plots import p\n",
        "pkg/plots.py": "from . import model\n",
    })
    g = import_graph(root, ["pkg"])
    assert g["pkg.results"]["pkg.render"] == {"type"}
    assert g["pkg.model"]["pkg.plots"] == {"lazy"}
    assert circles(g, ["runtime"]) == []
    assert circles(g, ["runtime", "lazy"]) == [["pkg.model", "pkg.plots"]]
    assert circles(g) == [["pkg.model", "pkg.plots"], ["pkg.render", "pkg.results"]]


def test_detector_resolves_relative_imports_in_a_package_init(tmp_path):
    root = _tree(tmp_path, {"pkg/__init__.py": "from .sub import x\n", "pkg/sub/__init__.py": "from .. import y\n"})
    g = import_graph(root, ["pkg"])
    assert "pkg.sub" in g["pkg"] and "pkg" in g["pkg.sub"]
    assert circles(g) == [["pkg", "pkg.sub"]]

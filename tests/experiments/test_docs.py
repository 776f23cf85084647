"""The design-file examples in the documentation and in designs/ are valid designs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from experiments.spec.models import load_design, parse_design

REPO = Path(__file__).resolve().parents[2]
DOC_BLOCKS = [(p.name, i, b) for p in sorted((REPO / "docs").glob("*.md"))
              for i, b in enumerate(re.findall(r"```yaml\n(.*?)```", p.read_text(encoding="utf-8"), re.S))]
FULL_DESIGNS = [(name, i, b) for name, i, b in DOC_BLOCKS
                if isinstance(yaml.safe_load(b), dict) and {"name", "data"} <= set(yaml.safe_load(b))]


def test_docs_contain_full_design_examples():
    assert {name for name, _, _ in FULL_DESIGNS} >= {"design-file.md"}


@pytest.mark.parametrize(("doc", "index", "block"), FULL_DESIGNS, ids=[f"{n}#{i}" for n, i, _ in FULL_DESIGNS])
def test_documented_design_is_valid(doc, index, block):
    design = parse_design(yaml.safe_load(block), source=f"{doc} block {index}")
    assert design.name


@pytest.mark.parametrize("path", sorted((REPO / "designs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_designs_load(path):
    assert load_design(path).name


PYTHON_BLOCKS = [(p.name, i, b) for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
                 for i, b in enumerate(re.findall(r"```python\n(.*?)```", p.read_text(encoding="utf-8"), re.S))]


@pytest.fixture(scope="module")
def doc_workspace(tmp_path_factory):
    """A folder laid out as after ``retention demo``: ``designs/`` beside a small simulated ``demo/``."""
    import shutil

    from experiments.simulate import simulate_operator, write_simulation

    root = tmp_path_factory.mktemp("docs")
    shutil.copytree(REPO / "designs", root / "designs")
    sim = simulate_operator(n_subscribers=20_000, rng=11)
    write_simulation(sim, root / "demo")
    return root, sim


def test_docs_contain_python_examples():
    assert {"README.md", "simulator.md"} <= {name for name, _, _ in PYTHON_BLOCKS}


@pytest.mark.slow
@pytest.mark.parametrize(("doc", "index", "block"), PYTHON_BLOCKS, ids=[f"{n}#{i}" for n, i, _ in PYTHON_BLOCKS])
def test_documented_python_runs(doc, index, block, doc_workspace, monkeypatch):
    """Every Python example of the README and docs/ runs as written (``table`` is the simulated promotion panel)."""
    root, sim = doc_workspace
    monkeypatch.chdir(root)
    namespace = {"table": sim.panel}
    tree = ast.parse(block)
    exec(compile(tree, f"{doc} block {index}", "exec"), namespace)  # noqa: S102 - our own documentation
    assigned = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}
    assert assigned and assigned <= set(namespace), f"{doc} block {index} assigns nothing or lost {assigned}"

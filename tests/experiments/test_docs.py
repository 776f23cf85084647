"""The design-file examples in the documentation and in designs/ are valid designs."""

from __future__ import annotations

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

"""The import graph of a source tree, read with :mod:`ast` (nothing is imported), and the circles in it.

Every ``import`` and ``from ... import`` statement counts, wherever it stands, and is labelled by where:
``"runtime"`` (module level), ``"lazy"`` (inside a function or method: runs when called) or ``"type"`` (under
``if TYPE_CHECKING:``). A package's ``__init__`` is the module named after the package; importing ``a.b.c`` is an
edge to the longest prefix that is a module of the tree.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

KINDS = ("runtime", "lazy", "type")


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``packages`` under ``root``."""
    out: dict[str, Path] = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statements(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement with its kind."""
    found: list[tuple[ast.Import | ast.ImportFrom, str]] = []

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, kind))
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), "type")
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), kind)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, "type" if kind == "type" else "lazy")
            else:
                visit(child, kind)

    visit(tree, "runtime")
    return found


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, dict[str, set[str]]]:
    """``graph[a][b]``: the kinds of the imports by which module ``a`` imports module ``b`` (both in the tree)."""
    mods = modules(root, packages)

    def resolve(name: str) -> str | None:
        parts = name.split(".")
        while parts:
            if ".".join(parts) in mods:
                return ".".join(parts)
            parts.pop()
        return None

    graph: dict[str, dict[str, set[str]]] = {m: {} for m in mods}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node, kind in _statements(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [resolve(a.name) for a in node.names]
            else:
                if node.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets = [resolve(f"{prefix}.{a.name}") or resolve(prefix) for a in node.names]
            for target in targets:
                if target is not None and target != name:
                    graph[name].setdefault(target, set()).add(kind)
    return graph


def circles(graph: dict[str, dict[str, set[str]]], kinds: Iterable[str] = KINDS) -> list[list[str]]:
    """The import circles among edges of the given kinds: one list of modules per strongly connected component.

    Tarjan's algorithm, iterative; each component is sorted, components in order of their first module.
    """
    allowed = set(kinds)
    succ = {a: sorted(b for b, k in out.items() if k & allowed) for a, out in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(succ):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            targets = succ.get(v, [])
            if i < len(targets):
                work.append((v, i + 1))
                w = targets[i]
                if w not in index:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return sorted(found)


def describe(graph: dict[str, dict[str, set[str]]], circle: list[str]) -> str:
    """The edges inside one circle, with their kinds, for an assertion message."""
    members = set(circle)
    return "; ".join(f"{a} -> {b} ({'/'.join(sorted(k))})" for a in circle
                     for b, k in sorted(graph[a].items()) if b in members)

"""Imports go one way: no module of the package imports, even lazily inside a function, a
module that imports it back (directly or through others)."""
import ast
from pathlib import Path
from typing import Dict, List, Set

import simplepose

PACKAGE = Path(simplepose.__file__).parent
#: Cycles that other changes are removing; listed so this test guards every other module now.
KNOWN_CYCLES = {frozenset({"simplepose.evaluation.runner", "simplepose.evaluation.mpii_runner"})}


def module_names() -> Dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imported(name: str, path: Path, modules: Dict[str, Path]) -> Set[str]:
    """The package's modules that `name` imports anywhere in its file (lazy imports included)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            module = (base + ("." + node.module if node.module else "")) if node.level else node.module
            for alias in node.names:  # `from . import x` names a module, `from .m import f` a name in m
                target = f"{module}.{alias.name}"
                out.add(target if target in modules else module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in modules and m != name}


def cycles(graph: Dict[str, Set[str]]) -> List[Set[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    found: List[Set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_config_official_no_longer_imports_config():
    modules = module_names()
    assert "simplepose.config" not in imported("simplepose.config_official", modules["simplepose.config_official"], modules)
    assert "simplepose.config_official" in imported("simplepose.config", modules["simplepose.config"], modules)


def test_no_import_cycles_in_the_package():
    modules = module_names()
    graph = {name: imported(name, path, modules) for name, path in modules.items()}
    assert [sorted(c) for c in cycles(graph) if frozenset(c) not in KNOWN_CYCLES] == []

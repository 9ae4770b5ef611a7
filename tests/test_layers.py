"""The package's imports go only downward: no cycle, no private name across modules, layers kept.

Every `import` in `src/simplepose` counts, those inside functions included (a lazy import is
still a dependency). Layers, from the bottom (README, "Architecture"):
  1. skeleton, geometry, fileio, formats/, oks, poses, frames, config (+ config_official, per_layer), words,
     suggest (the nearest names for an error line)
  2. codec, model, weights, data/, evaluation/, transforms, ...
  3. predictor (+ runtimes), engine, tracking/, prediction, and the evaluation runners
     (evaluation.runner, evaluation.mpii_runner: they drive a predictor over a val set)
  4. commands/, cli, demo, bench (they orchestrate the rest)
A module may import its own layer or a lower one.
"""
import ast
from pathlib import Path
from typing import Dict, Set

SRC = Path(__file__).resolve().parents[1] / "src" / "simplepose"

BOTTOM = {"skeleton", "geometry", "fileio", "formats", "oks", "poses", "frames", "config", "config_official", "suggest",
          "per_layer", "words"}
TOP = {"commands", "cli", "demo", "bench", "__main__", "api"}
MIDDLE_HIGH = {"predictor", "runtime", "runtimes", "engine", "tracking", "prediction", "export", "release"}


RUNNERS = {"simplepose.evaluation.runner", "simplepose.evaluation.mpii_runner"}


def _layer(module: str) -> int:
    if module in RUNNERS:
        return 3
    head = module.split(".")[1] if module.count(".") >= 1 else ""
    if module == "simplepose" or head in TOP:  # the package's face (`simplepose.PoseEstimator`) is the top
        return 4
    if head in MIDDLE_HIGH:
        return 3
    if head in BOTTOM or head == "__init__":
        return 1
    return 2


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports() -> Dict[str, Set[tuple]]:
    """module -> {(imported module, imported name or None)} for the project's own modules."""
    out: Dict[str, Set[tuple]] = {}
    for path in SRC.rglob("*.py"):
        mod = _module_name(path)
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        found: Set[tuple] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {(a.name, None) for a in node.names if a.name.startswith("simplepose")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.startswith("simplepose"):
                    for a in node.names:
                        sub = f"{target}.{a.name}"
                        is_module = (SRC.parent / Path(*sub.split("."))).with_suffix(".py").exists() or \
                            (SRC.parent / Path(*sub.split("."))).is_dir()
                        found.add((sub, None) if is_module else (target, a.name))
        out[mod] = found
    return out


def test_no_private_names_across_modules():
    bad = [f"{mod} imports {name} from {target}" for mod, found in _imports().items()
           for target, name in found if name and name.startswith("_") and target != mod]
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycles():
    graph = {mod: {t for t, _ in found if t != mod and t in _imports_cache} for mod, found in _imports_cache.items()}
    state: Dict[str, int] = {}
    stack: list = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod)


def test_imports_go_down_the_layers():
    bad = []
    for mod, found in _imports_cache.items():
        for target, _ in found:
            if target in _imports_cache and _layer(target) > _layer(mod):
                bad.append(f"{mod} (layer {_layer(mod)}) imports {target} (layer {_layer(target)})")
    assert not bad, "\n".join(sorted(bad))


def test_the_checks_see_real_imports():
    # Guards the tests above against passing vacuously (e.g. a parser that finds nothing).
    assert ("simplepose.oks", None) in _imports_cache["simplepose.evaluation.cocoeval"] or \
        ("simplepose.oks", "masked_mean") in _imports_cache["simplepose.evaluation.cocoeval"]
    assert _layer("simplepose.commands.eval") == 4 and _layer("simplepose.fileio") == 1
    assert len(_imports_cache) > 40


_imports_cache = _imports()

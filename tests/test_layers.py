"""The package's imports go only downward: no cycle, no private name across modules, layers kept.

Every `import` in `src/simplepose` counts, those inside functions included (a lazy import is
still a dependency). The layers are the package's parts (docs/architecture.md), from the bottom:
  1. core/, formats/, config (+ config_official): facts, files, geometry, the codec
  2. nets/, data/, evaluation/ (metrics), synthetic/, zoo/
  3. runtimes/, inference/, training/, tracking/, and the evaluation runners
     (evaluation.runner, evaluation.mpii_runner: they drive a predictor over a val set)
  4. commands/, cli, api, demo, bench/ (they orchestrate the rest)
A module may import its own layer or a lower one.
"""

import ast
import importlib
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "simplepose"

#: Layer of each part: the first name under `simplepose` (a package or a top-level module).
PARTS = {
    1: {"core", "formats", "config", "config_official"},
    2: {"nets", "data", "evaluation", "synthetic", "zoo"},
    3: {"runtimes", "inference", "training", "tracking"},
    4: {"commands", "cli", "demo", "bench", "__main__", "api", "serve"},
}
#: Modules placed apart from their package: they drive a predictor over a validation set.
RUNNERS = {"simplepose.evaluation.runner", "simplepose.evaluation.mpii_runner"}


def _layer(module: str) -> int:
    if module in RUNNERS:
        return 3
    if module == "simplepose":  # the package's face (`simplepose.PoseEstimator`) is the top
        return 4
    head = module.split(".")[1]
    layers = [layer for layer, parts in PARTS.items() if head in parts]
    assert layers, f"{module}: its part {head!r} has no layer in tests/test_layers.py PARTS"
    return layers[0]


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports() -> dict[str, set[tuple]]:
    """module -> {(imported module, imported name or None)} for the project's own modules."""
    out: dict[str, set[tuple]] = {}
    for path in SRC.rglob("*.py"):
        mod = _module_name(path)
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        found: set[tuple] = set()
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
                        is_module = (SRC.parent / Path(*sub.split("."))).with_suffix(".py").exists() or (
                            SRC.parent / Path(*sub.split("."))
                        ).is_dir()
                        found.add((sub, None) if is_module else (target, a.name))
        out[mod] = found
    return out


def test_no_private_names_across_modules():
    bad = [
        f"{mod} imports {name} from {target}"
        for mod, found in _imports().items()
        for target, name in found
        if name and name.startswith("_") and target != mod
    ]
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycles():
    graph = {mod: {t for t, _ in found if t != mod and t in _imports_cache} for mod, found in _imports_cache.items()}
    state: dict[str, int] = {}
    stack: list = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
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
    assert ("simplepose.core.oks", None) in _imports_cache["simplepose.evaluation.cocoeval"] or (
        "simplepose.core.oks",
        "masked_mean",
    ) in _imports_cache["simplepose.evaluation.cocoeval"]
    assert _layer("simplepose.commands.eval") == 4 and _layer("simplepose.core.fileio") == 1
    assert len(_imports_cache) > 40


_imports_cache = _imports()


def test_the_top_level_is_a_few_entry_points_and_each_part_says_what_it_may_import():
    top = sorted(p.stem for p in SRC.glob("*.py"))
    assert len(top) <= 8, top
    packages = [p for p in SRC.iterdir() if (p / "__init__.py").is_file()]
    assert len(packages) >= 10
    for package in packages:
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        assert doc, f"{package.name}/__init__.py has no docstring saying what the part does"
    for part in ("core", "nets", "training", "inference"):
        assert "May import" in ast.get_docstring(ast.parse((SRC / part / "__init__.py").read_text()))


def test_every_part_has_a_layer():
    for mod in _imports_cache:
        _layer(mod)  # asserts that the module's part is in PARTS


def test_modules_moved_in_the_regroup_keep_their_old_names():
    import simplepose

    for old, new in simplepose.MOVED.items():
        before = importlib.import_module(f"simplepose.{old}")
        assert before is importlib.import_module(f"simplepose.{new}"), old
        assert before.__spec__.name == f"simplepose.{new}"  # its own spec, not the alias's
    from simplepose import TopDownPredictor, load_checkpoint
    from simplepose.predictor import TopDownPredictor as old_path
    from simplepose.weights import load_checkpoint as old_load

    assert old_path is TopDownPredictor and old_load is load_checkpoint

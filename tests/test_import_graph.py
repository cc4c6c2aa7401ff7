"""The package's wings stay apart: vision, serving and the app never import training (TensorFlow), vision imports
no other wing, serving not the app, and no module imports itself back through another. Read from the source,
function-level imports included, so a lazy import cannot hide an arrow."""
import ast
import graphlib
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = "painting_classifier"
# wing -> the wings it must never reach, directly or through any module it imports
FORBIDDEN = {"vision": {"training", "serving", "app"}, "serving": {"training", "app"}, "app": {"training"}}


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(root: Path) -> dict[str, set[str]]:
    """Every module of the package under ``root`` -> the package modules it imports anywhere in its code."""
    modules = {module_name(root, p): p for p in root.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                            for alias in node.names}
        graph[name] = {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def wing_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def violations(root: Path) -> list[str]:
    """"A imports B" for every module whose imports reach a wing its own wing must not reach."""
    graph = imports_of(root)
    found = []
    for module in sorted(graph):
        for target in sorted(reachable(graph, module)):
            if wing_of(target) in FORBIDDEN.get(wing_of(module), set()):
                found.append(f"{module} reaches {target}")
    return found


def cycle(root: Path) -> list[str] | None:
    """One import cycle among the package's modules, or None."""
    try:
        graphlib.TopologicalSorter(imports_of(root)).prepare()
    except graphlib.CycleError as error:
        return error.args[1]
    return None


def test_vision_serving_and_the_app_never_reach_training():
    assert violations(ROOT / PACKAGE) == []


def test_no_module_imports_itself_back():
    assert cycle(ROOT / PACKAGE) is None


def test_every_module_lives_in_a_wing_or_is_one_of_the_few_at_the_top():
    top = {module for module in imports_of(ROOT / PACKAGE) if wing_of(module) is None and module.count(".") == 1}
    assert top <= {f"{PACKAGE}.{name}" for name in
                   ("__main__", "artists", "bundle", "cli", "config", "logs", "scope", "vision", "serving", "app",
                    "training")}


@pytest.fixture
def small_package(tmp_path) -> Path:
    root = tmp_path / PACKAGE
    for folder in ("vision", "serving", "training"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "training" / "models.py").write_text("import keras\n")
    (root / "vision" / "crop.py").write_text("import numpy\n")
    return root


def test_the_check_finds_a_lazy_import_of_training_and_a_hidden_cycle(small_package):
    assert violations(small_package) == [] and cycle(small_package) is None
    (small_package / "serving" / "predict.py").write_text(
        "from ..vision.crop import x\n\n\ndef late():\n    from ..training import models\n")
    assert violations(small_package) == [f"{PACKAGE}.serving.predict reaches {PACKAGE}.training.models"]
    (small_package / "vision" / "crop.py").write_text("def late():\n    from ..serving.predict import late\n")
    assert f"{PACKAGE}.vision.crop reaches {PACKAGE}.serving.predict" in violations(small_package)
    assert cycle(small_package) is not None

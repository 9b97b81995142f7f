"""Layers point one way (``lightning_vid/models/__init__.py``): trunk <- blocks <- models.

Every import of every module, also inside functions, is read from the source (ast): a module
of a layer imports only its own layer and those below, never the package it belongs to
(``lightning_vid.models`` from ``models/official.py``: a cycle through ``__init__``)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lightning_vid"
#: bottom first; every other part of lightning_vid (cli, data, system, ...) sits above them
LAYERS = ("lightning_vid.trunk", "lightning_vid.blocks", "lightning_vid.models")


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every absolute or relative import in ``path``."""
    here = _module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}".rstrip(".")
            found.append((node.lineno, base))
            # ``from lightning_vid.models import zoo`` names a submodule: check it too
            found += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return found


def _layer(module: str) -> int:
    """0, 1, 2 for the layers, 3 for the rest of lightning_vid (above them)."""
    for rank, layer in enumerate(LAYERS):
        if module == layer or module.startswith(layer + "."):
            return rank
    return len(LAYERS)


def upward_imports(root: Path = PACKAGE) -> list[str]:
    """``file:line: importer -> imported`` for each import that points up or into the
    importer's own package ``__init__``."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        here = _module_name(path, root)
        rank = _layer(here)
        if rank == len(LAYERS):
            continue
        own = next(layer for layer in LAYERS if _layer(layer) == rank)
        for line, target in _imports(path, root):
            if target != "lightning_vid" and not target.startswith("lightning_vid."):
                continue
            is_module = (root.parent / Path(*target.split("."))).with_suffix(".py").exists() or (
                root.parent / Path(*target.split("."))).is_dir()
            if not is_module:
                continue  # a name imported from a module, not a module
            if _layer(target) > rank or target == "lightning_vid" or (
                    target == own and path.name != "__init__.py"):
                bad.append(f"{path.relative_to(root.parent)}:{line}: {here} -> {target}")
    return bad


def test_no_module_of_a_layer_imports_upwards_or_its_own_package():
    assert upward_imports() == []


def test_the_check_sees_an_upward_import_inside_a_function(tmp_path):
    """The checker itself: a block that imports the models, even lazily, is reported."""
    root = tmp_path / "lightning_vid"
    for layer in ("trunk", "blocks", "models"):
        (root / layer).mkdir(parents=True)
        (root / layer / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "blocks" / "ok.py").write_text("from lightning_vid.trunk import inject\n")
    (root / "blocks" / "bad.py").write_text("def f():\n    from lightning_vid.models import x\n")
    (root / "models" / "own.py").write_text("import lightning_vid.models\n")
    assert upward_imports(root) == [
        "lightning_vid/blocks/bad.py:2: lightning_vid.blocks.bad -> lightning_vid.models",
        "lightning_vid/models/own.py:1: lightning_vid.models.own -> lightning_vid.models"]


@pytest.mark.parametrize("layer", LAYERS[:2])
def test_importing_a_lower_layer_loads_nothing_above_it(layer):
    """In a fresh process, ``import lightning_vid.blocks.tsm`` (or the trunk) leaves
    ``lightning_vid.models`` unloaded."""
    import subprocess
    import sys

    module = {"lightning_vid.trunk": "lightning_vid.trunk.wiring",
              "lightning_vid.blocks": "lightning_vid.blocks.tcm"}[layer]
    code = (f"import sys, {module}\n"
            "print(sorted(m for m in sys.modules if m.startswith('lightning_vid.models')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"

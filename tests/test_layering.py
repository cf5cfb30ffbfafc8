"""The layers of docs/architecture.md hold: the map covers every module, imports go down.

Also: no module imports another module's underscore name (nor reaches one through a module),
in the package and, for imports, in the tests. Imports under ``if TYPE_CHECKING:`` are for
annotations only and are not counted.
"""

from __future__ import annotations

import ast
import fnmatch
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "crimestats"
MAP = ROOT / "docs" / "architecture.md"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer_map() -> tuple[list[str], dict[str, str]]:
    """Layer names in order, and each module pattern's layer, from the architecture page."""
    layers: list[str] = []
    patterns: dict[str, str] = {}
    text = MAP.read_text(encoding="utf-8")
    table = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("Layer", "") or set(cells[0]) <= {"-"}:
            continue
        layers.append(cells[0])
        for pattern in re.findall(r"`([^`]+)`", cells[1]):
            patterns[pattern] = cells[0]
    return layers, patterns


LAYERS, PATTERNS = _layer_map()


def layer_of(module: str) -> str | None:
    """The layer of the most specific pattern matching ``module``."""
    matches = [p for p in PATTERNS if fnmatch.fnmatchcase(module, p)]
    if not matches:
        return None
    best = max(matches, key=lambda p: (len(p.replace("*", "")), "*" not in p))
    return PATTERNS[best]


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _resolve(importer: str, is_package: bool, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports_of(name: str, path: Path) -> Iterator[tuple[int, str, str | None]]:
    """(line, imported module, imported name or None) of every runtime import of the package,
    and (line, module, attribute) of every ``module.attribute`` reached through a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    aliases: dict[str, str] = {}
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom):
            source = _resolve(name, is_package, node.level, node.module)
            if not source.startswith("crimestats"):
                continue
            for alias in node.names:
                full = f"{source}.{alias.name}"
                if full in MODULES:
                    aliases[alias.asname or alias.name] = full
                    yield node.lineno, full, None
                else:
                    yield node.lineno, source, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("crimestats"):
                    aliases[alias.asname or alias.name] = alias.name
                    yield node.lineno, alias.name, None
    for node in _runtime_nodes(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases):
            yield node.lineno, aliases[node.value.id], node.attr


def _private(attr: str | None, module: str) -> bool:
    return (attr is not None and attr.startswith("_") and not attr.startswith("__")
            and f"{module}.{attr}" not in MODULES)


def test_the_map_names_real_layers_and_covers_every_module():
    assert LAYERS == ["shared", "data", "engine", "models", "front-ends", "applications"]
    unmapped = [m for m in MODULES if layer_of(m) is None]
    assert unmapped == [], f"add these modules to the map in docs/architecture.md: {unmapped}"
    stale = [p for p in PATTERNS if not any(fnmatch.fnmatchcase(m, p) for m in MODULES)]
    assert stale == [], f"the map names modules that do not exist: {stale}"


def test_imports_go_down_the_layers():
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    wrong = []
    for name, path in MODULES.items():
        own = rank[layer_of(name)]
        for line, module, _ in imports_of(name, path):
            target = module if module in MODULES else module.rsplit(".", 1)[0]
            if target in MODULES and rank[layer_of(target)] > own:
                wrong.append(f"{name}:{line} ({layer_of(name)}) imports {target} "
                             f"({layer_of(target)})")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_another_modules_private_name(name):
    wrong = [f"{name}:{line}: {module}.{attr}" for line, module, attr in
             imports_of(name, MODULES[name]) if _private(attr, module) and module != name]
    assert wrong == [], "\n".join(wrong)


def test_tests_import_no_private_names():
    wrong = []
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("crimestats"):
                wrong += [f"{path.name}:{node.lineno}: {node.module}.{a.name}"
                          for a in node.names if _private(a.name, node.module or "")]
    assert wrong == [], "\n".join(wrong)


def test_engine_imports_no_front_end_even_lazily():
    """The rule of the issue in its own words, on the engine modules of the map."""
    engines = [m for m in MODULES if layer_of(m) == "engine"]
    assert "crimestats.sae._engine.hyper_grid" in engines
    for name in engines:
        targets = {module for _, module, _ in imports_of(name, MODULES[name])}
        assert not {t for t in targets if layer_of(t) in ("front-ends", "applications")}, name

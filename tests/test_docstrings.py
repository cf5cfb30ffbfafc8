"""Docstrings keep their LaTeX: a backslash read as an escape (``"\\beta"`` is a backspace and
"eta") leaves a formula the browser cannot typeset, which only the rendered-site check sees."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "crimestats"


def _docstrings(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield getattr(node, "name", path.stem), doc


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.stem)
def test_docstrings_have_no_control_characters(path):
    wrong = [(name, repr(c)) for name, doc in _docstrings(path)
             for c in sorted({c for c in doc if ord(c) < 32 and c not in "\n"})]
    assert wrong == [], f"{path.name}: escape sequences in docstrings (use r\"\"\" or \\\\): {wrong}"

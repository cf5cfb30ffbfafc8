"""Every ```python block in docs/**/*.md runs, so the examples in the documentation never rot.

Conventions for writers of documentation pages:

* The blocks of a page run in order in one namespace, like a notebook, in a scratch folder
  in which ``tests/`` and ``docs/`` of the repository are visible (so paths such as
  ``tests/data/...`` resolve) and files written stay out of the repository.
* A ```text block right after a python block and preceded by the line ``<!-- output -->`` is
  that block's expected standard output; it is compared like a doctest (whitespace
  normalised, ``...`` matches anything).
* A block that is deliberately illustrative opts out with the line
  ``<!-- docs-test: skip (reason) -->`` right before its fence; the reason is required and the
  skipped blocks are listed by ``test_skipped_blocks_are_declared``.

Docstring examples are run separately, by ``pytest --doctest-modules``.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
_SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*(\((?P<reason>[^)]*)\))?\s*-->\s*$")
_OUTPUT = "<!-- output -->"


@dataclass
class Block:
    """One fenced code block of a page."""

    page: str
    line: int
    language: str
    code: str
    marker: str  # the last non-blank line before the fence
    expected: str | None = None  # stdout declared with <!-- output -->


def _blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").splitlines()
        marker = before[-1].strip() if before else ""
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(str(path.relative_to(DOCS)), line, match.group(1), match.group(2),
                           marker))
    for previous, block in zip(found, found[1:], strict=False):
        if (previous.language == "python" and block.language == "text"
                and block.marker == _OUTPUT):
            previous.expected = block.code
    return [b for b in found if b.language == "python"]


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if _blocks(p))


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib").use("Agg")
    import matplotlib.pyplot as plt

    for folder in ("tests", "docs"):
        (tmp_path / folder).symlink_to(DOCS.parent / folder, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    checker = doctest.OutputChecker()
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    try:
        for block in _blocks(page):
            if _SKIP.match(block.marker):
                continue
            where = f"{block.page}, block at line {block.line}"
            stdout = io.StringIO()
            try:
                with contextlib.redirect_stdout(stdout):
                    exec(compile(block.code, where, "exec"), namespace)  # noqa: S102
            except Exception as exc:
                pytest.fail(f"{where} raised {type(exc).__name__}: {exc}\nMake the block run "
                            "(e.g. on crimestats.datasets), or, if it is deliberately "
                            "illustrative, put `<!-- docs-test: skip (reason) -->` on the line "
                            "before its fence.", pytrace=False)
            if block.expected is not None and not checker.check_output(
                    block.expected, stdout.getvalue(), flags):
                pytest.fail(f"{where}: printed output differs from the documented output\n"
                            f"--- documented\n{block.expected}--- printed\n{stdout.getvalue()}")
    finally:
        plt.close("all")


def test_skipped_blocks_are_declared() -> None:
    """Opting out needs a reason; list the blocks that opt out so none is skipped silently."""
    skipped = []
    for page in _pages():
        for block in _blocks(page):
            match = _SKIP.match(block.marker)
            if match:
                assert match.group("reason"), f"{block.page}:{block.line}: skip without reason"
                skipped.append(f"{block.page}:{block.line} ({match.group('reason')})")
    print("docs blocks not executed:", skipped or "none")


def test_convention_is_followed_by_this_page() -> None:
    """The parser finds blocks, markers and outputs as documented above."""
    sample = DOCS / "index.md"
    blocks = _blocks(sample)
    assert blocks, "docs/index.md should have python examples"
    assert any(b.expected is not None for b in blocks)

"""``crimestats demo``: the main job end to end on the bundled real data.

Writes a folder with tables (CSV), results (netCDF and JSON), figures (PNG, when matplotlib is
installed) and ``report.md`` that says what was estimated, in which units, and how. The
analyses (`analysis`) are kept apart from the writing of the report (`report`); this module
holds the command's parser, runner and JSON schema.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["DEMO_SCHEMA", "SECTIONS", "add_parser", "run", "run_demo"]

_EPILOG = """\
The demo runs the main job on real data shipped with the package: Fay–Herriot estimates of
the percentage of adults who were victims of violence in each region × age group (Crime
Survey for England and Wales, year ending December 2018) compared with police recorded
violence by force; change points in recorded violence and how much of its rise is
reporting or recording; and the number of victims of modern slavery on no agency's list.
It takes well under a minute and writes report.md, tables/, results/ and figures/
(figures need matplotlib: pip install "crimestats[plot]").

examples:
  crimestats demo                         # writes ./crimestats-demo (or -2, -3, ... if taken)
  crimestats demo --output results/demo   # writes into results/demo
  crimestats demo --json                  # also print a JSON list of the files written
"""

#: The sections of the report: (analysis module attribute, report module attribute).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("violence_domains", "write_violence"),
    ("rise_in_violence", "write_rise"),
    ("hidden_victims", "write_hidden"),
)

#: JSON Schema of ``crimestats demo --json``.
DEMO_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "crimestats demo --json",
    "type": "object",
    "required": ["schema", "crimestats_version", "command", "output", "seconds", "files",
                 "headline", "warnings"],
    "properties": {
        "schema": {"const": "crimestats-cli/1"},
        "crimestats_version": {"type": "string"},
        "command": {"const": "demo"},
        "output": {"type": "string"},
        "seconds": {"type": "number", "minimum": 0},
        "files": {"type": "array", "items": {"type": "string"}},
        "headline": {"type": "object",
                     "additionalProperties": {"type": ["number", "string", "null"]}},
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``crimestats demo`` to the command's subparsers."""
    p = subparsers.add_parser(
        "demo", help="run the main job end to end on the bundled real data",
        description="Run the main job end to end on the bundled real data (small-area "
                    "estimates of violence, change points and attribution of recorded "
                    "violence, hidden victims of modern slavery) and write tables, results, "
                    "figures and a report.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=run)
    p.add_argument("--output", metavar="DIR", default=None,
                   help="folder to write into (created if needed; default: a new "
                        "crimestats-demo folder in the current directory)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--json", action="store_true",
                   help="print a JSON document listing the files written")
    return p


def run(args: argparse.Namespace) -> int:
    """Run the demo and report where its results are."""
    from ... import __version__
    from .._cli_io import Progress, write_json

    out = Path(args.output) if args.output else _new_folder(Path.cwd() / "crimestats-demo")
    start = time.perf_counter()
    manifest = run_demo(out, figures=not args.no_figures, progress=Progress())
    seconds = time.perf_counter() - start
    if args.json:
        doc = {"schema": "crimestats-cli/1", "crimestats_version": __version__,
               "command": "demo", "output": str(out), "seconds": round(seconds, 2),
               "files": manifest["files"], "headline": manifest["headline"],
               "warnings": manifest["warnings"]}
        write_json(doc, sys.stdout)
    else:
        n = len(manifest["files"])
        print(f"crimestats demo: wrote {n} file{'s' if n != 1 else ''} to {out} in "
              f"{seconds:.1f} s; start with {out / 'report.md'}")
        for message in manifest["warnings"]:
            print(f"crimestats: warning: {message}", file=sys.stderr)
    return 0


def _new_folder(base: Path) -> Path:
    """``base`` if it does not exist yet, else ``base-2``, ``base-3``, ..."""
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def run_demo(out: Path, *, figures: bool = True, progress: Any = None) -> dict[str, Any]:
    """Run every section of the demo into ``out``; return the manifest (files, headline numbers,
    warnings)."""
    from .._cli_io import Progress, capture_warnings
    from . import analysis, report

    progress = progress or Progress()
    for sub in ("tables", "results", "figures"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    draw = report.plotter() if figures else None
    sections: list[str] = []
    headline: dict[str, Any] = {}
    warnings_seen: list[str] = []
    for analyse, write in SECTIONS:
        with capture_warnings() as caught:
            result = getattr(analysis, analyse)(progress)
            headline.update(result.headline())
            sections += getattr(report, write)(out, result, draw=draw, progress=progress)
        warnings_seen += caught
    if figures and draw is None:
        sections += ["", "*Figures were skipped: matplotlib is not installed "
                         "(`pip install \"crimestats[plot]\"`).*"]
    (out / "report.md").write_text(report.report_text(sections, warnings_seen),
                                   encoding="utf-8")
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    return {"files": files, "headline": headline, "warnings": warnings_seen}

"""`import crimestats` stays light: no PyMC, PyTensor, ArviZ or matplotlib until a function needs them.

Checked in a fresh interpreter through ``sys.modules``; the import time is measured and printed
(run with ``-s`` to see it) but not asserted, since it depends on the machine's load.
"""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("pymc", "pytensor", "arviz", "matplotlib")

# Modules a backend imports; each is imported in turn and the heavy modules it pulled in noted.
MODULES = ("crimestats", "crimestats.errors", "crimestats.results", "crimestats.survey",
           "crimestats.sae", "crimestats.hidden", "crimestats.changepoint",
           "crimestats.datasets", "crimestats.plotting", "crimestats.cli")

_PROBE = """
import importlib, json, sys, time
forbidden, modules = {forbidden!r}, {modules!r}
start = time.perf_counter()
import crimestats
seconds = time.perf_counter() - start
pulled = {{}}
for name in modules:
    importlib.import_module(name)
    pulled[name] = sorted(m for m in forbidden if m in sys.modules)
print(json.dumps({{"seconds": seconds, "pulled": pulled}}))
"""


def test_import_does_not_load_heavy_modules():
    code = _PROBE.format(forbidden=FORBIDDEN, modules=MODULES)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    report = json.loads(proc.stdout)
    print(f"import crimestats: {report['seconds']:.3f} s")
    offenders = {name: mods for name, mods in report["pulled"].items() if mods}
    assert offenders == {}, f"importing these modules loads heavy dependencies: {offenders}"


_LIGHT_PROBE = """
import importlib, json, sys
importlib.import_module({module!r})
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def test_hidden_and_cli_stay_light():
    """`crimestats.hidden` loads neither scipy.stats nor numba (about a second each on this
    machine) until a method needs them; the command's parser loads no pandas at all."""
    for module, heavy in (("crimestats.hidden", ("scipy.stats", "numba", "scipy.optimize")),
                          ("crimestats.cli", ("pandas", "numpy", "crimestats.hidden"))):
        proc = subprocess.run([sys.executable, "-c", _LIGHT_PROBE.format(module=module,
                                                                         heavy=heavy)],
                              capture_output=True, text=True, timeout=120, check=True)
        assert json.loads(proc.stdout) == [], (module, proc.stdout)

"""Progress bars: drawn on a terminal (a pseudo-terminal here), silent in pipes and backends."""

from __future__ import annotations

import fcntl
import io
import os
import select
import struct
import subprocess
import sys
import termios

import numpy as np
import pandas as pd
import pytest

import crimestats._progress as progress_module
from crimestats import InputError
from crimestats._progress import progress_bar, show_progress
from crimestats.datasets import load_modern_slavery
from crimestats.hidden import multiple_systems
from crimestats.sae import unit_level

# A unit-level fit with a bootstrap MSE, run in a fresh interpreter whose stderr is either a
# pseudo-terminal or a pipe. DELAY = 0 so that the bar is drawn even though the run is quick.
_BOOTSTRAP = """
import numpy as np, pandas as pd
import crimestats._progress
crimestats._progress.DELAY = 0
from crimestats.sae import unit_level
rng = np.random.default_rng(1)
dom = np.repeat(list("abcdef"), 8)
x = rng.normal(size=dom.size)
y = 1 + 2 * x + rng.normal(size=dom.size)
means = pd.DataFrame({"x": np.zeros(6)}, index=list("abcdef"))
sizes = pd.Series(np.full(6, 100), index=list("abcdef"))
fit = unit_level(y, pd.DataFrame({"x": x}), dom, means, sizes, mse="bootstrap",
                 bootstrap_replicates=40, random_seed=1)
print("done", round(float(fit.estimates["mse"].sum()), 6))
"""


def _run_in_terminal(code: str) -> tuple[str, str]:
    """Run ``code`` with stderr on a pseudo-terminal; return (stdout, what the terminal got)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 x 100
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            proc.kill()
            raise AssertionError("no output from the child for 120 s")
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert proc.wait(timeout=120) == 0
    return out, b"".join(chunks).decode(errors="replace")


def test_bar_is_drawn_on_a_terminal():
    out, terminal = _run_in_terminal(_BOOTSTRAP)
    assert "Bootstrap MSE:" in terminal and "/40 [" in terminal and "replicate/s" in terminal
    assert out.startswith("done")


def test_show_progress_reads_the_argument_and_the_stream():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert show_progress(None, Terminal()) is True
    assert show_progress(None, io.StringIO()) is False
    assert show_progress(True, io.StringIO()) is True
    assert show_progress(False, Terminal()) is False
    assert show_progress(np.bool_(True)) is True
    for bad in ("yes", 1, 0.5):
        with pytest.raises(InputError, match="progress"):
            show_progress(bad)


def test_silent_by_default_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    """Under pytest stderr is a pipe or a capture buffer: the default draws nothing."""
    monkeypatch.setattr(progress_module, "DELAY", 0)
    assert not sys.stderr.isatty()
    with progress_bar(5, desc="Nothing to see", progress=None) as bar:
        for _ in range(5):
            bar.update(1)
    assert capsys.readouterr().err == ""


def test_forced_bar_and_wrong_argument_at_the_public_boundary(capsys, monkeypatch):
    monkeypatch.setattr(progress_module, "DELAY", 0)
    rng = np.random.default_rng(2)
    dom = np.repeat(list("abcd"), 6)
    x = rng.normal(size=dom.size)
    y = x + rng.normal(size=dom.size)
    means = pd.DataFrame({"x": np.zeros(4)}, index=list("abcd"))
    sizes = pd.Series(np.full(4, 50), index=list("abcd"))
    args = (y, pd.DataFrame({"x": x}), dom, means, sizes)
    fits = []
    for progress in (True, False, None):  # None: stderr (captured here) is not a terminal
        fits.append(unit_level(*args, mse="bootstrap", bootstrap_replicates=10, random_seed=3,
                               progress=progress))
        err = capsys.readouterr().err
        assert ("Bootstrap MSE" in err) is (progress is True)
    for other in fits[1:]:
        np.testing.assert_array_equal(fits[0].estimates["mse"], other.estimates["mse"])
    with pytest.raises(InputError, match="progress"):
        unit_level(*args, progress="on")


@pytest.mark.filterwarnings("ignore::crimestats.ConvergenceWarning")  # chains this short disagree
def test_lcmcr_chains_show_a_bar_when_asked(capsys, monkeypatch):
    monkeypatch.setattr(progress_module, "DELAY", 0)
    table = load_modern_slavery(lists=5)
    kwargs = dict(method="bayes", chains=2, burn=50, draws=20, thin=1, random_seed=4,
                  check_heterogeneity=False)
    shown = multiple_systems(table, progress=True, **kwargs)
    err = capsys.readouterr().err
    assert "LCMCR Gibbs chains" in err and "/140" in err
    quiet = multiple_systems(table, **kwargs)
    assert capsys.readouterr().err == ""
    assert shown.total == quiet.total

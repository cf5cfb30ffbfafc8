"""Shared test configuration.

PyTensor compiles each model to C once and caches it; a fixed cache folder means the suite
pays the ~60 s cold compile once per machine, not once per run.
"""

from __future__ import annotations

import os
from pathlib import Path

# pytest-xdist runs one worker per core; BLAS threads on top of that only fight each other.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault(
    "PYTENSOR_FLAGS",
    f"base_compiledir={Path.home() / '.cache' / 'crimestats-pytensor'}",
)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

DATA = Path(__file__).parent / "data"

# Hypothesis profiles of the property-based suites (tests/test_properties_*.py): "quick" runs by
# default (few examples, derandomised so every run tests the same cases); "long" is what the
# `slow`-marked copies of each property use (`pytest -m slow tests/sae/test_properties_sae.py`).
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is in the `test` extra
    settings = None
if settings is not None:
    _unhealthy = [HealthCheck.too_slow, HealthCheck.data_too_large,
                  HealthCheck.filter_too_much]
    settings.register_profile("quick", max_examples=6, deadline=None, derandomize=True,
                              database=None, suppress_health_check=_unhealthy,
                              print_blob=True)
    settings.register_profile("long", max_examples=150, deadline=None, database=None,
                              suppress_health_check=_unhealthy, print_blob=True)
    settings.load_profile("quick")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Folder of the small reference files the tests read (copied from the project's shared data)."""
    return DATA


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every test is reproducible."""
    return np.random.default_rng(20261122)


class CountingScheduler:
    """A dask scheduler that runs graphs synchronously and counts them.

    Passed as ``dask.config.set(scheduler=...)``, it tells how many times a function computed
    something: a dask-backed input must be read in the passes the function needs, never pulled
    whole into the calling process by a numpy function along the way.
    """

    def __init__(self) -> None:
        self.graphs = 0

    def __call__(self, dsk, keys, **kwargs):
        import dask

        self.graphs += 1
        return dask.get(dsk, keys, **kwargs)


@pytest.fixture
def dask_graphs():
    """Run every dask graph of the test synchronously and count them (``dask_graphs.graphs``)."""
    dask = pytest.importorskip("dask")
    counter = CountingScheduler()
    with dask.config.set(scheduler=counter):
        yield counter

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


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Folder of the small reference files the tests read (copied from the project's shared data)."""
    return DATA


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every test is reproducible."""
    return np.random.default_rng(20261122)

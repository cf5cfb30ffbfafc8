"""Where the bundled files live and how to read them (``importlib.resources``, no file paths)."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from typing import Any

import pandas as pd

_PACKAGE = "crimestats.datasets"


def _data_file(name: str) -> resources.abc.Traversable:
    """The bundled file ``data/<name>`` as an importlib resource."""
    return resources.files(_PACKAGE).joinpath("data", name)


def read_csv(name: str, **kwargs: Any) -> pd.DataFrame:
    """Read a bundled CSV (gzip-compressed when the name ends in ``.gz``)."""
    with _data_file(name).open("rb") as raw:
        if name.endswith(".gz"):
            with gzip.open(raw) as fh:
                return pd.read_csv(fh, **kwargs)
        return pd.read_csv(raw, **kwargs)


def read_json(name: str) -> Any:
    """Read a bundled JSON file (gzip-compressed when the name ends in ``.gz``)."""
    with _data_file(name).open("rb") as raw:
        data = gzip.decompress(raw.read()) if name.endswith(".gz") else raw.read()
    return json.loads(data)

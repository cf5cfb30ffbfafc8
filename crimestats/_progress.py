"""Progress bars for long work: shown on a terminal, silent in backends and logs.

Every long-running public function takes ``progress=None``: ``None`` shows a bar only when
standard error is a terminal (an analyst at a prompt), ``True`` always shows it (a notebook,
whose output is not a terminal), ``False`` never does (a web worker, a batch job). The bar is
[tqdm](https://tqdm.github.io)'s text bar on standard error; tqdm is imported only when a bar
is shown, so backends never load it. A bar appears only after half a second, so quick calls
never flash one, and it clears itself when the work is done.

Three helpers:

* `show_progress` checks a ``progress=`` argument and says whether to draw a bar;
* `progress_bar` is a context manager giving an object with ``update(n)`` (a no-op when
  silent);
* `compute` computes a dask collection with a bar over its tasks (the local schedulers) or
  its chunks (a ``dask.distributed`` client).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from .errors import InputError

__all__ = ["Bar", "show_progress", "progress_bar", "compute"]

#: Seconds before a bar appears (tqdm's ``delay``): quick work never shows one.
DELAY = 0.5


class Bar(Protocol):
    """What a progress bar offers the code that drives it."""

    def update(self, n: float = 1) -> Any:
        """Advance the bar by ``n`` units."""


class _Silent:
    """The bar of work that shows no progress: every call does nothing."""

    def update(self, n: float = 1) -> None:
        """Do nothing."""


def show_progress(progress: Any, stream: Any = None) -> bool:
    """Whether to draw a progress bar for the ``progress=`` argument of a public function.

    Parameters
    ----------
    progress : bool or None
        ``None``: only when ``stream`` is a terminal; ``True``/``False``: always/never.
    stream : file-like, optional
        Where the bar would go (default: the current ``sys.stderr``).

    Returns
    -------
    bool

    Raises
    ------
    crimestats.InputError
        ``progress`` is neither None nor a boolean.

    Examples
    --------
    >>> import io
    >>> show_progress(None, io.StringIO()), show_progress(True, io.StringIO())
    (False, True)
    """
    if progress is None:
        stream = sys.stderr if stream is None else stream
        isatty = getattr(stream, "isatty", None)
        try:
            return bool(isatty()) if isatty is not None else False
        except ValueError:  # a closed stream
            return False
    if isinstance(progress, (bool, np.bool_)):
        return bool(progress)
    raise InputError(f"`progress` must be True, False or None (a bar only on a terminal); "
                     f"received {progress!r}.")


@contextlib.contextmanager
def progress_bar(total: float | None, *, desc: str, unit: str = "it", progress: Any = None
                 ) -> Iterator[Bar]:
    """A progress bar on standard error while the block runs (see `show_progress`).

    Parameters
    ----------
    total : float or None
        Number of units of work (None: unknown, a counter is shown).
    desc : str
        What is being done, e.g. ``"Bootstrap MSE"``.
    unit : str
        Name of one unit of work (``"replicate"``, ``"table"``, ``"chain"``).
    progress : bool or None
        See `show_progress`.

    Yields
    ------
    Bar
        Call ``update(n)`` after each ``n`` units; a do-nothing object when silent.

    Examples
    --------
    >>> with progress_bar(3, desc="Fitting", unit="table", progress=False) as bar:
    ...     for _ in range(3):
    ...         bar.update(1)
    """
    if not show_progress(progress):
        yield _Silent()
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, delay=DELAY,
              dynamic_ncols=True) as bar:
        yield bar


def compute(collection: Any, *, desc: str, progress: Any = None) -> Any:
    """Compute a dask collection (an array, or an xarray object backed by dask), with a bar.

    On the local schedulers (threads, processes, synchronous) the bar counts tasks; with a
    ``dask.distributed`` client as the scheduler it counts the chunks of the result as they
    finish on the workers. Without a bar it is plain ``dask.compute``.

    Parameters
    ----------
    collection : dask collection
        Anything ``dask.compute`` accepts.
    desc : str
        What is being computed.
    progress : bool or None
        See `show_progress`.

    Returns
    -------
    object
        The computed collection (numpy-backed).
    """
    import dask

    if not show_progress(progress):
        return dask.compute(collection)[0]
    client = _distributed_client()
    if client is not None:
        from distributed import as_completed, futures_of

        persisted = client.persist(collection)
        futures = futures_of(persisted)
        with progress_bar(len(futures), desc=desc, unit="chunk", progress=True) as bar:
            for _ in as_completed(futures):
                bar.update(1)
        return dask.compute(persisted)[0]
    from dask.callbacks import Callback

    with progress_bar(None, desc=desc, unit="task", progress=True) as bar:

        class _Ticks(Callback):
            def _start_state(self, dsk: Any, state: Any) -> None:
                bar.total = sum(len(state[k]) for k in ("ready", "waiting", "finished"))  # type: ignore[attr-defined]

            def _posttask(self, *args: Any) -> None:
                bar.update(1)

        with _Ticks():
            return dask.compute(collection)[0]


def _distributed_client() -> Any:
    """The ``dask.distributed`` client that dask computes on now, or None."""
    distributed = sys.modules.get("distributed")  # no client can exist before it is imported
    if distributed is None:
        return None
    try:
        client = distributed.default_client()
    except ValueError:  # no client
        return None
    from dask.base import get_scheduler

    return client if get_scheduler() == client.get else None

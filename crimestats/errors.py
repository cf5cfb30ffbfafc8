"""Exceptions and warnings raised by crimestats.

Every error caused by the caller's data is a [`InputError`][InputError], which subclasses
`ValueError` so that ``except ValueError`` in existing code keeps working. Its message
names the offending rows, areas or columns and says how to fix them.
"""

from __future__ import annotations

__all__ = [
    "CrimestatsError",
    "InputError",
    "EstimationError",
    "CrimestatsWarning",
    "ConvergenceWarning",
    "DataWarning",
]


class CrimestatsError(Exception):
    """Base class of every exception raised by crimestats.

    Examples
    --------
    >>> from crimestats.errors import CrimestatsError, EstimationError, InputError
    >>> issubclass(InputError, CrimestatsError), issubclass(EstimationError, CrimestatsError)
    (True, True)
    """


class InputError(CrimestatsError, ValueError):
    """The data or arguments given to a crimestats function cannot be used as they are.

    Examples
    --------
    >>> import crimestats
    >>> from crimestats.sae import fay_herriot
    >>> try:
    ...     fay_herriot([1.0, 2.0], [0.1, -0.1])
    ... except crimestats.InputError as err:
    ...     print("rejected")
    rejected
    """


class EstimationError(CrimestatsError, RuntimeError):
    """A model could not be fitted to valid data (for example, an estimate does not exist).

    Examples
    --------
    >>> from crimestats.errors import CrimestatsError, EstimationError
    >>> issubclass(EstimationError, CrimestatsError), issubclass(EstimationError, RuntimeError)
    (True, True)
    """


class CrimestatsWarning(UserWarning):
    """Base class of every warning issued by crimestats.

    Examples
    --------
    >>> import warnings
    >>> from crimestats.errors import CrimestatsWarning, DataWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("one respondent in area A", DataWarning)
    >>> issubclass(caught[0].category, CrimestatsWarning)
    True
    """


class ConvergenceWarning(CrimestatsWarning):
    """An iterative fit or a sampler did not converge well (iterations, r-hat, ESS, divergences).

    Examples
    --------
    >>> from crimestats.errors import ConvergenceWarning, CrimestatsWarning
    >>> issubclass(ConvergenceWarning, CrimestatsWarning), issubclass(ConvergenceWarning, UserWarning)
    (True, True)
    """


class DataWarning(CrimestatsWarning):
    """The data are valid but something about them deserves the analyst's attention.

    Examples: an area with a single respondent, a recorded count above the survey estimate of
    reported incidents, a list in a capture-recapture table that overlaps no other list.
    """

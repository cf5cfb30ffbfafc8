"""Options declared once: the text options of the public functions and their allowed values.

Each option is a [`Choice`][Choice]: its allowed values are written here, or read from a
registry of variant objects (variance-component methods, MSE estimators, multiple-systems
methods, funnel limits) when first needed. The same object validates the keyword in the
library ([`Choice.check`][Choice.check], raising `crimestats.InputError`), gives the command
line its ``choices`` ([`Choice.cli_choices`][Choice.cli_choices]) and the JSON schemas their
enums ([`Choice.enum`][Choice.enum]), so the three cannot drift apart.

This module imports nothing heavy (the command line's parser reads it): registries are
named as ``"module:attribute"`` and imported on first use.

Examples
--------
>>> from crimestats._options import FAY_HERRIOT
>>> FAY_HERRIOT["method"].check("REML")
'reml'
>>> FAY_HERRIOT["method"].choices()
('reml', 'ml', 'fh', 'hb')
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from .errors import InputError

__all__ = ["Choice", "BENCHMARK", "BYM2", "CHANGEPOINT", "FAY_HERRIOT", "FAY_HERRIOT_MANY", "FUNNEL",
           "MULTIPLE_SYSTEMS", "MULTIVARIATE", "PREVALENCE", "SPATIO_TEMPORAL", "UNIT_LEVEL"]


@dataclasses.dataclass(frozen=True)
class Choice:
    """A keyword whose value is one of a set of names.

    Parameters
    ----------
    name : str
        The keyword (used in error messages).
    values : tuple of str
        Allowed values written here (in order).
    registry : str, optional
        ``"module:attribute"`` of a registry whose names are also allowed: a mapping (its
        keys) or a function returning the names. Imported on first use.
    extra : tuple of str
        Values allowed after the registry's (e.g. ``"hb"`` after the variance methods).
    aliases : mapping of str to str
        Other accepted spellings and the value each stands for.
    """

    name: str
    values: tuple[str, ...] = ()
    registry: str | None = None
    extra: tuple[str, ...] = ()
    aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def canonical(self) -> tuple[str, ...]:
        """The allowed values (no aliases), in order."""
        found: tuple[str, ...] = ()
        if self.registry is not None:
            module, attribute = self.registry.split(":")
            source = getattr(importlib.import_module(module), attribute)
            found = tuple(source) if isinstance(source, Mapping) else tuple(source())
        return (*self.values, *found, *self.extra)

    def choices(self) -> tuple[str, ...]:
        """Every accepted value: the allowed ones, then the aliases."""
        return (*self.canonical(), *self.aliases)

    def check(self, value: Any) -> str:
        """``value`` lower-cased and, for an alias, replaced by its value.

        Raises `crimestats.InputError` naming the choices otherwise.
        """
        options = list(self.choices())
        if not isinstance(value, str) or value.lower() not in options:
            raise InputError(f"`{self.name}` must be one of {options}; received {value!r}.")
        key = value.lower()
        return self.aliases.get(key, key)

    def cli_choices(self) -> _LazyChoices:
        """The accepted values for ``argparse``'s ``choices``, read when first needed (so that
        building the parser imports no registry)."""
        return _LazyChoices(self)

    def enum(self) -> dict[str, list[str]]:
        """JSON-schema fragment of the value a result reports (no aliases)."""
        return {"enum": list(self.canonical())}


class _LazyChoices:
    """A container of a `Choice`'s values that reads them on first use."""

    def __init__(self, choice: Choice) -> None:
        self.choice = choice

    def __contains__(self, value: object) -> bool:
        return value in self.choice.choices()

    def __iter__(self) -> Iterator[str]:
        return iter(self.choice.choices())

    def __len__(self) -> int:
        return len(self.choice.choices())


def _options(*choices: Choice) -> Mapping[str, Choice]:
    return {choice.name: choice for choice in choices}


_ALGORITHM = Choice("algorithm", ("auto", "dense", "sparse"))
_TRACES = Choice("traces", ("auto", "exact", "monte_carlo"))
_VARIANCE = "crimestats.sae.area_level.variance:method_names"

#: `crimestats.sae.fay_herriot`.
FAY_HERRIOT = _options(
    Choice("method", registry=_VARIANCE, extra=("hb",)),
    Choice("mse", registry="crimestats.sae.area_level.mse:estimator_names"),
    Choice("sampler", ("exact", "nuts")),
    _ALGORITHM, _TRACES,
)
#: `crimestats.sae.fay_herriot_many` and `crimestats.sae.arcsin_fay_herriot`.
FAY_HERRIOT_MANY = _options(Choice("method", registry=_VARIANCE))
#: `crimestats.sae.spatio_temporal_fay_herriot` (R ``sae``'s model names are accepted).
SPATIO_TEMPORAL = _options(
    Choice("model", ("ar1", "independent"), aliases={"st": "ar1", "s": "independent"}),
    _ALGORITHM, _TRACES,
)
#: `crimestats.sae.multivariate_fay_herriot`.
MULTIVARIATE = _options(Choice("method", ("reml", "ml")))
#: `crimestats.sae.unit_level`.
UNIT_LEVEL = _options(Choice("method", ("reml", "ml")),
                      Choice("mse", ("analytic", "bootstrap", "none")))
#: `crimestats.sae.logit_binomial` and `crimestats.sae.poisson_lognormal` with ``adjacency=``.
PREVALENCE = _options(Choice("spatial", ("bym2", "icar")))
#: `crimestats.sae.bym2`.
BYM2 = _options(Choice("model", ("bym2", "icar")))
#: `crimestats.sae.benchmark` and `crimestats.sae.benchmark_draws`.
BENCHMARK = _options(Choice("method", ("ratio", "difference", "mse")))
#: `crimestats.hidden.multiple_systems` (``"bayes"`` is the latent-class model).
MULTIPLE_SYSTEMS = _options(
    Choice("method", registry="crimestats.hidden.methods:method_names",
           aliases={"bayes": "lcmcr"}),
    Choice("interval", ("wald", "bootstrap", "posterior")),
)
#: `crimestats.compare.funnel`.
FUNNEL = _options(
    Choice("kind", ("rate", "ratio", "proportion")),
    Choice("method", registry="crimestats.compare.limits:FUNNEL_LIMITS"),
)
#: `crimestats.changepoint.detect` and `crimestats.changepoint.detect_many` (segment models from
#: their registry; ``"auto"`` picks one from the data).
CHANGEPOINT = _options(
    Choice("likelihood", ("auto",), registry="crimestats.changepoint.segments:model_names"),
    Choice("method", ("bayes", "pelt")),
    Choice("missing", ("error", "skip")),
)

"""Every registered multiple-systems method keeps the contract of the front-end.

On lists simulated from a homogeneous population with independent lists (known total), each
method returns a complete fit that finds the total; the list-count limits, the interval
types each offers and the method traits the front-end reads (``reference``, ``chains``) hold.
A method registered in `crimestats.hidden.methods.REGISTRY` is tested here without further
code; the command line and its JSON schema list it.
"""

from __future__ import annotations

import numpy as np
import pytest

from crimestats import InputError
from crimestats._options import MULTIPLE_SYSTEMS
from crimestats.cli import JSON_SCHEMAS
from crimestats.datasets import simulate_capture_histories
from crimestats.hidden import multiple_systems, multiple_systems_sensitivity
from crimestats.hidden.methods import REGISTRY, Method, method_names

NAMES = method_names()
#: Small settings for the methods that sample.
QUICK = {"chains": 2, "burn": 2000, "draws": 1000, "thin": 1}


def _homogeneous(n_lists: int = 4):
    """Independent lists of a population of 3,000 alike (capture probability 0.25)."""
    return simulate_capture_histories(total=3000, n_lists=n_lists, class_weights=(1.0,),
                                      capture_probs=[[0.25] * n_lists], random_seed=7)


def _lists_for(spec: Method) -> int:
    """Four lists, or the nearest number the method takes."""
    return min(max(4, spec.min_lists), spec.max_lists)


@pytest.fixture(scope="module")
def homogeneous():
    return _homogeneous()


def test_the_registry_is_what_the_front_end_and_the_command_line_accept():
    assert set(NAMES) == set(REGISTRY) and len(NAMES) >= 12
    assert all(isinstance(REGISTRY[n], Method) and REGISTRY[n].name == n for n in NAMES)
    assert set(MULTIPLE_SYSTEMS["method"].canonical()) == set(NAMES)
    assert JSON_SCHEMAS["mse"]["properties"]["model"]["properties"]["method"]["enum"] == list(
        NAMES)
    assert [n for n in NAMES if REGISTRY[n].reference], "a reference method is needed"


@pytest.mark.filterwarnings("ignore::crimestats.CrimestatsWarning")
@pytest.mark.parametrize("name", NAMES)
def test_every_method_finds_the_total_of_a_homogeneous_population(name):
    spec = REGISTRY[name]
    homogeneous = _homogeneous(_lists_for(spec))
    fit = multiple_systems(homogeneous.table, method=name, random_seed=3,
                           **(QUICK if not spec.quick else {}))
    assert fit.method == name and fit.interval == spec.intervals[0]
    assert fit.observed == homogeneous.observed
    sd = float(fit.estimates["sd"].item())
    assert fit.observed <= fit.lower <= fit.total <= fit.upper and np.isfinite(sd)
    assert fit.hidden == pytest.approx(fit.total - fit.observed)
    # no heterogeneity, independent lists: every method is close to the truth (Chao's lower
    # bound included: it is unbiased for a homogeneous population)
    assert abs(fit.total - homogeneous.total) < 4 * sd + 0.02 * homogeneous.total, (
        fit.total, sd)
    assert (fit.idata is not None) == spec.chains
    if spec.chains:
        assert fit.draws.ndim == 2
    assert fit.to_dict()["method"] == name


@pytest.mark.parametrize("name", NAMES)
def test_list_limits_are_enforced(name):
    spec = REGISTRY[name]
    if spec.min_lists > 2:
        two = simulate_capture_histories(total=500, n_lists=2, random_seed=1).table
        with pytest.raises(InputError, match=f"needs at least {spec.min_lists} lists"):
            multiple_systems(two, method=name)
    if spec.max_lists < 8:
        many = simulate_capture_histories(total=500, n_lists=spec.max_lists + 1,
                                          random_seed=1).table
        with pytest.raises(InputError, match=f"at most {spec.max_lists} lists"):
            multiple_systems(many, method=name)


@pytest.mark.filterwarnings("ignore::crimestats.CrimestatsWarning")
@pytest.mark.parametrize("name", [n for n in NAMES if len(REGISTRY[n].intervals) > 1])
def test_every_offered_interval_works(name):
    homogeneous = _homogeneous(_lists_for(REGISTRY[name]))
    for interval in REGISTRY[name].intervals:
        fit = multiple_systems(homogeneous.table, method=name, interval=interval, n_boot=30,
                               random_seed=2)
        assert fit.interval == interval and fit.lower <= fit.total <= fit.upper
    offered = set(REGISTRY[name].intervals)
    other = next(i for i in MULTIPLE_SYSTEMS["interval"].canonical() if i not in offered)
    with pytest.raises(InputError, match="`interval` must be one of"):
        multiple_systems(homogeneous.table, method=name, interval=other)


def test_sensitivity_table_fits_the_quick_methods(homogeneous):
    table = multiple_systems_sensitivity(homogeneous.table, random_seed=1).table()
    quick = [n for n in NAMES if REGISTRY[n].quick
             and REGISTRY[n].min_lists <= 4 <= REGISTRY[n].max_lists]
    assert list(table.index) == quick
    assert table["estimate"].notna().all()

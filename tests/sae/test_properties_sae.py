"""Property-based tests of every public estimation function of `crimestats.sae`.

For each function (one spec per variant, see ``tests/input_harness.py``):

* generated valid inputs (sizes, data, units from 1e-4 to 1e4, areas without a sample, plain
  or labelled inputs) never give NaN or inf where a number is promised and never raise
  anything but a crimestats error;
* valid inputs with one invalid value (NaN, inf, text, a negative variance, a fractional
  count, a wrong length, wrong or duplicated labels...) always raise `InputError`;
* labelled inputs in shuffled orders give the same estimate for every label as plain arrays
  with ``areas=`` (never paired by position).

Each property runs with the "quick" hypothesis profile by default and with the "long" one
under ``pytest -m slow`` (profiles in tests/conftest.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from input_harness import BAD, invalid_kwargs, labelled_case, same_by_label, specs, valid_kwargs

SPECS = {spec.name: spec for spec in specs() if spec.name.startswith("sae.")}
PROFILES = ["quick", pytest.param("long", marks=pytest.mark.slow)]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", sorted(SPECS))
def test_valid_inputs_give_finite_numbers_or_a_crimestats_error(name, profile):
    spec = SPECS[name]
    fewer = {"max_examples": 2} if spec.slow and profile == "quick" else {}

    @settings(settings.get_profile(profile), **fewer)
    @given(valid_kwargs(spec))
    def check(kwargs):
        out = spec.run(kwargs)
        assert out.kind not in BAD, f"{name}: {out.kind}: {out.detail}"

    check()


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", sorted(SPECS))
def test_invalid_inputs_raise_input_error(name, profile):
    spec = SPECS[name]

    @settings(settings.get_profile(profile))
    @given(invalid_kwargs(spec))
    def check(case):
        mutation, kwargs = case
        out = spec.run(kwargs)
        assert out.kind == "input_error", f"{name} {mutation}: {out.kind}: {out.detail}"

    check()


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", sorted(n for n, s in SPECS.items() if s.areas is not None))
def test_labelled_inputs_are_matched_by_label(name, profile):
    spec = SPECS[name]
    if spec.slow and profile == "quick":
        pytest.skip("seconds per fit: checked by the long profile and the input battery")

    @settings(settings.get_profile(profile), max_examples=3 if profile == "quick" else 50)
    @given(st.integers(spec.min_m, spec.max_m), st.integers(0, 2**32 - 1))
    def check(m, seed):
        plain, shuffled, labels = labelled_case(spec, m, np.random.default_rng(seed))
        reference = spec.run(plain)
        if reference.result is None:        # e.g. a degenerate draw: nothing to compare
            assert reference.kind not in BAD, reference.detail
            return
        out = spec.run(shuffled, same_by_label(reference.result, labels))
        assert out.kind not in BAD, f"{name}: {out.kind}: {out.detail}"

    check()

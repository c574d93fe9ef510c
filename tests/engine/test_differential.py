"""Differential property tests: random command sequences on a tight price grid, the Numba
book against the reference book, with the invariants of issue 2 checked after every command
(see harness.Harness)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import slow_examples

from .harness import SIDES, Harness

sides = st.sampled_from(SIDES)
# Eleven ticks around 1.00 so prices collide often; quantities small so orders partly fill.
limits = st.tuples(st.just("limit"), sides, st.integers(95, 105), st.integers(1, 12))
markets = st.tuples(st.just("market"), sides, st.integers(1, 30))
# Ids are handed out 1, 2, 3, ...: small integers hit resting, filled, cancelled, market and
# unknown ids alike.
cancels = st.tuples(st.just("cancel"), st.integers(-1, 45))
reduces = st.tuples(st.just("reduce"), st.integers(-1, 45), st.integers(1, 8))
loads = st.tuples(
    st.just("load"),
    sides,
    st.integers(-1, 3),
    st.lists(st.tuples(st.integers(0, 9), st.integers(1, 2)), max_size=6),
)
refills = st.tuples(
    st.just("refill"),
    sides,
    st.integers(-1, 3),
    st.lists(st.tuples(st.integers(0, 9), st.integers(1, 2)), max_size=6),
)
commands = st.lists(
    st.one_of(limits, limits, markets, cancels, reduces, loads, refills), max_size=40
)


def run(commands: list[tuple], harness: Harness) -> None:
    for name, *args in commands:
        getattr(harness, name)(*args)


PROPERTY = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(commands)
def test_engine_matches_reference_and_invariants_hold(cmds):
    run(cmds, Harness())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands)
def test_capacity_refusals_are_justified_and_change_nothing(cmds):
    run(cmds, Harness(max_levels=3, max_orders=5, tolerate_capacity=True))


@pytest.mark.slow
@settings(
    max_examples=slow_examples(100_000, ci=12_000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(commands)
def test_engine_matches_reference_slow(cmds):
    run(cmds, Harness())

"""``lobsim bench simulate``: it reports its figures and refuses to time a wrong simulation."""

from __future__ import annotations

import pytest

import lobsim
from lobsim.bench import simulate as bench


def test_quick_run_reports_the_figures_and_the_ratio():
    figures = bench.run(quick=True)

    assert figures["child_orders"] == 20 * 10 * 78
    for key in ("compile_seconds", "simulate_seconds", "floor_seconds",
                "decision_loop_seconds"):  # fmt: skip
        assert figures[key] >= 0
    assert figures["ratio_to_floor"] == pytest.approx(
        figures["simulate_seconds"] / figures["floor_seconds"]
    )
    assert figures["max_cost_error_vs_closed_form"] < 5e-3
    assert figures["child_orders_equal_to_engine_walk"] == 20


def test_a_child_order_that_costs_other_than_the_engine_walk_stops_the_benchmark(monkeypatch):
    honest = lobsim.walk_costs_in_minute

    def a_cent_more(*args, **kw):
        return honest(*args, **kw) + 0.01

    monkeypatch.setattr(lobsim, "walk_costs_in_minute", a_cent_more)

    with pytest.raises(RuntimeError, match="through the engine"):
        bench.run(quick=True)

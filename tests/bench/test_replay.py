"""``lobsim bench replay``: it reports its figures and refuses to time a replay that is wrong."""

from __future__ import annotations

import dataclasses

import pytest

from lobsim.bench import replay as bench
from lobsim.simulation import replay


def test_quick_run_reports_rates_and_the_ratio():
    figures = bench.run(quick=True)

    assert figures["messages"] == 9_999
    for key in ("engine_messages_per_second", "engine_compare_messages_per_second",
                "reference_messages_per_second"):  # fmt: skip
        assert figures[key] > 0
    assert figures["speedup"] > 1


def test_a_reference_that_disagrees_stops_the_benchmark(monkeypatch):
    honest = replay.reference_replay

    def one_more_seeded(day, **kw):
        report = honest(day, **kw)
        return dataclasses.replace(report, seeded=report.seeded + 1)

    monkeypatch.setattr(replay, "reference_replay", one_more_seeded)

    with pytest.raises(RuntimeError, match="differs from the reference"):
        bench.run(quick=True)

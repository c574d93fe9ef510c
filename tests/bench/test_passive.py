"""``lobsim bench passive``: the recorded stream replays identically on the engine and on the
reference, and a difference stops the benchmark."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from lobsim import BookModel, Schedule, synthesize_market
from lobsim.bench import passive as bench
from lobsim.engine import SELL


@pytest.fixture(scope="module")
def stream():
    panel = synthesize_market(3, 1, seed=11)
    schedule = Schedule()
    parent = np.round(0.05 * panel.adv).astype(np.int64)
    book = BookModel().calibrated(panel.volume, parent, schedule.decision_times)
    sim = importlib.import_module("lobsim.simulation.simulate")
    run = sim._prepare(panel, book, parent, SELL, schedule, None, 0.0, 1)
    return bench.record_stream(run, 2)


def test_the_engine_and_the_reference_agree_on_the_recorded_stream(stream):
    _, _, own_fills = bench.compare_on_stream(stream, 2)

    assert own_fills > 0
    assert stream["n_flow"].sum() > 1000
    posts = stream["kind"] == bench.STEP_POST
    assert posts.sum() == 2 * (390 // bench.INTERVAL)


def test_a_wrong_reference_result_stops_the_benchmark(stream, monkeypatch):
    minute = bench.reference_minute

    def one_share_short(*args):
        fills, traded = minute(*args)
        return fills, traded - 1

    monkeypatch.setattr(bench, "reference_minute", one_share_short)

    with pytest.raises(RuntimeError, match="differ from the reference"):
        bench.compare_on_stream(stream, 2)
